#include "net/protocols.h"

// What robotd cannot run without in the libwebsockets it is built against (SYSTEM_LIBS=1 takes
// the system's): stop the build here with the reason rather than fail on a robot. The MQTT
// role is optional (hw/mqtt_driver.cpp).
#if !defined(LWS_WITH_CLIENT) || !defined(LWS_ROLE_H1) || !defined(LWS_ROLE_WS)
#error "libwebsockets lacks its client, HTTP/1 or WebSocket role: robotd needs all three"
#endif
#if !defined(LWS_WITH_TLS)
#error "libwebsockets was built without TLS: LetsRobot is https/wss (lws: -DLWS_WITH_MBEDTLS=ON)"
#endif
#if !defined(LWS_ROLE_RAW_FILE)
#error "libwebsockets lacks LWS_ROLE_RAW_FILE: robotd adopts its signalfd through it"
#endif

namespace robotd {

const char kProtoHttp[] = "robotd-http";
const char kProtoSignal[] = "robotd-signal";
const char kProtoLoop[] = "robotd-loop";
const char kProtoSio[] = "robotd-sio";
const char kProtoUpload[] = "robotd-upload";
const char kProtoWritable[] = "robotd-writable";
const char kProtoMqtt[] = "robotd-mqtt";

const lws_protocols* protocol_table() {
    // A constant table: lws keeps the pointer for the context's life.
    // First: lws tells a vhost's first protocol alone that a wsi is being freed.
    static const lws_protocols table[] = {
        {kProtoLoop, loop_callback, 0, 0, 0, nullptr, 0},
        {kProtoHttp, http_get_callback, 0, 0, 0, nullptr, 0},
        {kProtoSignal, signal_callback, 0, 0, 0, nullptr, 0},
        {kProtoSio, sio_client_callback, 0, 4096, 0, nullptr, 0},
        {kProtoUpload, upload_callback, 0, 0, 0, nullptr, 0},
        {kProtoWritable, writable_watch_callback, 0, 0, 0, nullptr, 0},
        {kProtoMqtt, mqtt_driver_callback, 0, 0, 0, nullptr, 0},
        {nullptr, nullptr, 0, 0, 0, nullptr, 0},
    };
    return table;
}

}  // namespace robotd
