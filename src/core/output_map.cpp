#include "core/output_map.h"

#include <charconv>
#include <cmath>

#include "core/text.h"

namespace robotd {

namespace {

// Words separated by white space.
std::vector<std::string_view> words_of(std::string_view text) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ',')) ++i;
        const size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != ',') ++i;
        if (i > start) out.push_back(text.substr(start, i - start));
    }
    return out;
}

std::optional<long> number(std::string_view text) {
    long value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || stop != end) return std::nullopt;
    return value;
}

// 0.001..60 seconds, plain decimal.
std::optional<double> seconds_of(std::string_view text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
    if (text.empty() || ec != std::errc() || stop != end || !(value >= 0.001 && value <= 60))
        return std::nullopt;
    return value;
}

bool parse_set(std::string_view word, const OutputRules& rules, OutputSet* set,
               std::string* error) {
    const size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
        *error = "expected " + std::string(rules.output_noun) + "=value, got '" +
                 std::string(word) + "'";
        return false;
    }
    const auto output = number(word.substr(0, eq));
    if (!output || *output < 0 || *output > rules.max_output) {
        *error = std::string(rules.output_noun) + " '" + std::string(word.substr(0, eq)) +
                 "': expected 0.." + std::to_string(rules.max_output);
        return false;
    }
    const std::string_view value_text = word.substr(eq + 1);
    std::optional<long> value = number(value_text);
    for (const auto& [name, v] : rules.words)
        if (iequals(name, value_text)) value = v;
    if (!value || *value < 0 || *value > rules.max_value) {
        std::string forms = "0.." + std::to_string(rules.max_value);
        for (const auto& w : rules.words) forms += ", " + std::string(w.first);
        *error = "value '" + std::string(value_text) + "' of " + std::string(rules.output_noun) +
                 " " + std::to_string(*output) + ": expected " + forms;
        return false;
    }
    set->output = int(*output);
    set->value = int32_t(*value);
    return true;
}

}  // namespace

bool parse_output_sets(std::string_view text, const OutputRules& rules,
                       std::vector<OutputSet>* sets, std::string* error) {
    sets->clear();
    for (const std::string_view w : words_of(text)) {
        OutputSet set;
        if (!parse_set(w, rules, &set, error)) return false;
        sets->push_back(set);
    }
    return true;
}

bool parse_output_steps(std::string_view text, const OutputRules& rules,
                        std::vector<OutputStep>* steps, std::string* error) {
    steps->clear();
    const std::vector<std::string_view> words = words_of(text);
    OutputStep step;
    bool step_open = false;  // `step` has sets and no `for` yet
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string_view w = words[i];
        if (iequals(w, "then")) {
            if (!step_open || step.ms == 0) {
                *error = "'then' must follow a step that ends with 'for SECONDS'";
                return false;
            }
            steps->push_back(std::move(step));
            step = OutputStep{};
            step_open = false;
            continue;
        }
        if (iequals(w, "for")) {
            const auto seconds = i + 1 < words.size() ? seconds_of(words[i + 1]) : std::nullopt;
            if (!seconds) {
                *error = "'for' takes a number of seconds 0.001..60";
                return false;
            }
            if (!step_open || step.ms != 0) {
                *error = "'for' must end a step that sets something";
                return false;
            }
            step.ms = uint32_t(std::lround(*seconds * 1000));
            ++i;
            continue;
        }
        if (step.ms != 0) {
            *error = "'" + std::string(w) + "' after 'for': join steps with 'then'";
            return false;
        }
        OutputSet set;
        if (!parse_set(w, rules, &set, error)) return false;
        step.sets.push_back(set);
        step_open = true;
    }
    if (!step_open) {
        *error = steps->empty() ? "sets nothing" : "ends with 'then'";
        return false;
    }
    steps->push_back(std::move(step));
    return true;
}

std::optional<uint32_t> steps_pulse_ms(const std::vector<OutputStep>& steps) {
    uint32_t total = 0;
    for (const OutputStep& s : steps) {
        if (s.ms == 0) return std::nullopt;
        total += s.ms;
    }
    return steps.empty() ? std::nullopt : std::optional<uint32_t>(total);
}

}  // namespace robotd
