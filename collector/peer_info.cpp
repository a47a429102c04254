// The peer's identity from the kernel (peer_info.hpp): SO_PEERCRED,
// SO_PEERPIDFD and /proc/<pid>. Run on the collector's thread for each
// request, while its client is blocked waiting for the reply.
#include "collector/peer_info.hpp"

#include "common/fd.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 // Linux 6.5
#endif

namespace adist::collector {
namespace {

std::string read_small(int dirfd, const char* name, std::size_t max = 4096) {
    common::unique_fd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return {};
    std::string out(max, '\0');
    ssize_t n = ::read(fd.get(), out.data(), out.size());
    out.resize(n > 0 ? std::size_t(n) : 0);
    return out;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.remove_suffix(1);
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

} // namespace

std::string user_name(std::uint32_t uid) {
    std::vector<char> buf(16384);
    passwd pw{}, *res = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || !res) return {};
    return pw.pw_name;
}

namespace {

std::string group_name(gid_t gid) {
    std::vector<char> buf(16384);
    group gr{}, *res = nullptr;
    if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &res) != 0 || !res) return {};
    return gr.gr_name;
}

// The effective uid (the second on the "Uid:" line of a /proc/<pid>/status
// text), the one SO_PEERCRED reports.
std::uint32_t status_uid_of(const std::string& s) {
    auto pos = s.find("\nUid:\t");
    if (pos == std::string::npos) return std::uint32_t(-1);
    pos = s.find('\t', pos + 6);
    if (pos == std::string::npos) return std::uint32_t(-1);
    auto begin = pos + 1;
    auto end = s.find('\t', begin);
    return parse_u32(std::string_view(s).substr(begin, end - begin)).value_or(std::uint32_t(-1));
}

std::uint32_t status_uid(int dirfd) {
    return status_uid_of(read_small(dirfd, "status", 8192));
}

common::unique_fd open_proc(std::int64_t pid) {
    auto path = "/proc/" + std::to_string(pid);
    return common::unique_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// Where the peer's /proc files are read: by path when the peer's pidfd
// will tell afterwards that the pid was still that process's (no directory
// descriptor to open and close), else through a directory descriptor
// opened first (a dead process's directory reads nothing).
struct peer_dir {
    common::unique_fd dir;
    int at = AT_FDCWD;
    std::string prefix; // "/proc/<pid>/", or "" with `dir`

    std::string path(const char* name) const { return prefix + name; }
    std::string read(const char* name) const { return read_small(at, path(name).c_str()); }
    // The effective uid is `uid`: the owner of /proc/<pid> (one stat),
    // unless the process is not dumpable (then root owns it): its status.
    bool euid_is(std::uint32_t uid) const {
        struct stat st {};
        std::string self = prefix.empty() ? std::string() : prefix.substr(0, prefix.size() - 1);
        if (::fstatat(at, self.c_str(), &st, self.empty() ? AT_EMPTY_PATH : 0) == 0 && st.st_uid == uid)
            return true;
        std::string s = read_small(at, path("status").c_str(), 8192);
        return status_uid_of(s) == uid;
    }
};

} // namespace

proc_process read_proc_process(std::int64_t pid) {
    proc_process p;
    auto dir = open_proc(pid);
    if (!dir) return p;
    p.stat = parse_proc_stat(read_small(dir.get(), "stat"));
    if (p.stat.ok) p.euid = status_uid(dir.get());
    return p;
}

std::optional<ucred> peer_cred(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
    return cred;
}

std::optional<std::uint32_t> peer_uid(int fd) {
    auto cred = peer_cred(fd);
    if (!cred) return std::nullopt;
    return cred->uid;
}

namespace {
// What a pidfd says of its process now (unknown: no pidfd, or the poll failed).
enum class liveness { alive, exited, unknown };
liveness pidfd_liveness(int pidfd) {
    if (pidfd < 0) return liveness::unknown;
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    if (r == 0) return liveness::alive;
    return r == 1 && (p.revents & POLLIN) != 0 ? liveness::exited : liveness::unknown;
}
} // namespace

void forget_proc_fields(trusted_info& t) {
    t.tty.reset();
    t.session.reset();
    t.loginuid.reset();
    t.audit_session.reset();
    t.exe.reset();
    t.parents.clear();
    t.verified = false;
}

bool proc_without_pidfd(int pidfd_error) {
    return pidfd_error != EINVAL && pidfd_error != ESRCH && pidfd_error != ENODATA;
}

std::string tty_name(unsigned long tty_nr) {
    if (tty_nr == 0) return {};
    unsigned long major = (tty_nr >> 8) & 0xfff;
    unsigned long minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    if (major >= 136 && major <= 143) return "pts/" + std::to_string((major - 136) * 256 + minor);
    if (major == 4 && minor < 64) return "tty" + std::to_string(minor);
    if (major == 4) return "ttyS" + std::to_string(minor - 64);
    return "dev:" + std::to_string(major) + ":" + std::to_string(minor);
}

stat_fields parse_proc_stat(std::string_view text) {
    stat_fields f;
    auto open = text.find('(');
    auto close = text.rfind(')'); // the name may hold ")" itself
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return f;
    f.comm = std::string(text.substr(open + 1, close - open - 1));
    std::vector<std::string_view> fields;
    std::string_view rest = text.substr(close + 1);
    while (!rest.empty() && fields.size() < 21) {
        auto start = rest.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        auto end = rest.find_first_of(" \n");
        fields.push_back(rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (fields.size() < 20) return f;
    auto num = [](std::string_view s, auto& out) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc() && end == s.data() + s.size();
    };
    f.ok = num(fields[1], f.ppid) && num(fields[3], f.session) && num(fields[4], f.tty_nr) &&
           num(fields[19], f.starttime);
    return f;
}

namespace {

template <typename Lookup>
std::string cached(std::unordered_map<std::uint32_t, name_cache::entry>& map, std::uint32_t id,
                   std::chrono::steady_clock::time_point now, Lookup lookup) {
    auto it = map.find(id);
    if (it != map.end() && now - it->second.at < std::chrono::minutes(1)) return it->second.name;
    std::string name = lookup(id);
    if (it != map.end()) {
        if (!name.empty()) it->second.name = name; // else: the database is out of reach now
        it->second.at = now;
        return it->second.name;
    }
    if (map.size() < name_cache::max_entries) map[id] = {name, now};
    return name;
}

} // namespace

void name_cache::preload() {
    auto now = std::chrono::steady_clock::now();
    ::setpwent();
    while (struct passwd* pw = ::getpwent()) {
        if (users_.size() >= max_entries) break;
        users_.emplace(pw->pw_uid, entry{pw->pw_name, now});
    }
    ::endpwent();
    ::setgrent();
    while (struct group* gr = ::getgrent()) {
        if (groups_.size() >= max_entries) break;
        groups_.emplace(gr->gr_gid, entry{gr->gr_name, now});
    }
    ::endgrent();
}

std::string name_cache::user(std::uint32_t uid, std::chrono::steady_clock::time_point now) {
    return cached(users_, uid, now, [](std::uint32_t id) { return user_name(id); });
}

std::string name_cache::group(std::uint32_t gid, std::chrono::steady_clock::time_point now) {
    return cached(groups_, gid, now, [](std::uint32_t id) { return group_name(id); });
}

trusted_info read_peer(int fd, name_cache& names, ancestry_cache& parents,
                       std::size_t max_parents, const ucred* known) {
    trusted_info t;
    auto asked = known ? std::optional<ucred>(*known) : peer_cred(fd);
    if (!asked) return t;
    const ucred cred = *asked;
    t.pid = cred.pid;
    t.uid = cred.uid;
    t.gid = cred.gid;
    auto now = std::chrono::steady_clock::now();
    t.user = names.user(cred.uid, now);
    t.group = names.group(cred.gid, now);
    int pidfd_raw = -1;
    socklen_t len = sizeof pidfd_raw;
    int pidfd_error = 0;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd_raw, &len) != 0) {
        pidfd_raw = -1;
        pidfd_error = errno;
    }
    common::unique_fd pidfd(pidfd_raw);
    peer_dir d;
    if (pidfd) {
        d.prefix = "/proc/" + std::to_string(cred.pid) + "/";
    } else if (!proc_without_pidfd(pidfd_error)) {
        return t; // the peer is gone: its pid may be another process's now
    } else {
        d.dir = open_proc(cred.pid);
        if (!d.dir) return t;
        d.at = d.dir.get();
    }
    auto st = parse_proc_stat(d.read("stat"));
    if (st.ok) {
        if (auto name = tty_name(st.tty_nr); !name.empty()) t.tty = name;
        t.session = st.session;
    }
    auto loginuid = parse_u32(d.read("loginuid"));
    if (loginuid && *loginuid != std::uint32_t(-1)) t.loginuid = loginuid;
    auto sessionid = parse_u32(d.read("sessionid"));
    if (sessionid && *sessionid != std::uint32_t(-1)) t.audit_session = sessionid;
    // exe needs ptrace access: only root or the peer's own uid has it (the
    // collector keeps no capability), so the others are not asked. Our
    // euid is read once: the first request comes after the privilege drop.
    static const uid_t self = ::geteuid();
    if (self == 0 || self == cred.uid) {
        char exe[4096];
        ssize_t n = ::readlinkat(d.at, d.path("exe").c_str(), exe, sizeof exe);
        if (n > 0) t.exe = std::string(exe, std::size_t(n));
    }
    // Its effective uid is still the connector's, read before the liveness
    // check below, which then vouches for it as for the rest.
    bool euid_ok = st.ok && d.euid_is(cred.uid);
    // The peer's pidfd still names a live process: /proc/<pid> was that
    // process's all along (a pid is reused only after its process was
    // reaped), and so was what was read there. Asked with the parents'.
    bool alive = false;
    if (st.ok) {
        alive = parents.parents_of(st.ppid, max_parents, t.parents, now, pidfd.get());
    } else {
        alive = pidfd_liveness(pidfd.get()) == liveness::alive;
    }
    t.verified = euid_ok && alive;
    // The pidfd says the peer has exited: its pid may have been another
    // process's already when /proc was read (the kernel gives a pidfd of a
    // peer reaped before the accept too), so only what SO_PEERCRED recorded
    // at connect() stays.
    if (!alive && pidfd_liveness(pidfd.get()) == liveness::exited) forget_proc_fields(t);
    return t;
}

} // namespace adist::collector
