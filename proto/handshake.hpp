// Handshake state machines of protocol version 0, one per side. Sans-I/O: the
// shell sends what a step returns, reads exactly want() bytes and feeds them.
// Randomness and host lookup come in from the caller, so tests drive every path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/auth.hpp"

namespace adist::proto {

enum class handshake_status {
    in_progress,  // send step.send, then read want() bytes and feed them
    need_host,    // receiver only: call host_found() with the peer's password
    need_resume,  // receiver only: call resume() with the newest file
    done,
    failed,
};

enum class handshake_error {
    none,
    bad_welcome,      // not "ADIST" + two digits + NUL
    version_too_high, // the receiver answered with a version above ours
    auth_failed,      // the peer's HMAC did not match our challenge
    bad_resume,       // resume name neither empty nor a valid trail name
    misuse,           // the caller broke the protocol of this class
};
std::string_view to_string(handshake_error e);

struct handshake_step {
    std::vector<std::byte> send;
    handshake_status status = handshake_status::in_progress;
};

std::vector<std::byte> encode_welcome(int version);
// Parses "ADISTnn\0"; returns the version or -1.
int decode_welcome(std::span<const std::byte> in);

class sender_handshake {
public:
    sender_handshake(std::string name, std::string password, challenge own_challenge);

    handshake_step start();          // the welcome
    std::size_t want() const { return want_; }
    handshake_step feed(std::span<const std::byte> in);

    handshake_error error() const { return error_; }
    const std::string& resume_name() const { return resume_name_; }
    std::uint64_t resume_size() const { return resume_size_; }

private:
    handshake_step fail(handshake_error e);

    enum class state { start, version, challenge, proof, size, name, done, failed };
    state state_ = state::start;
    std::string name_;
    std::string password_;
    challenge own_challenge_;
    std::size_t want_ = 0;
    handshake_error error_ = handshake_error::none;
    std::string resume_name_;
    std::uint64_t resume_size_ = 0;
};

class receiver_handshake {
public:
    explicit receiver_handshake(challenge own_challenge);

    std::size_t want() const { return want_; }
    handshake_step feed(std::span<const std::byte> in);
    // After need_host: the password of the configured host named peer_name().
    handshake_step host_found(std::string password);
    // After need_resume: the receiver's newest file for this host ("" if none).
    handshake_step resume(std::uint64_t size, std::string_view name);

    const std::string& peer_name() const { return peer_name_; }
    int peer_version() const { return peer_version_; }
    handshake_error error() const { return error_; }

private:
    handshake_step fail(handshake_error e);

    enum class state { welcome, name, host, proof, challenge, resume, done, failed };
    state state_ = state::welcome;
    challenge own_challenge_;
    std::string password_;
    std::string peer_name_;
    int peer_version_ = -1;
    std::size_t want_ = welcome_size;
    hmac_value answer_{};
    handshake_error error_ = handshake_error::none;
};

} // namespace adist::proto
