// The receiver role: listeners, the table of configured sender hosts (their
// addresses, passwords and trail stores) and the live session of each host.
// Created by the daemon's main; everything runs on one io_context, blocking
// file syncs go to a small thread pool.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
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
};

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
    // Starts accepting connections.
    void start();
    // Stops accepting and closes every session.
    void stop();
    // True once every session has finished (after stop()).
    bool idle() const;

    asio::thread_pool& pool() { return *pool_; }

private:
    asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, bool tls);
    void on_accept(asio::ip::tcp::socket socket, bool tls);
    std::vector<host_slot*> hosts_for(const asio::ip::address& address);

    asio::io_context& io_;
    common::config config_;
    session_options options_;
    // Created by start(), not earlier: threads do not survive the fork()s
    // of daemonizing and of the privilege-separated supervisor.
    std::optional<asio::thread_pool> pool_;
    std::optional<asio::ssl::context> tls_;
    std::vector<std::unique_ptr<host_slot>> hosts_;
    struct listener {
        asio::ip::tcp::acceptor acceptor;
        bool tls;
        std::string name;
    };
    std::vector<std::unique_ptr<listener>> listeners_;
    std::vector<std::weak_ptr<session>> sessions_;
    bool stopping_ = false;
};

// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4.
asio::ip::address normalize_address(const asio::ip::address& a);

} // namespace adist::receiver
