// Receipts: the decider (see receipt_decider.hpp).
#include "sender/receipt_decider.hpp"

#include "proto/ledger.hpp"

namespace adist::sender {

namespace {
receipt_decision verdict(receipt_verdict v, std::optional<proto::ledger_head> h, std::string why = {}) {
    return {v, std::move(h), std::move(why)};
}
} // namespace

receipt_decision decide_receipt(std::span<const std::byte> offered,
                                const std::optional<proto::ledger_head>& last,
                                const proto::ed25519_public& key) {
    std::string why;
    auto h = proto::decode_ledger_head(offered, &why);
    if (!h) return verdict(receipt_verdict::malformed, std::nullopt, "not a signed head: " + why);
    if (!proto::verify_ledger_head(*h, key))
        return verdict(receipt_verdict::forged, h,
                       "signed head for entry " + std::to_string(h->seq) +
                           " does not verify with the configured ledger_key (forged, or "
                           "signed with another key)");
    if (!last) return verdict(receipt_verdict::first, h);
    std::string kept = "the receipt kept for entry " + std::to_string(last->seq);
    if (h->genesis != last->genesis)
        return verdict(receipt_verdict::other_ledger, h,
                       "signed head for entry " + std::to_string(h->seq) +
                           " names another ledger (entry 0 " + proto::to_hex(h->genesis) +
                           ") than " + kept + ": the ledger was replaced");
    if (h->seq < last->seq)
        return verdict(receipt_verdict::shorter, h,
                       "signed head for entry " + std::to_string(h->seq) + " is older than " + kept +
                           ": the ledger went back (cut and signed again?)");
    if (h->seq == last->seq && h->entry != last->entry)
        return verdict(receipt_verdict::rewritten, h,
                       "entry " + std::to_string(h->seq) + " is signed for other contents than " +
                           kept + ": the ledger was rewritten");
    if (h->seq == last->seq) return verdict(receipt_verdict::same, h);
    return verdict(receipt_verdict::extends, h);
}

receipt_decision decide_no_head(const std::optional<proto::ledger_head>& last) {
    if (!last) return verdict(receipt_verdict::none, std::nullopt);
    return verdict(receipt_verdict::vanished, std::nullopt,
                   "the receiver has no signed head, but a receipt for entry " +
                       std::to_string(last->seq) + " was kept: its heads were removed");
}

bool head_request_due(std::chrono::steady_clock::time_point now,
                      std::optional<std::chrono::steady_clock::time_point> last_asked,
                      bool close_acked_since, bool in_flight, const head_timing& timing,
                      std::optional<std::chrono::steady_clock::time_point>* next) {
    if (next != nullptr) next->reset();
    if (in_flight) return false;
    if (!last_asked) return true;
    auto at = *last_asked + timing.interval;
    if (close_acked_since && *last_asked + timing.min_gap < at) at = *last_asked + timing.min_gap;
    if (now >= at) return true;
    if (next != nullptr) *next = at;
    return false;
}

} // namespace adist::sender
