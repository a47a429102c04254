// Sender data phase (see transfer.hpp). Ordering rules that matter:
// - a dist link is unlinked only after the receiver acked its CLOSE, i.e.
//   after the receiver synced the whole file;
// - after a `.not_terminated` file is seen renamed, it is read to the end
//   once more before CLOSE, so bytes written just before the rename go too.
#include "sender/transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/log.hpp"
#include "proto/frame_codec.hpp"
#include "proto/trail_name.hpp"
#include "sender/resume.hpp"

namespace adist::sender {
using proto::command;

namespace {
// A delay cut by up to a fifth at random, like the reconnect backoff: retries
// of many senders do not line up.
std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::uniform_int_distribution<long> dist(d.count() * 4 / 5, d.count());
    return std::chrono::milliseconds(dist(rng));
}

constexpr std::size_t batch_bytes = 1024 * 1024; // bytes per socket write
constexpr std::size_t chunk_bytes = proto::max_payload;
// fill() stops once batch_bytes are queued; above that, room for its last
// APPEND and for a few OPEN/CLOSE/KEEPALIVE/ERROR frames.
constexpr std::size_t out_capacity = batch_bytes + 2 * chunk_bytes;
} // namespace

transfer::transfer(std::shared_ptr<common::stream> stream, dist_context dist,
                   transfer_options options, std::string log_prefix)
    : stream_(std::move(stream)), dist_(dist), options_(options), prefix_(std::move(log_prefix)),
      reader_finished_(stream_->socket().get_executor()) {
    out_ = std::make_unique_for_overwrite<std::byte[]>(out_capacity);
}

void transfer::queue_frame() {
    // Name frames are small (<= 14 + 256); the batch leaves room for several.
    std::memcpy(out_.get() + out_size_, frame_.data(), frame_.size());
    out_size_ += frame_.size();
    frame_.clear();
}

void transfer::fail() {
    failed_ = true;
    stream_->close();
    dist_.wake->notify();
}

asio::awaitable<void> transfer::run(std::string remote_name, std::uint64_t remote_size) {
    auto self = shared_from_this();
    asio::co_spawn(stream_->socket().get_executor(), [self] { return self->reader(); },
                   asio::detached);
    co_await writer(std::move(remote_name), remote_size);
    // A receiver that refuses a request sends the error reply and closes,
    // and our next write fails (EPIPE) as soon as the reply is here, before
    // the reader ran. Let the reader take what arrived, for at most a second,
    // so that the log says why.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (int i = 0; i < 100 && write_failed_ && !reader_done_; ++i) {
        auto now = std::chrono::steady_clock::now();
        if (now >= until) break;
        co_await reader_finished_.wait_for(until - now);
    }
    fail(); // ends the reader too
    while (!reader_done_) co_await reader_finished_.wait();
    if (dist_.watch != nullptr) dist_.watch->unwatch_file();
}

bool transfer::dist_removed() const {
    struct stat st {};
    return ::fstat(dist_.dir_fd, &st) == 0 && st.st_nlink == 0;
}

void transfer::unlink_shipped(const std::string& name) {
    if (::unlinkat(dist_.dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        int err = errno;
        log::error(prefix_, "cannot remove ", dist_.dir_path, "/", name, ": ",
                   common::errno_text(err),
                   err == EACCES ? " (the directory must be writable by the daemon's user, uid " +
                                       std::to_string(::geteuid()) + ")"
                                 : std::string());
        return;
    }
    log::info(prefix_, "shipped ", name);
}

// Returns false when the connection should be dropped and retried later.
bool transfer::start_resume(const std::string& remote_name, std::uint64_t remote_size) {
    bool ok = true;
    auto local = list_trails(dist_.dir_fd, dist_.dir_path, &ok, dist_.notes);
    if (!ok) return false; // never infer anything from a listing that failed
    auto plan = plan_resume(local, remote_name);
    for (const auto& name : plan.conflicts) {
        if (!dist_.notes->first("conflict:" + name)) continue;
        log::error(prefix_, "not sending ", name, ": the receiver already has this trail as ",
                   remote_name);
    }
    last_ = remote_name;
    report_older(local);
    if (plan.continuation) resume_ = continuation{*plan.continuation, remote_name, remote_size};
    return true;
}

// Trails that sort before the last one sent are never sent: the receiver
// only accepts its newest trail or a newer one. Reported once each; the link
// stays (see resume_plan::older). Links whose CLOSE is in flight are ours.
void transfer::report_older(const std::vector<std::string>& local) {
    for (const auto& name : older_trails(local, last_)) {
        bool closing = std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& r) {
            return r.cmd == command::close && r.name == name;
        });
        if (closing || !dist_.notes->first("older:" + name)) continue;
        log::warning(prefix_, "not sending ", dist_.dir_path, "/", name, ": it sorts before ",
                     last_, ", which the receiver already has, and the receiver only accepts "
                     "newer trails (shipped before a crash of this sender, or a clock set back); "
                     "leaving the link in place");
    }
}

// Passes over `local` for good; it was reported already, so it does not
// count as an older trail found later.
transfer::open_result transfer::skip(const std::string& local) {
    dist_.notes->first("older:" + local);
    last_ = local;
    return open_result::skipped;
}

void transfer::wake_at(std::chrono::steady_clock::time_point t) {
    if (!wake_at_ || t < *wake_at_) wake_at_ = t;
}

// A file that vanished between the listing and the open (auditd renamed it)
// is looked up again by the caller. One that is not a regular file is
// skipped for good; one that cannot be opened is retried on the
// open_retry_delay schedule without holding the connection, then skipped, so
// that it never blocks the trails after it.
transfer::open_result transfer::open_local(const std::string& local, const std::string& remote,
                                           std::uint64_t offset) {
    auto now = std::chrono::steady_clock::now();
    if (const auto* f = dist_.notes->find_failure(local); f != nullptr && f->retry_at > now) {
        wake_at(f->retry_at);
        return open_result::retry_later;
    }
    // O_NONBLOCK: a FIFO swapped in after the listing must not hang us.
    int fd = ::openat(dist_.dir_fd, local.c_str(),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) return open_result::vanished;
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        ::close(fd);
        if (dist_.notes->first("type:" + local)) {
            log::warning(prefix_, "not sending ", dist_.dir_path, "/", local,
                         ": not a regular file");
        }
        return skip(local);
    }
    // Trails come from the audit daemon (root) or from our own user: a file
    // of anybody else was put there to be shipped as this host's history.
    if (fd >= 0 && st.st_uid != 0 && st.st_uid != ::geteuid()) {
        ::close(fd);
        if (dist_.notes->first("owner:" + local)) {
            log::warning(prefix_, "not sending ", dist_.dir_path, "/", local, ": it belongs to uid ",
                         st.st_uid, ", not to root or to the daemon's user");
        }
        return skip(local);
    }
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        auto error = common::errno_text(errno);
        if (fd >= 0) ::close(fd);
        if (fd < 0 && errno == ELOOP) { // a symlink swapped in after the listing
            if (dist_.notes->first("type:" + local)) {
                log::warning(prefix_, "not sending ", dist_.dir_path, "/", local,
                             ": a symbolic link");
            }
            return skip(local);
        }
        auto* f = dist_.notes->failure(local);
        auto delay = f != nullptr ? open_retry_delay(++f->failures) : std::nullopt;
        if (!delay) {
            if (dist_.notes->first("gave-up:" + local)) {
                log::error(prefix_, "giving up on ", dist_.dir_path, "/", local, ": ", error,
                           "; it is not shipped and its link stays. The trails after it go on");
            }
            return skip(local);
        }
        if (f->failures == 1) {
            log::error(prefix_, "cannot open ", dist_.dir_path, "/", local, ": ", error,
                       "; retrying for up to 31 s, then skipping it");
        }
        f->retry_at = now + jittered(*delay);
        wake_at(f->retry_at);
        return open_result::retry_later;
    }
    dist_.notes->clear_failure(local);
    if (static_cast<std::uint64_t>(st.st_size) < offset) {
        log::error(prefix_, dist_.dir_path, "/", local, " has ", st.st_size,
                   " bytes but the receiver already has ", offset, "; skipping it");
        ::close(fd);
        return skip(local);
    }
    cur_.emplace(open_trail{common::unique_fd(fd), local, remote, st.st_ino, offset, {}, false, {}});
    dist_.watch->watch_file(dist_.dir_path + "/" + local);
    queue_name(command::open, remote, false, offset);
    dist_.status->file = local;
    dist_.status->sent_offset = offset;
    return open_result::opened;
}

void transfer::queue_name(command cmd, const std::string& name, bool unlink, std::uint64_t offset) {
    auto seq = next_seq_++;
    proto::encode_name_request(frame_, cmd, seq, name);
    queue_frame();
    in_flight_.push_back({seq, cmd, static_cast<std::uint32_t>(name.size() + 1), name, unlink, offset});
    if (cmd == command::close) dist_.status->file.clear();
}

// Reads from the open file into out_ as APPEND frames while the window and
// the batch allow. Returns false on a read error (the file is then aborted).
bool transfer::fill(bool& at_eof) {
    at_eof = false;
    while (out_size_ < batch_bytes && in_flight_bytes_ < options_.window) {
        std::size_t want = std::min(chunk_bytes, options_.window - in_flight_bytes_);
        auto header_at = out_size_;
        auto seq = next_seq_;
        proto::encode_request_header(frame_, command::append, seq, static_cast<std::uint32_t>(want));
        queue_frame();
        ssize_t n = ::pread(cur_->fd.get(), out_.get() + out_size_, want,
                            static_cast<off_t>(cur_->offset));
        if (n <= 0) {
            out_size_ = header_at;
            if (n == 0) {
                at_eof = true;
                return true;
            }
            log::error(prefix_, "cannot read ", cur_->local_name, ": ", common::errno_text(errno));
            dist_.status->error("cannot read " + cur_->local_name + ": " + common::errno_text(errno));
            return false;
        }
        out_size_ += static_cast<std::size_t>(n);
        cur_->left_behind_since.reset(); // it grows: someone still writes it
        for (int i = 0; i < 4; ++i) { // patch the payload size, little endian
            out_[header_at + 10 + i] = std::byte((static_cast<std::uint32_t>(n) >> (8 * i)) & 0xff);
        }
        ++next_seq_;
        cur_->offset += static_cast<std::uint64_t>(n);
        dist_.status->sent_offset = cur_->offset;
        in_flight_.push_back({seq, command::append, static_cast<std::uint32_t>(n), {}, false});
        in_flight_bytes_ += static_cast<std::size_t>(n);
    }
    return true;
}

// At the end of the open file: CLOSE it if it is complete, note a rename (and
// read once more), or report that there is nothing to do until it grows.
bool transfer::handle_eof() {
    auto kind = proto::classify_trail_name(cur_->local_name);
    if (cur_->vanished) {
        // Read to the end once more (done), then close under the receiver's name.
        queue_name(command::close, cur_->remote_name, false);
        last_ = cur_->local_name;
        cur_.reset();
        dist_.watch->unwatch_file();
        return true;
    }
    if (kind == proto::trail_kind::not_terminated && !cur_->renamed_to) {
        bool ok = true;
        auto now = current_name(dist_.dir_fd, dist_.dir_path, cur_->local_name, cur_->ino, &ok);
        if (!ok) {
            fail(); // cannot tell a rename from a removal: retry later
            return true;
        }
        if (!now) {
            log::warning(prefix_, cur_->local_name,
                         " disappeared from the dist directory; closing it as it is");
            cur_->vanished = true;
            return true; // read to the end once more before CLOSE
        }
        if (*now == cur_->local_name) {
            if (!left_behind()) return false; // still open-ended: wait for more
            log::warning(prefix_, cur_->local_name, " was left behind: a newer trail exists and it "
                         "has not changed for ", abandoned_grace.count() / 1000,
                         " s; closing it under this name");
            queue_name(command::close, cur_->remote_name, true);
            last_ = cur_->local_name;
            cur_.reset();
            dist_.watch->unwatch_file();
            return true;
        }
        log::debug(prefix_, cur_->local_name, " was renamed to ", *now);
        cur_->renamed_to = *now;
        return true; // read to the end once more before CLOSE
    }
    std::string final_name = cur_->renamed_to.value_or(cur_->local_name);
    queue_name(command::close, final_name, true);
    last_ = final_name;
    cur_.reset();
    dist_.watch->unwatch_file();
    return true;
}

// At the end of an open-ended trail that was not renamed: true once a newer
// trail exists and this one has not changed for abandoned_grace.
bool transfer::left_behind() {
    if (!next_trail(list_trails(dist_.dir_fd, dist_.dir_path), cur_->local_name)) {
        cur_->left_behind_since.reset();
        return false;
    }
    auto now = std::chrono::steady_clock::now();
    if (!cur_->left_behind_since) cur_->left_behind_since = now;
    auto due = *cur_->left_behind_since + abandoned_grace;
    if (now >= due) return true;
    wake_at(due);
    return false;
}

asio::awaitable<bool> transfer::flush() {
    if (out_size_ == 0) co_return true;
    auto ec = co_await stream_->write_all(asio::buffer(out_.get(), out_size_));
    out_size_ = 0;
    last_send_ = std::chrono::steady_clock::now();
    if (ec) {
        write_failed_ = true;
        if (!failed_) {
            std::string why = stream_->timed_out() ? "timed out" : ec.message();
            log::warning(prefix_, "connection lost while sending: ", why);
            dist_.status->error("connection lost while sending: " + why);
        }
        co_return false;
    }
    co_return true;
}

// Waits for a file-system event, an ack, a due retry or (when idle) the
// keepalive interval.
asio::awaitable<void> transfer::wait(bool idle) {
    using clock = std::chrono::steady_clock;
    // Requests in flight: the replies wake us (or the reader's deadline ends
    // the connection); a keepalive is due only when nothing is in flight,
    // and waiting for one that cannot be sent would spin.
    if (!in_flight_.empty()) idle = false;
    auto now = clock::now();
    std::optional<clock::time_point> until = wake_at_;
    if (idle && (!until || last_send_ + options_.keepalive < *until)) {
        until = last_send_ + options_.keepalive;
    }
    if (!until) {
        co_await dist_.wake->wait();
        co_return;
    }
    if (*until > now) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - now) +
                    std::chrono::milliseconds(1);
        if (co_await dist_.wake->wait_for(left)) co_return;
    }
    now = clock::now();
    if (wake_at_ && *wake_at_ <= now) wake_at_.reset();
    // Only when nothing is in flight: FreeBSD's receiver answers a KEEPALIVE
    // ahead of queued requests, and replies must come back in order.
    if (idle && in_flight_.empty() && now - last_send_ >= options_.keepalive) {
        auto seq = next_seq_++;
        proto::encode_request_header(frame_, command::keepalive, seq, 0);
        queue_frame();
        in_flight_.push_back({seq, command::keepalive, 0, {}, false});
    }
}

asio::awaitable<void> transfer::writer(std::string remote_name, std::uint64_t remote_size) {
    last_send_ = std::chrono::steady_clock::now();
    if (!start_resume(remote_name, remote_size)) co_return;
    while (!failed_) {
        if (!cur_ && resume_) {
            auto r = open_local(resume_->local_name, resume_->remote_name, resume_->offset);
            if (r == open_result::vanished) break; // renamed meanwhile: plan again
            if (r == open_result::opened) {
                log::info(prefix_, "resuming ", resume_->local_name, " at offset ", resume_->offset);
            }
            if (r != open_result::retry_later) resume_.reset();
        }
        if (!cur_ && !resume_) {
            auto local = list_trails(dist_.dir_fd, dist_.dir_path, nullptr, dist_.notes);
            report_older(local);
            if (auto next = next_trail(local, last_)) {
                if (open_local(*next, *next, 0) != open_result::retry_later) continue; // opened, skipped, or renamed: list again
            } else if (dist_removed()) {
                log::warning(prefix_, "dist directory ", dist_.dir_path,
                             " was removed; reconnecting to open it again");
                break;
            }
        }
        bool at_eof = false, progressed = false;
        if (cur_) {
            if (!fill(at_eof)) {
                // Unreadable: tell the receiver to close it as it is.
                auto seq = next_seq_++;
                proto::encode_request_header(frame_, command::error, seq, 0);
                queue_frame();
                in_flight_.push_back({seq, command::error, 0, cur_->remote_name, false});
                dist_.status->file.clear();
                last_ = cur_->local_name;
                cur_.reset();
                dist_.watch->unwatch_file();
            } else if (at_eof) {
                progressed = handle_eof();
            }
        }
        bool had_output = out_size_ != 0;
        if (!co_await flush()) break;
        if (had_output || progressed) continue;
        bool window_full = in_flight_bytes_ >= options_.window;
        co_await wait(!window_full);
    }
}

asio::awaitable<void> transfer::reader() {
    auto self = shared_from_this();
    std::vector<std::byte> buf(64 * 1024);
    std::size_t have = 0;
    while (!failed_) {
        auto [ec, n] = co_await stream_->read_some(asio::buffer(buf.data() + have, buf.size() - have));
        if (ec) {
            if (!failed_) {
                std::string why = stream_->timed_out() ? "timed out (no traffic within the timeout)"
                                                       : ec.message();
                log::warning(prefix_, "connection lost: ", why);
                dist_.status->error("connection lost: " + why);
            }
            break;
        }
        have += n;
        std::size_t off = 0;
        bool ok = true;
        while (ok) {
            auto result = proto::decode_reply(std::span(buf.data() + off, have - off));
            if (std::holds_alternative<proto::need_more>(result)) break;
            auto* d = std::get_if<proto::decoded<proto::reply>>(&result);
            if (d == nullptr) {
                log::error(prefix_, "protocol violation by the receiver: ",
                           to_string(std::get<proto::decode_error>(result)));
                dist_.status->error("protocol violation by the receiver");
                ok = false;
                break;
            }
            off += d->consumed;
            ok = on_reply(d->frame);
        }
        std::memmove(buf.data(), buf.data() + off, have - off);
        have -= off;
        dist_.wake->notify();
        if (!ok) break;
    }
    fail();
    reader_done_ = true;
    reader_finished_.notify();
}

bool transfer::on_reply(const proto::reply& r) {
    if (in_flight_.empty() || in_flight_.front().seq != r.seq) {
        log::error(prefix_, "protocol violation by the receiver: unexpected reply sequence ", r.seq);
        return false;
    }
    auto req = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (req.cmd == command::append) in_flight_bytes_ -= req.bytes;
    if (r.error != proto::reply_error::ok) {
        log::error(prefix_, "the receiver refused ", to_string(req.cmd),
                   req.name.empty() ? "" : " ", req.name, ": ", to_string(r.error));
        dist_.status->error("the receiver refused " + std::string(to_string(req.cmd)) +
                            (req.name.empty() ? "" : " ") + req.name + ": " +
                            std::string(to_string(r.error)));
        return false;
    }
    note_ack(req);
    // Progress means data or a whole file made durable; an acked OPEN or
    // KEEPALIVE alone does not (a full disk acks the OPEN, refuses the APPEND).
    if (req.cmd == command::append || req.cmd == command::close) ++acked_;
    if (req.cmd == command::close && req.unlink) unlink_shipped(req.name);
    return true;
}

// Keeps the status (what is acknowledged) and, during a catch-up, the
// progress lines up to date.
void transfer::note_ack(const in_flight& req) {
    auto& st = *dist_.status;
    st.last_ack = std::chrono::system_clock::now();
    switch (req.cmd) {
    case command::open:
        st.acked_file = req.name;
        st.acked_offset = req.offset;
        break;
    case command::append:
        st.acked_offset += req.bytes;
        st.acked_total += req.bytes;
        log_progress(req.bytes);
        // At -dd only: bench/run's latency figure pairs this monotonic
        // timestamp with the time it appended to the trail file.
        log::trace(prefix_, "acked ", st.acked_file, " offset ", st.acked_offset, " monotonic_ns ",
                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count());
        break;
    case command::close:
        st.last_closed = req.name;
        st.acked_file.clear();
        st.acked_offset = 0;
        break;
    default: break;
    }
}

// At most one line per progress_interval, and only while far behind (more
// than a window's worth left): a sender that keeps up stays quiet.
void transfer::log_progress(std::uint64_t req_bytes) {
    auto& st = *dist_.status;
    auto now = std::chrono::steady_clock::now();
    auto elapsed = now - st.progress_mark;
    // First ack, or the first after a quiet spell: a new catch-up starts here,
    // so the idle time does not water the rate down.
    if (st.progress_mark == std::chrono::steady_clock::time_point{} ||
        now - st.progress_last_ack > options_.progress_interval) {
        st.progress_mark = now;
        st.progress_bytes = st.acked_total - req_bytes;
    }
    st.progress_last_ack = now;
    elapsed = now - st.progress_mark;
    if (elapsed < options_.progress_interval) return;
    auto bytes = st.acked_total - st.progress_bytes;
    st.progress_mark = now;
    st.progress_bytes = st.acked_total;
    auto left = unacked_bytes(dist_.dir_fd, dist_.dir_path, st);
    if (left <= options_.window) return;
    double secs = std::chrono::duration<double>(elapsed).count();
    log::info(prefix_, "catching up: ", common::format_bytes(bytes), " acknowledged in ",
              static_cast<long>(secs + 0.5), " s (",
              common::format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / secs)),
              "/s), ", common::format_bytes(left), " still to send");
}

} // namespace adist::sender
