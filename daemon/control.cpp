// Status socket and client (see control.hpp). The request is one line,
// "status text" or "status json" (at most 64 bytes, within 2 s); the answer
// is the rendering, then the server closes.
#include "daemon/control.hpp"

#include "collector/setup.hpp"
#include "collector/stream_status.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/status_check.hpp"
#include "daemon/status_merge.hpp"

#include <cerrno>
#include <chrono>
#include <iostream>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::daemon {
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_request = 64;
constexpr auto answer_write_deadline = 30s;

// connect() to a Unix socket path: 0, or the errno.
int try_connect(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, path.size());
    common::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return errno;
    return 0;
}
} // namespace

std::string control_socket_for(const std::string& pidfile) {
    if (pidfile.empty() || pidfile == "none") return "";
    std::string base = pidfile;
    if (base.size() > 4 && base.compare(base.size() - 4, 4, ".pid") == 0) base.resize(base.size() - 4);
    return base + ".sock";
}

std::string collector_socket_for(const std::string& status_socket) {
    if (status_socket.empty() || status_socket == "none") return status_socket;
    std::string base = status_socket;
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".sock") == 0)
        base.resize(base.size() - 5);
    return base + "-collector.sock";
}

control_server::control_server(asio::io_context& io, std::string path, responder respond,
                               std::optional<unsigned> status_gid)
    : io_(io), path_(std::move(path)), respond_(std::move(respond)), acceptor_(io),
      status_gid_(status_gid) {}

std::optional<std::string> clear_stale_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    if (!S_ISSOCK(st.st_mode))
        return "status socket " + path + " exists and is not a socket; not touching it";
    if (try_connect(path) == 0)
        return "status socket " + path + " is in use by a running auditdistd";
    ::unlink(path.c_str()); // stale: left by a daemon that was killed
    return std::nullopt;
}

bool control_server::listen(std::string* error) {
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
        *error = "status socket " + path_ + ": the path is too long (" +
                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes at most)";
        return false;
    }
    if (auto problem = clear_stale_socket(path_)) {
        *error = *problem;
        return false;
    }
    boost::system::error_code ec;
    mode_t old = ::umask(0177); // the socket is born 0600 (root's until chown)
    acceptor_.open(local(), ec);
    if (!ec) acceptor_.bind(local::endpoint(path_), ec);
    ::umask(old);
    if (!ec) acceptor_.listen(16, ec);
    // status_group: the group's members connect (0660); chown before chmod,
    // so the socket is never open to a group that is not the right one.
    if (!ec && status_gid_ && ::chown(path_.c_str(), 0, *status_gid_) != 0)
        ec.assign(errno, boost::system::system_category());
    if (!ec && ::chmod(path_.c_str(), status_gid_ ? 0660 : 0600) != 0)
        ec.assign(errno, boost::system::system_category());
    if (ec) {
        *error = "cannot create status socket " + path_ + ": " + ec.message();
        return false;
    }
    return true;
}

bool control_server::adopt(int fd, std::string* error) {
    if (auto problem = collector::adopt_listener(acceptor_, fd)) {
        *error = "status socket " + path_ + ": " + *problem;
        return false;
    }
    return true;
}

void control_server::start() {
    asio::co_spawn(io_, accept_loop(), asio::detached);
}

void control_server::stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    ::unlink(path_.c_str()); // fails after the privilege drop; a later start removes it
}

asio::awaitable<void> control_server::accept_loop() {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(tuple_awaitable);
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) break;
            log::error("status socket: accept failed: ", ec.message());
            asio::steady_timer t(io_, 200ms);
            co_await t.async_wait(tuple_awaitable);
            continue;
        }
        asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> control_server::serve(local::socket accepted) {
    // Shared with the deadline's handler, which may run after we returned.
    auto sock = std::make_shared<local::socket>(std::move(accepted));
    auto& socket = *sock;
    // The request line first, from anyone (at most 64 bytes within 2 s), so
    // that a refusal reaches the client instead of a reset connection.
    asio::steady_timer deadline(io_, 2s);
    auto close_when_due = [sock](boost::system::error_code ec) {
        if (!ec) sock->close(ec);
    };
    deadline.async_wait(close_when_due);
    std::string request;
    char buf[max_request];
    while (request.find('\n') == std::string::npos && request.size() < max_request) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf, max_request - request.size()),
                                                       tuple_awaitable);
        if (ec) co_return;
        request.append(buf, n);
    }
    // The answer too, within its own time: a client that never reads
    // cannot keep the coroutine and its socket.
    deadline.expires_after(answer_write_deadline);
    deadline.async_wait(close_when_due);
    request = request.substr(0, request.find('\n'));
    unsigned uid = 0;
    std::string answer = peer_allowed(socket.native_handle(), &uid)
                             ? respond_(request)
                             : std::string("error: permission denied (root") +
                                   (status_gid_ ? " and status_group" : "") + " only)\n";
    if (answer.rfind("error: permission denied", 0) == 0) {
        log::warning("status socket: refused a client running as uid ", uid);
    }
    co_await asio::async_write(socket, asio::buffer(answer), tuple_awaitable);
    deadline.cancel();
}

// SO_PEERCRED for the ids, SO_PEERGROUPS for the supplementary groups
// (Linux 4.13): a monitoring agent is often in the group only as a
// supplementary one.
bool control_server::peer_allowed(int fd, unsigned* uid) const {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    *uid = cred.uid;
    std::vector<unsigned> groups;
    if (status_gid_ && cred.uid != 0) {
        std::vector<gid_t> buf(256);
        socklen_t glen = static_cast<socklen_t>(buf.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf.data(), &glen) == 0) {
            buf.resize(glen / sizeof(gid_t));
            groups.assign(buf.begin(), buf.end());
        }
    }
    return common::may_read_status(cred.uid, cred.gid, groups, status_gid_);
}

// The `stalled` flag is the daemon's own judgement (default_max_lag); a
// check brings its own max lag.
std::string respond_hosts_status(const std::string& request,
                                 std::vector<common::host_status> hosts) {
    auto now = std::chrono::system_clock::now();
    common::mark_stalled(hosts, now, common::default_max_lag);
    if (request == "status json") return common::render_status_json(hosts);
    if (request == "status text") return common::render_status_text(hosts, now);
    if (request == "status prometheus") return common::render_status_prometheus(hosts);
    constexpr std::string_view check = "status check ";
    if (request.rfind(check, 0) == 0) {
        auto lag = common::parse_max_lag(request.substr(check.size()));
        if (!lag) return "error: bad max lag\n";
        auto r = common::decide_check(hosts, now, std::chrono::seconds(*lag));
        return "check " + std::to_string(static_cast<int>(r.code)) + " " + r.line + "\n";
    }
    return "error: unknown request\n";
}

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
