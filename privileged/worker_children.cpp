// The supervisor's children (see worker_children.hpp).
#include "privileged/worker_children.hpp"
#include "privileged/supervisor.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cstring>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>

namespace adist::privileged {

namespace {

// Bound on the others' orderly stop once one child ended (the worker's own
// drain is bounded at 5 s; an instrumented build is slower).
constexpr auto stop_bound = std::chrono::seconds(20);

void log_end(const char* name, int status) {
    if (!WIFSIGNALED(status)) {
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            log::info(name, " exited with status ", WEXITSTATUS(status));
        return;
    }
    int sig = WTERMSIG(status);
    if (sig == SIGSYS) {
        log::error(name, " was killed for a system call outside its seccomp allowlist "
                         "(SIGSYS); the kernel log names it: dmesg | grep type=1326");
    } else if (sig != SIGTERM && sig != SIGINT) {
        log::error(name, " was killed by signal ", sig, " (", ::strsignal(sig), ")");
    }
}

} // namespace

void worker_children::add(pid_t pid, const char* name, int control_fd, bool collector) {
    auto& c = all_.emplace_back();
    c.pid = pid;
    c.name = name;
    c.control.reset(control_fd);
    c.collector = collector;
}

bool worker_children::mark_ready(std::size_t i) {
    all_.at(i).ready = true;
    return std::all_of(all_.begin(), all_.end(), [](const child& c) { return c.ready; });
}

void worker_children::signal_all(int sig) {
    for (const auto& c : all_)
        if (!c.exited) ::kill(c.pid, sig);
}

bool worker_children::reap() {
    for (auto& c : all_) {
        if (c.exited) continue;
        int status = 0;
        if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
        c.exited = true;
        c.control.reset();
        log_end(c.name, status);
        if (first_status_) continue;
        first_status_ = status;
        if (all_.size() > 1) log::info(c.name, " ended: stopping the others");
        signal_all(SIGTERM);
        kill_at_ = std::chrono::steady_clock::now() + stop_bound;
    }
    return std::all_of(all_.begin(), all_.end(), [](const child& c) { return c.exited; });
}

void worker_children::tick() {
    if (!kill_at_ || std::chrono::steady_clock::now() < *kill_at_) return;
    for (const auto& c : all_) {
        if (c.exited) continue;
        log::error(c.name, " did not stop within ", stop_bound.count(), " s: killing it");
        ::kill(c.pid, SIGKILL);
    }
    kill_at_.reset();
}

int worker_children::timeout_ms(int other) const {
    if (!kill_at_) return other;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *kill_at_ - std::chrono::steady_clock::now()).count();
    int mine = static_cast<int>(std::clamp<long long>(left + 1, 0, 60'000));
    return other < 0 ? mine : std::min(other, mine);
}

int worker_children::exit_code() const {
    int status = first_status_.value_or(0);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The child's side of a fork: its channels, the signal mask it had.
int become_child(worker_channels* channels, const sigset_t& old, int control, int guard,
                 std::initializer_list<int> parent_ends, bool collector) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    for (int fd : parent_ends)
        if (fd >= 0) ::close(fd);
    channels->control_fd = control;
    channels->guard_fd = guard;
    channels->collector = collector;
    return -1;
}

// The collector process, forked after the worker: its own control channel,
// none of the worker's. Returns its pid (-1 in the child, 0 on failure).
pid_t fork_collector(worker_channels* channels, const sigset_t& old, int worker_control,
                     int worker_guard, int* control) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 0;
    pid_t pid = ::fork();
    if (pid == 0) return become_child(channels, old, pair[1], -1, {pair[0], worker_control, worker_guard}, true);
    ::close(pair[1]);
    if (pid < 0) {
        ::close(pair[0]);
        return 0;
    }
    *control = pair[0];
    return pid;
}

} // namespace adist::privileged
