// Shared by sandbox.cpp and sandbox_syscalls.cpp only: the seccomp step and
// what sanitizer builds change.
#pragma once

#include <string>

#include "privileged/sandbox.hpp"

// ASan/LSan builds (gcc: __SANITIZE_ADDRESS__, clang: __has_feature). LSan's
// leak check at exit clones a tracer that ptraces the process and reads
// /proc/<pid>/maps and /proc/<pid>/task: those builds let it (docs/security.md).
#if defined(__SANITIZE_ADDRESS__)
#define ADIST_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ADIST_SANITIZER_BUILD 1
#endif
#endif
#ifndef ADIST_SANITIZER_BUILD
#define ADIST_SANITIZER_BUILD 0
#endif

namespace adist::privileged {

// Loads the seccomp allowlist for the roles in `spec` (all threads, TSYNC).
// Returns 0 or a sysexits code with *error set.
int enter_seccomp(const sandbox_spec& spec, std::string* error);

// The Landlock step of enter_sandbox() alone (the tests use it to see
// Landlock refuse what seccomp would refuse first).
int enter_landlock(const sandbox_spec& spec, std::string* error, std::string* notice);

// Sanitizer builds: adds read access to /proc (LSan's tracer). No-op otherwise.
void add_sanitizer_paths(sandbox_spec& spec);

} // namespace adist::privileged
