// Reads the trusted blocks of a round of clients on two threads at once:
// each peer costs about a dozen system calls (/proc, the pidfd), most of a
// record's work, and every one is independent of the others. The calling
// thread reads the first half with its own caches while a helper thread,
// with caches of its own, reads the rest; nothing else runs on the helper.
// Used by the collector's fast path (accept_batch.cpp).
#pragma once

#include "collector/ancestry_cache.hpp"
#include "collector/peer_info.hpp"

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

namespace adist::collector {

// The parents a record names, at most.
inline constexpr std::size_t max_parents = 8;

class peer_reader {
  public:
    struct job {
        int fd = -1;  // the client's connected socket
        ucred cred{}; // its SO_PEERCRED, asked already
        trusted_info info;
    };
    // Fewer jobs than this are read on the calling thread alone: waking the
    // helper costs more than it saves.
    static constexpr std::size_t min_shared = 4;

    peer_reader() = default;
    ~peer_reader();
    peer_reader(const peer_reader&) = delete;
    peer_reader& operator=(const peer_reader&) = delete;

    // The helper thread, with a copy of `names` (preloaded before the
    // sandbox, which the thread inherits). Without it, read() works alone.
    void start(const name_cache& names);
    // Fills every job's `info`; returns when all are read (or throws what
    // either thread threw, once both are done).
    void read(std::span<job> jobs, name_cache& names, ancestry_cache& parents);

  private:
    void run();

    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::span<job> work_; // handed to the helper, guarded by mutex_
    bool has_work_ = false, quit_ = false;
    std::exception_ptr helper_failed_; // what the helper threw, for read() to throw
    name_cache names_;       // the helper's
    ancestry_cache parents_; // the helper's
};

} // namespace adist::collector
