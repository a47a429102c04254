// Pidfile, daemonizing and privilege drop (see daemon_util.hpp).
#include "common/daemon_util.hpp"

#include "common/log.hpp"
#include "common/config.hpp"
#include "common/rate_limit.hpp"
#include "common/reload.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <algorithm>
#include <cstring>
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

// The supervisor's side of a reload: the file's text, or why it is
// unreadable (with `ok` false).
struct config_read {
    bool ok = false;
    std::string text;
};

config_read read_config_file(const std::string& path) {
    if (auto problem = unsafe_config_file(path)) return {false, *problem};
    std::ifstream in(path, std::ios::binary);
    if (!in) return {false, "cannot open: " + errno_text(errno)};
    std::string text(max_config_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return {false, "cannot read"};
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
        return {false, "larger than " + std::to_string(max_config_bytes) + " bytes"};
    }
    return {true, std::move(text)};
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

const char* op_name(guard_op op) {
    switch (op) {
    case guard_op::protect: return "make append-only";
    case guard_op::rename: return "rename";
    case guard_op::seal: return "make immutable";
    }
    return "?";
}

// The supervisor's state while its worker runs.
class supervisor {
public:
    explicit supervisor(const supervisor_options& o) : o_(o), guard_(o.guard) {}

    // SIGHUP: hand the configuration to the worker; a configuration that
    // parses also adds its host directories to the guard's (never removes:
    // the worker may keep the running configuration).
    void reload(unique_fd& control) {
        auto read = read_config_file(o_.config_path);
        if (read.ok && guard_) {
            auto parsed = parse_config(read.text, o_.config_path, short_hostname());
            if (auto* cfg = std::get_if<config>(&parsed)) {
                for (const auto& h : cfg->receivers) {
                    if (std::find(guard_->dirs.begin(), guard_->dirs.end(), h.directory) ==
                        guard_->dirs.end()) {
                        guard_->dirs.push_back(h.directory);
                    }
                }
            }
        }
        auto msg = encode_control(read.ok ? control_kind::config_text : control_kind::read_error,
                                  read.text);
        if (control && !send_bounded(control.get(), msg)) {
            // Part of a message may be in the channel: the worker would
            // read the next one wrong. Close it; reloads need a restart.
            int err = errno;
            log::error("SIGHUP: cannot hand the configuration to the worker (",
                       err == 0 || err == EAGAIN ? "it does not read" : errno_text(err),
                       "); configuration reloads are off until a restart");
            control.reset();
        }
    }

    // One attribute request. Refusals are violations: the worker asked for
    // something it never asks for when it works as written.
    void serve_guard(unique_fd& channel) {
        std::byte buf[max_guard_dir + 512];
        ssize_t n = ::recv(channel.get(), buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            channel.reset(); // the worker closed it (or is gone)
            return;
        }
        std::uint32_t id = 0;
        int err = EPERM;
        std::string refusal;
        auto len = std::min(static_cast<std::size_t>(n), sizeof buf);
        if (static_cast<std::size_t>(n) > sizeof buf) {
            refusal = "that is oversized";
        } else if (auto r = decode_guard_request(std::span(buf, len))) {
            id = r->id;
            err = execute_guard_request(*guard_, *r, &refusal);
            if (!refusal.empty()) refusal = "to " + std::string(op_name(r->op)) + " " + r->dir +
                                            "/" + r->name + ": " + refusal;
        } else {
            refusal = "that is malformed";
        }
        if (!refusal.empty()) violation(refusal);
        auto reply = encode_guard_reply(id, err);
        ::send(channel.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }

private:
    void violation(const std::string& what) {
        auto v = limiter_.note("guard", std::chrono::steady_clock::now());
        if (v.suppressed > 0) {
            log::error("the worker made ", v.suppressed, " more refused requests");
        }
        if (v.log) log::error("refused a request from the worker ", what, " (a compromised worker?)");
    }

    const supervisor_options& o_;
    std::optional<guard_policy> guard_;
    log_limiter limiter_{5, std::chrono::minutes(1)};
};

void log_worker_end(int status) {
    if (!WIFSIGNALED(status)) return;
    int sig = WTERMSIG(status);
    if (sig == SIGSYS) {
        log::error("the worker was killed for a system call outside its seccomp allowlist "
                   "(SIGSYS); the kernel log names it: dmesg | grep type=1326");
    } else if (sig != SIGTERM && sig != SIGINT) {
        log::error("the worker was killed by signal ", sig, " (", ::strsignal(sig), ")");
    }
}

} // namespace

int run_supervisor(const supervisor_options& o, worker_channels* channels) {
    channels->supervisor = ::getpid(); // for the child: getppid() after fork() may already be 1
    int pair[2], guard_pair[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return EX_OSERR;
    if (o.guard && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, guard_pair) != 0) {
        ::close(pair[0]);
        ::close(pair[1]);
        return EX_OSERR;
    }
    sigset_t set, old;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    pid_t child = ::fork();
    if (child <= 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        ::close(pair[0]);
        if (guard_pair[0] >= 0) ::close(guard_pair[0]);
        if (child < 0) {
            ::close(pair[1]);
            if (guard_pair[1] >= 0) ::close(guard_pair[1]);
            return EX_OSERR;
        }
        channels->control_fd = pair[1];
        channels->guard_fd = guard_pair[1];
        return -1;
    }
    ::close(pair[1]);
    if (guard_pair[1] >= 0) ::close(guard_pair[1]);
    // It holds the configuration (passwords): no core file, no ptrace by
    // the worker's user.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    unique_fd control(pair[0]);
    unique_fd guard(guard_pair[0]);
    unique_fd signals(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!signals) {
        log::error("cannot watch signals: ", errno_text(errno), "; stopping the worker");
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        return EX_OSERR;
    }
    supervisor sup(o);
    for (;;) {
        pollfd fds[2] = {{signals.get(), POLLIN, 0}, {guard.get(), POLLIN, 0}};
        if (::poll(fds, guard ? 2 : 1, -1) < 0) continue;
        if (guard && fds[1].revents != 0) sup.serve_guard(guard);
        if (fds[0].revents == 0) continue;
        signalfd_siginfo info{};
        if (::read(signals.get(), &info, sizeof info) != sizeof info) continue;
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGHUP) {
            sup.reload(control);
            continue;
        }
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        int status = 0;
        pid_t r = ::waitpid(child, &status, WNOHANG);
        if (r != child) continue;
        log_worker_end(status);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        if (o.pid != nullptr) o.pid->remove();
        if (!o.socket_path.empty()) ::unlink(o.socket_path.c_str());
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

namespace {

// capget/capset with the 64-bit (version 3) layout; glibc has no wrapper.
struct cap_sets {
    std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

bool get_caps(cap_sets* out) {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    if (::syscall(SYS_capget, &h, d) != 0) return false;
    auto join = [](std::uint32_t lo, std::uint32_t hi) { return std::uint64_t(hi) << 32 | lo; };
    out->effective = join(d[0].effective, d[1].effective);
    out->permitted = join(d[0].permitted, d[1].permitted);
    out->inheritable = join(d[0].inheritable, d[1].inheritable);
    return true;
}

bool set_caps(std::uint64_t caps) {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    for (int i = 0; i < 2; ++i) {
        auto part = static_cast<std::uint32_t>(caps >> (32 * i));
        d[i].effective = part;
        d[i].permitted = part;
    }
    return ::syscall(SYS_capset, &h, d) == 0;
}

// Empties the bounding set but for `keep` (needs CAP_SETPCAP while any other
// is left in it: call as root).
bool drop_bounding_set(std::uint64_t keep) {
    for (int cap = 0; cap < 64; ++cap) {
        if ((keep >> cap) & 1) continue;
        int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (present < 0) break; // past the kernel's last capability
        if (present == 1 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return false;
    }
    return true;
}

} // namespace

int drop_privileges(const std::string& user, std::string* error, bool keep_read_search) {
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
    std::uint64_t keep = keep_read_search ? std::uint64_t(1) << CAP_DAC_READ_SEARCH : 0;
    auto failed = [&](const char* what) {
        *error = "cannot drop privileges to " + user + " (" + what + "): " + errno_text(errno);
        return EX_OSERR;
    };
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return failed("ambient");
    if (!drop_bounding_set(keep)) return failed("bounding set");
    // Order matters: groups and gid while we are still root, uid last; with
    // KEEPCAPS the permitted set survives the uid change, then we cut it.
    if (keep != 0 && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return failed("keepcaps");
    if (::setgroups(1, &ids->gid) != 0 || ::setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
        ::setresuid(ids->uid, ids->uid, ids->uid) != 0) {
        return failed("ids");
    }
    if (keep != 0 && (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || !set_caps(keep))) {
        return failed("capabilities");
    }
    // Fail closed: if root can be regained, or more than `keep` is left,
    // something is badly wrong.
    cap_sets caps;
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::getuid() != ids->uid ||
        ::geteuid() != ids->uid || ::getgid() != ids->gid || ::getegid() != ids->gid ||
        !get_caps(&caps) || caps.permitted != keep || caps.effective != keep ||
        caps.inheritable != 0) {
        *error = "privilege drop to " + user + " did not stick";
        return EX_OSERR;
    }
    return 0;
}

} // namespace adist::common
