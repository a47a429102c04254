// libFuzzer target: the supervisor's executor of the worker's attribute
// requests (privileged/guard_executor), on real files. Each input is a sequence of
// requests, three bytes each (operation, trail, target), over a host
// directory holding trails of every kind, a symbolic link, a hard link, a
// directory with a trail's name, and a directory outside the policy. After
// every request: no stored byte changed (each trail's bytes are still there,
// exactly once, under some name), nothing outside the host directory
// changed, and a trail that was append-only or immutable still is. As root
// on a filesystem with the attributes the flags are real; elsewhere the
// executor's refusals are fuzzed all the same.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <map>
#include <string>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "common/log.hpp"
#include "privileged/guard_executor.hpp"

using namespace adist::common;
using namespace adist::privileged;

namespace {

std::string base, host, outside;

const std::array<const char*, 8> names = {
    "20261204100000.not_terminated", // growing, append-only
    "20261204090000.20261204095959", // closed
    "20261204080000.crash_recovery", // closed after a crash
    "20261204070000.not_terminated", // a symbolic link to /etc/hostname
    "20261204060000.20261204065959", // a hard link to the closed trail
    "20261204050000.not_terminated", // a directory
    "20261204100000.20261204105959", // does not exist (the growing trail's final name)
    "20261204100000.crash_recovery", // does not exist either
};

// name -> bytes of the regular files the fixture starts with.
std::map<std::string, std::string> original;

int flags_of(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    int flags = 0;
    int rc = ::ioctl(fd, FS_IOC_GETFLAGS, &flags);
    ::close(fd);
    return rc == 0 ? flags : -1;
}

void clear_flags(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return;
    int flags = 0;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
        (flags & (FS_APPEND_FL | FS_IMMUTABLE_FL)) != 0) {
        flags &= ~(FS_APPEND_FL | FS_IMMUTABLE_FL);
        ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    ::close(fd);
}

std::string read_all(const std::string& path) {
    std::string out;
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return "<unreadable>";
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

void write_file(const std::string& path, const std::string& bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
        std::perror(path.c_str());
        std::abort();
    }
    ::close(fd);
}

void empty_host_directory() {
    DIR* d = ::opendir(host.c_str());
    if (!d) std::abort();
    std::vector<std::string> entries;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") entries.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : entries) {
        std::string p = host + "/" + n;
        clear_flags(p);
        if (::unlink(p.c_str()) != 0 && ::rmdir(p.c_str()) != 0) {
            std::perror(p.c_str());
            std::abort();
        }
    }
}

// A fresh fixture for each input; the growing trail starts append-only, as
// the receiver leaves it.
void make_fixture() {
    empty_host_directory();
    original = {{names[0], "growing trail: stored bytes\n"},
                {names[1], "closed trail: stored bytes\n"},
                {names[2], "crash recovery trail: stored bytes\n"}};
    for (const auto& [n, bytes] : original) write_file(host + "/" + n, bytes);
    if (::symlink("/etc/hostname", (host + "/" + names[3]).c_str()) != 0 ||
        ::link((host + "/" + names[1]).c_str(), (host + "/" + names[4]).c_str()) != 0 ||
        ::mkdir((host + "/" + names[5]).c_str(), 0700) != 0) {
        std::abort();
    }
    std::string none;
    execute_guard_request({{host, outside}, ::geteuid()}, {0, guard_op::protect, host, names[0], {}},
                          &none);
}

void setup_once() {
    if (!base.empty()) return;
    adist::log::init(false, 0);
    char tmpl[] = "/var/tmp/adist-guard-exec-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    base = tmpl;
    host = base + "/host";
    outside = base + "/outside";
    if (::mkdir(host.c_str(), 0700) != 0 || ::mkdir(outside.c_str(), 0700) != 0) std::abort();
    write_file(outside + "/" + names[0], "outside: not ours\n");
    std::atexit([] {
        empty_host_directory();
        std::string cmd = "rm -rf '" + base + "'";
        if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", base.c_str());
    });
}

struct protection {
    std::string bytes;
    bool kept = false; // append-only or immutable
};

// What each trail's bytes look like now, by content; aborts when a stored
// byte changed, a trail is gone or doubled, or something outside moved.
std::map<std::string, protection> check_invariants(const std::map<std::string, protection>& before) {
    std::map<std::string, protection> now; // content -> name's protection
    std::map<std::string, int> seen;
    DIR* d = ::opendir(host.c_str());
    if (!d) std::abort();
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        std::string p = host + "/" + n;
        struct stat st {};
        if (n == "." || n == ".." || ::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == names[4]) continue; // the hard link: the closed trail's bytes again
        std::string bytes = read_all(p);
        ++seen[bytes];
        int f = flags_of(p);
        now[bytes] = {bytes, f >= 0 && (f & (FS_APPEND_FL | FS_IMMUTABLE_FL)) != 0};
    }
    ::closedir(d);
    for (const auto& [n, bytes] : original) {
        if (seen[bytes] != 1) {
            std::fprintf(stderr, "the bytes of %s are there %d times\n", n.c_str(), seen[bytes]);
            std::abort();
        }
        auto was = before.find(bytes);
        if (was != before.end() && was->second.kept && !now[bytes].kept) {
            std::fprintf(stderr, "the bytes of %s lost their protection\n", n.c_str());
            std::abort();
        }
    }
    if (seen.size() != original.size()) {
        std::fprintf(stderr, "a regular file appeared or changed\n");
        std::abort();
    }
    if (read_all(outside + "/" + names[0]) != "outside: not ours\n") std::abort();
    if (read_all("/etc/hostname") == "<unreadable>") std::abort();
    struct stat st {};
    if (::lstat((host + "/" + names[3]).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) std::abort();
    return now;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    setup_once();
    make_fixture();
    // The worker's uid is ours: the fixture's files are ours, so the
    // executor gets past the owner check and acts for real.
    guard_policy policy{{host}, ::geteuid()};
    auto state = check_invariants({});
    for (std::size_t i = 0; i + 3 <= size && i < 3 * 64; i += 3) {
        guard_request r;
        r.op = static_cast<guard_op>(1 + data[i] % 3);
        r.dir = (data[i] & 0x80) != 0 ? outside : host;
        r.name = names[data[i + 1] % names.size()];
        if (r.op == guard_op::rename) r.to = names[data[i + 2] % names.size()];
        std::string refusal;
        execute_guard_request(policy, r, &refusal);
        state = check_invariants(state);
    }
    return 0;
}
