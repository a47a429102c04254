// Unit tests for the I/O log files and the gap decider of `auditdistd
// sudo-extract` (daemon/sudo_iolog.cpp).
#include "daemon/sudo_iolog.hpp"

#include <catch2/catch.hpp>

using namespace adist::daemon;

namespace {
iolog_info info() {
    iolog_info i;
    i.start_sec = 1796453663;
    i.start_nsec = 883102423;
    i.user_info = {"user=root", "tty=/dev/pts/0", "cwd=/tmp", "lines=24", "cols=80", "host=vm"};
    i.command_info = {"command=/usr/bin/sh", "runas_uid=65534", "runas_gid=65534"};
    i.argv = {"sh", "-c", "echo hello"};
    i.runas_user = "nobody";
    return i;
}
extract_record rec(std::string type, std::uint64_t seq, std::int64_t t_s) {
    extract_record r;
    r.type = std::move(type);
    r.seq = seq;
    r.time_ns = t_s * 1000000000;
    return r;
}
} // namespace

TEST_CASE("iolog: the legacy log file as sudoers writes it") {
    CHECK(iolog_log_text(info()) ==
          "1796453663:root:nobody::/dev/pts/0:24:80\n/tmp\n/usr/bin/sh -c echo hello\n");
    auto i = info();
    i.user_info[0] = "user=a:b\nc";
    CHECK(iolog_log_text(i).starts_with("1796453663:a_b_c:nobody:"));
}

TEST_CASE("iolog: log.json carries the submit and run facts") {
    auto j = iolog_log_json(info());
    CHECK(j.find("\"seconds\": 1796453663") != std::string::npos);
    CHECK(j.find("\"submituser\": \"root\"") != std::string::npos);
    CHECK(j.find("\"runuser\": \"nobody\"") != std::string::npos);
    CHECK(j.find("\"runuid\": 65534") != std::string::npos);
    CHECK(j.find("\"lines\": 24") != std::string::npos);
    auto i = info();
    i.command_info[1] = "runas_uid=1,2"; // not a number: left out
    CHECK(iolog_log_json(i).find("\"runuid\"") == std::string::npos);
}

TEST_CASE("iolog: timing lines") {
    CHECK(timing_line(iolog_event::ttyout, 15038675, "7") == "4 0.015038675 7\n");
    CHECK(timing_line(iolog_event::winsize, 2000000001, "30 100") == "5 2.000000001 30 100\n");
    CHECK(stream_event("stdin") == iolog_event::stdin_);
    CHECK(stream_event("ttyin") == iolog_event::ttyin);
    CHECK_FALSE(stream_event("log"));
}

TEST_CASE("iolog: every gap is named") {
    extract_state s;
    CHECK(record_gaps(s, rec("header", 0, 100), 60).empty());
    s.next_seq = 5;
    s.last_time_ns = 100'000'000'000;
    CHECK(record_gaps(s, rec("heartbeat", 5, 150), 60).empty());
    auto g = record_gaps(s, rec("heartbeat", 7, 150), 60);
    REQUIRE(g.size() == 1);
    CHECK(g[0] == "record sequence jumps from 5 to 7");
    g = record_gaps(s, rec("heartbeat", 5, 221), 60);
    REQUIRE(g.size() == 1);
    CHECK(g[0].starts_with("no record (heartbeat missing) for 121 s"));
    auto io = rec("io", 5, 101);
    io.session = "s1";
    io.sseq = 3;
    io.stream = "ttyout";
    io.offset = 10;
    CHECK(record_gaps(s, io, 60) ==
          std::vector<std::string>{"session s1: a io record of a session whose open was not seen"});
    s.sessions["s1"] = extract_session{3, 0, {0, 0, 0, 0, 10}};
    CHECK(record_gaps(s, io, 60).empty());
    io.sseq = 4;
    io.offset = 12;
    g = record_gaps(s, io, 60);
    REQUIRE(g.size() == 2);
    CHECK(g[0] == "session s1: sequence jumps from 3 to 4");
    CHECK(g[1] == "session s1: ttyout offset 12 does not follow 10");
}

TEST_CASE("iolog: the resume state reads back") {
    extract_state s;
    s.file_start = "20261205065400";
    s.file_offset = 1234;
    s.next_seq = 77;
    s.last_time_ns = 99;
    s.sessions["0123456789abcdef0123456789abcdef"] = extract_session{4, 5, {1, 2, 3, 4, 5}};
    auto back = parse_state(state_text(s));
    REQUIRE(back);
    CHECK(back->file_start == s.file_start);
    CHECK(back->file_offset == 1234);
    CHECK(back->next_seq == 77u);
    CHECK(back->sessions.at("0123456789abcdef0123456789abcdef").offsets[4] == 5);
    CHECK_FALSE(parse_state("something else"));
    CHECK_FALSE(parse_state("adist-sudo-extract 1\nfile - x\n"));
}
