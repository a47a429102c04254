// Per-host limit statements of the receiver (see config_limits.hpp).
#include "common/config_limits.hpp"
#include "common/config_lexer.hpp"

#include <algorithm>
#include <cctype>

namespace adist::common::config_detail {
namespace {

constexpr unsigned max_rate = 1'000'000;
constexpr unsigned max_burst = 10'000'000;

std::optional<unsigned> parse_count(std::string_view text, unsigned low, unsigned high) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    unsigned n = static_cast<unsigned>(std::stoul(std::string(text)));
    if (n < low || n > high) return std::nullopt;
    return n;
}

} // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
    unsigned shift = 0;
    if (!text.empty()) {
        switch (std::toupper(static_cast<unsigned char>(text.back()))) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: break;
        }
    }
    if (shift != 0) text.remove_suffix(1);
    if (text.empty() || text.size() > 15) return std::nullopt;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::uint64_t n = std::stoull(std::string(text));
    if (n > (std::uint64_t{1} << (62 - shift))) return std::nullopt; // far beyond any disk
    return n << shift;
}

std::optional<std::string> set_limit(std::string_view keyword, std::string_view value,
                                     limit_overrides& out) {
    std::string key(keyword);
    if (keyword == "max_files_per_minute") {
        out.max_files_per_minute = parse_count(value, 0, max_rate);
        if (!out.max_files_per_minute)
            return key + " must be a number of files from 0 (no limit) to 1000000";
    } else if (keyword == "max_files_burst") {
        out.max_files_burst = parse_count(value, 1, max_burst);
        if (!out.max_files_burst) return key + " must be a number of files from 1 to 10000000";
    } else if (keyword == "max_host_bytes") {
        out.max_host_bytes = parse_size(value);
        if (!out.max_host_bytes)
            return key + " must be a size in bytes, optionally with K, M, G or T (0: no cap)";
    } else {
        return "unknown limit " + quoted(keyword);
    }
    return std::nullopt;
}

receiver_limits apply_limits(receiver_limits base, const limit_overrides& given) {
    if (given.max_files_per_minute) base.max_files_per_minute = *given.max_files_per_minute;
    if (given.max_files_burst) base.max_files_burst = *given.max_files_burst;
    if (given.max_host_bytes) base.max_host_bytes = *given.max_host_bytes;
    return base;
}

} // namespace adist::common::config_detail
