#include "hw/gpio_lines.h"

#include <fcntl.h>
#include <gpiod.h>

#include <cerrno>
#include <cstring>

// libgpiod 1.x marks its API with GPIOD_API in gpiod.h; 2.x does not. The Makefile picks the
// side from pkg-config's version: a mismatch would only fail later, with stranger errors.
#if defined(ROBOTD_GPIOD_V2) && defined(GPIOD_API)
#error "ROBOTD_GPIOD_V2 is set but gpiod.h is libgpiod 1.x"
#elif !defined(ROBOTD_GPIOD_V2) && !defined(GPIOD_API)
#error "gpiod.h is libgpiod 2.x: build with -DROBOTD_GPIOD_V2 (the Makefile does from pkg-config)"
#endif

#ifdef ROBOTD_GPIOD_V2
#include <dirent.h>
#endif

namespace robotd {

namespace {

constexpr const char* kConsumer = "robotd";
constexpr unsigned kEventBatch = 16;

std::string lines_text(const std::string& chip, const std::vector<unsigned>& lines) {
    std::string out = chip + (lines.size() == 1 ? " line " : " lines ");
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "," : "") + std::to_string(lines[i]);
    return out;
}

std::string open_error(const std::string& chip, int err) {
    if (err == ENOENT || err == ENODEV || err == ENOTTY)
        return "no GPIO chip named, labelled or at '" + chip + "' (see gpiodetect)";
    if (err == EACCES || err == EPERM)
        return "GPIO chip '" + chip + "': permission denied (robotd needs read-write access " +
               "to /dev/gpiochip*, e.g. through the gpio group)";
    return "GPIO chip '" + chip + "': " + std::strerror(err);
}

std::string request_error(const std::string& what, int err) {
    if (err == EBUSY) return what + ": in use by another program or a kernel driver (see gpioinfo)";
    return what + ": " + std::strerror(err);
}

bool check_lines(const std::string& chip, size_t count, const std::vector<unsigned>& lines,
                 std::string* error) {
    for (unsigned l : lines) {
        if (l >= count) {
            *error = "GPIO chip '" + chip + "' has " + std::to_string(count) + " lines: no line " +
                     std::to_string(l);
            return false;
        }
    }
    return true;
}

bool set_nonblocking(int fd, std::string* error) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0) return true;
    *error = std::string("cannot make the event descriptor non-blocking: ") + std::strerror(errno);
    return false;
}

#ifndef ROBOTD_GPIOD_V2
// ---- libgpiod 1.6 (Debian 12): lines belong to their chip object, released when it closes.

struct ChipClose {
    void operator()(gpiod_chip* c) const { gpiod_chip_close(c); }
};
using Chip = std::unique_ptr<gpiod_chip, ChipClose>;

// gpiod_chip_open_lookup tries a number, a label, a name, then a /dev path.
Chip open_chip(const std::string& name, std::string* error) {
    errno = 0;
    Chip chip(gpiod_chip_open_lookup(name.c_str()));
    if (!chip) *error = open_error(name, errno != 0 ? errno : ENOENT);
    return chip;
}

class Outputs final : public GpioOutputs {
  public:
    Outputs(Chip chip, const gpiod_line_bulk& bulk, std::string what)
        : chip_(std::move(chip)), bulk_(bulk), what_(std::move(what)) {}
    ~Outputs() override { gpiod_line_release_bulk(&bulk_); }  // then chip_ closes

    bool set(const std::vector<int>& values, std::string* error) override {
        if (values.size() != bulk_.num_lines) {
            *error = what_ + ": " + std::to_string(values.size()) + " values for " +
                     std::to_string(bulk_.num_lines) + " lines";
            return false;
        }
        if (gpiod_line_set_value_bulk(&bulk_, values.data()) == 0) return true;
        *error = what_ + ": " + std::strerror(errno);
        return false;
    }

  private:
    Chip chip_;
    gpiod_line_bulk bulk_;
    std::string what_;
};

class Input final : public GpioInput {
  public:
    Input(Chip chip, gpiod_line* line, int fd, std::string what)
        : chip_(std::move(chip)), line_(line), fd_(fd), what_(std::move(what)) {}
    ~Input() override { gpiod_line_release(line_); }

    int fd() const override { return fd_; }
    bool read_edges(std::vector<int>* levels, std::string* error) override {
        gpiod_line_event events[kEventBatch];
        while (true) {
            const int n = gpiod_line_event_read_fd_multiple(fd_, events, kEventBatch);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
                if (errno == EINTR) continue;
                *error = what_ + ": " + std::strerror(errno);
                return false;
            }
            for (int i = 0; i < n; ++i)
                levels->push_back(events[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE ? 1 : 0);
            if (n < int(kEventBatch)) return true;
        }
    }

  private:
    Chip chip_;
    gpiod_line* line_;
    int fd_;
    std::string what_;
};

class Libgpiod final : public GpioApi {
  public:
    std::unique_ptr<GpioOutputs> request_outputs(const std::string& chip,
                                                 const std::vector<unsigned>& lines,
                                                 const std::vector<int>& values,
                                                 std::string* error) override {
        const std::string what = lines_text(chip, lines);
        if (lines.empty() || lines.size() != values.size() ||
            lines.size() > GPIOD_LINE_BULK_MAX_LINES) {
            *error = what + ": cannot request " + std::to_string(lines.size()) + " lines at once";
            return nullptr;
        }
        Chip c = open_chip(chip, error);
        if (!c || !check_lines(chip, gpiod_chip_num_lines(c.get()), lines, error)) return nullptr;
        gpiod_line_bulk bulk;
        gpiod_line_bulk_init(&bulk);
        std::vector<unsigned> offsets = lines;
        if (gpiod_chip_get_lines(c.get(), offsets.data(), unsigned(offsets.size()), &bulk) < 0) {
            *error = request_error(what, errno);
            return nullptr;
        }
        gpiod_line_request_config config{kConsumer, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, 0};
        if (gpiod_line_request_bulk(&bulk, &config, values.data()) < 0) {
            *error = request_error(what, errno);
            return nullptr;
        }
        return std::make_unique<Outputs>(std::move(c), bulk, what);
    }

    std::unique_ptr<GpioInput> request_input(const std::string& chip, unsigned line,
                                             const GpioInputOptions& options, int* level,
                                             std::string* error) override {
        const std::string what = lines_text(chip, {line});
        Chip c = open_chip(chip, error);
        if (!c || !check_lines(chip, gpiod_chip_num_lines(c.get()), {line}, error)) return nullptr;
        gpiod_line* l = gpiod_chip_get_line(c.get(), line);
        int flags = options.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
        switch (options.bias) {
            case GpioBias::AsIs:
                break;
            case GpioBias::Disabled:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
                break;
            case GpioBias::PullUp:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
                break;
            case GpioBias::PullDown:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
                break;
        }
        gpiod_line_request_config config{kConsumer, GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES, flags};
        if (!l || gpiod_line_request(l, &config, 0) < 0) {
            *error = request_error(what, errno);
            return nullptr;
        }
        auto input = std::make_unique<Input>(std::move(c), l, gpiod_line_event_get_fd(l), what);
        if (!set_nonblocking(input->fd(), error)) return nullptr;
        const int v = gpiod_line_get_value(l);
        if (v < 0) {
            *error = what + ": cannot read its level: " + std::strerror(errno);
            return nullptr;
        }
        *level = v;
        return input;
    }
};

#else
// ---- libgpiod 2.x (Debian 13, Buildroot, Yocto). UNCOMPILED here (Debian 12 has 1.6):
// written from the 2.x gpiod.h documentation; a request outlives the chip it came from.

struct ChipClose {
    void operator()(gpiod_chip* c) const { gpiod_chip_close(c); }
};
struct InfoFree {
    void operator()(gpiod_chip_info* i) const { gpiod_chip_info_free(i); }
};
struct SettingsFree {
    void operator()(gpiod_line_settings* s) const { gpiod_line_settings_free(s); }
};
struct LineConfigFree {
    void operator()(gpiod_line_config* c) const { gpiod_line_config_free(c); }
};
struct RequestConfigFree {
    void operator()(gpiod_request_config* c) const { gpiod_request_config_free(c); }
};
struct RequestRelease {
    void operator()(gpiod_line_request* r) const { gpiod_line_request_release(r); }
};
struct BufferFree {
    void operator()(gpiod_edge_event_buffer* b) const { gpiod_edge_event_buffer_free(b); }
};
struct DirClose {
    void operator()(DIR* d) const { closedir(d); }
};
using Chip = std::unique_ptr<gpiod_chip, ChipClose>;
using Info = std::unique_ptr<gpiod_chip_info, InfoFree>;
using Request = std::unique_ptr<gpiod_line_request, RequestRelease>;

// libgpiod 2 opens chips by path only: a number or a gpiochipN name becomes a /dev path, and
// a label is looked for by asking each chip, as 1.6's gpiod_chip_open_lookup did.
Chip open_chip(const std::string& name, std::string* error) {
    if (!name.empty() && name[0] == '/') {
        Chip c(gpiod_chip_open(name.c_str()));
        if (!c) *error = open_error(name, errno);
        return c;
    }
    const bool digits = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
    if (digits || name.compare(0, 8, "gpiochip") == 0) {
        const std::string path = "/dev/" + (digits ? "gpiochip" + name : name);
        if (gpiod_is_gpiochip_device(path.c_str())) {
            Chip c(gpiod_chip_open(path.c_str()));
            if (!c) *error = open_error(name, errno);
            return c;
        }
    }
    int last_error = ENOENT;
    std::unique_ptr<DIR, DirClose> dir(opendir("/dev"));
    while (dirent* e = dir ? readdir(dir.get()) : nullptr) {
        if (std::strncmp(e->d_name, "gpiochip", 8) != 0) continue;
        const std::string path = std::string("/dev/") + e->d_name;
        if (!gpiod_is_gpiochip_device(path.c_str())) continue;
        Chip c(gpiod_chip_open(path.c_str()));
        if (!c) {
            last_error = errno;
            continue;
        }
        const Info info(gpiod_chip_get_info(c.get()));
        if (info && name == gpiod_chip_info_get_label(info.get())) return c;
    }
    *error = open_error(name, last_error);
    return nullptr;
}

bool check_chip_lines(gpiod_chip* chip, const std::string& name, const std::vector<unsigned>& lines,
                      std::string* error) {
    const Info info(gpiod_chip_get_info(chip));
    if (!info) {
        *error = open_error(name, errno);
        return false;
    }
    return check_lines(name, gpiod_chip_info_get_num_lines(info.get()), lines, error);
}

gpiod_line_value value_of(int v) {
    return v ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
}

// One request for `lines`, each with `settings` and (for outputs) its own initial value.
Request request_lines(gpiod_chip* chip, const std::string& what, gpiod_line_settings* settings,
                      const std::vector<unsigned>& lines, const std::vector<int>* values,
                      std::string* error) {
    const std::unique_ptr<gpiod_line_config, LineConfigFree> line_config(gpiod_line_config_new());
    const std::unique_ptr<gpiod_request_config, RequestConfigFree> request_config(
        gpiod_request_config_new());
    if (!line_config || !request_config) {
        *error = request_error(what, ENOMEM);
        return nullptr;
    }
    for (size_t i = 0; i < lines.size(); ++i) {
        // add_line_settings copies the settings: one object serves every line's value.
        if (values && gpiod_line_settings_set_output_value(settings, value_of((*values)[i])) < 0) {
            *error = request_error(what, errno);
            return nullptr;
        }
        if (gpiod_line_config_add_line_settings(line_config.get(), &lines[i], 1, settings) < 0) {
            *error = request_error(what, errno);
            return nullptr;
        }
    }
    gpiod_request_config_set_consumer(request_config.get(), kConsumer);
    Request r(gpiod_chip_request_lines(chip, request_config.get(), line_config.get()));
    if (!r) *error = request_error(what, errno);
    return r;
}

class Outputs final : public GpioOutputs {
  public:
    Outputs(Request request, size_t count, std::string what)
        : request_(std::move(request)), count_(count), what_(std::move(what)) {}

    // Values go in the order the lines were added, which is the order requested.
    bool set(const std::vector<int>& values, std::string* error) override {
        if (values.size() != count_) {
            *error = what_ + ": " + std::to_string(values.size()) + " values for " +
                     std::to_string(count_) + " lines";
            return false;
        }
        std::vector<gpiod_line_value> v;
        v.reserve(values.size());
        for (int x : values) v.push_back(value_of(x));
        if (gpiod_line_request_set_values(request_.get(), v.data()) == 0) return true;
        *error = what_ + ": " + std::strerror(errno);
        return false;
    }

  private:
    Request request_;
    size_t count_;
    std::string what_;
};

class Input final : public GpioInput {
  public:
    Input(Request request, gpiod_edge_event_buffer* buffer, std::string what)
        : request_(std::move(request)), buffer_(buffer), what_(std::move(what)) {}

    int fd() const override { return gpiod_line_request_get_fd(request_.get()); }
    bool read_edges(std::vector<int>* levels, std::string* error) override {
        while (true) {
            const int n =
                gpiod_line_request_read_edge_events(request_.get(), buffer_.get(), kEventBatch);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
                if (errno == EINTR) continue;
                *error = what_ + ": " + std::strerror(errno);
                return false;
            }
            for (int i = 0; i < n; ++i) {
                gpiod_edge_event* e = gpiod_edge_event_buffer_get_event(buffer_.get(), i);
                levels->push_back(
                    gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE ? 1 : 0);
            }
            if (n < int(kEventBatch)) return true;
        }
    }

  private:
    Request request_;
    std::unique_ptr<gpiod_edge_event_buffer, BufferFree> buffer_;
    std::string what_;
};

class Libgpiod final : public GpioApi {
  public:
    std::unique_ptr<GpioOutputs> request_outputs(const std::string& chip,
                                                 const std::vector<unsigned>& lines,
                                                 const std::vector<int>& values,
                                                 std::string* error) override {
        const std::string what = lines_text(chip, lines);
        if (lines.empty() || lines.size() != values.size()) {
            *error = what + ": cannot request " + std::to_string(lines.size()) + " lines at once";
            return nullptr;
        }
        const Chip c = open_chip(chip, error);
        if (!c || !check_chip_lines(c.get(), chip, lines, error)) return nullptr;
        const std::unique_ptr<gpiod_line_settings, SettingsFree> settings(
            gpiod_line_settings_new());
        if (!settings ||
            gpiod_line_settings_set_direction(settings.get(), GPIOD_LINE_DIRECTION_OUTPUT) < 0) {
            *error = request_error(what, settings ? errno : ENOMEM);
            return nullptr;
        }
        Request r = request_lines(c.get(), what, settings.get(), lines, &values, error);
        if (!r) return nullptr;
        return std::make_unique<Outputs>(std::move(r), lines.size(), what);
    }

    std::unique_ptr<GpioInput> request_input(const std::string& chip, unsigned line,
                                             const GpioInputOptions& options, int* level,
                                             std::string* error) override {
        const std::string what = lines_text(chip, {line});
        const Chip c = open_chip(chip, error);
        if (!c || !check_chip_lines(c.get(), chip, {line}, error)) return nullptr;
        const std::unique_ptr<gpiod_line_settings, SettingsFree> settings(
            gpiod_line_settings_new());
        gpiod_line_bias bias = GPIOD_LINE_BIAS_AS_IS;
        switch (options.bias) {
            case GpioBias::AsIs:
                break;
            case GpioBias::Disabled:
                bias = GPIOD_LINE_BIAS_DISABLED;
                break;
            case GpioBias::PullUp:
                bias = GPIOD_LINE_BIAS_PULL_UP;
                break;
            case GpioBias::PullDown:
                bias = GPIOD_LINE_BIAS_PULL_DOWN;
                break;
        }
        if (!settings ||
            gpiod_line_settings_set_direction(settings.get(), GPIOD_LINE_DIRECTION_INPUT) < 0 ||
            gpiod_line_settings_set_edge_detection(settings.get(), GPIOD_LINE_EDGE_BOTH) < 0 ||
            gpiod_line_settings_set_bias(settings.get(), bias) < 0) {
            *error = request_error(what, settings ? errno : ENOMEM);
            return nullptr;
        }
        gpiod_line_settings_set_active_low(settings.get(), options.active_low);
        Request r = request_lines(c.get(), what, settings.get(), {line}, nullptr, error);
        if (!r) return nullptr;
        gpiod_edge_event_buffer* buffer = gpiod_edge_event_buffer_new(kEventBatch);
        if (!buffer) {
            *error = request_error(what, ENOMEM);
            return nullptr;
        }
        const gpiod_line_value v = gpiod_line_request_get_value(r.get(), line);
        auto input = std::make_unique<Input>(std::move(r), buffer, what);
        if (v == GPIOD_LINE_VALUE_ERROR) {
            *error = what + ": cannot read its level: " + std::strerror(errno);
            return nullptr;
        }
        if (!set_nonblocking(input->fd(), error)) return nullptr;
        *level = v == GPIOD_LINE_VALUE_ACTIVE ? 1 : 0;
        return input;
    }
};

#endif

}  // namespace

std::shared_ptr<GpioApi> libgpiod_api() {
    return std::make_shared<Libgpiod>();
}

}  // namespace robotd
