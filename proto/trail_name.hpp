// Trail file names: "YYYYMMDDhhmmss." + 14 digits | "not_terminated" |
// "crash_recovery" (exactly 29 characters). Validity, kind and the
// 15-character prefix that identifies one trail across its renames. Pure.
#pragma once

#include <string_view>

namespace adist::proto {

inline constexpr std::size_t trail_name_length = 29;
inline constexpr std::size_t trail_prefix_length = 15; // "YYYYMMDDhhmmss."

enum class trail_kind { invalid, terminated, not_terminated, crash_recovery };

// Classifies `name`; all 29 characters are checked (FreeBSD forgets the last two).
trail_kind classify_trail_name(std::string_view name);

inline bool is_valid_trail_name(std::string_view name) {
    return classify_trail_name(name) != trail_kind::invalid;
}

// True when both are valid names of the same trail (same start time).
bool same_trail(std::string_view a, std::string_view b);

// True when `to` is a valid final name for the open `.not_terminated` file `from`.
bool is_valid_rename(std::string_view from, std::string_view to);

} // namespace adist::proto
