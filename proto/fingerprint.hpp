// Receiver certificate fingerprints as pasted into a sender's config:
// "SHA256=" + 32 uppercase hex pairs joined by ':' (SHA-256 of the DER
// certificate, as FreeBSD's auditdistd computes it). Pure; OpenSSL crypto only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace adist::proto {

using sha256_digest = std::array<std::uint8_t, 32>;

// Accepts "SHA256=AA:BB:..." with any letter case in prefix and hex (so the
// "sha256=..." output of the documented openssl|awk recipe works).
// Returns nullopt for anything else (wrong algorithm, length, separators).
std::optional<sha256_digest> parse_fingerprint(std::string_view text);

// Canonical form: "SHA256=" + uppercase hex pairs joined by ':' (95 chars).
std::string format_fingerprint(const sha256_digest& digest);

// SHA-256 over the given bytes (the DER encoding of a certificate).
sha256_digest sha256(std::span<const std::uint8_t> bytes);

} // namespace adist::proto
