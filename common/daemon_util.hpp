// Daemon plumbing used by main: the locked pidfile, detaching from the
// terminal and the privilege drop (which fails closed).
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "common/fd.hpp"
#include "common/trail_guard.hpp"

namespace adist::common {

class pidfile {
public:
    // Creates and locks `path`. When another process holds the lock, returns
    // nullopt with *error naming its PID and *code = EX_TEMPFAIL (75).
    static std::optional<pidfile> acquire(const std::string& path, std::string* error, int* code);
    // Writes our PID (call after daemonizing).
    bool write_pid(std::string* error);
    // Removes the file (best effort; the lock goes with the descriptor).
    void remove();

private:
    pidfile(std::string path, unique_fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    std::string path_;
    unique_fd fd_;
};

// What the root supervisor does for its worker (see run_supervisor).
struct supervisor_options {
    pidfile* pid = nullptr;      // removed when the worker exits
    std::string config_path;     // read on SIGHUP for the worker
    std::string socket_path;     // the status socket, removed at exit ("" none)
    // Receiver: serve the worker's append-only/immutable requests
    // (common/trail_guard.hpp) within these directories.
    std::optional<guard_policy> guard;
};

// The worker's ends of the channels, and who its supervisor is.
struct worker_channels {
    int control_fd = -1; // supervisor -> worker: configuration text on SIGHUP
    int guard_fd = -1;   // worker -> supervisor: attribute requests (-1: none)
    pid_t supervisor = 0;
};

// Splits off the worker that will drop privileges: returns -1 in the child,
// which goes on with *channels set. The parent stays root, with no network
// and no parsing of network input, only to: forward SIGTERM and SIGINT to
// the child; on SIGHUP read the configuration (root-only, the worker cannot)
// and send its text over the control socket (common/reload.hpp); carry out
// the worker's attribute requests that pass the checks, logging those that do
// not; wait for the child, remove the pidfile and the status socket, which
// the unprivileged child cannot, and return the child's exit status (or 128 +
// its signal, logged; SIGSYS means the seccomp filter killed it).
int run_supervisor(const supervisor_options& options, worker_channels* channels);

// Forks into the background, starts a new session, chdir("/") and points
// stdin/stdout/stderr at /dev/null. Returns false with *error on failure.
bool daemonize(std::string* error);

struct user_ids {
    uid_t uid;
    gid_t gid;
};

// Looks up a user; nullopt if it does not exist.
std::optional<user_ids> lookup_user(const std::string& name);

// When running as root: switches to `user` (groups, gid, uid), empties the
// capability bounding set and keeps no capability, except CAP_DAC_READ_SEARCH
// with `keep_read_search` (the sender reads root-owned trails); then verifies
// that root cannot be regained and that exactly that capability is left.
// Returns 0 on success or a sysexits code with *error set; the caller must
// exit on failure. Not root: returns 0 and sets *error to a notice that
// privileges were not changed.
int drop_privileges(const std::string& user, std::string* error, bool keep_read_search = false);

} // namespace adist::common
