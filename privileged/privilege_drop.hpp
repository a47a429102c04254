// Dropping root for good (the worker of either role, started as root): the
// one place that changes our credentials, failing closed.
#pragma once

#include <string>

namespace adist::privileged {

// When running as root: switches to `user` (groups, gid, uid), empties the
// capability bounding set and keeps no capability, except CAP_DAC_READ_SEARCH
// with `keep_read_search` (the sender reads root-owned trails); then verifies
// that root cannot be regained and that exactly that capability is left.
// Returns 0 on success or a sysexits code with *error set; the caller must
// exit on failure. Not root: returns 0 and sets *error to a notice that
// privileges were not changed.
int drop_privileges(const std::string& user, std::string* error, bool keep_read_search = false);

} // namespace adist::privileged
