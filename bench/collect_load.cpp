// The collector's load generator (bench/run-collector): N concurrent
// clients, each a thread that connects, sends one command request
// (collector/request.hpp) and waits for the reply, as `auditdistd log`
// does; or, for the baseline, sends the same JSON as a syslog datagram to
// rsyslog's imuxsock socket (no reply exists there). Prints one line:
// records, seconds, records/s, p50 and p99 latency in microseconds.
#include "collector/request.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

int connect_to(const std::string& path, int type) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
}

// One collector request; true when the reply says "written".
bool one_request(const std::string& path, const std::string& request) {
    int fd = connect_to(path, SOCK_STREAM);
    if (fd < 0) return false;
    bool ok = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size());
    char r = 0;
    ok = ok && ::recv(fd, &r, 1, 0) == 1 && r == char(adist::collector::reply::written);
    ::close(fd);
    return ok;
}

struct result {
    std::vector<std::uint32_t> micros;
    unsigned failed = 0;
};

void client(int id, bool syslog, const std::string& path, clock_type::time_point until,
            unsigned max_records, result& out) {
    int dgram = syslog ? connect_to(path, SOCK_DGRAM) : -1;
    for (unsigned n = 0; n < max_records && clock_type::now() < until; ++n) {
        adist::collector::claimed_info c;
        c.command = "bench-" + std::to_string(id) + "-" + std::to_string(n) + " ls -l /var/tmp";
        c.pwd = "/home/bench";
        auto t0 = clock_type::now();
        bool ok = false;
        if (syslog) {
            std::string msg =
                "<86>bench: {\"command\":\"" + c.command + "\",\"pwd\":\"/home/bench\"}";
            ok = dgram >= 0 && ::send(dgram, msg.data(), msg.size(), 0) == ssize_t(msg.size());
        } else {
            ok = one_request(path, adist::collector::encode_request(c));
        }
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0);
        if (ok)
            out.micros.push_back(std::uint32_t(us.count()));
        else
            ++out.failed;
    }
    if (dgram >= 0) ::close(dgram);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(
            stderr,
            "usage: adist_collect_load collector|syslog SOCKET CLIENTS SECONDS MAX_PER_CLIENT\n");
        return 64;
    }
    bool syslog = std::strcmp(argv[1], "syslog") == 0;
    std::string path = argv[2];
    int clients = std::max(1, std::atoi(argv[3]));
    double seconds = std::atof(argv[4]);
    unsigned max_records = unsigned(std::max(1, std::atoi(argv[5])));
    std::vector<result> results(std::size_t(clients), result{});
    std::vector<std::thread> threads;
    auto start = clock_type::now();
    auto until = start + std::chrono::duration_cast<clock_type::duration>(
                             std::chrono::duration<double>(seconds));
    for (int i = 0; i < clients; ++i)
        threads.emplace_back(client, i, syslog, std::cref(path), until, max_records,
                             std::ref(results[std::size_t(i)]));
    for (auto& t : threads)
        t.join();
    double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    std::vector<std::uint32_t> all;
    unsigned failed = 0;
    for (auto& r : results) {
        all.insert(all.end(), r.micros.begin(), r.micros.end());
        failed += r.failed;
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
        return all.empty() ? 0u : all[std::size_t(p * double(all.size() - 1))];
    };
    std::printf("records %zu failed %u seconds %.3f rate %.0f p50_us %u p99_us %u\n", all.size(),
                failed, elapsed, double(all.size()) / elapsed, pct(0.50), pct(0.99));
    return 0;
}
