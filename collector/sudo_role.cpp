// The collector's sudo socket (sudo_role.hpp): one coroutine per sudo
// session reads frames, writes their records and acknowledges each after
// write(); the tick syncs, checks the file and writes heartbeats. Runs on
// the worker's io_context thread.
#include "collector/sudo_role.hpp"
#include "common/async.hpp"

#include "collector/setup.hpp"
#include "common/fd.hpp"
#include "common/inherited_listener.hpp"
#include "common/log.hpp"
#include "sudo/sudo_frames.h"

#include <filesystem>
#include <random>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::collector {

using namespace std::chrono_literals;
namespace {
using common::tuple_awaitable;
// Sessions at once (each holds a sudo waiting on us).
constexpr int max_sessions = 1024;
// A frame whose header arrived must be whole by then; between frames a
// session may be idle for as long as the command runs.
constexpr auto payload_deadline = 10s;

std::optional<sudo_peer> peer_of(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
    return sudo_peer{cred.pid, cred.uid};
}

// What of `into` a non-blocking socket fills without waiting (0 on
// would-block or an error: the asynchronous read that follows reports it).
std::size_t read_available(asio::local::stream_protocol::socket& sock, std::string& into) {
    boost::system::error_code ec;
    std::size_t got = 0;
    for (int calls = 0; calls < 16 && got < into.size(); ++calls) {
        std::size_t n = sock.read_some(asio::buffer(into.data() + got, into.size() - got), ec);
        if (ec) break;
        got += n;
    }
    return got;
}
} // namespace

std::string new_session_id() {
    std::random_device rd;
    std::string id;
    for (int i = 0; i < 4; ++i) {
        char buf[9];
        std::snprintf(buf, sizeof buf, "%08x", unsigned(rd()));
        id += buf;
    }
    return id;
}

sudo_role::sudo_role(asio::io_context& io, const common::config& cfg)
    : io_(io), cfg_(*cfg.sudo), host_(cfg.name), acceptor_(io),
      syncer_(io, "sudo",
              [this](const std::string& e) { tally_.error(e, std::chrono::system_clock::now()); }) {
}

std::optional<startup_error> sudo_role::setup(const std::string& user_name,
                                              std::optional<common::user_ids> user,
                                              std::optional<common::user_ids> dist_owner) {
    if (auto problem = prepare_stream_directories(cfg_.directory, cfg_.dist, user_name, user, dist_owner))
        return startup_error{"sudo: " + *problem, EX_NOPERM};
    if (!acceptor_.is_open()) { // not adopted
        // Only root connects (sudo), and the plugin sees uid 0 as the
        // listener's SO_PEERCRED after our drop.
        if (auto problem = listen_at(acceptor_, cfg_.socket, 0600, "sudo socket"))
            return startup_error{*problem, EX_CANTCREAT};
    }
    record_file::options o{cfg_.directory,   cfg_.dist, cfg_.rotate,
                           cfg_.rotate_size, host_,     read_boot_id()};
    file_.emplace(o);
    return std::nullopt;
}

std::optional<startup_error> sudo_role::adopt_listener(int fd) {
    if (auto problem = common::adopt_listener(acceptor_, fd))
        return startup_error{"sudo socket " + cfg_.socket + ": " + *problem, EX_SOFTWARE};
    return std::nullopt;
}


void sudo_role::start() {
    if (auto e = file_->open(now_ns())) {
        note_error(*e + "; not collecting");
        failed_ = true;
        exit_code_ = EX_CANTCREAT;
        ::kill(::getpid(), SIGTERM);
        return;
    }
    tally_.written(std::chrono::system_clock::now()); // the new file's header
    last_heartbeat_ = std::chrono::steady_clock::now();
    syncer_.start();
    log::info("sudo: listening on ", cfg_.socket, ", writing ", cfg_.directory, "/",
              file_->file_name());
    asio::co_spawn(io_, accept_loop(), asio::detached);
    asio::co_spawn(io_, tick_loop(), asio::detached);
}

void sudo_role::stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    syncer_.stop(); // a sync in flight finishes
    if (file_ && !failed_) {
        if (auto e = file_->close(now_ns())) note_error(*e);
    }
}

void sudo_role::reload(const common::config& next) {
    if (!next.sudo) {
        log::warning("sudo: removing the sudo section needs a restart");
        return;
    }
    auto keep = cfg_;
    cfg_ = *next.sudo;
    cfg_.socket = keep.socket;
    cfg_.directory = keep.directory;
    cfg_.dist = keep.dist;
    if (failed_ || stopped_) return;
    file_->set_rotation(cfg_.rotate, cfg_.rotate_size);
    if (auto e = file_->reopen(now_ns())) {
        note_error("reopening after SIGHUP: " + *e);
        failed_ = true;
    }
}

asio::awaitable<void> sudo_role::accept_loop() {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(tuple_awaitable);
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) break;
            note_error("accept failed: " + ec.message());
            asio::steady_timer t(io_, 100ms);
            co_await t.async_wait(tuple_awaitable);
            continue;
        }
        // The socket is root's, 0600; the kernel's word is checked anyway.
        auto peer = peer_of(socket.native_handle());
        if (!peer || peer->uid != 0) {
            log::warning("sudo: refused a connection from uid ", peer ? peer->uid : -1u);
            continue;
        }
        if (active_ >= max_sessions) continue;
        asio::co_spawn(io_, serve(std::move(socket), *peer), asio::detached);
    }
}

// g++ 12 at -O2 reports Asio's coroutine frame delete as mismatched with
// its new in this coroutine (a false positive: both are the frame's own
// operators, awaitable_frame_base); silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<void> sudo_role::serve(local::socket accepted, sudo_peer peer) {
    ++active_;
    auto sock = std::make_shared<local::socket>(std::move(accepted));
    // For read_available (a blocking socket would stall every session);
    // Asio's own reads work either way.
    boost::system::error_code blocking_error;
    sock->non_blocking(true, blocking_error);
    sudo_session session(new_session_id(), peer);
    std::string ending = "disconnected";
    std::string header(ADIST_SUDO_HEADER_SIZE, '\0'), payload;
    for (std::uint64_t frames = 0; !stopped_ && frames < (std::uint64_t{1} << 62); ++frames) {
        auto [ec, n] = co_await asio::async_read(*sock, asio::buffer(header), tuple_awaitable);
        if (ec) break;
        auto head = decode_sudo_header(header);
        if (auto* why = std::get_if<std::string>(&head)) {
            ending = "bad frame: " + *why;
            break;
        }
        const auto& h = std::get<sudo_frame_header>(head);
        payload.resize(h.length);
        // The plugin sends a frame in one call, so its payload is usually
        // there already: read without waiting, and arm the deadline only
        // for what is still missing.
        std::size_t got = blocking_error ? 0 : read_available(*sock, payload);
        if (got < payload.size()) {
            asio::steady_timer deadline(io_, payload_deadline);
            deadline.async_wait([sock](boost::system::error_code e) {
                if (!e) sock->close(e);
            });
            std::tie(ec, n) = co_await asio::async_read(
                *sock, asio::buffer(payload.data() + got, payload.size() - got), tuple_awaitable);
            deadline.cancel();
            if (ec) break;
        }
        auto frame = decode_sudo_payload(h, payload);
        if (auto* why = std::get_if<std::string>(&frame)) {
            ending = "bad frame: " + *why;
            break;
        }
        auto now = now_ns();
        // A rotation first, so that the record is numbered after the new
        // header (base64 makes the data 4/3 larger; 4 KiB for the fields).
        if (auto e = file_->rotate_if_due(now, std::size_t(h.length) / 3 * 4 + 4096)) {
            note_error(*e);
            failed_ = true;
        }
        bool was_open = session.opened();
        auto step = session.step(std::get<sudo_frame>(frame), file_->base(now));
        if (!step.error.empty()) {
            ending = "bad frame: " + step.error;
            break;
        }
        if (file_->unsynced() == 0) check_tamper(now);
        bool written = !failed_ && !stopped_ && write_record(step.line, now);
        if (written && !was_open && session.opened()) tally_.accepted();
        if (written && file_->unsynced() >= cfg_.sync_records) sync_now();
        char ack = written ? ADIST_SUDO_ACK_WRITTEN : ADIST_SUDO_ACK_FAILED;
        std::tie(ec, n) = co_await asio::async_write(*sock, asio::buffer(&ack, 1), tuple_awaitable);
        if (ec || !written || session.closed()) break;
    }
    if (session.opened() && !session.closed()) {
        log::warning("sudo: session ", session.id(), " of pid ", peer.pid, " ended: ", ending);
        if (!failed_ && !stopped_) {
            auto now = now_ns();
            write_record(session.lost(file_->base(now), ending), now);
        }
    }
    --active_;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void sudo_role::note_error(const std::string& error) {
    log::error("sudo: ", error);
    tally_.error(error, std::chrono::system_clock::now());
}

stream_status sudo_role::status() const {
    return tally_.snapshot(cfg_, file_ ? &*file_ : nullptr, !failed_ && !stopped_);
}

bool sudo_role::write_record(const std::string& line, std::int64_t now) {
    std::string error;
    if (file_->write(line, now, &error)) {
        tally_.written(std::chrono::system_clock::now());
        return true;
    }
    note_error(error);
    return false;
}

void sudo_role::check_tamper(std::int64_t now) {
    auto write = [&](const std::string& line) { return write_record(line, now); };
    std::string problem;
    auto outcome = collector::check_tamper(*file_, "sudo", cfg_.directory, cfg_.on_tamper, now,
                                           write, &problem);
    if (outcome != tamper_outcome::sound)
        tally_.tampered(problem, std::chrono::system_clock::now());
    if (settle_tamper(outcome, failed_, exit_code_)) sync_now();
}

void sudo_role::sync_now() {
    if (file_) syncer_.sync(*file_, cfg_.directory + "/" + file_->file_name());
}

asio::awaitable<void> sudo_role::tick_loop() {
    asio::steady_timer timer(io_);
    while (!stopped_ && !failed_) {
        timer.expires_after(std::chrono::seconds(cfg_.sync_interval));
        co_await timer.async_wait(tuple_awaitable);
        if (stopped_ || failed_) break;
        auto now = now_ns();
        check_tamper(now);
        if (failed_) break;
        auto steady = std::chrono::steady_clock::now();
        if (steady - last_heartbeat_ >= std::chrono::seconds(cfg_.heartbeat)) {
            last_heartbeat_ = steady;
            write_record(encode_heartbeat(file_->base(now)), now);
        }
        sync_now();
    }
}

} // namespace adist::collector
