// Configuration reload (SIGHUP), the pure parts: what changed between the
// running configuration and a new one that parsed and validated, and the
// message by which the root supervisor hands the new file's text to the
// unprivileged worker (which cannot read the root-only file itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace adist::common {

struct reload_plan {
    // Changes that only a restart can apply (the pidfile, a role section
    // added or removed). When not empty, nothing is applied.
    std::vector<std::string> needs_restart;

    // receiver
    std::vector<std::string> listen_added;   // canonical endpoint strings
    std::vector<std::string> listen_removed;
    std::vector<std::string> receiver_hosts_added;   // host names
    std::vector<std::string> receiver_hosts_removed;
    std::vector<std::string> receiver_hosts_changed; // remote, directory or password
    bool tls_files_changed = false; // certfile or keyfile path

    // sender
    std::vector<std::string> sender_hosts_added;
    std::vector<std::string> sender_hosts_removed;
    std::vector<std::string> sender_hosts_changed; // remote, source, directory, fingerprint, password
    bool restart_all_uplinks = false; // own name or timeout changed

    bool timeout_changed = false;

    // collector and sudo sections: "collector", "sudo" when a setting a
    // reload applies (rotation, sync, heartbeat, ...) changed
    std::vector<std::string> sections_changed;

    bool empty() const;
    // One line for the log, e.g. "receiver hosts added: web3; listen removed: ...";
    // never includes a password.
    std::string summary() const;
};

reload_plan plan_reload(const config& running, const config& next);

// What the worker's sandbox (privileged/sandbox.hpp) fixed at startup: the
// directories it may use, the TLS files it may read, the TCP ports it may
// connect to. A reload cannot widen it.
struct sandbox_limits {
    bool filesystem = false; // Landlock confines the filesystem
    bool network = false;    // Landlock confines TCP connect (ABI >= 4)
    std::vector<std::string> receiver_dirs; // a host directory must be one of them or beneath
    std::vector<std::string> sender_dirs;   // a dist directory must be one of them or beneath
    std::vector<std::string> tls_files;     // certfile and keyfile
    std::vector<std::uint16_t> ports;       // a sender's remote port must be one of them
};

// Adds to p.needs_restart what `next` needs outside `limits` (e.g. "host web3's
// directory /srv/web3, outside the sandbox").
void check_sandbox_limits(reload_plan& p, const config& next, const sandbox_limits& limits);

// True when `path` is `root` or beneath it (lexically, after normalising).
bool path_within(const std::string& path, const std::string& root);

// True when `name` is one of the plan's `names` (a list of hosts or listeners).
bool lists(const std::vector<std::string>& names, const std::string& name);

// Supervisor -> worker message: kind (1 byte), payload length (4 bytes, little
// endian), payload. kind 1: the configuration, its file and the files it
// includes (encode_config_bundle, common/config.hpp); kind 2: why it could
// not be read (the worker logs it and keeps its configuration).
inline constexpr std::size_t max_config_bytes = max_bundle_bytes + 1024 * 1024;
enum class control_kind : std::uint8_t { config_text = 1, read_error = 2 };

std::vector<std::byte> encode_control(control_kind kind, std::string_view payload);

struct control_message {
    control_kind kind;
    std::string payload;
};

// Incremental decoder: feed() what was read; next() returns complete
// messages in order. A bad kind or an oversized length is a protocol error
// (error() true; the worker then stops listening to the channel).
class control_decoder {
public:
    void feed(std::span<const std::byte> bytes);
    std::optional<control_message> next();
    bool error() const { return error_; }

private:
    std::vector<std::byte> buf_;
    bool error_ = false;
};

} // namespace adist::common
