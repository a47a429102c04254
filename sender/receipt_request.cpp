// Receipts on the sender's connection (see transfer.hpp and
// receipt_keeper.hpp): in version 1, with a ledger_key, a HEAD request when
// one is due (receipt_decider.hpp), and the signed head it brings back
// handed to the host's receipt keeper. A HEAD is one 14-byte request and a
// 164-byte reply: once per receipt_interval and after acknowledged CLOSEs.
#include "sender/transfer.hpp"

#include "common/log.hpp"
#include "sender/receipt_keeper.hpp"

namespace adist::sender {
using proto::command;

void transfer::maybe_ask_head() {
    if (version_ < 1 || dist_.receipts == nullptr || !dist_.receipts->usable() || failed_) return;
    auto now = std::chrono::steady_clock::now();
    head_timing timing{options_.receipt_interval, std::chrono::seconds(1)};
    std::optional<std::chrono::steady_clock::time_point> next;
    if (!head_request_due(now, head_asked_at_, close_acked_since_head_, head_in_flight_, timing,
                          &next)) {
        if (next) wake_at(*next);
        return;
    }
    auto seq = next_seq_++;
    proto::encode_head_request(frame_, seq);
    queue_frame();
    in_flight_.push_back({seq, command::head, 0, {}, false});
    head_asked_at_ = now;
    head_in_flight_ = true;
    close_acked_since_head_ = false;
    log::trace(prefix_, "HEAD request ", seq, ": asking for the signed ledger head");
}

bool transfer::on_head_reply(const proto::head_reply& r) {
    // A HEAD's reply is a reply with the head behind it.
    head_in_flight_ = false;
    if (!on_reply({r.seq, r.error})) return false;
    if (dist_.receipts != nullptr) dist_.receipts->take(r.head, prefix_, *dist_.repeats);
    return true;
}

} // namespace adist::sender
