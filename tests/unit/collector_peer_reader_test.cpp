// collector/peer_reader: a round's peers read on two threads; every job
// gets its own peer's trusted block, whichever thread read it.
#include "collector/peer_reader.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace adist::collector;

namespace {

// `n` connected socket pairs whose peer is this process; their jobs.
struct round_of {
    std::vector<adist::common::unique_fd> ends;
    std::vector<peer_reader::job> jobs;
    explicit round_of(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            int sv[2];
            REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
            ends.emplace_back(sv[0]);
            ends.emplace_back(sv[1]);
            auto cred = peer_cred(sv[0]);
            REQUIRE(cred);
            jobs.push_back({sv[0], *cred, {}});
        }
    }
};

// Each job holds what read_peer on this thread alone says of its socket
// (verified needs SO_PEERPIDFD, Linux 6.5: compared, not required).
void check_all_read(const std::vector<peer_reader::job>& jobs) {
    name_cache names;
    ancestry_cache parents;
    for (const auto& j : jobs) {
        auto alone = read_peer(j.fd, names, parents, max_parents, &j.cred);
        CHECK(j.info.pid == ::getpid());
        CHECK(j.info.uid == ::geteuid());
        CHECK(j.info.verified == alone.verified);
        CHECK(j.info.tty == alone.tty);
        CHECK(j.info.parents.size() == alone.parents.size());
        CHECK_FALSE(j.info.parents.empty());
    }
}

} // namespace

TEST_CASE("peer_reader: without its thread, the caller reads every peer") {
    peer_reader r;
    name_cache names;
    ancestry_cache parents;
    round_of round(peer_reader::min_shared * 2);
    r.read(round.jobs, names, parents);
    check_all_read(round.jobs);
}

TEST_CASE("peer_reader: with its thread, small and large rounds, again and again") {
    peer_reader r;
    name_cache names;
    ancestry_cache parents;
    r.start(names);
    for (std::size_t n : {std::size_t(1), peer_reader::min_shared - 1, peer_reader::min_shared,
                          std::size_t(33), std::size_t(100)}) {
        for (int again = 0; again < 3; ++again) {
            round_of round(n);
            r.read(round.jobs, names, parents);
            check_all_read(round.jobs);
        }
    }
    round_of none(0);
    r.read(none.jobs, names, parents); // nothing to do: returns
}
