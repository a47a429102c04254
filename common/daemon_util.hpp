// Daemon plumbing used by main: the locked pidfile, detaching from the
// terminal, looking up the daemon user. The privilege drop and the root
// supervisor are in privileged/.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "common/fd.hpp"

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
    // The locked descriptor (kept open by the supervisor).
    int descriptor() const { return fd_.get(); }

private:
    pidfile(std::string path, unique_fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    std::string path_;
    unique_fd fd_;
};

// Forks into the background, starts a new session, chdir("/") and points
// stdin/stdout/stderr at /dev/null. Returns false with *error on failure.
bool daemonize(std::string* error);

// Whether /dev/log is a socket (where syslog(3) sends); a detached daemon
// without one loses every line.
bool syslog_socket_present();

struct user_ids {
    uid_t uid;
    gid_t gid;
};

// Looks up a user; nullopt if it does not exist.
std::optional<user_ids> lookup_user(const std::string& name);
// The gid of group `name`, nothing when there is no such group.
std::optional<unsigned> lookup_group(const std::string& name);

} // namespace adist::common
