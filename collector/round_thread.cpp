// The collector's second thread of rounds (round_thread.hpp).
#include "collector/round_thread.hpp"

#include <chrono>
#include <poll.h>

namespace adist::collector {
namespace {
// How long a wait lasts before the thread looks at quit_: a stop waits
// at most this long.
constexpr int poll_ms = 100;
} // namespace

void round_thread::start(int listen_fd, const name_cache& names, round serve) {
    if (thread_.joinable() || listen_fd < 0) return;
    listen_fd_ = listen_fd;
    names_ = names;
    serve_ = std::move(serve);
    quit_ = false;
    thread_ = std::thread([this] { run(); });
}

void round_thread::stop() {
    if (!thread_.joinable()) return;
    quit_ = true;
    thread_.join();
}

void round_thread::run() {
    while (!quit_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, poll_ms) <= 0) continue; // timeout or EINTR: look at quit_
        if ((p.revents & (POLLERR | POLLNVAL)) != 0) return; // the socket is gone
        if (!serve_(names_, parents_)) {
            // An accept error (descriptors exhausted): a pause, not a spin.
            pollfd none{-1, 0, 0};
            ::poll(&none, 1, poll_ms);
        }
    }
}

} // namespace adist::collector
