// A compromised collector process attacks what is not its own, for real:
// each case forks a child that drops to nobody with the real privilege drop,
// enters the real sandbox the daemon builds for the collector process's view
// of a configuration (daemon/sandbox_spec, privileged/collector_user), proves
// it can still do its job (create a file in its directory, link it into
// dist), and then tries one thing it must not do. The victims are left open
// to every user (a 0666 trail in a 0777 directory, a 0644 configuration with
// a password), so that only the sandbox stands in the way. The parent checks
// that the child died by SIGSYS or was refused with an errno, and that
// nothing changed. Needs root; exit 77 otherwise.
#include "attack_util.hpp"
#include "common/config.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "daemon/sandbox_spec.hpp"
#include "privileged/collector_user.hpp"
#include "privileged/privilege_drop.hpp"
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
#include <sstream>
#include <string>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <variant>

using namespace adist;
using namespace adist::attack;

namespace {

std::string base, commands, dist, victim, secret;
common::config cfg;
const std::string stored = "stored record 1\n";
const std::string secret_text = "password \"collector-attack-secret\"\n";
int listener = -1;
sockaddr_in listen_addr{};

// In the child, as the daemon's collector process does it: drop to nobody,
// enter the sandbox of the collector's view of the configuration. Then the
// work it must still be able to do: a new file in its directory, linked
// into dist.
void become_collector(int n) {
    std::string error;
    if (privileged::drop_privileges("nobody", &error) != 0) child_exit(setup_failed, error.c_str());
    std::vector<std::string> notes;
    auto spec = daemon::worker_sandbox_spec(daemon_options{}, privileged::collector_view(cfg),
                                            {true, ""}, &notes);
    std::string notice;
    if (privileged::enter_sandbox(spec, &error, &notice) != 0)
        child_exit(setup_failed, error.c_str());
    std::string name = "2026120412000" + std::to_string(n) + ".not_terminated";
    common::unique_fd fd(::open((commands + "/" + name).c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                                0600));
    if (!fd || ::write(fd.get(), "ok\n", 3) != 3) child_exit(setup_failed, "write its own file");
    if (::link((commands + "/" + name).c_str(), (dist + "/" + name).c_str()) != 0)
        child_exit(setup_failed, "link its own file into dist");
}

// One attempt in a fresh collector; `attempt` returns true if it worked.
// With `sigsys_expected`, only seccomp's kill counts as stopped (the uid
// rules refuse the attempt too, which would hide a hole in the filter).
void attack_case(const char* what, const std::function<bool()>& attempt,
                 bool sigsys_expected = false) {
    static int n = 0;
    int id = n++;
    // A signal the attempt might get through to us stays pending, to be seen.
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, &old);
    pid_t pid = ::fork();
    if (pid == 0) {
        become_collector(id);
        child_exit(attempt() ? attack_worked : attack_failed, what);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) {
        fail(std::string(what) + ": cannot run the collector");
        return;
    }
    sigset_t pending;
    sigpending(&pending);
    bool signalled = sigismember(&pending, SIGTERM) == 1;
    if (signalled) {
        int sig = 0;
        sigwait(&term, &sig); // consumed, then the old mask again
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int accepted = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK);
    if (accepted >= 0) ::close(accepted);

    bool by_sigsys = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
    bool refused = WIFEXITED(status) && WEXITSTATUS(status) == attack_failed;
    int before = failures;
    if (WIFEXITED(status) && WEXITSTATUS(status) == setup_failed)
        fail(std::string(what) + ": could not set up");
    else if (!by_sigsys && !refused)
        fail(std::string(what) + ": the attack worked (status " + std::to_string(status) + ")");
    else if (sigsys_expected && !by_sigsys)
        fail(std::string(what) + ": refused, but not by the seccomp filter (SIGSYS)");
    if (signalled) fail(std::string(what) + ": SIGTERM reached the supervisor");
    if (accepted >= 0) fail(std::string(what) + ": a TCP connection got through");
    if (read_file(victim) != stored) fail(std::string(what) + ": the receiver's trail changed");
    if (failures == before) {
        std::printf("%s: %s\n", what, by_sigsys ? "killed by SIGSYS" : "refused");
    }
}

void attacks() {
    attack_case(
        "signal the supervisor", [] { return ::kill(::getppid(), SIGTERM) == 0; }, true);
    attack_case(
        "ptrace the supervisor",
        [] { return ::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr) == 0; },
        // A sanitizer build's filter allows ptrace (LeakSanitizer's exit
        // check needs it): there the uid rules refuse it.
        !ADIST_SANITIZER_BUILD);
    int abi = privileged::landlock_abi();
    if (abi < 1) {
        std::printf("SKIP the file attacks: no Landlock (DAC alone guards files there)\n");
        return;
    }
    attack_case("read the configuration (passwords)", [] {
        common::unique_fd fd(::open(secret.c_str(), O_RDONLY | O_CLOEXEC));
        return static_cast<bool>(fd);
    });
    attack_case("append to a receiver's trail", [] {
        common::unique_fd fd(::open(victim.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
        return fd && ::write(fd.get(), "EVIL", 4) == 4;
    });
    attack_case("create a file beside a receiver's trail", [] {
        auto dir = victim.substr(0, victim.rfind('/'));
        common::unique_fd fd(::open((dir + "/20261204130000.not_terminated").c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        return static_cast<bool>(fd);
    });
    attack_case("link a file from outside into dist (to have it shipped)", [] {
        return ::link(victim.c_str(), (dist + "/20261204130100.not_terminated").c_str()) == 0;
    });
    if (abi < 4) {
        std::printf("SKIP the TCP attack: Landlock ABI %d has no network rules\n", abi);
        return;
    }
    attack_case("connect over TCP", [] {
        common::unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        return s && ::connect(s.get(), reinterpret_cast<const sockaddr*>(&listen_addr),
                              sizeof listen_addr) == 0;
    });
}

bool write_file(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    return out && ::chmod(path.c_str(), mode) == 0;
}

bool setup() {
    if (::geteuid() != 0) {
        std::printf("SKIP: needs root (the collector drops to nobody)\n");
        return false;
    }
    char tmpl[] = "/var/tmp/adist-collector-attack-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        fail(std::string("setup: mkdtemp: ") + std::strerror(errno));
        return false;
    }
    base = tmpl;
    commands = base + "/commands";
    dist = commands + "/dist";
    auto remote = base + "/remote/web1";
    victim = remote + "/20261204120000.not_terminated";
    secret = base + "/auditdistd.conf";
    // nobody's group writes the collector's directory and dist, as the
    // collector's group does in the daemon; the victims are open to all.
    bool ok = ::chmod(base.c_str(), 0755) == 0 && ::mkdir(commands.c_str(), 0770) == 0 &&
              ::chown(commands.c_str(), 0, 65534) == 0 && ::chmod(commands.c_str(), 0770) == 0 &&
              ::mkdir(dist.c_str(), 0770) == 0 && ::chown(dist.c_str(), 0, 65534) == 0 &&
              ::chmod(dist.c_str(), 0770) == 0 && ::mkdir((base + "/remote").c_str(), 0755) == 0 &&
              ::mkdir(remote.c_str(), 0777) == 0 && ::chmod(remote.c_str(), 0777) == 0 &&
              write_file(victim, stored, 0666) && write_file(secret, secret_text, 0644);
    if (!ok) {
        fail(std::string("setup: ") + std::strerror(errno));
        return false;
    }
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof listen_addr;
    if (listener < 0 ||
        ::bind(listener, reinterpret_cast<sockaddr*>(&listen_addr), sizeof listen_addr) != 0 ||
        ::listen(listener, 4) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&listen_addr), &len) != 0) {
        fail(std::string("setup: the TCP listener: ") + std::strerror(errno));
        return false;
    }
    std::string text = "collector {\n directory \"" + commands + "\"\n dist \"" + dist +
                       "\"\n socket \"" + base + "/collect.sock\"\n}\n";
    auto parsed = common::parse_config(text, "attack.conf", "web1");
    if (auto* e = std::get_if<common::config_error>(&parsed)) {
        fail("setup: config: " + e->to_string());
        return false;
    }
    cfg = std::get<common::config>(parsed);
    return true;
}

void cleanup() {
    std::string cmd = "rm -rf '" + base + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", base.c_str());
}

} // namespace

int main() {
    log::init(false, 0);
    if (!setup()) {
        if (!base.empty()) cleanup();
        return failures > 0 ? 1 : 77;
    }
    std::printf("Landlock ABI %d\n", privileged::landlock_abi());
    attacks();
    if (read_file(secret) != secret_text) fail("the configuration changed");
    cleanup();
    if (failures) return 1;
    std::printf("PASS\n");
    return 0;
}
