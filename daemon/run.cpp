// The daemon's start: privileged setup (pidfile, host directories, TLS key,
// listeners), detaching and the root supervisor, the privilege drop and the
// sandbox, then serve.cpp's event loop. Called by main() once the
// configuration is valid.
#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "common/log.hpp"
#include "daemon/control.hpp"
#include "daemon/options.hpp"
#include "daemon/collector_process.hpp"
#include "daemon/preflight.hpp"
#include "daemon/run.hpp"
#include "daemon/sandbox_spec.hpp"
#include "daemon/serve.hpp"
#include "privileged/audit_log_state.hpp"
#include "privileged/collector_user.hpp"
#include "privileged/privilege_drop.hpp"
#include "privileged/supervisor.hpp"
#include "receiver/receiver.hpp"
#include "sender/sender_role.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <optional>
#include <signal.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

namespace asio = boost::asio;
using namespace adist;
using namespace std::chrono_literals;

namespace {

using daemon::roles;
using daemon::sender_options;

// Each step returns an exit code when the process must exit now.
using step_result = std::optional<int>;

step_result acquire_pidfile(const daemon_options& o, const common::config& cfg,
                            std::optional<common::pidfile>& pid) {
    std::string path = o.pidfile.value_or(cfg.pidfile);
    if (path == "none") return std::nullopt;
    std::string error;
    int code = 0;
    pid = common::pidfile::acquire(path, &error, &code);
    if (pid) return std::nullopt;
    log::error(error);
    return code;
}

// The collector's status socket, next to the worker's (`status_path`):
// bound here as root, or in the collector process's image taken from
// `inherited`. Served by whichever process runs the collector's roles.
step_result setup_collector_status(asio::io_context& io, const common::config& cfg, roles& r,
                                   const std::string& status_path,
                                   const collector_listeners& inherited) {
    bool adopted = inherited.status >= 0;
    std::string path = adopted ? inherited.status_path : daemon::collector_socket_for(status_path);
    if (path.empty() || path == "none") return std::nullopt;
    if (!cfg.collector && !cfg.sudo) {
        // One left by a run with a collector: `status` would take a socket
        // nobody answers on for a collector that stopped.
        if (auto problem = daemon::clear_stale_socket(path)) log::warning(*problem);
        return std::nullopt;
    }
    auto respond = [&r](const std::string& request) {
        return collector::respond_collector_status(request, r.collector_status());
    };
    r.collector_control =
        std::make_unique<daemon::control_server>(io, path, respond, cfg.status_gid);
    std::string error;
    if (adopted ? r.collector_control->adopt(inherited.status, &error)
                : r.collector_control->listen(&error))
        return std::nullopt;
    log::error(error);
    return adopted ? EX_SOFTWARE : EX_CANTCREAT;
}

} // namespace

// Privileged setup: host directories (owned by `o.user` when we will drop
// to it), the TLS key and the listening sockets (the collector's and sudo's
// taken from `inherited` when given: the collector process's image).
step_result setup_roles(asio::io_context& io, const daemon_options& o, const common::config& cfg,
                        bool drop, roles& r, collector_listeners inherited) {
    auto dropped = daemon::resolve_drop_user(o); // checked by preflight(); looked up again
    if (dropped.problem || drop != dropped.ids.has_value()) {
        log::error(dropped.problem ? dropped.problem->message : "cannot look up user " + o.user);
        return dropped.problem ? dropped.problem->code : EX_NOUSER;
    }
    auto user = dropped.ids;
    // With a drop, the collector and sudo roles run in a process of their
    // own, as their own user; their dist directories belong to the sender's.
    auto coll_user = daemon::resolve_collector_user(o, cfg, user);
    if (coll_user.problem) {
        log::error(coll_user.problem->message);
        return coll_user.problem->code;
    }
    std::string coll_name = coll_user.ids ? privileged::collector_user_name(cfg) : o.user;
    auto coll_group = coll_user.ids ? std::optional<gid_t>(coll_user.ids->gid) : std::nullopt;
    try {
        if (cfg.has_receiver) {
            r.recv.emplace(
                io, cfg, receiver::session_options{std::chrono::seconds(cfg.timeout), !o.no_sync,
                                                 o.max_protocol});
            r.recv->setup(user);
            if (o.no_sync)
                log::warning("--no-sync: acknowledging data that is not on stable storage");
        }
        if (cfg.collector) {
            r.coll.emplace(io, cfg);
            auto e = inherited.collector >= 0 ? r.coll->adopt_listener(inherited.collector)
                                              : std::nullopt;
            if (!e) e = r.coll->setup(coll_name, coll_user.ids ? coll_user.ids : user, user);
            if (e) {
                log::error(e->message);
                return e->code;
            }
        }
        if (cfg.sudo) {
            r.sudo.emplace(io, cfg);
            auto e = inherited.sudo >= 0 ? r.sudo->adopt_listener(inherited.sudo) : std::nullopt;
            if (!e) e = r.sudo->setup(coll_name, coll_user.ids ? coll_user.ids : user, user);
            if (e) {
                log::error(e->message);
                return e->code;
            }
        }
        // Again, now that the receiver made its host directories.
        if (auto problem = daemon::check_directories(o, cfg, user, coll_group)) {
            log::error(problem->message);
            return problem->code;
        }
        if (cfg.has_sender) r.snd.emplace(io, cfg, sender_options(o, cfg));
        std::string path = o.control_socket.value_or(
            daemon::control_socket_for(o.pidfile.value_or(cfg.pidfile)));
        if (!path.empty() && path != "none") {
            r.control = std::make_unique<daemon::control_server>(
                io, path,
                [&r](const std::string& request) {
                    return daemon::respond_hosts_status(request, r.status());
                },
                cfg.status_gid);
            std::string error;
            if (!r.control->listen(&error)) {
                log::error(error);
                return EX_CANTCREAT;
            }
        }
        if (auto code = setup_collector_status(io, cfg, r, path, inherited)) return code;
    } catch (const receiver::startup_error& e) {
        log::error(e.what());
        return e.code;
    } catch (const std::exception& e) {
        log::error(e.what());
        return EX_SOFTWARE;
    }
    return std::nullopt;
}

namespace {

// Linux auditd_log: the supervisor links the log's generations (the worker
// could not: the log's directory is root's, and the worker never writes).
void add_audit_logs(const daemon_options& o, const common::config& cfg,
                    privileged::supervisor_options& so) {
    so.audit_log_state_dir = o.audit_log_state;
    for (const auto& h : cfg.senders) {
        if (h.auditd_log.empty()) continue;
        // Hosts that share a dist directory (fan-out) share one linker.
        bool known = std::any_of(so.audit_logs.begin(), so.audit_logs.end(), [&](const auto& a) {
            return a.log_path == h.auditd_log && a.dist_dir == h.directory;
        });
        if (!known) so.audit_logs.push_back({h.auditd_log, h.directory});
    }
}

// Daemonizes (unless -F/-l), writes the pidfile and, when privileges will be
// dropped, splits off the root supervisor that removes the pidfile at exit
// and reads the configuration for reloads.
step_result detach(asio::io_context& io, const daemon_options& o, const common::config& cfg,
                   bool drop, std::optional<common::pidfile>& pid, roles& r,
                   privileged::worker_channels* channels) {
    if (!o.foreground && !o.no_daemon) {
        std::string error;
        // Everything after this goes to syslog: without its socket, to nowhere.
        if (!common::syslog_socket_present()) {
            std::fprintf(stderr, "auditdistd: warning: no syslog socket at /dev/log: once "
                                 "detached, nothing will be logged (run with -F to log to "
                                 "stderr, or start a syslog daemon)\n");
        }
        io.notify_fork(asio::execution_context::fork_prepare);
        if (!common::daemonize(&error)) {
            log::error(error);
            return EX_OSERR;
        }
        io.notify_fork(asio::execution_context::fork_child);
    }
    if (!o.foreground) log::init(true, o.debug);
    std::string error;
    if (pid && !pid->write_pid(&error)) {
        log::error(error);
        return EX_CANTCREAT;
    }
    // With or without a pidfile: the supervisor also reads the root-only
    // configuration for the unprivileged worker on SIGHUP, and makes the
    // receiver's trails append-only and immutable.
    if (!drop) return std::nullopt;
    privileged::supervisor_options so;
    add_audit_logs(o, cfg, so);
    so.pid = pid ? &*pid : nullptr;
    so.config_path = o.config_path;
    for (const auto* c : {r.control.get(), r.collector_control.get()})
        if (c != nullptr) so.socket_paths.push_back(c->path());
    if (cfg.has_receiver) {
        // Looked up again: a user removed since setup_roles must not become
        // uid 0, whose files the guard would then accept.
        auto user = common::lookup_user(o.user);
        if (!user || user->uid == 0) {
            log::error("cannot look up user ", o.user, " for the supervisor's checks");
            return EX_NOUSER;
        }
        so.guard = privileged::guard_policy{{}, user->uid};
        for (const auto& h : cfg.receivers) so.guard->dirs.push_back(h.directory);
        for (const auto& h : cfg.receivers) so.ledger_hosts.push_back(h.directory);
        so.ledger_key = o.ledger_key;
        so.ledger_sign_interval = std::chrono::seconds(std::max(1, o.ledger_sign_interval));
    }
    // The supervisor keeps none of the worker's sockets, directories or TLS
    // contexts (the private key): a root process holding them for nothing
    // is one more thing to get at.
    so.collector_process = cfg.collector.has_value() || cfg.sudo.has_value();
    so.forget_worker_state = [&r] {
        r.control.reset();
        r.collector_control.reset();
        r.coll.reset();
        r.sudo.reset();
        r.snd.reset();
        r.recv.reset();
    };
    so.close_other_descriptors = true;
    io.notify_fork(asio::execution_context::fork_prepare);
    int code = privileged::run_supervisor(so, channels);
    if (code >= 0) {
        io.notify_fork(asio::execution_context::fork_parent);
        log::info("worker exited with status ", code);
        return code;
    }
    io.notify_fork(asio::execution_context::fork_child);
    pid.reset(); // the supervisor owns it
    return std::nullopt;
}

// Both roles run unprivileged; the sender keeps CAP_DAC_READ_SEARCH to read
// trails that belong to root (it removes links as the owner of the dist
// directory).
// The collector process drops to its own user, keeping no capability.
step_result drop_privileges(const daemon_options& o, const common::config& cfg, bool collector) {
    std::string note;
    std::string user = collector ? privileged::collector_user_name(cfg) : o.user;
    bool read_search = cfg.has_sender && !collector;
    if (int code = privileged::drop_privileges(user, &note, read_search); code != 0) {
        log::error(note);
        return code;
    }
    log::info(note.empty() ? (collector ? "collector process running as user " : "running as user ") +
                                 user + (read_search ? " (keeping CAP_DAC_READ_SEARCH to read trails)" : "")
                           : note);
    return std::nullopt;
}

} // namespace

int run_daemon(const daemon_options& given, const common::config& initial) {
    daemon_options o = given;
    common::config cfg = initial; // replaced by SIGHUP reloads
    // Started as root, both roles drop privileges: a root supervisor stays
    // (no network, no parsing of network input), the worker does the rest.
    bool drop = ::geteuid() == 0;
    std::optional<common::pidfile> pid;
    asio::io_context io(1);
    roles r;
    // What -n checks, checked the same way: the two never disagree.
    if (auto problem = daemon::preflight(o, cfg)) {
        log::error(problem->message);
        return problem->code;
    }
    // The sender ships the collector process's files from its dist.
    if (auto c = daemon::resolve_collector_user(o, cfg, daemon::resolve_drop_user(o).ids); c.ids)
        o.collector_uid = c.ids->uid;
    if (auto code = acquire_pidfile(o, cfg, pid)) return *code;
    // A start that fails leaves no pidfile behind (an empty one would say a
    // daemon runs). Once detached, the supervisor removes it.
    if (auto code = setup_roles(io, o, cfg, drop, r)) {
        if (pid) pid->remove();
        return *code;
    }
    privileged::worker_channels channels; // from the supervisor, when there is one
    if (auto code = detach(io, o, cfg, drop, pid, r, &channels)) {
        if (pid && channels.supervisor == 0) pid->remove(); // failed before the split
        return *code;
    }
    // The collector process: a fresh image of the binary, handed only its
    // own sections (never returns).
    if (channels.collector) daemon::exec_collector_process(o, cfg, r, channels);
    return run_unprivileged(io, o, cfg, r, channels, pid);
}

int run_unprivileged(asio::io_context& io, daemon_options& o, common::config& cfg, roles& r,
                     const privileged::worker_channels& channels,
                     std::optional<common::pidfile>& pid) {
    bool split = channels.supervisor != 0 && (cfg.collector || cfg.sudo);
    // After the split the worker keeps none of the collector process's
    // roles (that process is an image of its own: collector_process.cpp).
    if (split && !channels.collector) {
        r.coll.reset();
        r.sudo.reset();
        r.collector_control.reset();
    }
    if (auto code = drop_privileges(o, cfg, channels.collector)) return *code;
    // Fail closed: the collector process runs as exactly the user that
    // preflight() found distinct from the daemon user and from root.
    if (channels.collector && (o.collector_uid == 0 || ::getuid() != o.collector_uid)) {
        log::error("the collector process does not run as its own user; exiting");
        return EX_OSERR;
    }
    // The worker dies with its supervisor (a kill -9 of the daemon's pid must
    // not leave an orphan serving the port). Set after the drop, which clears it.
    if (channels.supervisor != 0 &&
        (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != channels.supervisor)) {
        log::error("the supervisor is gone; exiting");
        return EX_OSERR;
    }
    // systemd takes notifications from the supervisor only; the worker tells
    // it (tell_ready) and keeps none of its own.
    if (channels.supervisor != 0) ::unsetenv("NOTIFY_SOCKET");
    if (r.recv && channels.guard_fd >= 0) {
        r.recv->set_guard(std::make_unique<common::guard_client>(channels.guard_fd));
    }
    // Asio's signal handling opens its self-pipe and makes it non-blocking
    // with F_SETFL: before the sandbox, which allows F_SETFL only with
    // O_APPEND (a trail's descriptor must stay append-only).
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    // The sandbox, before any thread: serve() starts the receiver's sync pool
    // and the sender's resolver thread, which inherit it. Fails closed.
    if (auto code = daemon::enter_worker_sandbox(
            o, split && !channels.collector ? privileged::without_collector(cfg) : cfg,
            {channels.supervisor != 0, r.control ? r.control->path() : std::string()})) {
        return *code;
    }
    int code = daemon::serve(io, o, cfg, r, signals, channels.control_fd, channels.collector);
    if (pid) pid->remove();
    return code;
}
