// The status sockets: Unix sockets, mode 0600 and owned by root (0660 and
// group `status_group` when the config names one), on which `auditdistd
// status` asks the running daemon for its state. The worker answers for the
// hosts on one; the collector process for its streams on another, next to
// it (the two processes share nothing). Made before the privilege drop; a
// peer that is neither root nor in that group is refused (checked with
// SO_PEERCRED and SO_PEERGROUPS too, not only by the file mode).
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace adist::daemon {

namespace asio = boost::asio;

// How long a client may take: to send its request line (from anyone, so
// that a refusal reaches it), and to read the answer (a client that never
// reads cannot keep the coroutine and its socket). Past either, the
// connection is closed.
struct control_deadlines {
    std::chrono::milliseconds request{2000};
    std::chrono::milliseconds answer{30000};
};

class control_server {
public:
    // The answer to one request line ("status json", ...).
    using responder = std::function<std::string(const std::string& request)>;
    control_server(asio::io_context& io, std::string path, responder respond,
                   std::optional<unsigned> status_gid = std::nullopt,
                   control_deadlines deadlines = {});

    // Binds the socket (removing a stale one left by a killed daemon, but not
    // one a running daemon answers on, nor anything that is not a socket).
    bool listen(std::string* error);
    // The collector process's image: the socket bound before its exec (a
    // listening Unix stream socket, or refused), instead of listen().
    bool adopt(int fd, std::string* error);
    // The listening socket's descriptor (-1 when none), for that exec.
    int listener() { return acceptor_.is_open() ? acceptor_.native_handle() : -1; }
    void start();
    void stop();
    const std::string& path() const { return path_; }

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::local::stream_protocol::socket accepted);

    asio::io_context& io_;
    std::string path_;
    responder respond_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::optional<unsigned> status_gid_;
    control_deadlines deadlines_;
    bool stopped_ = false;
    bool peer_allowed(int fd, unsigned* uid) const;
};

// The worker's answer: the hosts rendered as the request asks ("status
// text", "status json", "status prometheus", "status check SECONDS").
std::string respond_hosts_status(const std::string& request,
                                 std::vector<common::host_status> hosts);

// Before binding `path`: a socket there that nobody answers on (left by a
// daemon that was killed) is removed. The problem, when something else is
// there (not a socket, or a running daemon's), or nullopt.
std::optional<std::string> clear_stale_socket(const std::string& path);

// The status socket that goes with a pidfile: "/var/run/auditdistd.pid" ->
// "/var/run/auditdistd.sock" ("" for pidfile "none").
std::string control_socket_for(const std::string& pidfile);
// The collector process's status socket next to the worker's:
// "/var/run/auditdistd.sock" -> "/var/run/auditdistd-collector.sock"
// ("none" stays "none").
std::string collector_socket_for(const std::string& status_socket);

// What `auditdistd status` asks for.
enum class status_format { text, json, prometheus, check };

// `auditdistd status`: asks the first socket of `candidates` that exists,
// and the collector's socket next to it when there is one, and prints the
// answers together. Returns a sysexits code; with `check`, the Nagios code
// (3, UNKNOWN, when the daemon cannot be asked or answers nonsense).
int run_status_client(const std::vector<std::string>& candidates, status_format format,
                      long max_lag_seconds);

} // namespace adist::daemon
