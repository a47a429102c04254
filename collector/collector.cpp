// The collector role (collector.hpp): the socket, one coroutine per slow
// client, the periodic sync / tamper check / heartbeat / suppressed counts.
// Runs on the collector process's io_context thread, beside the round
// thread of the fast path (accept_batch.cpp); every file operation is
// record_file's, under state_.
#include "collector/collector.hpp"
#include "common/async.hpp"

#include "collector/peer_info.hpp"
#include "collector/setup.hpp"
#include "common/fd.hpp"
#include "common/inherited_listener.hpp"
#include "common/log.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace adist::collector {

using namespace std::chrono_literals;
using common::tuple_awaitable;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

collector_role::collector_role(asio::io_context& io, const common::config& cfg)
    : io_(io), cfg_(*cfg.collector), host_(cfg.name), acceptor_(io), limit_(cfg_.rate_limit),
      syncer_(io, "collector",
              [this](const std::string& e) { tally_.error(e, std::chrono::system_clock::now()); }) {
    round_ = round_size(cfg_.sync_records);
}

std::optional<startup_error> collector_role::setup(const std::string& user_name,
                                                   std::optional<common::user_ids> user,
                                                   std::optional<common::user_ids> dist_owner) {
    if (auto problem = prepare_stream_directories(cfg_.directory, cfg_.dist, user_name, user, dist_owner))
        return startup_error{*problem, EX_NOPERM};
    // Room for max_clients connections besides the other roles' descriptors.
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 8192) {
        nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 8192);
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (!acceptor_.is_open()) { // not adopted
        // Every local user sends commands; the kernel tells us who.
        if (auto problem = listen_at(acceptor_, cfg_.socket, 0666, "collector socket"))
            return startup_error{*problem, EX_CANTCREAT};
    }
    names_.preload(); // as root, before the sandbox
    record_file::options o{cfg_.directory,   cfg_.dist, cfg_.rotate,
                           cfg_.rotate_size, host_,     read_boot_id()};
    // Opened as root so that the files of a previous run can be closed;
    // the new file is created after the drop (start) so that it is the
    // daemon user's.
    file_.emplace(o);
    return std::nullopt;
}

std::optional<startup_error> collector_role::adopt_listener(int fd) {
    if (auto problem = common::adopt_listener(acceptor_, fd))
        return startup_error{"collector socket " + cfg_.socket + ": " + *problem, EX_SOFTWARE};
    return std::nullopt;
}


void collector_role::start() {
    std::unique_lock lock(state_);
    auto t = now_ns();
    if (auto e = file_->open(t)) {
        note_error(*e + "; not collecting");
        failed_ = true;
        exit_code_ = EX_CANTCREAT;
        ::kill(::getpid(), SIGTERM);
        return;
    }
    // hidepid, or systemd's ProtectProc=invisible: other users' /proc/<pid>
    // is hidden from us (pid 1 is root's).
    if (::access("/proc/1/stat", F_OK) != 0)
        log::warning("collector: /proc hides other users' processes (hidepid, or systemd's "
                     "ProtectProc=invisible): records will lack tty, session, loginuid and "
                     "parents; see docs/collector.md");
    tally_.written(std::chrono::system_clock::now()); // the new file's header
    last_heartbeat_ = std::chrono::steady_clock::now();
    syncer_.start();
    log::info("collector: listening on ", cfg_.socket, ", writing ", cfg_.directory, "/",
              file_->file_name());
    boost::system::error_code ignored;
    acceptor_.non_blocking(true, ignored); // both threads accept on it
    acceptor_fd_ = acceptor_.native_handle();
    lock.unlock();
    rounds_.start(acceptor_fd_, names_, [this](name_cache& names, ancestry_cache& parents) {
        auto r = serve_round(names, parents);
        if (r.error != 0) note_error("accept failed: " + common::errno_text(r.error));
        return r.error == 0;
    });
    asio::co_spawn(io_, accept_loop(), asio::detached);
    asio::co_spawn(io_, tick_loop(), asio::detached);
}

void collector_role::stop() {
    if (stopped_.exchange(true)) return;
    rounds_.stop(); // its round in progress ends first; it uses the socket
    std::lock_guard lock(state_);
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    syncer_.stop(); // a sync in flight finishes
    // A clean stop closes the file: the sender ships it as finished.
    if (file_ && !failed_) {
        if (auto e = file_->close(now_ns())) note_error(*e);
    }
}

void collector_role::reload(const common::config& next) {
    if (!next.collector) {
        log::warning("collector: removing the collector section needs a restart");
        return;
    }
    std::lock_guard lock(state_);
    const auto& n = *next.collector;
    if (n.socket != cfg_.socket || n.directory != cfg_.directory || n.dist != cfg_.dist)
        log::warning("collector: a new socket, directory or dist needs a restart; keeping ",
                     cfg_.socket, " and ", cfg_.directory);
    auto keep = cfg_;
    cfg_ = n;
    cfg_.socket = keep.socket;
    cfg_.directory = keep.directory;
    cfg_.dist = keep.dist;
    limit_.set_rate(cfg_.rate_limit);
    round_ = round_size(cfg_.sync_records);
    if (failed_ || stopped_) return;
    file_->set_rotation(cfg_.rotate, cfg_.rotate_size);
    // logrotate moved the files away or wants a new one: a new file.
    if (auto e = file_->reopen(now_ns())) {
        note_error("reopening after SIGHUP: " + *e);
        failed_ = true;
    }
}

// Waits for connections; accept_ready() takes them (accept_batch.cpp).
asio::awaitable<void> collector_role::accept_loop() {
    bool wait = true;
    while (!stopped_) {
        if (wait) {
            auto [ec] = co_await acceptor_.async_wait(local::acceptor::wait_read, tuple_awaitable);
            if (stopped_ || ec == asio::error::operation_aborted) break;
        }
        auto [err, more] = accept_ready();
        // Not drained (more): again after the others had their turn; an
        // error (EMFILE): after a pause. Either way, no wait for an edge
        // that came already.
        wait = err == 0 && !more;
        if (err != 0) {
            note_error("accept failed: " + common::errno_text(err));
            asio::steady_timer t(io_, 100ms);
            co_await t.async_wait(tuple_awaitable);
        } else if (more) {
            co_await asio::post(io_, asio::use_awaitable);
        }
    }
}

collector_role::admitted collector_role::admit(request_kind kind, std::string_view payload,
                                               bool cut, std::uint32_t uid) {
    if (failed_ || stopped_) return {reply::failed, {}};
    // The rate limit before the /proc work: a flood costs little.
    if (!limit_.allow(uid, std::chrono::steady_clock::now())) return {reply::suppressed, {}};
    switch (kind) {
    case request_kind::command:
        return {std::nullopt, decode_request(payload, cfg_.max_record_size, cut)};
    }
    return {};
}

reply collector_role::store(const claimed_info& claimed, const trusted_info& t) {
    auto now = now_ns();
    if (file_->unsynced() == 0 && file_->staged() == 0) check_tamper(now); // a new batch
    if (failed_) return reply::failed;
    std::string line = encode_command(file_->base(now), t, claimed);
    std::string error;
    if (!file_->stage(line, now, &error)) {
        note_error(error);
        return reply::failed;
    }
    replicate(line, &t);
    if (!batch_) {
        batch_ = std::make_shared<batch>();
        asio::post(io_, [this] {
            std::lock_guard lock(state_);
            flush_batch();
        });
    }
    last_staged_ = batch_;
    return reply::written;
}

// One write() for every command staged since the last one; their clients
// are answered after it (serve()).
void collector_role::flush_batch() {
    auto b = std::exchange(batch_, nullptr);
    if (!b || b->done || !file_) return;
    std::string error;
    b->ok = file_->flush(now_ns(), &error);
    b->done = true;
    if (b->ok)
        tally_.written(std::chrono::system_clock::now());
    else
        note_error(error);
    if (file_->unsynced() >= cfg_.sync_records) sync_now();
}

// Any other record: written at once, with the staged commands before it
// (whose batch then has its answer).
bool collector_role::write_record(const std::string& line, std::int64_t now) {
    std::string error;
    bool ok = file_->write(line, now, &error);
    if (auto b = std::exchange(batch_, nullptr)) {
        b->done = true;
        b->ok = ok;
    }
    if (ok)
        tally_.written(std::chrono::system_clock::now());
    else
        note_error(error);
    return ok;
}

// Before each batch and at each tick: is the open file still what we wrote?
void collector_role::check_tamper(std::int64_t now) {
    auto write = [&](const std::string& line) { return write_record(line, now); };
    std::string problem;
    auto outcome = collector::check_tamper(*file_, "collector", cfg_.directory, cfg_.on_tamper, now,
                                           write, &problem);
    if (outcome != tamper_outcome::sound)
        tally_.tampered(problem, std::chrono::system_clock::now());
    if (settle_tamper(outcome, failed_, exit_code_)) sync_now();
}

void collector_role::sync_now() {
    if (file_) syncer_.sync(*file_, cfg_.directory + "/" + file_->file_name());
}

void collector_role::write_suppressed(std::int64_t now) {
    for (const auto& c : limit_.take_counts()) {
        std::string line =
            encode_suppressed(file_->base(now), c.uid,
                              names_.user(c.uid, std::chrono::steady_clock::now()), c.suppressed);
        log::warning("collector: uid ", c.uid,
                     " over its rate limit or its share of waiting connections: ", c.suppressed,
                     " records suppressed");
        if (write_record(line, now)) replicate(line, nullptr);
    }
}

void collector_role::note_error(const std::string& error) {
    log::error("collector: ", error);
    tally_.error(error, std::chrono::system_clock::now());
}

void collector_role::count_reply(reply r) {
    if (r == reply::written) tally_.accepted();
    if (r == reply::suppressed) tally_.suppressed();
}

stream_status collector_role::status() const {
    std::lock_guard lock(state_);
    return tally_.snapshot(cfg_, file_ ? &*file_ : nullptr, !failed_ && !stopped_);
}

void collector_role::replicate(const std::string& line, const trusted_info* t) {
    std::string_view text(line.data(), line.size() - 1); // without the newline
    if (cfg_.replicate == common::collector_replicate::syslog) {
        ::syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s", int(text.size()), text.data());
    } else if (cfg_.replicate == common::collector_replicate::journal) {
        sd_journal_send("MESSAGE=%.*s", int(text.size()), text.data(), "PRIORITY=6",
                        "SYSLOG_FACILITY=10", "SYSLOG_IDENTIFIER=auditdistd-collector",
                        "ADIST_UID=%u", t ? t->uid : 0u, nullptr);
    }
}

asio::awaitable<void> collector_role::tick_loop() {
    asio::steady_timer timer(io_);
    while (true) {
        {
            std::lock_guard lock(state_);
            if (stopped_ || failed_) break;
            timer.expires_after(std::chrono::seconds(cfg_.sync_interval));
        }
        co_await timer.async_wait(tuple_awaitable);
        std::lock_guard lock(state_);
        if (stopped_ || failed_) break;
        auto now = now_ns();
        check_tamper(now);
        if (failed_) break;
        write_suppressed(now);
        auto steady = std::chrono::steady_clock::now();
        if (steady - last_heartbeat_ >= std::chrono::seconds(cfg_.heartbeat)) {
            last_heartbeat_ = steady;
            write_record(encode_heartbeat(file_->base(now)), now);
        }
        sync_now();
    }
}

} // namespace adist::collector
