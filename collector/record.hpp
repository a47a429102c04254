// The collector's records: one JSON object per line (docs/collector.md).
// Pure encoding of every record kind (header, command, heartbeat, tamper,
// suppressed, recovery); text from users is escaped losslessly. Used by the
// collector's writer; a second kind of record (sudo I/O) adds a struct here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace adist::collector {

// Appends `s` as a JSON string. Valid UTF-8 is kept (controls, '"' and '\\'
// escaped); each byte that is not part of valid UTF-8 becomes \udcXX
// (Python's "surrogateescape": json.loads(...).encode("utf-8",
// "surrogateescape") gives the bytes back). Returns false when such a byte
// was seen.
bool append_json_string(std::string& out, std::string_view s);

// What every record carries.
struct record_base {
    std::uint64_t seq = 0;    // per-file sequence, continued across files
    std::int64_t time_ns = 0; // UTC, nanoseconds since the epoch
    std::string host;
    std::string boot_id;
};

// What the kernel says about the peer (SO_PEERCRED, /proc/<pid>).
struct trusted_info {
    std::int64_t pid = 0;
    std::uint32_t uid = 0, gid = 0;
    std::string user, group;               // "" (written as null) when the id has no name
    std::optional<std::string> tty;        // "pts/3"; nullopt: no controlling terminal
    std::optional<std::int64_t> session;   // session id (stat field 6)
    std::optional<std::uint32_t> loginuid; // nullopt: unset (4294967295) or unreadable
    std::optional<std::uint32_t> audit_session;
    std::optional<std::string> exe; // nullopt: not readable by the collector
    struct parent {
        std::int64_t pid = 0;
        std::uint32_t uid = 0;
        std::string comm; // the process's own name: settable by it, not vouched for
    };
    std::vector<parent> parents; // nearest first
    bool verified = false;       // the process was still the peer after /proc was read
};

// What the client says.
struct claimed_info {
    std::string command;
    std::optional<std::string> ssh_tty, ssh_connection, pwd;
    std::uint64_t command_length = 0; // length before truncation
    bool truncated = false;
};

std::string encode_header(const record_base& b, std::uint64_t first_seq, std::string_view previous);
std::string encode_command(const record_base& b, const trusted_info& t, const claimed_info& c);
std::string encode_heartbeat(const record_base& b);
std::string encode_tamper(const record_base& b, std::string_view file, std::string_view problem);
std::string encode_suppressed(const record_base& b, std::uint32_t uid, std::string_view user,
                              std::uint64_t count);
std::string encode_recovery(const record_base& b, std::string_view file, bool partial_line);

// Every record starts {"type":"<kind>","seq":N: the seq of the last line of
// a file, or nullopt (used to continue the sequence after a restart).
std::optional<std::uint64_t> record_seq(std::string_view line);

// `line` with its seq replaced by `seq` (a line encoded before a rotation
// wrote the new file's header, which took the number). False, line
// unchanged, when record_seq finds none.
bool restamp_seq(std::string& line, std::uint64_t seq);

} // namespace adist::collector
