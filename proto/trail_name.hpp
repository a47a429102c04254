// Trail file names: "YYYYMMDDhhmmss." + 14 digits | "not_terminated" |
// "crash_recovery" (exactly 29 characters), where every 14 digits are a real
// UTC time and a terminated trail ends no earlier than it starts. Validity,
// kind, start time and the 15-character start that identifies one trail
// across its renames. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace adist::proto {

inline constexpr std::size_t trail_name_length = 29;
inline constexpr std::size_t trail_prefix_length = 15; // "YYYYMMDDhhmmss."

enum class trail_kind { invalid, terminated, not_terminated, crash_recovery };

// Seconds since 1970-01-01 00:00:00 UTC of "YYYYMMDDhhmmss" when those are 14
// digits naming a real time (year 1970-9999, month 1-12, a day the month has,
// leap years included, hour 0-23, minute and second 0-59); else nullopt.
std::optional<std::int64_t> parse_trail_time(std::string_view digits14);

// Classifies `name`; all 29 characters are checked (FreeBSD forgets the last
// two), the times must be real and a terminated trail's end >= its start.
trail_kind classify_trail_name(std::string_view name);

inline bool is_valid_trail_name(std::string_view name) {
    return classify_trail_name(name) != trail_kind::invalid;
}

// The "YYYYMMDDhhmmss." every name of one trail shares, whatever its end:
// trails compare in the order they started by it.
inline std::string_view trail_start(std::string_view name) {
    return name.substr(0, trail_prefix_length);
}

// Start time (seconds since the epoch, UTC) of a valid name; else nullopt.
std::optional<std::int64_t> trail_start_time(std::string_view name);

// True when both are valid names of the same trail (same start time).
bool same_trail(std::string_view a, std::string_view b);

// True when `to` is a valid final name for the open `.not_terminated` file `from`.
bool is_valid_rename(std::string_view from, std::string_view to);

} // namespace adist::proto
