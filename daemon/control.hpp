// The status socket: a Unix socket, mode 0600 and owned by root (0660 and
// group `status_group` when the config names one), on which `auditdistd
// status` asks the running daemon for its per-host state. Made before the
// privilege drop; a peer that is neither root nor in that group is refused
// (checked with SO_PEERCRED and SO_PEERGROUPS too, not only by the file mode).
#pragma once

#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace adist::daemon {

namespace asio = boost::asio;

class control_server {
public:
    using collector = std::function<std::vector<common::host_status>()>;
    control_server(asio::io_context& io, std::string path, collector collect,
                   std::optional<unsigned> status_gid = std::nullopt);

    // Binds the socket (removing a stale one left by a killed daemon, but not
    // one a running daemon answers on, nor anything that is not a socket).
    bool listen(std::string* error);
    void start();
    void stop();
    const std::string& path() const { return path_; }

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::local::stream_protocol::socket accepted);

    asio::io_context& io_;
    std::string path_;
    collector collect_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::optional<unsigned> status_gid_;
    bool stopped_ = false;
    bool peer_allowed(int fd, unsigned* uid) const;
    std::string respond(const std::string& request);
};

// The status socket that goes with a pidfile: "/var/run/auditdistd.pid" ->
// "/var/run/auditdistd.sock" ("" for pidfile "none").
std::string control_socket_for(const std::string& pidfile);

// What `auditdistd status` asks for.
enum class status_format { text, json, prometheus, check };

// `auditdistd status`: asks the first socket of `candidates` that exists and
// prints the answer. Returns a sysexits code; with `check`, the Nagios code
// (3, UNKNOWN, when the daemon cannot be asked or answers nonsense).
int run_status_client(const std::vector<std::string>& candidates, status_format format,
                      long max_lag_seconds);

} // namespace adist::daemon
