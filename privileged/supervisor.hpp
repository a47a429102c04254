// The root supervisor that stays when the daemon drops privileges: no
// network, no parsing of network input. It forwards signals, reads the
// root-only configuration for a reload, carries out the receiver worker's
// attribute requests (trail_guard.hpp) and cleans up after the worker.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <sys/types.h>

#include "common/daemon_util.hpp"
#include "privileged/audit_log_linker.hpp"
#include "privileged/guard_executor.hpp"

namespace adist::privileged {

// What the root supervisor does for its worker (see run_supervisor).
struct supervisor_options {
    common::pidfile* pid = nullptr;      // removed when the worker exits
    std::string config_path;     // read on SIGHUP for the worker
    std::vector<std::string> socket_paths; // the status sockets, removed at exit
    // Receiver: serve the worker's append-only/immutable requests
    // (privileged/guard_executor.hpp) within these directories.
    std::optional<guard_policy> guard;
    // Linux auditd_log: the logs whose generations the supervisor links into
    // their dist directories (privileged/audit_log_linker.hpp), recording
    // what it linked in `audit_log_state_dir`.
    std::vector<audit_log_source> audit_logs;
    std::string audit_log_state_dir;
    // Receiver: the host directories whose ledgers the supervisor signs
    // with the key in `ledger_key` (privileged/ledger_signer.hpp).
    std::vector<std::string> ledger_hosts;
    std::string ledger_key;
    std::chrono::seconds ledger_sign_interval{60};
    // Called in the supervisor right after the split: let go of what the
    // worker's setup opened and loaded (listening sockets, directories, the
    // TLS contexts with the private key), which the supervisor never needs.
    std::function<void()> forget_worker_state;
    // Then close every descriptor but 0-2, the pidfile's and the channels
    // (the daemon sets it; a test process that forks a supervisor may not).
    bool close_other_descriptors = false;
    // Fork a second child, the collector process (it drops to the
    // collector's own user): supervised like the worker (reloads, signals;
    // the first of the two to end stops the other, privileged/worker_children.hpp).
    bool collector_process = false;
};

// The worker's ends of the channels, and who its supervisor is.
struct worker_channels {
    int control_fd = -1; // supervisor -> worker: configuration text on SIGHUP
    int guard_fd = -1;   // worker -> supervisor: attribute requests (-1: none)
    pid_t supervisor = 0;
    bool collector = false; // this child is the collector process
};

// Splits off the worker that will drop privileges (and, with
// `collector_process`, the collector process): returns -1 in each child,
// which goes on with *channels set (`collector` says which it is). The parent stays root, with no network
// and no parsing of network input, only to: forward SIGTERM and SIGINT to
// the child; on SIGHUP read the configuration (root-only, the worker cannot)
// and send its text over the control socket (common/reload.hpp); carry out
// the worker's attribute requests that pass the checks, logging those that do
// not; wait for the child, remove the pidfile and the status socket, which
// the unprivileged child cannot, and return the child's exit status (or 128 +
// its signal, logged; SIGSYS means the seccomp filter killed it).
int run_supervisor(const supervisor_options& options, worker_channels* channels);

} // namespace adist::privileged
