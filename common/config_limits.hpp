// The values of the receiver's per-host limit statements (max_files_per_minute,
// max_files_burst, max_host_bytes): parsed here, applied by config_parser.cpp
// to the receiver section and to each host, whose own statements override.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.hpp"

namespace adist::common::config_detail {

struct limit_overrides {
    std::optional<unsigned> max_files_per_minute;
    std::optional<unsigned> max_files_burst;
    std::optional<std::uint64_t> max_host_bytes;
};

// Parses the value of limit statement `keyword` into `out`; returns the
// error message (without file:line) when the value is not valid.
std::optional<std::string> set_limit(std::string_view keyword, std::string_view value,
                                     limit_overrides& out);

// `base` with the values `given` sets.
receiver_limits apply_limits(receiver_limits base, const limit_overrides& given);

// "4096", "512K", "20G": a byte count with an optional binary suffix K, M, G, T.
std::optional<std::uint64_t> parse_size(std::string_view text);

} // namespace adist::common::config_detail
