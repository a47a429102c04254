// Fan-out in the configuration: several sender hosts on one dist directory,
// `optional` and `max_lag_bytes` (common/config_fanout.cpp).
#include "common/reload.hpp"
#include "test_config.hpp"

using namespace adist;

TEST_CASE("fanout config: sender hosts may share a dist directory", "[config][fanout]") {
    auto cfg = test::parse("sender {\n directory /d\n max_lag_bytes 1G\n" + test::sender_host("a") +
                           test::sender_host("b", "  optional yes\n  max_lag_bytes 64M\n") +
                           test::sender_host("c", "  optional no\n") + "}\n");
    REQUIRE(cfg.senders.size() == 3);
    for (const auto& h : cfg.senders)
        CHECK(h.directory == "/d");
    CHECK_FALSE(cfg.senders[0].optional);
    CHECK(cfg.senders[1].optional);
    CHECK_FALSE(cfg.senders[2].optional);
    CHECK(cfg.senders[0].max_lag_bytes == 1ull << 30); // the section's
    CHECK(cfg.senders[1].max_lag_bytes == 64ull << 20);
    auto plain = test::parse("sender {\n" + test::sender_host("a") + "}\n");
    CHECK(plain.senders[0].max_lag_bytes == 0); // no limit by default
    CHECK_FALSE(plain.senders[0].optional);
}

TEST_CASE("fanout config: refusals", "[config][fanout]") {
    auto all_optional =
        test::parse_error("sender {\n" + test::sender_host("a", "  optional yes\n") +
                          test::sender_host("b", "  optional yes\n") + "}\n");
    CHECK_THAT(all_optional.message,
               Catch::Contains("is optional: nothing would remove its links"));
    auto alone =
        test::parse_error("sender {\n" + test::sender_host("a", "  optional yes\n") + "}\n");
    CHECK_THAT(alone.message, Catch::Contains("is optional"));
    CHECK_THAT(
        test::parse_error("sender {\n" + test::sender_host("a", "  optional maybe\n") + "}\n")
            .message,
        Catch::Contains("optional must be yes or no"));
    CHECK_THAT(
        test::parse_error("sender {\n" + test::sender_host("a", "  max_lag_bytes 12X\n") + "}\n")
            .message,
        Catch::Contains("max_lag_bytes must be a size in bytes"));
    CHECK_THAT(test::parse_error("receiver {\n host a {\n  optional yes\n").message,
               Catch::Contains("\"optional\" is not allowed in the receiver host section"));
    // One linker feeds a directory: its hosts share one auditd_log.
    auto logs = test::parse_error(
        "sender {\n directory /d\n auditd_log /var/log/audit/audit.log\n" + test::sender_host("a") +
        test::sender_host("b", "  auditd_log /var/log/other/audit.log\n") + "}\n");
    CHECK_THAT(logs.message,
               Catch::Contains("sender host \"b\": auditd_log \"/var/log/other/audit.log\" "
                               "differs from host \"a\"'s"));
    auto same = test::parse("sender {\n directory /d\n auditd_log /var/log/audit/audit.log\n" +
                            test::sender_host("a") + test::sender_host("b") + "}\n");
    CHECK(same.senders[1].auditd_log == "/var/log/audit/audit.log");
    // Receiver hosts still need a directory each.
    auto recv = test::parse_error("receiver {\n host a { remote 10.0.0.1 password p directory x }\n"
                                  " host b { remote 10.0.0.2 password p directory x }\n}\n");
    CHECK_THAT(recv.message, Catch::Contains("is already used by host \"a\""));
}

TEST_CASE("fanout config: a changed optional or max_lag_bytes restarts that uplink",
          "[config][fanout]") {
    auto before = test::parse("sender {\n directory /d\n" + test::sender_host("a") +
                              test::sender_host("b") + "}\n");
    auto after = test::parse("sender {\n directory /d\n" + test::sender_host("a") +
                             test::sender_host("b", "  optional yes\n") + "}\n");
    auto plan = common::plan_reload(before, after);
    CHECK(plan.sender_hosts_changed == std::vector<std::string>{"b"});
}

TEST_CASE("fanout config: -n names each shared directory's hosts", "[config][fanout]") {
    auto cfg = test::parse("sender {\n directory /d\n" + test::sender_host("a") +
                           test::sender_host("b", "  optional yes\n") + test::sender_host("c") +
                           test::sender_host("alone", "  directory /e\n") + "}\n");
    auto lines = common::fanout_summary(cfg);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] ==
          "fan-out: /d feeds a, b (optional), c; a link goes once a, c acknowledged the trail");
}
