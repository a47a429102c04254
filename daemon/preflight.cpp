// The start's checks that change nothing (see preflight.hpp).
#include "daemon/preflight.hpp"

#include <algorithm>
#include <sysexits.h>
#include <unistd.h>

#include "common/dir_check.hpp"
#include "common/tls.hpp"
#include "privileged/collector_user.hpp"

namespace adist::daemon {

drop_user resolve_drop_user(const daemon_options& o) {
    drop_user d;
    if (::geteuid() != 0) return d;
    d.ids = common::lookup_user(o.user);
    if (!d.ids) {
        d.problem = start_problem{EX_NOUSER, "cannot drop privileges: user " + o.user +
                                                 " does not exist (create it, e.g. adduser "
                                                 "--system --group " + o.user + ", or name another "
                                                 "with -u)"};
    } else if (d.ids->uid == 0) {
        d.problem = start_problem{EX_CONFIG, "refusing to run as " + o.user +
                                                 ": it is root; name an unprivileged user with -u "
                                                 "(the package's is auditdistd)"};
    }
    return d;
}

drop_user resolve_collector_user(const daemon_options& o, const common::config& cfg,
                                 std::optional<common::user_ids> daemon) {
    drop_user d;
    if (!daemon || (!cfg.collector && !cfg.sudo)) return d;
    auto name = privileged::collector_user_name(cfg);
    d.ids = common::lookup_user(name);
    if (auto problem = privileged::collector_user_problem(name, d.ids, o.user, *daemon)) {
        d.problem = start_problem{d.ids ? EX_CONFIG : EX_NOUSER, *problem};
        d.ids.reset();
    }
    return d;
}

std::optional<start_problem> check_directories(const daemon_options& o, const common::config& cfg,
                                               std::optional<common::user_ids> user,
                                               std::optional<gid_t> collector_group) {
    std::vector<std::pair<std::string, common::dir_role>> dirs;
    if (cfg.has_receiver) {
        dirs.emplace_back(cfg.receiver_directory, common::dir_role::receiver_base);
        for (const auto& h : cfg.receivers) dirs.emplace_back(h.directory, common::dir_role::receiver_host);
    }
    for (const auto& h : cfg.senders) dirs.emplace_back(h.directory, common::dir_role::dist);
    // The collector's dists: its process links files in, as its group.
    auto collector_dist = [&](const std::string& path) {
        return (cfg.collector && cfg.collector->dist == path) || (cfg.sudo && cfg.sudo->dist == path);
    };
    for (const auto& [path, role] : dirs) {
        auto writer = collector_dist(path) ? collector_group : std::nullopt;
        if (auto problem = common::check_directory_at(path, role, o.user, user, writer)) {
            return start_problem{EX_NOPERM, *problem};
        }
    }
    // The configuration compares directories as strings; the filesystem
    // knows better.
    std::vector<std::pair<std::string, std::string>> recv_dirs, dist_dirs;
    for (const auto& h : cfg.receivers) recv_dirs.emplace_back(h.name, h.directory);
    for (const auto& h : cfg.senders) dist_dirs.emplace_back(h.name, h.directory);
    if (auto problem = common::shared_directory(recv_dirs)) {
        return start_problem{EX_CONFIG, *problem};
    }
    if (auto problem = common::shared_directory(dist_dirs, true)) {
        return start_problem{EX_CONFIG, *problem};
    }
    return std::nullopt;
}

namespace {

bool has_tls_listener(const common::config& cfg) {
    return std::any_of(cfg.listen.begin(), cfg.listen.end(),
                       [](const auto& l) { return l.scheme == common::scheme::tls; });
}

} // namespace

std::optional<start_problem> preflight(const daemon_options& o, const common::config& cfg) {
    if (!cfg.has_sender && !cfg.has_receiver && !cfg.collector && !cfg.sudo) {
        return start_problem{EX_CONFIG, o.config_path + ": neither a sender, a receiver nor a "
                                                         "collector section: nothing to do"};
    }
    if (auto problem = common::unsafe_config_file(o.config_path)) {
        return start_problem{EX_CONFIG, *problem};
    }
    auto user = resolve_drop_user(o);
    if (user.problem) return user.problem;
    auto collector = resolve_collector_user(o, cfg, user.ids);
    if (collector.problem) return collector.problem;
    for (const auto& h : cfg.senders) {
        if (!h.auditd_log.empty() && ::geteuid() != 0) {
            return start_problem{EX_NOPERM, "host " + h.name +
                                                ": auditd_log needs the root supervisor, which links "
                                                "auditd's log: start the daemon as root"};
        }
    }
    if (cfg.has_receiver && has_tls_listener(cfg)) {
        // Loads and checks exactly what the receiver's setup loads.
        try {
            (void)common::make_server_context(cfg.certfile, cfg.keyfile);
        } catch (const std::exception& e) {
            return start_problem{EX_CONFIG, e.what()};
        }
    }
    return check_directories(o, cfg, user.ids,
                             collector.ids ? std::optional<gid_t>(collector.ids->gid) : std::nullopt);
}

} // namespace adist::daemon
