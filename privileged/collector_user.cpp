// The collector process's user (see collector_user.hpp).
#include "privileged/collector_user.hpp"

namespace adist::privileged {

std::string collector_user_name(const common::config& cfg) {
    if (cfg.collector) return cfg.collector->user;
    if (cfg.sudo) return cfg.sudo->user;
    return {};
}

common::config collector_view(common::config cfg) {
    cfg.has_sender = false;
    cfg.has_receiver = false;
    cfg.senders.clear();
    cfg.receivers.clear();
    cfg.listen.clear();
    return cfg;
}

common::config without_collector(common::config cfg) {
    cfg.collector.reset();
    cfg.sudo.reset();
    return cfg;
}

std::optional<std::string> collector_user_problem(const std::string& name,
                                                  std::optional<common::user_ids> ids,
                                                  const std::string& daemon_name,
                                                  common::user_ids daemon_ids) {
    if (!ids) {
        return "the collector runs as user " + name + ", which does not exist (create it: "
               "adduser --system --group --no-create-home " + name +
               "; or name another with `user` in the collector section)";
    }
    if (ids->uid == 0 || ids->gid == 0) {
        return "refusing to run the collector as " + name +
               ": its uid or gid is root's; name an unprivileged user with `user` in the "
               "collector section (the package's is auditdistd-collector)";
    }
    if (ids->uid == daemon_ids.uid) {
        return "the collector's user " + name + " has the uid of the daemon user " + daemon_name +
               " (-u): the collector must run as a user of its own, so that the sender and "
               "receiver cannot write its files (the package's is auditdistd-collector)";
    }
    if (ids->gid == daemon_ids.gid) {
        return "the collector's user " + name + " has the group of the daemon user " + daemon_name +
               " (gid " + std::to_string(ids->gid) + "), which may write the collector's "
               "directories: give it a group of its own (adduser --system --group)";
    }
    return std::nullopt;
}

} // namespace adist::privileged
