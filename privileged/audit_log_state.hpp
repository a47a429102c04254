// The auditd_log linker's durable record (linker_state, audit_log_decider.hpp):
// one root-only text file per dist directory, replaced atomically (temp,
// fsync, rename, fsync of the directory). Run by the root supervisor.
#pragma once

#include "privileged/audit_log_decider.hpp"

#include <optional>
#include <string>

namespace adist::privileged {

// The records live in a root-only directory out of the worker's sandbox
// (--audit-log-state, default /var/lib/auditdistd: daemon/options.hpp).

// The record's path for `dist_dir` in `state_dir`: "audit_log" + the dist
// directory with "%" as "%25" and "/" as "%2F".
std::string audit_log_state_path(const std::string& state_dir, const std::string& dist_dir);

// Reads the record; an absent file is an empty state. nullopt (with *error)
// when it exists but cannot be read or parsed: the linker then refuses to
// start rather than link twice.
std::optional<linker_state> read_audit_log_state(const std::string& path, std::string* error);

// Replaces the record durably (making state_dir 0700 if missing).
bool write_audit_log_state(const std::string& path, const linker_state& s, std::string* error);

} // namespace adist::privileged
