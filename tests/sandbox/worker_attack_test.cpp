// A compromised receiver worker attacks the trails it holds, for real: each
// case runs the real root supervisor (privileged/supervisor) and a worker that
// drops to nobody with the real privilege drop, enters the real sandbox the
// daemon builds for a receiver configuration (daemon/sandbox_spec), creates
// a trail through the guard like the receiver does, and then tries to change
// a byte already stored. The parent checks that the worker died by SIGSYS or
// failed, and that the stored bytes and the append-only attribute are intact.
// Needs root and a filesystem with FS_APPEND_FL; exit 77 otherwise.
#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "daemon/sandbox_spec.hpp"
#include "privileged/guard_executor.hpp"
#include "privileged/privilege_drop.hpp"
#include "privileged/sandbox.hpp"
#include "privileged/sandbox_internal.hpp"
#include "privileged/supervisor.hpp"
#include "attack_util.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <mutex>
#include <linux/fs.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <variant>

using namespace adist;
using namespace adist::attack;

namespace {

std::string base, host_dir;
common::config cfg;
const std::string stored = "stored record 1\nstored record 2\n";

int flags_of_fd(int fd) {
    int flags = 0;
    return ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 ? flags : -1;
}

int flags_of(const std::string& path) {
    common::unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    return fd ? flags_of_fd(fd.get()) : -1;
}

// In the worker, as the daemon does it: drop to nobody, enter the sandbox of
// this receiver configuration with a supervisor, then create `name` with
// the stored bytes and have the supervisor make it append-only. Returns the
// trail's descriptor (O_WRONLY | O_APPEND, as the receiver opens trails).
int become_worker_with_trail(const privileged::worker_channels& ch, common::guard_client& guard,
                             const std::string& name) {
    std::string error;
    if (privileged::drop_privileges("nobody", &error) != 0) child_exit(setup_failed, error.c_str());
    daemon_options o;
    std::vector<std::string> notes;
    auto spec = daemon::worker_sandbox_spec(o, cfg, {ch.supervisor != 0, ""}, &notes);
    std::string notice;
    if (privileged::enter_sandbox(spec, &error, &notice) != 0) child_exit(setup_failed, error.c_str());
    int fd = ::open((host_dir + "/" + name).c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) child_exit(setup_failed, "create the trail");
    if (::write(fd, stored.data(), stored.size()) != static_cast<ssize_t>(stored.size()) ||
        ::fdatasync(fd) != 0) {
        child_exit(setup_failed, "write the trail");
    }
    if (int err = guard.call({0, common::guard_op::protect, host_dir, name, {}}); err != 0) {
        errno = err;
        child_exit(setup_failed, "protect the trail");
    }
    return fd;
}

// Runs one attack as a worker under a fresh supervisor; returns the
// supervisor's view of the worker's end (exit code, or 128 + signal).
int run_worker(const std::function<void(const privileged::worker_channels&, common::guard_client&)>& attack) {
    privileged::supervisor_options so;
    so.guard = privileged::guard_policy{{host_dir}, 65534};
    privileged::worker_channels ch;
    int status = privileged::run_supervisor(so, &ch);
    if (status < 0) {
        common::guard_client guard(ch.guard_fd);
        attack(ch, guard);
        child_exit(attack_failed, "");
    }
    return status;
}

// The outcome that counts: the worker did not get to change a stored byte,
// and the trail is still append-only.
void expect_intact(const char* what, int status, const std::string& name, bool sigsys_expected) {
    int before = failures;
    std::string path = host_dir + "/" + name;
    std::string now = read_file(path);
    if (status == setup_failed) fail(std::string(what) + ": the worker could not set up");
    if (status == attack_worked) fail(std::string(what) + ": the attack worked");
    if (sigsys_expected && status != 128 + SIGSYS) {
        fail(std::string(what) + ": expected the seccomp kill (SIGSYS), got status " +
             std::to_string(status));
    }
    if (now.compare(0, stored.size(), stored) != 0) {
        fail(std::string(what) + ": the stored bytes changed: \"" + now.substr(0, 40) + "\"");
    }
    int flags = flags_of(path);
    if (flags < 0 || (flags & FS_APPEND_FL) == 0) {
        fail(std::string(what) + ": the trail is no longer append-only");
    }
    if (failures != before) return;
    std::printf("%s: %s, stored bytes intact\n", what,
                status == 128 + SIGSYS ? "killed by seccomp" : "refused");
}

// The reviewed attack: a rename request whose target exists fails, yet
// used to lift the append-only flag for a moment; meanwhile a second thread
// drops O_APPEND from its descriptor and writes at offset 0. Bounded to
// 3,000 rounds or 5 s.
void rename_race_case() {
    const std::string name = "20261204100000.not_terminated";
    int status = run_worker([&](const privileged::worker_channels& ch, common::guard_client& guard) {
        int fd = become_worker_with_trail(ch, guard, name);
        const std::string target = "20261204100000.20261204100500";
        int t = ::open((host_dir + "/" + target).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
        if (t < 0) child_exit(setup_failed, "create the rename's target");
        ::close(t);
        std::atomic<bool> done{false};
        std::thread renamer([&] {
            auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            for (int i = 0; i < 3000 && !done && std::chrono::steady_clock::now() < until; ++i) {
                guard.call({0, common::guard_op::rename, host_dir, name, target});
            }
            done = true;
        });
        bool won = false;
        while (!done && !won) {
            if (::fcntl(fd, F_SETFL, 0) == 0 && ::pwrite(fd, "EVIL", 4, 0) == 4) won = true;
        }
        done = true;
        renamer.join();
        if (won) child_exit(attack_worked, "wrote at offset 0 of an append-only trail");
    });
    expect_intact("rename race: F_SETFL without O_APPEND, pwrite at 0", status, name, true);
}

// The same race, watched without touching the descriptor: the supervisor
// must never lift the flag for a rename that cannot happen.
void rename_refused_keeps_flag_case() {
    const std::string name = "20261204110000.not_terminated";
    int status = run_worker([&](const privileged::worker_channels& ch, common::guard_client& guard) {
        int fd = become_worker_with_trail(ch, guard, name);
        const std::string target = "20261204110000.20261204110500";
        int t = ::open((host_dir + "/" + target).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
        if (t < 0) child_exit(setup_failed, "create the rename's target");
        ::close(t);
        std::atomic<bool> done{false}, started{false}, lifted{false};
        std::thread watcher([&] {
            started = true;
            for (int i = 0; i < 50'000'000 && !done && !lifted; ++i) {
                int f = flags_of_fd(fd);
                if (f >= 0 && (f & FS_APPEND_FL) == 0) lifted = true;
            }
        });
        while (!started) std::this_thread::yield();
        int last = 0;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        for (int i = 0; i < 20000 && !lifted && std::chrono::steady_clock::now() < until; ++i) {
            last = guard.call({0, common::guard_op::rename, host_dir, name, target});
        }
        done = true;
        watcher.join();
        if (lifted) child_exit(attack_worked, "the flag was lifted for a rename that failed");
        if (last != EEXIST) {
            errno = last;
            child_exit(attack_worked, "a rename over an existing trail did not fail with EEXIST");
        }
    });
    expect_intact("rename onto an existing name: refused, flag never lifted", status, name, false);
}

// One system call an attacker would use to change stored bytes; the
// sandbox must kill the worker before it happens, flag or no flag.
void sigsys_case(const char* what, const std::string& name,
                 const std::function<void(int fd, const std::string& path)>& attempt) {
    int status = run_worker([&](const privileged::worker_channels& ch, common::guard_client& guard) {
        int fd = become_worker_with_trail(ch, guard, name);
        attempt(fd, host_dir + "/" + name);
        // Survived: did the bytes change?
        if (read_file(host_dir + "/" + name).compare(0, stored.size(), stored) != 0) {
            child_exit(attack_worked, "stored bytes changed");
        }
    });
    expect_intact(what, status, name, true);
}

// Both roles in one worker on a kernel without Landlock: its seccomp filter
// must allow unlink (the sender removes shipped links), so only the flag
// (and DAC, which lets the worker remove its own files) guards a trail.
// Successful renames while a second thread unlinks the trail as soon as it
// is protected: the supervisor stops the worker while the flag is off, so
// no trail is ever lost. 400 renames or 10 s.
void both_roles_without_landlock_case() {
    int status = run_worker([&](const privileged::worker_channels& ch, common::guard_client& guard) {
        std::string error;
        if (privileged::drop_privileges("nobody", &error) != 0) child_exit(setup_failed, error.c_str());
        auto remote = host_dir.substr(0, host_dir.rfind('/'));
        auto parsed = common::parse_config(
            "receiver {\n directory \"" + remote + "\"\n host \"web1\" {\n  remote \"127.0.0.1\"\n"
            "  password \"attack-test-password\"\n }\n}\nsender {\n directory \"" + base +
                "/dist\"\n host \"c\" {\n  remote \"tcp://127.0.0.1:9\"\n  password \"p\"\n }\n}\n",
            "both.conf", "web1");
        auto* both = std::get_if<common::config>(&parsed);
        if (!both) child_exit(setup_failed, "the both-roles configuration");
        std::vector<std::string> notes;
        auto spec = daemon::worker_sandbox_spec(daemon_options{}, *both, {ch.supervisor != 0, ""},
                                                &notes);
        if (!spec.remove_files) child_exit(setup_failed, "both roles: unlink should be allowed");
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            privileged::enter_seccomp(spec, &error) != 0) {
            child_exit(setup_failed, error.c_str());
        }
        std::mutex m;
        std::string target; // the protected trail, while its rename is under way
        std::atomic<bool> done{false};
        std::thread unlinker([&] {
            while (!done) {
                std::string t;
                {
                    std::lock_guard lock(m);
                    t = target;
                }
                if (!t.empty()) ::unlink((host_dir + "/" + t).c_str());
            }
        });
        int lost = 0, renamed = 0;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (int i = 0; i < 400 && std::chrono::steady_clock::now() < until; ++i) {
            char start[16];
            std::snprintf(start, sizeof start, "2026120413%02d%02d", i / 60 % 60, i % 60);
            std::string name = std::string(start) + ".not_terminated";
            std::string final_name = std::string(start) + ".20261204140000";
            int fd = ::open((host_dir + "/" + name).c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
            if (fd < 0 || ::write(fd, stored.data(), stored.size()) < 0) child_exit(setup_failed, "trail");
            ::close(fd);
            if (int e = guard.call({0, common::guard_op::protect, host_dir, name, {}}); e != 0) {
                std::fprintf(stderr, "worker: protect %s: %s\n", name.c_str(), std::strerror(e));
                child_exit(setup_failed, "protect");
            }
            {
                std::lock_guard lock(m);
                target = name;
            }
            int err = guard.call({0, common::guard_op::rename, host_dir, name, final_name});
            {
                std::lock_guard lock(m);
                target.clear();
            }
            struct stat st {};
            if (err == 0) ++renamed;
            if (::stat((host_dir + "/" + final_name).c_str(), &st) != 0 &&
                ::stat((host_dir + "/" + name).c_str(), &st) != 0) {
                ++lost;
            }
        }
        done = true;
        unlinker.join();
        std::fprintf(stderr, "worker: %d renames, %d trails lost\n", renamed, lost);
        if (lost > 0) child_exit(attack_worked, "a protected trail was unlinked during its rename");
        if (renamed == 0) child_exit(setup_failed, "no rename succeeded");
    });
    if (status != attack_failed) {
        fail("both roles without Landlock: unlink during renames: status " + std::to_string(status));
    } else {
        std::printf("both roles without Landlock: unlink raced against renames: no trail lost\n");
    }
}

void attacks() {
    both_roles_without_landlock_case();
    rename_race_case();
    rename_refused_keeps_flag_case();
    sigsys_case("F_SETFL without O_APPEND", "20261204120000.not_terminated",
                [](int fd, const std::string&) {
                    if (::fcntl(fd, F_SETFL, 0) == 0) ::pwrite(fd, "EVIL", 4, 0);
                });
    sigsys_case("open O_WRONLY without O_APPEND", "20261204120100.not_terminated",
                [](int, const std::string& path) {
                    int fd = ::open(path.c_str(), O_WRONLY);
                    if (fd >= 0) ::pwrite(fd, "EVIL", 4, 0);
                });
    sigsys_case("open O_RDWR without O_APPEND", "20261204120200.not_terminated",
                [](int, const std::string& path) {
                    int fd = ::open(path.c_str(), O_RDWR);
                    if (fd >= 0) ::pwrite(fd, "EVIL", 4, 0);
                });
    sigsys_case("shared writable mapping", "20261204120300.not_terminated",
                [](int, const std::string& path) {
                    int fd = ::open(path.c_str(), O_RDWR | O_APPEND);
                    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                    if (p != MAP_FAILED) std::memcpy(p, "EVIL", 4);
                });
    sigsys_case("shared read-only mapping (mprotect could make it writable)",
                "20261204120400.not_terminated", [](int, const std::string& path) {
                    int fd = ::open(path.c_str(), O_RDWR | O_APPEND);
                    void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
                    if (p != MAP_FAILED && ::mprotect(p, 4096, PROT_READ | PROT_WRITE) == 0) {
                        std::memcpy(p, "EVIL", 4);
                    }
                });
    sigsys_case("pwritev2 with RWF_NOAPPEND", "20261204120500.not_terminated",
                [](int fd, const std::string&) {
                    iovec v{const_cast<char*>("EVIL"), 4};
                    ::syscall(SYS_pwritev2, fd, &v, 1, 0L, 0L, 0x20 /* RWF_NOAPPEND */);
                });
    sigsys_case("rename another file over the trail", "20261204120600.not_terminated",
                [](int, const std::string& path) {
                    std::string other = host_dir + "/20261204120600.20261204120700";
                    int fd = ::open(other.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
                    if (fd >= 0 && ::write(fd, "EVIL", 4) == 4) ::rename(other.c_str(), path.c_str());
                });
    sigsys_case("fallocate punching a hole", "20261204120800.not_terminated",
                [](int fd, const std::string&) { ::fallocate(fd, 0x02 | 0x01, 0, 4); });
}

bool setup() {
    if (::geteuid() != 0) {
        std::printf("SKIP: needs root (the worker drops to nobody; FS_APPEND_FL needs root)\n");
        return false;
    }
    char tmpl[] = "/var/tmp/adist-attack-XXXXXX";
    if (!::mkdtemp(tmpl)) return false;
    base = tmpl;
    ::chmod(base.c_str(), 0755);
    std::string remote = base + "/remote";
    host_dir = remote + "/web1";
    ::mkdir(remote.c_str(), 0755);
    ::mkdir(host_dir.c_str(), 0700);
    if (::chown(host_dir.c_str(), 65534, 65534) != 0) return false;
    common::unique_fd dir(::open(host_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (int err = common::probe_append_only(dir.get()); err != 0) {
        std::printf("SKIP: %s does not take the append-only attribute (%s)\n", base.c_str(),
                    std::strerror(err));
        return false;
    }
    std::string text = "receiver {\n directory \"" + remote +
                       "\"\n host \"web1\" {\n  remote \"127.0.0.1\"\n  password \"attack-test-password\"\n }\n}\n";
    auto parsed = common::parse_config(text, "attack.conf", "collector");
    if (auto* e = std::get_if<common::config_error>(&parsed)) {
        std::fprintf(stderr, "config: %s\n", e->to_string().c_str());
        return false;
    }
    cfg = std::get<common::config>(parsed);
    return true;
}

void cleanup() {
    std::string cmd = "chattr -R -i -a '" + base + "' 2>/dev/null; rm -rf '" + base + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", base.c_str());
}

} // namespace

int main() {
    log::init(false, 0);
    if (!setup()) {
        if (!base.empty()) cleanup();
        return 77;
    }
    std::printf("Landlock ABI %d\n", privileged::landlock_abi());
    attacks();
    cleanup();
    if (failures) return 1;
    std::printf("PASS\n");
    return 0;
}
