// Unit tests for common/status_check: the Nagios verdict and `stalled`.
#include "common/status_check.hpp"

#include <catch2/catch.hpp>

using namespace adist::common;
using namespace std::chrono_literals;

namespace {
wall_time at(long secs) {
    return wall_time(std::chrono::seconds(secs));
}

host_status shipping(std::string role, std::string host) {
    host_status h;
    h.role = std::move(role);
    h.host = std::move(host);
    h.connected = true;
    h.since = at(0);
    if (h.role == "sender") h.unacked = 0;
    h.last_data_ack = at(9'000);
    h.last_heard = at(9'990);
    return h;
}
} // namespace

TEST_CASE("check: every host connected and shipping is OK") {
    auto r =
        decide_check({shipping("sender", "c"), shipping("receiver", "web1")}, at(10'000), 600s);
    REQUIRE(r.code == check_code::ok);
    REQUIRE(r.line == "AUDITDISTD OK - 2 hosts connected and shipping | hosts=2 unacked_bytes=0B");
}

TEST_CASE("check: no hosts is UNKNOWN") {
    REQUIRE(decide_check({}, at(0), 600s).code == check_code::unknown);
}

TEST_CASE("check: disconnected is WARNING, then CRITICAL after max-lag") {
    auto h = shipping("receiver", "web1");
    h.connected = false;
    h.since = at(9'700);
    auto r = decide_check({h}, at(10'000), 600s);
    REQUIRE(r.code == check_code::warning);
    REQUIRE(r.line.find("AUDITDISTD WARNING - receiver web1: not connected for 300 s") == 0);
    r = decide_check({h}, at(10'000), 200s);
    REQUIRE(r.code == check_code::critical);
    REQUIRE(r.line.find("AUDITDISTD CRITICAL - receiver web1: not connected for 300 s") == 0);
}

TEST_CASE("check: a sender with data waiting and no data ack for max-lag is stalled") {
    auto h = shipping("sender", "collector");
    h.unacked = 4096;
    h.last_heard = at(9'999); // keepalives answered: still stalled
    REQUIRE_FALSE(is_stalled(h, at(9'500), 600s));
    REQUIRE(is_stalled(h, at(9'700), 600s));
    auto r = decide_check({h}, at(9'700), 600s);
    REQUIRE(r.code == check_code::critical);
    REQUIRE(r.line.find("sender collector: stalled: 4.0 KiB not acknowledged, no data "
                        "acknowledged for 700 s") != std::string::npos);
    REQUIRE(r.line.find("unacked_bytes=4096B") != std::string::npos);
    h.unacked = 0; // nothing to send: idle, not stalled
    REQUIRE_FALSE(is_stalled(h, at(99'999), 600s));
    h.unacked = 1; // never acknowledged: measured from the connection state's change
    h.last_data_ack.reset();
    h.since = at(9'000);
    REQUIRE_FALSE(is_stalled(h, at(9'500), 600s));
    REQUIRE(is_stalled(h, at(9'700), 600s));
    // Idle since the last ack at 9'000, new data sent at 9'650: measured
    // from the send, not from the ack.
    h.last_data_ack = at(9'000);
    h.waiting_since = at(9'650);
    REQUIRE_FALSE(is_stalled(h, at(9'700), 600s));
    REQUIRE(is_stalled(h, at(10'300), 600s));
    REQUIRE(decide_check({h}, at(10'300), 600s).line.find("no data acknowledged for 650 s") !=
            std::string::npos);
    h.waiting_since = at(8'000); // sent before the last ack: that ack counts
    REQUIRE(is_stalled(h, at(9'700), 600s));
    auto r2 = shipping("receiver", "web1");
    r2.last_data_ack = at(0);
    REQUIRE_FALSE(is_stalled(r2, at(99'999), 600s)); // a receiver cannot know what waits
}

TEST_CASE("check: mark_stalled sets the flag by the daemon's max lag") {
    std::vector<host_status> hosts{shipping("sender", "a"), shipping("sender", "b")};
    hosts[1].unacked = 10;
    mark_stalled(hosts, at(9'000 + 601), default_max_lag);
    REQUIRE_FALSE(hosts[0].stalled);
    REQUIRE(hosts[1].stalled);
}

TEST_CASE("check: a recent error is WARNING, an old one is not") {
    auto h = shipping("sender", "c");
    h.last_error = "connection lost: reset\nby peer";
    h.last_error_at = at(9'900);
    auto r = decide_check({h}, at(10'000), 600s);
    REQUIRE(r.code == check_code::warning);
    REQUIRE(r.line.find("error 100 s ago: connection lost: reset by peer") != std::string::npos);
    REQUIRE(r.line.find('\n') == std::string::npos);
    REQUIRE(decide_check({h}, at(20'000), 600s).code == check_code::ok);
}

TEST_CASE("check: a refused host is CRITICAL and the worst host decides") {
    auto ok = shipping("sender", "c");
    auto warn = shipping("receiver", "web2");
    warn.connected = false;
    warn.since = at(9'990);
    auto bad = shipping("receiver", "web1");
    bad.refused = "refused until an operator removes /r/web1/.auditdistd-sync-failed";
    auto r = decide_check({ok, warn, bad}, at(10'000), 600s);
    REQUIRE(r.code == check_code::critical);
    REQUIRE(
        r.line.find("AUDITDISTD CRITICAL - receiver web2: not connected for 10 s; receiver web1: "
                    "refused: refused until") == 0);
}

TEST_CASE("check: a sender lagging past max_lag_bytes is CRITICAL") {
    auto lagging = shipping("sender", "archive");
    lagging.lagging = "5000 bytes behind (5000 not acknowledged), more than max_lag_bytes 1024";
    auto r = decide_check({shipping("sender", "c"), lagging}, at(10'000), 600s);
    REQUIRE(r.code == check_code::critical);
    CHECK(r.line.find("sender archive: lagging: 5000 bytes behind") != std::string::npos);
    CHECK(r.line.find("sender c:") == std::string::npos);
}

TEST_CASE("status socket: root always, a member of status_group too, nobody else") {
    REQUIRE(may_read_status(0, 0, {}, std::nullopt));
    REQUIRE(may_read_status(0, 5, {}, 1234u));
    REQUIRE_FALSE(may_read_status(65534, 1234, {1234}, std::nullopt)); // no status_group: root only
    REQUIRE(may_read_status(65534, 1234, {}, 1234u));                  // primary group
    REQUIRE(may_read_status(65534, 65534, {10, 1234}, 1234u));         // supplementary group
    REQUIRE_FALSE(may_read_status(65534, 65534, {10, 11}, 1234u));
}
