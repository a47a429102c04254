// Who the collector process runs as (docs/collector.md, "Its own process and
// user"): the `user` of the collector and sudo sections, checked before the
// start (-n does the same) and again by the supervisor before the fork.
#pragma once

#include <optional>
#include <string>

#include "common/config.hpp"
#include "common/daemon_util.hpp"

namespace adist::privileged {

// The user the collector process drops to: the collector section's `user`,
// else the sudo section's; "" when the configuration has neither section.
std::string collector_user_name(const common::config& cfg);

// Why `name` (looked up as `ids`, nothing when there is no such user) must
// not run the collector next to a worker running as `daemon_name`
// (`daemon_ids`), with what fixes it; nullopt when it may. It must exist,
// not be root, and share neither uid nor gid with the daemon user: the
// collector's directories are writable by its group, and the sender's
// dist directory by its owner. Pure.
std::optional<std::string> collector_user_problem(const std::string& name,
                                                  std::optional<common::user_ids> ids,
                                                  const std::string& daemon_name,
                                                  common::user_ids daemon_ids);

// What each process of the split runs, as configurations. The collector
// process's view: only the collector and sudo sections (no hosts, no
// listeners), so its sandbox, its start line and its reloads see nothing
// else. The worker's sandbox view: everything but those sections (the
// worker keeps them in its running configuration, so that a reload that
// adds or removes them is refused as needing a restart). Pure.
common::config collector_view(common::config cfg);
common::config without_collector(common::config cfg);

} // namespace adist::privileged
