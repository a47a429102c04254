// Unit tests for privileged/guard_executor: the request codec, the supervisor's
// decider, and (as root, on a filesystem with the attributes) the executor
// and the supervisor's channel with a forked worker, refusals logged.
#include "common/guard_channel.hpp"
#include "privileged/guard_executor.hpp"

#include "privileged/supervisor.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace adist::common;
using namespace adist::privileged;

namespace {

const std::string nt = "20260101000000.not_terminated";
const std::string fin = "20260101000000.20260101010000";
const std::string cr = "20260101000000.crash_recovery";
const std::string other = "20260102000000.20260102010000";

std::vector<std::byte> bytes(const std::string& s) {
    auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

int flags_of(const std::string& path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
    int flags = 0;
    if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return -1;
    return flags;
}

bool attributes_here(const std::string& dir) {
    unique_fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
    return ::geteuid() == 0 && d && probe_append_only(d.get()) == 0;
}

// A private directory tree on the same filesystem as the build (not tmpfs
// where /tmp might be), removed at the end with the flags lifted.
struct scratch {
    std::string root;
    scratch() {
        char tmpl[] = "/tmp/adist-guard-XXXXXX";
        root = ::mkdtemp(tmpl);
    }
    ~scratch() {
        std::string cmd = "chattr -R -f -i -a " + root + " >/dev/null 2>&1; rm -rf " + root;
        (void)std::system(cmd.c_str());
    }
    // <root>/web1, owned by `worker` as the receiver makes it; "" (with a
    // warning: the test is skipped) when not root or without the attributes.
    std::string host_dir(uid_t worker) {
        std::string dir = root + "/web1";
        REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
        if (!attributes_here(dir)) {
            WARN("skipped: not root, or no append-only attribute on " << root);
            return {};
        }
        REQUIRE(::chown(dir.c_str(), worker, worker) == 0);
        return dir;
    }
    std::string make_file(const std::string& dir, const std::string& name, uid_t owner) {
        std::string p = dir + "/" + name;
        std::ofstream(p) << "data";
        REQUIRE(::chown(p.c_str(), owner, owner) == 0);
        return p;
    }
};

} // namespace

TEST_CASE("guard requests round-trip and malformed ones are refused", "[trail_guard]") {
    guard_request r{7, guard_op::rename, "/var/audit/remote/web1", nt, fin};
    auto m = encode_guard_request(r);
    auto d = decode_guard_request(m);
    REQUIRE(d);
    CHECK(d->id == 7);
    CHECK(d->op == guard_op::rename);
    CHECK(d->dir == r.dir);
    CHECK(d->name == nt);
    CHECK(d->to == fin);

    auto bad = [](guard_request x) { return !decode_guard_request(encode_guard_request(x)); };
    CHECK(bad({1, guard_op::protect, "relative/dir", nt, {}}));
    CHECK(bad({1, guard_op::protect, "/d", "../../etc/passwd", {}}));
    CHECK(bad({1, guard_op::protect, "/d", nt, fin}));       // `to` only on rename
    CHECK(bad({1, guard_op::rename, "/d", nt, {}}));         // rename needs `to`
    CHECK(bad({1, guard_op::rename, "/d", nt, "x/y"}));
    CHECK(bad({1, guard_op::protect, std::string("/d\0x", 4), nt, {}}));
    CHECK(bad({1, guard_op::protect, "", nt, {}}));

    auto cut = m;
    cut.pop_back();
    CHECK_FALSE(decode_guard_request(cut));
    auto longer = m;
    longer.push_back(std::byte{0});
    CHECK_FALSE(decode_guard_request(longer));
    auto op = m;
    op[4] = std::byte{9};
    CHECK_FALSE(decode_guard_request(op));
    CHECK_FALSE(decode_guard_request(bytes("short")));
}

TEST_CASE("guard replies carry the id and an errno", "[trail_guard]") {
    auto r = decode_guard_reply(encode_guard_reply(42, EPERM));
    REQUIRE(r);
    CHECK(r->first == 42u);
    CHECK(r->second == EPERM);
    CHECK_FALSE(decode_guard_reply(bytes("1234567")));
    CHECK_FALSE(decode_guard_reply(encode_guard_reply(1, -1)));
}

TEST_CASE("the guard decider allows only what the trail rules do", "[trail_guard]") {
    guard_policy p{{"/r/web1", "/r/web2"}, 1000};
    CHECK_FALSE(check_guard_request(p, {1, guard_op::protect, "/r/web1", nt, {}}));
    CHECK_FALSE(check_guard_request(p, {1, guard_op::rename, "/r/web2", nt, fin}));
    CHECK_FALSE(check_guard_request(p, {1, guard_op::rename, "/r/web2", nt, cr}));
    CHECK_FALSE(check_guard_request(p, {1, guard_op::seal, "/r/web1", fin, {}}));
    CHECK_FALSE(check_guard_request(p, {1, guard_op::seal, "/r/web1", cr, {}}));

    CHECK(check_guard_request(p, {1, guard_op::protect, "/r/web3", nt, {}}));   // not configured
    CHECK(check_guard_request(p, {1, guard_op::protect, "/r/web1/", nt, {}}));  // exact match only
    CHECK(check_guard_request(p, {1, guard_op::protect, "/r", nt, {}}));
    CHECK(check_guard_request(p, {1, guard_op::seal, "/r/web1", nt, {}}));      // not final
    CHECK(check_guard_request(p, {1, guard_op::rename, "/r/web1", fin, other})); // final names stay
    CHECK(check_guard_request(p, {1, guard_op::rename, "/r/web1", nt, other}));  // another trail
    CHECK(check_guard_request(p, {1, guard_op::rename, "/r/web1", cr, fin}));

    guard_file_state ok{true, 1000, true, 1000, 1, true, true, false};
    guard_request rename{1, guard_op::rename, "/r/web1", nt, fin};
    CHECK_FALSE(check_guard_file(p, rename, ok));
    // Each way the file may differ from what the worker creates is refused.
    auto refused = [&](auto change) {
        auto s = ok;
        change(s);
        return check_guard_file(p, rename, s).has_value();
    };
    CHECK(refused([](guard_file_state& s) { s.dir_owner = 0; }));
    CHECK(refused([](guard_file_state& s) { s.dir_is_directory = false; }));
    CHECK(refused([](guard_file_state& s) { s.owner = 0; }));
    CHECK(refused([](guard_file_state& s) { s.is_regular = false; }));
    CHECK(refused([](guard_file_state& s) { s.links = 2; })); // a hard link to something else
    CHECK(refused([](guard_file_state& s) { s.immutable = true; }));
    // Sealing again what is sealed already is harmless.
    auto sealed = ok;
    sealed.immutable = true;
    CHECK_FALSE(check_guard_file(p, {1, guard_op::seal, "/r/web1", fin, {}}, sealed));
}

TEST_CASE("the guard executor sets flags and refuses the rest (root)", "[trail_guard]") {
    scratch t;
    const uid_t worker = 65534;
    std::string dir = t.host_dir(worker);
    if (dir.empty()) return;
    guard_policy p{{dir}, worker};
    std::string refusal;

    t.make_file(dir, nt, worker);
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, nt, {}}, &refusal) == 0);
    CHECK(refusal.empty());
    CHECK((flags_of(dir + "/" + nt) & FS_APPEND_FL) != 0);

    // The rename keeps the flag; the file may then be sealed.
    CHECK(execute_guard_request(p, {1, guard_op::rename, dir, nt, fin}, &refusal) == 0);
    CHECK((flags_of(dir + "/" + fin) & FS_APPEND_FL) != 0);
    CHECK(execute_guard_request(p, {1, guard_op::seal, dir, fin, {}}, &refusal) == 0);
    CHECK((flags_of(dir + "/" + fin) & FS_IMMUTABLE_FL) != 0);
    CHECK(::unlink((dir + "/" + fin).c_str()) != 0); // even root cannot, now

    // A rename never replaces: the target exists.
    std::string nt2 = "20260103000000.not_terminated";
    std::string fin2 = "20260103000000.20260103010000";
    t.make_file(dir, nt2, worker);
    t.make_file(dir, fin2, worker);
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, nt2, {}}, &refusal) == 0);
    CHECK(execute_guard_request(p, {1, guard_op::rename, dir, nt2, fin2}, &refusal) == EEXIST);
    CHECK((flags_of(dir + "/" + nt2) & FS_APPEND_FL) != 0); // set again after the failure

    // Refusals: a file of root, a symbolic link, a hard link, an outside directory.
    std::string root_file = "20260104000000.not_terminated";
    t.make_file(dir, root_file, 0);
    refusal.clear();
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, root_file, {}}, &refusal) == EPERM);
    CHECK_THAT(refusal, Catch::Contains("uid 0"));
    CHECK((flags_of(dir + "/" + root_file) & FS_APPEND_FL) == 0);

    std::string link = "20260105000000.not_terminated";
    std::string victim = t.make_file(t.root, "victim", worker);
    REQUIRE(::symlink(victim.c_str(), (dir + "/" + link).c_str()) == 0);
    refusal.clear();
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, link, {}}, &refusal) == EPERM);
    CHECK_THAT(refusal, Catch::Contains("symbolic link"));
    CHECK((flags_of(victim) & FS_APPEND_FL) == 0);

    std::string hard = "20260106000000.not_terminated";
    REQUIRE(::link(victim.c_str(), (dir + "/" + hard).c_str()) == 0);
    refusal.clear();
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, hard, {}}, &refusal) == EPERM);
    CHECK_THAT(refusal, Catch::Contains("links"));
    CHECK((flags_of(victim) & FS_APPEND_FL) == 0);

    std::string outside = t.root + "/elsewhere";
    REQUIRE(::mkdir(outside.c_str(), 0700) == 0);
    REQUIRE(::chown(outside.c_str(), worker, worker) == 0);
    t.make_file(outside, nt, worker);
    refusal.clear();
    CHECK(execute_guard_request(p, {1, guard_op::protect, outside, nt, {}}, &refusal) == EPERM);
    CHECK((flags_of(outside + "/" + nt) & FS_APPEND_FL) == 0);

    // The directory itself replaced by a symbolic link to another.
    std::string moved = t.root + "/web1.moved";
    REQUIRE(::rename(dir.c_str(), moved.c_str()) == 0);
    REQUIRE(::symlink(outside.c_str(), dir.c_str()) == 0);
    CHECK(execute_guard_request(p, {1, guard_op::protect, dir, nt, {}}, &refusal) != 0);
    CHECK((flags_of(outside + "/" + nt) & FS_APPEND_FL) == 0);
}

TEST_CASE("the supervisor serves a worker's requests and logs refusals and SIGSYS (root)",
          "[trail_guard]") {
    scratch t;
    std::string dir = t.host_dir(65534);
    if (dir.empty()) return;
    t.make_file(dir, nt, 65534);

    // The supervisor logs to stderr: capture it in a file.
    std::string log_path = t.root + "/log";
    int saved = ::dup(2);
    int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(logfd >= 0);
    ::dup2(logfd, 2);
    ::close(logfd);

    supervisor_options so;
    so.config_path = "/nonexistent";
    so.guard = guard_policy{{dir}, 65534};
    worker_channels ch;
    int status = run_supervisor(so, &ch);
    if (status < 0) {
        // The worker: one good request, one outside the policy, one garbage
        // message, then death by SIGSYS as a seccomp kill would be.
        guard_client client(ch.guard_fd);
        int good = client.call({0, guard_op::protect, dir, nt, {}});
        int outside = client.call({0, guard_op::protect, "/etc", nt, {}});
        std::byte junk[3] = {};
        ::send(ch.guard_fd, junk, sizeof junk, 0);
        std::byte reply[16];
        ::recv(ch.guard_fd, reply, sizeof reply, 0);
        if (good != 0 || outside != EPERM) ::_exit(3);
        ::signal(SIGSYS, SIG_DFL);
        ::raise(SIGSYS);
        ::_exit(4);
    }
    ::dup2(saved, 2);
    ::close(saved);
    CHECK(status == 128 + SIGSYS);
    CHECK((flags_of(dir + "/" + nt) & FS_APPEND_FL) != 0);
    std::ifstream in(log_path);
    std::stringstream text;
    text << in.rdbuf();
    INFO(text.str());
    CHECK_THAT(text.str(), Catch::Contains("refused a request from the worker to make append-only /etc/"));
    CHECK_THAT(text.str(), Catch::Contains("refused a request from the worker that is malformed"));
    CHECK_THAT(text.str(), Catch::Contains("seccomp allowlist (SIGSYS)"));
}
