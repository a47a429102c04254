// Receipts in the configuration: the sender hosts' `ledger_key` and
// `receipt_file` (common/config_receipts.cpp), and a reload that changes them.
#include "common/reload.hpp"
#include "test_config.hpp"

using namespace adist;

namespace {
const std::string key = "ed25519:" + std::string(62, 'a') + "0F";

std::string host(const std::string& name, const std::string& extra = "") {
    return test::sender_host(name, "  directory /d/" + name + "\n" + extra);
}
} // namespace

TEST_CASE("receipt config: ledger_key turns receipts on, with a default file",
          "[config][receipts]") {
    auto cfg = test::parse("sender {\n" + host("a", "  ledger_key \"" + key + "\"\n") +
                           host("b", "  ledger_key " + key + "\n  receipt_file /r/b.heads\n") +
                           host("c") + "}\n");
    REQUIRE(cfg.senders.size() == 3);
    REQUIRE(cfg.senders[0].ledger_key);
    CHECK((*cfg.senders[0].ledger_key)[0] == 0xaa);
    CHECK((*cfg.senders[0].ledger_key)[31] == 0x0f);
    CHECK(cfg.senders[0].receipt_file == "/var/lib/auditdistd/receipts/a/heads");
    CHECK(cfg.senders[1].receipt_file == "/r/b.heads");
    CHECK_FALSE(cfg.senders[2].ledger_key);
    CHECK(cfg.senders[2].receipt_file.empty());
    auto lines = common::receipt_summary(cfg);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] == "receipts: host b (protocol 1) keeps the heads signed by ed25519:" +
                          std::string(62, 'a') + "0f in /r/b.heads");
}

TEST_CASE("receipt config: refusals", "[config][receipts]") {
    auto bad_key =
        test::parse_error("sender {\n" + host("a", "  ledger_key ed25519:abcd\n") + "}\n");
    CHECK(bad_key.message.find("64 hex digits") != std::string::npos);
    auto no_key = test::parse_error("sender {\n" + host("a", "  receipt_file /r/a\n") + "}\n");
    CHECK(no_key.message.find("without ledger_key") != std::string::npos);
    auto relative = test::parse_error(
        "sender {\n" + host("a", "  ledger_key " + key + "\n  receipt_file r/a\n") + "}\n");
    CHECK(relative.message.find("absolute") != std::string::npos);
    auto shared = test::parse_error(
        "sender {\n" + host("a", "  ledger_key " + key + "\n  receipt_file /r/x\n") +
        host("b", "  ledger_key " + key + "\n  receipt_file /r/x\n") + "}\n");
    CHECK(shared.message.find("a file of their own") != std::string::npos);
    auto twice = test::parse_error(
        "sender {\n" + host("a", "  ledger_key " + key + "\n  ledger_key " + key + "\n") + "}\n");
    CHECK(twice.message.find("twice") != std::string::npos);
    auto receiver =
        test::parse_error("receiver {\n host a {\n  remote 10.0.0.1\n  password p\n  ledger_key " +
                          key + "\n }\n}\n");
    CHECK(receiver.message.find("ledger_key") != std::string::npos);
}

TEST_CASE("receipt config: a changed ledger_key or receipt_file restarts that uplink",
          "[config][receipts]") {
    auto before = test::parse("sender {\n" + host("a") + host("b") + "}\n");
    auto after =
        test::parse("sender {\n" + host("a", "  ledger_key " + key + "\n") + host("b") + "}\n");
    auto plan = common::plan_reload(before, after);
    CHECK(plan.sender_hosts_changed == std::vector<std::string>{"a"});
    auto moved = test::parse("sender {\n" + host("a", "  ledger_key " + key + "\n") +
                             host("b", "  ledger_key " + key + "\n  receipt_file /var/lib/r\n") + "}\n");
    CHECK(common::plan_reload(after, moved).sender_hosts_changed == std::vector<std::string>{"b"});
}
