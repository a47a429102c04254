// Shared by the unit tests that work on real files: a fresh directory under
// /tmp, removed with everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace adist::test {

struct temp_dir {
    std::string path;
    explicit temp_dir(const std::string& name) {
        std::string tmpl = "/tmp/adist_" + name + "_XXXXXX";
        path = ::mkdtemp(tmpl.data());
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace adist::test
