// The GPIO line operations robotd needs, over libgpiod (1.6, or 2.x when built with
// ROBOTD_GPIOD_V2): an interface, so the drivers and the charge sensor also run on a fake.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace robotd {

// Output lines of one chip, requested together; destroying it releases them (the kernel
// leaves most chips' released lines at their last level: callers drive them safe first).
class GpioOutputs {
  public:
    virtual ~GpioOutputs() = default;
    // One level per requested line, in the order requested. An error means the chip is
    // gone or refused: the request is no good any more.
    virtual bool set(const std::vector<int>& values, std::string* error) = 0;
};

// One input line requested with edge events on both edges.
class GpioInput {
  public:
    virtual ~GpioInput() = default;
    // Readable (poll) when edges are pending; non-blocking. Owned by this object.
    virtual int fd() const = 0;
    // Reads every pending edge without blocking and appends the level each one left (1 for
    // a rising edge, in logical terms: active-low inverts). False with `error` when the line
    // is gone (the chip was removed).
    virtual bool read_edges(std::vector<int>* levels, std::string* error) = 0;
};

enum class GpioBias { AsIs, Disabled, PullUp, PullDown };

struct GpioInputOptions {
    bool active_low = false;  // the line reads 1 when it is low
    GpioBias bias = GpioBias::AsIs;
};

// Opens chips by name (gpiochip0), label (pinctrl-bcm2711) or /dev path, with consumer
// "robotd". Every call is ioctls on the device: never on the loop thread.
class GpioApi {
  public:
    virtual ~GpioApi() = default;
    // `lines` of `chip` as outputs at `values` (one each): a single request that drives them
    // to these levels as it takes them, so nothing moves in between. Null with `error`.
    virtual std::unique_ptr<GpioOutputs> request_outputs(const std::string& chip,
                                                         const std::vector<unsigned>& lines,
                                                         const std::vector<int>& values,
                                                         std::string* error) = 0;
    // `line` of `chip` as an input with edge events; `*level` gets its logical level now.
    virtual std::unique_ptr<GpioInput> request_input(const std::string& chip, unsigned line,
                                                     const GpioInputOptions& options, int* level,
                                                     std::string* error) = 0;
};

// The real one. Stateless: one may be shared by every user.
std::shared_ptr<GpioApi> libgpiod_api();

}  // namespace robotd
