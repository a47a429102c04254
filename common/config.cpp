// The auditdistd.conf model's helpers: error formatting, reading the file,
// the default name, and whole-config validation (the parser lives in
// config_parser.cpp). Used by the daemon at startup and for `-n`.
#include "common/config.hpp"
#include "common/config_parser.hpp"
#include "common/daemon_util.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <unistd.h>

namespace adist::common {
namespace {

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

struct checker {
    std::string file;

    config_error at(int line, std::string message) const {
        return {file, line, std::move(message)};
    }
    // At a line of a host's block, in the file that holds it.
    template <typename Host> config_error at(const Host& h, int line, std::string message) const {
        return {h.file.empty() ? file : h.file, line, std::move(message)};
    }

    std::optional<config_error> name(const config& cfg) const;
    template <typename Host> std::optional<config_error> common_host(const Host& h) const;
    std::optional<config_error> sender(const sender_host& h) const;
    // Names appear once; with a `why`, directories too ("": not checked).
    template <typename Host>
    std::optional<config_error> unique(const std::vector<Host>& hosts, std::string_view role,
                                       std::string_view why) const;
};

// An explicit `name` was checked at its statement; this catches the default.
std::optional<config_error> checker::name(const config& cfg) const {
    if (cfg.name.empty()) return at(0, "no \"name\" given and the host name is unknown");
    if (cfg.name.size() > max_name_length)
        return at(0, "the host name is longer than 255 bytes; set \"name\"");
    if (cfg.name.find('\0') != std::string::npos) return at(0, "name contains a NUL byte");
    return std::nullopt;
}

template <typename Host> std::optional<config_error> checker::common_host(const Host& h) const {
    auto prefix = "host " + quoted(h.name) + ": ";
    // The parser refuses an empty host in `remote`, so empty means "not given".
    if (h.remote.host.empty()) return at(h, h.line, prefix + "no remote");
    // FreeBSD accepts a missing or empty password; HMAC with an empty key is no
    // authentication at all, so we refuse.
    if (h.password.empty()) return at(h, h.line, prefix + "no password");
    if (h.password.size() > max_name_length)
        return at(h, h.line, prefix + "password is longer than 255 bytes");
    if (h.directory.empty() || h.directory.front() != '/')
        return at(h, h.line, prefix + "directory must be an absolute path");
    // Not in FreeBSD: the samples' placeholder is a password everybody knows.
    // The message does not repeat it (no error shows a password).
    if (h.password == sample_password_placeholder)
        return at(h, h.password_line, prefix +
                                       "password is still the placeholder of the sample "
                                       "configuration; set a long random secret (openssl rand "
                                       "-base64 32), the same on the sender and the receiver");
    return std::nullopt;
}

// FreeBSD connects without verifying the receiver when no fingerprint is set;
// we refuse to start instead. A fingerprint on a plain-tcp remote would give a
// false sense of protection, so that is refused as well.
std::optional<config_error> checker::sender(const sender_host& h) const {
    if (auto e = common_host(h)) return e;
    auto prefix = "host " + quoted(h.name) + ": ";
    if (h.own_name.find('\0') != std::string::npos) return at(h.line, prefix + "name contains a NUL byte");
    if (h.remote.scheme == scheme::tls && !h.fingerprint)
        return at(h, h.line, prefix + "remote is tls:// but no fingerprint is given");
    if (h.remote.scheme != scheme::tls && h.fingerprint)
        return at(h, h.line, prefix + "fingerprint given but remote is not tls://");
    // The sample's all-zero fingerprint matches no certificate; say why the
    // connection would fail before it is ever tried.
    if (h.fingerprint == sample_fingerprint_placeholder)
        return at(h, h.fingerprint_line,
                  prefix + "fingerprint is still the placeholder of the sample configuration; "
                           "paste what \"auditdistd fingerprint\" prints on the receiver");
    return std::nullopt;
}

template <typename Host>
std::optional<config_error> checker::unique(const std::vector<Host>& hosts, std::string_view role,
                                            std::string_view why) const {
    std::map<std::string, const Host*> names;
    std::map<std::string, const Host*> dirs;
    for (const auto& h : hosts) {
        auto what = std::string(role) + " host " + quoted(h.name);
        if (!names.emplace(h.name, &h).second)
            return at(h, h.line, what + " is configured more than once");
        if (why.empty()) continue; // sender hosts may share one (fan-out)
        auto [it, fresh] = dirs.emplace(h.directory, &h);
        if (!fresh)
            return at(h, h.line, what + ": directory " + quoted(h.directory) +
                                  " is already used by host " + quoted(it->second->name) + " (" +
                                  std::string(why) + ")");
    }
    return std::nullopt;
}

} // namespace

std::string config_error::to_string() const {
    if (line == 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ": " + message;
}

std::optional<config_error> validate_config(const config& cfg, std::string_view file) {
    checker c{std::string(file)};
    if (auto e = c.name(cfg)) return e;
    for (const auto& h : cfg.senders)
        if (auto e = c.sender(h)) return e;
    for (const auto& h : cfg.receivers)
        if (auto e = c.common_host(h)) return e;
    // Several sender hosts may take one dist directory (fan-out): "" skips
    // the directory check; check_fanout() checks those groups.
    if (auto e = c.unique(cfg.senders, "sender", "")) return e;
    if (auto e = c.unique(cfg.receivers, "receiver", "each sender needs its own directory"))
        return e;
    if (auto e = config_detail::check_fanout(cfg, file)) return e;
    if (auto e = config_detail::check_receipts(cfg, file)) return e;
    return config_detail::check_tls_settings(cfg, file);
}

const std::string& handshake_name(const config& cfg, const sender_host& h) {
    return h.own_name.empty() ? cfg.name : h.own_name;
}

std::string short_hostname() {
    char buf[256 + 1] = {};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return {};
    std::string name(buf);
    return name.substr(0, name.find('.'));
}

config_result load_config(const std::string& path) {
    auto read = read_config_bundle(path);
    if (auto* error = std::get_if<config_error>(&read)) return *error;
    auto result = parse_config_bundle(std::get<config_bundle>(read), short_hostname());
    if (auto* cfg = std::get_if<config>(&result)) {
        if (auto e = check_auditd_logs(*cfg, path)) return *e;
    }
    if (auto* cfg = std::get_if<config>(&result); cfg != nullptr && !cfg->status_group.empty()) {
        cfg->status_gid = lookup_group(cfg->status_group);
        if (!cfg->status_gid) {
            return config_error{path, cfg->status_group_line,
                                "status_group: no group named \"" + cfg->status_group + "\""};
        }
    }
    return result;
}

std::optional<std::string> unsafe_config_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return path + ": owned by uid " + std::to_string(st.st_uid) +
               ", not root: it holds passwords (chown root " + path + ")";
    }
    if ((st.st_mode & (S_IWGRP | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return path + ": mode " + mode + " lets others read or change it: it holds passwords "
               "(chmod 0600 " + path + ")";
    }
    return std::nullopt;
}

} // namespace adist::common
