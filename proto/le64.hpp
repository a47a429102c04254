// 64-bit little-endian integers in fixed on-disk records (the ledger's
// entries and signed heads, the sender's digest checkpoint). Pure.
#pragma once

#include <cstddef>
#include <cstdint>

namespace adist::proto {

inline void put_le64(std::byte* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

inline std::uint64_t get_le64(const std::byte* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

} // namespace adist::proto
