// Captures what the process writes to stderr (the log) while a test runs, so tests can assert
// on the lines an owner would read.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace robotd {

// Everything the process writes to stderr (the log) while it lives.
class StderrCapture {
  public:
    StderrCapture() {
        fflush(stderr);
        saved_ = dup(STDERR_FILENO);
        char tmpl[] = "/tmp/robotd-log-XXXXXX";
        const int fd = mkstemp(tmpl);
        path_ = tmpl;
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    ~StderrCapture() {
        restore();
        unlink(path_.c_str());
    }
    void restore() {
        if (saved_ < 0) return;
        fflush(stderr);
        dup2(saved_, STDERR_FILENO);
        close(saved_);
        saved_ = -1;
    }
    std::string text() const {
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    size_t count(const std::string& needle) const {
        const std::string t = text();
        size_t n = 0;
        for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
        return n;
    }

  private:
    int saved_ = -1;
    std::string path_;
};

}  // namespace robotd
