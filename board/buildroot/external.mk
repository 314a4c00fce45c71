include $(sort $(wildcard $(BR2_EXTERNAL_ROBOTD_PATH)/package/*/*.mk))
