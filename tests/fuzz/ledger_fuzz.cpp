// Fuzzes the ledger decoders (proto/ledger, proto/ledger_head) and the
// HEAD reply decoder (proto/head_frame) and the sender's digest checkpoint
// record (proto/checkpoint_record): any bytes, cut into entries, walked
// as a ledger; every entry that decodes encodes back to the same bytes, a
// signed head that decodes re-encodes too, and so do a HEAD reply and a
// checkpoint record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "proto/checkpoint_record.hpp"
#include "proto/ledger.hpp"
#include "proto/head_frame.hpp"
#include "proto/ledger_head.hpp"

using namespace adist::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    ledger_walker walker;
    std::string why;
    for (std::size_t off = 0; off + ledger_entry_size <= in.size(); off += ledger_entry_size) {
        auto piece = in.subspan(off, ledger_entry_size);
        if (auto e = decode_ledger_entry(piece, &why)) {
            auto again = encode_ledger_entry(*e);
            if (!std::equal(again.begin(), again.end(), piece.begin())) std::abort();
        }
        if (!walker.feed(piece).empty()) break;
    }
    if (in.size() >= ledger_head_size) {
        auto piece = in.first(ledger_head_size);
        if (auto h = decode_ledger_head(piece, &why)) {
            auto again = encode_ledger_head(*h);
            if (!std::equal(again.begin(), again.end(), piece.begin())) std::abort();
        }
    }
    decode_ledger_entry(in.first(std::min(in.size(), ledger_entry_size)), &why);
    auto record = in.first(std::min(in.size(), checkpoint_record_size));
    if (auto r = decode_checkpoint_record(record, &why)) {
        auto again = encode_checkpoint_record(*r);
        if (!std::equal(again.begin(), again.end(), record.begin())) std::abort();
    }
    // The same bytes as the receiver's replies to HEAD requests, one after
    // another: each decoded reply re-encodes to what it consumed.
    for (std::size_t off = 0, i = 0; off < in.size() && i < 64; ++i) {
        auto r = decode_head_reply(in.subspan(off));
        auto* d = std::get_if<decoded<head_reply>>(&r);
        if (d == nullptr) break;
        if (d->consumed != (d->frame.error == reply_error::ok ? head_reply_size : reply_size) ||
            d->consumed > in.size() - off)
            std::abort();
        if (d->frame.error == reply_error::ok && in[off] == std::byte{1}) {
            std::vector<std::byte> again;
            encode_head_reply(again, d->frame.seq, d->frame.head);
            if (!std::equal(again.begin(), again.end(), in.begin() + static_cast<std::ptrdiff_t>(off)))
                std::abort();
        }
        off += d->consumed;
    }
    return 0;
}
