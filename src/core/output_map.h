// The generic output maps of [gpio] and [pca9685]: for each command, which outputs take which
// values and for how long ("F = 17=1 27=0 for 0.3 then 17=0 for 0.2"). Text parsing only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace robotd {

struct OutputSet {
    int output = 0;     // a pin number, a line, a PWM channel
    int32_t value = 0;  // a level, a duty in ticks
    bool operator==(const OutputSet& o) const { return output == o.output && value == o.value; }
};

// One step of a command: these outputs take these values, for `ms` (0: until the next stop).
struct OutputStep {
    std::vector<OutputSet> sets;
    uint32_t ms = 0;
};

struct OutputCommand {
    std::string command;  // as the config spells it; matched case-insensitively
    std::string text;     // the value as written, for format_config and changed_keys
    std::vector<OutputStep> steps;
};

// What a section's values may be: outputs 0..max_output, values 0..max_value or a word.
struct OutputRules {
    int max_output = 0;
    int32_t max_value = 0;
    std::vector<std::pair<std::string_view, int32_t>> words;  // "high" = 1, "full" = 4096
    std::string_view output_noun;  // "pin", "channel": for error messages
};

// "17=1 27=0 for 0.3 then 17=0 for 0.2": steps joined by `then`, each a list of
// OUTPUT=VALUE and an optional `for SECONDS` (0.001..60) at its end; only the last step may
// lack `for`. False with `error` set (one line naming the bad part).
bool parse_output_steps(std::string_view text, const OutputRules& rules,
                        std::vector<OutputStep>* steps, std::string* error);
// "17=0 27=0": one list, no `for` (a map's safe levels).
bool parse_output_sets(std::string_view text, const OutputRules& rules,
                       std::vector<OutputSet>* sets, std::string* error);
// The whole pulse when every step has a length; none when the last holds.
std::optional<uint32_t> steps_pulse_ms(const std::vector<OutputStep>& steps);

}  // namespace robotd
