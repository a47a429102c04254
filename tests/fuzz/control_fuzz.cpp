// libFuzzer target: the supervisor -> worker control message decoder
// (common/reload). Arbitrary bytes, fed in arbitrary pieces: it never reads
// out of bounds, never yields a payload over max_config_bytes or an unknown
// kind, and what it yields re-encodes to exactly the bytes it consumed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/reload.hpp"

using namespace adist::common;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
    control_decoder d;
    std::vector<std::byte> reencoded;
    std::size_t pos = 0, step = size == 0 ? 1 : (data[0] % 7) + 1;
    while (pos < size) {
        auto n = std::min(step, size - pos);
        d.feed(bytes.subspan(pos, n));
        pos += n;
        while (auto m = d.next()) {
            if (m->payload.size() > max_config_bytes) std::abort();
            if (m->kind != control_kind::config_text && m->kind != control_kind::read_error) std::abort();
            auto e = encode_control(m->kind, m->payload);
            reencoded.insert(reencoded.end(), e.begin(), e.end());
        }
    }
    // Everything yielded is a prefix of the input, byte for byte.
    if (reencoded.size() > size) std::abort();
    for (std::size_t i = 0; i < reencoded.size(); ++i) {
        if (reencoded[i] != bytes[i]) std::abort();
    }
    return 0;
}
