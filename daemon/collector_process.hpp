// The collector process's own image (docs/security.md, "The collector
// process"). The supervisor forks the collector process from a daemon that
// read the whole configuration, the hosts' passwords with it; a fork keeps
// all of that memory. So the forked child at once execs the daemon's binary
// again (`auditdistd collector-process`), handing it only:
//   descriptor 3: its control channel to the supervisor (reloads, "ready");
//   descriptor 4: its own sections as text (common::collector_sections_text);
//   descriptors 5 and 6: the collector's and sudo's listening sockets, bound
//   as root before the daemon detached (absent when there is no section);
//   descriptor 7: the collector's status socket, bound then too (absent
//   with no status socket; its path follows --status-socket).
// The new image sets its roles up again as root (directories, files: the
// same checks, passed once already), then drops to its user, enters the
// sandbox and serves, as run.cpp's worker does.
#pragma once

#include "common/config.hpp"
#include "daemon/options.hpp"
#include "daemon/serve.hpp"
#include "privileged/supervisor.hpp"

namespace adist::daemon {

// In the forked child: execs the collector process's image. Never returns
// (on failure it logs why and exits EX_OSERR: the supervisor then stops the
// daemon).
[[noreturn]] void exec_collector_process(const daemon_options& o, const common::config& cfg,
                                         roles& r, const privileged::worker_channels& channels);

// `auditdistd collector-process ...`: the image's main. Refuses to run but
// as a child of the supervisor that named itself, with the descriptors above.
int run_collector_process(int argc, char** argv);

} // namespace adist::daemon
