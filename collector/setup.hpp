// The collector's privileged start: its directories (created root-owned,
// group of the daemon user, 0770; an existing one must not be writable by
// anyone else: refused with the fix), the boot id and the listening socket
// (0666: every local user sends). Run by daemon/run.cpp as root, before the
// privilege drop.
#pragma once

#include "common/daemon_util.hpp"
#include "common/dir_check.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

namespace adist::collector {

// Why `path` must not hold the collector's files, with the command that
// fixes it, or nullopt. With a privilege drop (`user`) it must belong to
// root, have the daemon user's group with group write and no access for
// others; without one, it must belong to us (`self`) and be writable by
// nobody else. Pure.
std::optional<std::string> directory_problem(const std::string& path, const common::dir_facts& f,
                                             const std::string& user_name,
                                             std::optional<common::user_ids> user,
                                             common::user_ids self);

// Creates `path` (and parents, 0755) when missing, as directory_problem
// wants it, then checks it. Returns the problem or nullopt.
std::optional<std::string> prepare_directory(const std::string& path, const std::string& user_name,
                                             std::optional<common::user_ids> user);

// /proc/sys/kernel/random/boot_id without its newline ("" if unreadable).
std::string read_boot_id();

} // namespace adist::collector
