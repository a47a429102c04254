// The worker's sandbox (privileged/sandbox.hpp), for real: each case forks a
// child that enters the sandbox for a temporary directory and tries what it
// must not do; the parent checks the outcome (an errno, or death by SIGSYS)
// and the child's /proc/PID/status. Exit 0 pass, 1 fail, 77 skip (no
// Landlock: only the seccomp and hardening cases ran).
#include "privileged/sandbox.hpp"
#include "privileged/sandbox_internal.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <signal.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace adist::privileged;

namespace {

int failures = 0;
std::string root, inside, outside;
std::uint16_t open_port = 0, closed_port = 0;

void fail(const std::string& what) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
}

// In the child: report and exit 1 when `cond` is false.
void expect(bool cond, const char* what) {
    if (!cond) {
        std::fprintf(stderr, "child: %s (errno %s)\n", what, std::strerror(errno));
        _exit(1);
    }
}

sandbox_spec spec_for_test() {
    sandbox_spec s;
    namespace a = fs_access;
    // Like a receiver's directory: append, create, rename, never truncate.
    s.paths.push_back({inside, a::read_file | a::write_file | a::read_dir | a::remove_file |
                                   a::make_reg | a::make_dir, false});
    s.paths.push_back({root + "/missing", a::read_file, true});
    s.connect_ports = {open_port};
    s.receiver = true;
    s.rename_files = true; // a receiver without a supervisor renames its own trails
    return s;
}

void enter(bool landlock_only = false) {
    std::string error, notice;
    int code = landlock_only ? enter_landlock(spec_for_test(), &error, &notice)
                             : enter_sandbox(spec_for_test(), &error, &notice);
    expect(code == 0, ("enter_sandbox: " + error).c_str());
}

int connect_to(std::uint16_t port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int err = errno;
    ::close(s);
    return rc == 0 ? 0 : err;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0) {
            auto v = line.substr(field.size() + 1);
            return v.substr(v.find_first_not_of(" \t"));
        }
    }
    return "";
}

// Forks `body` (which enters the sandbox itself) and returns its wait status.
// `while_running` runs in the parent after the child wrote a byte on the pipe.
int run_child(const std::function<void(int)>& body,
              const std::function<void(pid_t)>& while_running = nullptr) {
    int ready[2], go[2];
    if (::pipe(ready) != 0 || ::pipe(go) != 0) std::abort();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        ::close(go[1]);
        body(ready[1]);
        char c = 0;
        ::read(go[0], &c, 1); // wait until the parent has looked at us
        _exit(0);
    }
    ::close(ready[1]);
    ::close(go[0]);
    char c = 0;
    if (::read(ready[0], &c, 1) == 1 && while_running) while_running(pid);
    ::close(go[1]);
    ::close(ready[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
bool killed_by_sigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

void signal_ready(int fd) {
    char c = 1;
    expect(::write(fd, &c, 1) == 1, "write to the parent");
}

// What the worker may do, and what Landlock refuses (with errno values).
void landlock_and_hardening_case(bool have_landlock, int abi) {
    int status = run_child(
        [&](int ready) {
            // As root, become an ordinary user first (as the worker does), so
            // that "not dumpable" shows as a root-owned /proc/PID.
            if (::geteuid() == 0) expect(::setresuid(65534, 65534, 65534) == 0, "setresuid");
            enter();
            int fd = ::open((inside + "/trail").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
                            0666);
            expect(fd >= 0, "create inside");
            struct stat st {};
            expect(::fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "umask 077: mode 0600");
            expect(::write(fd, "x", 1) == 1, "append inside");
            ::close(fd);
            expect(::rename((inside + "/trail").c_str(), (inside + "/trail2").c_str()) == 0,
                   "rename inside");
            expect(::unlink((inside + "/trail2").c_str()) != 0 && errno == EPERM,
                   "unlink refused with EPERM (seccomp)");
            if (have_landlock) {
                expect(::open((outside + "/secret").c_str(), O_RDONLY) < 0 && errno == EACCES,
                       "read outside: EACCES");
                expect(::open((outside + "/secret").c_str(), O_WRONLY | O_APPEND) < 0 &&
                           errno == EACCES, "write outside: EACCES");
                expect(::open((outside + "/new").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600) < 0 &&
                           errno == EACCES, "create outside: EACCES");
                expect(::mkdir((outside + "/dir").c_str(), 0700) != 0 && errno == EACCES,
                       "mkdir outside: EACCES");
                expect(::open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES,
                       "read /etc/passwd: EACCES");
            }
            if (abi >= 4) {
                expect(connect_to(closed_port) == EACCES, "connect to a port not allowed: EACCES");
                expect(connect_to(open_port) == 0, "connect to the allowed port");
            }
            signal_ready(ready);
        },
        [](pid_t pid) {
            if (proc_status_field(pid, "NoNewPrivs") != "1") fail("NoNewPrivs is not 1");
            if (proc_status_field(pid, "Seccomp") != "2") fail("Seccomp is not 2 (filter)");
            if (proc_status_field(pid, "Umask") != "0077") fail("Umask is not 0077");
            struct stat st {};
            std::string status = "/proc/" + std::to_string(pid) + "/status";
            if (::stat(status.c_str(), &st) != 0 || st.st_uid != 0) {
                fail("the child is dumpable (its /proc entry is not root's)");
            }
        });
    if (!exited_ok(status)) fail("the sandboxed child failed (see its message above)");
}

// Landlock alone refuses truncation (ABI >= 3); in the full sandbox seccomp
// kills first (next case).
void landlock_truncate_case() {
    int status = run_child([](int ready) {
        enter(true);
        expect(::open((inside + "/keep").c_str(), O_WRONLY | O_TRUNC) < 0 && errno == EACCES,
               "open O_TRUNC inside: EACCES");
        int fd = ::open((inside + "/keep").c_str(), O_WRONLY | O_APPEND);
        expect(fd >= 0, "open for append inside");
        expect(::ftruncate(fd, 0) != 0 && errno == EACCES, "ftruncate inside: EACCES");
        signal_ready(ready);
    });
    if (!exited_ok(status)) fail("Landlock did not refuse truncation");
}

// Each of these must kill the child with SIGSYS.
void sigsys_case(const char* what, const std::function<void()>& attempt) {
    int status = run_child([&](int) {
        enter();
        attempt();
        _exit(3); // survived
    });
    if (!killed_by_sigsys(status)) {
        fail(std::string(what) + ": expected death by SIGSYS, got status " +
             std::to_string(status));
    }
}

std::uint16_t listening_port(int* fd_out) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 8) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::abort();
    }
    *fd_out = s;
    return ntohs(a.sin_port);
}

void setup() {
    char tmpl[] = "/tmp/adist-sandbox-XXXXXX";
    root = ::mkdtemp(tmpl);
    inside = root + "/inside";
    outside = root + "/outside";
    ::mkdir(inside.c_str(), 0777);
    ::mkdir(outside.c_str(), 0777);
    ::chmod(root.c_str(), 0755);
    ::chmod(inside.c_str(), 0777); // the child may run as nobody
    ::chmod(outside.c_str(), 0777);
    std::ofstream(outside + "/secret") << "secret\n";
    std::ofstream(inside + "/keep") << "keep\n";
    ::chmod((outside + "/secret").c_str(), 0666);
    ::chmod((inside + "/keep").c_str(), 0666);
}

} // namespace

int main() {
    setup();
    int listener = -1, spare = -1;
    open_port = listening_port(&listener);
    closed_port = listening_port(&spare);
    ::close(spare); // nothing listens there now
    int abi = landlock_abi();
    std::printf("Landlock ABI %d%s\n", abi, ADIST_SANITIZER_BUILD ? " (sanitizer build)" : "");

    landlock_and_hardening_case(abi >= 1, abi);
    if (abi >= 3) landlock_truncate_case();
    sigsys_case("ftruncate", [] {
        int fd = ::open((inside + "/keep").c_str(), O_WRONLY | O_APPEND);
        ::ftruncate(fd, 0);
    });
    sigsys_case("open O_TRUNC", [] { ::open((inside + "/keep").c_str(), O_WRONLY | O_TRUNC); });
    sigsys_case("execve", [] {
        char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execve("/bin/true", argv, environ);
    });
    sigsys_case("mount", [] { ::syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, nullptr); });
    sigsys_case("bpf", [] { ::syscall(SYS_bpf, 0, nullptr, 0); });
    sigsys_case("socket(AF_PACKET)", [] { ::socket(AF_PACKET, SOCK_RAW, 0); });
    sigsys_case("FS_IOC_SETFLAGS", [] {
        int fd = ::open((inside + "/keep").c_str(), O_RDONLY);
        long flags = 0;
        ::ioctl(fd, 0x40086602 /* FS_IOC_SETFLAGS */, &flags);
    });
    sigsys_case("setuid", [] { ::syscall(SYS_setuid, 0); });
#if !ADIST_SANITIZER_BUILD
    // Sanitizer builds allow these for LeakSanitizer (docs/security.md).
    sigsys_case("ptrace", [] { ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); });
    sigsys_case("fork", [] { ::syscall(SYS_fork); });
    sigsys_case("prctl(PR_SET_DUMPABLE)", [] { ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); });
#endif
    sigsys_case("kill(1)", [] { ::kill(1, 0); });

    ::close(listener);
    std::string cleanup = "rm -rf '" + root + "'";
    if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", root.c_str());
    if (failures) return 1;
    if (abi < 1) {
        std::printf("SKIP: no Landlock on this kernel; the seccomp and hardening cases passed\n");
        return 77;
    }
    std::printf("PASS\n");
    return 0;
}
