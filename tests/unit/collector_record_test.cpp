// Unit tests for the collector's record encoder and request codec
// (collector/record.cpp, collector/request.cpp): escaping, invalid UTF-8
// kept losslessly, field order, seq read back, truncation marks.
#include "collector/record.hpp"
#include "collector/request.hpp"

#include <catch2/catch.hpp>

using namespace adist::collector;

namespace {
std::string json(std::string_view s, bool* clean = nullptr) {
    std::string out;
    bool ok = append_json_string(out, s);
    if (clean) *clean = ok;
    return out;
}
record_base base() {
    return {42, 1700000000123456789, "h\"ost", "boot"};
}
} // namespace

TEST_CASE("record: JSON strings escape quotes, backslashes and every control") {
    CHECK(json("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json(std::string("\n\t\r\x01\x1f\x7f", 6)) == R"("\n\t\u000d\u0001\u001f\u007f")");
    CHECK(json(std::string("\0", 1)) == R"("\u0000")");
    CHECK(json("\xc2\x85") == R"("\u0085")"); // C1 control (NEL)
    bool clean = false;
    CHECK(json("héllo €𝄞", &clean) == "\"héllo €𝄞\"");
    CHECK(clean);
}

TEST_CASE("record: bytes that are not UTF-8 become \\udcXX, one per byte") {
    bool clean = true;
    CHECK(json("a\xff"
               "b",
               &clean) == R"("a\udcffb")");
    CHECK_FALSE(clean);
    CHECK(json("\xc0\xaf") == R"("\udcc0\udcaf")");                     // overlong "/"
    CHECK(json("\xed\xa0\x80") == R"("\udced\udca0\udc80")");           // a surrogate in UTF-8
    CHECK(json("\xf4\x90\x80\x80") == R"("\udcf4\udc90\udc80\udc80")"); // > U+10FFFF
    CHECK(json("\xe2\x82") == R"("\udce2\udc82")");                     // cut sequence
    CHECK(json("\xe2\x82\xac") == "\"€\"");
}

TEST_CASE("record: command record has trusted and claimed blocks apart") {
    trusted_info t;
    t.pid = 7;
    t.uid = 1001;
    t.user = "alice";
    t.tty = "pts/3";
    t.parents.push_back({6, 1001, "ba\"sh"});
    t.verified = true;
    claimed_info c;
    c.command = "ls\n-l";
    c.ssh_connection = "10.0.0.1 1 10.0.0.2 22";
    c.command_length = 5;
    std::string line = encode_command(base(), t, c);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    CHECK(line.starts_with(
        R"({"type":"command","seq":42,"time_ns":1700000000123456789,"host":"h\"ost","boot_id":"boot","trusted":{"pid":7,"uid":1001,"user":"alice")"));
    CHECK(line.find(R"("tty":"pts/3")") != std::string::npos);
    CHECK(line.find(R"("exe":null)") != std::string::npos);
    CHECK(line.find(R"("parents":[{"pid":6,"uid":1001,"comm":"ba\"sh"}],"verified":true})") !=
          std::string::npos);
    CHECK(
        line.find(
            R"("claimed":{"command":"ls\n-l","ssh_tty":null,"ssh_connection":"10.0.0.1 1 10.0.0.2 22")") !=
        std::string::npos);
    CHECK(line.find(R"("invalid_utf8":false)") != std::string::npos);
}

TEST_CASE("record: every kind starts with its type and seq, read back by record_seq") {
    auto b = base();
    for (const auto& line :
         {encode_header(b, 42, "x"), encode_heartbeat(b), encode_tamper(b, "f", "p"),
          encode_suppressed(b, 5, "u", 9), encode_recovery(b, "f", true),
          encode_command(b, trusted_info{}, claimed_info{})}) {
        auto seq = record_seq(std::string_view(line).substr(0, line.size() - 1));
        REQUIRE(seq);
        CHECK(*seq == 42);
    }
    // A user's text cannot look like the start of a record.
    CHECK_FALSE(record_seq(R"({"type":"x\",\"seq\":9,")"));
    CHECK_FALSE(record_seq("garbage"));
    CHECK_FALSE(record_seq(R"({"type":"command","seq":12)"));
}

TEST_CASE("request: round trip, truncation marked, malformed refused") {
    claimed_info c;
    c.command = std::string("rm -rf /\xff\0x", 11);
    c.ssh_tty = "/dev/pts/1";
    c.pwd = "/home/a";
    std::string wire = encode_request(c);
    auto n = decode_request_header(wire.substr(0, request_header_size));
    REQUIRE(n);
    CHECK(n->kind == request_kind::command);
    REQUIRE(n->length == wire.size() - request_header_size);
    auto back = decode_request(std::string_view(wire).substr(request_header_size), 1000);
    REQUIRE(back);
    CHECK(back->command == c.command);
    CHECK(back->ssh_tty == c.ssh_tty);
    CHECK_FALSE(back->ssh_connection);
    CHECK(back->pwd == c.pwd);
    CHECK_FALSE(back->truncated);
    CHECK(back->command_length == 11);

    auto cut = decode_request(std::string_view(wire).substr(request_header_size), 4);
    REQUIRE(cut);
    CHECK(cut->command == "rm -");
    CHECK(cut->truncated);
    CHECK(cut->command_length == 11);

    CHECK_FALSE(decode_request_header("ADL2\0\0\0\1"));
    CHECK_FALSE(decode_request_header(std::string("ADL1\xff\0\0\0", 8)));
    // Every cut of the payload is refused or decodes, never reads past it.
    auto payload = std::string_view(wire).substr(request_header_size);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        auto r = decode_request(payload.substr(0, i), 1000);
        if (r) CHECK(r->command.size() <= i);
    }
    CHECK_FALSE(decode_request(std::string("\x09\0\0\0\0", 5), 10)); // unknown tag
    CHECK_FALSE(decode_request("", 10));                             // no command
}

TEST_CASE("request: the server reads only what it keeps; the command may end early") {
    claimed_info c;
    c.command = std::string(100000, 'b');
    c.pwd = "/p";
    std::string wire = encode_request(c);
    auto payload = std::string_view(wire).substr(request_header_size);
    auto keep = kept_payload(300);
    REQUIRE(keep < payload.size());
    CHECK_FALSE(decode_request(payload.substr(0, keep), 300)); // not told it is cut
    auto r = decode_request(payload.substr(0, keep), 300, true);
    REQUIRE(r);
    CHECK(r->command == std::string(300, 'b'));
    CHECK(r->truncated);
    CHECK(r->command_length == 100000);
    CHECK(r->pwd == "/p");
    // A cut other field is still refused.
    std::string bad = std::string("\x04\0\0\0\x09/ab", 8);
    CHECK_FALSE(decode_request(bad, 300, true));
}

TEST_CASE("request: a command longer than the payload limit is cut by the client") {
    claimed_info c;
    c.command = std::string(max_request_payload + 10, 'a');
    std::string wire = encode_request(c);
    REQUIRE(decode_request_header(wire.substr(0, request_header_size)));
    auto back = decode_request(std::string_view(wire).substr(request_header_size), 16384);
    REQUIRE(back);
    CHECK(back->truncated);
    CHECK(back->command_length == c.command.size());
    CHECK(back->command.size() == 16384);
}

TEST_CASE("record: restamp_seq gives a line encoded before a rotation the seq after the header") {
    record_base b{41, 1, "h", "boot"};
    std::string line = encode_heartbeat(b);
    REQUIRE(restamp_seq(line, 1000));
    CHECK(record_seq(std::string_view(line).substr(0, line.size() - 1)) == 1000u);
    record_base moved{1000, 1, "h", "boot"};
    CHECK(line == encode_heartbeat(moved)); // nothing else changed
    REQUIRE(restamp_seq(line, 7));
    CHECK(line == encode_heartbeat(record_base{7, 1, "h", "boot"}));
    std::string bad = "garbage\n";
    CHECK_FALSE(restamp_seq(bad, 3));
    CHECK(bad == "garbage\n");
}

TEST_CASE("request: a field other than the command is kept up to 1 KiB, the cut marked") {
    // What our client never sends: a pwd of 3,000 bytes, from another client.
    auto field = [](char tag, const std::string& value) {
        std::string f(1, tag);
        for (int shift = 24; shift >= 0; shift -= 8)
            f += char((value.size() >> shift) & 0xFF);
        return f + value;
    };
    std::string payload = field(char(field_tag::pwd), std::string(3000, 'p')) +
                          field(char(field_tag::ssh_tty), "/dev/pts/1") +
                          field(char(field_tag::command), "ls");
    auto c = decode_request(payload, 1000);
    REQUIRE(c);
    CHECK(c->pwd == std::string(max_claimed_field, 'p'));
    CHECK(c->ssh_tty == "/dev/pts/1");
    CHECK(c->command == "ls");
    CHECK(c->truncated);
    CHECK(c->command_length == 2);
    // At the limit: nothing cut.
    payload = field(char(field_tag::ssh_connection), std::string(max_claimed_field, 'c')) +
              field(char(field_tag::command), "ls");
    c = decode_request(payload, 1000);
    REQUIRE(c);
    CHECK(c->ssh_connection->size() == max_claimed_field);
    CHECK_FALSE(c->truncated);
}
