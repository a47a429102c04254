// The session's handshake (part of class session, session.hpp): the
// protocol handshake with one deadline from accept to the password proof,
// finding the host by address and name, and taking over the host's slot
// from an older connection. Run by the receiver.
#include "receiver/session.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/tls.hpp"
#include "proto/digest.hpp"
#include "proto/handshake.hpp"
#include "receiver/receiver.hpp"

namespace adist::receiver {
using proto::reply_error;

// The peer is known by its address only: the hosts with that address
// decide, the lowest tls_min_version of them wins (FreeBSD's auditdistd
// needs "1.0"); an address without such a host gets TLS 1.2 or later.
asio::awaitable<bool> session::tls_handshake() {
    if (!stream_->is_tls()) co_return true;
    std::vector<common::tls_version> mins;
    std::vector<std::string> legacy; // "host \"a\"" of each host that lowers it
    for (auto* c : candidates_) {
        mins.push_back(c->config.tls_min_version);
        if (common::is_legacy(c->config.tls_min_version))
            legacy.push_back("host \"" + c->config.name + "\"");
    }
    auto min = common::lowest_min_version(mins);
    try {
        common::set_min_version(stream_->native_ssl(), min);
    } catch (const std::exception& e) {
        log::error(prefix_, e.what());
        co_return false;
    }
    if (auto ec = co_await stream_->handshake(asio::ssl::stream_base::server); ec) {
        tls_failed(ec, min);
        co_return false;
    }
    if (!legacy.empty()) {
        std::string who = legacy.front();
        for (std::size_t i = 1; i < legacy.size(); ++i) who += ", " + legacy[i];
        owner_.log_peer(address_, true,
                        prefix_ + common::legacy_connection_warning(
                                      who, min, SSL_version(stream_->native_ssl())));
    }
    log::debug(prefix_, stream_->tls_summary());
    co_return true;
}

// A version mismatch is a configuration problem (FreeBSD's auditdistd
// speaks TLS 1.0 only): a warning that says what to set, and the hosts with
// this address show it in `status`. Other failures stay at info (scanners,
// resets), and show in `status` too.
void session::tls_failed(const boost::system::error_code& ec, common::tls_version min) {
    if (stream_->closed_by_us(ec)) return;
    std::vector<std::string> names;
    for (auto* c : candidates_) names.push_back(c->config.name);
    std::string line;
    std::string counter = "tls";
    if (common::is_version_refusal(ec)) {
        line = common::receiver_version_refusal(
            address_, SSL_client_version(stream_->native_ssl()), names, min);
        counter = "tls version";
        owner_.log_peer(address_, true, prefix_ + line);
    } else {
        std::string why = stream_->timed_out() ? "timed out" : ec.message();
        owner_.log_peer(address_, false, prefix_ + "TLS handshake failed: " + why);
        line = "TLS handshake from " + peer_ + " failed: " + why;
    }
    for (auto* c : candidates_) {
        c->error(line);
        ++c->counters.handshake_failures[counter];
    }
}

asio::awaitable<bool> session::handshake() {
    proto::receiver_handshake hs(proto::random_challenge(), options_.max_protocol);
    std::vector<std::byte> in;
    for (;;) {
        in.resize(hs.want());
        if (auto ec = co_await stream_->read_exact(asio::buffer(in)); ec) {
            owner_.log_peer(address_, false, prefix_ + "handshake aborted: " +
                                                 (stream_->timed_out() ? "timed out" : ec.message()));
            co_return false;
        }
        auto step = hs.feed(in);
        if (step.status == proto::handshake_status::need_host) step = find_host(hs);
        if (step.status == proto::handshake_status::failed) {
            // Never rate-limited: the address is configured (or there would
            // be no session), and the penalty below bounds these to 16 per
            // second and address. A flood from elsewhere cannot hide them.
            if (unknown_name_) {
                log::warning(prefix_, "refused: no host named \"", log::printable(hs.peer_name()),
                             "\" is configured for this address");
            } else {
                log::warning(prefix_, "refused: ", to_string(hs.error()));
                if (slot_ != nullptr) {
                    slot_->error("refused " + peer_ + ": " + std::string(to_string(hs.error())));
                    ++slot_->counters.handshake_failures[std::string(to_string(hs.error()))];
                }
            }
            // Keep the slot a moment: bounds password guessing per address.
            asio::steady_timer penalty(stream_->socket().get_executor(), failed_auth_delay);
            co_await penalty.async_wait(asio::as_tuple(asio::use_awaitable));
            co_return false;
        }
        if (step.status == proto::handshake_status::need_resume) {
            if (unknown_name_) co_return false;
            // The password is proved: from here on each operation has its
            // own timeout (claim_slot may wait that long for the old session).
            stream_->set_overall_deadline(std::chrono::steady_clock::time_point::max());
            if (!co_await claim_slot(slot_)) co_return false;
            auto* store = slot_->store.get();
            auto scan = [store] { return store->scan_newest(); };
            auto result = co_await common::offload(owner_.pool(), scan);
            if (!result.refusal.empty()) {
                log::error(prefix_, "refused: ", result.refusal);
                slot_->error("refused: " + result.refusal);
                ++slot_->counters.refusals["host directory"];
                co_return false;
            }
            const auto& newest = result.newest;
            if (!co_await measure_usage()) co_return false;
            version_ = hs.version();
            proto::sha256_digest prefix{};
            if (version_ >= 1 && !co_await resume_prefix(newest.name, newest.size, prefix)) {
                co_return false;
            }
            step = hs.resume(newest.size, newest.name, prefix);
            store->release_idle(); // the first OPEN takes them again
            log::info(prefix_, "authenticated; resume point ",
                      newest.name.empty() ? std::string("(no file yet)") : newest.name, " at ",
                      newest.size, " (protocol version ", version_, ")");
        }
        if (!co_await send(std::move(step.send))) co_return false;
        if (step.status == proto::handshake_status::done) {
            ++slot_->counters.connections;
            authenticated();
            co_return true;
        }
    }
}

// An unknown name gets the same treatment as a wrong password (a challenge
// checked against a random decoy), so a peer cannot probe for host names.
proto::handshake_step session::find_host(proto::receiver_handshake& hs) {
    auto it = std::find_if(candidates_.begin(), candidates_.end(),
                           [&](host_slot* s) {
                               return !s->retired && s->config.name == hs.peer_name();
                           });
    if (it == candidates_.end()) {
        unknown_name_ = true;
        auto decoy = proto::random_challenge();
        return hs.host_found(std::string(reinterpret_cast<const char*>(decoy.data()), decoy.size()));
    }
    slot_ = *it;
    // The others with this address are of no more use to this session, and
    // many hosts may share one (NAT): each session holding all of them
    // would make memory grow with the square of the hosts.
    std::vector<host_slot*>().swap(candidates_);
    prefix_ = "[" + slot_->config.name + " " + peer_ + "] ";
    return hs.host_found(slot_->config.password, slot_->config.min_protocol_version);
}

// Version 1: the SHA-256 of the resume point's first `size` bytes as stored,
// for the sender to compare with its own file before it appends anything.
asio::awaitable<bool> session::resume_prefix(const std::string& name, std::uint64_t size,
                                             proto::sha256_digest& out) {
    if (name.empty()) {
        out = proto::sha256_stream().current().sha256;
        co_return true;
    }
    auto* store = slot_->store.get();
    auto read_back = [store, &name, size] { return store->stored_digest(name, size); };
    auto digest = co_await common::offload(owner_.pool(), read_back);
    if (!digest) {
        log::error(prefix_, "refused: ", store->last_error());
        slot_->error("refused: " + store->last_error());
        co_return false;
    }
    out = digest->sha256;
    co_return true;
}

// A new authenticated connection for a host replaces the old one: the old
// session is closed and its open file synced before we report a resume point.
// Bounded by the timeout: a session stuck in a sync on a dead disk does not
// pile up replacements behind it.
asio::awaitable<bool> session::claim_slot(host_slot* slot) {
    if (slot->retired) {
        log::info(prefix_, "this host was changed or removed by a configuration reload meanwhile; "
                           "closing the connection");
        co_return false;
    }
    generation_ = ++slot->generation;
    asio::steady_timer poll(stream_->socket().get_executor());
    auto until = std::chrono::steady_clock::now() + options_.timeout;
    // The previous session of this host, on this slot or (after a reload
    // changed the host) on the retired one, which shares the directory.
    auto previous = [slot] {
        if (slot->active) return slot->active;
        for (auto* p = slot->predecessor; p != nullptr; p = p->predecessor) {
            if (p->active) return p->active;
        }
        return std::shared_ptr<session>{};
    };
    while (auto old = previous()) {
        if (slot->generation != generation_) break;
        if (std::chrono::steady_clock::now() >= until) {
            log::error(prefix_, "the previous connection of this host did not finish within ",
                       options_.timeout.count() / 1000, " s; refusing the new one");
            co_return false;
        }
        if (!old->stopping_) log::info(prefix_, "replacing the previous connection of this host");
        old->stop();
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
        if (old->finished() && slot->active == old) slot->active.reset();
        for (auto* p = slot->predecessor; p != nullptr && old->finished(); p = p->predecessor) {
            if (p->active == old) p->active.reset();
        }
    }
    if (slot->generation != generation_) {
        log::info(prefix_, "superseded by a newer connection of this host");
        co_return false;
    }
    if (slot->retired) { // a reload while we waited
        log::info(prefix_, "this host was changed or removed by a configuration reload meanwhile; "
                           "closing the connection");
        co_return false;
    }
    slot->active = shared_from_this();
    slot->peer = peer_;
    slot->since = std::chrono::system_clock::now();
    co_return true;
}

} // namespace adist::receiver
