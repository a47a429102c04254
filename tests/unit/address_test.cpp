// Unit tests for common/address: scheme, family, host and port parsing of the
// listen/remote/source strings, and the canonical to_string() form.
#include "common/address.hpp"

#include <catch2/catch.hpp>

using adist::common::endpoint_spec;
using adist::common::family;
using adist::common::parse_address;
using adist::common::scheme;

namespace {

endpoint_spec ok(std::string_view text) {
    std::string error;
    auto spec = parse_address(text, &error);
    INFO("address: " << text << " error: " << error);
    REQUIRE(spec.has_value());
    return *spec;
}

std::string bad(std::string_view text) {
    std::string error;
    auto spec = parse_address(text, &error);
    INFO("address: " << text);
    REQUIRE_FALSE(spec.has_value());
    CHECK_FALSE(error.empty());
    return error;
}

} // namespace

TEST_CASE("address: schemes and default port", "[address]") {
    auto tls = ok("tls://10.0.0.1");
    CHECK(tls.scheme == scheme::tls);
    CHECK(tls.family == family::v4);
    CHECK(tls.host == "10.0.0.1");
    CHECK(tls.port == 7878);
    CHECK_FALSE(tls.port_given);

    auto tcp = ok("tcp://10.0.0.1:1234");
    CHECK(tcp.scheme == scheme::tcp);
    CHECK(tcp.port == 1234);
    CHECK(tcp.port_given);

    auto bare = ok("10.0.0.4");
    CHECK(bare.scheme == scheme::tcp); // a bare address means tcp, as in FreeBSD
    CHECK(bare.family == family::v4);
    CHECK(bare.port == 7878);

    CHECK(ok("TLS://10.0.0.1").scheme == scheme::tls);
}

TEST_CASE("address: the man page's equivalent listen forms", "[address]") {
    for (auto text : {"0.0.0.0", "0.0.0.0:7878", "tcp://0.0.0.0", "tcp://0.0.0.0:7878",
                      "tcp4://0.0.0.0", "tcp4://0.0.0.0:7878"}) {
        auto spec = ok(text);
        CHECK(spec.scheme == scheme::tcp);
        CHECK(spec.family == family::v4);
        CHECK(spec.host == "0.0.0.0");
        CHECK(spec.port == 7878);
        CHECK(spec.to_string() == "tcp://0.0.0.0:7878");
    }
}

TEST_CASE("address: families", "[address]") {
    CHECK(ok("tcp4://example.org").family == family::v4);
    CHECK(ok("tcp6://example.org").family == family::v6);
    CHECK(ok("example.org").family == family::any);
    CHECK(ok("tls://example.org:99").family == family::any);
    CHECK(ok("tcp6://[::1]").family == family::v6);
    CHECK(ok("[::1]").family == family::v6);
    CHECK(ok("tls://127.0.0.1").family == family::v4);
    CHECK(bad("tcp4://[::1]") == "tcp4:// with an IPv6 address");
    CHECK(bad("tcp6://127.0.0.1") == "tcp6:// with an IPv4 address");
}

TEST_CASE("address: IPv6 literals", "[address]") {
    auto bracketed = ok("tls://[::1]:7879");
    CHECK(bracketed.host == "::1");
    CHECK(bracketed.port == 7879);
    CHECK(bracketed.family == family::v6);

    auto bare = ok("::1"); // accepted without brackets when there is no port
    CHECK(bare.host == "::1");
    CHECK(bare.port == 7878);
    CHECK(bare.scheme == scheme::tcp);

    CHECK(ok("tcp6://2001:db8::1").host == "2001:db8::1");
    CHECK(ok("[fe80::1%em0]:7878").host == "fe80::1%em0");
    CHECK(ok("tls://[::]:7878").host == "::");

    CHECK(bad("[::1").find("missing \"]\"") != std::string::npos);
    CHECK(bad("[::1]x").find("after \"]\"") != std::string::npos);
    CHECK(bad("[10.0.0.1]").find("invalid IPv6") != std::string::npos);
    CHECK(bad("::g").find("invalid IPv6") != std::string::npos);
    CHECK(bad("[fe80::1%]").find("invalid IPv6") != std::string::npos);
}

TEST_CASE("address: ports", "[address]") {
    CHECK(ok("h:1").port == 1);
    CHECK(ok("h:65535").port == 65535);
    CHECK(ok("h:07878").port == 7878);
    for (auto text : {"h:0", "h:65536", "h:", "h:99999", "h:123456", "h:-1", "h:+1", "h:12a",
                      "h: 1", "[::1]:", "[::1]:0", "tls://h:70000"})
        CHECK(bad(text).find("invalid port") != std::string::npos);
}

TEST_CASE("address: hosts", "[address]") {
    CHECK(ok("backup.example.org").host == "backup.example.org");
    CHECK(ok("my_host-1").host == "my_host-1");
    CHECK(bad("").find("empty") != std::string::npos);
    CHECK(bad("256.0.0.1").find("invalid IPv4") != std::string::npos);
    CHECK(bad("10.1").find("invalid IPv4") != std::string::npos);
    CHECK(bad("bad host").find("invalid host name") != std::string::npos);
    CHECK(bad("h/x").find("invalid host name") != std::string::npos);
    CHECK(bad("udp://10.0.0.1") == "unknown scheme \"udp\"");
    CHECK(bad("://10.0.0.1").find("unknown scheme") != std::string::npos);
    // An empty host is syntactically fine (a `source` may bind any address);
    // the config validator refuses it for listen and remote.
    CHECK(ok("tcp://:7000").host.empty());
    CHECK(ok(":7000").port == 7000);
    CHECK(ok("tcp://").host.empty());
}

TEST_CASE("address: error pointer may be null", "[address]") {
    CHECK_FALSE(parse_address("h:0", nullptr).has_value());
    CHECK(parse_address("h:1", nullptr).has_value());
}

TEST_CASE("address: canonical form", "[address]") {
    CHECK(ok("tls://[::1]").to_string() == "tls://[::1]:7878");
    CHECK(ok("10.0.0.1").to_string() == "tcp://10.0.0.1:7878");
    CHECK(ok("tcp6://::1").to_string() == "tcp://[::1]:7878");
    CHECK(ok("tcp4://example.org:1").to_string() == "tcp4://example.org:1");
    CHECK(ok("tcp6://example.org").to_string() == "tcp6://example.org:7878");
    CHECK(ok("tls://example.org").to_string() == "tls://example.org:7878");
    // to_string() output parses back to the same spec.
    for (auto text : {"tls://[::1]:9", "tcp4://h", "tcp6://h:5", "1.2.3.4", "tls://[fe80::1%lo]"}) {
        auto a = ok(text);
        auto b = ok(a.to_string());
        CHECK(a.scheme == b.scheme);
        CHECK(a.family == b.family);
        CHECK(a.host == b.host);
        CHECK(a.port == b.port);
    }
}

TEST_CASE("address: errors about huge input stay short", "[address]") {
    auto error = bad(std::string(100000, 'x') + " y");
    CHECK(error.size() < 120);
}
