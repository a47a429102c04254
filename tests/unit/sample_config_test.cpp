// The shipped sample configs (etc/auditdistd-receiver.conf.sample and
// etc/auditdistd-sender.conf.sample) are refused as they are, for their
// placeholder secrets, and parse and mean what their comments say once the
// placeholders are replaced, as the administrator does.
#include "common/config.hpp"
#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

using namespace adist::common;

namespace {

std::string read_sample(const std::string& name) {
    std::ifstream in(std::string(ADIST_SOURCE_DIR) + "/etc/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Replaces every occurrence of `from` (at least one) by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    std::size_t n = 0;
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
        ++n;
    }
    REQUIRE(n > 0);
    return text;
}

std::string without_placeholders(std::string text) {
    text = replace_all(text, std::string(sample_password_placeholder), "a long random secret");
    auto zeros = adist::proto::format_fingerprint(sample_fingerprint_placeholder);
    if (text.find(zeros) != std::string::npos) text = replace_all(text, zeros, adist::test::fp);
    return text;
}

config parsed(const std::string& text, const std::string& name) {
    auto r = parse_config(text, name, "web1");
    if (auto* e = std::get_if<config_error>(&r)) FAIL(e->to_string());
    return std::get<config>(r);
}

} // namespace

TEST_CASE("etc/auditdistd-receiver.conf.sample: refused as shipped, parses once filled in",
          "[sample]") {
    const std::string name = "auditdistd-receiver.conf.sample";
    auto text = read_sample(name);
    auto refused = parse_config(text, name, "web1");
    REQUIRE(std::holds_alternative<config_error>(refused));
    CHECK(std::get<config_error>(refused).message.find("placeholder") != std::string::npos);

    auto c = parsed(without_placeholders(text), name);
    CHECK_FALSE(c.has_sender); // a collector must not start a sender
    REQUIRE(c.receivers.size() == 1);
    CHECK(c.receivers[0].name == "web1");
    CHECK(c.receivers[0].directory == "/var/audit/remote/web1");
    CHECK(c.listen.size() == 2);
    CHECK(c.timeout == 20);
}

TEST_CASE("etc/auditdistd-sender.conf.sample: refused as shipped, parses once filled in",
          "[sample]") {
    const std::string name = "auditdistd-sender.conf.sample";
    auto text = read_sample(name);
    auto refused = parse_config(text, name, "web1");
    REQUIRE(std::holds_alternative<config_error>(refused));
    CHECK(std::get<config_error>(refused).message.find("placeholder") != std::string::npos);
    // With a real password, the fingerprint placeholder is refused too.
    auto fp_only = replace_all(text, std::string(sample_password_placeholder), "secret");
    auto refused_fp = parse_config(fp_only, name, "web1");
    REQUIRE(std::holds_alternative<config_error>(refused_fp));
    CHECK(std::get<config_error>(refused_fp).message.find("fingerprint is still the placeholder") !=
          std::string::npos);

    auto c = parsed(without_placeholders(text), name);
    CHECK_FALSE(c.has_receiver); // an audited host does not listen
    REQUIRE(c.senders.size() == 1);
    CHECK(c.senders[0].remote.scheme == scheme::tls);
    CHECK(c.senders[0].fingerprint == adist::proto::parse_fingerprint(adist::test::fp));
    CHECK(c.senders[0].directory == "/var/audit/dist");
    CHECK(c.timeout == 20);
}
