// Handshake state machines (see handshake.hpp). Sizes are fixed by protocol
// version 0, version 1 adds fixed-size fields at the end; every field is
// validated before use, every string NUL-terminated.
#include "proto/handshake.hpp"

#include <algorithm>
#include <cstring>

#include "proto/trail_name.hpp"

namespace adist::proto {
namespace {

void append(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_name_field(std::vector<std::byte>& out, std::string_view name) {
    std::size_t n = std::min(name.size(), name_field_size - 1);
    auto* p = reinterpret_cast<const std::byte*>(name.data());
    out.insert(out.end(), p, p + n);
    out.insert(out.end(), name_field_size - n, std::byte{0});
}

bool ends_with_sentinel(std::span<const std::byte> c) {
    auto tail = c.last(downgrade_sentinel.size());
    return std::memcmp(tail.data(), downgrade_sentinel.data(), downgrade_sentinel.size()) == 0;
}

// The string before the first NUL; the field's last byte is never part of it.
std::string read_name_field(std::span<const std::byte> in) {
    auto* p = reinterpret_cast<const char*>(in.data());
    return std::string(p, strnlen(p, in.size() - 1));
}

} // namespace

std::string_view to_string(handshake_error e) {
    switch (e) {
    case handshake_error::none: return "no error";
    case handshake_error::bad_welcome: return "malformed welcome message";
    case handshake_error::version_too_high: return "peer answered with an unsupported version";
    case handshake_error::auth_failed: return "authentication failed (password mismatch)";
    case handshake_error::bad_resume: return "invalid resume file name";
    case handshake_error::misuse: return "handshake used out of order";
    case handshake_error::version_refused:
        return "the peer speaks protocol version 0 only, and this host requires version 1 "
               "(min_protocol_version)";
    case handshake_error::downgrade:
        return "the receiver speaks protocol version 1 but answered 0: the welcome was altered "
               "on the way (a man in the middle?)";
    case handshake_error::resume_forged:
        return "the resume point's proof does not match: it was altered on the way";
    }
    return "unknown handshake error";
}

std::vector<std::byte> encode_welcome(int version) {
    char buf[welcome_size] = {'A', 'D', 'I', 'S', 'T', char('0' + version / 10 % 10),
                              char('0' + version % 10), '\0'};
    auto* p = reinterpret_cast<const std::byte*>(buf);
    return {p, p + welcome_size};
}

int decode_welcome(std::span<const std::byte> in) {
    if (in.size() != welcome_size) return -1;
    auto* p = reinterpret_cast<const char*>(in.data());
    if (std::memcmp(p, "ADIST", 5) != 0 || p[7] != '\0') return -1;
    if (p[5] < '0' || p[5] > '9' || p[6] < '0' || p[6] > '9') return -1;
    return (p[5] - '0') * 10 + (p[6] - '0');
}

hmac_value resume_proof(std::string_view password, const challenge& sender_challenge,
                        const challenge& receiver_challenge, std::uint64_t size,
                        std::string_view name, const sha256_digest& prefix) {
    static constexpr std::string_view label = "auditdistd protocol 1 resume";
    std::vector<std::byte> msg;
    auto* l = reinterpret_cast<const std::byte*>(label.data());
    msg.insert(msg.end(), l, l + label.size());
    append(msg, sender_challenge);
    append(msg, receiver_challenge);
    for (std::size_t i = 0; i < 8; ++i) msg.push_back(std::byte((size >> (8 * i)) & 0xff));
    append_name_field(msg, name);
    for (auto b : prefix) msg.push_back(std::byte(b));
    return compute_hmac(password, msg);
}

// ---- sender side -----------------------------------------------------------

sender_handshake::sender_handshake(std::string name, std::string password,
                                   challenge own_challenge, int max_version, int min_version)
    : name_(std::move(name)), password_(std::move(password)), own_challenge_(own_challenge),
      max_version_(std::clamp(max_version, protocol_version, max_protocol_version)),
      min_version_(min_version) {}

handshake_step sender_handshake::fail(handshake_error e) {
    state_ = state::failed;
    error_ = e;
    want_ = 0;
    return {{}, handshake_status::failed};
}

handshake_step sender_handshake::start() {
    if (state_ != state::start) return fail(handshake_error::misuse);
    state_ = state::version;
    want_ = welcome_size;
    return {encode_welcome(max_version_), handshake_status::in_progress};
}

handshake_step sender_handshake::feed(std::span<const std::byte> in) {
    if (in.size() != want_ || want_ == 0) return fail(handshake_error::misuse);
    handshake_step step;
    switch (state_) {
    case state::version: {
        int v = decode_welcome(in);
        if (v < 0) return fail(handshake_error::bad_welcome);
        if (v > max_version_) return fail(handshake_error::version_too_high);
        version_ = v;
        if (v < min_version_) return fail(handshake_error::version_refused);
        append_name_field(step.send, name_);
        state_ = state::challenge;
        want_ = challenge_size;
        return step;
    }
    case state::challenge: {
        if (version_ < max_version_ && ends_with_sentinel(in)) return fail(handshake_error::downgrade);
        std::copy(in.begin(), in.end(), peer_challenge_.begin());
        // Our proof and our own challenge go out together: the receiver reads
        // them as two fixed-size fields, so this saves a round trip.
        append(step.send, compute_hmac(password_, in));
        append(step.send, own_challenge_);
        state_ = state::proof;
        want_ = hmac_size;
        return step;
    }
    case state::proof: {
        auto expected = compute_hmac(password_, own_challenge_);
        if (!constant_time_equal(expected, in)) return fail(handshake_error::auth_failed);
        state_ = state::size;
        want_ = 8;
        return step;
    }
    case state::size: {
        resume_size_ = 0;
        for (std::size_t i = 8; i-- > 0;) {
            resume_size_ = (resume_size_ << 8) | std::to_integer<std::uint64_t>(in[i]);
        }
        state_ = state::name;
        want_ = name_field_size;
        return step;
    }
    case state::name: {
        resume_name_ = read_name_field(in);
        if (!resume_name_.empty() && !is_valid_trail_name(resume_name_)) {
            return fail(handshake_error::bad_resume);
        }
        if (resume_name_.empty() && resume_size_ != 0) return fail(handshake_error::bad_resume);
        if (version_ >= 1) {
            state_ = state::prefix;
            want_ = resume_prefix_.size() + hmac_size;
            return step;
        }
        state_ = state::done;
        want_ = 0;
        step.status = handshake_status::done;
        return step;
    }
    case state::prefix: {
        for (std::size_t i = 0; i < resume_prefix_.size(); ++i)
            resume_prefix_[i] = std::to_integer<std::uint8_t>(in[i]);
        auto expected = resume_proof(password_, own_challenge_, peer_challenge_, resume_size_,
                                     resume_name_, resume_prefix_);
        if (!constant_time_equal(expected, in.subspan(resume_prefix_.size())))
            return fail(handshake_error::resume_forged);
        state_ = state::done;
        want_ = 0;
        step.status = handshake_status::done;
        return step;
    }
    default: return fail(handshake_error::misuse);
    }
}

// ---- receiver side ---------------------------------------------------------

receiver_handshake::receiver_handshake(challenge own_challenge, int max_version)
    : own_challenge_(own_challenge),
      max_version_(std::clamp(max_version, protocol_version, max_protocol_version)) {}

handshake_step receiver_handshake::fail(handshake_error e) {
    state_ = state::failed;
    error_ = e;
    want_ = 0;
    return {{}, handshake_status::failed};
}

handshake_step receiver_handshake::feed(std::span<const std::byte> in) {
    if (in.size() != want_ || want_ == 0) return fail(handshake_error::misuse);
    handshake_step step;
    switch (state_) {
    case state::welcome: {
        peer_version_ = decode_welcome(in);
        if (peer_version_ < 0) return fail(handshake_error::bad_welcome);
        version_ = std::min(peer_version_, max_version_);
        step.send = encode_welcome(version_);
        if (version_ < max_version_) {
            std::memcpy(own_challenge_.data() + own_challenge_.size() - downgrade_sentinel.size(),
                        downgrade_sentinel.data(), downgrade_sentinel.size());
        }
        state_ = state::name;
        want_ = name_field_size;
        return step;
    }
    case state::name:
        peer_name_ = read_name_field(in);
        state_ = state::host;
        want_ = 0;
        step.status = handshake_status::need_host;
        return step;
    case state::proof: {
        auto expected = compute_hmac(password_, own_challenge_);
        if (!constant_time_equal(expected, in)) return fail(handshake_error::auth_failed);
        state_ = state::challenge;
        want_ = challenge_size;
        return step;
    }
    case state::challenge:
        std::copy(in.begin(), in.end(), peer_challenge_.begin());
        answer_ = compute_hmac(password_, in);
        state_ = state::resume;
        want_ = 0;
        step.status = handshake_status::need_resume;
        return step;
    default: return fail(handshake_error::misuse);
    }
}

handshake_step receiver_handshake::host_found(std::string password, int min_version) {
    if (state_ != state::host) return fail(handshake_error::misuse);
    if (version_ < min_version) return fail(handshake_error::version_refused);
    password_ = std::move(password);
    state_ = state::proof;
    want_ = hmac_size;
    handshake_step step;
    append(step.send, own_challenge_);
    return step;
}

handshake_step receiver_handshake::resume(std::uint64_t size, std::string_view name,
                                          const sha256_digest& prefix) {
    if (state_ != state::resume) return fail(handshake_error::misuse);
    if (!name.empty() && !is_valid_trail_name(name)) return fail(handshake_error::bad_resume);
    handshake_step step;
    append(step.send, answer_);
    for (std::size_t i = 0; i < 8; ++i) step.send.push_back(std::byte((size >> (8 * i)) & 0xff));
    append_name_field(step.send, name);
    if (version_ >= 1) {
        for (auto b : prefix) step.send.push_back(std::byte(b));
        append(step.send, resume_proof(password_, peer_challenge_, own_challenge_, size, name, prefix));
    }
    state_ = state::done;
    step.status = handshake_status::done;
    return step;
}

} // namespace adist::proto
