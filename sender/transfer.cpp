// The sender data phase's writer (see transfer.hpp): OPEN, APPENDs read
// from the open trail, CLOSE and KEEPALIVE within the window, and the wait
// between batches. Picking and opening the trail is in local_trail.cpp, the
// acks in ack_reader.cpp, the unlink after a CLOSE ack in unlink_shipped.cpp.
#include "sender/transfer.hpp"
#include "sender/digest_checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "proto/frame_codec.hpp"
#include "proto/trail_name.hpp"
#include "sender/resume.hpp"

namespace adist::sender {
using proto::command;

namespace {
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
    // A restart may follow: the digest at the last ack is kept for it.
    if (cur_ && dist_.checkpoint != nullptr)
        dist_.checkpoint->write_now(cur_->dev, cur_->ino, cur_->fd.get());
}

bool transfer::dist_removed() const {
    struct stat st {};
    return ::fstat(dist_.dir_fd, &st) == 0 && st.st_nlink == 0;
}

void transfer::wake_at(std::chrono::steady_clock::time_point t) {
    if (!wake_at_ || t < *wake_at_) wake_at_ = t;
}

void transfer::queue_name(command cmd, const std::string& name, bool unlink, std::uint64_t offset,
                          const proto::file_digest* digest) {
    auto seq = next_seq_++;
    if (digest != nullptr) {
        proto::encode_close(frame_, seq, name, *digest);
    } else {
        proto::encode_name_request(frame_, cmd, seq, name);
    }
    auto bytes = static_cast<std::uint32_t>(frame_.size() - proto::request_header_size);
    queue_frame();
    note_data_sent();
    in_flight_.push_back({seq, cmd, bytes, name, unlink, offset});
    log::debug(prefix_, to_string(cmd), " ", name, " sent (request ", seq,
               cmd == command::close ? ", " + std::to_string(cur_ ? cur_->offset : offset) + " bytes" : "", ")");
    if (cmd == command::close) dist_.status->file.clear();
}

// CLOSE of the open trail; with `unlink`, its dist link goes once the CLOSE is
// acknowledged, if the name still leads to the file that was sent.
void transfer::queue_close(const std::string& name, bool unlink) {
    // Version 1: the size and SHA-256 of everything read from the file, which
    // is everything sent (a CLOSE comes at its end).
    std::optional<proto::file_digest> digest;
    if (cur_->digest) digest = cur_->digest->current();
    queue_name(command::close, name, unlink, 0, digest ? &*digest : nullptr);
    // The file is named only when its link may go and the CLOSE carries its
    // digest (version 1): a receiver that took it had the whole file,
    // identical, so a lost acknowledgement may be made up for at the next
    // resume (fanout_group::resumed). FreeBSD's receiver (version 0) goes
    // on after a failed APPEND and proves nothing of the kind.
    bool proof = unlink && digest.has_value();
    if (dist_.fanout != nullptr)
        dist_.fanout->close_sent(dist_.host, name, proof ? cur_->dev : 0, proof ? cur_->ino : 0,
                                 proof ? cur_->offset : 0);
    in_flight_.back().dev = cur_->dev;
    in_flight_.back().ino = cur_->ino;
    in_flight_.back().offset = cur_->offset;
}

// At the end of the open trail: true when it is now shorter than what was
// already read from it. Whatever it gets later is not a continuation of the
// bytes sent, so nothing more is read from it (see docs/faults.md).
bool transfer::truncated() {
    struct stat st {};
    if (::fstat(cur_->fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) >= cur_->offset) {
        return false;
    }
    std::string why = "it was truncated to " + std::to_string(st.st_size) + " bytes after " +
                      std::to_string(cur_->offset) + " were read (possible tampering); its first " +
                      std::to_string(cur_->offset) + " bytes are on the receiver, closed there as they are";
    log::error(prefix_, "not sending more of ", dist_.dir_path, "/", cur_->local_name, ": ", why,
               "; leaving the link in place");
    dist_.status->error("not sending more of " + cur_->local_name + ": " + why);
    dist_.repeats->due("older:" + cur_->local_name, std::chrono::steady_clock::now(), why);
    return true;
}

// Reads from the open file into out_ as APPEND frames while the window and
// the batch allow. Returns false on a read error or when the file was
// truncated (it is then aborted).
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
                if (truncated()) return false;
                at_eof = true;
                return true;
            }
            auto error = common::errno_text(errno);
            log::error(prefix_, "cannot read ", cur_->local_name, ": ", error);
            dist_.status->error("cannot read " + cur_->local_name + ": " + error);
            dist_.repeats->due("older:" + cur_->local_name, std::chrono::steady_clock::now(),
                               "it could not be read (" + error + "); closed as it is on the receiver");
            return false;
        }
        if (cur_->digest) cur_->digest->update(std::span(out_.get() + out_size_, static_cast<std::size_t>(n)));
        out_size_ += static_cast<std::size_t>(n);
        cur_->left_behind_since.reset(); // it grows: someone still writes it
        for (int i = 0; i < 4; ++i) { // patch the payload size, little endian
            out_[header_at + 10 + i] = std::byte((static_cast<std::uint32_t>(n) >> (8 * i)) & 0xff);
        }
        ++next_seq_;
        cur_->offset += static_cast<std::uint64_t>(n);
        dist_.status->sent_offset = cur_->offset;
        note_data_sent();
        in_flight_.push_back({seq, command::append, static_cast<std::uint32_t>(n), {}, false});
        if (cur_->digest) {
            in_flight_.back().dev = cur_->dev;
            in_flight_.back().ino = cur_->ino;
            in_flight_.back().digest_after = *cur_->digest;
        }
        in_flight_bytes_ += static_cast<std::size_t>(n);
        log::trace(prefix_, "APPEND request ", seq, ": ", n, " bytes of ", cur_->local_name, " up to offset ",
                   cur_->offset, " (", in_flight_bytes_, " bytes in flight)");
    }
    return true;
}

asio::awaitable<bool> transfer::flush() {
    if (out_size_ == 0) co_return true;
    auto ec = co_await stream_->write_all(asio::buffer(out_.get(), out_size_));
    out_size_ = 0;
    last_send_ = std::chrono::steady_clock::now();
    if (ec) {
        write_failed_ = true;
        if (!failed_ && !stream_->closed_by_us(ec)) {
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
        if (!cur_) {
            auto step = pick_trail();
            if (step == pick::reconnect) break;
            if (step == pick::again) continue;
        }
        bool at_eof = false, progressed = false;
        if (cur_) {
            if (!fill(at_eof)) {
                // Unreadable or truncated: tell the receiver to close it as it is.
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
        maybe_ask_head();
        bool had_output = out_size_ != 0;
        if (!co_await flush()) break;
        if (had_output || progressed) continue;
        bool window_full = in_flight_bytes_ >= options_.window;
        co_await wait(!window_full);
    }
}

} // namespace adist::sender
