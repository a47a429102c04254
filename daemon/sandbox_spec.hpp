// The worker's sandbox, from the configuration: which directories, files and
// ports each role needs (privileged/sandbox.hpp enforces them). Called by run.cpp
// once, after the privilege drop and before the event loop starts threads.
#pragma once

#include <optional>
#include <string>

#include "common/config.hpp"
#include "common/reload.hpp"
#include "privileged/sandbox.hpp"
#include "daemon/options.hpp"

namespace adist::daemon {

// What the sandbox needs to know besides the configuration.
struct worker_facts {
    bool supervised = false;    // a root supervisor removes the pidfile and status socket
    std::string control_socket; // the status socket's path ("" if none)
};

// The spec for `cfg`. A dist directory that does not exist yet is covered by
// its nearest existing parent; *notes gets one line for each such case.
privileged::sandbox_spec worker_sandbox_spec(const daemon_options& o, const common::config& cfg,
                                         const worker_facts& facts,
                                         std::vector<std::string>* notes);

// Builds the spec and enters the sandbox, logging what it does. Returns an
// exit code when the worker must exit (fail closed).
std::optional<int> enter_worker_sandbox(const daemon_options& o, const common::config& cfg,
                                        const worker_facts& facts);

// What a reload may not go beyond (empty limits before the sandbox is entered).
const common::sandbox_limits& worker_sandbox_limits();

} // namespace adist::daemon
