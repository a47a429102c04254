// The transfer's reader (see transfer.hpp): decodes the receiver's replies,
// matches them to the requests in flight, keeps the status up to date and,
// on a CLOSE ack, has the dist link unlinked.
#include "sender/transfer.hpp"
#include "sender/digest_checkpoint.hpp"

#include <cstring>
#include <optional>
#include <span>
#include <vector>
#include "common/log.hpp"
#include "proto/frame_codec.hpp"

namespace adist::sender {
using proto::command;

asio::awaitable<void> transfer::reader() {
    auto self = shared_from_this();
    std::vector<std::byte> buf(64 * 1024);
    std::size_t have = 0;
    while (!failed_) {
        auto [ec, n] = co_await stream_->read_some(asio::buffer(buf.data() + have, buf.size() - have));
        if (ec) {
            if (!failed_ && stream_->closed_by_us(ec)) {
                log::info(prefix_, "connection closed (stopping or reloading)");
            } else if (!failed_) {
                // FreeBSD's receiver stops without a TLS shutdown: say so,
                // not just "stream truncated", which reads like lost data.
                std::string why =
                    stream_->timed_out() ? "timed out (no traffic within the timeout)"
                    : ec == asio::ssl::error::stream_truncated
                        ? "the receiver closed it without a TLS shutdown (as FreeBSD's "
                          "auditdistd does when it stops); nothing is lost: the transfer "
                          "resumes from the receiver's resume point after reconnecting"
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
            auto used = take_reply(std::span(buf.data() + off, have - off), ok);
            if (used == 0) break;
            off += used;
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

// One reply from the front of `in` (a HEAD's is longer than the others):
// the bytes it took, 0 when more are needed or the bytes are not a reply
// (then `ok` is false). `ok` is also false when the reply ends the connection.
std::size_t transfer::take_reply(std::span<const std::byte> in, bool& ok) {
    std::optional<proto::decode_error> bad;
    std::size_t used = 0;
    if (!in_flight_.empty() && in_flight_.front().cmd == command::head) {
        auto result = proto::decode_head_reply(in);
        if (auto* d = std::get_if<proto::decoded<proto::head_reply>>(&result)) {
            used = d->consumed;
            ok = on_head_reply(d->frame);
        } else if (auto* e = std::get_if<proto::decode_error>(&result)) {
            bad = *e;
        }
    } else {
        auto result = proto::decode_reply(in, version_);
        if (auto* d = std::get_if<proto::decoded<proto::reply>>(&result)) {
            used = d->consumed;
            ok = on_reply(d->frame);
        } else if (auto* e = std::get_if<proto::decode_error>(&result)) {
            bad = *e;
        }
    }
    if (bad) {
        log::error(prefix_, "protocol violation by the receiver: ", to_string(*bad));
        dist_.status->error("protocol violation by the receiver");
        ok = false;
    }
    return used;
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
        note_refusal(req, r.error);
        return false;
    }
    note_ack(req);
    // Progress means data or a whole file made durable; an acked OPEN or
    // KEEPALIVE alone does not (a full disk acks the OPEN, refuses the APPEND).
    if (req.cmd == command::append || req.cmd == command::close) ++acked_;
    if (req.cmd == command::close && req.unlink) unlink_shipped(req);
    if (req.cmd == command::close) close_acked_since_head_ = true;
    return true;
}

// A refusal, whatever its code (the rules, a name the receiver does not
// accept, its per-host limits, a full disk): the receiver closes the
// connection and the uplink reconnects after a backoff that a refusal does
// not reset. The status always shows it; the log line comes the first time
// and then once per repeat interval while the same refusal comes back, not on
// every retry.
void transfer::note_refusal(const in_flight& req, proto::reply_error error) {
    refused_ = true;
    // Nor does a CLOSE still in flight behind it prove anything: FreeBSD's
    // receiver goes on after a failed request, and may close the trail.
    if (dist_.fanout != nullptr) {
        if (req.cmd == command::close) dist_.fanout->close_refused(dist_.host, req.name);
        for (const auto& later : in_flight_)
            if (later.cmd == command::close) dist_.fanout->close_refused(dist_.host, later.name);
    }
    std::string what = "the receiver refused " + std::string(to_string(req.cmd)) +
                       (req.name.empty() ? "" : " ") + req.name + ": " +
                       std::string(to_string(error));
    dist_.status->error(what);
    dist_.status->last_heard = std::chrono::system_clock::now();
    ++dist_.status->counters.refusals[std::string(to_string(error))];
    if (error == proto::reply_error::digest_mismatch) {
        // The receiver holds something else than this file: evidence of
        // tampering there, never routine. The link stays (no unlink without
        // an acknowledged CLOSE).
        log::alert(prefix_, what, "; leaving the link in place");
    } else if (dist_.repeats->due("refused:" + what, std::chrono::steady_clock::now())) {
        log::error(prefix_, what, "; retrying with backoff (this line is repeated every ",
                   dist_.repeats->period().count() / 1000, " s while it lasts)");
    } else {
        log::debug(prefix_, what);
    }
}

// The first data sent after the last data ack starts a wait: a host idle
// for hours whose new data is on its way is not stalled (status_check).
void transfer::note_data_sent() {
    auto& st = *dist_.status;
    if (!st.waiting_since || (st.last_data_ack && *st.last_data_ack >= *st.waiting_since)) {
        st.waiting_since = std::chrono::system_clock::now();
    }
}

// Keeps the status (what is acknowledged) and, during a catch-up, the
// progress lines up to date.
void transfer::note_ack(const in_flight& req) {
    auto& st = *dist_.status;
    // Heard from on any reply; data acknowledged only on OPEN, APPEND or
    // CLOSE, so that keepalives do not hide a receiver that stores nothing.
    st.last_heard = std::chrono::system_clock::now();
    if (req.cmd == command::open || req.cmd == command::append || req.cmd == command::close) {
        st.last_data_ack = st.last_heard;
    }
    switch (req.cmd) {
    case command::open:
        st.acked_file = req.name;
        st.acked_offset = req.offset;
        log::debug(prefix_, "the receiver acknowledged OPEN ", req.name);
        break;
    case command::append:
        if (req.digest_after && dist_.checkpoint != nullptr) {
            bool open = cur_ && cur_->dev == req.dev && cur_->ino == req.ino;
            dist_.checkpoint->acknowledged(req.dev, req.ino, *req.digest_after,
                                           open ? cur_->fd.get() : -1,
                                           std::chrono::steady_clock::now());
        }
        st.acked_offset += req.bytes;
        st.acked_total += req.bytes;
        st.counters.bytes += req.bytes;
        log_progress(req.bytes);
        // At -dd only: bench/run's latency figure pairs this monotonic
        // timestamp with the time it appended to the trail file.
        log::trace(prefix_, "acked ", st.acked_file, " offset ", st.acked_offset, " monotonic_ns ",
                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count());
        break;
    case command::close:
        log::debug(prefix_, "the receiver acknowledged CLOSE ", req.name, " (stored and synced)");
        st.last_closed = req.name;
        ++st.counters.files;
        st.acked_file.clear();
        st.acked_offset = 0;
        break;
    default: break;
    }
}

} // namespace adist::sender
