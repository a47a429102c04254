// The shipped sample config (etc/auditdistd.conf.sample) must parse and mean
// what its comments say.
#include <catch2/catch.hpp>

#include "common/config.hpp"

using namespace adist::common;

TEST_CASE("etc/auditdistd.conf.sample parses") {
    auto r = load_config(std::string(ADIST_SOURCE_DIR) + "/etc/auditdistd.conf.sample");
    if (auto* e = std::get_if<config_error>(&r)) FAIL(e->to_string());
    auto& c = std::get<config>(r);
    REQUIRE(c.senders.size() == 1);
    REQUIRE(c.senders[0].remote.scheme == scheme::tls);
    REQUIRE(c.senders[0].fingerprint.has_value());
    REQUIRE(c.receivers.size() == 1);
    REQUIRE(c.receivers[0].directory == "/var/audit/remote/web1");
    REQUIRE(c.listen.size() == 2);
    REQUIRE(c.timeout == 20);
}
