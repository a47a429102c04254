// The running daemon's event loop: the roles it runs, SIGHUP reloads (from
// the supervisor's control channel or our own signal), telling systemd or
// the supervisor that we serve, and the bounded stop. run.cpp sets up, then
// calls serve().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "common/config.hpp"
#include "common/status.hpp"
#include "daemon/control.hpp"
#include "daemon/options.hpp"
#include "collector/collector.hpp"
#include "collector/sudo_role.hpp"
#include "receiver/receiver.hpp"
#include "sender/sender_role.hpp"

namespace adist::daemon {

struct roles {
    std::optional<receiver::receiver> recv;
    std::optional<sender::sender_role> snd;
    std::unique_ptr<daemon::control_server> control;
    std::optional<collector::collector_role> coll;
    std::optional<collector::sudo_role> sudo;
    // The collector's status socket, served where its roles run.
    std::unique_ptr<daemon::control_server> collector_control;

    std::vector<common::host_status> status() const {
        std::vector<common::host_status> out;
        if (snd) out = snd->status();
        if (recv) {
            auto more = recv->status();
            out.insert(out.end(), more.begin(), more.end());
        }
        return out;
    }
    std::vector<collector::stream_status> collector_status() const {
        std::vector<collector::stream_status> out;
        if (coll) out.push_back(coll->status());
        if (sudo) out.push_back(sudo->status());
        return out;
    }
};

// The sender's options from the command line and the configuration.
sender::uplink_options sender_options(const daemon_options& o, const common::config& cfg);

// Starts the roles and runs the loop until SIGTERM/SIGINT and a bounded
// drain. `signals` was made before the sandbox (Asio's self-pipe needs
// F_SETFL); `control_fd` is the supervisor's channel (-1: none). The
// collector process (`collector_process`) reloads only its sections
// (privileged::collector_view).
int serve(boost::asio::io_context& io, const daemon_options& o, common::config& cfg, roles& r,
          boost::asio::signal_set& signals, int control_fd, bool collector_process = false);

} // namespace adist::daemon
