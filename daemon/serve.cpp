// The running daemon's event loop (see serve.hpp): reloads, signals, the
// ready notification and the bounded stop.
#include "daemon/serve.hpp"

#include "common/log.hpp"
#include "common/reload.hpp"
#include "common/service_notify.hpp"
#include "daemon/sandbox_spec.hpp"
#include "privileged/collector_user.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <signal.h>
#include <sys/socket.h>

namespace adist::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;

sender::uplink_options sender_options(const daemon_options& o, const common::config& cfg) {
    sender::uplink_options u;
    u.timeout = std::chrono::seconds(cfg.timeout);
    u.transfer.window = o.window;
    // Keepalive well inside our timeout and never above FreeBSD's 10 s, so a
    // FreeBSD receiver with its default 20 s timeout keeps us too.
    u.transfer.keepalive = std::clamp<std::chrono::milliseconds>(u.timeout / 3, 1s, 10s);
    u.transfer.progress_interval = std::chrono::seconds(o.progress_interval);
    u.transfer.repeat_interval = std::chrono::seconds(o.repeat_interval);
    u.transfer.receipt_interval = std::chrono::seconds(o.receipt_interval);
    u.max_protocol = o.max_protocol;
    if (o.digest_state != "none") u.digest_state_dir = o.digest_state;
    u.collector_uid = o.collector_uid;
    for (const auto* c : {&cfg.collector, &cfg.sudo})
        if (*c) u.collector_dists.push_back((*c)->dist);
    return u;
}

namespace {

// Stops the loop once both roles are idle, or after a bounded grace period.
asio::awaitable<void> wait_for_roles(asio::io_context& io, std::optional<receiver::receiver>& recv,
                                     std::optional<sender::sender_role>& snd,
                                     asio::steady_timer& grace) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
        if ((!recv || recv->idle()) && (!snd || snd->idle())) break;
        grace.expires_after(20ms);
        co_await grace.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    io.stop();
}



// What a reload needs: the options, the running configuration and the roles.
struct reload_context {
    const daemon_options& options;
    common::config& current;
    roles& r;
    bool collector_process = false; // sees only the collector and sudo sections
};

// Applies a new configuration that parsed: plan it, refuse what needs a
// restart, let the receiver prepare (it may fail: then nothing changes), then
// apply to both roles. A bad file is logged with file:line and ignored.
void apply_reload(reload_context& ctx, const common::config_result& result) {
    if (const auto* e = std::get_if<common::config_error>(&result)) {
        log::error("reload: ", e->to_string(), "; keeping the running configuration");
        return;
    }
    auto next = std::get<common::config>(result);
    if (ctx.collector_process) next = privileged::collector_view(std::move(next));
    // -P overrides the file's pidfile: a change there changes nothing.
    if (ctx.options.pidfile) next.pidfile = ctx.current.pidfile;
    auto plan = common::plan_reload(ctx.current, next);
    common::check_sandbox_limits(plan, next, daemon::worker_sandbox_limits());
    if (!plan.needs_restart.empty()) {
        std::string what;
        for (const auto& n : plan.needs_restart) what += (what.empty() ? "" : ", ") + n;
        log::error("reload: the new configuration changes ", what,
                   ", which needs a restart; keeping the running configuration");
        return;
    }
    std::string error;
    if (ctx.r.recv && !ctx.r.recv->reload(next, plan, &error)) {
        log::error("reload: ", error, "; keeping the running configuration");
        return;
    }
    if (ctx.r.snd) ctx.r.snd->reload(next, plan, sender_options(ctx.options, next));
    if (ctx.r.coll) ctx.r.coll->reload(next);
    if (ctx.r.sudo) ctx.r.sudo->reload(next);
    ctx.current = next;
    log::info("configuration reloaded from ", ctx.options.config_path, ": ", plan.summary());
}

// "Serving": to systemd ourselves, or through the supervisor (the process
// systemd started, the only one it takes notifications from).
void tell_ready(int control_fd) {
    if (control_fd < 0) {
        common::notify_ready();
        return;
    }
    const char ready = common::worker_ready_byte;
    if (::send(control_fd, &ready, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
        log::warning("cannot tell the supervisor that we serve: ", common::errno_text(errno));
    }
}

// Reload requests from the root supervisor: the text of the config file it
// read for us (the worker cannot read the root-only file).
asio::awaitable<void> control_reader(asio::posix::stream_descriptor& channel, reload_context& ctx) {
    common::control_decoder decoder;
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto [ec, n] = co_await channel.async_read_some(asio::buffer(buf),
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec != asio::error::operation_aborted) {
                log::warning("the supervisor's control channel closed: ", ec.message(),
                             "; SIGHUP no longer reloads");
            }
            co_return;
        }
        decoder.feed(std::span(buf.data(), n));
        while (auto m = decoder.next()) {
            log::info("SIGHUP: reloading ", ctx.options.config_path);
            if (m->kind == common::control_kind::read_error) {
                apply_reload(ctx, common::config_error{ctx.options.config_path, 0, m->payload});
            } else {
                auto bundle = common::decode_config_bundle(m->payload);
                apply_reload(ctx, bundle ? common::parse_config_bundle(*bundle, common::short_hostname())
                                         : common::config_result(common::config_error{
                                               ctx.options.config_path, 0,
                                               "malformed configuration from the supervisor"}));
            }
            tell_ready(channel.native_handle());
        }
        if (decoder.error()) {
            log::error("malformed message on the supervisor's control channel; SIGHUP no "
                       "longer reloads");
            co_return;
        }
    }
}

// SIGINT/SIGTERM: stops both roles and gives in-flight syncs and acks a
// bounded time to finish before the loop is stopped. SIGHUP (when there is
// no supervisor): reads the configuration file and reloads.
void handle_signals(asio::io_context& io, asio::signal_set& signals, reload_context& ctx,
                    asio::steady_timer& grace) {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            log::info("SIGHUP: reloading ", ctx.options.config_path);
            common::notify_reloading();
            if (auto problem = common::unsafe_config_file(ctx.options.config_path)) {
                apply_reload(ctx, common::config_error{ctx.options.config_path, 0, *problem});
            } else {
                apply_reload(ctx, common::load_config(ctx.options.config_path));
            }
            common::notify_ready();
            handle_signals(io, signals, ctx, grace);
            return;
        }
        log::info("signal ", sig, " received, shutting down");
        common::notify_stopping(); // no-op in a supervised worker (see run_daemon)
        if (ctx.r.control) ctx.r.control->stop();
        if (ctx.r.collector_control) ctx.r.collector_control->stop();
        if (ctx.r.recv) ctx.r.recv->stop();
        if (ctx.r.snd) ctx.r.snd->stop();
        if (ctx.r.coll) ctx.r.coll->stop();
        if (ctx.r.sudo) ctx.r.sudo->stop();
        signals.cancel();
        asio::co_spawn(io, wait_for_roles(io, ctx.r.recv, ctx.r.snd, grace), asio::detached);
    });
}

} // namespace

int serve(asio::io_context& io, const daemon_options& o, common::config& cfg, roles& r,
          asio::signal_set& signals, int control_fd, bool collector_process) {
    reload_context ctx{o, cfg, r, collector_process};
    asio::steady_timer grace(io);
    handle_signals(io, signals, ctx, grace);
    ::signal(SIGPIPE, SIG_IGN);
    asio::posix::stream_descriptor channel(io);
    if (control_fd >= 0) {
        channel.assign(control_fd);
        asio::co_spawn(io, control_reader(channel, ctx), asio::detached);
    }
    if (r.recv) r.recv->start();
    if (r.snd) r.snd->start();
    if (r.control) r.control->start();
    if (r.collector_control) r.collector_control->start();
    if (r.coll) r.coll->start();
    if (r.sudo) r.sudo->start();
    log::info("auditdistd started (", r.snd ? "sender" : "", r.snd && r.recv ? " and " : "",
              r.recv ? "receiver" : "", r.coll ? (r.snd || r.recv ? ", collector" : "collector") : "",
              r.sudo ? (r.snd || r.recv || r.coll ? ", sudo" : "sudo") : "",
              !r.snd && !r.recv && !r.coll && !r.sudo ? "status only" : "",
              collector_process ? "; the collector process" : "", "), version ", ADIST_VERSION);
    tell_ready(control_fd);
    io.run();
    log::info("auditdistd stopped");
    if (r.coll && r.coll->exit_code() != 0) return r.coll->exit_code();
    return r.sudo ? r.sudo->exit_code() : 0;
}

} // namespace adist::daemon
