// `auditdistd sudo-extract HOST_DIR OUT_DIR`: rebuilds the sudo I/O log
// tree (one directory per session, as sudoreplay reads it) from a host's
// received sudo trails, incrementally (OUT_DIR/.sudo-extract-state), and
// reports every gap on standard output. Runs apart from the daemon, as any
// user that can read HOST_DIR (docs/sudo.md).
#pragma once

namespace adist::daemon {

// argv after "sudo-extract". Returns the exit status (0, or 64/66/73/74).
int run_sudo_extract(int argc, char** argv);

} // namespace adist::daemon
