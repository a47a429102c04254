// Unit tests for the collector's status (collector/stream_status) and for
// how `auditdistd status` puts the worker's and the collector's answers
// together (daemon/status_merge, daemon/control's socket name).
#include "collector/stream_status.hpp"
#include "daemon/control.hpp"
#include "daemon/status_merge.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace adist;
using collector::stream_status;

namespace {
common::wall_time at(long secs) {
    return common::wall_time(std::chrono::seconds(secs));
}

stream_status healthy(std::string name) {
    stream_status s;
    s.stream = std::move(name);
    s.socket = "/run/auditdistd/collect.sock";
    s.directory = "/var/audit/commands";
    s.file = "20261206000000.not_terminated";
    s.writing = true;
    s.records = 10;
    s.bytes = 4096;
    s.accepted = 8;
    s.suppressed = 1;
    s.last_record = at(1'000);
    return s;
}
} // namespace

TEST_CASE("collector status JSON: every field, null for what is not there, escaped") {
    auto s = healthy("commands");
    s.file = "a\"b\n";
    stream_status t;
    t.stream = "sudo";
    auto v = boost::json::parse(collector::render_collector_json({s, t}));
    auto& list = v.at("collector").as_array();
    REQUIRE(list.size() == 2);
    auto& a = list[0].as_object();
    CHECK(a.at("stream") == "commands");
    CHECK(a.at("file") == "a\"b\n");
    CHECK(a.at("writing") == true);
    CHECK(a.at("records") == 10);
    CHECK(a.at("bytes") == 4096);
    CHECK(a.at("accepted") == 8);
    CHECK(a.at("suppressed") == 1);
    CHECK(a.at("tampers") == 0);
    CHECK(a.at("last_record") == "1970-01-01T00:16:40Z");
    CHECK(a.at("last_error").is_null());
    CHECK(a.at("tamper_alert").is_null());
    auto& b = list[1].as_object();
    CHECK(b.at("file").is_null());
    CHECK(b.at("last_record").is_null());
    CHECK(b.at("writing") == false);
}

TEST_CASE("collector status text: a block per stream, the alert when there is one") {
    auto s = healthy("commands");
    auto text = collector::render_collector_text({s}, at(1'003));
    CHECK(text.find("collector commands (/run/auditdistd/collect.sock): writing\n") == 0);
    CHECK(text.find("/var/audit/commands/20261206000000.not_terminated") != std::string::npos);
    CHECK(text.find("10 records, 4.0 KiB since the start") != std::string::npos);
    CHECK(text.find("8 acknowledged, 1 suppressed over the rate limit") != std::string::npos);
    CHECK(text.find("(3 s ago)") != std::string::npos);
    CHECK(text.find("TAMPERED") == std::string::npos);
    s.writing = false;
    s.tamper_alert = "x: owner changed";
    s.tampers = 2;
    auto sudo = healthy("sudo");
    sudo.records = 1;
    text = collector::render_collector_text({s, sudo}, at(1'003));
    CHECK(text.find("NOT WRITING") != std::string::npos);
    CHECK(text.find("TAMPERED:    x: owner changed (2 alert(s) since the start)") !=
          std::string::npos);
    CHECK(text.find("sessions:    8 opened\n") != std::string::npos);
    CHECK(text.find("1 record, ") != std::string::npos);
}

TEST_CASE("collector status Prometheus: own families, one sample per stream") {
    auto text = collector::render_collector_prometheus({healthy("commands"), healthy("sudo")});
    CHECK(text.find("# TYPE auditdistd_collector_records_total counter\n") != std::string::npos);
    CHECK(text.find("auditdistd_collector_records_total{stream=\"commands\"} 10\n") !=
          std::string::npos);
    CHECK(text.find("auditdistd_collector_suppressed_total{stream=\"sudo\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("auditdistd_collector_writing{stream=\"sudo\"} 1\n") != std::string::npos);
    // No family of the worker's (auditdistd_<name> without collector_).
    std::size_t pos = 0;
    while ((pos = text.find("# TYPE ", pos)) != std::string::npos) {
        pos += 7;
        CHECK(text.compare(pos, 21, "auditdistd_collector_") == 0);
    }
}

TEST_CASE("collector check: the worst stream decides") {
    using common::check_code;
    auto now = at(10'000);
    std::chrono::seconds lag(600);
    auto ok = collector::decide_collector_check({healthy("commands"), healthy("sudo")}, now, lag);
    CHECK(ok.code == check_code::ok);
    CHECK(ok.line == "AUDITDISTD OK - collector: 2 stream(s) writing | collector_records=20");
    CHECK(collector::decide_collector_check({}, now, lag).code == check_code::unknown);

    auto old_error = healthy("commands");
    old_error.last_error = "cannot sync";
    old_error.last_error_at = at(10'000 - 601);
    CHECK(collector::decide_collector_check({old_error}, now, lag).code == check_code::ok);
    auto recent = old_error;
    recent.last_error_at = at(10'000 - 5);
    auto w = collector::decide_collector_check({recent}, now, lag);
    CHECK(w.code == check_code::warning);
    CHECK(w.line.find("commands error 5 s ago: cannot sync") != std::string::npos);

    auto tampered = healthy("commands");
    tampered.tamper_alert = "f: owner\nchanged | forged=1";
    tampered.last_error_at = at(0); // long ago: the alert stays anyway
    auto t = collector::decide_collector_check({tampered}, now, lag);
    CHECK(t.code == check_code::warning);
    CHECK(t.line.find('\n') == std::string::npos);
    // One '|' only: the one before the perfdata.
    CHECK(t.line.find('|') == t.line.rfind('|'));
    CHECK(t.line.find(" | collector_records=") == t.line.rfind('|') - 1);

    auto stopped = healthy("sudo");
    stopped.writing = false;
    stopped.last_error = "cannot write";
    auto c = collector::decide_collector_check({tampered, stopped}, now, lag);
    CHECK(c.code == check_code::critical);
    CHECK(c.line.find("sudo not writing: cannot write") != std::string::npos);
    CHECK(c.line.find("commands tampered with") != std::string::npos);
}

TEST_CASE("collector status socket: it answers status json only") {
    std::vector<stream_status> s{healthy("commands")};
    CHECK(collector::respond_collector_status("status json", s) ==
          collector::render_collector_json(s));
    for (const char* other : {"status text", "status check 600", "status prometheus", ""})
        CHECK(collector::respond_collector_status(other, s).rfind("error: unknown request", 0) ==
              0);
}

TEST_CASE("collector status JSON read back: a round trip, and nothing else") {
    auto a = healthy("commands");
    a.last_error = "cannot sync: EIO";
    a.last_error_at = at(1'700'000'000);
    a.tamper_alert = "f: owner changed";
    a.tampers = 3;
    stream_status b;
    b.stream = "sudo";
    b.socket = "/run/s";
    b.directory = "/d";
    auto parsed = collector::parse_collector_json(collector::render_collector_json({a, b}));
    REQUIRE(parsed);
    REQUIRE(parsed->size() == 2);
    CHECK(collector::render_collector_json(*parsed) == collector::render_collector_json({a, b}));
    CHECK((*parsed)[0].last_error_at == a.last_error_at);
    CHECK_FALSE((*parsed)[1].last_record);

    auto valid = boost::json::parse(collector::render_collector_json({a})).as_object();
    auto with = [&](const char* key, boost::json::value v) {
        auto o = valid;
        o["collector"].as_array()[0].as_object()[key] = std::move(v);
        return boost::json::serialize(o);
    };
    auto without = [&](const char* key) {
        auto o = valid;
        o["collector"].as_array()[0].as_object().erase(key);
        return boost::json::serialize(o);
    };
    CHECK(collector::parse_collector_json(boost::json::serialize(valid)));
    for (const char* key :
         {"stream", "socket", "directory", "file", "writing", "records", "bytes", "accepted",
          "suppressed", "tampers", "last_record", "last_error", "last_error_at", "tamper_alert"})
        CHECK_FALSE(collector::parse_collector_json(without(key)));
    CHECK_FALSE(collector::parse_collector_json(with("records", -1)));
    CHECK_FALSE(collector::parse_collector_json(with("records", 1.5)));
    CHECK_FALSE(collector::parse_collector_json(with("writing", 1)));
    CHECK_FALSE(collector::parse_collector_json(with("stream", nullptr)));
    CHECK_FALSE(collector::parse_collector_json(with("last_record", "yesterday")));
    CHECK_FALSE(collector::parse_collector_json(with("last_record", "2026-02-31T00:00:00Z")));
    CHECK_FALSE(collector::parse_collector_json(with("last_record", "9999-12-31T23:59:59Z")));
    // No control character in any string (a line break would print a row
    // of its own, an escape reach the terminal); the name is a word.
    for (const char* bad :
         {"a\nsender x (y): connected", "a\x1b[2J", "a\r", "a\x7f", "a\xc2\x9b"}) {
        CHECK_FALSE(collector::parse_collector_json(with("last_error", bad)));
        CHECK_FALSE(collector::parse_collector_json(with("file", bad)));
    }
    CHECK(collector::parse_collector_json(with("last_error", "caf\xc3\xa9 \xe2\x82\xac | x")));
    for (const char* bad : {"", "Commands", "a b", "sudo1", "x\"y"})
        CHECK_FALSE(collector::parse_collector_json(with("stream", bad)));
    CHECK_FALSE(collector::parse_collector_json(
        with("file", boost::json::string(collector::max_status_text + 1, 'x'))));
    CHECK(collector::parse_collector_json(
        with("file", boost::json::string(collector::max_status_text, 'x'))));
    CHECK(collector::parse_collector_json(with("file", nullptr)));
    std::vector<stream_status> many(collector::max_streams + 1, healthy("x"));
    CHECK_FALSE(collector::parse_collector_json(collector::render_collector_json(many)));
    for (const char* bad :
         {"", "[]", "{}", "{\"collector\":{}}", "{\"collector\":[1]}", "not json"})
        CHECK_FALSE(collector::parse_collector_json(bad));
}

TEST_CASE("wall times read back") {
    CHECK(common::parse_wall_time("2026-12-06T23:19:22Z") == at(1'796'599'162));
    CHECK(common::parse_wall_time("1970-01-01T00:00:00Z") == at(0));
    CHECK(common::parse_wall_time("2200-12-31T23:59:59Z"));
    for (const char* bad : {"", "2026-12-06 23:19:22Z", "2026-12-06T23:19:22",
                            "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-12-06T24:00:00Z",
                            "+026-12-06T23:19:22Z", "2026-12-06T23:19:22Z ", "1969-12-31T23:59:59Z",
                            "2201-01-01T00:00:00Z", "9999-12-31T23:59:59Z"})
        CHECK_FALSE(common::parse_wall_time(bad));
}

TEST_CASE("the collector's status socket sits next to the worker's") {
    CHECK(daemon::collector_socket_for("/var/run/auditdistd.sock") ==
          "/var/run/auditdistd-collector.sock");
    CHECK(daemon::collector_socket_for("/tmp/status") == "/tmp/status-collector.sock");
    CHECK(daemon::collector_socket_for("none") == "none");
    CHECK(daemon::collector_socket_for("") == "");
}

TEST_CASE("status JSON of both: the collector's list joins the hosts', or its error does") {
    std::vector<stream_status> streams{healthy("commands")};
    auto merged =
        daemon::merge_collector_json("{\"hosts\":[{\"role\":\"sender\"}]}\n", streams, "");
    REQUIRE(merged);
    auto v = boost::json::parse(*merged).as_object();
    CHECK(v.at("hosts").as_array().size() == 1);
    CHECK(boost::json::serialize(v.at("collector")) ==
          boost::json::serialize(
              boost::json::parse(collector::render_collector_json(streams)).at("collector")));
    auto failed = daemon::merge_collector_json("{\"hosts\":[]}", std::nullopt, "no answer \"x\"");
    REQUIRE(failed);
    CHECK(*failed == "{\"hosts\":[],\"collector_error\":\"no answer \\\"x\\\"\"}\n");
    // The worker's answer must be the hosts' object.
    CHECK_FALSE(daemon::merge_collector_json("not json", streams, ""));
    CHECK_FALSE(daemon::merge_collector_json("{}", streams, ""));
    CHECK_FALSE(daemon::merge_collector_json("[1]", streams, ""));
    // 1e999 parses as infinity, which would serialize as no JSON number.
    CHECK_FALSE(daemon::merge_collector_json("{\"hosts\":[1e999]}", streams, ""));
    // A collector list in the worker's answer is never kept as the collector's.
    auto own = daemon::merge_collector_json("{\"hosts\":[],\"collector\":[1]}", std::nullopt, "e");
    REQUIRE(own);
    CHECK(*own == "{\"hosts\":[],\"collector_error\":\"e\"}\n");
}

TEST_CASE("status check of both: the worse code, both texts, both perfdata") {
    const std::string ok_hosts =
        "check 0 AUDITDISTD OK - 1 hosts connected and shipping | hosts=1 unacked_bytes=0B\n";
    const std::string ok_coll =
        "check 0 AUDITDISTD OK - collector: 2 stream(s) writing | collector_records=5\n";
    CHECK(daemon::combine_check_answers(ok_hosts, ok_coll) ==
          "check 0 AUDITDISTD OK - 1 hosts connected and shipping; collector: 2 stream(s) writing"
          " | hosts=1 unacked_bytes=0B collector_records=5\n");
    const std::string warn_coll =
        "check 1 AUDITDISTD WARNING - collector: commands tampered with: f | collector_records=5\n";
    CHECK(daemon::combine_check_answers(ok_hosts, warn_coll)
              .rfind("check 1 AUDITDISTD WARNING - 1 hosts", 0) == 0);
    const std::string crit_hosts =
        "check 2 AUDITDISTD CRITICAL - sender a: stalled | hosts=1 unacked_bytes=9B\n";
    CHECK(daemon::combine_check_answers(crit_hosts, warn_coll)
              .rfind("check 2 AUDITDISTD CRITICAL - sender a: stalled; collector:", 0) == 0);
    // UNKNOWN ranks below WARNING and above OK.
    const std::string unknown_coll =
        "check 3 AUDITDISTD UNKNOWN - collector: no stream | collector_records=0\n";
    CHECK(daemon::combine_check_answers(ok_hosts, unknown_coll).rfind("check 3 ", 0) == 0);
    const std::string warn_hosts =
        "check 1 AUDITDISTD WARNING - sender a: not connected for 3 s | hosts=1 unacked_bytes=0B\n";
    CHECK(daemon::combine_check_answers(warn_hosts, unknown_coll).rfind("check 1 ", 0) == 0);
    // A machine that only collects: the collector's verdict alone.
    CHECK(daemon::combine_check_answers(
              "check 3 AUDITDISTD UNKNOWN - no hosts configured | hosts=0 unacked_bytes=0B\n",
              ok_coll) == ok_coll);
    // A collector answer that is not a check line is UNKNOWN, never OK.
    for (const char* bad : {"", "check 0 no dash\n", "check 9 AUDITDISTD OK - x\n",
                            "check 0 AUDITDISTD OK - x", "check 0 AUDITDISTD OK - a\nb\n"}) {
        auto r = daemon::combine_check_answers(ok_hosts, bad);
        CHECK(r.rfind("check 3 AUDITDISTD UNKNOWN - 1 hosts connected and shipping; collector: "
                      "unexpected answer",
                      0) == 0);
    }
    // A malformed worker answer is UNKNOWN too, the collector's verdict kept.
    CHECK(daemon::combine_check_answers("garbage", ok_coll) ==
          "check 3 AUDITDISTD UNKNOWN - unexpected answer from the daemon; collector: 2 stream(s) "
          "writing | collector_records=5\n");
    CHECK(daemon::combine_check_answers("check 0 AUDITDISTD OK no dash\n", warn_coll)
              .rfind("check 1 ", 0) == 0);
}

TEST_CASE("collector Prometheus: label values escaped") {
    auto text = collector::render_collector_prometheus({healthy("a\"b\\c\nd")});
    CHECK(text.find("auditdistd_collector_records_total{stream=\"a\\\"b\\\\c\\nd\"} 10\n") !=
          std::string::npos);
}

TEST_CASE("status text for a terminal: no control characters but newline and tab") {
    CHECK(daemon::printable_text("a\tb\nc\x1b]0;x\x07\x7f\r") == "a\tb\nc?]0;x???");
    CHECK(daemon::printable_text("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
    CHECK(daemon::printable_text("a\xc2\x9b"
                                 "31mb\xc2") == "a?31mb\xc2"); // C1 CSI
}
