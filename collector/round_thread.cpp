// The collector's second thread of rounds (round_thread.hpp).
#include "collector/round_thread.hpp"

#include "common/log.hpp"

#include <cerrno>
#include <exception>
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
    auto pause = [] {
        pollfd none{-1, 0, 0};
        ::poll(&none, 1, poll_ms);
    };
    while (!quit_) {
        pollfd p{listen_fd_, POLLIN, 0};
        int n = ::poll(&p, 1, poll_ms);
        if (n == 0 || (n < 0 && errno == EINTR)) continue; // look at quit_
        if (n < 0) {                                       // ENOMEM: a pause, not a spin
            pause();
            continue;
        }
        if ((p.revents & (POLLERR | POLLNVAL)) != 0) {
            log::error("collector: the socket's second thread stops: the listening socket "
                       "failed; the event loop's thread serves alone");
            return;
        }
        bool ok = false;
        try {
            ok = serve_(names_, parents_);
        } catch (const std::exception& e) {
            // Out of memory, most likely: the round's clients were closed
            // unanswered (the lock released on the way); the next round
            // may fare better.
            log::error("collector: a round failed: ", e.what());
        }
        if (!ok) pause(); // an accept error (descriptors exhausted), or the above
    }
}

} // namespace adist::collector
