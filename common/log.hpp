// Logging: one line per event, to stderr in the foreground or to syslog in
// daemon mode; `-d` raises verbosity. Used by every role. Never log secrets.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <string_view>

namespace adist::log {

// alert: evidence that stored history differs from the source (syslog
// LOG_ALERT); always logged.
enum class level { alert = -1, error = 0, warning = 1, info = 2, debug = 3, trace = 4 };

// Configures the sink: `use_syslog` selects syslog(3) (ident "auditdistd"),
// otherwise stderr with a timestamp. `debug` is the number of -d flags.
void init(bool use_syslog, int debug);

bool enabled(level l);
void write(level l, std::string_view message);

// A peer-supplied string made safe for one log line: non-printable bytes as
// \xNN, cut after `max` bytes.
std::string printable(std::string_view s, std::size_t max = 64);

// What an exception says, for a log line: its what(), or "unknown
// exception" for one not derived from std::exception (never rethrows).
std::string exception_text(const std::exception_ptr& e);

template <typename... Args> std::string cat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}

template <typename... Args> void alert(const Args&... args) {
    write(level::alert, cat(args...));
}
template <typename... Args> void error(const Args&... args) {
    if (enabled(level::error)) write(level::error, cat(args...));
}
template <typename... Args> void warning(const Args&... args) {
    if (enabled(level::warning)) write(level::warning, cat(args...));
}
template <typename... Args> void info(const Args&... args) {
    if (enabled(level::info)) write(level::info, cat(args...));
}
template <typename... Args> void debug(const Args&... args) {
    if (enabled(level::debug)) write(level::debug, cat(args...));
}
template <typename... Args> void trace(const Args&... args) {
    if (enabled(level::trace)) write(level::trace, cat(args...));
}

} // namespace adist::log
