// The `auditdistd log` client (log_client.hpp): argument parsing by hand
// (fast, and TEXT may look like options after "--"), one non-blocking unix
// socket with a single 200 ms budget for connect, send and reply.
#include "daemon/log_client.hpp"

#include "collector/request.hpp"
#include "common/config_collector.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::daemon {
namespace {

using clock = std::chrono::steady_clock;
constexpr auto budget = std::chrono::milliseconds(200);

struct log_args {
    std::string socket{common::default_collector_socket};
    bool verbose = false;
    std::string text;
    bool has_text = false;
};

int usage() {
    std::fputs("usage: auditdistd log [-v] [-s socket] [--] TEXT...\n", stderr);
    return EX_USAGE;
}

bool parse(int argc, char** argv, log_args& a) {
    int i = 0;
    for (; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg == "-v") {
            a.verbose = true;
        } else if (arg == "-s" && i + 1 < argc) {
            a.socket = argv[++i];
        } else if (arg.size() > 2 && arg.starts_with("-s")) {
            a.socket = std::string(arg.substr(2));
        } else if (arg.starts_with("-") && arg.size() > 1) {
            return false;
        } else {
            break;
        }
    }
    for (; i < argc; ++i) {
        if (a.has_text) a.text += ' ';
        a.text += argv[i];
        a.has_text = true;
    }
    return a.has_text;
}

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
}

// Milliseconds left of the budget (0 when spent).
int left(clock::time_point deadline) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return ms > 0 ? int(ms) : 0;
}

bool wait_for(int fd, short events, clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int ms = left(deadline);
        if (ms == 0) return false;
        int r = ::poll(&p, 1, ms);
        if (r > 0) return true;
        if (r < 0 && errno == EINTR) continue;
        return false;
    }
}

// The reply byte, or an error text.
std::string send_request(const std::string& path, const std::string& request,
                         clock::time_point deadline, char* reply) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return "socket path too long";
    std::memcpy(addr.sun_path, path.data(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } c{fd};
    // A full listen queue (EAGAIN: someone floods the collector with
    // connections) is tried again every 2 ms until the budget ends.
    while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) {
            if (!wait_for(fd, POLLOUT, deadline)) return "connect " + path + ": timed out";
            break;
        }
        if (errno != EAGAIN) return "connect " + path + ": " + std::strerror(errno);
        int ms = left(deadline);
        if (ms == 0) return "connect " + path + ": its queue stayed full for 200 ms";
        ::poll(nullptr, 0, std::min(ms, 2));
    }
    std::size_t sent = 0;
    while (sent < request.size()) {
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += std::size_t(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return std::string("send: ") + std::strerror(errno);
        if (!wait_for(fd, POLLOUT, deadline)) return "send: timed out";
    }
    for (;;) {
        ssize_t n = ::recv(fd, reply, 1, 0);
        if (n == 1) return {};
        if (n == 0) return "the collector closed the connection";
        if (errno != EAGAIN && errno != EINTR) return std::string("recv: ") + std::strerror(errno);
        if (!wait_for(fd, POLLIN, deadline)) return "no reply within 200 ms";
    }
}

} // namespace

int run_log_client(int argc, char** argv) {
    auto deadline = clock::now() + budget;
    log_args a;
    if (!parse(argc, argv, a)) return usage();
    collector::claimed_info c;
    c.command = a.text;
    c.ssh_tty = env("SSH_TTY");
    c.ssh_connection = env("SSH_CONNECTION");
    c.pwd = env("PWD");
    char reply = 0;
    std::string error = send_request(a.socket, collector::encode_request(c), deadline, &reply);
    if (error.empty() && reply != char(collector::reply::written))
        error = reply == char(collector::reply::suppressed) ? "suppressed: over the rate limit"
                                                            : "the collector could not write it";
    if (error.empty() || !a.verbose) return 0;
    std::fprintf(stderr, "auditdistd log: %s\n", error.c_str());
    return EX_TEMPFAIL;
}

} // namespace adist::daemon
