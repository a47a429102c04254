// sudo's I/O log format, as `auditdistd sudo-extract` writes it from the
// sudo stream's records: the `log` and `log.json` of a session, its timing
// lines, and the decider that names every gap a record shows (sequence
// jump, offset that does not follow, heartbeat missing). Pure; unit tests
// in tests/unit/sudo_iolog_test.cpp. The files: docs/sudo.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace adist::daemon {

// A sudo session's start, as its open record carries it.
struct iolog_info {
    std::int64_t start_sec = 0;
    std::uint32_t start_nsec = 0;
    std::vector<std::string> user_info, command_info, argv, env;
    std::optional<std::string> runas_user, runas_group;
};

// The value of `key` in a "key=value" list, or "".
std::string info_value(const std::vector<std::string>& list, std::string_view key);

// The legacy `log` file: "start:user:runas:runas_group:tty:lines:cols",
// the cwd and the command line, each on its own line.
std::string iolog_log_text(const iolog_info& i);
// The `log.json` file sudoreplay reads first.
std::string iolog_log_json(const iolog_info& i);

// sudo's timing event numbers.
enum class iolog_event : int { stdin_ = 0, stdout_ = 1, stderr_ = 2, ttyin = 3, ttyout = 4,
                               winsize = 5, suspend = 7 };
// The event number of a stream name ("ttyout"), or nullopt.
std::optional<iolog_event> stream_event(std::string_view stream);
// One timing line: "<event> <seconds>.<9 digits> <extra>\n".
std::string timing_line(iolog_event e, std::uint64_t delay_ns, std::string_view extra);

// One record of the sudo stream, as far as the gap checks need it.
struct extract_record {
    std::string type; // header, heartbeat, open, io, winsize, suspend, close, lost, ...
    std::uint64_t seq = 0;
    std::int64_t time_ns = 0;
    std::uint64_t first_seq = 0; // header
    std::string session;
    std::uint64_t sseq = 0;
    std::uint64_t elapsed_ns = 0;
    std::string stream;
    std::uint64_t offset = 0;
    std::uint64_t count = 0;
};

// A session being rebuilt.
struct extract_session {
    std::uint64_t next_sseq = 0;
    std::uint64_t last_elapsed = 0;
    std::array<std::uint64_t, 5> offsets{}; // by sudo_frames.h stream number
};

// Where the rebuild stands (saved between runs).
struct extract_state {
    std::string file_start; // "YYYYMMDDhhmmss" of the trail being read ("" before the first)
    std::uint64_t file_offset = 0;
    std::optional<std::uint64_t> next_seq; // of the next record
    std::int64_t last_time_ns = 0;
    std::map<std::string, extract_session> sessions; // open ones, by id
};

// The gaps `r` shows after `s` (a record sequence jump, a heartbeat
// missing for more than twice `heartbeat_s`, a session sequence jump, an
// offset that does not follow, a record of an unknown session). Pure.
std::vector<std::string> record_gaps(const extract_state& s, const extract_record& r,
                                     std::int64_t heartbeat_s);

// The stream number of a name (sudo_frames.h), or -1.
int stream_number(std::string_view stream);

// The state file's text and back (nullopt: not a state file of ours).
std::string state_text(const extract_state& s);
std::optional<extract_state> parse_state(std::string_view text);

} // namespace adist::daemon
