// The collector process's own image (see collector_process.hpp): the exec
// in the forked child, and the new image's start.
#include "daemon/collector_process.hpp"

#include "common/fd.hpp"
#include "common/log.hpp"
#include "daemon/preflight.hpp"
#include "daemon/run.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <charconv>
#include <cstdint>
#include <fcntl.h>
#include <iterator>
#include <signal.h>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>
#include <vector>

namespace adist::daemon {

namespace {

constexpr int control_fd = 3;
constexpr int sections_fd = 4;
constexpr int collector_listener_fd = 5;
constexpr int sudo_listener_fd = 6;
constexpr int status_fd = 7; // the collector's status socket
constexpr int last_fd = status_fd;
// The sections are a few hundred bytes; anything near this is not ours.
constexpr std::size_t max_sections = 64 * 1024;
// -d counts without a bound; past a few it changes nothing.
constexpr int max_debug = 100;

[[noreturn]] void fail(const std::string& what, int err) {
    log::error("cannot start the collector process: ", what, ": ", common::errno_text(err));
    ::_exit(EX_OSERR);
}

// A sealed memfd holding `text`, read from its start.
common::unique_fd sealed_text(const std::string& text) {
    common::unique_fd fd(::memfd_create("auditdistd-collector-sections",
                                        MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) fail("memfd_create", errno);
    for (std::size_t off = 0; off < text.size();) {
        ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("writing its sections", errno);
        off += static_cast<std::size_t>(n);
    }
    if (::lseek(fd.get(), 0, SEEK_SET) != 0 ||
        ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
        fail("sealing its sections", errno);
    return fd;
}

// The image's descriptor `fd` read whole (bounded), then closed.
std::optional<std::string> read_sections() {
    std::string text(max_sections + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(sections_fd, text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(sections_fd);
    if (got > max_sections) return std::nullopt;
    text.resize(got);
    return text;
}

struct image_arguments {
    std::string user, config_path;
    std::string status_socket; // "" when there is none (descriptor 7 closed)
    pid_t supervisor = 0;
    int debug = 0;
    bool syslog = false;
};

bool number(std::string_view s, long& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

std::optional<image_arguments> parse_arguments(int argc, char** argv) {
    image_arguments a;
    for (int i = 0; i < argc; ++i) {
        std::string_view k = argv[i];
        if (k == "--syslog") {
            a.syslog = true;
            continue;
        }
        if (i + 1 >= argc) return std::nullopt;
        std::string_view v = argv[++i];
        long n = 0;
        if (k == "--user") {
            a.user = v;
        } else if (k == "--config") {
            a.config_path = v;
        } else if (k == "--status-socket") {
            a.status_socket = v;
        } else if (k == "--supervisor" && number(v, n) && n >= 1 && n <= INT32_MAX) {
            a.supervisor = static_cast<pid_t>(n); // 1 in a container where we are PID 1
        } else if (k == "--debug" && number(v, n) && n >= 0 && n <= max_debug) {
            a.debug = static_cast<int>(n);
        } else {
            return std::nullopt;
        }
    }
    if (a.user.empty() || a.config_path.empty() || a.supervisor == 0) return std::nullopt;
    return a;
}

bool is_socket(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

} // namespace

void exec_collector_process(const daemon_options& o, const common::config& cfg, roles& r,
                            const privileged::worker_channels& channels) {
    // syslog's socket may be one of descriptors 3 to 7: let go of it (the
    // next message, if any, opens another).
    ::closelog();
    auto sections = sealed_text(common::collector_sections_text(cfg));
    // Each descriptor moved above the targets first, so that placing one
    // never closes another.
    const int from[] = {channels.control_fd, sections.get(), r.coll ? r.coll->listener() : -1,
                        r.sudo ? r.sudo->listener() : -1,
                        r.collector_control ? r.collector_control->listener() : -1};
    constexpr int count = last_fd - control_fd + 1;
    static_assert(std::size(from) == count);
    int high[count];
    for (int i = 0; i < count; ++i) {
        high[i] = from[i] < 0 ? -1 : ::fcntl(from[i], F_DUPFD_CLOEXEC, 16);
        if (from[i] >= 0 && high[i] < 0) fail("moving its descriptors", errno);
    }
    for (int i = 0; i < count; ++i) {
        if (high[i] < 0) {
            ::close(control_fd + i);
        } else if (::dup2(high[i], control_fd + i) < 0) { // not close-on-exec
            fail("placing its descriptors", errno);
        }
    }
    // Everything else of the daemon's (the worker's sockets, the pidfile,
    // the TLS key's context) stays behind.
    if (::close_range(last_fd + 1, ~0U, 0) != 0) fail("closing descriptors", errno);
    std::string supervisor = std::to_string(channels.supervisor);
    std::string debug = std::to_string(std::min(o.debug, max_debug));
    std::vector<const char*> argv = {"auditdistd", "collector-process",   "--user",
                                     o.user.c_str(), "--config",          o.config_path.c_str(),
                                     "--supervisor", supervisor.c_str(), "--debug",
                                     debug.c_str()};
    if (high[status_fd - control_fd] >= 0) {
        argv.push_back("--status-socket");
        argv.push_back(r.collector_control->path().c_str());
    }
    if (!o.foreground) argv.push_back("--syslog");
    argv.push_back(nullptr);
    ::unsetenv("NOTIFY_SOCKET"); // systemd hears the supervisor only
    // Gone with the supervisor from here on (kept across the exec; set
    // again after the privilege drop, which clears it).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != channels.supervisor)
        fail("its supervisor is gone", ESRCH);
    // /proc/self/exe: this very binary, even if a package upgrade replaced
    // the file since the start.
    ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
    fail("exec /proc/self/exe", errno);
}

namespace {

// The supervisor's sections, from descriptor 4, parsed as the file's own
// sections would be; nullopt (logged) when they cannot be read or parsed.
std::optional<common::config> own_sections(const std::string& config_path) {
    auto text = read_sections();
    if (!text) {
        log::error("the collector process cannot read its sections from its supervisor");
        return std::nullopt;
    }
    auto parsed = common::parse_config(*text, config_path + " (the collector's sections)",
                                       common::short_hostname());
    if (const auto* e = std::get_if<common::config_error>(&parsed)) {
        log::error("the collector process's sections do not parse: ", e->to_string());
        return std::nullopt;
    }
    return std::get<common::config>(std::move(parsed));
}

// Why this image must not run (not the supervisor's child, as it says), or
// nullptr.
const char* refusal(const std::optional<image_arguments>& args) {
    if (!args) return "bad arguments";
    if (::getppid() != args->supervisor) return "its parent is not the supervisor named";
    if (!is_socket(control_fd)) return "descriptor 3 is not its control channel";
    return nullptr;
}

} // namespace

int run_collector_process(int argc, char** argv) {
    ::prctl(PR_SET_NAME, "auditdistd"); // not "exe"
    // Where to say why it refuses: detached, stderr is /dev/null.
    bool syslog = std::any_of(argv, argv + argc,
                              [](const char* a) { return std::string_view(a) == "--syslog"; });
    log::init(syslog, 0);
    auto args = parse_arguments(argc, argv);
    if (const char* why = refusal(args)) {
        log::error("auditdistd collector-process is started by the daemon's supervisor only (",
                   why, ")");
        return EX_USAGE;
    }
    log::init(args->syslog, args->debug);
    auto own = own_sections(args->config_path);
    if (!own) return EX_SOFTWARE;
    auto& cfg = *own;
    daemon_options o;
    o.user = args->user;
    o.config_path = args->config_path;
    o.config_given = true;
    o.debug = args->debug;
    o.foreground = !args->syslog;
    o.control_socket = "none"; // the worker serves the hosts' status
    o.pidfile = "none";        // the supervisor holds it
    auto coll = resolve_collector_user(o, cfg, resolve_drop_user(o).ids);
    if (!coll.ids) {
        log::error(coll.problem ? coll.problem->message : "the collector process has no user");
        return coll.problem ? coll.problem->code : EX_NOUSER;
    }
    o.collector_uid = coll.ids->uid;
    boost::asio::io_context io(1);
    roles r;
    collector_listeners inherited{
        cfg.collector ? collector_listener_fd : -1, cfg.sudo ? sudo_listener_fd : -1,
        args->status_socket.empty() ? -1 : status_fd, args->status_socket};
    if (auto code = setup_roles(io, o, cfg, true, r, inherited)) return *code;
    privileged::worker_channels channels;
    channels.control_fd = control_fd;
    channels.supervisor = args->supervisor;
    channels.collector = true;
    std::optional<common::pidfile> pid;
    return run_unprivileged(io, o, cfg, r, channels, pid);
}

} // namespace adist::daemon
