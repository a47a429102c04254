// The daemon's start in steps (run.cpp): run_daemon (options.hpp) runs them
// all; the collector process's own image (collector_process.cpp) runs the
// privileged setup of its roles again and everything after the split.
#pragma once

#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "daemon/options.hpp"
#include "daemon/serve.hpp"
#include "privileged/supervisor.hpp"

#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>

// Listening sockets the collector's and sudo's roles and the collector's
// status socket take instead of binding their own (-1: bind): bound before
// the collector process's exec.
struct collector_listeners {
    int collector = -1;
    int sudo = -1;
    int status = -1;
    std::string status_path; // where `status` is bound
};

// As root: the roles' directories, TLS key and listening sockets. An exit
// code when the start must stop (logged).
std::optional<int> setup_roles(boost::asio::io_context& io, const daemon_options& o,
                               const adist::common::config& cfg, bool drop,
                               adist::daemon::roles& r, collector_listeners inherited = {});

// After the split (or with none): the privilege drop and its checks, the
// sandbox and the event loop. Returns the exit code.
int run_unprivileged(boost::asio::io_context& io, daemon_options& o, adist::common::config& cfg,
                     adist::daemon::roles& r, const adist::privileged::worker_channels& channels,
                     std::optional<adist::common::pidfile>& pid);
