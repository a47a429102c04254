// Append-only and immutable attributes for received trails (see
// trail_guard.hpp): the request codec, the decider, the supervisor's
// executor and the worker's client.
#include "common/trail_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "proto/trail_name.hpp"

namespace adist::common {

namespace {

constexpr std::size_t header_size = 9; // id 4, op 1, dir length 2, name length 1, to length 1

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(std::byte((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::span<const std::byte> in) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
    return v;
}

std::string_view as_text(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool is_final(std::string_view name) {
    auto k = proto::classify_trail_name(name);
    return k == proto::trail_kind::terminated || k == proto::trail_kind::crash_recovery;
}

int get_flags(int fd, int* flags) {
    return ::ioctl(fd, FS_IOC_GETFLAGS, flags) == 0 ? 0 : errno;
}

int set_flags(int fd, int flags) {
    return ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0 ? 0 : errno;
}

} // namespace

std::vector<std::byte> encode_guard_request(const guard_request& r) {
    std::vector<std::byte> out;
    out.reserve(header_size + r.dir.size() + r.name.size() + r.to.size());
    put_u32(out, r.id);
    out.push_back(std::byte(static_cast<std::uint8_t>(r.op)));
    auto dir_len = static_cast<std::uint16_t>(std::min(r.dir.size(), max_guard_dir));
    out.push_back(std::byte(dir_len & 0xff));
    out.push_back(std::byte(dir_len >> 8));
    out.push_back(std::byte(static_cast<std::uint8_t>(std::min<std::size_t>(r.name.size(), 255))));
    out.push_back(std::byte(static_cast<std::uint8_t>(std::min<std::size_t>(r.to.size(), 255))));
    for (auto* s : {&r.dir, &r.name, &r.to}) {
        auto* p = reinterpret_cast<const std::byte*>(s->data());
        out.insert(out.end(), p, p + s->size());
    }
    return out;
}

std::optional<guard_request> decode_guard_request(std::span<const std::byte> m) {
    if (m.size() < header_size) return std::nullopt;
    guard_request r;
    r.id = get_u32(m);
    auto op = static_cast<std::uint8_t>(m[4]);
    if (op < 1 || op > 3) return std::nullopt;
    r.op = static_cast<guard_op>(op);
    std::size_t dir_len = static_cast<std::size_t>(m[5]) | static_cast<std::size_t>(m[6]) << 8;
    std::size_t name_len = static_cast<std::size_t>(m[7]);
    std::size_t to_len = static_cast<std::size_t>(m[8]);
    if (dir_len == 0 || dir_len > max_guard_dir) return std::nullopt;
    if (m.size() != header_size + dir_len + name_len + to_len) return std::nullopt;
    auto rest = m.subspan(header_size);
    r.dir = as_text(rest.first(dir_len));
    r.name = as_text(rest.subspan(dir_len, name_len));
    r.to = as_text(rest.subspan(dir_len + name_len));
    if (r.dir[0] != '/' || r.dir.find('\0') != std::string::npos) return std::nullopt;
    // Trail names are 29 characters of digits, dots and letters: no '/', no NUL.
    if (!proto::is_valid_trail_name(r.name)) return std::nullopt;
    if ((r.op == guard_op::rename) != !r.to.empty()) return std::nullopt;
    if (!r.to.empty() && !proto::is_valid_trail_name(r.to)) return std::nullopt;
    return r;
}

std::vector<std::byte> encode_guard_reply(std::uint32_t id, int err) {
    std::vector<std::byte> out;
    put_u32(out, id);
    put_u32(out, static_cast<std::uint32_t>(err));
    return out;
}

std::optional<std::pair<std::uint32_t, int>> decode_guard_reply(std::span<const std::byte> m) {
    if (m.size() != 8) return std::nullopt;
    auto err = static_cast<int>(get_u32(m.subspan(4)));
    if (err < 0 || err > 4095) return std::nullopt;
    return std::pair{get_u32(m), err};
}

std::optional<std::string> check_guard_request(const guard_policy& policy, const guard_request& r) {
    if (std::find(policy.dirs.begin(), policy.dirs.end(), r.dir) == policy.dirs.end()) {
        return r.dir + " is not a configured host directory";
    }
    switch (r.op) {
    case guard_op::protect: return std::nullopt;
    case guard_op::rename:
        if (!proto::is_valid_rename(r.name, r.to)) {
            return "renaming " + r.name + " to " + r.to + " is not allowed by the trail rules";
        }
        return std::nullopt;
    case guard_op::seal:
        if (!is_final(r.name)) return r.name + " is not a final trail name";
        return std::nullopt;
    }
    return "unknown request";
}

std::optional<std::string> check_guard_file(const guard_policy& policy, const guard_request& r,
                                            const guard_file_state& st) {
    std::string where = r.dir + "/" + r.name;
    if (!st.dir_is_directory) return r.dir + " is not a directory";
    if (st.dir_owner != policy.worker_uid) {
        return r.dir + " belongs to uid " + std::to_string(st.dir_owner) + ", not the worker's";
    }
    if (!st.is_regular) return where + " is not a regular file";
    if (st.owner != policy.worker_uid) {
        return where + " belongs to uid " + std::to_string(st.owner) + ", not the worker's";
    }
    if (st.links != 1) return where + " has " + std::to_string(st.links) + " links";
    if (r.op == guard_op::rename && st.immutable) return where + " is immutable";
    return std::nullopt;
}

bool flags_unsupported(int err) { return err == ENOTTY || err == EOPNOTSUPP || err == ENOSYS; }

namespace {

// The request's directory and file, opened without following a symbolic
// link, and what the decider needs to know of them.
struct opened_trail {
    unique_fd dir, file;
    guard_file_state st;
    int flags = 0;
    int flags_err = 0; // FS_IOC_GETFLAGS failed with this (unsupported)
};

// 0, or an errno value (EPERM with *refusal for a symbolic link).
int open_trail(const guard_request& r, opened_trail* t, std::string* refusal) {
    t->dir = open_directory(r.dir);
    if (!t->dir) return errno;
    t->file = unique_fd(::openat(t->dir.get(), r.name.c_str(),
                                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!t->file) {
        // A symbolic link (ELOOP) is a violation; a missing file is not.
        if (errno == ELOOP) {
            *refusal = r.dir + "/" + r.name + " is a symbolic link";
            return EPERM;
        }
        return errno;
    }
    struct stat dst {}, fst {};
    if (::fstat(t->dir.get(), &dst) != 0 || ::fstat(t->file.get(), &fst) != 0) return errno;
    auto& st = t->st;
    st.dir_is_directory = S_ISDIR(dst.st_mode);
    st.dir_owner = dst.st_uid;
    st.is_regular = S_ISREG(fst.st_mode);
    st.owner = fst.st_uid;
    st.links = fst.st_nlink;
    t->flags_err = st.is_regular ? get_flags(t->file.get(), &t->flags) : 0;
    st.flags_supported = t->flags_err == 0;
    st.append_only = (t->flags & FS_APPEND_FL) != 0;
    st.immutable = (t->flags & FS_IMMUTABLE_FL) != 0;
    return 0;
}

// The kernel refuses to rename an append-only file: lift the flag for the
// rename only, and set it again whatever happened. The flag is lifted only
// for a rename that can succeed: a target that exists is refused first
// (RENAME_NOREPLACE still guards the race with a target created meanwhile).
// While it is lifted the worker cannot use the moment: its sandbox makes it
// append-only by construction (every writable open carries O_APPEND, F_SETFL
// keeps it, no shared mapping, no rename or link; common/sandbox_syscalls).
int rename_keeping_flags(const opened_trail& t, const guard_request& r) {
    struct stat target {};
    if (::fstatat(t.dir.get(), r.to.c_str(), &target, AT_SYMLINK_NOFOLLOW) == 0) return EEXIST;
    if (errno != ENOENT) return errno;
    if (t.st.append_only) {
        if (int err = set_flags(t.file.get(), t.flags & ~FS_APPEND_FL); err != 0) return err;
    }
    int err = ::syscall(SYS_renameat2, t.dir.get(), r.name.c_str(), t.dir.get(), r.to.c_str(),
                        RENAME_NOREPLACE) == 0
                  ? 0
                  : errno;
    if (t.st.append_only) {
        if (int back = set_flags(t.file.get(), t.flags); back != 0) {
            log::error(r.dir, "/", err == 0 ? r.to : r.name,
                       ": cannot make it append-only again after the rename: ", errno_text(back));
        }
    }
    return err;
}

} // namespace

int execute_guard_request(const guard_policy& policy, const guard_request& r, std::string* refusal) {
    if (auto why = check_guard_request(policy, r)) {
        *refusal = *why;
        return EPERM;
    }
    opened_trail t;
    if (int err = open_trail(r, &t, refusal); err != 0) return err;
    if (auto why = check_guard_file(policy, r, t.st)) {
        *refusal = *why;
        return EPERM;
    }
    switch (r.op) {
    case guard_op::protect:
        if (t.flags_err != 0) return t.flags_err;
        return t.st.append_only || t.st.immutable ? 0
                                                  : set_flags(t.file.get(), t.flags | FS_APPEND_FL);
    case guard_op::seal:
        if (t.flags_err != 0) return t.flags_err;
        return t.st.immutable ? 0 : set_flags(t.file.get(), t.flags | FS_IMMUTABLE_FL);
    case guard_op::rename: return rename_keeping_flags(t, r);
    }
    return EINVAL;
}

int probe_append_only(int dirfd) {
    unique_fd file(::openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (!file) return errno;
    int flags = 0;
    if (int err = get_flags(file.get(), &flags); err != 0) return err;
    if (int err = set_flags(file.get(), flags | FS_APPEND_FL); err != 0) return err;
    set_flags(file.get(), flags);
    return 0;
}

guard_client::~guard_client() {
    if (fd_ >= 0) ::close(fd_);
}

int guard_client::call(guard_request r) {
    std::lock_guard lock(mutex_);
    r.id = next_id_++;
    auto msg = encode_guard_request(r);
    if (::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
        return errno != 0 ? errno : EIO;
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return ETIMEDOUT;
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return ready == 0 ? ETIMEDOUT : errno;
        std::byte buf[16];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0) return EPIPE;
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        auto reply = decode_guard_reply(std::span(buf, static_cast<std::size_t>(n)));
        if (!reply) return EPROTO;
        if (reply->first == r.id) return reply->second;
        // A late reply to a request that timed out: skip it.
    }
}

} // namespace adist::common
