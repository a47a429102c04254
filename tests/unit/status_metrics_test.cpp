// Unit tests for common/status_metrics: the Prometheus text format.
#include "common/status.hpp"

#include <catch2/catch.hpp>

using namespace adist::common;

TEST_CASE("prometheus: HELP and TYPE per family, labels role and host, counters _total") {
    host_status s;
    s.role = "sender";
    s.host = "col\"lector";
    s.connected = true;
    s.unacked = 12;
    s.last_data_ack = wall_time(std::chrono::seconds(1'700'000'000));
    s.counters.bytes = 3 * 1024 * 1024;
    s.counters.files = 2;
    s.counters.connections = 1;
    s.counters.handshake_failures["bad password"] = 4;
    host_status r;
    r.role = "receiver";
    r.host = "web1";
    r.counters.fsyncs = 7;
    r.counters.fsync_ns = 250'000'000;
    r.counters.refusals["files per minute"] = 1;
    auto text = render_status_prometheus({s, r});
    auto has = [&](const std::string& line) {
        INFO(line << "\nin:\n" << text);
        REQUIRE(text.find(line + "\n") != std::string::npos);
    };
    has("# HELP auditdistd_bytes_total bytes shipped and acknowledged (sender) or stored "
        "(receiver)");
    has("# TYPE auditdistd_bytes_total counter");
    has("auditdistd_bytes_total{role=\"sender\",host=\"col\\\"lector\"} 3145728");
    has("auditdistd_bytes_total{role=\"receiver\",host=\"web1\"} 0");
    has("auditdistd_files_total{role=\"sender\",host=\"col\\\"lector\"} 2");
    has("auditdistd_connections_total{role=\"sender\",host=\"col\\\"lector\"} 1");
    has("auditdistd_connected{role=\"sender\",host=\"col\\\"lector\"} 1");
    has("# TYPE auditdistd_connected gauge");
    has("auditdistd_unacked_bytes{role=\"sender\",host=\"col\\\"lector\"} 12");
    has("auditdistd_last_data_ack_timestamp_seconds{role=\"sender\",host=\"col\\\"lector\"} "
        "1700000000");
    has("auditdistd_handshake_failures_total{role=\"sender\",host=\"col\\\"lector\",reason=\"bad "
        "password\"} 4");
    has("auditdistd_refusals_total{role=\"receiver\",host=\"web1\",reason=\"files per minute\"} 1");
    has("auditdistd_fsyncs_total{role=\"receiver\",host=\"web1\"} 7");
    has("auditdistd_fsync_seconds_total{role=\"receiver\",host=\"web1\"} 0.25");
    REQUIRE(text.find("auditdistd_unacked_bytes{role=\"receiver\"") == std::string::npos);
    REQUIRE(text.find("auditdistd_fsyncs_total{role=\"sender\"") == std::string::npos);
    // Every sample line belongs to a family declared before it.
    REQUIRE(text.back() == '\n');
}
