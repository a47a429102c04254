// The floor of the collector's benchmark (bench/run-collector): a server on
// a unix socket that makes the system calls a trusted record needs and
// nothing else, to show what this machine allows before any of our code
// runs. Per client, as collector/accept_batch.cpp does: accept4, the
// peer's credentials and pidfd (SO_PEERCRED, SO_PEERPIDFD), recv of the
// request, open/read/close of /proc/<pid>/stat, loginuid and sessionid, a
// stat of /proc/<pid>, poll of the pidfd, close of it, the reply, close.
// Per round of at most 256 clients: one write() of their lines (the raw
// requests) to FILE, then the replies; fdatasync every 100 records or
// every second on a thread of its own. No parsing, no encoding, no parent
// chain. THREADS (default 2, the cores of this machine) serve rounds at
// once, each accepting on the same socket: the collector reads a round's
// peers on two threads, so the floor may use both cores too.
// usage: adist_collect_floor SOCKET FILE [THREADS] (until SIGTERM or SIGINT)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace {

std::atomic<bool> stopping{false};
void on_signal(int) { stopping = true; }

constexpr int round_max = 256;
constexpr int sync_records = 100;

// One /proc file read whole into `buf` (what the trusted block reads).
void read_proc(const char* path, char* buf, std::size_t size) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::read(fd, buf, size);
    ::close(fd);
}

// fdatasync off the serving thread, one at a time, as background_sync does.
struct syncer {
    std::mutex m;
    std::condition_variable cv;
    bool due = false, done = false;
    int fd = -1;
    std::thread t{[this] {
        std::unique_lock<std::mutex> l(m);
        while (!done) {
            cv.wait(l, [this] { return due || done; });
            if (!due) continue;
            due = false;
            l.unlock();
            ::fdatasync(fd);
            l.lock();
        }
    }};
    std::uint64_t unsynced = 0;
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    // `n` records written: a sync at sync_records of them, or after a second.
    void count(std::size_t n) {
        std::lock_guard<std::mutex> l(m);
        unsynced += n;
        auto now = std::chrono::steady_clock::now();
        if (unsynced < sync_records && now - last < std::chrono::seconds(1)) return;
        unsynced = 0;
        last = now;
        due = true;
        cv.notify_one();
    }
    ~syncer() {
        {
            std::lock_guard<std::mutex> l(m);
            done = true;
            cv.notify_one();
        }
        t.join();
    }
};

// Rounds until stopping: accept what waits (at most round_max), each
// client's system calls, one write() of the round's lines, the replies.
void serve(int lfd, int out, syncer& sync) {
    std::vector<int> answered;
    std::string lines;
    char request[16384], proc[4096], path[64];
    while (!stopping) {
        pollfd p{lfd, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        answered.clear();
        lines.clear();
        for (int i = 0; i < round_max; ++i) {
            int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) break;
            ucred cred{};
            socklen_t len = sizeof cred;
            int pidfd = -1;
            socklen_t plen = sizeof pidfd;
            ::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len);
            ::getsockopt(c, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen);
            // The generator sends its request right after connect(); one
            // that is not there yet is waited for briefly (rare).
            pollfd rp{c, POLLIN, 0};
            ssize_t n = ::poll(&rp, 1, 100) == 1 ? ::recv(c, request, sizeof request, 0) : -1;
            if (n > 0) {
                std::snprintf(path, sizeof path, "/proc/%d/stat", cred.pid);
                read_proc(path, proc, sizeof proc);
                std::snprintf(path, sizeof path, "/proc/%d/loginuid", cred.pid);
                read_proc(path, proc, sizeof proc);
                std::snprintf(path, sizeof path, "/proc/%d/sessionid", cred.pid);
                read_proc(path, proc, sizeof proc);
                struct stat st {};
                std::snprintf(path, sizeof path, "/proc/%d", cred.pid);
                ::stat(path, &st);
                pollfd alive{pidfd, POLLIN, 0};
                ::poll(&alive, 1, 0);
                lines.append(request, std::size_t(n));
                lines += '\n';
                answered.push_back(c);
            } else {
                ::close(c);
            }
            if (pidfd >= 0) ::close(pidfd);
        }
        if (!lines.empty() && ::write(out, lines.data(), lines.size()) < 0) std::perror("write");
        sync.count(answered.size());
        for (int c : answered) {
            char w = 'W';
            (void)::send(c, &w, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            ::close(c);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: adist_collect_floor SOCKET FILE [THREADS]\n");
        return 64;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal; // no SA_RESTART: poll() returns
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    int out = ::open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    ::unlink(argv[1]);
    if (out < 0 || lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::chmod(argv[1], 0666) != 0 || ::listen(lfd, 4096) != 0) {
        std::perror("adist_collect_floor");
        return 1;
    }
    syncer sync;
    sync.fd = out;
    int threads = argc == 4 ? std::max(1, std::min(16, std::atoi(argv[3]))) : 2;
    std::vector<std::thread> servers;
    for (int i = 0; i < threads; ++i) servers.emplace_back(serve, lfd, out, std::ref(sync));
    for (auto& t : servers) t.join();
    ::unlink(argv[1]);
    return 0;
}
