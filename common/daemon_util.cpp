// Pidfile, daemonizing and user lookup (see daemon_util.hpp).
#include "common/daemon_util.hpp"

#include "common/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <vector>

namespace adist::common {

std::optional<pidfile> pidfile::acquire(const std::string& path, std::string* error, int* code) {
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
        *error = "cannot open pidfile " + path + ": " + errno_text(errno);
        *code = EX_CANTCREAT;
        return std::nullopt;
    }
    // 0644 whatever the umask: monitoring reads it.
    ::fchmod(fd.get(), 0644);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        *error = "another auditdistd is already running" +
                 (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) + ", holding " +
                 path;
        *code = EX_TEMPFAIL;
        return std::nullopt;
    }
    return pidfile(path, std::move(fd));
}

bool pidfile::write_pid(std::string* error) {
    std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        *error = "cannot write pidfile " + path_ + ": " + errno_text(errno);
        return false;
    }
    return true;
}

void pidfile::remove() {
    if (!fd_) return;
    ::unlink(path_.c_str());
    fd_.reset();
}

bool syslog_socket_present() {
    struct stat st {};
    return ::stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
}

bool daemonize(std::string* error) {
    if (::daemon(0, 0) != 0) {
        *error = "cannot daemonize: " + errno_text(errno);
        return false;
    }
    return true;
}

std::optional<user_ids> lookup_user(const std::string& name) {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* result = nullptr;
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || !result) {
        return std::nullopt;
    }
    return user_ids{pw.pw_uid, pw.pw_gid};
}

std::optional<unsigned> lookup_group(const std::string& name) {
    long size = ::sysconf(_SC_GETGR_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    group gr{};
    group* result = nullptr;
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result) != 0 || !result) {
        return std::nullopt;
    }
    return gr.gr_gid;
}


} // namespace adist::common
