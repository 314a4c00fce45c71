#include "robot/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/unique_fd.h"

namespace robotd {

namespace {
constexpr const char* kTag = "state";
constexpr size_t kMaxStateFile = 4 * 1024 * 1024;  // far above 4 lists of 1000 names

std::string dir_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string errno_text(const char* what, const std::string& path) {
    return std::string(what) + " " + path + ": " + strerror(errno);
}
}  // namespace

StateFile::StateFile(Logger& log, std::string path) : log_(log), path_(std::move(path)) {
    thread_ = std::thread([this] { run(); });
}

StateFile::~StateFile() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

Moderation StateFile::load(const Moderation& defaults, int64_t now_us, int64_t now_wall) {
    UniqueFd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno != ENOENT)
            LOGW(log_, kTag, "cannot read %s (%s): starting from the config's values",
                 path_.c_str(), strerror(errno));
        else
            LOGD(log_, kTag, "no state file %s yet: the config's values", path_.c_str());
        return defaults;
    }
    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LOGW(log_, kTag, "cannot read %s (%s): starting from the config's values",
                 path_.c_str(), strerror(errno));
            return defaults;
        }
        if (n == 0) break;
        text.append(buf, size_t(n));
        if (text.size() > kMaxStateFile) {
            LOGW(log_, kTag,
                 "%s is over %zu MiB, not a state file: starting from the config's "
                 "values",
                 path_.c_str(), kMaxStateFile >> 20);
            return defaults;
        }
    }
    Moderation m;
    std::string error;
    if (!moderation_from_json(text, defaults, now_us, now_wall, &m, &error)) {
        LOGW(log_, kTag, "%s is not a valid state file (%s): starting from the config's values",
             path_.c_str(), error.c_str());
        return defaults;
    }
    LOGI(log_, kTag, "state read from %s", path_.c_str());
    return m;
}

void StateFile::save(std::string text) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_ = std::move(text);
        has_pending_ = true;
    }
    cv_.notify_all();
}

void StateFile::wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !has_pending_ && !busy_; });
}

uint64_t StateFile::written() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return written_;
}

void StateFile::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return has_pending_ || stop_; });
        if (!has_pending_) return;  // stopping with nothing left to write
        std::string text = std::move(pending_);
        has_pending_ = false;
        busy_ = true;
        lock.unlock();
        std::string error;
        const bool ok = write_atomically(text, &error);
        lock.lock();
        busy_ = false;
        if (ok) {
            ++written_;
            if (failing_) LOGI(log_, kTag, "%s written again", path_.c_str());
            failing_ = false;
        } else if (!failing_) {
            failing_ = true;
            LOGW(log_, kTag,
                 "cannot save the chat choices (%s): they hold until robotd restarts; check "
                 "[misc] state_file",
                 error.c_str());
        }
        cv_.notify_all();
    }
}

// A temporary file beside the target, synced, renamed over it, and the directory synced:
// a power cut leaves the old state or the new one, never half of either.
bool StateFile::write_atomically(const std::string& text, std::string* error) {
    const std::string dir = dir_of(path_);
    std::string tmp = path_ + ".XXXXXX";
    std::vector<char> name(tmp.begin(), tmp.end());
    name.push_back('\0');
    UniqueFd fd(mkostemp(name.data(), O_CLOEXEC));
    if (!fd.valid() && errno == ENOENT && mkdir(dir.c_str(), 0755) == 0) {
        // The default's directory (/var/lib/robotd) on a fresh system: made once.
        name.assign(tmp.begin(), tmp.end());
        name.push_back('\0');
        fd.reset(mkostemp(name.data(), O_CLOEXEC));
    }
    if (!fd.valid()) {
        *error = errno_text("cannot create a file beside", path_);
        return false;
    }
    tmp = name.data();
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *error = errno_text("cannot write", tmp);
            unlink(tmp.c_str());
            return false;
        }
        done += size_t(n);
    }
    if (fchmod(fd.get(), 0644) != 0 || fsync(fd.get()) != 0) {
        *error = errno_text("cannot sync", tmp);
        unlink(tmp.c_str());
        return false;
    }
    fd.reset();
    if (rename(tmp.c_str(), path_.c_str()) != 0) {
        *error = errno_text("cannot rename to", path_);
        unlink(tmp.c_str());
        return false;
    }
    UniqueFd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.valid()) fsync(d.get());  // the rename itself is durable; best effort
    return true;
}

}  // namespace robotd
