// The sudo I/O plugin's own code, built as this build builds everything:
// in the sanitized build with ASan and UBSan, which sudo itself cannot
// load (it is setuid and not built with them). Its entry points are called
// as sudo calls them, against a collector stand-in that decodes every frame
// with the collector's decoder and checks it with the session decider, and
// acknowledges it; then against a collector that goes away mid-session.
// Needs root (the plugin accepts only a listener owned by root); skips
// (77) otherwise.
#include "collector/sudo_frame.hpp"
#include "collector/sudo_session.hpp"
#include "sudo/sudo_frames.h"

extern "C" {
#include <sudo_plugin.h>
extern struct io_plugin sudo_auditdistd;
}

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace adist::collector;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what.c_str());
        ++failures;
    }
}

int quiet_printf(int, const char*, ...) { return 0; }

bool read_all(int fd, char* p, std::size_t n) {
    while (n > 0) {
        ssize_t got = ::recv(fd, p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= std::size_t(got);
    }
    return true;
}

// What the stand-in saw: every frame decoded, and the first refusal.
struct seen {
    std::vector<sudo_frame> frames;
    std::string refused;
};

// Serves one connection on `listener`: decodes, steps the session decider,
// acknowledges; after `ack_limit` frames it closes without acknowledging.
void serve(int listener, seen* out, std::size_t ack_limit) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    sudo_session session("test", sudo_peer{::getpid(), 0});
    for (std::size_t n = 0; n < 10000; ++n) {
        std::string header(ADIST_SUDO_HEADER_SIZE, '\0');
        if (!read_all(fd, header.data(), header.size())) break;
        auto h = decode_sudo_header(header);
        if (auto* why = std::get_if<std::string>(&h)) {
            out->refused = *why;
            break;
        }
        std::string payload(std::get<sudo_frame_header>(h).length, '\0');
        if (!read_all(fd, payload.data(), payload.size())) break;
        auto f = decode_sudo_payload(std::get<sudo_frame_header>(h), payload);
        if (auto* why = std::get_if<std::string>(&f)) {
            out->refused = *why;
            break;
        }
        auto step = session.step(std::get<sudo_frame>(f), record_base{n, 0, "test", "boot"});
        if (!step.error.empty()) {
            out->refused = step.error;
            break;
        }
        out->frames.push_back(std::get<sudo_frame>(f));
        if (out->frames.size() > ack_limit) break; // gone before its ack
        char ack = ADIST_SUDO_ACK_WRITTEN;
        if (::send(fd, &ack, 1, MSG_NOSIGNAL) != 1) break;
        if (std::holds_alternative<sudo_close>(out->frames.back().body)) break;
    }
    ::close(fd);
}

int listen_on(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ::unlink(path.c_str());
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4) != 0) {
        std::perror("listen");
        std::exit(1);
    }
    return fd;
}

int open_session(const std::string& socket_option) {
    char* user_info[] = {const_cast<char*>("user=alice"), const_cast<char*>("uid=1000"),
                         const_cast<char*>("tty=/dev/pts/9"), nullptr};
    char* command_info[] = {const_cast<char*>("command=/usr/bin/cat"),
                            const_cast<char*>("runas_uid=0"), const_cast<char*>("runas_gid=0"),
                            nullptr};
    char* argv[] = {const_cast<char*>("cat"), const_cast<char*>("-n"), nullptr};
    char* env[] = {const_cast<char*>("TERM=xterm"), nullptr};
    char* settings[] = {nullptr};
    std::string option = "socket=" + socket_option;
    char* options[] = {option.data(), const_cast<char*>("timeout=5"), nullptr};
    const char* errstr = nullptr;
    return sudo_auditdistd.open(SUDO_API_VERSION, nullptr, quiet_printf, settings, user_info,
                                command_info, 2, argv, env, options, &errstr);
}

// A whole session: every entry point, data larger than one frame.
void whole_session(const std::string& path) {
    int listener = listen_on(path);
    seen s;
    std::thread server(serve, listener, &s, std::size_t(-1));
    if (open_session(path) != 1) {
        check(false, "open accepted");
        ::shutdown(listener, SHUT_RDWR); // the server's accept() returns
        server.join();
        ::close(listener);
        return;
    }
    std::string big(3 * ADIST_SUDO_MAX_DATA + 17, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
    const char* errstr = nullptr;
    check(sudo_auditdistd.log_ttyout("hello\r\n", 7, &errstr) == 1, "ttyout");
    check(sudo_auditdistd.log_ttyout(big.data(), unsigned(big.size()), &errstr) == 1, "big ttyout");
    check(sudo_auditdistd.log_ttyin("q", 1, &errstr) == 1, "ttyin");
    check(sudo_auditdistd.log_stdin("in", 2, &errstr) == 1, "stdin");
    check(sudo_auditdistd.log_stdout("out", 3, &errstr) == 1, "stdout");
    check(sudo_auditdistd.log_stderr("err", 3, &errstr) == 1, "stderr");
    check(sudo_auditdistd.change_winsize(33, 111, &errstr) == 1, "winsize");
    check(sudo_auditdistd.log_suspend(20, &errstr) == 1, "suspend");
    sudo_auditdistd.close(7, 0);
    server.join();
    ::close(listener);
    check(s.refused.empty(), "every frame accepted by the decoder and the decider: " + s.refused);
    std::string ttyout;
    int winsizes = 0, suspends = 0, closes = 0, opens = 0;
    for (const auto& f : s.frames) {
        if (const auto* o = std::get_if<sudo_open>(&f.body)) {
            ++opens;
            check(o->argv == std::vector<std::string>{"cat", "-n"}, "argv");
            check(o->runas_user == std::string("root"), "runas user looked up");
        } else if (const auto* d = std::get_if<sudo_data>(&f.body); d && d->stream == ADIST_SUDO_TTYOUT) {
            ttyout += d->bytes;
        } else if (const auto* w = std::get_if<sudo_winsize>(&f.body)) {
            winsizes += w->lines == 33 && w->cols == 111;
        } else if (const auto* p = std::get_if<sudo_suspend>(&f.body)) {
            suspends += p->signal == 20;
        } else if (const auto* c = std::get_if<sudo_close>(&f.body)) {
            closes += c->exit_status == 7;
        }
    }
    check(opens == 1 && winsizes == 1 && suspends == 1 && closes == 1, "open, winsize, suspend, close once each");
    check(ttyout == "hello\r\n" + big, "ttyout bytes, in order, split into frames and whole again");
    check(s.frames.size() == 1 + 1 + 4 + 4 + 1 + 1 + 1, "frame count: " + std::to_string(s.frames.size()));
}

// The collector goes away after the open and one buffer: the next buffer
// fails (sudo then ends the command), and so does everything after it.
void collector_gone(const std::string& path) {
    int listener = listen_on(path);
    seen s;
    std::thread server(serve, listener, &s, std::size_t(2));
    if (open_session(path) != 1) {
        check(false, "open accepted (collector up)");
        ::shutdown(listener, SHUT_RDWR);
        server.join();
        ::close(listener);
        return;
    }
    const char* errstr = nullptr;
    check(sudo_auditdistd.log_ttyout("one", 3, &errstr) == 1, "first buffer acknowledged");
    check(sudo_auditdistd.log_ttyout("two", 3, &errstr) == -1, "no acknowledgement: the buffer is refused");
    check(sudo_auditdistd.log_ttyout("three", 5, &errstr) == -1, "and the session stays ended");
    sudo_auditdistd.close(0, 0);
    server.join();
    ::close(listener);
    check(s.refused.empty(), "the frames before the collector went were accepted: " + s.refused);
    check(s.frames.size() == 3, "open, the first buffer, and the unacknowledged one arrived");
    // No collector at all: the command is refused at open.
    check(open_session(path + ".none") == -1, "no collector: sudo refuses the command");
}

} // namespace

int main() {
    if (::geteuid() != 0) {
        std::puts("SKIP: the plugin accepts only a collector socket owned by root");
        return 77;
    }
    char dir[] = "/tmp/adist-plugin-test.XXXXXX";
    if (!::mkdtemp(dir)) return 1;
    std::string path = std::string(dir) + "/sudo.sock";
    whole_session(path);
    collector_gone(path);
    // A session after an ended one starts afresh (offsets, the ended flag).
    whole_session(path);
    ::unlink(path.c_str());
    ::rmdir(dir);
    if (failures == 0) std::puts("plugin test: all checks passed");
    return failures == 0 ? 0 : 1;
}
