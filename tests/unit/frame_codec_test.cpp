// Unit tests for proto/frame_codec: round trips, every-byte splits, both byte
// orders and every protocol violation the decoder must refuse.
#include <catch2/catch.hpp>

#include <cstring>

#include "proto/frame_codec.hpp"

using namespace adist::proto;

namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(std::byte(b));
    return out;
}

std::vector<std::byte> append_frame(std::uint64_t seq, std::size_t n) {
    std::vector<std::byte> out;
    encode_request_header(out, command::append, seq, static_cast<std::uint32_t>(n));
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::byte(i * 7 + 3));
    return out;
}

} // namespace

TEST_CASE("request header layout is the FreeBSD one, little endian") {
    std::vector<std::byte> out;
    encode_request_header(out, command::append, 0x0102030405060708ull, 0x0a0b0c0d);
    REQUIRE(out == bytes({1, 2, 8, 7, 6, 5, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a}));
}

TEST_CASE("reply layout is 11 bytes: order, sequence, error") {
    std::vector<std::byte> out;
    encode_reply(out, {0x1122334455667788ull, reply_error::open_old});
    REQUIRE(out == bytes({1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 3, 0}));
}

TEST_CASE("requests round-trip and decode from every split point") {
    std::vector<std::byte> stream;
    encode_name_request(stream, command::open, 1, "20240101000000.not_terminated");
    auto a = append_frame(2, 65536);
    stream.insert(stream.end(), a.begin(), a.end());
    encode_request_header(stream, command::keepalive, 3, 0);
    encode_name_request(stream, command::close, 4, "20240101000000.20240101010000");

    for (std::size_t split : {std::size_t(0), std::size_t(1), std::size_t(13), std::size_t(14),
                              std::size_t(43), std::size_t(44), std::size_t(100),
                              stream.size() - 1}) {
        // Feed the first `split` bytes, then everything: the decoder must ask
        // for more rather than produce garbage.
        auto partial = decode_request(std::span(stream.data(), split));
        if (split < 44) REQUIRE(std::holds_alternative<need_more>(partial));
    }
    std::vector<command> cmds;
    std::vector<std::uint64_t> seqs;
    std::size_t off = 0;
    while (off < stream.size()) {
        auto r = decode_request(std::span(stream).subspan(off));
        auto& d = std::get<decoded<request>>(r);
        cmds.push_back(d.frame.cmd);
        seqs.push_back(d.frame.seq);
        if (d.frame.cmd == command::open) REQUIRE(payload_name(d.frame) == "20240101000000.not_terminated");
        if (d.frame.cmd == command::append) {
            REQUIRE(d.frame.payload.size() == 65536);
            REQUIRE(std::memcmp(d.frame.payload.data(), a.data() + 14, 65536) == 0);
        }
        off += d.consumed;
    }
    REQUIRE(cmds == std::vector{command::open, command::append, command::keepalive, command::close});
    REQUIRE(seqs == std::vector<std::uint64_t>{1, 2, 3, 4});
}

TEST_CASE("every prefix of a frame needs more, never errors") {
    auto f = append_frame(9, 100);
    for (std::size_t i = 0; i < f.size(); ++i) {
        auto r = decode_request(std::span(f.data(), i));
        INFO("prefix " << i);
        REQUIRE(std::holds_alternative<need_more>(r));
        REQUIRE(std::get<need_more>(r).bytes > i);
    }
    REQUIRE(std::holds_alternative<decoded<request>>(decode_request(f)));
}

TEST_CASE("big-endian requests from old FreeBSD peers are accepted") {
    auto f = bytes({2, 2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 'a', 'b', 'c'});
    auto d = std::get<decoded<request>>(decode_request(f)).frame;
    REQUIRE(d.seq == 0x102);
    REQUIRE(d.payload.size() == 3);
}

TEST_CASE("protocol violations are refused") {
    auto header = [](int order, int cmd, std::uint32_t size) {
        std::vector<std::byte> out(14, std::byte{0});  // order, cmd, 8 bytes seq, 4 bytes size
        out[0] = std::byte(order);
        out[1] = std::byte(cmd);
        for (int i = 0; i < 4; ++i) out[10 + i] = std::byte((size >> (8 * i)) & 0xff);
        return out;
    };
    auto err = [](const std::vector<std::byte>& f) {
        auto r = decode_request(f);
        REQUIRE(std::holds_alternative<decode_error>(r));
        return std::get<decode_error>(r);
    };
    REQUIRE(err(header(0, 2, 1)) == decode_error::bad_byte_order);
    REQUIRE(err(header(3, 2, 1)) == decode_error::bad_byte_order);
    REQUIRE(err(header(1, 0, 1)) == decode_error::unknown_command);
    REQUIRE(err(header(1, 6, 1)) == decode_error::unknown_command);
    REQUIRE(err(header(1, 2, 65537)) == decode_error::payload_too_large);
    REQUIRE(err(header(1, 2, 0)) == decode_error::empty_payload);
    REQUIRE(err(header(1, 1, 0)) == decode_error::empty_payload);
    REQUIRE(err(header(1, 3, 0)) == decode_error::empty_payload);
    REQUIRE(err(header(1, 4, 1)) == decode_error::unexpected_payload);
    REQUIRE(err(header(1, 5, 1)) == decode_error::unexpected_payload);

    auto open_with = [&](std::string_view payload) {
        auto f = header(1, 1, static_cast<std::uint32_t>(payload.size()));
        for (char c : payload) f.push_back(std::byte(c));
        return f;
    };
    REQUIRE(err(open_with(std::string_view("abc", 3))) == decode_error::bad_name);       // no NUL
    REQUIRE(err(open_with(std::string_view("a\0c\0", 4))) == decode_error::bad_name);   // embedded NUL
    REQUIRE(err(open_with(std::string_view("\0", 1))) == decode_error::bad_name);       // empty name
    REQUIRE(std::holds_alternative<decoded<request>>(decode_request(open_with(std::string_view("a\0", 2)))));
}

TEST_CASE("replies decode in both byte orders and reject unknown codes") {
    std::vector<std::byte> le;
    encode_reply(le, {42, reply_error::rename});
    auto r = std::get<decoded<reply>>(decode_reply(le)).frame;
    REQUIRE(r.seq == 42);
    REQUIRE(r.error == reply_error::rename);
    auto be = bytes({2, 0, 0, 0, 0, 0, 0, 0, 42, 0, 7});
    REQUIRE(std::get<decoded<reply>>(decode_reply(be)).frame.error == reply_error::write);
    auto bad = bytes({1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0});
    REQUIRE(std::get<decode_error>(decode_reply(bad)) == decode_error::unknown_error_code);
    for (std::size_t i = 1; i < le.size(); ++i) {
        REQUIRE(std::holds_alternative<need_more>(decode_reply(std::span(le.data(), i))));
    }
}
