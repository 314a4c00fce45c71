# robotd wants libwebsockets with mbedTLS (small; what the Buildroot image uses too) and the
# MQTT client role (its mqtt_pub driver); meta-oe's recipe offers OpenSSL only and leaves
# MQTT off. "mbedtls" replaces "ssl": both on would build lws with mbedTLS yet still pull in
# OpenSSL.
PACKAGECONFIG[mbedtls] = "-DLWS_WITH_SSL=ON -DLWS_WITH_MBEDTLS=ON,-DLWS_WITH_MBEDTLS=OFF,mbedtls,,,ssl"
PACKAGECONFIG[mqtt] = "-DLWS_ROLE_MQTT=ON,-DLWS_ROLE_MQTT=OFF"
PACKAGECONFIG:remove = "ssl"
PACKAGECONFIG:append = " mbedtls mqtt"
