// Pidfile, daemonizing and privilege drop (see daemon_util.hpp).
#include "common/daemon_util.hpp"

#include "common/log.hpp"
#include "common/reload.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <poll.h>
#include <sys/socket.h>
#include <chrono>
#include <fstream>
#include <sstream>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <vector>

namespace adist::common {

std::optional<pidfile> pidfile::acquire(const std::string& path, std::string* error, int* code) {
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
        *error = "cannot open pidfile " + path + ": " + errno_text(errno);
        *code = EX_CANTCREAT;
        return std::nullopt;
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        *error = "another auditdistd is already running" +
                 (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) + ", holding " +
                 path;
        *code = EX_TEMPFAIL;
        return std::nullopt;
    }
    return pidfile(path, std::move(fd));
}

bool pidfile::write_pid(std::string* error) {
    std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        *error = "cannot write pidfile " + path_ + ": " + errno_text(errno);
        return false;
    }
    return true;
}

void pidfile::remove() {
    if (!fd_) return;
    ::unlink(path_.c_str());
    fd_.reset();
}

namespace {

// The supervisor's side of a reload: the file's text, or why it is unreadable.
std::vector<std::byte> read_config_message(const std::string& path) {
    if (auto problem = unsafe_config_file(path)) {
        return encode_control(control_kind::read_error, *problem);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return encode_control(control_kind::read_error, "cannot open: " + errno_text(errno));
    }
    std::string text(max_config_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return encode_control(control_kind::read_error, "cannot read");
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
        return encode_control(control_kind::read_error,
                              "larger than " + std::to_string(max_config_bytes) + " bytes");
    }
    return encode_control(control_kind::config_text, text);
}

// Non-blocking writes with a 5 s bound: a hung worker must not hang the
// supervisor, which still has to forward SIGTERM.
bool send_bounded(int fd, const std::vector<std::byte>& msg) {
    errno = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::size_t off = 0;
    while (off < msg.size()) {
        ssize_t n = ::send(fd, msg.data() + off, msg.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
    return true;
}

} // namespace

int run_supervisor(pidfile* pid, const std::string& config_path, const std::string& socket_path,
                   int* control_fd, pid_t* supervisor) {
    *supervisor = ::getpid(); // for the child: getppid() after fork() may already be 1
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return EX_OSERR;
    sigset_t set, old;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    pid_t child = ::fork();
    if (child < 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        ::close(pair[0]);
        ::close(pair[1]);
        return EX_OSERR;
    }
    if (child == 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        ::close(pair[0]);
        *control_fd = pair[1];
        return -1;
    }
    ::close(pair[1]);
    unique_fd control(pair[0]);
    for (;;) {
        int sig = 0;
        if (::sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            if (control && !send_bounded(control.get(), read_config_message(config_path))) {
                // Part of a message may be in the channel: the worker would
                // read the next one wrong. Close it; reloads need a restart.
                int err = errno;
                log::error("SIGHUP: cannot hand the configuration to the worker (",
                           err == 0 || err == EAGAIN ? "it does not read" : errno_text(err),
                           "); configuration reloads are off until a restart");
                control.reset();
            }
            continue;
        }
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        int status = 0;
        pid_t r = ::waitpid(child, &status, WNOHANG);
        if (r != child) continue;
        if (pid != nullptr) pid->remove();
        if (!socket_path.empty()) ::unlink(socket_path.c_str());
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
}

bool daemonize(std::string* error) {
    if (::daemon(0, 0) != 0) {
        *error = "cannot daemonize: " + errno_text(errno);
        return false;
    }
    return true;
}

std::optional<user_ids> lookup_user(const std::string& name) {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* result = nullptr;
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || !result) {
        return std::nullopt;
    }
    return user_ids{pw.pw_uid, pw.pw_gid};
}

int drop_privileges(const std::string& user, std::string* error) {
    if (::geteuid() != 0) {
        *error = "not started as root (uid " + std::to_string(::geteuid()) +
                 "): running with the current user's privileges";
        return 0;
    }
    auto ids = lookup_user(user);
    if (!ids) {
        *error = "cannot drop privileges: user " + user + " does not exist";
        return EX_NOUSER;
    }
    if (ids->uid == 0) {
        *error = "refusing to run as " + user + ": it is root";
        return EX_CONFIG;
    }
    // Order matters: groups and gid while we are still root, uid last.
    if (::setgroups(1, &ids->gid) != 0 || ::setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
        ::setresuid(ids->uid, ids->uid, ids->uid) != 0) {
        *error = "cannot drop privileges to " + user + ": " + errno_text(errno);
        return EX_OSERR;
    }
    // Fail closed: if root can be regained, something is badly wrong.
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::getuid() != ids->uid ||
        ::geteuid() != ids->uid || ::getgid() != ids->gid || ::getegid() != ids->gid) {
        *error = "privilege drop to " + user + " did not stick";
        return EX_OSERR;
    }
    return 0;
}

} // namespace adist::common
