// Unit tests for common/reload: what a SIGHUP reload changes, and the
// supervisor's length-checked message to the worker.
#include "common/reload.hpp"

#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace adist::common;

namespace {

using adist::test::fp;
using adist::test::parse;

std::string receiver(const std::string& hosts, const std::string& listen = "tls://127.0.0.1:7878",
                     const std::string& keyfile = "/k.pem") {
    return "receiver {\n listen \"" + listen + "\"\n certfile \"/c.pem\"\n keyfile \"" + keyfile +
           "\"\n" + hosts + "}\n";
}

std::string rhost(const std::string& name, const std::string& remote, const std::string& pw) {
    return " host \"" + name + "\" {\n  remote \"" + remote + "\"\n  password \"" + pw + "\"\n }\n";
}

std::string sender(const std::string& hosts) { return "sender {\n" + hosts + "}\n"; }

std::string shost(const std::string& name, const std::string& pw, const std::string& f = fp) {
    return " host \"" + name + "\" {\n  directory \"/d/" + name +
           "\"\n  remote \"tls://192.0.2.1\"\n  fingerprint \"" + f +
           "\"\n  password \"" + pw + "\"\n }\n";
}

} // namespace

TEST_CASE("reload: the same configuration changes nothing") {
    auto text = receiver(rhost("a", "192.0.2.1", "p")) + sender(shost("c", "q"));
    auto p = plan_reload(parse(text), parse(text));
    REQUIRE(p.empty());
    REQUIRE(p.summary() == "no changes");
}

TEST_CASE("reload: receiver hosts added, removed and changed by name") {
    auto before = parse(receiver(rhost("a", "192.0.2.1", "p") + rhost("b", "192.0.2.2", "p") +
                                 rhost("c", "192.0.2.3", "p") + rhost("d", "192.0.2.4", "p")));
    auto after = parse(receiver(rhost("a", "192.0.2.1", "p") + rhost("b", "192.0.2.2", "new") +
                                rhost("c", "192.0.2.9", "p") + rhost("e", "192.0.2.5", "p")));
    auto p = plan_reload(before, after);
    REQUIRE(p.needs_restart.empty());
    REQUIRE(p.receiver_hosts_added == std::vector<std::string>{"e"});
    REQUIRE(p.receiver_hosts_removed == std::vector<std::string>{"d"});
    REQUIRE(p.receiver_hosts_changed == std::vector<std::string>{"b", "c"});
    REQUIRE_FALSE(p.tls_files_changed);
    // The summary names hosts, never a password.
    REQUIRE(p.summary().find("new") == std::string::npos);
    REQUIRE(p.summary().find("receiver hosts changed: b, c") != std::string::npos);
}

TEST_CASE("reload: listeners and certificate files") {
    auto before = parse(receiver(rhost("a", "192.0.2.1", "p")));
    auto after = parse(receiver(rhost("a", "192.0.2.1", "p"), "tcp://127.0.0.1:9000", "/k2.pem"));
    auto p = plan_reload(before, after);
    REQUIRE(p.listen_added == std::vector<std::string>{"tcp://127.0.0.1:9000"});
    REQUIRE(p.listen_removed == std::vector<std::string>{"tls://127.0.0.1:7878"});
    REQUIRE(p.tls_files_changed);
}

TEST_CASE("reload: sender hosts; a new name or timeout restarts every uplink") {
    auto before = parse(sender(shost("c", "q") + shost("d", "q")));
    std::string other = "SHA256=";
    for (int i = 0; i < 32; ++i) other += (i ? ":AB" : "AB");
    auto p = plan_reload(before, parse(sender(shost("c", "q") + shost("d", "q", other))));
    REQUIRE(p.sender_hosts_changed == std::vector<std::string>{"d"});
    REQUIRE_FALSE(p.restart_all_uplinks);
    p = plan_reload(before, parse("name \"other\"\n" + sender(shost("c", "q") + shost("d", "q"))));
    REQUIRE(p.restart_all_uplinks);
    p = plan_reload(before, parse("timeout 7\n" + sender(shost("c", "q") + shost("d", "q"))));
    REQUIRE(p.restart_all_uplinks);
    REQUIRE(p.timeout_changed);
}

TEST_CASE("reload: a pidfile change or a role added or removed needs a restart") {
    auto both = receiver(rhost("a", "192.0.2.1", "p")) + sender(shost("c", "q"));
    REQUIRE(plan_reload(parse(both), parse("pidfile \"/run/x.pid\"\n" + both)).needs_restart ==
            std::vector<std::string>{"the pidfile"});
    REQUIRE(plan_reload(parse(both), parse(sender(shost("c", "q")))).needs_restart ==
            std::vector<std::string>{"the receiver section removed"});
    REQUIRE(plan_reload(parse(sender(shost("c", "q"))), parse(both)).needs_restart ==
            std::vector<std::string>{"a receiver section added"});
    REQUIRE(plan_reload(parse(both), parse("status_group wheel\n" + both)).needs_restart ==
            std::vector<std::string>{"status_group"});
}

TEST_CASE("reload: what the sandbox did not allow at startup needs a restart") {
    auto running = parse(receiver(rhost("web1", "192.0.2.1", "a")) + sender(shost("s1", "b")));
    sandbox_limits limits;
    limits.filesystem = limits.network = true;
    limits.receiver_dirs = {"/var/audit/remote"};
    limits.sender_dirs = {"/d/s1"};
    limits.tls_files = {"/c.pem", "/k.pem"};
    limits.ports = {7878};

    SECTION("a host beneath the receiver directory, the same files and ports: fine") {
        auto next = parse(
            receiver(rhost("web1", "192.0.2.1", "a") + rhost("web2", "192.0.2.2", "c")) +
            sender(shost("s1", "b")));
        auto p = plan_reload(running, next);
        check_sandbox_limits(p, next, limits);
        CHECK(p.needs_restart.empty());
    }
    SECTION("a host directory outside, a new dist directory, a new port, a new key") {
        auto next = parse(
            receiver(rhost("web1", "192.0.2.1", "a") +
                         " host \"web3\" {\n remote \"192.0.2.3\"\n password \"p\"\n"
                         " directory \"/srv/web3\"\n }\n",
                     "tls://127.0.0.1:7878", "/other/k.pem") +
            sender(shost("s1", "b") + shost("s2", "c") +
                   " host \"s3\" {\n directory \"/d/s1/x\"\n remote \"tls://192.0.2.1:9000\"\n"
                   " fingerprint \"" + fp + "\"\n password \"q\"\n }\n"));
        auto p = plan_reload(running, next);
        check_sandbox_limits(p, next, limits);
        REQUIRE(p.needs_restart.size() == 4);
        CHECK(p.needs_restart[0] == "host web3's directory /srv/web3, outside the sandbox");
        CHECK(p.needs_restart[1] == "the TLS file /other/k.pem, outside the sandbox");
        CHECK(p.needs_restart[2] == "host s2's dist directory /d/s2, outside the sandbox");
        CHECK(p.needs_restart[3] == "host s3's remote port 9000, outside the sandbox");
    }
    SECTION("without Landlock nothing is confined") {
        auto next = parse(receiver(rhost("web3", "192.0.2.3", "p")) + sender(shost("s2", "c")));
        auto p = plan_reload(running, next);
        check_sandbox_limits(p, next, sandbox_limits{});
        CHECK(p.needs_restart.empty());
    }
}

TEST_CASE("reload: path_within is lexical and stops at component boundaries") {
    CHECK(path_within("/var/audit/remote", "/var/audit/remote"));
    CHECK(path_within("/var/audit/remote/web1", "/var/audit/remote/"));
    CHECK(path_within("/var/audit/remote/./a/../web1", "/var/audit/remote"));
    CHECK_FALSE(path_within("/var/audit/remote2", "/var/audit/remote"));
    CHECK_FALSE(path_within("/var/audit/remote/../dist", "/var/audit/remote"));
    CHECK_FALSE(path_within("relative", "/var"));
}

TEST_CASE("control message: round trip, split at every byte") {
    std::string text = "receiver {\n}\n";
    auto a = encode_control(control_kind::config_text, text);
    auto b = encode_control(control_kind::read_error, "cannot open");
    std::vector<std::byte> both(a);
    both.insert(both.end(), b.begin(), b.end());
    for (std::size_t cut = 0; cut <= both.size(); ++cut) {
        control_decoder d;
        d.feed(std::span(both.data(), cut));
        std::vector<control_message> got;
        while (auto m = d.next()) got.push_back(*m);
        d.feed(std::span(both.data() + cut, both.size() - cut));
        while (auto m = d.next()) got.push_back(*m);
        REQUIRE_FALSE(d.error());
        REQUIRE(got.size() == 2);
        REQUIRE(got[0].kind == control_kind::config_text);
        REQUIRE(got[0].payload == text);
        REQUIRE(got[1].kind == control_kind::read_error);
        REQUIRE(got[1].payload == "cannot open");
    }
}

TEST_CASE("control message: bad kind or oversized length is an error, not an allocation") {
    control_decoder d;
    std::vector<std::byte> bad{std::byte{9}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
    d.feed(bad);
    REQUIRE_FALSE(d.next());
    REQUIRE(d.error());
    control_decoder big;
    std::vector<std::byte> huge{std::byte{1}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                std::byte{0xff}};
    big.feed(huge);
    REQUIRE_FALSE(big.next());
    REQUIRE(big.error());
}
