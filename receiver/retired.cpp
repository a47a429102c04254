// What a reload leaves behind (see receiver.hpp): the new limits of the
// hosts it keeps, and freeing the host slots, listeners and TLS contexts it
// retired once no session uses them. Run on the receiver's io_context.
#include "receiver/receiver.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace adist::receiver {

// Hosts that a reload keeps take their new limits at once. A host that had
// no max_host_bytes was not measured: its connection is closed, and the next
// one measures it.
void receiver::update_limits(const common::config& next) {
    for (auto& slot : hosts_) {
        auto it = std::find_if(next.receivers.begin(), next.receivers.end(),
                               [&](auto& h) { return h.name == slot->config.name; });
        if (it == next.receivers.end() || it->limits == slot->config.limits) continue;
        bool unmeasured = slot->config.limits.max_host_bytes == 0 && it->limits.max_host_bytes != 0;
        slot->config.limits = it->limits;
        log::info("[", slot->config.name, "] limits changed by the new configuration: ",
                  "max_files_per_minute ", it->limits.max_files_per_minute, ", max_files_burst ",
                  it->limits.max_files_burst, ", max_host_bytes ", it->limits.max_host_bytes);
        if (unmeasured && slot->active) {
            log::info("[", slot->config.name, "] max_host_bytes set by the new configuration: "
                      "closing its connection to measure the host directory");
            slot->active->stop();
        }
    }
}

void receiver::session_ended() {
    // Posted: the session's coroutine still holds it while this runs.
    asio::post(io_, [this] { collect_retired(); });
}

void receiver::collect_retired() {
    std::vector<std::shared_ptr<session>> live;
    for (auto& w : sessions_) {
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    auto in_use = [&](const host_slot* slot) {
        return slot->active != nullptr ||
               std::any_of(live.begin(), live.end(), [&](auto& s) { return s->uses(slot); });
    };
    for (auto it = retired_.begin(); it != retired_.end();) {
        host_slot* old = it->get();
        if (in_use(old)) {
            ++it;
            continue;
        }
        // Whoever waited for this slot's session now waits for the one before.
        for (auto* list : {&hosts_, &retired_}) {
            for (auto& h : *list) {
                if (h->predecessor == old) h->predecessor = old->predecessor;
            }
        }
        it = retired_.erase(it);
    }
    std::erase_if(closed_listeners_, [](auto& l) { return l->loop_done; });
    if (!tls_.empty()) {
        std::erase_if(tls_, [&](auto& ctx) { return ctx != tls_.back() && ctx.use_count() == 1; });
    }
}

} // namespace adist::receiver
