// Receipts (docs/protocol.md, "Receipts"): what the sender does with a
// signed ledger head the receiver sent, given the last receipt it kept, and
// when it asks for the next one. Pure: the key, the heads and the time are
// parameters (unit tested).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "proto/ledger_head.hpp"

namespace adist::sender {

enum class receipt_verdict {
    first,        // no receipt yet: keep it
    extends,      // a later entry of the same ledger: keep it
    same,         // the head already kept: nothing to do
    malformed,    // not a signed head at all
    forged,       // the signature does not verify with the configured key
    other_ledger, // signed for a ledger with another entry 0 (replaced)
    shorter,      // an entry before the one already kept: the ledger went back
    rewritten,    // the entry already kept, with other contents
    none,         // no signed head yet, and no receipt kept: nothing to do
    vanished,     // no signed head, but a receipt was kept: the heads were removed
};

struct receipt_decision {
    receipt_verdict verdict = receipt_verdict::malformed;
    std::optional<proto::ledger_head> head; // decoded (when it decodes)
    std::string why;                        // for the log and status when it is an alert
    bool keep() const {
        return verdict == receipt_verdict::first || verdict == receipt_verdict::extends;
    }
    bool alert() const {
        return !keep() && verdict != receipt_verdict::same && verdict != receipt_verdict::none;
    }
};

// `offered`: the head's bytes as received; `last`: the newest receipt kept.
receipt_decision decide_receipt(std::span<const std::byte> offered,
                                const std::optional<proto::ledger_head>& last,
                                const proto::ed25519_public& key);

// The receiver answered that it has no signed head: fine before the first
// receipt, an alert after one.
receipt_decision decide_no_head(const std::optional<proto::ledger_head>& last);

// When to send a HEAD request on a connection: never with one in flight;
// the first time on a connection; after a CLOSE was acknowledged (at most
// once per `min_gap`); otherwise once per `interval`. When it is not due,
// *next (if given) is when it will be, or stays empty.
struct head_timing {
    std::chrono::steady_clock::duration interval = std::chrono::seconds(60);
    std::chrono::steady_clock::duration min_gap = std::chrono::seconds(1);
};
bool head_request_due(std::chrono::steady_clock::time_point now,
                      std::optional<std::chrono::steady_clock::time_point> last_asked,
                      bool close_acked_since, bool in_flight, const head_timing& timing,
                      std::optional<std::chrono::steady_clock::time_point>* next = nullptr);

} // namespace adist::sender
