// collector/peer_info: what the trusted block keeps of a peer that exited
// before it was read. Its pid may already be another process's: an
// impostor is made under that very pid (clone3 with set_tid, as root), and
// nothing of it may reach the record.
#include "collector/ancestry_cache.hpp"
#include "collector/peer_info.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <linux/sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace adist::collector;

namespace {

// A process under pid `pid`, in a session of its own (its session id is
// `pid`), stopped until killed; -1 when this cannot be done here (not root,
// or the pid was taken meanwhile).
pid_t impostor_at(pid_t pid) {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    clone_args args{};
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<std::uintptr_t>(&pid);
    args.set_tid_size = 1;
    long got = ::syscall(SYS_clone3, &args, sizeof args);
    if (got == 0) {
        ::setsid();
        (void)!::write(ready[1], "x", 1);
        for (int i = 0; i < 600; ++i)
            ::sleep(1); // killed long before
        ::_exit(0);
    }
    ::close(ready[1]);
    char c = 0;
    if (got > 0 && ::read(ready[0], &c, 1) != 1) got = -1;
    ::close(ready[0]);
    return static_cast<pid_t>(got);
}

} // namespace

TEST_CASE("peer: /proc is read by pid without a pidfd unless the peer is known to be gone") {
    CHECK(proc_without_pidfd(ENOPROTOOPT)); // before Linux 6.5
    CHECK(proc_without_pidfd(EMFILE));      // no descriptor to be had: it may well live
    CHECK(proc_without_pidfd(ENOMEM));
    CHECK_FALSE(proc_without_pidfd(EINVAL)); // the peer has been reaped
    CHECK_FALSE(proc_without_pidfd(ESRCH));
    CHECK_FALSE(proc_without_pidfd(ENODATA)); // no pid at all
}

TEST_CASE("peer: a client reaped before it was read leaves only what SO_PEERCRED recorded") {
    std::string path = "/tmp/adist-peer-test." + std::to_string(::getpid());
    ::unlink(path.c_str());
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    pid_t client = ::fork();
    REQUIRE(client >= 0);
    if (client == 0) {
        int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
        ::_exit(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(client, &status, 0) == client); // reaped: its pid is free
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    pid_t impostor = ::geteuid() == 0 ? impostor_at(client) : -1;
    if (impostor < 0)
        WARN("no impostor under the client's pid (needs root): the reuse is not tried");
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(fd >= 0);

    name_cache names;
    ancestry_cache parents;
    auto t = read_peer(fd, names, parents, 8, nullptr);
    CHECK(t.pid == client);
    CHECK(t.uid == ::geteuid());
    CHECK_FALSE(t.verified);
    // Nothing from /proc/<pid>: it is the impostor's now (its own session).
    CHECK_FALSE(t.session.has_value());
    CHECK_FALSE(t.tty.has_value());
    CHECK_FALSE(t.loginuid.has_value());
    CHECK(t.parents.empty());

    if (impostor > 0) {
        ::kill(impostor, SIGKILL);
        ::waitpid(impostor, nullptr, 0);
    }
    ::close(fd);
    ::close(listener);
    ::unlink(path.c_str());
}
