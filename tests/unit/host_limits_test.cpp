// Unit tests for receiver/host_limits (the per-host file bucket and byte cap,
// time as a parameter) and for the limit statements of the configuration
// (common/config_limits, through parse_config).
#include "receiver/host_limits.hpp"

#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>

using namespace adist;
using namespace std::chrono_literals;
using receiver::file_bucket;
using receiver::limit_refusal;

namespace {

common::receiver_limits limits(unsigned per_minute, unsigned burst, std::uint64_t cap = 0) {
    common::receiver_limits l;
    l.max_files_per_minute = per_minute;
    l.max_files_burst = burst;
    l.max_host_bytes = cap;
    return l;
}

const auto t0 = file_bucket::clock::time_point{} + 1000s;

std::variant<common::config, common::config_error> parse_receiver(const std::string& section,
                                                                  const std::string& host = "") {
    return common::parse_config("receiver {\n" + section + "\n host web1 {\n  remote 10.0.0.1\n"
                                "  password s3cret\n" + host + "\n }\n host web2 {\n"
                                "  remote 10.0.0.2\n  password s3cret\n }\n}\n",
                                "test.conf", "myhost");
}

} // namespace

TEST_CASE("file_bucket: a backlog of the burst drains at once, then the rate holds") {
    auto l = limits(60, 1000);
    file_bucket b;
    for (int i = 0; i < 1000; ++i) REQUIRE(b.take(l, t0)); // 1,000 files after an outage
    REQUIRE_FALSE(b.take(l, t0));
    REQUIRE_FALSE(b.take(l, t0 + 500ms));
    REQUIRE(b.take(l, t0 + 1s)); // one a second
    REQUIRE_FALSE(b.take(l, t0 + 1500ms));
    // A flood of 1,300 a second for a minute gets about 60 files through.
    int created = 0;
    for (int i = 0; i < 1300 * 60; ++i) {
        created += b.take(l, t0 + 2s + std::chrono::microseconds(i * 1'000'000LL / 1300)) ? 1 : 0;
    }
    REQUIRE(created >= 59);
    REQUIRE(created <= 61);
}

TEST_CASE("file_bucket: refills up to the burst, not beyond; 0 means no limit") {
    auto l = limits(120, 10);
    file_bucket b;
    for (int i = 0; i < 10; ++i) REQUIRE(b.take(l, t0));
    REQUIRE(b.level(l, t0 + 1h) == Approx(10)); // a quiet hour refills only the burst
    int created = 0;
    for (int i = 0; i < 100; ++i) created += b.take(l, t0 + 1h) ? 1 : 0;
    REQUIRE(created == 10);
    file_bucket unlimited;
    for (int i = 0; i < 100000; ++i) REQUIRE(unlimited.take(limits(0, 1), t0));
    REQUIRE_FALSE(b.take(l, t0 - 1h)); // time going back refills nothing
}

TEST_CASE("decide_open / decide_append: the byte cap, and a refused file costs no token") {
    auto l = limits(60, 2, 1 << 20);
    file_bucket b;
    receiver::host_usage usage{(1 << 20) - 100};
    REQUIRE(receiver::decide_open(b, l, usage, t0) == limit_refusal::host_bytes);
    REQUIRE(b.level(l, t0) == Approx(2));
    REQUIRE(receiver::decide_append(l, usage, 100) == limit_refusal::none);
    REQUIRE(receiver::decide_append(l, usage, 101) == limit_refusal::host_bytes);
    usage.bytes = 0;
    REQUIRE(receiver::decide_open(b, l, usage, t0) == limit_refusal::none);
    REQUIRE(receiver::decide_open(b, l, usage, t0) == limit_refusal::none);
    REQUIRE(receiver::decide_open(b, l, usage, t0) == limit_refusal::files_per_minute);
    REQUIRE(receiver::decide_append(limits(60, 2, 0), {~std::uint64_t{0} / 2}, 65536) ==
            limit_refusal::none); // no cap
}

TEST_CASE("config: limit statements, defaults, section values and per-host overrides") {
    auto defaults = std::get<common::config>(parse_receiver(""));
    REQUIRE(defaults.receivers[0].limits.max_files_per_minute == 60);
    REQUIRE(defaults.receivers[0].limits.max_files_burst == 2000);
    REQUIRE(defaults.receivers[0].limits.max_host_bytes == 0);
    auto cfg = std::get<common::config>(parse_receiver(
        " max_files_per_minute 10\n max_files_burst 50\n max_host_bytes 20G",
        "  max_files_per_minute 0\n  max_host_bytes \"512K\""));
    REQUIRE(cfg.receivers[0].limits.max_files_per_minute == 0);
    REQUIRE(cfg.receivers[0].limits.max_files_burst == 50);
    REQUIRE(cfg.receivers[0].limits.max_host_bytes == 512 * 1024);
    REQUIRE(cfg.receivers[1].limits.max_files_per_minute == 10);
    REQUIRE(cfg.receivers[1].limits.max_host_bytes == 20ULL << 30);
    // Given after the hosts, a section value still applies to them.
    auto late = std::get<common::config>(common::parse_config(
        "receiver {\n host web1 {\n  remote 10.0.0.1\n  password s3cret\n }\n"
        " max_files_burst 7\n}\n", "test.conf", "myhost"));
    REQUIRE(late.receivers[0].limits.max_files_burst == 7);
}

TEST_CASE("config: invalid limit values are refused with file:line") {
    struct bad {
        std::string section, host, message;
        int line;
    };
    for (const auto& b : {
             bad{" max_files_per_minute -1", "", "max_files_per_minute must be a number", 2},
             bad{" max_files_per_minute 1000001", "", "max_files_per_minute must be", 2},
             bad{"", "  max_files_burst 0", "max_files_burst must be a number of files from 1", 6},
             bad{" max_host_bytes 12X", "", "max_host_bytes must be a size", 2},
             bad{" max_host_bytes 99999999999T", "", "max_host_bytes must be a size", 2},
             bad{" max_files_burst 5\n max_files_burst 6", "", "given twice", 3},
         }) {
        auto result = parse_receiver(b.section, b.host);
        INFO(b.section << b.host);
        REQUIRE(std::holds_alternative<common::config_error>(result));
        auto e = std::get<common::config_error>(result);
        CHECK(e.line == b.line);
        CHECK_THAT(e.message, Catch::Contains(b.message));
    }
    auto global = common::parse_config("max_files_burst 5\n", "test.conf", "myhost");
    REQUIRE(std::holds_alternative<common::config_error>(global));
    auto sender = common::parse_config("sender {\n max_host_bytes 5\n}\n", "test.conf", "myhost");
    REQUIRE(std::holds_alternative<common::config_error>(sender));
    CHECK(std::get<common::config_error>(sender).line == 2);
}
