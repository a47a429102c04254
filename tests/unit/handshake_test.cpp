// Unit tests for proto/handshake and proto/auth: both state machines driven
// against each other, HMAC vectors, and every failure path.
#include <catch2/catch.hpp>

#include <cstring>

#include "proto/handshake.hpp"

using namespace adist::proto;

namespace {

challenge fixed_challenge(int seed) {
    challenge c{};
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = std::byte((seed + i) & 0xff);
    return c;
}

std::string hex(std::span<const std::byte> b) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (auto x : b) {
        auto v = std::to_integer<unsigned>(x);
        out += digits[v >> 4];
        out += digits[v & 15];
    }
    return out;
}

struct run_result {
    handshake_status sender_status;
    handshake_status receiver_status;
    handshake_error sender_error;
    handshake_error receiver_error;
    std::string peer_name;
    std::string resume_name;
    std::uint64_t resume_size = 0;
};

// Drives both sides through a byte pipe, as the shells would.
run_result run(std::string sender_pw, std::string receiver_pw, std::string resume_name = "",
               std::uint64_t resume_size = 0) {
    sender_handshake s("web1", sender_pw, fixed_challenge(1));
    receiver_handshake r(fixed_challenge(100));
    std::vector<std::byte> to_r = s.start().send, to_s;
    handshake_step ss{}, rs{};
    for (int guard = 0; guard < 20; ++guard) {
        while (r.want() > 0 && to_r.size() >= r.want()) {
            std::vector<std::byte> in(to_r.begin(), to_r.begin() + r.want());
            to_r.erase(to_r.begin(), to_r.begin() + r.want());
            rs = r.feed(in);
            if (rs.status == handshake_status::need_host) rs = r.host_found(receiver_pw);
            if (rs.status == handshake_status::need_resume) rs = r.resume(resume_size, resume_name);
            to_s.insert(to_s.end(), rs.send.begin(), rs.send.end());
        }
        while (s.want() > 0 && to_s.size() >= s.want()) {
            std::vector<std::byte> in(to_s.begin(), to_s.begin() + s.want());
            to_s.erase(to_s.begin(), to_s.begin() + s.want());
            ss = s.feed(in);
            to_r.insert(to_r.end(), ss.send.begin(), ss.send.end());
        }
        if (rs.status == handshake_status::failed || ss.status == handshake_status::failed) break;
        if (ss.status == handshake_status::done) break;
    }
    return {ss.status, rs.status, s.error(), r.error(), r.peer_name(), s.resume_name(),
            s.resume_size()};
}

} // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
    std::string_view msg = "what do ya want for nothing?";
    auto mac = compute_hmac("Jefe", std::as_bytes(std::span(msg.data(), msg.size())));
    REQUIRE(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("constant_time_equal") {
    auto a = fixed_challenge(1), b = fixed_challenge(1), c = fixed_challenge(2);
    REQUIRE(constant_time_equal(a, b));
    REQUIRE_FALSE(constant_time_equal(a, c));
    REQUIRE_FALSE(constant_time_equal(std::span(a).first(3), b));
}

TEST_CASE("welcome encoding and version parsing") {
    auto w = encode_welcome(0);
    REQUIRE(std::memcmp(w.data(), "ADIST00\0", 8) == 0);
    REQUIRE(decode_welcome(encode_welcome(7)) == 7);
    auto bad = w;
    bad[7] = std::byte{'x'};
    REQUIRE(decode_welcome(bad) == -1);
    bad = w;
    bad[5] = std::byte{'a'};
    REQUIRE(decode_welcome(bad) == -1);
    REQUIRE(decode_welcome(std::span(w).first(7)) == -1);
}

TEST_CASE("matching passwords complete the handshake with the resume point") {
    auto r = run("pw", "pw", "20240101000000.not_terminated", 123456789012ull);
    REQUIRE(r.sender_status == handshake_status::done);
    REQUIRE(r.peer_name == "web1");
    REQUIRE(r.resume_name == "20240101000000.not_terminated");
    REQUIRE(r.resume_size == 123456789012ull);
}

TEST_CASE("an empty receiver directory resumes from nothing") {
    auto r = run("pw", "pw");
    REQUIRE(r.sender_status == handshake_status::done);
    REQUIRE(r.resume_name.empty());
    REQUIRE(r.resume_size == 0);
}

TEST_CASE("a wrong sender password is refused by the receiver") {
    auto r = run("wrong", "pw");
    REQUIRE(r.receiver_status == handshake_status::failed);
    REQUIRE(r.receiver_error == handshake_error::auth_failed);
    REQUIRE(r.sender_status != handshake_status::done);
}

TEST_CASE("a receiver that does not know the password is refused by the sender") {
    // The receiver side is driven by hand: it answers our challenge with a
    // proof made from another password.
    sender_handshake s("web1", "pw", fixed_challenge(1));
    s.start();
    auto step = s.feed(encode_welcome(0));
    REQUIRE(step.send.size() == name_field_size);
    step = s.feed(fixed_challenge(50));
    REQUIRE(step.send.size() == 2 * hmac_size);
    auto fake = compute_hmac("other", fixed_challenge(1));
    step = s.feed(fake);
    REQUIRE(step.status == handshake_status::failed);
    REQUIRE(s.error() == handshake_error::auth_failed);
}

TEST_CASE("the sender rejects a receiver version above its own and bad welcomes") {
    sender_handshake s("web1", "pw", fixed_challenge(1));
    s.start();
    REQUIRE(s.feed(encode_welcome(max_protocol_version + 1)).status == handshake_status::failed);
    REQUIRE(s.error() == handshake_error::version_too_high);
    sender_handshake t("web1", "pw", fixed_challenge(1));
    t.start();
    std::vector<std::byte> junk(8, std::byte{'A'});
    REQUIRE(t.feed(junk).status == handshake_status::failed);
    REQUIRE(t.error() == handshake_error::bad_welcome);
}

TEST_CASE("the receiver negotiates a newer sender down to its own version") {
    receiver_handshake r(fixed_challenge(1));
    auto step = r.feed(encode_welcome(3));
    REQUIRE(step.status == handshake_status::in_progress);
    REQUIRE(decode_welcome(step.send) == max_protocol_version);
    REQUIRE(r.peer_version() == 3);
    receiver_handshake v0(fixed_challenge(1), 0); // FreeBSD's behaviour
    REQUIRE(decode_welcome(v0.feed(encode_welcome(3)).send) == 0);
}

TEST_CASE("the receiver NUL-terminates a name field that has no NUL") {
    receiver_handshake r(fixed_challenge(1));
    r.feed(encode_welcome(0));
    std::vector<std::byte> name(name_field_size, std::byte{'x'});
    auto step = r.feed(name);
    REQUIRE(step.status == handshake_status::need_host);
    REQUIRE(r.peer_name() == std::string(name_field_size - 1, 'x'));
}

TEST_CASE("the sender refuses an invalid resume name") {
    sender_handshake s("web1", "pw", fixed_challenge(1));
    s.start();
    s.feed(encode_welcome(0));
    s.feed(fixed_challenge(9));
    s.feed(compute_hmac("pw", fixed_challenge(1)));
    std::vector<std::byte> size(8, std::byte{0});
    s.feed(size);
    std::vector<std::byte> name(name_field_size, std::byte{0});
    std::memcpy(name.data(), "../../etc/passwd", 16);
    REQUIRE(s.feed(name).status == handshake_status::failed);
    REQUIRE(s.error() == handshake_error::bad_resume);
}

TEST_CASE("feeding the wrong number of bytes is misuse, not a crash") {
    receiver_handshake r(fixed_challenge(1));
    std::vector<std::byte> three(3);
    REQUIRE(r.feed(three).status == handshake_status::failed);
    REQUIRE(r.error() == handshake_error::misuse);
    REQUIRE(r.host_found("pw").status == handshake_status::failed);
}
