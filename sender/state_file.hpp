// The sender's files of its own state outside the dist directory (a host's
// receipts, its digest checkpoint): opened, or made with their missing
// directories (0700) and mode 0600, by the role before the privilege drop,
// and afterwards used only through the descriptor.
#pragma once

#include <string>

#include "common/fd.hpp"

namespace adist::sender {

// Opens or creates `path` for reading and writing (`extra_flags`, e.g.
// O_APPEND, added), never through a symbolic link, and only a regular file
// of this process's user with one link; a new name is made durable (the
// directory synced). An invalid descriptor, with *problem set ("cannot make
// DIR: ...", "cannot open PATH: ...", "not using PATH: ..."), when not.
common::unique_fd open_state_file(const std::string& path, int extra_flags, std::string* problem);

} // namespace adist::sender
