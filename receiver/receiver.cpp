// Receiver role (see receiver.hpp). A peer is matched by IP address before
// any TLS work is done: an unknown address costs one log line and a close.
#include "receiver/receiver.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <algorithm>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/tls.hpp"

namespace adist::receiver {
using asio::ip::tcp;

asio::ip::address normalize_address(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

namespace {

std::vector<asio::ip::address> resolve_remote(asio::io_context& io,
                                              const common::endpoint_spec& spec) {
    std::vector<asio::ip::address> out;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(spec.host, ec);
    if (!ec) {
        out.push_back(normalize_address(literal));
        return out;
    }
    tcp::resolver resolver(io);
    auto results = resolver.resolve(spec.host, "", ec);
    if (ec) {
        log::error("cannot resolve host name ", spec.host, ": ", ec.message());
        return out;
    }
    for (auto& r : results) out.push_back(normalize_address(r.endpoint().address()));
    return out;
}

bool has_tls_listener(const common::config& cfg) {
    return std::any_of(cfg.listen.begin(), cfg.listen.end(),
                       [](auto& l) { return l.scheme == common::scheme::tls; });
}

} // namespace

receiver::receiver(asio::io_context& io, const common::config& cfg, session_options options)
    : io_(io), config_(cfg), options_(options), peer_log_timer_(io) {}

receiver::~receiver() {
    if (pool_) pool_->join();
}

std::unique_ptr<host_slot> receiver::make_slot(const common::receiver_host& h, std::string* error) {
    auto slot = std::make_unique<host_slot>();
    slot->config = h;
    // Disconnected since now: a host that never connects shows its age to
    // `status --check` rather than no time at all.
    slot->since = std::chrono::system_clock::now();
    slot->addresses = resolve_remote(io_, h.remote);
    // After the privilege drop we can no longer chown: directories made by a
    // reload belong to the daemon user, which is what chown would have done.
    auto owner = ::geteuid() == 0 ? owner_ : std::nullopt;
    slot->store = trail_store::open(h.directory, owner, error);
    if (!slot->store) {
        *error = "host " + h.name + ": " + *error;
        return nullptr;
    }
    slot->store->set_guard(guard_.get());
    slot->store->set_max_clock_skew(config_.max_clock_skew); // reload() sets the new one
    // No descriptor held until a session works with it.
    slot->store->release_idle();
    return slot;
}

std::unique_ptr<receiver::listener> receiver::make_listener(const common::endpoint_spec& spec,
                                                            std::string* error, int* code) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec.host, ec);
    if (ec) {
        *error = "listen address " + spec.to_string() + " is not an IP address";
        *code = EX_CONFIG;
        return nullptr;
    }
    tcp::endpoint ep{address, spec.port};
    auto l = std::make_unique<listener>(
        listener{tcp::acceptor(io_), spec.scheme == common::scheme::tls, spec.to_string()});
    l->acceptor.open(ep.protocol(), ec);
    if (!ec && ep.address().is_v6()) l->acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) l->acceptor.bind(ep, ec);
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        *error = "cannot listen on " + l->name + ": " + ec.message();
        *code = EX_UNAVAILABLE;
        return nullptr;
    }
    return l;
}

namespace {
// A connected host holds its socket, and while it ships a file its directory,
// its ledger and the trail too (trail_store.hpp, "Descriptors"); a host not
// connected holds none: 1,000 hosts shipping at once need ~4,000 descriptors,
// above the usual soft limit of 1,024. Raise the soft limit to the hard one
// (no privilege needed).
void raise_descriptor_limit(std::size_t hosts) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    auto needed = 4 * hosts + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed) {
        log::warning("the descriptor limit (", rl.rlim_cur, ") is below the ", needed, " that ",
                     hosts,
                     " hosts shipping at once may need (1 per connected host, 4 while it "
                     "ships a file); raise LimitNOFILE (systemd) or ulimit -n");
    }
}
} // namespace

void receiver::setup(std::optional<owner_ids> owner) {
    owner_ = owner;
    raise_descriptor_limit(config_.receivers.size());
    make_base_directory();
    std::string error;
    for (const auto& h : config_.receivers) {
        auto slot = make_slot(h, &error);
        if (!slot) throw startup_error(EX_CANTCREAT, error);
        hosts_.push_back(std::move(slot));
    }
    check_attributes();
    if (has_tls_listener(config_)) {
        try {
            tls_.push_back(std::make_shared<asio::ssl::context>(
                common::make_server_context(config_.certfile, config_.keyfile)));
        } catch (const std::exception& e) {
            throw startup_error(EX_CONFIG, e.what());
        }
    }
    for (const auto& spec : config_.listen) {
        int code = 0;
        auto l = make_listener(spec, &error, &code);
        if (!l) throw startup_error(code, error);
        if (!l->tls) log::warning("listening on ", l->name, " without TLS: traffic is not encrypted");
        listeners_.push_back(std::move(l));
    }
}

// Says once per filesystem, at startup, where received trails cannot be made
// append-only; or once that none can, when we are not root.
void receiver::set_guard(std::unique_ptr<common::guard_client> guard) {
    guard_ = std::move(guard);
    for (auto* list : {&hosts_, &retired_}) {
        for (auto& slot : *list) slot->store->set_guard(guard_.get());
    }
}

void receiver::start_listener(listener& l) {
    log::info("listening on ", l.name);
    asio::co_spawn(io_, accept_loop(l), asio::detached);
}

void receiver::start() {
    check_reachable();
    pool_.emplace(2);
    for (auto& l : listeners_) start_listener(*l);
    peer_log_timer_.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(io_, report_suppressed(), asio::detached);
}

bool receiver::reload(const common::config& next, const common::reload_plan& plan,
                      std::string* error) {
    // 1. Prepare everything that can fail; nothing is changed yet.
    std::unique_ptr<asio::ssl::context> tls;
    if (has_tls_listener(next) && (plan.tls_files_changed || tls_.empty())) {
        try {
            tls = std::make_unique<asio::ssl::context>(
                common::make_server_context(next.certfile, next.keyfile));
        } catch (const std::exception& e) {
            *error = e.what();
            return false;
        }
    }
    std::vector<std::unique_ptr<listener>> added_listeners;
    for (const auto& spec : next.listen) {
        if (!common::lists(plan.listen_added, spec.to_string())) continue;
        int code = 0;
        auto l = make_listener(spec, error, &code);
        if (!l) return false;
        added_listeners.push_back(std::move(l));
    }
    std::vector<std::unique_ptr<host_slot>> new_slots;
    for (const auto& h : next.receivers) {
        if (!common::lists(plan.receiver_hosts_added, h.name) &&
            !common::lists(plan.receiver_hosts_changed, h.name)) {
            continue;
        }
        auto slot = make_slot(h, error);
        if (!slot) return false;
        new_slots.push_back(std::move(slot));
    }

    // 2. Apply.
    if (tls) tls_.push_back(std::move(tls));
    for (auto it = listeners_.begin(); it != listeners_.end();) {
        if (!common::lists(plan.listen_removed, (*it)->name)) {
            ++it;
            continue;
        }
        log::info("no longer listening on ", (*it)->name);
        (*it)->closed = true;
        boost::system::error_code ignored;
        (*it)->acceptor.close(ignored);
        closed_listeners_.push_back(std::move(*it));
        it = listeners_.erase(it);
    }
    for (auto it = hosts_.begin(); it != hosts_.end();) {
        auto& slot = **it;
        bool removed = common::lists(plan.receiver_hosts_removed, slot.config.name);
        bool changed = common::lists(plan.receiver_hosts_changed, slot.config.name);
        if (!removed && !changed) {
            ++it;
            continue;
        }
        slot.retired = true;
        if (slot.active) {
            log::info("[", slot.config.name, "] ", removed ? "removed" : "changed",
                      " by the new configuration: closing its connection");
            slot.active->stop();
        }
        retired_.push_back(std::move(*it));
        it = hosts_.erase(it);
    }
    for (auto& slot : new_slots) {
        for (auto& old : retired_) {
            if (old->config.name != slot->config.name) continue;
            slot->predecessor = old.get(); // the latest
            slot->store->inherit_sync_failure(*old->store);
            slot->files = old->files;      // a reload does not refill the bucket
            slot->limit_refusals = old->limit_refusals;
            slot->counters = old->counters; // counted since start, not since the reload
            slot->since = old->since;
            slot->last_data_ack = old->last_data_ack;
            slot->last_heard = old->last_heard;
        }
        hosts_.push_back(std::move(slot));
    }
    update_limits(next);
    for (auto& l : added_listeners) {
        if (!l->tls) log::warning("listening on ", l->name, " without TLS: traffic is not encrypted");
        start_listener(*l);
        listeners_.push_back(std::move(l));
    }
    config_ = next;
    options_.timeout = std::chrono::seconds(next.timeout);
    for (auto& h : hosts_) h->store->set_max_clock_skew(next.max_clock_skew);
    collect_retired();
    return true;
}

void receiver::stop() {
    stopping_ = true;
    peer_log_timer_.cancel();
    for (auto& l : listeners_) {
        boost::system::error_code ignored;
        l->acceptor.close(ignored);
    }
    for (auto& w : sessions_) {
        if (auto s = w.lock()) s->stop();
    }
}

std::vector<common::host_status> receiver::status() const {
    std::vector<common::host_status> out;
    for (const auto& h : hosts_) {
        common::host_status s;
        s.role = "receiver";
        s.host = h->config.name;
        s.connected = h->active != nullptr;
        s.remote = h->peer.empty() ? h->config.remote.host : h->peer;
        s.since = h->since;
        auto stored = h->store->stored();
        s.file = stored.name;
        s.offset = stored.size;
        s.last_data_ack = h->last_data_ack;
        s.last_heard = h->last_heard;
        s.counters = h->counters;
        s.last_error = h->last_error;
        s.last_error_at = h->last_error_at;
        s.refused = h->store->sync_failure();
        out.push_back(std::move(s));
    }
    return out;
}

bool receiver::idle() const {
    return std::all_of(sessions_.begin(), sessions_.end(), [](auto& w) { return w.expired(); });
}

std::vector<host_slot*> receiver::hosts_for(const asio::ip::address& address) {
    std::vector<host_slot*> out;
    for (auto& h : hosts_) {
        if (std::find(h->addresses.begin(), h->addresses.end(), address) != h->addresses.end()) {
            out.push_back(h.get());
        }
    }
    return out;
}

asio::awaitable<void> receiver::accept_loop(listener& l) {
    while (!stopping_ && !l.closed) {
        auto [ec, socket] = co_await l.acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (l.closed) break;
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) break;
            // EMFILE and friends: say so and pause instead of spinning.
            log::error("accept failed: ", ec.message());
            asio::steady_timer t(io_, std::chrono::milliseconds(200));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        on_accept(std::move(socket), l.tls ? tls_.back() : nullptr);
    }
    l.loop_done = true;
}


void receiver::release_unauthenticated(const std::string& address) {
    auto it = unauthenticated_.find(address);
    if (it == unauthenticated_.end()) return;
    if (--it->second == 0) unauthenticated_.erase(it);
    --unauthenticated_total_;
}

void receiver::on_accept(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;
    auto address = normalize_address(remote.address());
    std::string key = address.to_string();
    std::string peer = address.is_v6() ? "[" + key + "]:" + std::to_string(remote.port())
                                       : key + ":" + std::to_string(remote.port());
    auto candidates = hosts_for(address);
    log::debug("connection from ", peer, " (", candidates.size(), " host",
               candidates.size() == 1 ? "" : "s", " configured with this address)");
    if (candidates.empty()) {
        log_peer(std::string(unconfigured_key), true,
                 "connection from " + peer + " refused: no host is configured with this address");
        return; // the socket closes here, before any TLS work
    }
    unsigned& from_here = unauthenticated_[key];
    if (from_here >= max_unauthenticated_per_address ||
        unauthenticated_total_ >= max_unauthenticated_total) {
        bool per_address = from_here >= max_unauthenticated_per_address;
        if (from_here == 0) unauthenticated_.erase(key);
        log_peer(key, true, "connection from " + peer + " refused: " +
                                (per_address ? std::to_string(max_unauthenticated_per_address) +
                                                   " connections from this address"
                                             : std::to_string(max_unauthenticated_total) +
                                                   " connections in all") +
                                " are still authenticating");
        return;
    }
    ++from_here;
    ++unauthenticated_total_;
    socket.set_option(tcp::no_delay(true), ec);
    auto stream = tls ? std::make_shared<common::stream>(std::move(socket), *tls)
                      : std::make_shared<common::stream>(std::move(socket));
    auto s = std::make_shared<session>(*this, stream, peer, key, std::move(candidates), options_,
                                       std::move(tls));
    std::erase_if(sessions_, [](auto& w) { return w.expired(); });
    sessions_.push_back(s);
    asio::co_spawn(io_, [s] { return s->run(); }, asio::detached);
}

} // namespace adist::receiver
