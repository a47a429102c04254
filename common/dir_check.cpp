// Directory startup checks (see dir_check.hpp).
#include "common/dir_check.hpp"

#include <map>

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.hpp"

namespace adist::common {

std::optional<std::string> check_directory(const std::string& path, const dir_facts& f,
                                           dir_role role, const std::string& user_name,
                                           std::optional<user_ids> user, user_ids self,
                                           std::optional<gid_t> writer_group) {
    user_ids ids = user.value_or(self);
    if (!f.is_directory) return path + " is not a directory";
    if (f.owner != 0 && f.owner != ids.uid) {
        // The owner that passes every check below too: a host or dist
        // directory is the daemon user's when it drops privileges.
        bool users = user && role != dir_role::receiver_base;
        return path + " belongs to uid " + std::to_string(f.owner) + ", not to root or " +
               user_name + " (chown " + (users ? user_name : std::string("root")) + " " + path +
               ")";
    }
    if ((f.mode & S_IWOTH) != 0) {
        return path + " is writable by everyone (chmod o-w " + path + ")";
    }
    if ((f.mode & S_IWGRP) != 0 && f.group != 0 && f.group != ids.gid &&
        (!writer_group || f.group != *writer_group)) {
        return path + " is writable by group " + std::to_string(f.group) +
               ", which is neither root's nor " + user_name + "'s (chmod g-w " + path + ")";
    }
    if (!user) return std::nullopt;
    if (role == dir_role::receiver_host && f.owner != user->uid) {
        return path + " belongs to root, but the receiver writes there as " + user_name +
               " (chown " + user_name + " " + path + ")";
    }
    if (role == dir_role::dist) {
        bool writable = (f.owner == user->uid && (f.mode & S_IWUSR) != 0) ||
                        (f.group == user->gid && (f.mode & S_IWGRP) != 0);
        if (!writable) {
            return "the sender runs as " + user_name + " and removes shipped links from " + path +
                   ", which " + user_name + " cannot write (chown " + user_name + " " + path +
                   ")";
        }
    }
    return std::nullopt;
}

std::optional<std::string> check_directory_at(const std::string& path, dir_role role,
                                              const std::string& user_name,
                                              std::optional<user_ids> user,
                                              std::optional<gid_t> writer_group) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::nullopt;
        return "cannot examine " + path + ": " + errno_text(errno);
    }
    if (S_ISLNK(st.st_mode)) return path + " is a symbolic link: name the directory itself";
    dir_facts f{S_ISDIR(st.st_mode), st.st_uid, st.st_gid, st.st_mode};
    return check_directory(path, f, role, user_name, user, {::geteuid(), ::getegid()}, writer_group);
}

std::optional<std::string> shared_directory(
    const std::vector<std::pair<std::string, std::string>>& dirs, bool fan_out) {
    std::map<std::pair<dev_t, ino_t>, const std::pair<std::string, std::string>*> seen;
    for (const auto& d : dirs) {
        struct stat st {};
        if (::stat(d.second.c_str(), &st) != 0) continue; // made later, by its user
        auto [it, fresh] = seen.emplace(std::pair{st.st_dev, st.st_ino}, &d);
        if (!fresh && fan_out && it->second->second == d.second) continue;
        if (!fresh && fan_out) {
            return "hosts " + it->second->first + " and " + d.first + " take one dist directory "
                   "under two spellings: " + it->second->second + " and " + d.second +
                   " (a symbolic link or a bind mount); hosts that share a dist directory must "
                   "name it the same way, so that a link stays until each of them has the trail";
        }
        if (!fresh) {
            return "hosts " + it->second->first + " and " + d.first + " would share one directory: " +
                   it->second->second + " and " + d.second +
                   " are the same directory (a symbolic link or a bind mount); give each its own";
        }
    }
    return std::nullopt;
}

} // namespace adist::common
