#include "robot/link.h"

namespace robotd {

namespace {
// How often control, chat and app identify again (PROTOCOL.md).
constexpr uint32_t kIdentifyMs = 60000;
}  // namespace

Link::Link(Loop& loop, std::string name, std::string hint)
    : log_(loop.log()),
      name_(name),
      client_(loop, std::move(name), std::move(hint),
              {[this] {
                   if (!identify_event_.empty()) identify_timer_.start_ms(0);
                   if (connected_) connected_();
               },
               [this](const std::string&) {
                   identify_timer_.cancel();
                   if (disconnected_) disconnected_();
               },
               [this](const sio::Event& ev) { route(ev); },
               [this](int failures) {
                   if (failing_) failing_(failures);
               }}),
      identify_timer_(loop, [this] {
          client_.emit(identify_event_, identify_arg_());
          identify_timer_.start_ms(kIdentifyMs);
      }) {}

void Link::identify(std::string event, std::function<std::string()> json_arg) {
    identify_event_ = std::move(event);
    identify_arg_ = std::move(json_arg);
}

void Link::route(const sio::Event& ev) {
    const auto it = routes_.find(ev.name);
    if (it == routes_.end()) {
        LOGD(log_, name_.c_str(), "event '%s' ignored", ev.name.c_str());
        return;
    }
    it->second(cJSON_GetArrayItem(ev.args.get(), 0));
}

}  // namespace robotd
