// What the sandbox attack tests share: how a failure is counted, how an
// attacking child reports its end, and reading a victim back.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace adist::attack {

// An attacking child's exit codes.
constexpr int attack_failed = 0;  // every attempt was refused with an errno
constexpr int attack_worked = 10; // the attempt did what it must not
constexpr int setup_failed = 20;  // the child could not get to the attack

inline int failures = 0;

inline void fail(const std::string& what) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
}

// Ends the attacking child with `code`, saying why unless the attack failed.
[[noreturn]] inline void child_exit(int code, const char* why) {
    if (code != attack_failed)
        std::fprintf(stderr, "attacker: %s (%s)\n", why, std::strerror(errno));
    ::_exit(code);
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace adist::attack
