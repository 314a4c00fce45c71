// The pipe driver's line format: one JSON object per command or pointer event, built with
// cJSON (names escaped) and bounded so each line fits one atomic pipe write.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hw/driver.h"

namespace robotd {

// A line never exceeds this (PIPE_BUF on Linux): pipes write it whole or not at all.
constexpr size_t kMaxPipeLine = 4096;
// Longest user name or command kept, in bytes, before escaping (which can grow it 6x).
constexpr size_t kMaxPipeField = 256;

// {"command","user","anonymous","key_position","t_us"[,"reason"]} and a newline.
std::string command_line(const DriveCommand& c);
// {"command":"pointer","kind","x","y","user","anonymous","t_us"} and a newline.
std::string pointer_line(const PointerEvent& p);

// `text` cut to at most `max` bytes on a UTF-8 boundary, with invalid UTF-8 bytes replaced
// by '?' so that every consumer's JSON parser accepts the line.
std::string bounded_utf8(std::string_view text, size_t max);

}  // namespace robotd
