// Fan-out in the configuration: several sender hosts on one dist directory,
// `optional` and `max_lag_bytes` (common/config_fanout.cpp).
#include "common/reload.hpp"
#include "test_config.hpp"

using namespace adist;

namespace {
common::config_error error_of(const std::string& text) {
    auto result = common::parse_config(text, "test.conf", "myhost");
    auto* e = std::get_if<common::config_error>(&result);
    if (e == nullptr) FAIL("accepted:\n" << text);
    return *e;
}

std::string host(const std::string& name, const std::string& extra = "") {
    return " host " + name + " {\n  remote tls://10.0.0.1\n  fingerprint " + test::fp +
           "\n  password p\n" + extra + " }\n";
}
} // namespace

TEST_CASE("fanout config: sender hosts may share a dist directory", "[config][fanout]") {
    auto cfg = test::parse("sender {\n directory /d\n max_lag_bytes 1G\n" + host("a") +
                           host("b", "  optional yes\n  max_lag_bytes 64M\n") +
                           host("c", "  optional no\n") + "}\n");
    REQUIRE(cfg.senders.size() == 3);
    for (const auto& h : cfg.senders)
        CHECK(h.directory == "/d");
    CHECK_FALSE(cfg.senders[0].optional);
    CHECK(cfg.senders[1].optional);
    CHECK_FALSE(cfg.senders[2].optional);
    CHECK(cfg.senders[0].max_lag_bytes == 1ull << 30); // the section's
    CHECK(cfg.senders[1].max_lag_bytes == 64ull << 20);
    auto plain = test::parse("sender {\n" + host("a") + "}\n");
    CHECK(plain.senders[0].max_lag_bytes == 0); // no limit by default
    CHECK_FALSE(plain.senders[0].optional);
}

TEST_CASE("fanout config: refusals", "[config][fanout]") {
    auto all_optional = error_of("sender {\n" + host("a", "  optional yes\n") +
                                 host("b", "  optional yes\n") + "}\n");
    CHECK_THAT(all_optional.message,
               Catch::Contains("is optional: nothing would remove its links"));
    auto alone = error_of("sender {\n" + host("a", "  optional yes\n") + "}\n");
    CHECK_THAT(alone.message, Catch::Contains("is optional"));
    CHECK_THAT(error_of("sender {\n" + host("a", "  optional maybe\n") + "}\n").message,
               Catch::Contains("optional must be yes or no"));
    CHECK_THAT(error_of("sender {\n" + host("a", "  max_lag_bytes 12X\n") + "}\n").message,
               Catch::Contains("max_lag_bytes must be a size in bytes"));
    CHECK_THAT(error_of("receiver {\n host a {\n  optional yes\n").message,
               Catch::Contains("\"optional\" is not allowed in the receiver host section"));
    // One linker feeds a directory: its hosts share one auditd_log.
    auto logs = error_of("sender {\n directory /d\n auditd_log /var/log/audit/audit.log\n" +
                         host("a") + host("b", "  auditd_log /var/log/other/audit.log\n") + "}\n");
    CHECK_THAT(logs.message,
               Catch::Contains("sender host \"b\": auditd_log \"/var/log/other/audit.log\" "
                               "differs from host \"a\"'s"));
    auto same = test::parse("sender {\n directory /d\n auditd_log /var/log/audit/audit.log\n" +
                            host("a") + host("b") + "}\n");
    CHECK(same.senders[1].auditd_log == "/var/log/audit/audit.log");
    // Receiver hosts still need a directory each.
    auto recv = error_of("receiver {\n host a { remote 10.0.0.1 password p directory x }\n"
                         " host b { remote 10.0.0.2 password p directory x }\n}\n");
    CHECK_THAT(recv.message, Catch::Contains("is already used by host \"a\""));
}

TEST_CASE("fanout config: a changed optional or max_lag_bytes restarts that uplink",
          "[config][fanout]") {
    auto before = test::parse("sender {\n directory /d\n" + host("a") + host("b") + "}\n");
    auto after = test::parse("sender {\n directory /d\n" + host("a") +
                             host("b", "  optional yes\n") + "}\n");
    auto plan = common::plan_reload(before, after);
    CHECK(plan.sender_hosts_changed == std::vector<std::string>{"b"});
}

TEST_CASE("fanout config: -n names each shared directory's hosts", "[config][fanout]") {
    auto cfg = test::parse("sender {\n directory /d\n" + host("a") + host("b", "  optional yes\n") +
                           host("c") + host("alone", "  directory /e\n") + "}\n");
    auto lines = common::fanout_summary(cfg);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] ==
          "fan-out: /d feeds a, b (optional), c; a link goes once a, c acknowledged the trail");
}
