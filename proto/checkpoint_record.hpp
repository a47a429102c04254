// The one record of a sender's digest checkpoint file (sender/
// digest_checkpoint.hpp): which trail (device and inode) and the SHA-256
// state after its first `state.size` bytes, at an offset the receiver
// acknowledged. Pure; the decoder takes any bytes (the file is ours, but
// whatever is on disk is checked before it is believed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "proto/sha256_state.hpp"

namespace adist::proto {

// 160 bytes, integers little endian:
//   0  "ADCK"   4  version 1   5  zero (3)   8  device   16  inode
//   24 chain (32)   56 size   64 partial block (64)   128 SHA-256 of [0, 128)
inline constexpr std::size_t checkpoint_record_size = 160;

struct checkpoint_record {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    sha256_midstate state;
    bool operator==(const checkpoint_record&) const = default;
};

std::array<std::byte, checkpoint_record_size> encode_checkpoint_record(const checkpoint_record& r);
// nullopt, with *why, for anything but a whole record this encoder wrote
// (a torn write, another file, a state SHA-256 cannot be in).
std::optional<checkpoint_record> decode_checkpoint_record(std::span<const std::byte> bytes,
                                                          std::string* why);

} // namespace adist::proto
