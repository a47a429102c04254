// collector/round_thread: a second thread serving rounds of a listening
// socket with caches of its own; it stops within its poll interval, and a
// round that fails pauses it instead of spinning.
#include "collector/round_thread.hpp"
#include "common/fd.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace adist::collector;
using adist::common::unique_fd;
using namespace std::chrono_literals;

namespace {

// A non-blocking listening unix socket in a fresh directory (removed after).
struct listener {
    adist::test::temp_dir dir{"round"};
    std::string path = dir.path + "/s";
    unique_fd fd;
    listener() {
        fd = unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        REQUIRE(fd);
        auto a = address();
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd.get(), 128) == 0);
    }
    sockaddr_un address() const {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, sizeof a.sun_path - 1);
        return a;
    }
    unique_fd connect() const {
        unique_fd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        auto a = address();
        REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        return c;
    }
};

// Waits (at most 5 s) for `done`.
template <typename F> bool eventually(F done) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

} // namespace

TEST_CASE("round_thread: serves what connects, on a thread of its own, with its own caches") {
    listener l;
    name_cache names;
    names.preload();
    std::atomic<int> accepted{0};
    std::atomic<bool> other_thread{true}, own_caches{true};
    const auto caller = std::this_thread::get_id();
    round_thread t;
    t.start(l.fd.get(), names, [&](name_cache& n, ancestry_cache&) {
        if (std::this_thread::get_id() == caller) other_thread = false;
        if (&n == &names) own_caches = false;
        for (int i = 0; i < 256; ++i) {
            unique_fd c(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!c) break;
            ++accepted;
        }
        return true;
    });
    std::vector<unique_fd> clients;
    for (int i = 0; i < 50; ++i) clients.push_back(l.connect());
    CHECK(eventually([&] { return accepted == 50; }));
    CHECK(other_thread);
    CHECK(own_caches);
    auto before = std::chrono::steady_clock::now();
    t.stop();
    CHECK(std::chrono::steady_clock::now() - before < 1s);
    t.stop(); // again: nothing to do
}

TEST_CASE("round_thread: a failing round pauses it (no spin on a readable socket)") {
    listener l;
    name_cache names;
    std::atomic<int> rounds{0};
    round_thread t;
    t.start(l.fd.get(), names, [&](name_cache&, ancestry_cache&) {
        ++rounds;
        return false; // as after EMFILE: the connection stays, the socket stays readable
    });
    auto waiting = l.connect();
    CHECK(eventually([&] { return rounds >= 1; }));
    std::this_thread::sleep_for(500ms);
    t.stop();
    // One pause of 100 ms per failed round: about 6 in 0.5 s, never thousands.
    CHECK(rounds <= 12);
}

TEST_CASE("round_thread: without a socket it does not start") {
    round_thread t;
    name_cache names;
    bool ran = false;
    t.start(-1, names, [&](name_cache&, ancestry_cache&) { return ran = true; });
    t.stop();
    CHECK_FALSE(ran);
}

TEST_CASE("round_thread: a round that throws is logged, and the thread goes on after a pause") {
    listener l;
    name_cache names;
    std::atomic<int> rounds{0};
    std::atomic<int> accepted{0};
    round_thread t;
    t.start(l.fd.get(), names, [&](name_cache&, ancestry_cache&) -> bool {
        if (rounds++ == 0) throw std::bad_alloc();
        unique_fd c(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c) ++accepted;
        return true;
    });
    auto client = l.connect();
    CHECK(eventually([&] { return accepted == 1; }));
    CHECK(rounds >= 2);
    t.stop();
}
