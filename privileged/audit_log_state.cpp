// The auditd_log linker's durable record (see audit_log_state.hpp).
#include "privileged/audit_log_state.hpp"

#include "common/fd.hpp"
#include "common/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::privileged {
namespace {

constexpr const char* header = "auditdistd audit_log state 1";
// Each record: "linked <dev> <ino> <birth ns> <size> <seen at> <name>".
constexpr std::size_t max_records = 100000;

bool fail(std::string* error, std::string what) {
    *error = std::move(what) + ": " + std::strerror(errno);
    return false;
}

bool write_all(int fd, const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

std::string audit_log_state_path(const std::string& state_dir, const std::string& dist_dir) {
    std::string key;
    for (char c : dist_dir) {
        if (c == '%')
            key += "%25";
        else if (c == '/')
            key += "%2F";
        else
            key += c;
    }
    return state_dir + "/audit_log" + key;
}

std::optional<linker_state> read_audit_log_state(const std::string& path, std::string* error) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return linker_state{};
    std::ifstream in(path);
    if (!in || !S_ISREG(st.st_mode)) {
        fail(error, "cannot open " + path);
        return std::nullopt;
    }
    linker_state s;
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        if (first && line != header) break;
        std::istringstream words(line);
        std::string word;
        words >> word;
        if (first) {
            first = false;
        } else if (word == "last_start" && (words >> s.last_start)) {
        } else if (word == "linked" && s.linked.size() < max_records) {
            linked_generation l;
            if (!(words >> l.dev >> l.ino >> l.birth >> l.size >> l.seen_at >> l.name)) break;
            s.linked.push_back(std::move(l));
        } else {
            break;
        }
    }
    if (first || !in.eof()) {
        *error = path + ": not a record this version wrote (line \"" + line.substr(0, 80) + "\")";
        return std::nullopt;
    }
    return s;
}

bool write_audit_log_state(const std::string& path, const linker_state& s, std::string* error) {
    auto dir = std::filesystem::path(path).parent_path().string();
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(error, "cannot make " + dir);
    std::ostringstream out;
    out << header << "\nlast_start " << s.last_start << "\n";
    for (const auto& l : s.linked)
        out << "linked " << l.dev << " " << l.ino << " " << l.birth << " " << l.size << " "
            << l.seen_at << " " << l.name << "\n";
    auto tmp = path + ".tmp";
    common::unique_fd fd(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail(error, "cannot create " + tmp);
    if (!write_all(fd.get(), out.str()) || ::fsync(fd.get()) != 0)
        return fail(error, "cannot write " + tmp);
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(error, "cannot rename " + tmp);
    common::unique_fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd || ::fsync(dfd.get()) != 0) return fail(error, "cannot sync " + dir);
    return true;
}

} // namespace adist::privileged
