// The filesystem checks of `auditd_log` (docs/auditdistd.conf.5): a dist
// directory fed from auditd's log by hard links must be on the log's
// filesystem. Run by load_config(), so at startup and for -n alike.
#include "common/config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>

namespace adist::common {
namespace {

// The device of `path`, or of its nearest existing ancestor (a dist directory
// the daemon has not made yet lands where its parent is); `*shown` says which.
std::optional<dev_t> device_of(const std::string& path, std::string* shown) {
    std::filesystem::path p(path);
    for (int depth = 0; depth < 256; ++depth) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            *shown = p.string();
            return st.st_dev;
        }
        if (errno != ENOENT || !p.has_relative_path()) return std::nullopt;
        p = p.parent_path();
    }
    return std::nullopt;
}

} // namespace

std::optional<config_error> check_auditd_logs(const config& cfg, std::string_view file) {
    for (const auto& h : cfg.senders) {
        if (h.auditd_log.empty()) continue;
        auto prefix = "host \"" + h.name + "\": auditd_log \"" + h.auditd_log + "\": ";
        auto log_dir = std::filesystem::path(h.auditd_log).parent_path().string();
        struct stat st {};
        if (::stat(log_dir.c_str(), &st) != 0) {
            return config_error{std::string(file), h.auditd_log_line,
                                prefix + "its directory " + log_dir + ": " + std::strerror(errno)};
        }
        if (!S_ISDIR(st.st_mode)) {
            return config_error{std::string(file), h.auditd_log_line,
                                prefix + log_dir + " is not a directory"};
        }
        std::string shown;
        auto dist_dev = device_of(h.directory, &shown);
        if (!dist_dev) {
            return config_error{std::string(file), h.auditd_log_line,
                                prefix + "cannot stat directory " + h.directory + ": " +
                                    std::strerror(errno)};
        }
        if (*dist_dev != st.st_dev) {
            return config_error{
                std::string(file), h.auditd_log_line,
                prefix + "directory " + h.directory + " (" + shown +
                    ") is on another filesystem than " + log_dir +
                    ": generations are hard-linked, which works only within one filesystem "
                    "(put the dist directory on the audit partition, e.g. " +
                    log_dir + "/dist, or change \"directory\")"};
        }
    }
    return std::nullopt;
}

} // namespace adist::common
