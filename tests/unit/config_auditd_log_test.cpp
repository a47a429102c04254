// Unit tests for the Linux additions to common/config: a sender host's own
// `name` (one stream per producer) and `auditd_log` with its same-filesystem
// check (check_auditd_logs, on real directories).
#include "common/config.hpp"
#include "common/reload.hpp"
#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

using namespace adist::common;

namespace {

using adist::test::fp;

config_result parse(const std::string& text) {
    return parse_config(text, "t.conf", "myhost");
}

config ok(const std::string& text) {
    auto result = parse(text);
    if (auto* e = std::get_if<config_error>(&result)) FAIL(e->to_string() << "\n---\n" << text);
    return std::get<config>(result);
}

config_error err(const std::string& text) {
    auto result = parse(text);
    INFO("config:\n" << text);
    REQUIRE(std::holds_alternative<config_error>(result));
    return std::get<config_error>(result);
}

std::string host(const std::string& name, const std::string& extra) {
    return "host " + name + " {\n remote tls://10.0.0.4\n fingerprint " + fp +
           "\n password pw\n directory /var/audit/" + name + "\n" + extra + "}\n";
}

} // namespace

TEST_CASE("config: a sender host's own name overrides the global name", "[config]") {
    auto cfg =
        ok("name web\nsender {\n" + host("a", " name \"web-auditd\"\n") + host("b", "") + "}\n");
    REQUIRE(cfg.senders.size() == 2);
    CHECK(cfg.senders[0].own_name == "web-auditd");
    CHECK(handshake_name(cfg, cfg.senders[0]) == "web-auditd");
    CHECK(cfg.senders[1].own_name.empty());
    CHECK(handshake_name(cfg, cfg.senders[1]) == "web");
}

TEST_CASE("config: a sender host's name is checked like the global one", "[config]") {
    auto e = err("sender {\n" + host("a", " name \"\"\n") + "}\n");
    CHECK(e.line == 7);
    CHECK(e.message == "name is empty");
    e = err("sender {\n" + host("a", " name \"" + std::string(256, 'x') + "\"\n") + "}\n");
    CHECK(e.message == "name is longer than 255 bytes");
    e = err("sender {\n" + host("a", " name x\n name y\n") + "}\n");
    CHECK(e.line == 8);
    CHECK(e.message == "\"name\" is given twice in the sender host section");
    // Not in the sender section itself nor in a receiver host.
    e = err("sender {\n name x\n}\n");
    CHECK(e.message == "\"name\" is not allowed in the sender section");
    e = err("receiver {\n host r {\n remote 10.0.0.1\n password p\n name x\n }\n}\n");
    CHECK(e.message == "\"name\" is not allowed in the receiver host section");
}

TEST_CASE("config: auditd_log in the sender section is inherited, a host's wins", "[config]") {
    auto cfg = ok("sender {\n auditd_log \"/var/log/audit//audit.log\"\n" + host("a", "") +
                  host("b", " auditd_log /srv/log/audit.log\n") + "}\n");
    REQUIRE(cfg.senders.size() == 2);
    CHECK(cfg.senders[0].auditd_log == "/var/log/audit/audit.log");
    CHECK(cfg.senders[0].auditd_log_line == 2);
    CHECK(cfg.senders[1].auditd_log == "/srv/log/audit.log");
    CHECK(cfg.senders[1].auditd_log_line == 14);
    CHECK(ok("sender {\n" + host("a", "") + "}\n").senders[0].auditd_log.empty());
}

TEST_CASE("config: auditd_log must be an absolute path in a directory", "[config]") {
    CHECK(err("sender {\n auditd_log audit.log\n}\n").message ==
          "auditd_log must be an absolute path to auditd's log file");
    CHECK(err("sender {\n auditd_log /var/log/../audit.log\n}\n").message ==
          "auditd_log must not contain \"..\"");
    CHECK(err("sender {\n auditd_log /audit.log\n}\n").line == 2);
    CHECK(err("auditd_log /var/log/audit/audit.log\n").message ==
          "\"auditd_log\" is not allowed in the global section");
}

TEST_CASE("config: auditd_log refuses a dist directory on another filesystem", "[config]") {
    namespace fs = std::filesystem;
    auto base = fs::temp_directory_path() / ("adist-auditd-log-" + std::to_string(::getpid()));
    fs::create_directories(base / "log");
    auto text = [&](const std::string& dir, const std::string& log) {
        return "sender {\n host a {\n remote tls://10.0.0.4\n fingerprint " + fp +
               "\n password pw\n directory " + dir + "\n auditd_log " + log + "\n }\n}\n";
    };
    auto log = (base / "log" / "audit.log").string();
    // Same filesystem; the dist directory need not exist yet.
    auto same = ok(text((base / "dist" / "a").string(), log));
    CHECK_FALSE(check_auditd_logs(same, "t.conf"));
    // The log's directory is missing.
    auto missing = ok(text((base / "dist").string(), (base / "nolog" / "audit.log").string()));
    auto e = check_auditd_logs(missing, "t.conf");
    REQUIRE(e);
    CHECK(e->line == 7);
    CHECK(e->message.find("No such file or directory") != std::string::npos);
    // /proc is always another filesystem than the temporary directory.
    auto other = ok(text("/proc/adist-dist", log));
    e = check_auditd_logs(other, "t.conf");
    REQUIRE(e);
    CHECK(e->to_string().rfind("t.conf:7: host \"a\": auditd_log", 0) == 0);
    CHECK(e->message.find("is on another filesystem than " + (base / "log").string()) !=
          std::string::npos);
    fs::remove_all(base);
}

TEST_CASE("reload: a host's own name restarts its connection, auditd_log needs a restart",
          "[config]") {
    auto base = ok("sender {\n" + host("a", "") + host("b", "") + "}\n");
    auto renamed = ok("sender {\n" + host("a", " name \"a-audit\"\n") + host("b", "") + "}\n");
    auto p = plan_reload(base, renamed);
    CHECK(p.sender_hosts_changed == std::vector<std::string>{"a"});
    CHECK(p.needs_restart.empty());
    auto linked = ok("sender {\n" + host("a", " auditd_log /var/log/audit/audit.log\n") +
                     host("b", "") + "}\n");
    p = plan_reload(base, linked);
    REQUIRE(p.needs_restart.size() == 1);
    CHECK(p.needs_restart[0] == "auditd_log of dist directory /var/audit/a");
}
