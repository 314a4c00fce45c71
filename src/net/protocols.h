// The lws protocol table: one callback per connection kind, each dispatching to the
// C++ object named by the wsi's opaque user data.
#pragma once

#include <libwebsockets.h>

namespace robotd {

extern const char kProtoHttp[];
extern const char kProtoSignal[];
extern const char kProtoLoop[];
extern const char kProtoSio[];
extern const char kProtoUpload[];
extern const char kProtoWritable[];
extern const char kProtoMqtt[];

const lws_protocols* protocol_table();

int http_get_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
int signal_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
int sio_client_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
int upload_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
int loop_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
int writable_watch_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                            size_t len);
int mqtt_driver_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

}  // namespace robotd
