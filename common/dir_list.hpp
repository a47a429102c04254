// Lists the entries of a directory open as a descriptor, reporting a failure
// to open it for reading or a readdir that fails part way as a value: a
// caller never mistakes an unreadable directory for an empty one.
#pragma once

#include <string>
#include <vector>

namespace adist::common {

struct dir_listing {
    std::vector<std::string> names; // every entry but "." and "..", in readdir order
    int error = 0;                  // errno of the failure (0: complete); names then partial
    bool ok() const { return error == 0; }
};

// Reads the directory `dir_fd` refers to from its start, through a fresh open
// file description (the caller's descriptor and its offset are untouched).
dir_listing list_directory(int dir_fd);

} // namespace adist::common
