// Unit tests for protocol version 1 (proto/handshake, proto/frame_codec,
// proto/digest): negotiation with version 0 peers both ways, the downgrade
// sentinel against a man in the middle, the resume point's proof, per-host
// minimum versions, the CLOSE digest frame and the running SHA-256.
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>

#include "proto/digest.hpp"
#include "proto/frame_codec.hpp"
#include "proto/handshake.hpp"

using namespace adist::proto;

namespace {

challenge fixed(int seed) {
    challenge c{};
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = std::byte((seed * 7 + i) & 0xff);
    return c;
}

using tamper_fn = std::function<void(std::vector<std::byte>&)>;

struct outcome {
    handshake_step sender, receiver;
    int sender_version = -1, receiver_version = -1;
    sha256_digest prefix{};
    std::vector<std::byte> receiver_challenge; // as sent
};

// Both machines through a byte pipe; `to_receiver`/`to_sender` may alter each
// message on the way (a man in the middle on tcp://).
outcome run(int sender_max, int sender_min, int receiver_max, int host_min,
            tamper_fn to_receiver = {}, tamper_fn to_sender = {},
            const sha256_digest& prefix = {}) {
    sender_handshake s("web1", "pw", fixed(1), sender_max, sender_min);
    receiver_handshake r(fixed(2), receiver_max);
    outcome o;
    auto first = s.start();
    std::vector<std::byte> to_r = first.send, to_s;
    int message = 0;
    for (int guard = 0; guard < 40; ++guard) {
        if (!to_r.empty() && to_receiver) to_receiver(to_r);
        while (r.want() > 0 && to_r.size() >= r.want()) {
            std::vector<std::byte> in(to_r.begin(), to_r.begin() + long(r.want()));
            to_r.erase(to_r.begin(), to_r.begin() + long(r.want()));
            o.receiver = r.feed(in);
            if (o.receiver.status == handshake_status::need_host) {
                o.receiver = r.host_found("pw", host_min);
                if (o.receiver.status != handshake_status::failed) o.receiver_challenge = o.receiver.send;
            }
            if (o.receiver.status == handshake_status::need_resume)
                o.receiver = r.resume(42, "20240101000000.not_terminated", prefix);
            to_s.insert(to_s.end(), o.receiver.send.begin(), o.receiver.send.end());
        }
        if (!to_s.empty() && to_sender) to_sender(to_s);
        while (s.want() > 0 && to_s.size() >= s.want()) {
            std::vector<std::byte> in(to_s.begin(), to_s.begin() + long(s.want()));
            to_s.erase(to_s.begin(), to_s.begin() + long(s.want()));
            o.sender = s.feed(in);
            to_r.insert(to_r.end(), o.sender.send.begin(), o.sender.send.end());
            ++message;
        }
        if (o.receiver.status == handshake_status::failed || o.sender.status == handshake_status::failed ||
            o.sender.status == handshake_status::done)
            break;
    }
    o.sender_version = s.version();
    o.receiver_version = r.version();
    o.prefix = s.resume_prefix();
    return o;
}

// Rewrites the version digits of the first welcome that passes.
tamper_fn rewrite_welcome(char to) {
    auto done = std::make_shared<bool>(false);
    return [done, to](std::vector<std::byte>& b) {
        if (*done || b.size() < welcome_size || std::memcmp(b.data(), "ADIST", 5) != 0) return;
        b[6] = std::byte(to);
        *done = true;
    };
}

bool ends_with_sentinel(const std::vector<std::byte>& c) {
    return c.size() == challenge_size &&
           std::memcmp(c.data() + c.size() - 8, downgrade_sentinel.data(), 8) == 0;
}

} // namespace

TEST_CASE("v1: two of ours agree on version 1 and the resume prefix arrives proved", "[protocol_v1]") {
    sha256_digest prefix{};
    prefix[0] = 0xab;
    prefix[31] = 0xcd;
    auto o = run(1, 0, 1, 0, {}, {}, prefix);
    REQUIRE(o.sender.status == handshake_status::done);
    CHECK(o.sender_version == 1);
    CHECK(o.receiver_version == 1);
    CHECK(o.prefix == prefix);
    CHECK_FALSE(ends_with_sentinel(o.receiver_challenge));
}

TEST_CASE("v1: FreeBSD's peers get version 0 byte for byte", "[protocol_v1]") {
    SECTION("our sender, a version 0 receiver") {
        auto o = run(1, 0, 0, 0);
        REQUIRE(o.sender.status == handshake_status::done);
        CHECK(o.sender_version == 0);
        CHECK_FALSE(ends_with_sentinel(o.receiver_challenge));
    }
    SECTION("a version 0 sender, our receiver: the sentinel is just 8 bytes of its challenge") {
        auto o = run(0, 0, 1, 0);
        REQUIRE(o.sender.status == handshake_status::done);
        CHECK(o.receiver_version == 0);
        CHECK(ends_with_sentinel(o.receiver_challenge));
        // The version 0 resume message: proof + size + name field, nothing more.
        receiver_handshake r(fixed(2));
        r.feed(encode_welcome(0));
        std::vector<std::byte> name(name_field_size, std::byte{0});
        r.feed(name);
        r.host_found("pw");
        r.feed(compute_hmac("pw", [&] {
            auto c = fixed(2);
            std::memcpy(c.data() + 24, downgrade_sentinel.data(), 8);
            return c;
        }()));
        r.feed(fixed(1));
        CHECK(r.resume(7, "").send.size() == hmac_size + 8 + name_field_size);
    }
}

TEST_CASE("v1: a man in the middle cannot strip version 1", "[protocol_v1]") {
    SECTION("the sender's offer rewritten to 0: the sender sees the sentinel") {
        auto o = run(1, 0, 1, 0, rewrite_welcome('0'));
        REQUIRE(o.sender.status == handshake_status::failed);
        CHECK(o.sender_version == 0);
    }
    SECTION("the resume point altered on the way: its proof fails") {
        // Flip a bit of the size field (after the 32-byte proof).
        auto seen = std::make_shared<bool>(false);
        tamper_fn flip = [seen](std::vector<std::byte>& b) {
            if (*seen || b.size() != hmac_size + 8 + name_field_size + 64) return;
            b[hmac_size] ^= std::byte{1};
            *seen = true;
        };
        auto o = run(1, 0, 1, 0, {}, flip);
        REQUIRE(o.sender.status == handshake_status::failed);
    }
}

TEST_CASE("v1: a host that requires version 1 refuses version 0", "[protocol_v1]") {
    SECTION("receiver side") {
        auto o = run(0, 0, 1, 1);
        REQUIRE(o.receiver.status == handshake_status::failed);
    }
    SECTION("sender side") {
        auto o = run(1, 1, 0, 0);
        REQUIRE(o.sender.status == handshake_status::failed);
        CHECK(o.sender_version == 0);
    }
}

TEST_CASE("v1: the handshake errors say what happened", "[protocol_v1]") {
    sender_handshake s("web1", "pw", fixed(1), 1, 0);
    s.start();
    s.feed(encode_welcome(0));
    auto c = fixed(3);
    std::memcpy(c.data() + 24, downgrade_sentinel.data(), 8);
    REQUIRE(s.feed(c).status == handshake_status::failed);
    CHECK(s.error() == handshake_error::downgrade);
    CHECK(to_string(s.error()).find("altered") != std::string_view::npos);

    sender_handshake t("web1", "pw", fixed(1), 1, 1);
    t.start();
    REQUIRE(t.feed(encode_welcome(0)).status == handshake_status::failed);
    CHECK(t.error() == handshake_error::version_refused);
}

TEST_CASE("v1: CLOSE carries the size and SHA-256; replies may say digest_mismatch", "[protocol_v1]") {
    file_digest d{123456789, {}};
    for (std::size_t i = 0; i < d.sha256.size(); ++i) d.sha256[i] = std::uint8_t(i * 3);
    std::vector<std::byte> out;
    encode_close(out, 77, "20240101000000.20240101010000", d);
    auto r = decode_request(out, 1);
    auto* ok = std::get_if<decoded<request>>(&r);
    REQUIRE(ok);
    CHECK(ok->consumed == out.size());
    CHECK(ok->frame.cmd == command::close);
    CHECK(payload_name(ok->frame) == "20240101000000.20240101010000");
    CHECK(payload_digest(ok->frame) == d);
    // Version 0 never sees one: the digest holds NULs, so it is no name.
    CHECK(std::holds_alternative<decode_error>(decode_request(out, 0)));
    // A version 0 CLOSE is too short for version 1.
    std::vector<std::byte> v0;
    encode_name_request(v0, command::close, 1, "x");
    CHECK(std::holds_alternative<decode_error>(decode_request(v0, 1)));
    for (std::size_t cut = 0; cut < out.size(); ++cut) {
        auto part = decode_request(std::span(out).first(cut), 1);
        CHECK(std::holds_alternative<need_more>(part));
    }

    std::vector<std::byte> reply;
    encode_reply(reply, {5, reply_error::digest_mismatch});
    CHECK(std::holds_alternative<decode_error>(decode_reply(reply, 0)));
    auto rr = decode_reply(reply, 1);
    REQUIRE(std::holds_alternative<decoded<adist::proto::reply>>(rr));
    CHECK(std::get<decoded<adist::proto::reply>>(rr).frame.error == reply_error::digest_mismatch);
}

TEST_CASE("v1: the running SHA-256 matches a one-shot digest at every split", "[protocol_v1]") {
    std::vector<std::uint8_t> data(5000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::uint8_t(i * 31 + 7);
    auto whole = sha256(data);
    for (std::size_t cut : {std::size_t(0), std::size_t(1), std::size_t(63), std::size_t(64),
                            std::size_t(4999), std::size_t(5000)}) {
        sha256_stream s;
        auto bytes = std::as_bytes(std::span(data));
        s.update(bytes.first(cut));
        auto mid = s.current(); // does not end the stream
        CHECK(mid.size == cut);
        CHECK(mid.sha256 == sha256(std::span(data).first(cut)));
        s.update(bytes.subspan(cut));
        CHECK(s.current() == file_digest{data.size(), whole});
    }
}
