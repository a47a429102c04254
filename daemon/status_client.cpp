// `auditdistd status`, the client (see control.hpp): asks the worker's
// status socket and, when the daemon runs a collector, the collector
// process's, each within one deadline and a size bound; the collector's
// answer is decoded strictly and rendered here (status_merge.hpp).
#include "daemon/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>

#include "collector/stream_status.hpp"
#include "common/fd.hpp"
#include "common/status_check.hpp"
#include "daemon/status_merge.hpp"

namespace adist::daemon {

namespace {

// The worker's answer may list thousands of hosts; the collector's is two
// streams (a few KiB at most), and anything larger is not its own.
constexpr std::size_t max_hosts_answer = 64 * 1024 * 1024;
constexpr std::size_t max_collector_answer = 1024 * 1024;
// For the whole of `status`: both sockets, connect, request and answer
// (check_nrpe's own timeout is 10 s).
constexpr auto answer_deadline = std::chrono::seconds(5);
using deadline_type = std::chrono::steady_clock::time_point;

// The first of `candidates` that exists, "" when none does.
std::string first_existing(const std::vector<std::string>& candidates) {
    for (const auto& c : candidates) {
        struct stat st {};
        if (!c.empty() && ::stat(c.c_str(), &st) == 0) return c;
    }
    return "";
}

// Sends `request` to the socket at `path` and reads the whole answer, at
// most `max_bytes` before `deadline` (a daemon that answers a byte at a
// time, or never accepts, cannot hold the client). 0, or a sysexits code
// with `error` saying why.
int ask_socket(const std::string& path, const std::string& request, std::size_t max_bytes,
               deadline_type deadline, std::string& answer, std::string& error) {
    common::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        error = "socket: " + common::errno_text(errno);
        return EX_OSERR;
    }
    // connect() to a Unix socket whose backlog is full waits: bounded too.
    auto left_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       deadline - std::chrono::steady_clock::now())
                       .count();
    left_us = std::max<long long>(left_us, 1000);
    timeval tv{static_cast<time_t>(left_us / 1000000), static_cast<suseconds_t>(left_us % 1000000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    int err = path.size() < sizeof(addr.sun_path) ? 0 : ENAMETOOLONG;
    if (err == 0) {
        path.copy(addr.sun_path, path.size());
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) err = errno;
    }
    if (err != 0) {
        error = "cannot connect to " + path + ": " + common::errno_text(err) +
                (err == ECONNREFUSED ? " (is auditdistd running?)" : "") +
                (err == EACCES ? " (the status socket is for root, or status_group, only)" : "");
        return err == EACCES ? EX_NOPERM : EX_UNAVAILABLE;
    }
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        error = "cannot send to " + path + ": " + common::errno_text(errno);
        return EX_UNAVAILABLE;
    }
    char buf[16384];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd.get(), POLLIN, 0};
        int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            error = "no answer from " + path + " in time (" +
                    std::to_string(answer_deadline.count()) + " s for the whole status)";
            return EX_UNAVAILABLE;
        }
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            error = "no answer from " + path + ": " + common::errno_text(errno);
            return EX_UNAVAILABLE;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > max_bytes) {
            error = "answer from " + path + " too large";
            return EX_PROTOCOL;
        }
    }
    if (answer.rfind("error: ", 0) == 0) {
        auto end = answer.find('\n');
        error = answer.substr(7, end == std::string::npos ? std::string::npos : end - 7);
        return EX_NOPERM;
    }
    return 0;
}

// ask_socket() of the first socket of `candidates` that exists (`path`).
int ask(const std::vector<std::string>& candidates, const std::string& request,
        deadline_type deadline, std::string& answer, std::string& error, std::string& path) {
    path = first_existing(candidates);
    if (path.empty()) {
        error = "no status socket found (looked for";
        for (const auto& c : candidates)
            error += " " + c;
        error += "): is auditdistd running?";
        return EX_UNAVAILABLE;
    }
    return ask_socket(path, request, max_hosts_answer, deadline, answer, error);
}

// What the collector process said, from its socket next to the worker's.
struct collector_answer {
    bool present = false; // its socket is there: the daemon runs a collector
    std::optional<std::vector<collector::stream_status>> streams; // its answer, checked
    std::string error;                                            // why there is none
    int code = 0;                                                 // and the sysexits code for it
};

// The daemon removes a collector socket left behind when it starts without
// a collector (run.cpp), so one that is there belongs to a collector that
// must answer; its answer is untrusted, checked field by field.
collector_answer ask_collector(const std::string& status_socket, deadline_type deadline) {
    collector_answer a;
    std::string path = collector_socket_for(status_socket);
    struct stat st {};
    if (path.empty() || path == "none" || ::lstat(path.c_str(), &st) != 0) return a;
    a.present = true;
    std::string answer;
    a.code = ask_socket(path, "status json\n", max_collector_answer, deadline, answer, a.error);
    if (a.code != 0) return a;
    a.streams = collector::parse_collector_json(answer);
    if (!a.streams) {
        a.error = "unexpected answer from " + path;
        a.code = EX_PROTOCOL;
    }
    return a;
}

// "check 2 AUDITDISTD CRITICAL - ...\n" -> prints the line, returns 2.
// Anything else is UNKNOWN (3): a check must never pass by accident.
int print_check(const std::string& answer) {
    auto parsed = parse_check_answer(answer);
    if (!parsed) {
        std::cout << "AUDITDISTD UNKNOWN - unexpected answer from the daemon\n";
        return static_cast<int>(common::check_code::unknown);
    }
    std::cout << printable_text(answer.substr(8));
    return static_cast<int>(parsed->code);
}

std::string check_answer_line(const common::check_result& r) {
    return "check " + std::to_string(static_cast<int>(r.code)) + " " + r.line + "\n";
}

} // namespace

int run_status_client(const std::vector<std::string>& candidates, status_format format,
                      long max_lag_seconds) {
    std::string request = format == status_format::json         ? "status json\n"
                          : format == status_format::prometheus ? "status prometheus\n"
                          : format == status_format::check
                              ? "status check " + std::to_string(max_lag_seconds) + "\n"
                              : "status text\n";
    auto deadline = std::chrono::steady_clock::now() + answer_deadline;
    std::string answer, error, path;
    int code = ask(candidates, request, deadline, answer, error, path);
    if (code != 0) {
        if (format == status_format::check) {
            std::cout << "AUDITDISTD UNKNOWN - " << printable_text(error) << "\n";
            return static_cast<int>(common::check_code::unknown);
        }
        std::cerr << "auditdistd: " << printable_text(error) << "\n";
        return code;
    }
    auto now = std::chrono::system_clock::now();
    auto coll = ask_collector(path, deadline);
    if (format == status_format::check) {
        if (!coll.present) return print_check(answer);
        std::string verdict = coll.streams
                                  ? check_answer_line(collector::decide_collector_check(
                                        *coll.streams, now, std::chrono::seconds(max_lag_seconds)))
                                  : "check 3 AUDITDISTD UNKNOWN - collector: " + coll.error + "\n";
        return print_check(combine_check_answers(answer, verdict));
    }
    if (format == status_format::json && coll.present) {
        auto merged = merge_collector_json(answer, coll.streams, coll.error);
        if (!merged) {
            std::cerr << "auditdistd: unexpected answer from " << path << "\n";
            return EX_PROTOCOL;
        }
        answer = *merged;
    } else if (coll.streams) {
        answer += format == status_format::prometheus
                      ? collector::render_collector_prometheus(*coll.streams)
                      : collector::render_collector_text(*coll.streams, now);
    }
    std::cout << (format == status_format::text ? printable_text(answer) : answer);
    if (coll.present && !coll.streams) {
        std::cerr << "auditdistd: the collector's status: " << printable_text(coll.error) << "\n";
        return coll.code;
    }
    return 0;
}

} // namespace adist::daemon
