// Log sink (see log.hpp). Single-threaded daemon, so no locking beyond what
// stdio and syslog do themselves.
#include "common/log.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace adist::log {
namespace {

bool use_syslog_ = false;
bool to_journal_ = false;
int verbosity_ = static_cast<int>(level::info);

// systemd connects a service's stderr to the journal and says so in
// JOURNAL_STREAM ("device:inode" of that stream). Only then do lines carry
// the sd-daemon "<N>" priority prefix (the journal adds time and pid); on a
// terminal or in a file they stay plain.
bool stderr_is_journal() {
    const char* v = std::getenv("JOURNAL_STREAM");
    if (v == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(v, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    return ::fstat(STDERR_FILENO, &st) == 0 && static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

const char* label(level l) {
    switch (l) {
    case level::alert:
        return "alert";
    case level::error:
        return "error";
    case level::warning:
        return "warning";
    case level::info:
        return "info";
    case level::debug:
        return "debug";
    case level::trace:
        return "trace";
    }
    return "?";
}

int priority(level l) {
    switch (l) {
    case level::alert:
        return LOG_ALERT;
    case level::error:
        return LOG_ERR;
    case level::warning:
        return LOG_WARNING;
    case level::info:
        return LOG_INFO;
    default:
        return LOG_DEBUG;
    }
}

} // namespace

void init(bool use_syslog, int debug) {
    use_syslog_ = use_syslog;
    to_journal_ = !use_syslog && stderr_is_journal();
    verbosity_ = static_cast<int>(level::info) + debug;
    if (use_syslog_) openlog("auditdistd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

std::string printable(std::string_view s, std::size_t max) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (s.size() > max) out += "...";
    return out;
}

std::string exception_text(const std::exception_ptr& e) {
    if (!e) return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown exception";
    }
}

bool enabled(level l) {
    return static_cast<int>(l) <= verbosity_;
}

void write(level l, std::string_view message) {
    if (use_syslog_) {
        syslog(priority(l), "%.*s", static_cast<int>(message.size()), message.data());
        return;
    }
    if (to_journal_) {
        std::fprintf(stderr, "<%d>%s: %.*s\n", priority(l), label(l),
                     static_cast<int>(message.size()), message.data());
        return;
    }
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::fprintf(stderr, "%s.%03dZ auditdistd[%d] %s: %.*s\n", stamp, static_cast<int>(ms.count()),
                 static_cast<int>(getpid()), label(l), static_cast<int>(message.size()),
                 message.data());
}

} // namespace adist::log
