// Status socket and client (see control.hpp). The request is one line,
// "status text" or "status json" (at most 64 bytes, within 2 s); the answer
// is the rendering, then the server closes.
#include "daemon/control.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>

#include "common/fd.hpp"
#include "common/log.hpp"

namespace adist::daemon {
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_request = 64;

// connect() to a Unix socket path: 0, or the errno.
int try_connect(const std::string& path, common::unique_fd* out = nullptr) {
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, path.size());
    common::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return errno;
    if (out != nullptr) *out = std::move(fd);
    return 0;
}
} // namespace

std::string control_socket_for(const std::string& pidfile) {
    if (pidfile.empty() || pidfile == "none") return "";
    std::string base = pidfile;
    if (base.size() > 4 && base.compare(base.size() - 4, 4, ".pid") == 0) base.resize(base.size() - 4);
    return base + ".sock";
}

control_server::control_server(asio::io_context& io, std::string path, collector collect)
    : io_(io), path_(std::move(path)), collect_(std::move(collect)), acceptor_(io) {}

bool control_server::listen(std::string* error) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            *error = "status socket " + path_ + " exists and is not a socket; not touching it";
            return false;
        }
        if (try_connect(path_) == 0) {
            *error = "status socket " + path_ + " is in use by a running auditdistd";
            return false;
        }
        ::unlink(path_.c_str()); // stale: left by a daemon that was killed
    }
    boost::system::error_code ec;
    mode_t old = ::umask(0177); // the socket is born 0600
    acceptor_.open(local(), ec);
    if (!ec) acceptor_.bind(local::endpoint(path_), ec);
    ::umask(old);
    if (!ec) acceptor_.listen(16, ec);
    if (!ec && ::chmod(path_.c_str(), 0600) != 0) ec.assign(errno, boost::system::system_category());
    if (ec) {
        *error = "cannot create status socket " + path_ + ": " + ec.message();
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
    deadline.async_wait([sock](boost::system::error_code ec) {
        if (!ec) sock->close(ec);
    });
    std::string request;
    char buf[max_request];
    while (request.find('\n') == std::string::npos && request.size() < max_request) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf, max_request - request.size()),
                                                       tuple_awaitable);
        if (ec) co_return;
        request.append(buf, n);
    }
    deadline.cancel();
    request = request.substr(0, request.find('\n'));
    ucred cred{};
    socklen_t len = sizeof(cred);
    std::string answer;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != 0) {
        log::warning("status socket: refused a client running as uid ", cred.uid);
        answer = "error: permission denied (root only)\n";
    } else if (request == "status json") {
        answer = common::render_status_json(collect_());
    } else if (request == "status text") {
        answer = common::render_status_text(collect_(), std::chrono::system_clock::now());
    } else {
        answer = "error: unknown request\n";
    }
    co_await asio::async_write(socket, asio::buffer(answer), tuple_awaitable);
}

int run_status_client(const std::vector<std::string>& candidates, bool json) {
    std::string path;
    for (const auto& c : candidates) {
        struct stat st {};
        if (!c.empty() && ::stat(c.c_str(), &st) == 0) {
            path = c;
            break;
        }
    }
    if (path.empty()) {
        std::cerr << "auditdistd: no status socket found (looked for";
        for (const auto& c : candidates) std::cerr << " " << c;
        std::cerr << "): is auditdistd running?\n";
        return EX_UNAVAILABLE;
    }
    common::unique_fd fd;
    if (int err = try_connect(path, &fd); err != 0) {
        std::cerr << "auditdistd: cannot connect to " << path << ": " << common::errno_text(err)
                  << (err == ECONNREFUSED ? " (is auditdistd running?)" : "")
                  << (err == EACCES ? " (the status socket is for root only)" : "") << "\n";
        return err == EACCES ? EX_NOPERM : EX_UNAVAILABLE;
    }
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string request = json ? "status json\n" : "status text\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        std::cerr << "auditdistd: cannot send to " << path << ": " << common::errno_text(errno) << "\n";
        return EX_UNAVAILABLE;
    }
    std::string answer;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            std::cerr << "auditdistd: no answer from " << path << ": " << common::errno_text(errno)
                      << "\n";
            return EX_UNAVAILABLE;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > 64 * 1024 * 1024) {
            std::cerr << "auditdistd: answer from " << path << " too large\n";
            return EX_PROTOCOL;
        }
    }
    if (answer.rfind("error: ", 0) == 0) {
        std::cerr << "auditdistd: " << answer.substr(7);
        return EX_NOPERM;
    }
    std::cout << answer;
    return 0;
}

} // namespace adist::daemon
