// Unit tests for common/config: the auditdistd.conf grammar, FreeBSD's
// defaults and inheritance, the man page samples, and every error with its line.
#include "common/config.hpp"

#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace adist::common;

namespace {

using adist::test::fp;

config ok(const std::string& text, std::string_view default_name = "myhost") {
    auto result = parse_config(text, "test.conf", default_name);
    if (auto* e = std::get_if<config_error>(&result)) FAIL(e->to_string() << "\n---\n" << text);
    return std::get<config>(result);
}

config_error err(const std::string& text, std::string_view default_name = "myhost") {
    auto result = parse_config(text, "test.conf", default_name);
    INFO("config:\n" << text);
    REQUIRE(std::holds_alternative<config_error>(result));
    auto e = std::get<config_error>(result);
    CHECK(e.file == "test.conf");
    return e;
}

int line_of(const std::string& text, std::string_view needle) {
    auto pos = text.find(needle);
    REQUIRE(pos != std::string::npos);
    return 1 + int(std::count(text.begin(), text.begin() + long(pos), '\n'));
}

// A minimal valid sender host block.
std::string sender_block(std::string name, std::string extra = "") {
    return "host " + name + " {\n remote tls://10.0.0.4\n fingerprint " + fp + "\n password pw\n" +
           extra + "}\n";
}

const std::string man_page_sample = R"(## Global section.

# Our name.
# The default is first part of the hostname.
name "webserv"

# Connection timeout.
# The default is 5.
timeout 30

# Path to pidfile.
# The default is "/var/run/auditdistd.pid".
pidfile "/var/run/adist.pid"

sender {
	## Sender section.

	# Source address for connections.
	# Optional.
	source "10.0.0.1"

	# Directory with audit trail files managed by auditdistd.
	# The default is /var/audit/dist.
	directory "/var/audit/dist/"

	# Configuration for the target system we want to send audit trail
	# files to.
	host "backup" {
		# Source address for connections.
		# Optional.
		source "tcp://10.0.0.2"

		# Address of auditdistd receiver.
		# No default. Obligatory.
		remote "tls://10.0.0.4:7878"

		# Directory with audit trail files managed by auditdistd.
		# The default is /var/audit/dist.
		directory "/var/audit/dist/backup"

		# Fingerprint of the receiver's public key when using TLS
		# for connection.
		# Example fingerprint:
		# SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B
		fingerprint "SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"

		# Password used to authenticate in front of the receiver.
		password "correct horse battery"
	}

	# Currently local audit trail files can be send only to one remote
	# auditdistd receiver, but this can change in the future.
}

receiver {
	## Receiver section.

	# Address to listen on. Multiple listen addresses might be specified.
	# The defaults are "tcp4://0.0.0.0:7878" and "tcp6://[::]:7878".
	listen "tls://0.0.0.0:7878"

	# Base directory.
	# If directory in host section is no absolute, it will be concatenated
	# with this base directory.
	# The default is "/var/audit/remote".
	directory "/srv/audit"

	# Path to receiver's certificate file.
	# The default is "/etc/security/auditdistd.cert.pem".
	certfile "/etc/adist/cert.pem"

	# Path to receiver's private key file.
	# The default is "/etc/security/auditdistd.key.pem".
	keyfile "/etc/adist/key.pem"

	# Configuration for a source system we want to receive audit trail
	# files from.
	host "mailserv" {
		# Sender address.
		# No default. Obligatory.
		remote "10.0.0.2"

		# Directory where to store audit trail files received
		# from system <name>.
		# The default is "<basedir>/<name>".
		directory "mail"

		# Password used by the sender to authenticate.
		password "staple"
	}

	# Multiple hosts to receive from can be configured.
}
)";

} // namespace

TEST_CASE("config: empty file gets FreeBSD's defaults", "[config]") {
    for (std::string text : {"", "\n\n", "# only a comment\n", "  \t\r\n"}) {
        auto cfg = ok(text);
        CHECK(cfg.name == "myhost");
        CHECK(cfg.pidfile == "/var/run/auditdistd.pid");
        CHECK(cfg.timeout == 20);
        CHECK_FALSE(cfg.has_sender);
        CHECK_FALSE(cfg.has_receiver);
        CHECK(cfg.listen.empty()); // no receiver section: nothing to listen on
        CHECK(cfg.receiver_directory == "/var/audit/remote");
        CHECK(cfg.certfile == "/etc/security/auditdistd.cert.pem");
        CHECK(cfg.keyfile == "/etc/security/auditdistd.key.pem");
    }
}

TEST_CASE("config: the man page's full syntax sample", "[config]") {
    auto cfg = ok(man_page_sample);
    CHECK(cfg.name == "webserv");
    CHECK(cfg.timeout == 30);
    CHECK(cfg.pidfile == "/var/run/adist.pid");
    REQUIRE(cfg.senders.size() == 1);
    const auto& s = cfg.senders[0];
    CHECK(s.name == "backup");
    CHECK(s.line == line_of(man_page_sample, "host \"backup\""));
    CHECK(s.remote.to_string() == "tls://10.0.0.4:7878");
    REQUIRE(s.source);
    CHECK(s.source->to_string() == "tcp://10.0.0.2:7878");
    CHECK_FALSE(s.source->port_given);
    CHECK(s.directory == "/var/audit/dist/backup");
    REQUIRE(s.fingerprint);
    CHECK(adist::proto::format_fingerprint(*s.fingerprint) == fp);
    CHECK(s.password == "correct horse battery");

    REQUIRE(cfg.listen.size() == 1);
    CHECK(cfg.listen[0].to_string() == "tls://0.0.0.0:7878");
    CHECK(cfg.receiver_directory == "/srv/audit");
    CHECK(cfg.certfile == "/etc/adist/cert.pem");
    CHECK(cfg.keyfile == "/etc/adist/key.pem");
    REQUIRE(cfg.receivers.size() == 1);
    const auto& r = cfg.receivers[0];
    CHECK(r.name == "mailserv");
    CHECK(r.line == line_of(man_page_sample, "host \"mailserv\""));
    CHECK(r.remote.host == "10.0.0.2");
    CHECK(r.directory == "/srv/audit/mail"); // relative: joined to the base directory
    CHECK(r.password == "staple");
}

TEST_CASE("config: the man page's unquoted examples", "[config]") {
    const std::string web = "sender {\n\thost backup {\n\t\tremote 10.0.0.4\n\t}\n}\n";
    auto e = err(web); // the man page omits the password, which we refuse
    CHECK(e.line == 2);
    CHECK(e.message == "host \"backup\": no password");
    CHECK(e.to_string() == "test.conf:2: host \"backup\": no password");

    auto cfg = ok("sender {\n\thost backup {\n\t\tremote 10.0.0.4\n\t\tpassword \"x\"\n\t}\n}\n");
    REQUIRE(cfg.senders.size() == 1);
    CHECK(cfg.senders[0].remote.scheme == scheme::tcp); // bare: plain tcp, no pin needed
    CHECK(cfg.senders[0].remote.to_string() == "tcp://10.0.0.4:7878");
    CHECK(cfg.senders[0].directory == "/var/audit/dist");
    CHECK_FALSE(cfg.senders[0].source);

    const std::string backup = "receiver {\n\thost webserv {\n\t\tremote 10.0.0.1\n\t}\n"
                               "\thost mailserv {\n\t\tremote 10.0.0.2\n\t}\n"
                               "\thost dnsserv {\n\t\tremote 10.0.0.3\n\t}\n}\n";
    e = err(backup);
    CHECK(e.line == 2);
    CHECK(e.message == "host \"webserv\": no password");

    std::string with_pw = backup;
    for (auto pos = with_pw.find("\t}"); pos != std::string::npos;
         pos = with_pw.find("\t}", pos + 20))
        with_pw.insert(pos, "\t\tpassword x\n");
    cfg = ok(with_pw);
    REQUIRE(cfg.receivers.size() == 3);
    CHECK(cfg.receivers[2].name == "dnsserv");
    CHECK(cfg.receivers[2].line == 10);
    CHECK(cfg.receivers[2].directory == "/var/audit/remote/dnsserv");
    REQUIRE(cfg.listen.size() == 2); // FreeBSD's defaults
    CHECK(cfg.listen[0].to_string() == "tls://0.0.0.0:7878");
    CHECK(cfg.listen[0].family == family::v4);
    CHECK(cfg.listen[1].to_string() == "tls://[::]:7878");
    CHECK(cfg.listen[1].family == family::v6);
}

TEST_CASE("config: sender inheritance and overrides", "[config]") {
    auto cfg = ok("sender {\n source 10.0.0.9\n directory /d//\n" + sender_block("a") +
                  sender_block("b", " source tcp6://[::1]\n directory /other\n") + "}\n");
    REQUIRE(cfg.senders.size() == 2);
    REQUIRE(cfg.senders[0].source);
    CHECK(cfg.senders[0].source->host == "10.0.0.9");
    CHECK(cfg.senders[0].directory == "/d"); // trailing slashes stripped
    REQUIRE(cfg.senders[1].source);
    CHECK(cfg.senders[1].source->host == "::1");
    CHECK(cfg.senders[1].directory == "/other");
    CHECK(cfg.has_sender);
    CHECK_FALSE(cfg.has_receiver);
}

TEST_CASE("config: receiver directories and listen", "[config]") {
    auto cfg = ok("receiver {\n listen tcp://127.0.0.1:9000\n listen \"tls://[::1]\"\n"
                  " host a { remote 10.0.0.1 password p }\n"
                  " host b { remote 10.0.0.2 password p directory rel/dir/ }\n"
                  " host c { remote 10.0.0.3 password p directory /abs/c }\n"
                  " directory /base/\n}\n");
    REQUIRE(cfg.listen.size() == 2);
    CHECK(cfg.listen[0].to_string() == "tcp://127.0.0.1:9000");
    CHECK(cfg.listen[1].to_string() == "tls://[::1]:7878");
    CHECK(cfg.receiver_directory == "/base");
    REQUIRE(cfg.receivers.size() == 3);
    CHECK(cfg.receivers[0].directory == "/base/a"); // base given after the hosts still applies
    CHECK(cfg.receivers[1].directory == "/base/rel/dir");
    CHECK(cfg.receivers[2].directory == "/abs/c");
}

TEST_CASE("config: directories have one spelling; \"..\" is refused", "[config]") {
    auto cfg = ok("receiver {\n directory \"//base/./x//\"\n"
                  " host a { remote 10.0.0.1 password p directory ./a }\n"
                  " host b { remote 10.0.0.2 password p directory \"b//\" }\n}\n");
    CHECK(cfg.receiver_directory == "/base/x");
    CHECK(cfg.receivers[0].directory == "/base/x/a");
    CHECK(cfg.receivers[1].directory == "/base/x/b");
    // ./web1, //web1 and web1 are one directory: two hosts cannot share it.
    for (const char* other : {"./web1", "web1/", ".//web1", "/var/audit/remote/web1"}) {
        auto e = err(std::string("receiver {\n host a { remote 10.0.0.1 password p directory web1 }\n"
                                 " host b { remote 10.0.0.2 password p directory \"") +
                     other + "\" }\n}\n");
        CHECK_THAT(e.message, Catch::Contains("is already used by host \"a\""));
    }
    for (const char* bad : {"../escape", "a/../../etc", "/var/audit/../../etc", ".."}) {
        auto e = err(std::string("receiver {\n host a { remote 10.0.0.1 password p directory \"") +
                     bad + "\" }\n}\n");
        CHECK_THAT(e.message, Catch::Contains("must not contain \"..\""));
    }
    auto s = ok("sender {\n directory \"/var//audit/./dist/\"\n" + sender_block("a") + "}\n");
    CHECK(s.senders[0].directory == "/var/audit/dist");
}

TEST_CASE("config: listen takes IP addresses only, as the receiver binds them", "[config]") {
    auto cfg = ok("receiver {\n listen \"tls://[::1]:7000\"\n listen tcp4://127.0.0.1:7001\n"
                  " host a { remote 10.0.0.1 password p }\n}\n");
    CHECK(cfg.listen.size() == 2);
    for (const char* name : {"tls://localhost:7878", "tcp://collector.example"}) {
        auto e = err(std::string("receiver {\n\n listen \"") + name + "\"\n}\n");
        CHECK(e.line == 3);
        CHECK_THAT(e.message, Catch::Contains("is not an IP address"));
    }
}

TEST_CASE("config: keywords in value position are plain values", "[config]") {
    auto cfg =
        ok("name timeout\nsender {\n host sender {\n remote tls://receiver\n fingerprint " + fp +
           "\n password password\n }\n}\nreceiver {\n host sender {\n remote 1.2.3.4\n"
           " password listen\n }\n}\n");
    CHECK(cfg.name == "timeout");
    CHECK(cfg.senders[0].name == "sender");
    CHECK(cfg.senders[0].remote.host == "receiver");
    CHECK(cfg.senders[0].password == "password");
    CHECK(cfg.receivers[0].name == "sender"); // same name in both roles is fine
    CHECK(cfg.receivers[0].password == "listen");
}

TEST_CASE("config: strings, comments, numbers and line endings", "[config]") {
    auto cfg = ok("name \"my host # not a comment\" # a comment\r\n"
                  "timeout 0300#comment\r\n"
                  "receiver{host \"h 1\"{remote 10.0.0.1 password \"a b{c}\"}}\r\n");
    CHECK(cfg.name == "my host # not a comment");
    CHECK(cfg.timeout == 300);
    CHECK(cfg.receivers[0].name == "h 1");
    CHECK(cfg.receivers[0].password == "a b{c}");
    CHECK(cfg.receivers[0].directory == "/var/audit/remote/h 1");

    auto crlf = err("name a\r\n\r\nreceiver {\r\n host h {\r\n remote 1.2.3.4\r\n }\r\n}\r\n");
    CHECK(crlf.line == 4);
    CHECK(crlf.message == "host \"h\": no password");
    CHECK(ok("pidfile none").pidfile == "none");
    CHECK(ok("timeout 86400").timeout == 86400);
    CHECK(ok("name caf\xc3\xa9").name == "caf\xc3\xa9");
}

TEST_CASE("config: errors carry the offending line", "[config]") {
    struct error_case {
        std::string text;
        int line;
        std::string message;
    };
    const std::string s1 = "sender {\n" + sender_block("a"); // host "a" spans lines 2-6
    const std::string r1 = "receiver {\n host a {\n  remote 10.0.0.1\n  password pw\n";
    const std::vector<error_case> cases = {
        {"name a\nbogus 1", 2, "unknown keyword \"bogus\""},
        {"\n\nsender {\n listen 0.0.0.0\n}", 4, "\"listen\" is not allowed in the sender section"},
        {"sender {\n name x\n}", 2, "\"name\" is not allowed in the sender section"},
        {"host a { }", 1, "\"host\" is not allowed in the global section"},
        {"receiver {\n source 1.2.3.4\n}", 2, "\"source\" is not allowed in the receiver section"},
        {r1 + "  fingerprint " + fp + "\n }\n}", 5,
         "\"fingerprint\" is not allowed in the receiver host section"},
        {s1 + " host b {\n  listen x\n", 8, "\"listen\" is not allowed in the sender host section"},
        {"name a\nname b", 2, "\"name\" is given twice in the global section"},
        {"timeout 5 timeout 6", 1, "\"timeout\" is given twice in the global section"},
        {"sender {\n}\nsender {\n}", 3, "\"sender\" is given twice in the global section"},
        {r1 + "  password pw2\n }\n}", 5,
         "\"password\" is given twice in the receiver host section"},
        {"receiver {\n directory /a\n directory /b\n}", 3,
         "\"directory\" is given twice in the receiver section"},
        {"sender {\n host a {\n remote 1.2.3.4\n", 2, "host \"a\" is not closed (missing \"}\")"},
        {"\nsender {", 2, "sender section is not closed (missing \"}\")"},
        {"name a\n}", 2, "unexpected \"}\""},
        {"{", 1, "unexpected \"{\""},
        {"sender {\n {\n}", 2, "unexpected \"{\""},
        {"\n\nname \"abc", 3, "unterminated quoted string"},
        {"name \"abc\ndef\"", 1, "unterminated quoted string"},
        {"name \"abc\r\n\"", 1, "unterminated quoted string"},
        {"\nname \"a\x01"
         "b\"",
         2, "control character in quoted string"},
        {"name a\x7f", 1, "invalid character 0x7F"},
        {"\n\"name\" x", 2, "expected a keyword, found a quoted string"},
        {"name", 1, "\"name\" needs a value"},
        {"sender {\n host\n}", 2, "\"host\" needs a value"},
        {"sender host", 1, "expected \"{\" after \"sender\""},
        {"receiver", 1, "expected \"{\" after \"receiver\""},
        {"sender {\n host a\n remote x }", 3, "expected \"{\" after host \"a\""},
        {"sender {\n host a {\n  password x\n }\n}", 2, "host \"a\": no remote"},
        {"sender {\n host a {\n  remote tls://1.2.3.4\n  password x\n }\n}", 2,
         "host \"a\": remote is tls:// but no fingerprint is given"},
        {"sender {\n host a {\n  remote 1.2.3.4\n  password x\n  fingerprint " + fp + "\n }\n}", 2,
         "host \"a\": fingerprint given but remote is not tls://"},
        {"sender {\n host a {\n  fingerprint SHA1=00:11\n }\n}", 3, "invalid fingerprint"},
        {"sender {\n host a {\n  fingerprint " + fp.substr(0, 92) + "\n }\n}", 3,
         "invalid fingerprint"},
        {r1 + " }\n host b {\n  password \"\"\n", 7, "password is empty"},
        {"receiver {\n host a {\n  password " + std::string(256, 'p') + "\n", 3,
         "password is longer than 255 bytes"},
        {"receiver {\n host a {\n  password ab#cd\n }\n}", 3, "quote the password"},
        {"receiver {\n\n host a {\n  remote 1.2.3.4\n }\n}", 3, "host \"a\": no password"},
        {s1 + sender_block("a", " directory /x\n") + "}", 7,
         "sender host \"a\" is configured more than once"},
        {r1 + " }\n host a {\n remote 1.2.3.5\n password p\n }\n}", 6,
         "receiver host \"a\" is configured more than once"},
        {r1 + " }\n host b {\n remote 1.2.3.5\n password p\n directory /var/audit/remote/a/\n }\n}",
         6, "receiver host \"b\": directory \"/var/audit/remote/a\" is already used by host \"a\""},
        {"sender {\n host a {\n  remote 1.2.3.4:99999\n", 3, "remote: invalid port \"99999\""},
        {"sender {\n host a {\n  remote udp://1.2.3.4\n", 3, "remote: unknown scheme \"udp\""},
        {"sender {\n source \"[::1\"\n}", 2, "source: missing \"]\""},
        {"receiver {\n listen \"tcp://:7878\"\n}", 2, "listen: no host in address \"tcp://:7878\""},
        {"receiver {\n host a {\n  remote \":1\"\n", 3, "remote: no host in address"},
        {"receiver {\n listen \"\"\n}", 2, "listen: empty address"},
        {"name " + std::string(256, 'n'), 1, "name is longer than 255 bytes"},
        {"name \"\"", 1, "name is empty"},
        {"sender {\n host \"a/b\" {\n", 2, "host name \"a/b\" must not contain \"/\" or NUL"},
        {"sender {\n host \"\" {\n", 2, "host name is empty"},
        {"receiver {\n host .. {\n", 2, "host name \"..\" is not allowed"},
        {"receiver {\n host " + std::string(256, 'h') + " {\n", 2,
         "host name is longer than 255 bytes"},
        {"receiver {\n certfile cert.pem\n}", 2, "certfile must be an absolute path"},
        {"receiver {\n keyfile \"\"\n}", 2, "keyfile must be an absolute path"},
        {"pidfile run/a.pid", 1, "pidfile must be an absolute path or \"none\""},
        {"timeout 0", 1, "timeout must be a number of seconds from 1 to 86400"},
        {"timeout 86401", 1, "timeout must be a number of seconds from 1 to 86400"},
        {"timeout 99999999999", 1, "timeout must be a number of seconds from 1 to 86400"},
        {"timeout -5", 1, "timeout must be a number of seconds from 1 to 86400"},
        {"sender {\n directory var/dist\n}", 2, "directory must be an absolute path"},
        {"sender {\n host a {\n directory rel\n", 3, "directory must be an absolute path"},
        {"receiver {\n directory rel\n}", 2, "directory must be an absolute path"},
        {"receiver {\n directory \"/\"\n}", 2, "directory must not be empty or \"/\""},
        {"receiver {\n host a {\n directory \"\"\n", 3, "directory must not be empty or \"/\""},
    };
    for (const auto& c : cases) {
        auto e = err(c.text);
        INFO("config:\n" << c.text << "\nerror: " << e.to_string());
        CHECK(e.line == c.line);
        CHECK(e.message.find(c.message) != std::string::npos);
    }
}

TEST_CASE("config: errors about huge input stay short", "[config]") {
    auto e = err("name a\n" + std::string(1 << 20, 'k'));
    CHECK(e.line == 2);
    CHECK(e.message.size() < 100);
}

TEST_CASE("config: errors without a line", "[config]") {
    auto e = err("", "");
    CHECK(e.line == 0);
    CHECK(e.to_string() == "test.conf: no \"name\" given and the host name is unknown");
    CHECK(err("", std::string(256, 'x')).message.find("longer than 255") != std::string::npos);
    CHECK(ok("name given", "").name == "given");
}

TEST_CASE("config: a password never appears in an error", "[config]") {
    const std::string secret = "Zq9s3cretXy";
    const std::vector<std::string> malformed = {
        "password " + secret,
        "receiver {\n host a {\n  password \"" + secret + "\n",
        "receiver {\n host a {\n  password " + secret + " junk\n",
        "receiver {\n host a {\n  password junk " + secret + "\n",
        "receiver {\n host a {\n  password " + secret + "#x\n",
        "receiver {\n host a {\n  password \"" + secret + "\x01\"\n",
        "receiver {\n host a {\n  password\n" + secret + "\n",
        "receiver {\n host a {\n  password \"x\"" + secret + "\n",
        "receiver {\n host a {\n  password" + secret + "\n",
        "receiver {\n host a {\n  password = \"" + secret + "\"\n }\n}",
        "receiver {\n host a {\n  password " + secret.substr(0, 4) + "\n" + secret.substr(4) +
            " }\n}",
        "receiver {\n host " + secret + " {\n  password " + secret + "\n }\n}",
        "sender {\n host a {\n remote \"" + secret + " x\"\n password " + secret + "\n }\n}",
        "sender {\n password " + secret + "\n}",
        "receiver {\n host a { remote password " + secret + " }\n}",
        "sender {\n host a {\n remote \"" + std::string(300, 'x') + secret + "\"\n password " +
            std::string(300, 'x') + secret + "\n }\n}",
        "sender {\n host a {\n remote \"" + secret + std::string(300, 'x') + "\"\n password " +
            secret + std::string(200, 'x') + "\n }\n}",
    };
    auto check = [&](const std::string& text) {
        auto result = parse_config(text, "t", "h");
        if (auto* e = std::get_if<config_error>(&result)) {
            INFO("config:\n" << text << "\nerror: " << e->to_string());
            CHECK(e->to_string().find(secret) == std::string::npos);
            CHECK(e->to_string().find(secret.substr(4)) == std::string::npos);
        }
    };
    for (const auto& text : malformed) {
        CHECK(std::holds_alternative<config_error>(parse_config(text, "t", "h")));
        check(text);
    }
    // Every single-character deletion or insertion of a valid config.
    const std::string valid = "sender {\n host a {\n  remote tls://10.0.0.4\n  fingerprint " + fp +
                              "\n  password " + secret +
                              "\n }\n}\nreceiver {\n host b {\n  remote "
                              "10.0.0.5\n  password \"" +
                              secret + "\"\n }\n}\n";
    ok(valid);
    for (std::size_t i = 0; i <= valid.size(); ++i) {
        if (i < valid.size()) check(valid.substr(0, i) + valid.substr(i + 1));
        for (char c : std::string("{}\"# \n\x01="))
            check(valid.substr(0, i) + c + valid.substr(i));
    }
}

TEST_CASE("config: the samples' placeholders are refused at their line", "[config]") {
    const std::string placeholder(sample_password_placeholder);
    const std::string zeros = adist::proto::format_fingerprint(sample_fingerprint_placeholder);
    REQUIRE(zeros.substr(0, 12) == "SHA256=00:00");

    const std::string receiver = "receiver {\n host web1 {\n  remote 192.0.2.10\n"
                                 "  password \"" + placeholder + "\"\n }\n}\n";
    auto e = err(receiver);
    CHECK(e.line == 4);
    CHECK(e.message.find("host \"web1\": password is still the placeholder of the sample "
                         "configuration; set a long random secret (openssl rand -base64 32)") == 0);
    CHECK(e.to_string().find(placeholder) == std::string::npos); // never shows a password

    const std::string sender_pw = "sender {\n host collector {\n  remote tls://198.51.100.5\n"
                                  "  password \"" + placeholder + "\"\n  fingerprint " + fp +
                                  "\n }\n}\n";
    e = err(sender_pw);
    CHECK(e.line == 4);
    CHECK(e.message.find("password is still the placeholder") != std::string::npos);

    const std::string sender_fp = "sender {\n host collector {\n  remote tls://198.51.100.5\n"
                                  "  password \"a long random secret\"\n\n  fingerprint \"" +
                                  zeros + "\"\n }\n}\n";
    e = err(sender_fp);
    CHECK(e.line == 6);
    CHECK(e.message == "host \"collector\": fingerprint is still the placeholder of the sample "
                       "configuration; paste what \"auditdistd fingerprint\" prints on the receiver");

    // Only the literal placeholders: a password that merely contains it, or
    // any other fingerprint, is the administrator's choice.
    ok("receiver {\n host web1 {\n  remote 192.0.2.10\n  password \"" + placeholder +
       "!\"\n }\n}\n");
    auto one = zeros;
    one.back() = '1';
    ok("sender {\n host c {\n  remote tls://198.51.100.5\n  password x\n  fingerprint " + one +
       "\n }\n}\n");
}

TEST_CASE("config: load_config reads a file", "[config]") {
    char path[] = "/tmp/adist_config_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << "name fromfile\ntimeout 7\n";
    auto result = load_config(path);
    REQUIRE(std::holds_alternative<config>(result));
    CHECK(std::get<config>(result).timeout == 7);
    std::ofstream(path) << "timeout x\n";
    result = load_config(path);
    REQUIRE(std::holds_alternative<config_error>(result));
    CHECK(std::get<config_error>(result).to_string() ==
          std::string(path) + ":1: timeout must be a number of seconds from 1 to 86400");
    std::remove(path);

    result = load_config(path);
    REQUIRE(std::holds_alternative<config_error>(result));
    CHECK(std::get<config_error>(result).line == 0);
    CHECK(std::get<config_error>(result).message.find("cannot open") != std::string::npos);
    result = load_config("/tmp");
    REQUIRE(std::holds_alternative<config_error>(result));
    CHECK(std::get<config_error>(result).message.find("cannot read") != std::string::npos);
}

TEST_CASE("config: short_hostname is the first label", "[config]") {
    CHECK(short_hostname().find('.') == std::string::npos);
}
