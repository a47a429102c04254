// Fuzzes the ledger decoders (proto/ledger, proto/ledger_head): any bytes,
// cut into entries, walked as a ledger; every entry that decodes encodes
// back to the same bytes, and a signed head that decodes re-encodes too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "proto/ledger.hpp"
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
    return 0;
}
