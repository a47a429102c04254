// The auditdistd.conf model (FreeBSD grammar) and its parser/validator.
// Parsing takes a string so the fuzzer can feed it; errors carry file:line.
// Run by the daemon at startup and for `-n`; pure apart from load_config().
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/address.hpp"
#include "common/tls_version.hpp"
#include "common/config_collector.hpp"
#include "proto/fingerprint.hpp"

namespace adist::common {

inline constexpr std::string_view default_config_path = "/etc/security/auditdistd.conf";
inline constexpr std::string_view default_pidfile = "/var/run/auditdistd.pid";
inline constexpr std::string_view default_sender_directory = "/var/audit/dist";
inline constexpr std::string_view default_receiver_directory = "/var/audit/remote";
inline constexpr std::string_view default_certfile = "/etc/security/auditdistd.cert.pem";
inline constexpr std::string_view default_keyfile = "/etc/security/auditdistd.key.pem";
inline constexpr std::string_view default_receipt_directory = "/var/lib/auditdistd/receipts";
// FreeBSD's ADIST_TIMEOUT is 20 s (its man page says 5, which is wrong).
inline constexpr int default_timeout = 20;
// Receiver: a trail may start at most this many seconds after the receiver's
// clock (a sender clock far ahead would otherwise wedge the host); at most
// ten years.
inline constexpr long default_max_clock_skew = 86400;
inline constexpr long max_clock_skew_limit = 315360000;
// Longest name/password FreeBSD accepts; the wire field for names is 256 bytes
// including the terminating NUL.
inline constexpr std::size_t max_name_length = 255;

// The placeholders of the shipped samples (etc/auditdistd-*.conf.sample):
// validate_config() refuses them, so a sample copied unchanged never runs
// with a password everybody knows or a fingerprint nobody checked.
inline constexpr std::string_view sample_password_placeholder =
    "CHANGE-ME-TO-A-RANDOM-SECRET";
inline constexpr proto::sha256_digest sample_fingerprint_placeholder{}; // SHA256=00:00:...:00

// Per-host limits of the receiver (docs/auditdistd.conf.5, "Per-host
// limits"): given in the receiver section, overridden in a host section.
// 1,000 files of backlog after an outage drain at once (burst); beyond, one a
// second, far above any real rotation rate.
inline constexpr unsigned default_max_files_per_minute = 60;
inline constexpr unsigned default_max_files_burst = 2000;
struct receiver_limits {
    unsigned max_files_per_minute = default_max_files_per_minute; // 0: no limit
    unsigned max_files_burst = default_max_files_burst;           // >= 1
    std::uint64_t max_host_bytes = 0;                             // 0: no cap
    bool operator==(const receiver_limits&) const = default;
};

struct sender_host {
    std::string name;
    std::string file;             // the included file it is in ("" : the main file)
    endpoint_spec remote;         // obligatory
    std::optional<endpoint_spec> source; // inherited from the sender section
    std::string directory;        // absolute; inherited, default /var/audit/dist
    std::optional<proto::sha256_digest> fingerprint; // required for tls://
    std::string password;         // non-empty
    int line = 0;                 // line of the `host` keyword
    int password_line = 0;        // line of `password` (0: none)
    int fingerprint_line = 0;     // line of `fingerprint` (0: none)
    tls_version tls_min_version = default_tls_min_version; // `tls_min_version`
    int tls_min_version_line = 0; // (0: not given)
    // `min_protocol_version`: 1 refuses a receiver that speaks only version 0.
    int min_protocol_version = 0;
    // Per-host `name`: this connection's name in the handshake ("" = the
    // global `name`), so one machine can ship several streams.
    std::string own_name;
    // `auditd_log`: the Linux auditd log whose generations the supervisor
    // links into `directory` ("" = none); inherited from the sender section.
    std::string auditd_log;
    int auditd_log_line = 0;
    // Fan-out (several hosts with one `directory`): `optional yes` never
    // holds a dist link; the others each must acknowledge a trail's CLOSE
    // before its link is removed. `max_lag_bytes`: more bytes than this in
    // the dist directory not acknowledged by this receiver is an error in
    // `status` (0: no limit).
    bool optional = false;
    std::uint64_t max_lag_bytes = 0;
    // Receipts: `ledger_key` (the receiver's ledger public key, as
    // `auditdistd ledger-key` prints it) makes the sender ask for the signed
    // head of its ledger (protocol 1) and keep it in `receipt_file`
    // (default <default_receipt_directory>/<host>/heads).
    std::optional<std::array<std::uint8_t, 32>> ledger_key;
    std::string receipt_file;
    int receipt_file_line = 0;
};

struct receiver_host {
    std::string name;
    std::string file;             // the included file it is in ("" : the main file)
    endpoint_spec remote;         // obligatory; compared by IP address
    std::string directory;        // absolute; default <receiver directory>/<name>
    std::string password;         // non-empty
    receiver_limits limits;       // the section's, with this host's overrides
    int line = 0;
    int password_line = 0;        // line of `password` (0: none)
    tls_version tls_min_version = default_tls_min_version; // `tls_min_version`
    int tls_min_version_line = 0; // (0: not given)
    // `min_protocol_version`: 1 refuses a sender that offers only version 0.
    int min_protocol_version = 0;
};

struct config {
    std::string name;             // default: first label of the host name
    std::string pidfile;          // absolute path or "none"
    int timeout = default_timeout; // seconds, > 0
    // `status_group`: a group whose members may read the status socket
    // ("" for root only); resolved by load_config (the parser does no lookups).
    std::string status_group;
    int status_group_line = 0;
    std::optional<unsigned> status_gid;

    bool has_sender = false;      // a `sender { }` section was present
    std::vector<sender_host> senders;

    bool has_receiver = false;    // a `receiver { }` section was present
    std::vector<endpoint_spec> listen; // default tls://0.0.0.0:7878 and tls://[::]:7878
    std::string receiver_directory;    // absolute, default /var/audit/remote
    std::string certfile;
    std::string keyfile;
    long max_clock_skew = default_max_clock_skew; // seconds
    std::vector<receiver_host> receivers;
    receiver_limits limits;            // the receiver section's (hosts inherit them)

    // A `collector { }` section: the command-history collector role runs.
    std::optional<collector_config> collector;
    // A `sudo { }` section: the collector also takes sudo I/O sessions
    // (sudo/ plugin) on its own socket, into its own stream.
    std::optional<collector_config> sudo;
};

struct config_error {
    std::string file;
    int line = 0;    // 0 when the error is not tied to a line (e.g. unreadable file)
    std::string message;

    // "file:line: message" (or "file: message" when line == 0).
    std::string to_string() const;
};

using config_result = std::variant<config, config_error>;

// Parses and validates a whole configuration. `file` is used only in error
// messages; `default_name` is the value of `name` when the file has none.
// Never echoes a password in an error message.
config_result parse_config(std::string_view text, std::string_view file,
                           std::string_view default_name);

// Whole-config checks that parse_config() runs after parsing and defaulting:
// every host complete (remote, password, pinned TLS), no placeholder left
// from the samples, host names and directories unique per role, the final
// name usable. First problem wins.
std::optional<config_error> validate_config(const config& cfg, std::string_view file);

// The name this host's connection gives in the handshake: its own `name`,
// else the global one.
const std::string& handshake_name(const config& cfg, const sender_host& h);

// For each host with an `auditd_log`: the log's directory exists and the
// dist directory (or, while missing, its nearest existing parent) is on the
// same filesystem (st_dev), since generations are hard-linked into it.
// Looks at the filesystem: called by load_config(), not parse_config().
std::optional<config_error> check_auditd_logs(const config& cfg, std::string_view file);

// What the collector process may know of `cfg`, as configuration text: the
// name and the collector and sudo sections, nothing else (no host, no
// password). parse_config of it gives back those sections; the root
// supervisor hands it to the collector process, which never reads the file.
std::string collector_sections_text(const config& cfg);

// The warnings of -n about hosts that allow TLS below 1.2 (file:line of
// each `tls_min_version`); the connections warn again each time.
std::vector<config_error> tls_warnings(const config& cfg, std::string_view file);

// For -n: one line per dist directory that several sender hosts take
// (fan-out), naming its hosts and which of them a link waits for.
std::vector<std::string> fanout_summary(const config& cfg);
// For -n: one line per sender host with a ledger_key: where its receipts go.
std::vector<std::string> receipt_summary(const config& cfg);

// `include "PATTERN"` (auditdistd.conf(5), INCLUDE): a configuration is its
// file and the files its include statements name. Root reads them all once
// (read_config_bundle); the bundle is what gets parsed, and what the root
// supervisor hands to its unprivileged worker on a reload.
struct config_source {
    std::string pattern; // the include pattern that named the file
    std::string file;
    std::string text;
    bool operator==(const config_source&) const = default;
};
struct config_bundle {
    std::string file;                  // the main file
    std::string text;
    std::vector<std::string> patterns; // every include pattern that was expanded
    std::vector<config_source> sources; // the files they matched, in glob order
    bool operator==(const config_bundle&) const = default;
};
// At most this many included files, and this many bytes in all.
inline constexpr std::size_t max_included_files = 10000;
inline constexpr std::size_t max_bundle_bytes = 4 * 1024 * 1024;

// Reads `path` and every file its include statements match (sorted, each
// held to unsafe_config_file() like the main file, regular files only).
std::variant<config_bundle, config_error> read_config_bundle(const std::string& path);
// parse_config() over a bundle: an include statement takes the files the
// bundle holds for its pattern; an error in one names that file and line.
config_result parse_config_bundle(const config_bundle& bundle, std::string_view default_name);
// The bundle as bytes for the supervisor's control channel, and back (nothing
// for malformed bytes).
std::string encode_config_bundle(const config_bundle& bundle);
std::optional<config_bundle> decode_config_bundle(std::string_view bytes);

// read_config_bundle() and parse_config_bundle() with the first label of
// gethostname().
config_result load_config(const std::string& path);

// The configuration holds passwords: it must belong to root (or to the user
// running us) and must not be writable by its group or readable by others.
// Returns why not ("path: ...", with the chmod/chown to run), or nullopt.
std::optional<std::string> unsafe_config_file(const std::string& path);

// First label of gethostname() ("" on failure).
std::string short_hostname();

} // namespace adist::common
