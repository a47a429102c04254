// The root supervisor (see supervisor.hpp): signals, reloads, the guard's
// requests, the worker's end.
#include "privileged/supervisor.hpp"
#include "privileged/ledger_signer.hpp"
#include "privileged/worker_children.hpp"

#include "common/config.hpp"
#include "common/log.hpp"
#include "common/rate_limit.hpp"
#include "common/reload.hpp"
#include "common/service_notify.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::privileged {

using namespace adist::common;

namespace {

constexpr int linker_nice = -4; // see linkers::start

// The supervisor's side of a reload: the configuration and the files it
// includes, encoded for the worker; or why they are unreadable (`ok` false).
struct config_read {
    bool ok = false;
    std::string text;
    std::optional<config_bundle> bundle;
};

config_read read_config_files(const std::string& path) {
    if (auto problem = unsafe_config_file(path)) return {false, *problem, std::nullopt};
    auto read = read_config_bundle(path);
    if (auto* error = std::get_if<config_error>(&read)) {
        // The worker prefixes the main file's name.
        return {false, error->file == path ? error->message : error->to_string(), std::nullopt};
    }
    auto& bundle = std::get<config_bundle>(read);
    return {true, encode_config_bundle(bundle), std::move(bundle)};
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

// What the collector process is handed on SIGHUP: its own sections as a
// one-file bundle, or why there are none (the file's error messages never
// quote a password: config_lexer.hpp).
std::vector<std::byte> collector_message(const config_read& read,
                                         const std::optional<config_result>& parsed) {
    if (!read.ok) return encode_control(control_kind::read_error, read.text);
    if (const auto* e = std::get_if<config_error>(&*parsed)) {
        // The collector process prefixes the main file's name.
        std::string where = e->file != read.bundle->file ? e->to_string()
                            : e->line > 0 ? "line " + std::to_string(e->line) + ": " + e->message
                                          : e->message;
        return encode_control(control_kind::read_error, where);
    }
    // Named apart: an error in it is not at the file's lines.
    config_bundle own{read.bundle->file + " (the collector's sections)",
                      collector_sections_text(std::get<config>(*parsed)), {}, {}};
    return encode_control(control_kind::config_text, encode_config_bundle(own));
}

// The supervisor's state while its worker runs.
class supervisor {
public:
    supervisor(const supervisor_options& o, pid_t worker) : o_(o), guard_(o.guard) {
        if (guard_) guard_->worker_pid = worker;
    }

    // SIGHUP: hand the configuration to each child (the collector process
    // only its own sections: it never sees a password); a configuration
    // that parses also adds its host directories to the guard's (never
    // removes: the worker may keep the running configuration).
    void reload(worker_children& children) {
        auto read = read_config_files(o_.config_path);
        std::optional<config_result> parsed;
        if (read.ok) parsed = parse_config_bundle(*read.bundle, short_hostname());
        const config* cfg = parsed ? std::get_if<config>(&*parsed) : nullptr;
        if (cfg && guard_) {
            for (const auto& h : cfg->receivers) {
                if (std::find(guard_->dirs.begin(), guard_->dirs.end(), h.directory) ==
                    guard_->dirs.end()) {
                    guard_->dirs.push_back(h.directory);
                }
            }
        }
        auto msg = encode_control(read.ok ? control_kind::config_text : control_kind::read_error,
                                  read.text);
        for (auto& c : children.all()) {
            if (!c.control) continue;
            if (!send_bounded(c.control.get(), c.collector ? collector_message(read, parsed) : msg)) {
                // Part of a message may be in the channel: the child would
                // read the next one wrong. Close it; reloads need a restart.
                int err = errno;
                log::error("SIGHUP: cannot hand the configuration to ", c.name, " (",
                           err == 0 || err == EAGAIN ? "it does not read" : errno_text(err),
                           "); configuration reloads are off until a restart");
                c.control.reset();
            }
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
        if (!refusal.empty()) violation("the worker", refusal);
        auto reply = encode_guard_reply(id, err);
        ::send(channel.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    // What a child says on its control channel: that it serves (at start,
    // after each reload), which systemd learns from us, the process it
    // started, once every child said it (*ready). Returns false once the
    // child closed its end. `who` names the child in a refusal.
    bool serve_child_message(const char* who, unique_fd& control, bool* ready_out) {
        char buf[64];
        ssize_t n = ::recv(control.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        if (n == 0) return false;
        bool ready = false, other = false;
        for (ssize_t i = 0; i < n; ++i) (buf[i] == common::worker_ready_byte ? ready : other) = true;
        *ready_out = ready;
        if (other) violation(who, "that is not a known message on the control channel");
        return true;
    }

    // How long poll() may wait: until the count of refusals not logged falls
    // due (-1: none pending), so that it is written within its minute even
    // if the worker asks nothing more.
    int poll_timeout_ms() const {
        auto next = limiter_.next_due();
        if (next == log_limiter::clock::time_point::max()) return -1;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            next - log_limiter::clock::now());
        return static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, 60'000));
    }
    void report_due() {
        for (const auto& r : limiter_.due(log_limiter::clock::now())) suppressed(r.key, r.suppressed);
    }

private:
    // Each child has its own budget of lines, so that one cannot hide the
    // other's refusals (the key is the child's name; "" sums evicted keys).
    static void suppressed(const std::string& who, unsigned n) {
        if (n > 0) log::error(who.empty() ? "the children" : who, " made ", n, " more refused requests");
    }
    void violation(const std::string& who, const std::string& what) {
        auto v = limiter_.note(who, std::chrono::steady_clock::now());
        suppressed(who, v.suppressed);
        std::string_view what_child = who; // "the worker": "a compromised worker?"
        if (what_child.starts_with("the ")) what_child.remove_prefix(4);
        if (v.log) log::error("refused a request from ", who, " ", what, " (a compromised ", what_child, "?)");
    }

    const supervisor_options& o_;
    std::optional<guard_policy> guard_;
    log_limiter limiter_{5, std::chrono::minutes(1)};
};

// Closes every descriptor but `keep` (syslog's too: glibc opens it again on
// the next line). The supervisor keeps no listening socket, directory or
// key file of the worker's setup.
void close_all_but(std::vector<int> keep) {
    ::closelog();
    std::sort(keep.begin(), keep.end());
    unsigned from = 0;
    for (int fd : keep) {
        if (fd < 0) continue;
        auto k = static_cast<unsigned>(fd);
        if (k > from) ::close_range(from, k - 1, 0);
        from = k + 1;
    }
    ::close_range(from, ~0u, 0);
}

// The auditd_log linkers, started once the descriptors of the worker's
// setup are closed. Their poll() entries follow the supervisor's own; each
// also syncs at least once a second (an event inotify cannot give: a
// truncation by a writer that keeps the file open).
class linkers {
  public:
    bool start(const supervisor_options& o) {
        // auditd renames a generation over the oldest after num_logs
        // rotations: one the linker has not linked by then is gone. On a
        // busy machine the linker must not wait behind ordinary work, so
        // the supervisor (which does little else) runs at a higher
        // priority, as auditd does (priority_boost 4).
        if (!o.audit_logs.empty() && ::setpriority(PRIO_PROCESS, 0, linker_nice) != 0)
            log::warning("auditd_log: cannot raise the linker's priority: ", std::strerror(errno));
        for (const auto& src : o.audit_logs) {
            auto& l = all_.emplace_back(std::make_unique<audit_log_linker>(src, o.audit_log_state_dir));
            std::string error;
            if (!l->start(&error)) {
                log::error("auditd_log ", src.log_path, ": ", error);
                return false;
            }
        }
        return true;
    }
    void add_to(std::vector<pollfd>& fds) const {
        for (const auto& l : all_) fds.push_back({l->fd(), POLLIN, 0});
    }
    int timeout_ms(int other) const {
        if (all_.empty()) return other;
        int mine = 1000;
        for (const auto& l : all_)
            if (int due = l->record_due_in_ms(); due >= 0) mine = std::min(mine, due);
        return other < 0 ? mine : std::min(other, mine);
    }
    void serve(const std::vector<pollfd>& fds, std::size_t first) {
        for (std::size_t i = 0; i < all_.size(); ++i) {
            if (fds[first + i].revents != 0) all_[i]->on_readable();
            all_[i]->record_if_due();
        }
        auto now = std::chrono::steady_clock::now();
        if (all_.empty() || now < next_tick_) return;
        next_tick_ = now + std::chrono::seconds(1);
        for (auto& l : all_) l->sync();
    }

    // At the end: what a storm left unrecorded.
    ~linkers() {
        for (auto& l : all_)
            l->record_if_due(true);
    }

  private:
    std::vector<std::unique_ptr<audit_log_linker>> all_;
    std::chrono::steady_clock::time_point next_tick_{};
};

// The ledgers' signer, when the receiver has hosts; without its key
// (unreadable, cannot be made) the supervisor goes on without signing.
std::optional<ledger_signer> start_signer(const supervisor_options& o) {
    if (o.ledger_hosts.empty()) return std::nullopt;
    std::string error;
    auto seed = load_or_make_ledger_key(o.ledger_key, &error);
    if (!seed) {
        log::error(error, "; the ledgers' heads are not signed");
        return std::nullopt;
    }
    return ledger_signer(*seed, o.ledger_hosts, o.ledger_sign_interval);
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
    if (child == 0) return become_child(channels, old, pair[1], guard_pair[1], {pair[0], guard_pair[0]}, false);
    ::close(pair[1]);
    if (guard_pair[1] >= 0) ::close(guard_pair[1]);
    worker_children children;
    if (child > 0) children.add(child, "the worker", pair[0]);
    // A setup step failed: the children started so far are killed.
    auto kill_children = [&] {
        children.signal_all(SIGKILL);
        for (int i = 0; i < 10000 && !children.reap(); ++i) ::usleep(1000); // killed: 10 s at most
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        return EX_OSERR;
    };
    int collector_control = -1;
    pid_t collector = 0;
    if (child > 0 && o.collector_process) {
        collector = fork_collector(channels, old, pair[0], guard_pair[0], &collector_control);
        if (collector < 0) return -1; // the collector process
        if (collector > 0) children.add(collector, "the collector process", collector_control, true);
    }
    if (child < 0 || (o.collector_process && collector == 0)) {
        if (child < 0) ::close(pair[0]);
        if (guard_pair[0] >= 0) ::close(guard_pair[0]);
        return kill_children();
    }
    // It holds the configuration (passwords): no core file, no ptrace by
    // the children's users.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (o.forget_worker_state) o.forget_worker_state();
    if (o.close_other_descriptors) {
        close_all_but({0, 1, 2, o.pid != nullptr ? o.pid->descriptor() : -1, pair[0],
                       guard_pair[0], collector_control});
    }
    unique_fd guard(guard_pair[0]);
    unique_fd signals(::signalfd(-1, &set, SFD_CLOEXEC));
    linkers links;
    if (!signals || !links.start(o)) {
        if (!signals) log::error("cannot watch signals: ", errno_text(errno), "; stopping the worker");
        return kill_children();
    }
    supervisor sup(o, child);
    auto signer = start_signer(o);
    auto& kids = children.all();
    for (;;) {
        std::vector<pollfd> fds = {{signals.get(), POLLIN, 0}, {guard ? guard.get() : -1, POLLIN, 0}};
        for (const auto& c : kids) fds.push_back({c.speaks && c.control ? c.control.get() : -1, POLLIN, 0});
        std::size_t first_link = fds.size();
        links.add_to(fds);
        int timeout = links.timeout_ms(sup.poll_timeout_ms());
        if (signer) timeout = timeout < 0 ? signer->timeout_ms() : std::min(timeout, signer->timeout_ms());
        int ready = ::poll(fds.data(), fds.size(), children.timeout_ms(timeout));
        sup.report_due();
        children.tick();
        if (signer) signer->tick();
        links.serve(fds, first_link);
        if (ready <= 0) continue;
        for (std::size_t i = 0; i < kids.size(); ++i) {
            if (fds[2 + i].revents == 0 || !kids[i].control) continue;
            bool said_ready = false;
            kids[i].speaks = sup.serve_child_message(kids[i].name, kids[i].control, &said_ready);
            if (said_ready && children.mark_ready(i)) common::notify_ready();
        }
        if (fds[1].revents != 0) sup.serve_guard(guard);
        if (fds[0].revents == 0) continue;
        signalfd_siginfo info{};
        if (::read(signals.get(), &info, sizeof info) != sizeof info) continue;
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGHUP) {
            common::notify_reloading();
            sup.reload(children);
            continue;
        }
        if (sig != SIGCHLD) {
            if (sig == SIGTERM || sig == SIGINT) common::notify_stopping();
            children.signal_all(sig);
            continue;
        }
        if (!children.reap()) continue;
        if (signer) signer->tick(true); // what the last commits added
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        if (o.pid != nullptr) o.pid->remove();
        for (const auto& path : o.socket_paths)
            ::unlink(path.c_str());
        return children.exit_code();
    }
}

} // namespace adist::privileged
