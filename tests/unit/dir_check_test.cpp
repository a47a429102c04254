// Unit tests for common/dir_check: which trusted directories the daemon
// refuses at startup, and the fix it names.
#include "common/dir_check.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <sys/stat.h>

using namespace adist::common;

namespace {
const user_ids daemon_user{101, 102};

std::optional<std::string> check(dir_facts f, dir_role role, bool drop = true) {
    return check_directory("/d", f, role, "auditdistd",
                           drop ? std::optional<user_ids>(daemon_user) : std::nullopt, {0, 0});
}
} // namespace

TEST_CASE("trusted directories belong to root or the daemon user", "[dir_check]") {
    CHECK_FALSE(check({true, 0, 0, S_IFDIR | 0755}, dir_role::receiver_base));
    CHECK_FALSE(check({true, 101, 102, S_IFDIR | 0700}, dir_role::receiver_base));
    auto foreign = check({true, 1000, 0, S_IFDIR | 0755}, dir_role::receiver_base);
    REQUIRE(foreign);
    CHECK_THAT(*foreign, Catch::Contains("uid 1000") && Catch::Contains("chown root /d"));
    CHECK(check({false, 0, 0, S_IFREG | 0644}, dir_role::dist));
}

TEST_CASE("the owner a refusal names is one that passes the next check too", "[dir_check]") {
    // A dist or host directory of a stranger: chown root would only be
    // refused next for the daemon user's missing write access.
    for (auto role : {dir_role::dist, dir_role::receiver_host}) {
        auto foreign = check({true, 1000, 0, S_IFDIR | 0750}, role);
        REQUIRE(foreign);
        CHECK_THAT(*foreign, Catch::Contains("chown auditdistd /d"));
        // ... and that owner passes.
        CHECK_FALSE(check({true, daemon_user.uid, 0, S_IFDIR | 0750}, role));
    }
    // Without a privilege drop there is no daemon user to name.
    auto nodrop = check({true, 1000, 0, S_IFDIR | 0750}, dir_role::dist, false);
    REQUIRE(nodrop);
    CHECK_THAT(*nodrop, Catch::Contains("chown root /d"));
}

TEST_CASE("trusted directories are writable by nobody else", "[dir_check]") {
    auto world = check({true, 0, 0, S_IFDIR | 01777}, dir_role::receiver_base);
    REQUIRE(world);
    CHECK_THAT(*world, Catch::Contains("chmod o-w"));
    // Group-writable: only by root's group or the daemon user's.
    CHECK_FALSE(check({true, 0, 102, S_IFDIR | 0770}, dir_role::receiver_base));
    CHECK_FALSE(check({true, 0, 0, S_IFDIR | 0770}, dir_role::receiver_base));
    auto group = check({true, 0, 50, S_IFDIR | 0770}, dir_role::receiver_base);
    REQUIRE(group);
    CHECK_THAT(*group, Catch::Contains("group 50") && Catch::Contains("chmod g-w"));
    // Without a privilege drop, the running user's group stands for it.
    CHECK(check({true, 0, 102, S_IFDIR | 0770}, dir_role::receiver_base, false));
    CHECK_FALSE(check({true, 0, 0, S_IFDIR | 0770}, dir_role::receiver_base, false));
}

TEST_CASE("host directories belong to the daemon user when it drops", "[dir_check]") {
    CHECK_FALSE(check({true, 101, 102, S_IFDIR | 0700}, dir_role::receiver_host));
    auto root = check({true, 0, 0, S_IFDIR | 0700}, dir_role::receiver_host);
    REQUIRE(root);
    CHECK_THAT(*root, Catch::Contains("chown auditdistd /d"));
    CHECK_FALSE(check({true, 0, 0, S_IFDIR | 0700}, dir_role::receiver_host, false));
}

TEST_CASE("the sender must be able to remove links from its dist directory", "[dir_check]") {
    CHECK_FALSE(check({true, 101, 0, S_IFDIR | 0750}, dir_role::dist));
    CHECK_FALSE(check({true, 0, 102, S_IFDIR | 0770}, dir_role::dist));
    auto ro = check({true, 0, 0, S_IFDIR | 0755}, dir_role::dist);
    REQUIRE(ro);
    CHECK_THAT(*ro, Catch::Contains("cannot write") && Catch::Contains("chown auditdistd /d"));
    CHECK(check({true, 101, 0, S_IFDIR | 0550}, dir_role::dist));
    // Not dropping (not root): the running user's own rights apply at run time.
    CHECK_FALSE(check({true, 0, 0, S_IFDIR | 0755}, dir_role::dist, false));
}

TEST_CASE("two hosts cannot share a directory under two spellings", "[dir_check]") {
    auto tmp = std::filesystem::temp_directory_path() / "adist-dir-alias";
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directories(tmp / "real" / "web1");
    std::filesystem::create_directory_symlink(tmp / "real", tmp / "alias");
    auto t = tmp.string();
    auto problem = shared_directory({{"web1", t + "/real/web1"}, {"web2", t + "/alias/web1"}});
    REQUIRE(problem);
    CHECK_THAT(*problem, Catch::Contains("hosts web1 and web2 would share one directory"));
    CHECK_FALSE(shared_directory({{"web1", t + "/real/web1"}, {"web2", t + "/real/web2"},
                                  {"web3", t + "/missing"}}));
    // Receiver hosts never share one, even spelled the same way.
    CHECK(shared_directory({{"web1", t + "/real/web1"}, {"web2", t + "/real/web1"}}));
    // Sender hosts (fan-out) may, spelled the same way, never under two spellings.
    CHECK_FALSE(shared_directory({{"a", t + "/real/web1"}, {"b", t + "/real/web1"}}, true));
    auto alias = shared_directory({{"a", t + "/real/web1"}, {"b", t + "/alias/web1"}}, true);
    REQUIRE(alias);
    CHECK_THAT(*alias,
               Catch::Contains("hosts a and b take one dist directory under two spellings"));
    std::filesystem::remove_all(tmp);
}
