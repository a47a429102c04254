// Unit tests for daemon/sandbox_spec: which paths, rights and ports each
// role's sandbox gets from the configuration (the sandbox itself is
// tests/sandbox/sandbox_test.cpp).
#include "daemon/sandbox_spec.hpp"

#include "tests/unit/test_config.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

using namespace adist;
using namespace adist::common;
using namespace adist::privileged;

namespace {

using adist::test::fp;
using adist::test::parse;

const path_rule* find(const sandbox_spec& s, const std::string& path) {
    auto it = std::find_if(s.paths.begin(), s.paths.end(),
                           [&](const path_rule& r) { return r.path == path; });
    return it == s.paths.end() ? nullptr : &*it;
}

} // namespace

TEST_CASE("sandbox spec: receiver directories, TLS files, no connect, no unlink") {
    auto cfg = parse("pidfile \"/run/a.pid\"\nreceiver {\n directory \"/var/audit/remote\"\n"
                     " certfile \"/etc/c.pem\"\n keyfile \"/etc/k.pem\"\n"
                     " host \"in\" {\n  remote \"192.0.2.1\"\n  password \"p\"\n }\n"
                     " host \"out\" {\n  remote \"192.0.2.2\"\n  password \"p\"\n"
                     "  directory \"/srv/out\"\n }\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {true, "/run/a.sock"}, &notes);
    CHECK(s.receiver);
    CHECK_FALSE(s.sender);
    CHECK_FALSE(s.remove_files); // the supervisor cleans up
    CHECK(s.connect_ports.empty());
    auto* base = find(s, "/var/audit/remote");
    REQUIRE(base != nullptr);
    // Supervised: the supervisor renames, so no remove_file and no rename.
    CHECK(base->access == (fs_access::read_file | fs_access::write_file | fs_access::read_dir |
                           fs_access::make_reg | fs_access::make_dir));
    CHECK_FALSE(s.rename_files);
    CHECK(find(s, "/var/audit/remote/in") == nullptr); // covered by the base
    REQUIRE(find(s, "/srv/out") != nullptr);
    REQUIRE(find(s, "/etc/k.pem") != nullptr);
    CHECK(find(s, "/etc/k.pem")->access == fs_access::read_file);
    CHECK(find(s, "/etc/k.pem")->optional);
    CHECK(find(s, "/run") == nullptr); // nothing to remove there
    REQUIRE(find(s, "/etc/hosts") != nullptr);
    CHECK(notes.empty());
}

TEST_CASE("sandbox spec: sender dist parents, remote ports, clean-up without a supervisor") {
    auto tmp = std::filesystem::temp_directory_path().string();
    auto cfg = parse("pidfile \"/run/s.pid\"\nsender {\n directory \"" + tmp + "/dist/\"\n"
                     " host \"a\" {\n  remote \"tls://192.0.2.1:7000\"\n  fingerprint \"" + fp +
                     "\"\n  password \"p\"\n }\n"
                     " host \"b\" {\n  remote \"tls://collector.example:7001\"\n  fingerprint \"" +
                     fp + "\"\n  password \"p\"\n  directory \"/nonexistent-x/y/dist\"\n }\n}\n");
    daemon_options o;
    o.config_path = "/etc/security/auditdistd.conf";
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {false, "/run/s.sock"}, &notes);
    CHECK(s.sender);
    CHECK_FALSE(s.receiver);
    CHECK(s.remove_files);
    CHECK(s.connect_ports == std::vector<std::uint16_t>{53, 7000, 7001}); // 53: b is a name
    auto* dist = find(s, tmp); // the parent of <tmp>/dist/: it may be replaced
    REQUIRE(dist != nullptr);
    CHECK(dist->access == (fs_access::read_file | fs_access::read_dir | fs_access::remove_file));
    REQUIRE(find(s, "/") != nullptr); // nearest existing ancestor of /nonexistent-x/y
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].find("/nonexistent-x/y/dist") != std::string::npos);
    REQUIRE(find(s, "/run") != nullptr);
    CHECK(find(s, "/run")->access == fs_access::remove_file);
    REQUIRE(find(s, "/etc/security") != nullptr);
    CHECK(find(s, "/etc/security")->access == fs_access::read_file);
}

TEST_CASE("sandbox spec: a receiver without a supervisor renames its own trails") {
    auto cfg = parse("receiver {\n directory \"/var/audit/remote\"\n"
                     " host \"in\" {\n  remote \"192.0.2.1\"\n  password \"p\"\n }\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {false, ""}, &notes);
    CHECK(s.rename_files);
    auto* base = find(s, "/var/audit/remote");
    REQUIRE(base != nullptr);
    CHECK((base->access & fs_access::remove_file) != 0);
}

TEST_CASE("sandbox spec: both roles: the sender's rule never covers the receiver's directory") {
    auto tmp = std::filesystem::temp_directory_path() / "adist-spec-both";
    std::filesystem::create_directories(tmp / "dist");
    auto t = tmp.string();
    auto cfg = parse("receiver {\n directory \"" + t + "/remote\"\n"
                     " host \"in\" {\n  remote \"192.0.2.1\"\n  password \"p\"\n }\n}\n"
                     "sender {\n directory \"" + t + "/dist\"\n"
                     " host \"a\" {\n  remote \"tls://192.0.2.1:7000\"\n  fingerprint \"" + fp +
                     "\"\n  password \"p\"\n }\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {true, ""}, &notes);
    CHECK(find(s, t) == nullptr); // the parent would cover <tmp>/remote
    auto* dist = find(s, t + "/dist");
    REQUIRE(dist != nullptr);
    CHECK(dist->access == (fs_access::read_file | fs_access::read_dir | fs_access::remove_file));
    CHECK_FALSE(dist->optional);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].find("re-creating it needs a restart") != std::string::npos);
    std::filesystem::remove_all(tmp);
}

TEST_CASE("sandbox spec: with auditd_log, the rule is the dist directory, not auditd's") {
    auto tmp = std::filesystem::temp_directory_path().string();
    auto cfg = parse("sender {\n directory \"" + tmp + "/log/dist\"\n"
                     " host \"a\" {\n  remote \"tls://192.0.2.1:7000\"\n  fingerprint \"" + fp +
                     "\"\n  password \"p\"\n  auditd_log \"" + tmp + "/log/audit.log\"\n }\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {true, ""}, &notes);
    CHECK(find(s, tmp + "/log") == nullptr); // auditd's directory: never
    auto* dist = find(s, tmp + "/log/dist");
    REQUIRE(dist != nullptr);
    CHECK(dist->access == (fs_access::read_file | fs_access::read_dir | fs_access::remove_file));
    CHECK(notes.empty());
}

TEST_CASE("sandbox spec: the collector's directories, /proc, the user database, its calls") {
    auto cfg = parse("pidfile \"/run/a.pid\"\ncollector {\n directory \"/var/audit/commands\"\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {true, "/run/a.sock"}, &notes);
    CHECK(s.collector);
    CHECK_FALSE(s.sender);
    CHECK_FALSE(s.receiver);
    CHECK_FALSE(s.remove_files); // seccomp: unlink EPERM
    CHECK(s.connect_ports.empty());
    auto* dir = find(s, "/var/audit/commands");
    REQUIRE(dir != nullptr);
    CHECK(dir->access == (fs_access::read_file | fs_access::write_file | fs_access::read_dir |
                          fs_access::make_reg | fs_access::remove_file | fs_access::refer));
    auto* dist = find(s, "/var/audit/commands/dist");
    REQUIRE(dist != nullptr);
    CHECK((dist->access & (fs_access::write_file | fs_access::read_file)) == 0);
    REQUIRE(find(s, "/proc") != nullptr);
    CHECK(find(s, "/proc")->access == (fs_access::read_file | fs_access::read_dir));
    REQUIRE(find(s, "/etc/passwd") != nullptr);
    CHECK(find(s, "/etc/passwd")->access == fs_access::read_file);
}

TEST_CASE("sandbox spec: hosts sharing a dist directory (fan-out) get its rule once") {
    auto cfg = parse("pidfile none\nsender {\n directory \"/srv/dist\"\n"
                     " host \"a\" {\n  remote \"192.0.2.1:7001\"\n  password \"p\"\n }\n"
                     " host \"b\" {\n  remote \"192.0.2.2:7002\"\n  password \"p\"\n }\n}\n");
    daemon_options o;
    std::vector<std::string> notes;
    auto s = daemon::worker_sandbox_spec(o, cfg, {true, "/run/a.sock"}, &notes);
    CHECK(s.remove_files);
    auto rules = std::count_if(s.paths.begin(), s.paths.end(), [](const path_rule& r) {
        return r.path == "/srv" || r.path == "/srv/dist";
    });
    CHECK(rules == 1);
    CHECK(s.connect_ports == std::vector<std::uint16_t>{7001, 7002});
}
