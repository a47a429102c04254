// The start's checks that change nothing: run by `auditdistd -n` and at the
// start of run_daemon(), so the two can never disagree about a
// configuration (docs/operations.md, "Checking a configuration").
#pragma once

#include <optional>
#include <string>

#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "daemon/options.hpp"

namespace adist::daemon {

struct start_problem {
    int code = 0;        // sysexits.h code the daemon exits with
    std::string message; // what is wrong and the command that fixes it
};

// The configuration file and the files it names: the config's owner and
// mode, a role to run, the daemon user (when started as root), the TLS
// certificate and key (readable, unencrypted, matching), and every
// directory that exists (owner, mode, two hosts sharing one). What only a
// start can find out (a port in use) is left to the start.
std::optional<start_problem> preflight(const daemon_options& o, const common::config& cfg);

// The directory part of preflight(), run again by the start once it has
// made the host directories; `user` is the daemon user when it drops
// privileges.
// `collector_group`: the collector process's group, which may also write
// the collector's and sudo's dist directories.
std::optional<start_problem> check_directories(const daemon_options& o, const common::config& cfg,
                                               std::optional<common::user_ids> user,
                                               std::optional<gid_t> collector_group = {});

// The daemon user when started as root (the privilege drop), nothing when
// there is no drop; a problem when the user is missing or is root.
struct drop_user {
    std::optional<common::user_ids> ids;
    std::optional<start_problem> problem;
};
drop_user resolve_drop_user(const daemon_options& o);

// The collector process's user (privileged/collector_user.hpp), when the
// daemon drops to `daemon` and runs a collector or sudo section: nothing
// without either; a problem when it is missing, root, or the daemon user's
// uid or gid.
drop_user resolve_collector_user(const daemon_options& o, const common::config& cfg,
                                 std::optional<common::user_ids> daemon);

} // namespace adist::daemon
