// collector/ancestry_cache: the parent chain read from /proc, reused while
// the process lives, read again once it is gone (its pid may be reused).
#include "collector/ancestry_cache.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace adist::collector;
using namespace std::chrono_literals;

TEST_CASE("ancestry_cache: our own chain, then the same from the cache") {
    ancestry_cache cache;
    auto now = std::chrono::steady_clock::now();
    std::vector<trusted_info::parent> first, second;
    cache.parents_of(::getpid(), 8, first, now);
    REQUIRE_FALSE(first.empty());
    CHECK(first[0].pid == ::getpid());
    CHECK(first[0].uid == ::geteuid());
    if (first.size() > 1) CHECK(first[1].pid == ::getppid());
    auto misses = cache.misses();
    cache.parents_of(::getpid(), 8, second, now + 10ms);
    CHECK(cache.misses() == misses); // every process still lives: no /proc read
    CHECK(cache.hits() >= first.size());
    REQUIRE(second.size() == first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        CHECK(second[i].pid == first[i].pid);
        CHECK(second[i].comm == first[i].comm);
    }
    // Past the ttl, read again.
    std::vector<trusted_info::parent> later;
    cache.parents_of(::getpid(), 1, later, now + 2s);
    CHECK(cache.misses() == misses + 1);
}

TEST_CASE("ancestry_cache: a process that exited is not taken from the cache") {
    ancestry_cache cache;
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    auto now = std::chrono::steady_clock::now();
    std::vector<trusted_info::parent> chain;
    cache.parents_of(child, 2, chain, now);
    REQUIRE(chain.size() == 2);
    CHECK(chain[0].pid == child);
    CHECK(chain[1].pid == ::getpid());
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    // Its pid names no process now (or, reused, another one): read again.
    auto misses = cache.misses();
    std::vector<trusted_info::parent> after;
    cache.parents_of(child, 2, after, now + 1ms);
    CHECK(cache.misses() == misses + 1);
    CHECK((after.empty() || after[0].pid == child));
    if (!after.empty()) CHECK(after.size() <= 2);
}

TEST_CASE("ancestry_cache: the peer's pidfd is asked in the chain's poll") {
    ancestry_cache cache;
    auto now = std::chrono::steady_clock::now();
    std::vector<trusted_info::parent> chain;
    // No pidfd: never alive.
    CHECK_FALSE(cache.parents_of(::getpid(), 2, chain, now, -1));
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    adist::common::unique_fd pidfd(int(::syscall(SYS_pidfd_open, child, 0)));
    if (!pidfd) ::kill(child, SIGKILL);
    REQUIRE(pidfd);
    chain.clear();
    // Cold, then from the cache: a live peer either way.
    CHECK(cache.parents_of(::getpid(), 2, chain, now, pidfd.get()));
    chain.clear();
    CHECK(cache.parents_of(::getpid(), 2, chain, now + 1ms, pidfd.get()));
    CHECK(chain.size() <= 2);
    CHECK((!chain.empty() && chain[0].pid == ::getpid()));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    chain.clear();
    CHECK_FALSE(cache.parents_of(::getpid(), 2, chain, now + 2ms, pidfd.get()));
    REQUIRE_FALSE(chain.empty()); // the chain itself is still read
    CHECK(chain[0].pid == ::getpid());
}
