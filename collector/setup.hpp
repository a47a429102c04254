// The collector's privileged start: its directories (created root-owned,
// dist owned by the sender's user, group of the collector's user, 0770; an existing one must not be writable by
// anyone else: refused with the fix), the boot id and the listening socket
// (0666: every local user sends). Run by daemon/run.cpp as root, before the
// privilege drop.
#pragma once

#include "common/daemon_util.hpp"
#include "common/dir_check.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <optional>
#include <string>
#include <sys/types.h>

namespace adist::collector {

// Why `path` must not hold the collector's files, with the command that
// fixes it, or nullopt. With a privilege drop (`user`, the collector's user)
// it must belong to root, or to `owner` when given (a dist directory: the
// sender's user removes the links it shipped), have the collector user's
// group with group write and no access for others; without one, it must
// belong to us (`self`) and be writable by nobody else. Pure.
std::optional<std::string> directory_problem(const std::string& path, const common::dir_facts& f,
                                             const std::string& user_name,
                                             std::optional<common::user_ids> user,
                                             common::user_ids self,
                                             std::optional<common::user_ids> owner = {});

// Creates `path` (and parents, 0755) when missing, as directory_problem
// wants it, then checks it. Returns the problem or nullopt.
std::optional<std::string> prepare_directory(const std::string& path, const std::string& user_name,
                                             std::optional<common::user_ids> user,
                                             std::optional<common::user_ids> owner = {});

// A stream's two directories, prepared in turn: its `directory` (ours or,
// with `user`, root's) and its `dist` (`dist_owner`'s, when given).
std::optional<std::string> prepare_stream_directories(const std::string& directory,
                                                      const std::string& dist,
                                                      const std::string& user_name,
                                                      std::optional<common::user_ids> user,
                                                      std::optional<common::user_ids> dist_owner);

// A listening unix socket at `path` (`what` names it in messages: "sudo
// socket"), bound as root with `mode` from the start (the umask covers the
// bind), its parent directory made when missing, a socket a killed run left
// replaced. Returns the problem, or nullopt.
std::optional<std::string> listen_at(boost::asio::local::stream_protocol::acceptor& acceptor,
                                     const std::string& path, mode_t mode, const std::string& what);

// /proc/sys/kernel/random/boot_id without its newline ("" if unreadable).
std::string read_boot_id();

} // namespace adist::collector
