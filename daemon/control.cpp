// The status sockets, the server side (see control.hpp; the client is
// status_client.cpp). The request is one line, "status text" or "status
// json" (at most 64 bytes, within 2 s); the answer is the rendering, then
// the server closes.
#include "daemon/control.hpp"
#include "common/async.hpp"

#include "common/fd.hpp"
#include "common/inherited_listener.hpp"
#include "common/log.hpp"
#include "common/status_check.hpp"

#include <cerrno>
#include <chrono>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::daemon {
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {
using common::tuple_awaitable;
constexpr std::size_t max_request = 64;

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
                               std::optional<unsigned> status_gid, control_deadlines deadlines)
    : io_(io), path_(std::move(path)), respond_(std::move(respond)), acceptor_(io),
      status_gid_(status_gid), deadlines_(deadlines) {}

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
    if (auto problem = common::adopt_listener(acceptor_, fd)) {
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
    // The request line first, from anyone (at most 64 bytes in time), so
    // that a refusal reaches the client instead of a reset connection.
    asio::steady_timer deadline(io_, deadlines_.request);
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
    // The answer too, within its own time.
    deadline.expires_after(deadlines_.answer);
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

} // namespace adist::daemon
