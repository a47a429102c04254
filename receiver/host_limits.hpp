// Per-host limits of the receiver (docs/security.md, "Per-host limits"): a
// token bucket of files created per minute and a cap on the bytes a host
// keeps on disk. Pure deciders, time passed in as `now`; the session applies
// them before each OPEN and APPEND and measure_host_bytes() is its I/O part.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/config.hpp"

namespace adist::receiver {

enum class limit_refusal {
    none,
    files_per_minute, // the host's file bucket is empty
    host_bytes,       // the host's files would exceed max_host_bytes
};
std::string_view to_string(limit_refusal r);

// Files a host may create: `max_files_burst` at once, refilled at
// `max_files_per_minute`. Starts full, so a backlog after an outage drains.
class file_bucket {
public:
    using clock = std::chrono::steady_clock;
    // Takes one file if the bucket holds one; false (and nothing taken) if not.
    bool take(const common::receiver_limits& limits, clock::time_point now);
    // Files it holds at `now` (for tests and the log).
    double level(const common::receiver_limits& limits, clock::time_point now) const;

private:
    double tokens_ = -1; // < 0: not used yet, i.e. full
    clock::time_point last_{};
};

// What a host stores, as the session knows it: measured when it connects,
// then grown by what it accepts.
struct host_usage {
    std::uint64_t bytes = 0;
};

// Bytes a new file is counted for before it has any (one block of most
// filesystems): empty files are not free either.
inline constexpr std::uint64_t file_overhead = 4096;

// Before an OPEN that creates a file (a reopen of the newest is not one).
limit_refusal decide_open(file_bucket& bucket, const common::receiver_limits& limits,
                          const host_usage& usage, file_bucket::clock::time_point now);
// Before an APPEND of `bytes`.
limit_refusal decide_append(const common::receiver_limits& limits, const host_usage& usage,
                            std::uint64_t bytes);

// Bytes on disk (st_blocks) of the regular files in the directory `dir_fd`;
// an errno value when it cannot be listed completely (then the caller must
// refuse, not assume zero).
struct bytes_or_errno {
    std::uint64_t bytes = 0;
    int error = 0;
};
bytes_or_errno measure_host_bytes(int dir_fd);

} // namespace adist::receiver
