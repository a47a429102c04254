// Unit tests for the collector process's own user (issue 14): the user
// decider and the configuration views (privileged/collector_user.cpp), the
// `user` keyword, the dist directory owned by the sender's user
// (collector/setup.cpp, common/dir_check.cpp), and the supervisor's
// children (privileged/worker_children.cpp: the first to end stops the
// other and gives the exit status).
#include "collector/setup.hpp"
#include "common/config.hpp"
#include "common/dir_check.hpp"
#include "common/inherited_listener.hpp"
#include "common/reload.hpp"
#include "privileged/collector_user.hpp"
#include "privileged/worker_children.hpp"

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace adist;
using adist::common::user_ids;

namespace {
common::config_result parse(const std::string& text) {
    return common::parse_config(text, "t.conf", "me");
}
std::string error_of(const std::string& text) {
    auto r = parse(text);
    REQUIRE(std::holds_alternative<common::config_error>(r));
    return std::get<common::config_error>(r).to_string();
}
} // namespace

TEST_CASE("collector user: must exist, not be root, share neither uid nor gid with the daemon") {
    user_ids daemon{110, 120};
    using privileged::collector_user_problem;
    CHECK_FALSE(collector_user_problem("coll", user_ids{111, 121}, "auditdistd", daemon));
    CHECK(collector_user_problem("coll", std::nullopt, "auditdistd", daemon)
              ->starts_with("the collector runs as user coll, which does not exist (create it: "
                            "adduser --system --group --no-create-home coll"));
    CHECK(collector_user_problem("coll", user_ids{0, 121}, "auditdistd", daemon)
              ->starts_with("refusing to run the collector as coll"));
    CHECK(collector_user_problem("coll", user_ids{111, 0}, "auditdistd", daemon)
              ->starts_with("refusing to run the collector as coll"));
    CHECK(collector_user_problem("coll", user_ids{110, 121}, "auditdistd", daemon)
              ->starts_with("the collector's user coll has the uid of the daemon user auditdistd"));
    CHECK(collector_user_problem("coll", user_ids{111, 120}, "auditdistd", daemon)
              ->starts_with("the collector's user coll has the group of the daemon user"));
}

TEST_CASE("collector user: the keyword, its default, one user for both sections") {
    auto c = std::get<common::config>(parse("collector {\n}\n"));
    CHECK(c.collector->user == "auditdistd-collector");
    CHECK(privileged::collector_user_name(c) == "auditdistd-collector");
    auto named = std::get<common::config>(parse("collector {\n user adcoll\n}\nsudo {\n user adcoll\n}\n"));
    CHECK(privileged::collector_user_name(named) == "adcoll");
    auto sudo_only = std::get<common::config>(parse("sudo {\n user s1\n}\n"));
    CHECK(privileged::collector_user_name(sudo_only) == "s1");
    CHECK(privileged::collector_user_name(std::get<common::config>(parse("name a\n"))).empty());
    CHECK(error_of("collector {\n user adcoll\n}\nsudo {\n user other\n}\n") ==
          "t.conf:4: sudo: user must be the same in the collector and sudo sections (one "
          "process serves both)");
    CHECK(error_of("collector {\n user \"a/b\"\n}\n").starts_with("t.conf:2: user must be a user name"));
    CHECK(error_of("collector {\n user a\n user b\n}\n") ==
          "t.conf:3: \"user\" is given twice in the collector section");
    auto other = std::get<common::config>(parse("collector {\n user x\n}\n"));
    CHECK(common::plan_reload(c, other).needs_restart ==
          std::vector<std::string>{"the collector's socket, directory, dist or user"});
}

TEST_CASE("collector user: each process's view of the configuration") {
    auto c = std::get<common::config>(parse(
        "collector {\n}\nsender {\n directory /d\n host r {\n  remote tcp://127.0.0.1:1\n"
        "  password p\n }\n}\nreceiver {\n listen tcp://127.0.0.1:2\n host s {\n  remote 127.0.0.1\n"
        "  password p\n }\n}\n"));
    REQUIRE(c.has_sender);
    auto coll = privileged::collector_view(c);
    CHECK_FALSE(coll.has_sender);
    CHECK_FALSE(coll.has_receiver);
    CHECK(coll.senders.empty());
    CHECK(coll.receivers.empty());
    CHECK(coll.listen.empty());
    CHECK(coll.collector == c.collector);
    auto net = privileged::without_collector(c);
    CHECK_FALSE(net.collector);
    CHECK_FALSE(net.sudo);
    CHECK(net.senders.size() == 1);
    // The collector process's reloads never see the hosts: a new sender
    // host and a changed listen address make no change in its view.
    auto changed = std::get<common::config>(parse(
        "collector {\n}\nsender {\n directory /d\n host r {\n  remote tcp://127.0.0.1:1\n"
        "  password p\n }\n host r2 {\n  remote tcp://127.0.0.1:3\n  password q\n }\n}\n"
        "receiver {\n listen tcp://127.0.0.1:4\n host s {\n  remote 127.0.0.1\n  password p\n }\n}\n"));
    auto full_plan = common::plan_reload(c, changed);
    REQUIRE(full_plan.sender_hosts_added == std::vector<std::string>{"r2"});
    REQUIRE_FALSE(full_plan.listen_added.empty());
    CHECK(common::plan_reload(coll, privileged::collector_view(changed)).empty());
}

// The collector process never reads the file: the supervisor hands it
// collector_sections_text, which must give back exactly its sections, and
// nothing that is a host's.
TEST_CASE("collector user: the collector process's text gives back its sections, no password") {
    auto same = [](common::collector_config a, common::collector_config b) {
        a.line = b.line = 0; // where the section was: the text has its own lines
        return a == b;
    };
    auto round_trip = [&](const common::config& c) {
        auto text = common::collector_sections_text(c);
        auto back = common::parse_config(text, "view", "other-default");
        if (auto* e = std::get_if<common::config_error>(&back)) FAIL(e->to_string() << "\n" << text);
        auto got = std::get<common::config>(back);
        CHECK(got.name == c.name);
        CHECK(got.collector.has_value() == c.collector.has_value());
        CHECK(got.sudo.has_value() == c.sudo.has_value());
        if (c.collector && got.collector) CHECK(same(*got.collector, *c.collector));
        if (c.sudo && got.sudo) CHECK(same(*got.sudo, *c.sudo));
        CHECK_FALSE(got.has_sender);
        CHECK_FALSE(got.has_receiver);
        return text;
    };
    // Every setting away from its default, both rotations, every policy.
    auto full = std::get<common::config>(parse(
        "name \"web 1.example\"\ncollector {\n socket /run/a/c.sock\n directory /var/c\n"
        " dist /var/cd\n rotate size 64K\n sync_records 7\n sync_interval 9\n heartbeat 11\n"
        " on_tamper abort\n replicate journal\n rate_limit 0\n max_record_size 300\n"
        " user adcoll\n}\nsudo {\n socket /run/a/s.sock\n directory /var/s\n sync_records 3\n"
        " heartbeat 5\n user adcoll\n}\nsender {\n directory /d\n host r {\n"
        "  remote tcp://127.0.0.1:1\n  password sender-secret-1\n }\n}\nreceiver {\n"
        " listen tcp://127.0.0.1:2\n host s {\n  remote 127.0.0.1\n"
        "  password receiver-secret-2\n }\n}\n"));
    auto text = round_trip(full);
    CHECK(text.find("secret") == std::string::npos);
    CHECK(text.find("host") == std::string::npos);
    CHECK(text.find("127.0.0.1") == std::string::npos);
    // Defaults, the other enumerators, one section at a time.
    round_trip(std::get<common::config>(parse("collector {\n replicate syslog\n}\n")));
    round_trip(std::get<common::config>(parse("collector {\n}\n")));
    round_trip(std::get<common::config>(parse("sudo {\n on_tamper continue\n}\n")));
}

// The collector process's image takes its sockets from descriptors 5 and 6:
// only a listening unix stream socket is taken.
TEST_CASE("collector user: the image adopts only a listening unix socket") {
    boost::asio::io_context io;
    auto adopt = [&](int fd) {
        boost::asio::local::stream_protocol::acceptor a(io);
        auto problem = common::adopt_listener(a, fd);
        if (problem) ::close(fd); // taken (and closed by `a`) only when adopted
        return !problem;
    };
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    CHECK_FALSE(adopt(pair[0])); // connected, not listening
    ::close(pair[1]);
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::listen(tcp, 1) == 0); // bound to a port of the kernel's choice
    CHECK_FALSE(adopt(tcp));        // listening, not unix
    int dgram = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_FALSE(adopt(dgram));
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[1]);
    CHECK_FALSE(adopt(fds[0])); // not a socket
    int unix_listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX; // abstract: nothing left on disk
    std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "adist-adopt-%d", ::getpid());
    REQUIRE(::bind(unix_listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(unix_listener, 1) == 0);
    CHECK(adopt(unix_listener));
}

TEST_CASE("collector user: dist belongs to the sender's user, group the collector's") {
    user_ids coll{111, 121}, sender{110, 120};
    user_ids self{0, 0};
    common::dir_facts good{true, 110, 121, S_IFDIR | 0770};
    CHECK_FALSE(collector::directory_problem("/d", good, "coll", coll, self, sender));
    auto f = good;
    f.owner = 0;
    CHECK(*collector::directory_problem("/d", f, "coll", coll, self, sender) ==
          "/d belongs to uid 0, not the sender's user (uid 110), which removes the links it "
          "shipped (chown 110:coll /d && chmod 0770 /d)");
    f = good;
    f.group = 120;
    CHECK(collector::directory_problem("/d", f, "coll", coll, self, sender)->starts_with("/d has group 120"));
    f = good;
    f.mode = S_IFDIR | 0570;
    CHECK(collector::directory_problem("/d", f, "coll", coll, self, sender)
              ->starts_with("/d is not writable by its owner"));
    // The sender's own check lets the collector's group write there, no other.
    CHECK_FALSE(common::check_directory("/d", good, common::dir_role::dist, "auditdistd", sender,
                                        self, gid_t(121)));
    CHECK(common::check_directory("/d", good, common::dir_role::dist, "auditdistd", sender, self)
              ->starts_with("/d is writable by group 121"));
}

TEST_CASE("supervisor's children: the first to end stops the other and gives the status") {
    pid_t quick = ::fork();
    if (quick == 0) ::_exit(3);
    // The slow child takes SIGTERM's default action, not Catch's handler:
    // blocked across the fork until it is reset.
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, &old);
    pid_t slow = ::fork();
    if (slow == 0) {
        ::signal(SIGTERM, SIG_DFL);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        for (;;) ::pause(); // until the SIGTERM
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    REQUIRE(quick > 0);
    REQUIRE(slow > 0);
    privileged::worker_children children;
    children.add(quick, "quick", -1);
    children.add(slow, "slow", -1);
    CHECK_FALSE(children.mark_ready(0));
    CHECK(children.mark_ready(1));
    bool all_gone = false;
    for (int i = 0; i < 3000 && !all_gone; ++i) { // at most 30 s
        all_gone = children.reap();
        if (!all_gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(all_gone);
    CHECK(children.exit_code() == 3);
    CHECK(children.all()[1].exited);
    int status = 0;
    CHECK(::waitpid(slow, &status, WNOHANG) < 0); // reaped by reap()
}
