// Challenge/response math of the handshake: HMAC-SHA256 keyed with the shared
// password, and constant-time comparison. Pure; OpenSSL crypto only.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "proto/wire.hpp"

namespace adist::proto {

using challenge = std::array<std::byte, challenge_size>;
using hmac_value = std::array<std::byte, hmac_size>;

// HMAC-SHA256(key = password bytes, message = challenge).
hmac_value compute_hmac(std::string_view password, std::span<const std::byte> challenge);

// Constant-time equality of two equally sized byte strings (false if sizes differ).
bool constant_time_equal(std::span<const std::byte> a, std::span<const std::byte> b);

// Fills a challenge from the OpenSSL CSPRNG; throws std::runtime_error if it fails.
challenge random_challenge();

} // namespace adist::proto
