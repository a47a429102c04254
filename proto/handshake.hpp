// Handshake state machines, one per side: protocol version 0 (FreeBSD's) and
// version 1 (ours: a downgrade sentinel, and a resume point with the digest of
// the stored prefix, proved with the password; docs/protocol.md). Sans-I/O:
// the shell sends what a step returns, reads exactly want() bytes and feeds
// them. Randomness and host lookup come in from the caller, so tests drive
// every path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/auth.hpp"
#include "proto/fingerprint.hpp"

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
    version_refused,  // the agreed version is below the host's min_protocol_version
    downgrade,        // the receiver speaks version 1 but answered 0: the welcome was altered
    resume_forged,    // version 1: the resume point's proof does not match
};
std::string_view to_string(handshake_error e);

struct handshake_step {
    std::vector<std::byte> send;
    handshake_status status = handshake_status::in_progress;
};

std::vector<std::byte> encode_welcome(int version);
// Parses "ADISTnn\0"; returns the version or -1.
int decode_welcome(std::span<const std::byte> in);

// A receiver that speaks version 1 but answers 0 (the sender offered 0) ends
// its challenge with these 8 bytes; a sender that offered 1 and sees them with
// an answer of 0 knows that the welcome was altered on the way (as TLS 1.3's
// downgrade sentinel). A version 0 peer takes them as random.
inline constexpr std::string_view downgrade_sentinel{"ADIST01\xA5", 8};

// Version 1's proof of the resume point: HMAC-SHA256 keyed with the password
// over a label, both challenges, and the size, name field and prefix digest
// the receiver reports.
hmac_value resume_proof(std::string_view password, const challenge& sender_challenge,
                        const challenge& receiver_challenge, std::uint64_t size,
                        std::string_view name, const sha256_digest& prefix);

class sender_handshake {
public:
    // Offers max_version; refuses to go on below min_version.
    sender_handshake(std::string name, std::string password, challenge own_challenge,
                     int max_version = max_protocol_version, int min_version = 0);

    handshake_step start();          // the welcome
    std::size_t want() const { return want_; }
    handshake_step feed(std::span<const std::byte> in);

    handshake_error error() const { return error_; }
    const std::string& resume_name() const { return resume_name_; }
    std::uint64_t resume_size() const { return resume_size_; }
    int version() const { return version_; } // agreed (-1 before the answer)
    // Version 1: SHA-256 of the first resume_size() bytes the receiver stored.
    const sha256_digest& resume_prefix() const { return resume_prefix_; }

private:
    handshake_step fail(handshake_error e);

    enum class state { start, version, challenge, proof, size, name, prefix, done, failed };
    state state_ = state::start;
    std::string name_;
    std::string password_;
    challenge own_challenge_;
    challenge peer_challenge_{};
    int max_version_;
    int min_version_;
    int version_ = -1;
    sha256_digest resume_prefix_{};
    std::size_t want_ = 0;
    handshake_error error_ = handshake_error::none;
    std::string resume_name_;
    std::uint64_t resume_size_ = 0;
};

class receiver_handshake {
public:
    explicit receiver_handshake(challenge own_challenge, int max_version = max_protocol_version);

    std::size_t want() const { return want_; }
    handshake_step feed(std::span<const std::byte> in);
    // After need_host: the password of the configured host named peer_name(),
    // and the lowest version that host may use.
    handshake_step host_found(std::string password, int min_version = 0);
    // After need_resume: the receiver's newest file for this host ("" if none);
    // in version 1 with the SHA-256 of its first `size` bytes.
    handshake_step resume(std::uint64_t size, std::string_view name,
                          const sha256_digest& prefix = {});

    const std::string& peer_name() const { return peer_name_; }
    int peer_version() const { return peer_version_; }
    int version() const { return version_; } // agreed (-1 before the welcome)
    handshake_error error() const { return error_; }

private:
    handshake_step fail(handshake_error e);

    enum class state { welcome, name, host, proof, challenge, resume, done, failed };
    state state_ = state::welcome;
    challenge own_challenge_;
    challenge peer_challenge_{};
    std::string password_;
    std::string peer_name_;
    int max_version_;
    int peer_version_ = -1;
    int version_ = -1;
    std::size_t want_ = welcome_size;
    hmac_value answer_{};
    handshake_error error_ = handshake_error::none;
};

} // namespace adist::proto
