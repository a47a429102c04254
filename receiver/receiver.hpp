// The receiver role: listeners, the table of configured sender hosts (their
// addresses, passwords and trail stores) and the live session of each host.
// Created by the daemon's main; everything runs on one io_context, blocking
// file syncs go to a small thread pool.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <memory>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/rate_limit.hpp"
#include "common/reload.hpp"
#include "common/status.hpp"
#include "receiver/host_limits.hpp"
#include "receiver/session.hpp"
#include "receiver/trail_store.hpp"

namespace adist::receiver {

namespace asio = boost::asio;

struct host_slot {
    common::receiver_host config;
    std::vector<asio::ip::address> addresses; // resolved `remote`
    std::unique_ptr<trail_store> store;
    std::shared_ptr<session> active;
    std::uint64_t generation = 0; // bumped by every session that claims the slot
    // Removed or changed by a reload: no new session may claim it; the slot
    // lives on until its last session is gone (sessions hold raw pointers).
    bool retired = false;
    // The retired slot of the same host (changed by a reload): its session
    // must finish before one on this slot starts, as they share the directory.
    host_slot* predecessor = nullptr;
    // For `auditdistd status`, kept up to date by the sessions.
    std::string peer; // "IP:port" of the current or last connection
    std::optional<common::wall_time> since; // connected since, or disconnected since
    std::optional<common::wall_time> last_data_ack; // stored and synced APPENDs acknowledged
    std::optional<common::wall_time> last_heard;    // any frame, keepalives included
    // Since the daemon started; updated on the event loop only (the sync
    // pool's timings come back to the loop with the result).
    common::host_counters counters;
    std::string last_error;
    std::optional<common::wall_time> last_error_at;
    // Per-host limits (host_limits.hpp); the bucket passes to the slot that
    // replaces this one on a reload, so a reload does not refill it.
    file_bucket files;
    host_usage usage;                // measured by each session at its start
    std::uint64_t limit_refusals = 0; // since the daemon started
    common::log_limiter limit_log{3, std::chrono::seconds(60), 2};
    void error(std::string what) {
        last_error = std::move(what);
        last_error_at = std::chrono::system_clock::now();
    }
};

// Pre-authentication limits: connections from configured addresses that have
// not proved the password yet. Beyond them a connection is closed before any
// TLS work. A failed authentication keeps its slot a little longer, which
// bounds guessing to max_unauthenticated_per_address / failed_auth_delay per
// second and address.
inline constexpr unsigned max_unauthenticated_total = 256;
inline constexpr unsigned max_unauthenticated_per_address = 16;
inline constexpr std::chrono::milliseconds failed_auth_delay{1000};

// Thrown by setup(); `code` is a sysexits value for the daemon's exit status.
struct startup_error : std::runtime_error {
    startup_error(int code, const std::string& what) : std::runtime_error(what), code(code) {}
    int code;
};

class receiver {
public:
    receiver(asio::io_context& io, const common::config& cfg, session_options options);
    ~receiver();

    // Privileged part of startup: resolve host addresses, open (and create)
    // host directories, load the TLS key and bind the listeners. `owner` is
    // the user that will own created directories after the privilege drop.
    void setup(std::optional<owner_ids> owner);
    // The root supervisor's attribute channel (common/guard_channel.hpp), set
    // in the worker after the fork; every host's store uses it.
    void set_guard(std::unique_ptr<common::guard_client> guard);
    // Starts accepting connections.
    void start();
    // Stops accepting and closes every session.
    void stop();
    // True once every session has finished (after stop()).
    bool idle() const;
    // Applies a new configuration (SIGHUP) as planned by plan_reload: binds
    // added listeners, loads a changed certificate and opens the directories
    // of added or changed hosts first; if any of that fails, nothing changes
    // and *error says why. Then closes removed listeners and the connections
    // of removed or changed hosts. Sessions of unchanged hosts go on.
    bool reload(const common::config& next, const common::reload_plan& plan, std::string* error);
    // One entry per configured host, for `auditdistd status`.
    std::vector<common::host_status> status() const;

    // A session ended: frees, soon after, what only it still used.
    void session_ended();
    // A session stops counting as unauthenticated (authenticated, or gone).
    void release_unauthenticated(const std::string& address);
    // Logs a line about a peer that has not authenticated, at most 5 per
    // key and minute; a timer writes how many were dropped when the minute
    // ends. `address` is the key: pass unconfigured_key for addresses no host
    // has (one budget for all of them, so a flood from many addresses cannot
    // crowd out the others). Failed authentications from configured
    // addresses are not passed here: they are always logged.
    void log_peer(const std::string& address, bool warning, const std::string& line);
    // A count of dropped lines falls due at `at` (the limiter's report_at):
    // the reporting timer wakes by then.
    void report_suppressed_at(common::log_limiter::clock::time_point at);
    static constexpr std::string_view unconfigured_key = "unconfigured addresses";

    asio::thread_pool& pool() { return *pool_; }

private:
    void make_base_directory();
    struct listener;
    asio::awaitable<void> accept_loop(listener& l);
    asio::awaitable<void> report_suppressed();
    void on_accept(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls);
    // Frees retired host slots, closed listeners and replaced TLS contexts
    // that no session uses any more (each retired slot holds a directory).
    void collect_retired();
    std::unique_ptr<host_slot> make_slot(const common::receiver_host& h, std::string* error);
    // On failure: *error, and *code the sysexits value (bad address: config).
    std::unique_ptr<listener> make_listener(const common::endpoint_spec& spec, std::string* error,
                                            int* code);
    void start_listener(listener& l);
    void check_attributes(); // host_checks.cpp
    void check_reachable();  // host_checks.cpp
    void update_limits(const common::config& next);
    std::vector<host_slot*> hosts_for(const asio::ip::address& address);

    asio::io_context& io_;
    common::config config_;
    session_options options_;
    // Created by start(), not earlier: threads do not survive the fork()s
    // of daemonizing and of the privilege-separated supervisor.
    std::optional<asio::thread_pool> pool_;
    // The current TLS context last; replaced ones stay until no session
    // holds them (each session keeps its context's shared_ptr).
    std::vector<std::shared_ptr<asio::ssl::context>> tls_;
    std::optional<owner_ids> owner_; // owner of created host directories (root only)
    std::unique_ptr<common::guard_client> guard_;
    std::vector<std::unique_ptr<host_slot>> hosts_;
    std::vector<std::unique_ptr<host_slot>> retired_;
    struct listener {
        asio::ip::tcp::acceptor acceptor;
        bool tls;
        std::string name;
        bool closed = false;
        bool loop_done = false; // its accept loop returned: nothing refers to it
    };
    std::vector<std::unique_ptr<listener>> listeners_;
    std::vector<std::unique_ptr<listener>> closed_listeners_; // until their accept loop ends
    std::vector<std::weak_ptr<session>> sessions_;
    bool stopping_ = false;
    std::unordered_map<std::string, unsigned> unauthenticated_; // by address
    unsigned unauthenticated_total_ = 0;
    common::log_limiter peer_log_{5, std::chrono::seconds(60)};
    asio::steady_timer peer_log_timer_; // when the next count of dropped lines is due
};

// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4.
asio::ip::address normalize_address(const asio::ip::address& a);

} // namespace adist::receiver
