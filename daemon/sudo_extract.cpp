// `auditdistd sudo-extract` (sudo_extract.hpp): reads the host's trails in
// order from where the last run stopped, applies each complete line to the
// session directories (sudo_tree), reports gaps, saves where it stopped.
#include "daemon/sudo_extract.hpp"

#include "common/dir_list.hpp"
#include "common/fd.hpp"
#include "daemon/sudo_record_parse.hpp"
#include "daemon/sudo_tree.hpp"
#include "privileged/privilege_drop.hpp"
#include "proto/trail_name.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::daemon {
namespace {

constexpr const char* state_name = ".sudo-extract-state";
constexpr const char* state_temp_name = ".sudo-extract-state.new";
constexpr std::size_t max_line = 8u << 20; // an open record with a large environment

std::string read_all(int dir, const char* name) {
    common::unique_fd fd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::string out;
    char buf[65536];
    for (int i = 0; fd && i < 1024; ++i) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, std::size_t(n));
    }
    return out;
}

bool save_state(int dir, const extract_state& s) {
    const std::string text = state_text(s);
    common::unique_fd fd(
        ::openat(dir, state_temp_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != ssize_t(text.size()) ||
        ::fsync(fd.get()) != 0)
        return false;
    return ::renameat(dir, state_temp_name, dir, state_name) == 0;
}

// Applies the complete lines of one trail from `state.file_offset`.
void read_trail(int host_dir, const std::string& name, extract_state& state, sudo_tree& tree) {
    common::unique_fd fd(::openat(host_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        std::cout << "error: cannot open " << name << ": " << std::strerror(errno) << "\n";
        return;
    }
    std::string pending;
    off_t at = off_t(state.file_offset);
    char buf[1 << 16];
    for (std::uint64_t rounds = 0; rounds < (std::uint64_t{1} << 40); ++rounds) {
        ssize_t n = ::pread(fd.get(), buf, sizeof buf, at);
        if (n <= 0) break;
        at += n;
        pending.append(buf, std::size_t(n));
        std::size_t start = 0;
        for (auto nl = pending.find('\n'); nl != std::string::npos;
             nl = pending.find('\n', start)) {
            std::string_view line(pending.data() + start, nl - start);
            tree.apply(name, state.file_offset, line, state);
            state.file_offset += line.size() + 1;
            start = nl + 1;
        }
        pending.erase(0, start);
        if (pending.size() > max_line) {
            std::cout << "gap: " << name << ": a line longer than " << max_line
                      << " bytes at offset " << state.file_offset << " is skipped\n";
            state.file_offset += pending.size();
            pending.clear();
        }
    }
}

} // namespace

int run_sudo_extract(int argc, char** argv) {
    std::int64_t heartbeat = 3600;
    std::string user;
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--heartbeat" && i + 1 < argc) {
            heartbeat = std::max<std::int64_t>(1, std::atoll(argv[++i]));
        } else if (a == "-u" && i + 1 < argc) {
            user = argv[++i];
        } else {
            args.emplace_back(a);
        }
    }
    if (args.size() != 2) {
        std::cerr << "usage: auditdistd sudo-extract [-u USER] [--heartbeat SECONDS] HOST_DIR "
                     "OUT_DIR\n";
        return EX_USAGE;
    }
    // The trails are what a sending host wrote: never parsed as root.
    if (::geteuid() == 0) {
        if (user.empty()) {
            std::cerr << "sudo-extract: refusing to run as root: the trails it reads come from "
                         "the network; give -u USER (a user that can read the host directory, "
                         "e.g. the receiver's -u user) or run it as that user\n";
            return EX_USAGE;
        }
        std::string error;
        if (int code = privileged::drop_privileges(user, &error)) {
            std::cerr << "sudo-extract: " << error << "\n";
            return code;
        }
    } else if (!user.empty()) {
        std::cerr << "sudo-extract: -u needs root; running as the current user\n";
    }
    common::unique_fd host(::open(args[0].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!host) {
        std::cerr << "sudo-extract: cannot open " << args[0] << ": " << std::strerror(errno) << "\n";
        return EX_NOINPUT;
    }
    ::mkdir(args[1].c_str(), 0700);
    common::unique_fd out(::open(args[1].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!out) {
        std::cerr << "sudo-extract: cannot open " << args[1] << ": " << std::strerror(errno) << "\n";
        return EX_CANTCREAT;
    }
    extract_state state;
    std::string saved = read_all(out.get(), state_name);
    if (!saved.empty()) {
        auto s = parse_state(saved);
        if (!s) {
            std::cerr << "sudo-extract: " << args[1] << "/" << state_name << " is not ours\n";
            return EX_DATAERR;
        }
        state = *s;
    }
    auto listing = common::list_directory(host.get());
    std::vector<std::string> names;
    for (auto& n : listing.names)
        if (proto::is_valid_trail_name(n)) names.push_back(n);
    std::sort(names.begin(), names.end());
    sudo_tree tree(out.get(), heartbeat);
    for (const auto& n : names) {
        std::string start = n.substr(0, proto::trail_prefix_length - 1);
        if (!state.file_start.empty() && start < state.file_start) continue;
        if (start != state.file_start) {
            state.file_start = start;
            state.file_offset = 0;
        }
        read_trail(host.get(), n, state, tree);
    }
    tree.report_open(state);
    if (!save_state(out.get(), state)) {
        std::cerr << "sudo-extract: cannot save " << args[1] << "/" << state_name << ": "
                  << std::strerror(errno) << "\n";
        return EX_IOERR;
    }
    std::cout << "sudo-extract: " << tree.records() << " records, " << tree.opened()
              << " sessions opened, " << tree.closed() << " closed, " << tree.gaps() << " gaps\n";
    return 0;
}

} // namespace adist::daemon
