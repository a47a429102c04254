// Per-host limits (see host_limits.hpp).
#include "receiver/host_limits.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "common/dir_list.hpp"

namespace adist::receiver {

std::string_view to_string(limit_refusal r) {
    switch (r) {
    case limit_refusal::none: return "within limits";
    case limit_refusal::files_per_minute: return "max_files_per_minute";
    case limit_refusal::host_bytes: return "max_host_bytes";
    }
    return "?";
}

double file_bucket::level(const common::receiver_limits& limits, clock::time_point now) const {
    double burst = limits.max_files_burst;
    if (tokens_ < 0) return burst;
    double elapsed = std::chrono::duration<double>(now - last_).count();
    double refill = std::max(0.0, elapsed) * limits.max_files_per_minute / 60.0;
    return std::min(burst, tokens_ + refill);
}

bool file_bucket::take(const common::receiver_limits& limits, clock::time_point now) {
    if (limits.max_files_per_minute == 0) return true; // no limit
    double have = level(limits, now);
    tokens_ = have;
    last_ = std::max(last_, now);
    if (have < 1.0) return false;
    tokens_ = have - 1.0;
    return true;
}

limit_refusal decide_open(file_bucket& bucket, const common::receiver_limits& limits,
                          const host_usage& usage, file_bucket::clock::time_point now) {
    // The cap first: a refused file must not cost a token.
    if (limits.max_host_bytes != 0 && usage.bytes + file_overhead > limits.max_host_bytes) {
        return limit_refusal::host_bytes;
    }
    if (!bucket.take(limits, now)) return limit_refusal::files_per_minute;
    return limit_refusal::none;
}

limit_refusal decide_append(const common::receiver_limits& limits, const host_usage& usage,
                            std::uint64_t bytes) {
    if (limits.max_host_bytes != 0 && usage.bytes + bytes > limits.max_host_bytes) {
        return limit_refusal::host_bytes;
    }
    return limit_refusal::none;
}

bytes_or_errno measure_host_bytes(int dir_fd) {
    auto listing = common::list_directory(dir_fd);
    if (!listing.ok()) return {0, listing.error};
    bytes_or_errno out;
    for (const auto& name : listing.names) {
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISREG(st.st_mode)) out.bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    return out;
}

} // namespace adist::receiver
