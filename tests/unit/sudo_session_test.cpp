// Unit tests for the collector's sudo side (collector/sudo_frame.cpp,
// sudo_session.cpp, sudo_text.cpp) and the sudo section of the
// configuration: frame decoding at every cut, the session decider's
// refusals, records sealed with their CRC-32, base64 both ways.
#include "collector/sudo_frame.hpp"
#include "collector/sudo_session.hpp"
#include "collector/sudo_text.hpp"
#include "common/config.hpp"
#include "sudo/sudo_frames.h"

#include <catch2/catch.hpp>

using namespace adist::collector;

namespace {

std::string be(std::uint64_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i)
        s += char((v >> (8 * i)) & 0xFF);
    return s;
}

std::string header(unsigned type, std::size_t length, std::uint64_t seq, std::uint64_t t = 0) {
    return be(length, 4) + char(type) + char(ADIST_SUDO_VERSION) + std::string(2, '\0') +
           be(seq, 8) + be(t, 8);
}

std::string field(unsigned tag, std::string_view v) {
    return char(tag) + be(v.size(), 4) + std::string(v);
}

std::string open_payload() {
    return field(ADIST_SUDO_TAG_START, be(1700000000, 8) + be(5, 4)) +
           field(ADIST_SUDO_TAG_USER_INFO, "user=alice") +
           field(ADIST_SUDO_TAG_COMMAND_INFO, "command=/bin/sh") +
           field(ADIST_SUDO_TAG_ARGV, "sh") + field(ADIST_SUDO_TAG_RUNAS_USER, "root");
}

std::string data_payload(unsigned stream, std::uint64_t offset, std::string_view bytes,
                         bool withheld = false) {
    return char(stream) + std::string(1, withheld ? char(ADIST_SUDO_WITHHELD) : '\0') +
           be(offset, 8) + be(bytes.size(), 4) + (withheld ? "" : std::string(bytes));
}

sudo_frame frame(unsigned type, std::string payload, std::uint64_t seq, std::uint64_t t = 0) {
    auto h = decode_sudo_header(header(type, payload.size(), seq, t));
    REQUIRE(std::holds_alternative<sudo_frame_header>(h));
    auto f = decode_sudo_payload(std::get<sudo_frame_header>(h), payload);
    REQUIRE(std::holds_alternative<sudo_frame>(f));
    return std::get<sudo_frame>(f);
}

record_base base(std::uint64_t seq) {
    return {seq, 1700000000000000000, "web1", "boot"};
}

} // namespace

TEST_CASE("sudo frames: an open decodes its fields, every cut is refused") {
    auto p = open_payload();
    auto f = frame(ADIST_SUDO_OPEN, p, 0);
    const auto& o = std::get<sudo_open>(f.body);
    CHECK(o.start_sec == 1700000000);
    CHECK(o.start_nsec == 5);
    CHECK(o.user_info == std::vector<std::string>{"user=alice"});
    CHECK(o.argv == std::vector<std::string>{"sh"});
    CHECK(o.runas_user == "root");
    auto h = std::get<sudo_frame_header>(decode_sudo_header(header(ADIST_SUDO_OPEN, p.size(), 0)));
    for (std::size_t cut = 0; cut < p.size(); ++cut) {
        auto shorter = h;
        shorter.length = std::uint32_t(cut);
        auto r = decode_sudo_payload(shorter, std::string_view(p).substr(0, cut));
        // A cut at a field boundary still lacks nothing but later fields;
        // only the start time is required, and it comes first.
        if (cut < 17) CHECK(std::holds_alternative<std::string>(r));
    }
}

TEST_CASE("sudo frames: headers with a bad version, type, length or reserved byte are refused") {
    auto good = header(ADIST_SUDO_DATA, 20, 3, 9);
    CHECK(std::holds_alternative<sudo_frame_header>(decode_sudo_header(good)));
    auto bad = good;
    bad[5] = 2;
    CHECK(std::holds_alternative<std::string>(decode_sudo_header(bad)));
    bad = good;
    bad[4] = 9;
    CHECK(std::holds_alternative<std::string>(decode_sudo_header(bad)));
    bad = good;
    bad[6] = 1;
    CHECK(std::holds_alternative<std::string>(decode_sudo_header(bad)));
    CHECK(std::holds_alternative<std::string>(
        decode_sudo_header(header(ADIST_SUDO_DATA, ADIST_SUDO_MAX_PAYLOAD + 1, 0))));
    CHECK(std::holds_alternative<std::string>(decode_sudo_header(good.substr(1))));
}

TEST_CASE("sudo frames: data whose count does not match its bytes is refused") {
    auto h = std::get<sudo_frame_header>(decode_sudo_header(header(ADIST_SUDO_DATA, 17, 1)));
    auto p = data_payload(ADIST_SUDO_TTYOUT, 0, "abc");
    CHECK(std::holds_alternative<sudo_frame>(decode_sudo_payload(h, p)));
    p[13] = 4; // count 4, three bytes
    CHECK(std::holds_alternative<std::string>(decode_sudo_payload(h, p)));
    p = data_payload(7, 0, "abc"); // no such stream
    CHECK(std::holds_alternative<std::string>(decode_sudo_payload(h, p)));
}

TEST_CASE("sudo session: records in order and sealed, gaps and disorder refused") {
    sudo_session s("0123456789abcdef0123456789abcdef", {42, 0});
    auto first = s.step(frame(ADIST_SUDO_DATA, data_payload(4, 0, "x"), 0), base(1));
    CHECK(first.error == "the first frame is not an open");
    auto open = s.step(frame(ADIST_SUDO_OPEN, open_payload(), 0), base(1));
    REQUIRE(open.error.empty());
    CHECK(open.line.starts_with("{\"type\":\"open\",\"seq\":1,"));
    CHECK(record_seq(open.line) == 1u);
    CHECK(record_sealed(std::string_view(open.line).substr(0, open.line.size() - 1)));
    auto out = s.step(frame(ADIST_SUDO_DATA, data_payload(4, 0, "hello"), 1, 10), base(2));
    REQUIRE(out.error.empty());
    CHECK(out.line.find("\"stream\":\"ttyout\",\"offset\":0,\"count\":5,\"withheld\":false,"
                        "\"data\":\"aGVsbG8=\"") != std::string::npos);
    CHECK(s.step(frame(ADIST_SUDO_DATA, data_payload(4, 4, "x"), 2, 11), base(3)).error ==
          "ttyout offset 4, expected 5");
    CHECK(s.step(frame(ADIST_SUDO_DATA, data_payload(4, 5, "x"), 3, 11), base(3)).error ==
          "sequence 3, expected 2");
    CHECK(s.step(frame(ADIST_SUDO_OPEN, open_payload(), 2, 11), base(3)).error == "a second open");
    CHECK(s.step(frame(ADIST_SUDO_DATA, data_payload(4, 5, "x"), 2, 9), base(3)).error ==
          "time went backwards");
    auto pw = s.step(frame(ADIST_SUDO_DATA, data_payload(3, 0, "secret", true), 2, 12), base(3));
    REQUIRE(pw.error.empty());
    CHECK(pw.line.find("\"withheld\":true,\"data\":\"\"") != std::string::npos);
    auto close = s.step(frame(ADIST_SUDO_CLOSE, be(256, 4) + be(0, 4), 3, 13), base(4));
    REQUIRE(close.error.empty());
    CHECK(close.line.find("\"exit_status\":256,\"error\":0") != std::string::npos);
    CHECK(s.closed());
    CHECK(s.step(frame(ADIST_SUDO_SUSPEND, be(20, 4), 4, 14), base(5)).error ==
          "a frame after the close");
}

TEST_CASE("sudo records: a changed byte breaks the seal") {
    std::string line = "{\"type\":\"io\",\"seq\":1";
    seal_record(line);
    std::string_view body(line.data(), line.size() - 1);
    CHECK(record_sealed(body));
    std::string changed(body);
    changed[10] = 'X';
    CHECK_FALSE(record_sealed(changed));
    CHECK(crc32("123456789") == 0xCBF43926u); // the CRC-32 check value
}

TEST_CASE("sudo records: base64 both ways, bad text refused") {
    std::vector<std::string> samples{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)};
    for (const auto& s : samples)
        CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(base64_encode("hello") == "aGVsbG8=");
    CHECK_FALSE(base64_decode("aGVsbG8"));
    CHECK_FALSE(base64_decode("aG=sbG8="));
    CHECK_FALSE(base64_decode("aGVs*G8="));
}

TEST_CASE("sudo section: defaults, own keywords, distinct from the collector") {
    using namespace adist::common;
    auto r = parse_config("sudo {\n}\n", "t.conf", "me");
    REQUIRE(std::holds_alternative<config>(r));
    const auto& s = std::get<config>(r).sudo;
    REQUIRE(s);
    CHECK(s->socket == "/run/auditdistd/sudo.sock");
    CHECK(s->directory == "/var/audit/sudo");
    CHECK(s->dist == "/var/audit/sudo/dist");
    auto e = parse_config("sudo {\n rate_limit 5\n}\n", "t.conf", "me");
    REQUIRE(std::holds_alternative<config_error>(e));
    CHECK(std::get<config_error>(e).to_string() ==
          "t.conf:2: \"rate_limit\" is not allowed in the sudo section");
    e = parse_config("collector {\n directory \"/a\"\n}\nsudo {\n directory \"/a\"\n}\n", "t.conf",
                     "me");
    REQUIRE(std::holds_alternative<config_error>(e));
    CHECK(std::get<config_error>(e).to_string() ==
          "t.conf:4: sudo: socket and directory must differ from the collector's");
}
