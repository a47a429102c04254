// Unit tests for common/dir_list: complete listings, and failures reported as
// values (never an empty listing that looks like an empty directory).
#include "common/dir_list.hpp"
#include "common/fd.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

using adist::test::temp_dir;
using namespace adist::common;


TEST_CASE("list_directory returns every entry but . and ..") {
    temp_dir d("dir_list");
    for (auto n : {"a", "20240101000000.not_terminated", ".hidden"}) {
        unique_fd f(::open((d.path + "/" + n).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        REQUIRE(f);
    }
    std::filesystem::create_directory(d.path + "/sub");
    unique_fd dir = open_directory(d.path);
    REQUIRE(dir);
    // Twice: the listing must not consume the caller's descriptor.
    for (int round = 0; round < 2; ++round) {
        auto l = list_directory(dir.get());
        REQUIRE(l.ok());
        std::sort(l.names.begin(), l.names.end());
        REQUIRE(l.names ==
                std::vector<std::string>{".hidden", "20240101000000.not_terminated", "a", "sub"});
    }
}

TEST_CASE("list_directory of an empty directory is empty and ok") {
    temp_dir d("dir_list");
    unique_fd dir = open_directory(d.path);
    auto l = list_directory(dir.get());
    REQUIRE(l.ok());
    REQUIRE(l.names.empty());
}

TEST_CASE("list_directory reports what it cannot list") {
    temp_dir d("dir_list");
    unique_fd file(::open((d.path + "/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    REQUIRE(list_directory(file.get()).error == ENOTDIR);
    REQUIRE(list_directory(-1).error == EBADF);

    // No descriptor left (EMFILE), for a moment: the listing needs one.
    unique_fd dir = open_directory(d.path);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit none = saved;
    none.rlim_cur = 0;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
    auto l = list_directory(dir.get());
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    REQUIRE(l.error == EMFILE);
    REQUIRE_FALSE(l.ok());
    REQUIRE(l.names.empty());
}
