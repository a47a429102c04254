// Unit tests for common/status: the status renderings.
#include "common/status.hpp"

#include <catch2/catch.hpp>

using namespace adist::common;

namespace {
wall_time at(long secs) { return wall_time(std::chrono::seconds(secs)); }
} // namespace

TEST_CASE("status JSON: every field, nulls for what is unknown, strings escaped") {
    host_status s;
    s.role = "sender";
    s.host = "col\"lector\n";
    s.remote = "tls://192.0.2.1:7878";
    s.connected = true;
    s.since = at(1'700'000'000);
    s.file = "20231114221320.not_terminated";
    s.offset = 12345;
    s.unacked = 678;
    s.last_data_ack = at(1'700'000'010);
    s.last_heard = at(1'700'000'020);
    s.waiting_since = at(1'700'000'015);
    s.counters.bytes = 5;
    s.counters.files = 1;
    s.counters.connections = 2;
    s.counters.refusals["limit"] = 3;
    s.receipt = "entry 4, signed 2023-11-14T22:13:20Z";
    host_status r;
    r.role = "receiver";
    r.host = "web1";
    r.last_error = "OPEN refused (cannot create trail file): \x01";
    r.last_error_at = at(0);
    r.stalled = true;
    r.counters.handshake_failures["bad password"] = 1;
    r.counters.fsyncs = 4;
    r.counters.fsync_ns = 1'500'000'000;
    auto json = render_status_json({s, r});
    REQUIRE(json ==
            "{\"hosts\":[{\"role\":\"sender\",\"host\":\"col\\\"lector\\n\",\"remote\":"
            "\"tls://192.0.2.1:7878\",\"connected\":true,\"since\":\"2023-11-14T22:13:20Z\","
            "\"file\":\"20231114221320.not_terminated\",\"offset\":12345,\"unacked_bytes\":678,"
            "\"last_ack\":\"2023-11-14T22:13:30Z\",\"last_data_ack\":\"2023-11-14T22:13:30Z\","
            "\"last_heard\":\"2023-11-14T22:13:40Z\",\"waiting_since\":\"2023-11-14T22:13:35Z\","
            "\"last_error\":null,\"last_error_at\":null,"
            "\"refused\":null,\"stalled\":false,\"lagging\":null,"
            "\"receipt\":\"entry 4, signed 2023-11-14T22:13:20Z\",\"receipt_alert\":null,\"counters\":{\"bytes\":5,\"files\":1,"
            "\"connections\":2,\"handshake_failures\":{},\"refusals\":{\"limit\":3},"
            "\"fsyncs\":0,\"fsync_seconds\":0E0,\"missed_files\":0}},"
            "{\"role\":\"receiver\",\"host\":\"web1\",\"remote\":\"\",\"connected\":false,"
            "\"since\":null,\"file\":null,\"offset\":0,\"unacked_bytes\":null,\"last_ack\":null,"
            "\"last_data_ack\":null,\"last_heard\":null,\"waiting_since\":null,"
            "\"last_error\":\"OPEN refused (cannot create trail file): \\u0001\","
            "\"last_error_at\":\"1970-01-01T00:00:00Z\",\"refused\":null,\"stalled\":true,"
            "\"lagging\":null,\"receipt\":null,\"receipt_alert\":null,"
            "\"counters\":{\"bytes\":0,\"files\":0,\"connections\":0,"
            "\"handshake_failures\":{\"bad password\":1},\"refusals\":{},\"fsyncs\":4,"
            "\"fsync_seconds\":1.5E0,\"missed_files\":0}}]}\n");
}

TEST_CASE("status text: one block per host with ages") {
    host_status s;
    s.role = "sender";
    s.host = "collector";
    s.remote = "tls://192.0.2.1:7878";
    s.connected = false;
    s.since = at(1000);
    s.unacked = 3 * 1024 * 1024 + 512 * 1024;
    auto text = render_status_text({s}, at(1000 + 150));
    REQUIRE(text == "sender collector (tls://192.0.2.1:7878): not connected since "
                    "1970-01-01T00:16:40Z (2 min ago)\n"
                    "  file:        -\n"
                    "  unacked:     3.5 MiB\n"
                    "  data acked:  -\n"
                    "  last heard:  -\n"
                    "  last error:  -\n");
    REQUIRE(render_status_text({}, at(0)) == "no hosts configured\n");
}

TEST_CASE("status: a host refused until an operator acts") {
    host_status r;
    r.role = "receiver";
    r.host = "web1";
    r.remote = "127.0.0.1";
    r.refused = "refused until an operator removes /r/web1/.auditdistd-sync-failed";
    auto json = render_status_json({r});
    REQUIRE(json.find("\"refused\":\"refused until an operator removes "
                      "/r/web1/.auditdistd-sync-failed\"") != std::string::npos);
    auto text = render_status_text({r}, at(0));
    REQUIRE(text.find("\n  REFUSED:     refused until an operator removes "
                      "/r/web1/.auditdistd-sync-failed\n") != std::string::npos);
}

TEST_CASE("format_bytes") {
    REQUIRE(format_bytes(0) == "0 B");
    REQUIRE(format_bytes(1023) == "1023 B");
    REQUIRE(format_bytes(1024) == "1.0 KiB");
    REQUIRE(format_bytes(5ull << 30) == "5.0 GiB");
}

TEST_CASE("status text: data acknowledged and heard from are separate; a stalled host says so") {
    host_status s;
    s.role = "sender";
    s.host = "collector";
    s.remote = "r";
    s.connected = true;
    s.since = at(0);
    s.last_data_ack = at(100);
    s.last_heard = at(990);
    s.stalled = true;
    auto text = render_status_text({s}, at(1000));
    REQUIRE(text.find("  data acked:  1970-01-01T00:01:40Z (15 min ago)\n") != std::string::npos);
    REQUIRE(text.find("  last heard:  1970-01-01T00:16:30Z (10 s ago)\n") != std::string::npos);
    REQUIRE(text.find("  STALLED:     ") != std::string::npos);
}

TEST_CASE("status: a lagging fan-out receiver and its missed trails") {
    host_status s;
    s.role = "sender";
    s.host = "archive";
    s.lagging = "2048 bytes behind (0 not acknowledged, 2048 removed before it got them), more "
                "than max_lag_bytes 1024";
    s.counters.missed_files = 2;
    auto json = render_status_json({s});
    CHECK(json.find("\"lagging\":\"2048 bytes behind (0 not acknowledged, 2048 removed") !=
          std::string::npos);
    CHECK(json.find("\"missed_files\":2}") != std::string::npos);
    auto text = render_status_text({s}, at(0));
    CHECK(text.find("  LAGGING:     2048 bytes behind") != std::string::npos);
    CHECK(text.find("  missed:      2 trail(s) removed before this optional receiver got them\n") !=
          std::string::npos);
    auto prom = render_status_prometheus({s});
    CHECK(prom.find("auditdistd_lagging{role=\"sender\",host=\"archive\"} 1\n") !=
          std::string::npos);
    CHECK(prom.find("auditdistd_missed_files_total{role=\"sender\",host=\"archive\"} 2\n") !=
          std::string::npos);
}
