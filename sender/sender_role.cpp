// The sender role (see sender_role.hpp): one uplink per host, the fan-out
// group of each dist directory, and reloads.
#include "sender/sender_role.hpp"

#include "common/async.hpp"
#include "common/log.hpp"
#include "common/tls.hpp"
#include "sender/digest_checkpoint.hpp"
#include "sender/settled_links.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::sender {
using namespace std::chrono_literals;
using common::tuple_awaitable;

sender_role::sender_role(asio::io_context& io, const common::config& cfg, uplink_options options)
    : io_(io), tls_(common::make_client_context()) {
    configure_groups(cfg);
    for (const auto& h : cfg.senders) {
        uplinks_.push_back(std::make_shared<uplink>(io, common::handshake_name(cfg, h), h, tls_,
                                                    options, group(h.directory), receipts(h),
                                                    checkpoint(h, options)));
    }
    // From here on the daemon drops privileges and enters the sandbox, which
    // has no mkdir and no creating open: state files are opened only above.
    may_open_files_ = false;
}

std::shared_ptr<fanout_group> sender_role::group(const std::string& directory) {
    auto& g = groups_[directory];
    if (!g) g = std::make_shared<fanout_group>(directory);
    return g;
}

std::shared_ptr<receipt_keeper> sender_role::receipts(const common::sender_host& h) {
    if (!h.ledger_key) return nullptr;
    auto& k = receipts_[h.receipt_file];
    if (k && k->key() == *h.ledger_key) return k;
    k = std::make_shared<receipt_keeper>(h.receipt_file, *h.ledger_key);
    // A host (or key) added by a reload: its file cannot be opened inside
    // the sandbox. Status says so, and the host ships without receipts.
    if (!may_open_files_) {
        k->unavailable("added by a reload: its receipt file is opened at the start only; restart "
                       "the daemon to keep its receipts");
        log::error("[", h.name, "] receipts cannot be kept: ", k->problem());
    } else if (!k->open()) {
        log::error("[", h.name, "] receipts cannot be kept: ", k->problem());
    }
    return k;
}

std::shared_ptr<digest_checkpoint> sender_role::checkpoint(const common::sender_host& h,
                                                          const uplink_options& options) {
    if (options.max_protocol < 1) return nullptr;
    auto& c = checkpoints_[h.name];
    std::string path = options.digest_state_dir.empty() ? "" : options.digest_state_dir + "/" + h.name;
    if (c && (c->path() == path || !may_open_files_)) return c;
    // A host added by a reload (its file cannot be opened inside the
    // sandbox), or a start by a user who cannot write there: in memory only.
    // Reconnects still resume without reading the prefix; a restart reads
    // it once.
    c = std::make_shared<digest_checkpoint>(may_open_files_ ? path : std::string());
    std::string why = !may_open_files_ && !path.empty() ? "added by a reload; its file is opened at the start only"
                                                         : std::string();
    if (may_open_files_ && !path.empty() && !c->open()) why = c->problem();
    if (!why.empty())
        log::info("[", h.name, "] the digest checkpoint is kept in memory only (", why,
                  "): after a restart, a resumed trail's prefix is read once");
    return c;
}

void sender_role::configure_groups(const common::config& cfg) {
    std::map<std::string, std::vector<std::pair<std::string, bool>>> hosts;
    for (const auto& h : cfg.senders)
        hosts[h.directory].emplace_back(h.name, h.optional);
    for (auto it = groups_.begin(); it != groups_.end();) {
        if (hosts.count(it->first) != 0) {
            ++it;
            continue;
        }
        it->second->configure({}); // its old uplinks may still hold it while they stop
        it = groups_.erase(it);
    }
    for (const auto& [dir, list] : hosts)
        group(dir)->configure(list);
    // Links kept for a host that the reload made optional or removed.
    for (const auto& [dir, g] : groups_) {
        if (g->settled().empty()) continue;
        if (auto fd = common::open_directory(dir))
            remove_settled(*g, fd.get(), "every required receiver has it after the reload");
    }
}

void sender_role::start() {
    for (auto& u : uplinks_)
        u->start();
}

std::vector<common::host_status> sender_role::status() const {
    std::vector<common::host_status> out;
    for (const auto& u : uplinks_)
        out.push_back(u->status());
    return out;
}

bool sender_role::idle() const {
    auto stopped = [](auto& u) { return !u->running(); };
    return std::all_of(uplinks_.begin(), uplinks_.end(), stopped) &&
           std::all_of(retired_.begin(), retired_.end(), stopped);
}

void sender_role::stop() {
    stopping_ = true;
    for (auto& u : uplinks_)
        u->stop();
    for (auto& u : retired_)
        u->stop();
}

void sender_role::reload(const common::config& next, const common::reload_plan& plan,
                         uplink_options options) {
    std::erase_if(retired_, [](auto& u) { return !u->running(); });
    // Checkpoints of hosts the new configuration removes go (their files close).
    std::erase_if(checkpoints_, [&](const auto& c) {
        return std::none_of(next.senders.begin(), next.senders.end(),
                            [&](const auto& h) { return h.name == c.first; });
    });
    configure_groups(next);
    for (auto it = uplinks_.begin(); it != uplinks_.end();) {
        const auto& name = (*it)->name();
        bool removed = common::lists(plan.sender_hosts_removed, name);
        if (!removed && !plan.restart_all_uplinks &&
            !common::lists(plan.sender_hosts_changed, name)) {
            ++it;
            continue;
        }
        log::info("[", name, "] ", removed ? "removed" : "changed",
                  " by the new configuration: closing its connection");
        (*it)->stop();
        retired_.push_back(std::move(*it));
        it = uplinks_.erase(it);
    }
    for (const auto& h : next.senders) {
        if (!plan.restart_all_uplinks && !common::lists(plan.sender_hosts_added, h.name) &&
            !common::lists(plan.sender_hosts_changed, h.name)) {
            continue;
        }
        auto u = std::make_shared<uplink>(io_, common::handshake_name(next, h), h, tls_, options,
                                          group(h.directory), receipts(h),
                                          checkpoint(h, options));
        for (const auto& old : retired_) {
            if (old->name() == h.name) u->carry_over(*old); // the latest wins
        }
        asio::co_spawn(io_, start_after(u), asio::detached);
        uplinks_.push_back(std::move(u));
    }
}

// Starts `next` once no retired uplink of the same host runs any more (they
// share the dist directory). Each of their steps has a deadline, so this ends.
asio::awaitable<void> sender_role::start_after(std::shared_ptr<uplink> next) {
    asio::steady_timer poll(io_);
    auto still_running = [&] {
        return std::any_of(retired_.begin(), retired_.end(),
                           [&](auto& u) { return u->name() == next->name() && u->running(); });
    };
    while (!stopping_ && still_running()) {
        poll.expires_after(20ms);
        co_await poll.async_wait(tuple_awaitable);
    }
    if (!stopping_) next->start();
}

} // namespace adist::sender
