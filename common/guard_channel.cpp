// The worker's channel to the root supervisor (see guard_channel.hpp): the
// request codec, the worker's client, and the attribute helpers both sides
// use.
#include "common/guard_channel.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd.hpp"
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
} // namespace

int get_attribute_flags(int fd, int* flags) {
    return ::ioctl(fd, FS_IOC_GETFLAGS, flags) == 0 ? 0 : errno;
}

int set_attribute_flags(int fd, int flags) {
    return ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0 ? 0 : errno;
}

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

bool flags_unsupported(int err) { return err == ENOTTY || err == EOPNOTSUPP || err == ENOSYS; }

int make_append_only(int fd) {
    int flags = 0;
    if (int err = get_attribute_flags(fd, &flags); err != 0) return err;
    return (flags & FS_APPEND_FL) != 0 ? 0 : set_attribute_flags(fd, flags | FS_APPEND_FL);
}

int probe_append_only(int dirfd) {
    unique_fd file(::openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (!file) return errno;
    int flags = 0;
    if (int err = get_attribute_flags(file.get(), &flags); err != 0) return err;
    if (int err = set_attribute_flags(file.get(), flags | FS_APPEND_FL); err != 0) return err;
    set_attribute_flags(file.get(), flags);
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
