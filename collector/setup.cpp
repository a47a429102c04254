// The collector's privileged start (setup.hpp): its directories and the
// boot id. Run as root by daemon/run.cpp before the privilege drop.
#include "collector/setup.hpp"

#include "common/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::collector {

std::optional<std::string> directory_problem(const std::string& path, const common::dir_facts& f,
                                             const std::string& user_name,
                                             std::optional<common::user_ids> user,
                                             common::user_ids self,
                                             std::optional<common::user_ids> owner) {
    if (!f.is_directory) return path + " is not a directory";
    if (user) {
        uid_t want = owner ? owner->uid : 0;
        std::string fix = " (chown " + (owner ? std::to_string(want) : std::string("root")) + ":" +
                          user_name + " " + path +
                          " && chmod 0770 " + path + ")";
        if (f.owner != want)
            return path + " belongs to uid " + std::to_string(f.owner) + ", not " +
                   (owner ? "the sender's user (uid " + std::to_string(want) + "), which removes "
                            "the links it shipped"
                          : std::string("root")) + fix;
        if (f.group != user->gid)
            return path + " has group " + std::to_string(f.group) + ", not " + user_name +
                   "'s, which writes there" + fix;
        if ((f.mode & S_IRWXO) != 0) return path + " is open to others" + fix;
        if ((f.mode & (S_IWGRP | S_IXGRP)) != (S_IWGRP | S_IXGRP))
            return path + " is not writable by group " + user_name + fix;
        if (owner && (f.mode & (S_IWUSR | S_IXUSR)) != (S_IWUSR | S_IXUSR))
            return path + " is not writable by its owner, the sender's user" + fix;
        return std::nullopt;
    }
    std::string fix =
        " (chown " + std::to_string(self.uid) + " " + path + " && chmod 0700 " + path + ")";
    if (f.owner != self.uid)
        return path + " belongs to uid " + std::to_string(f.owner) + ", not to us" + fix;
    if ((f.mode & (S_IWGRP | S_IWOTH)) != 0) return path + " is writable by others" + fix;
    return std::nullopt;
}

std::optional<std::string> prepare_directory(const std::string& path, const std::string& user_name,
                                             std::optional<common::user_ids> user,
                                             std::optional<common::user_ids> owner) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) return "cannot examine " + path + ": " + common::errno_text(errno);
        auto parent = std::filesystem::path(path).parent_path().string();
        if (int err = common::make_directories(parent, 0755); err != 0)
            return "cannot create " + parent + ": " + common::errno_text(err);
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
            return "cannot create " + path + ": " + common::errno_text(errno);
        // Group and mode after the owner: never open to a wrong group.
        uid_t want = owner ? owner->uid : 0;
        if (user && (::chown(path.c_str(), want, user->gid) != 0 || ::chmod(path.c_str(), 0770) != 0))
            return "cannot set the owner of " + path + ": " + common::errno_text(errno);
        if (::lstat(path.c_str(), &st) != 0)
            return "cannot examine " + path + ": " + common::errno_text(errno);
    }
    if (S_ISLNK(st.st_mode)) return path + " is a symbolic link: name the directory itself";
    common::dir_facts f{S_ISDIR(st.st_mode), st.st_uid, st.st_gid, st.st_mode};
    return directory_problem(path, f, user_name, user, {::geteuid(), ::getegid()}, owner);
}

std::optional<std::string> prepare_stream_directories(const std::string& directory,
                                                      const std::string& dist,
                                                      const std::string& user_name,
                                                      std::optional<common::user_ids> user,
                                                      std::optional<common::user_ids> dist_owner) {
    if (auto problem = prepare_directory(directory, user_name, user)) return problem;
    return prepare_directory(dist, user_name, user, dist_owner);
}

std::string read_boot_id() {
    common::unique_fd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
    char buf[64] = {};
    ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
    std::string id(buf, n > 0 ? std::size_t(n) : 0);
    while (!id.empty() && id.back() == '\n')
        id.pop_back();
    return id;
}

std::optional<std::string> listen_at(boost::asio::local::stream_protocol::acceptor& acceptor,
                                     const std::string& path, mode_t mode, const std::string& what) {
    auto parent = std::filesystem::path(path).parent_path().string();
    if (int err = common::make_directories(parent, 0755); err != 0)
        return "cannot create " + parent + ": " + common::errno_text(err);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return what + " " + path + " exists and is not a socket";
        ::unlink(path.c_str()); // left by a run that was killed (the pidfile is locked)
    }
    using local = boost::asio::local::stream_protocol;
    mode_t old = ::umask(~mode & 0777);
    boost::system::error_code ec;
    acceptor.open(local(), ec);
    if (!ec) acceptor.bind(local::endpoint(path), ec);
    ::umask(old);
    if (!ec && ::chmod(path.c_str(), mode) != 0) ec.assign(errno, boost::system::system_category());
    if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot create " + what + " " + path + ": " + ec.message();
    return std::nullopt;
}

} // namespace adist::collector
