// Unit tests for tls_min_version (common/tls_version, common/config_tls):
// the statement in sender and receiver hosts with its errors and -n
// warnings, the texts of version refusals and legacy connections, and
// set_min_version on real OpenSSL objects (one connection, not the context).
#include "common/config.hpp"
#include "common/reload.hpp"
#include "common/tls.hpp"
#include "common/tls_version.hpp"
#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <openssl/ssl.h>

using namespace adist::common;
using adist::test::fp;

namespace {
config_result parse_receiver_host(const std::string& statement) {
    return parse_config("receiver {\n host fbsd {\n  remote 192.0.2.1\n  password pw\n" +
                            statement + "\n }\n}\n",
                        "test.conf", "myhost");
}
config_result parse_sender_host(const std::string& statement,
                                const std::string& remote = "tls://192.0.2.9") {
    std::string fingerprint = remote.rfind("tls://", 0) == 0 ? "  fingerprint " + fp + "\n" : "";
    return parse_config("sender {\n host col {\n  remote " + remote + "\n" + fingerprint +
                            "  password pw\n" + statement + "\n }\n}\n",
                        "test.conf", "myhost");
}
} // namespace

TEST_CASE("tls_version: names, wire values, order") {
    for (auto [text, v, wire] : {std::tuple{"1.0", tls_version::v1_0, 0x0301},
                                 {"1.1", tls_version::v1_1, 0x0302},
                                 {"1.2", tls_version::v1_2, 0x0303},
                                 {"1.3", tls_version::v1_3, 0x0304}}) {
        INFO(text);
        REQUIRE(parse_tls_version(text) == v);
        REQUIRE(to_string(v) == text);
        REQUIRE(wire_version(v) == wire);
        REQUIRE(from_wire(wire) == v);
    }
    for (auto bad : {"", "1", "1.4", "TLSv1", "1.0 ", "v1.2", "1,0"}) {
        INFO(bad);
        REQUIRE_FALSE(parse_tls_version(bad));
    }
    REQUIRE_FALSE(from_wire(0x0300)); // SSL 3.0
    REQUIRE_FALSE(from_wire(0x0305));
    REQUIRE_FALSE(from_wire(0));
    REQUIRE(is_legacy(tls_version::v1_1));
    REQUIRE_FALSE(is_legacy(tls_version::v1_2));
    REQUIRE(lowest_min_version({}) == tls_version::v1_2);
    REQUIRE(lowest_min_version({tls_version::v1_3, tls_version::v1_0, tls_version::v1_2}) ==
            tls_version::v1_0);
}

TEST_CASE("tls_min_version: default 1.2, per host on both sides") {
    auto r = parse_receiver_host("");
    REQUIRE(std::holds_alternative<config>(r));
    REQUIRE(std::get<config>(r).receivers[0].tls_min_version == tls_version::v1_2);
    REQUIRE(tls_warnings(std::get<config>(r), "test.conf").empty());
    auto legacy = parse_receiver_host("  tls_min_version \"1.0\"");
    REQUIRE(std::holds_alternative<config>(legacy));
    REQUIRE(std::get<config>(legacy).receivers[0].tls_min_version == tls_version::v1_0);
    auto s = parse_sender_host("  tls_min_version 1.1");
    REQUIRE(std::holds_alternative<config>(s));
    REQUIRE(std::get<config>(s).senders[0].tls_min_version == tls_version::v1_1);
    auto strict = parse_sender_host("  tls_min_version 1.3");
    REQUIRE(std::holds_alternative<config>(strict));
    REQUIRE(std::get<config>(strict).senders[0].tls_min_version == tls_version::v1_3);
    REQUIRE(tls_warnings(std::get<config>(strict), "test.conf").empty());
}

TEST_CASE("tls_min_version: -n warns with file:line for each legacy host") {
    auto r = parse_config("sender {\n host col {\n  remote tls://192.0.2.9\n  fingerprint " + fp +
                              "\n  password pw\n  tls_min_version 1.0\n }\n}\n"
                              "receiver {\n host fbsd {\n  remote 192.0.2.1\n  password pw\n"
                              "  tls_min_version \"1.1\"\n }\n}\n",
                          "test.conf", "myhost");
    REQUIRE(std::holds_alternative<config>(r));
    auto w = tls_warnings(std::get<config>(r), "test.conf");
    REQUIRE(w.size() == 2);
    REQUIRE(w[0].line == 6);
    REQUIRE(w[0].to_string().rfind("test.conf:6: sender host \"col\": tls_min_version \"1.0\" "
                                   "allows TLS 1.0 for this host",
                                   0) == 0);
    REQUIRE(w[1].line == 13);
    REQUIRE(w[1].message.find("receiver host \"fbsd\": tls_min_version \"1.1\"") == 0);
    REQUIRE(w[1].message.find("FreeBSD's auditdistd") != std::string::npos);
}

TEST_CASE("tls_min_version: errors name the line") {
    for (auto text : {"1.4", "TLSv1", "\"\"", "1"}) {
        INFO(text);
        auto r = parse_receiver_host(std::string("  tls_min_version ") + text);
        REQUIRE(std::holds_alternative<config_error>(r));
        auto e = std::get<config_error>(r);
        REQUIRE(e.line == 5);
        REQUIRE(e.message.rfind("tls_min_version must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\"",
                                0) == 0);
    }
    auto twice = parse_receiver_host("  tls_min_version 1.0\n  tls_min_version 1.0");
    REQUIRE(std::get<config_error>(twice).line == 6);
    // Only in host blocks.
    auto section = parse_config("receiver {\n tls_min_version 1.0\n}\n", "test.conf", "myhost");
    REQUIRE(std::get<config_error>(section).line == 2);
    auto global = parse_config("tls_min_version 1.0\n", "test.conf", "myhost");
    REQUIRE(std::get<config_error>(global).line == 1);
    // A TLS setting on a plain-tcp remote protects nothing: refused, with its line.
    auto plain = parse_sender_host("  tls_min_version 1.0", "tcp://192.0.2.9");
    REQUIRE(std::holds_alternative<config_error>(plain));
    REQUIRE(std::get<config_error>(plain).line == 5);
    REQUIRE(std::get<config_error>(plain).message ==
            "host \"col\": tls_min_version given but remote is not tls://");
}

TEST_CASE("version refusal texts say what happened and what to set") {
    REQUIRE(receiver_version_refusal("10.0.0.5", 0x0301, {"fbsd"}, tls_version::v1_2) ==
            "TLS handshake refused: peer 10.0.0.5 offered TLS 1.0 only, and host \"fbsd\" "
            "requires TLS 1.2 or later; set tls_min_version \"1.0\" in its host block to accept "
            "FreeBSD's auditdistd (TLS 1.0 only)");
    REQUIRE(receiver_version_refusal("10.0.0.5", 0x0302, {"a", "b"}, tls_version::v1_2) ==
            "TLS handshake refused: peer 10.0.0.5 offered TLS 1.1 at most, and hosts \"a\", \"b\" "
            "require TLS 1.2 or later; set tls_min_version \"1.1\" in its host block");
    // Unknown (or not below the minimum): no claim about what it offered.
    auto unknown = receiver_version_refusal("10.0.0.5", 0, {"fbsd"}, tls_version::v1_2);
    REQUIRE(unknown == "TLS handshake refused: peer 10.0.0.5 offered no TLS version that host "
                       "\"fbsd\" accepts (TLS 1.2 or later); set tls_min_version \"1.0\" in its "
                       "host block to accept FreeBSD's auditdistd (TLS 1.0 only)");
    REQUIRE(sender_version_refusal("tls://192.0.2.9:7878", 0x0301, tls_version::v1_2) ==
            "the receiver tls://192.0.2.9:7878 speaks TLS 1.0 only, and this host requires TLS "
            "1.2 or later; set tls_min_version \"1.0\" in this host block to accept FreeBSD's "
            "auditdistd (TLS 1.0 only)");
    REQUIRE(sender_version_refusal("tls://h:1", 0, tls_version::v1_2) ==
            "the receiver tls://h:1 accepts no TLS version this host offers (TLS 1.2 or later); "
            "set tls_min_version \"1.0\" in this host block to accept FreeBSD's auditdistd (TLS "
            "1.0 only)");
    REQUIRE(sender_version_refusal("tls://h:1", 0x0303, tls_version::v1_3) ==
            "the receiver tls://h:1 speaks TLS 1.2 at most, and this host requires TLS 1.3 or "
            "later; set tls_min_version \"1.2\" in this host block");
}

TEST_CASE("legacy connections warn, whatever they negotiate") {
    auto old = legacy_connection_warning("host \"fbsd\"", tls_version::v1_0, 0x0301);
    REQUIRE(old.rfind("TLS 1.0 in use with host \"fbsd\" (tls_min_version \"1.0\"): an obsolete "
                      "protocol",
                      0) == 0);
    auto modern = legacy_connection_warning("host \"fbsd\"", tls_version::v1_0, 0x0304);
    REQUIRE(modern == "host \"fbsd\" allows TLS 1.0 (tls_min_version \"1.0\") but this "
                      "connection uses TLS 1.3; if all its peers speak TLS 1.2, remove "
                      "tls_min_version \"1.0\"");
}

TEST_CASE("a close without TLS shutdown is not lost data") {
    auto boundary = closed_without_tls_shutdown(0);
    REQUIRE(boundary.find("without a TLS shutdown") != std::string::npos);
    REQUIRE(boundary.find("between frames; nothing acknowledged was lost") != std::string::npos);
    auto partial = closed_without_tls_shutdown(1000);
    REQUIRE(partial.find("in the middle of a frame: its 1000 bytes") != std::string::npos);
    REQUIRE(partial.find("sends them again") != std::string::npos);
}

TEST_CASE("a reload that changes tls_min_version changes the host") {
    auto text = [](std::string_view v) {
        return "sender {\n host col {\n  remote tls://192.0.2.9\n  fingerprint " + fp +
               "\n  password pw\n  tls_min_version " + std::string(v) +
               "\n }\n}\nreceiver {\n host fbsd {\n  remote 192.0.2.1\n  password pw\n"
               "  tls_min_version " +
               std::string(v) + "\n }\n}\n";
    };
    auto running = adist::test::parse(text("1.2"));
    auto same = plan_reload(running, adist::test::parse(text("\"1.2\"")));
    REQUIRE(same.receiver_hosts_changed.empty());
    REQUIRE(same.sender_hosts_changed.empty());
    auto plan = plan_reload(running, adist::test::parse(text("1.0")));
    REQUIRE(plan.receiver_hosts_changed == std::vector<std::string>{"fbsd"});
    REQUIRE(plan.sender_hosts_changed == std::vector<std::string>{"col"});
}

TEST_CASE("set_min_version lowers one SSL object only; the context keeps TLS 1.2+") {
    auto ctx = make_client_context();
    auto* native = ctx.native_handle();
    int level = SSL_CTX_get_security_level(native);
    std::unique_ptr<SSL, decltype(&SSL_free)> legacy(SSL_new(native), SSL_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> plain(SSL_new(native), SSL_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> strict(SSL_new(native), SSL_free);
    set_min_version(legacy.get(), tls_version::v1_0);
    set_min_version(plain.get(), tls_version::v1_2);
    set_min_version(strict.get(), tls_version::v1_3);
    REQUIRE(SSL_get_min_proto_version(legacy.get()) == TLS1_VERSION);
    REQUIRE(SSL_get_security_level(legacy.get()) == 0);
    REQUIRE(SSL_get_min_proto_version(plain.get()) == TLS1_2_VERSION);
    REQUIRE(SSL_get_security_level(plain.get()) == level);
    REQUIRE(SSL_get_min_proto_version(strict.get()) == TLS1_3_VERSION);
    REQUIRE(SSL_get_security_level(strict.get()) == level);
    // The context, and so every other connection, is unchanged.
    REQUIRE(SSL_CTX_get_min_proto_version(native) == TLS1_2_VERSION);
    REQUIRE(SSL_CTX_get_security_level(native) == level);
    std::unique_ptr<SSL, decltype(&SSL_free)> later(SSL_new(native), SSL_free);
    REQUIRE(SSL_get_min_proto_version(later.get()) == TLS1_2_VERSION);
    // The legacy object offers the SHA-1 CBC suite FreeBSD negotiates; the
    // plain one does not.
    auto offers = [](SSL* ssl, std::string_view name) {
        auto* list = SSL_get1_supported_ciphers(ssl);
        bool found = false;
        for (int i = 0; list != nullptr && i < sk_SSL_CIPHER_num(list); ++i)
            found = found || name == SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i));
        sk_SSL_CIPHER_free(list);
        return found;
    };
    REQUIRE(offers(legacy.get(), "ECDHE-RSA-AES256-SHA"));
    REQUIRE_FALSE(offers(plain.get(), "ECDHE-RSA-AES256-SHA"));
    REQUIRE(offers(plain.get(), "ECDHE-RSA-AES256-GCM-SHA384"));
}
