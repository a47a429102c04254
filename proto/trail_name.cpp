// Trail file name rules (see trail_name.hpp); used by both roles' deciders.
#include "proto/trail_name.hpp"

#include <algorithm>

namespace adist::proto {
namespace {

bool all_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view s) {
    int n = 0;
    for (char c : s)
        n = n * 10 + (c - '0');
    return n;
}

bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian calendar, y >= 1970).
std::int64_t days_since_epoch(int y, int m, int d) {
    std::int64_t days = 0;
    // Whole 400-year cycles have 146097 days; the remainder is counted.
    int cycles = (y - 1970) / 400;
    days += std::int64_t{cycles} * 146097;
    for (int year = 1970 + cycles * 400; year < y; ++year)
        days += leap(year) ? 366 : 365;
    for (int month = 1; month < m; ++month)
        days += days_in_month(y, month);
    return days + d - 1;
}

} // namespace

std::optional<std::int64_t> parse_trail_time(std::string_view s) {
    if (s.size() != 14 || !all_digits(s)) return std::nullopt;
    int y = number(s.substr(0, 4)), mo = number(s.substr(4, 2)), d = number(s.substr(6, 2));
    int h = number(s.substr(8, 2)), mi = number(s.substr(10, 2)), sec = number(s.substr(12, 2));
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return std::nullopt;
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
    return days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

trail_kind classify_trail_name(std::string_view name) {
    if (name.size() != trail_name_length || name[14] != '.') return trail_kind::invalid;
    auto start = parse_trail_time(name.substr(0, 14));
    if (!start) return trail_kind::invalid;
    auto tail = name.substr(trail_prefix_length);
    if (tail == "not_terminated") return trail_kind::not_terminated;
    if (tail == "crash_recovery") return trail_kind::crash_recovery;
    auto end = parse_trail_time(tail);
    return end && *end >= *start ? trail_kind::terminated : trail_kind::invalid;
}

std::optional<std::int64_t> trail_start_time(std::string_view name) {
    if (!is_valid_trail_name(name)) return std::nullopt;
    return parse_trail_time(name.substr(0, 14));
}

bool same_trail(std::string_view a, std::string_view b) {
    return is_valid_trail_name(a) && is_valid_trail_name(b) && trail_start(a) == trail_start(b);
}

bool is_valid_rename(std::string_view from, std::string_view to) {
    if (classify_trail_name(from) != trail_kind::not_terminated) return false;
    auto k = classify_trail_name(to);
    return (k == trail_kind::terminated || k == trail_kind::crash_recovery) && same_trail(from, to);
}

} // namespace adist::proto
