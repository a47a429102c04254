// The least a synchronous acknowledgement costs on this machine
// (bench/run-sudo): two processes on a unix stream socket, one sends a
// frame of SIZE bytes and waits for a 1-byte reply, the other reads the
// frame whole and replies, ROUNDS times. Nothing is written or checked
// besides: what is left is the system calls and the two wake-ups, which
// the sudo plugin pays for every buffer (it returns only on the ack).
//
// usage: adist_ack_floor SIZE ROUNDS
// Prints: size, rounds, us_per_round_trip (mean) and p50_us, p99_us.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

bool read_whole(int fd, char* p, std::size_t n) {
    while (n > 0) {
        ssize_t got = ::recv(fd, p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= std::size_t(got);
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: adist_ack_floor SIZE ROUNDS\n");
        return 64;
    }
    std::size_t size = std::strtoul(argv[1], nullptr, 10);
    long rounds = std::strtol(argv[2], nullptr, 10);
    if (size < 1 || size > (1u << 20) || rounds < 1 || rounds > 10'000'000) {
        std::fprintf(stderr, "adist_ack_floor: SIZE 1..1048576, ROUNDS 1..10000000\n");
        return 64;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 1;
    std::vector<char> frame(size, 'x');
    pid_t child = ::fork();
    if (child < 0) return 1;
    if (child == 0) { // the acknowledging side
        ::close(sv[0]);
        for (long i = 0; i < rounds; ++i)
            if (!read_whole(sv[1], frame.data(), size) || ::send(sv[1], "a", 1, MSG_NOSIGNAL) != 1)
                ::_exit(1);
        ::_exit(0);
    }
    ::close(sv[1]);
    std::vector<double> us;
    us.reserve(std::size_t(rounds));
    auto start = clock_type::now();
    for (long i = 0; i < rounds; ++i) {
        auto t = clock_type::now();
        char ack = 0;
        if (::send(sv[0], frame.data(), size, MSG_NOSIGNAL) != ssize_t(size) || !read_whole(sv[0], &ack, 1))
            return 1;
        us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
    }
    double total = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
    int status = 0;
    ::waitpid(child, &status, 0);
    std::sort(us.begin(), us.end());
    std::printf("size %zu rounds %ld us_per_round_trip %.1f p50_us %.1f p99_us %.1f\n", size, rounds,
                total / double(rounds), us[us.size() / 2], us[std::size_t(double(us.size()) * 0.99)]);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
