// The collector's load generator (bench/run-collector): CLIENTS concurrent
// clients driven by one epoll thread (a thread per client would cost the
// two shared cores more than the collector itself). Each client connects,
// sends one command request (collector/request.hpp) and waits for the
// reply, as `auditdistd log` does; or, for the baseline, sends the same
// JSON as a syslog datagram to rsyslog's imuxsock socket (no reply exists
// there: its latency is the send).
//
// RATE 0: closed loop, each client sends again as soon as it is answered
// (the saturation throughput; latency is then queueing: CLIENTS / rate).
// RATE > 0: open loop, RATE records/s in all, client c's k-th request due
// at (k * CLIENTS + c) / RATE; latency counts from the due time, so a
// request sent late because the previous one was slow counts its wait.
//
// Prints one line: records, failed, seconds, rate, p50_us, p99_us, cpu_s
// (this generator's own CPU: a check that it is not the bottleneck).
#include "collector/request.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using ns = std::chrono::nanoseconds;

struct client_state {
    int fd = -1;
    std::uint64_t next = 0;    // index of its next request
    clock_type::time_point t0; // due (open loop) or send time of the request in flight
    bool busy = false;
};

struct load {
    bool syslog = false;
    sockaddr_un addr{};
    int clients = 0;
    double rate = 0;
    clock_type::time_point start, until;
    int ep = -1;
    std::vector<client_state> cs;
    std::vector<std::uint32_t> micros;
    unsigned failed = 0;
    int in_flight = 0;

    clock_type::time_point due(int c) const {
        if (rate <= 0) return start;
        double s = (double(cs[std::size_t(c)].next) * clients + c) / rate;
        return start + std::chrono::duration_cast<ns>(std::chrono::duration<double>(s));
    }

    std::string payload(int c) const {
        std::string command = "bench-" + std::to_string(c) + "-" +
                              std::to_string(cs[std::size_t(c)].next) + " ls -l /var/tmp";
        if (syslog) return "<86>bench: {\"command\":\"" + command + "\",\"pwd\":\"/home/bench\"}";
        adist::collector::claimed_info ci;
        ci.command = command;
        ci.pwd = "/home/bench";
        return adist::collector::encode_request(ci);
    }

    void done(int c, bool ok, clock_type::time_point now) {
        auto& s = cs[std::size_t(c)];
        if (ok)
            micros.push_back(std::uint32_t(
                std::chrono::duration_cast<std::chrono::microseconds>(now - s.t0).count()));
        else
            ++failed;
        s.busy = false;
        ++s.next;
        if (!syslog && s.fd >= 0) {
            ::close(s.fd); // also leaves the epoll set
            s.fd = -1;
            --in_flight;
        }
    }

    // Starts client c's request; false when the socket's backlog is full
    // (tried again on the next round, its latency still running).
    bool send_one(int c, clock_type::time_point now) {
        auto& s = cs[std::size_t(c)];
        s.t0 = rate > 0 ? due(c) : now;
        std::string p = payload(c);
        if (syslog) {
            ssize_t n = ::send(s.fd, p.data(), p.size(), MSG_DONTWAIT);
            if (n < 0 && errno == EAGAIN) return false;
            done(c, n == ssize_t(p.size()), clock_type::now());
            return true;
        }
        s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            int err = errno;
            if (s.fd >= 0) ::close(s.fd);
            s.fd = -1;
            if (err == EAGAIN) return false;
            ++failed;
            ++s.next;
            return true;
        }
        ++in_flight;
        s.busy = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = std::uint32_t(c);
        if (::send(s.fd, p.data(), p.size(), MSG_NOSIGNAL) != ssize_t(p.size()) ||
            ::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev) != 0)
            done(c, false, now);
        return true;
    }

    void reply(int c) {
        char r = 0;
        bool ok = ::recv(cs[std::size_t(c)].fd, &r, 1, 0) == 1 &&
                  r == char(adist::collector::reply::written);
        done(c, ok, clock_type::now());
    }

    // Sends what is due; returns when the next request is due.
    clock_type::time_point send_due(clock_type::time_point now) {
        auto next = until;
        for (int c = 0; c < clients; ++c) {
            if (cs[std::size_t(c)].busy) continue;
            for (int burst = 0; burst < 64 && now < until; ++burst) {
                auto d = due(c);
                if (d > now) {
                    next = std::min(next, d);
                    break;
                }
                if (!send_one(c, now)) {
                    next = now + std::chrono::microseconds(200);
                    break;
                }
                if (cs[std::size_t(c)].busy) break;
            }
        }
        return next;
    }

    void run() {
        ep = ::epoll_create1(EPOLL_CLOEXEC);
        epoll_event events[256];
        auto now = clock_type::now();
        // Bounded: sending stops at `until`, answers are awaited 10 s more.
        while (now < until + std::chrono::seconds(10) && (now < until || in_flight > 0)) {
            auto next = now < until ? send_due(now) : until + std::chrono::seconds(10);
            auto wait = std::max<ns>(ns(0), std::min<ns>(next - now, std::chrono::milliseconds(50)));
            timespec ts{0, long(wait.count())};
            int n = ::epoll_pwait2(ep, events, 256, &ts, nullptr);
            now = clock_type::now();
            for (int i = 0; i < n; ++i)
                reply(int(events[i].data.u32));
        }
    }
};

int connect_dgram(const sockaddr_un& a) {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr,
                     "usage: adist_collect_load collector|syslog SOCKET CLIENTS SECONDS RATE\n");
        return 64;
    }
    load l;
    l.syslog = std::strcmp(argv[1], "syslog") == 0;
    l.addr.sun_family = AF_UNIX;
    std::strncpy(l.addr.sun_path, argv[2], sizeof l.addr.sun_path - 1);
    l.clients = std::clamp(std::atoi(argv[3]), 1, 20000);
    double seconds = std::clamp(std::atof(argv[4]), 0.1, 600.0);
    l.rate = std::max(0.0, std::atof(argv[5]));
    l.cs.resize(std::size_t(l.clients));
    if (l.syslog)
        for (auto& s : l.cs)
            if ((s.fd = connect_dgram(l.addr)) < 0) return 69;
    l.start = clock_type::now();
    l.until = l.start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(seconds));
    l.run();
    double elapsed = std::chrono::duration<double>(clock_type::now() - l.start).count();
    auto& all = l.micros;
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
        return all.empty() ? 0u : all[std::size_t(p * double(all.size() - 1))];
    };
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::printf("records %zu failed %u seconds %.3f rate %.0f p50_us %u p99_us %u cpu_s %.2f\n",
                all.size(), l.failed, elapsed, double(all.size()) / elapsed, pct(0.50), pct(0.99),
                cpu);
    return 0;
}
