// The parent chain of the collector's clients, from /proc, cached per live
// process: the shells and their ancestors stay the same from one command
// to the next, so reading each one's stat and status again for every
// record (7 system calls a parent) was most of the collector's work. An
// entry holds a pidfd of its process: while that pidfd does not report an
// exit, the pid still names the process that was read (a pid is reused
// only after its process was reaped). Entries older than `ttl` are read
// again, so a parent's uid or name that changed (setuid, exec) shows
// within that time. Used by peer_info's read_peer on the collector thread.
#pragma once

#include "collector/record.hpp"
#include "common/fd.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace adist::collector {

class ancestry_cache {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    explicit ancestry_cache(std::chrono::milliseconds ttl = std::chrono::seconds(1),
                            std::size_t max_entries = 1024)
        : ttl_(ttl), max_entries_(max_entries) {}

    // Appends to `out` the chain from `ppid` up (nearest first), at most
    // `max` processes; stops at pid 0 or a process it cannot read. The
    // cached part of the chain is checked with one poll(), which also asks
    // about `peer_pidfd` (-1: none): the result is whether that process is
    // still alive (false without one).
    bool parents_of(std::int64_t ppid, std::size_t max, std::vector<trusted_info::parent>& out,
                    time_point now, int peer_pidfd = -1);

    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }

  private:
    struct entry {
        common::unique_fd pidfd;
        trusted_info::parent self;
        std::int64_t ppid = 0;
        time_point at;
    };
    // The entry of a live `pid` read at most ttl_ ago, else one read now
    // (nullptr: unreadable).
    const entry* find(std::int64_t pid, time_point now);
    const entry* read(std::int64_t pid, time_point now);

    std::chrono::milliseconds ttl_;
    std::size_t max_entries_;
    std::unordered_map<std::int64_t, entry> map_;
    entry scratch_; // an uncached read (no pidfd, or the cache is full)
    std::uint64_t hits_ = 0, misses_ = 0;
};

} // namespace adist::collector
