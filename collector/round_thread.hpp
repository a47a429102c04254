// A second thread of whole rounds for the collector's fast path
// (accept_batch.cpp): it waits on the same listening socket as the
// collector's own thread and serves what it accepts from start to end
// (accept, recv, the peers' /proc, encoding, reply) with caches of its own,
// so that on two cores two rounds run at once. Only the parts that touch
// the role's state (admission, staging, the write) take turns, under the
// role's lock. Made after the sandbox: the thread inherits it.
#pragma once

#include "collector/ancestry_cache.hpp"
#include "collector/peer_info.hpp"

#include <atomic>
#include <functional>
#include <thread>

namespace adist::collector {

class round_thread {
  public:
    // One round on this thread with its caches; false when the accept
    // failed (EMFILE...): the thread pauses before it waits again, as it
    // does after a round that threw (logged).
    using round = std::function<bool(name_cache&, ancestry_cache&)>;

    round_thread() = default;
    ~round_thread() { stop(); }
    round_thread(const round_thread&) = delete;
    round_thread& operator=(const round_thread&) = delete;

    // Starts serving rounds of `listen_fd` with a copy of `names`
    // (preloaded as root).
    void start(int listen_fd, const name_cache& names, round serve);
    // Within one poll interval: the round in progress ends first.
    void stop();

  private:
    void run();

    std::thread thread_;
    std::atomic<bool> quit_{false};
    int listen_fd_ = -1;
    name_cache names_;
    ancestry_cache parents_;
    round serve_;
};

} // namespace adist::collector
