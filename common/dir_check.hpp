// Startup checks of the directories the daemon trusts: the receiver's
// directory and host directories, the sender's dist directory. Pure: the
// caller passes what stat() saw; docs/operations.md gives the modes.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <sys/types.h>

#include "common/daemon_util.hpp"

namespace adist::common {

struct dir_facts {
    bool is_directory = false;
    uid_t owner = 0;
    gid_t group = 0;
    mode_t mode = 0;
};

enum class dir_role {
    receiver_base, // may belong to root or the daemon user
    receiver_host, // with a privilege drop: must belong to the daemon user (the receiver made it)
    dist,          // with a privilege drop: the daemon user must be able to remove links in it
};

// Why `path` must not be used (with the command that fixes it), or nullopt.
// `user` is the daemon user when privileges are dropped; without a drop the
// running user and group stand for it (`self`). `writer_group`: one more
// group that may write it (the collector process's, in its dist directory).
std::optional<std::string> check_directory(const std::string& path, const dir_facts& facts,
                                           dir_role role, const std::string& user_name,
                                           std::optional<user_ids> user, user_ids self,
                                           std::optional<gid_t> writer_group = {});

// stat()s `path` (not following a final symbolic link: one is refused) and
// runs check_directory. A missing directory passes (its user creates or waits
// for it).
std::optional<std::string> check_directory_at(const std::string& path, dir_role role,
                                              const std::string& user_name,
                                              std::optional<user_ids> user,
                                              std::optional<gid_t> writer_group = {});

// Two hosts of one role whose directories are one directory under two
// spellings (a symbolic link in a parent, a bind mount): compared by device
// and inode, for the directories that exist. `dirs` is (host name, path).
// With `fan_out` (sender hosts), hosts may share a directory spelled the
// same way (they form one fan-out group), never under two spellings.
// Returns the problem, naming both hosts, or nullopt.
std::optional<std::string> shared_directory(
    const std::vector<std::pair<std::string, std::string>>& dirs, bool fan_out = false);

} // namespace adist::common
