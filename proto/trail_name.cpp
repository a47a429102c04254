// Trail file name rules (see trail_name.hpp); used by both roles' deciders.
#include "proto/trail_name.hpp"

#include <algorithm>

namespace adist::proto {
namespace {

bool all_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

trail_kind classify_trail_name(std::string_view name) {
    if (name.size() != trail_name_length) return trail_kind::invalid;
    if (!all_digits(name.substr(0, 14)) || name[14] != '.') return trail_kind::invalid;
    auto tail = name.substr(trail_prefix_length);
    if (tail == "not_terminated") return trail_kind::not_terminated;
    if (tail == "crash_recovery") return trail_kind::crash_recovery;
    if (all_digits(tail)) return trail_kind::terminated;
    return trail_kind::invalid;
}

bool same_trail(std::string_view a, std::string_view b) {
    return is_valid_trail_name(a) && is_valid_trail_name(b) &&
           a.substr(0, trail_prefix_length) == b.substr(0, trail_prefix_length);
}

bool is_valid_rename(std::string_view from, std::string_view to) {
    if (classify_trail_name(from) != trail_kind::not_terminated) return false;
    auto k = classify_trail_name(to);
    return (k == trail_kind::terminated || k == trail_kind::crash_recovery) &&
           same_trail(from, to);
}

} // namespace adist::proto
