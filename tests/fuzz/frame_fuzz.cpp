// libFuzzer target for proto/frame_codec: decodes a stream of requests and
// replies from arbitrary bytes, as protocol version 0 and as version 1 (the
// first byte picks); every decoded frame must re-encode to the same bytes
// (little endian), a version 1 CLOSE through encode_close, and consumption
// must always make progress.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "proto/frame_codec.hpp"

using namespace adist::proto;

namespace {
void require(bool c) {
    if (!c) __builtin_trap();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    int version = data[0] & 1;
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    std::size_t off = 0;
    while (off < in.size()) {
        auto r = decode_request(in.subspan(off), version);
        if (auto* n = std::get_if<need_more>(&r)) {
            require(n->bytes > in.size() - off);
            break;
        }
        if (std::holds_alternative<decode_error>(r)) break;
        auto& d = std::get<decoded<request>>(r);
        require(d.consumed >= request_header_size && d.consumed <= in.size() - off);
        require(d.frame.payload.size() == d.consumed - request_header_size);
        if (in[off] == std::byte{1}) {
            std::vector<std::byte> again;
            encode_request_header(again, d.frame.cmd, d.frame.seq,
                                  static_cast<std::uint32_t>(d.frame.payload.size()));
            again.insert(again.end(), d.frame.payload.begin(), d.frame.payload.end());
            require(std::memcmp(again.data(), in.data() + off, again.size()) == 0);
            if (version == 1 && d.frame.cmd == command::close) {
                std::vector<std::byte> close;
                encode_close(close, d.frame.seq, payload_name(d.frame), payload_digest(d.frame));
                require(close == again);
            }
        }
        off += d.consumed;
    }
    for (std::size_t roff = 0; roff < in.size();) {
        auto r = decode_reply(in.subspan(roff), version);
        auto* d = std::get_if<decoded<reply>>(&r);
        if (d == nullptr) break;
        require(d->consumed == reply_size);
        roff += d->consumed;
    }
    return 0;
}
