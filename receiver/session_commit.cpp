// A receiver session's requests and their replies (part of class session,
// session.hpp). Durability rule: a reply is written only after every byte it
// acknowledges has been fdatasync'ed (the committer's group commit); OPEN/
// CLOSE/ERROR are barriers that run after all earlier appends are committed,
// so a newer file never exists on disk before the older one is complete.
#include "receiver/session.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "proto/handshake.hpp"
#include "receiver/receiver.hpp"
#include "receiver/signed_head.hpp"

namespace adist::receiver {
using proto::reply_error;

void session::queue(std::uint64_t seq, reply_error err, bool needs_sync) {
    pending_.push_back({{seq, err}, needs_sync, false, std::nullopt});
    if (err != reply_error::ok) failed_ = true;
}

asio::awaitable<void> session::drain() {
    wake_committer();
    while ((committing_ || !pending_.empty()) && !stopping_) co_await drained_.wait();
}

void session::wake_committer() {
    if (committer_running_ || pending_.empty() || (stopping_ && !failed_)) return;
    committer_running_ = true;
    asio::co_spawn(stream_->socket().get_executor(),
                   [self = shared_from_this()] { return self->committer(); }, asio::detached);
}

// Runs a store operation that must not overlap a commit (OPEN, CLOSE,
// ERROR), after every earlier request has been committed and acked.
asio::awaitable<reply_error> session::barrier_call(proto::command cmd, std::string name,
                                                   std::optional<proto::file_digest> digest) {
    co_await drain();
    if (stopping_) co_return reply_error::write;
    auto* store = slot_->store.get();
    // A named lambda, not a temporary inside co_await: g++ 12 mishandles
    // temporaries with captures in co_await expressions.
    auto op = [store, cmd, &name, &digest] {
        switch (cmd) {
        case proto::command::open: return store->open(name);
        case proto::command::close: return store->close(name, digest ? &*digest : nullptr);
        default: return store->abort();
        }
    };
    auto err = co_await common::offload(owner_.pool(), op);
    // No commit runs now (drained, and this frame's reply is not queued yet):
    // with no trail open after a CLOSE, an ERROR or a failed OPEN, the store
    // lets its descriptors go until the next OPEN.
    store->release_idle();
    co_return err;
}

asio::awaitable<bool> session::handle(const proto::request& req) {
    slot_->last_heard = std::chrono::system_clock::now();
    if (!within_limits(req)) co_return false;
    auto* store = slot_->store.get();
    reply_error err = reply_error::ok;
    std::string name;
    switch (req.cmd) {
    case proto::command::append:
        err = store->append(req.payload);
        log::trace(prefix_, "APPEND request ", req.seq, ": ", req.payload.size(), " bytes to ",
                   store->open_name(), ": ", to_string(err));
        if (err == reply_error::ok) {
            slot_->usage.bytes += req.payload.size();
            slot_->counters.bytes += req.payload.size();
        }
        queue(req.seq, err, err == reply_error::ok);
        break;
    case proto::command::keepalive: queue(req.seq, err, false); break;
    case proto::command::head: co_await answer_head(req.seq); break;
    case proto::command::open:
    case proto::command::close:
    case proto::command::error:
        name = proto::payload_name(req);
        if (req.cmd == proto::command::error) name = store->open_name();
        if (req.cmd == proto::command::close && version_ >= 1) {
            err = co_await barrier_call(req.cmd, name, proto::payload_digest(req));
        } else {
            err = co_await barrier_call(req.cmd, name);
        }
        if (stopping_) co_return false;
        if (req.cmd == proto::command::error) {
            log::warning(prefix_, "the sender could not read ", name,
                         "; file closed under its current name");
        } else {
            log::info(prefix_, to_string(req.cmd), " ", log::printable(name), ": ", to_string(err));
        }
        if (req.cmd == proto::command::close && err == reply_error::ok) ++slot_->counters.files;
        queue(req.seq, err, false);
        break;
    }
    if (err == reply_error::digest_mismatch) {
        // Stored history differs from the source: evidence, never routine.
        log::alert(prefix_, "CLOSE ", log::printable(name), " refused: ", store->last_error());
    }
    if (err != reply_error::ok) {
        ++slot_->counters.refusals[std::string(to_string(err))];
        if (err != reply_error::digest_mismatch)
            log::error(prefix_, to_string(req.cmd), " refused (", to_string(err), "): ",
                       store->last_error());
        slot_->error(std::string(to_string(req.cmd)) + " refused (" + std::string(to_string(err)) +
                     "): " + store->last_error());
    }
    co_return err == reply_error::ok;
}

// Version 1's HEAD: the newest head the supervisor signed for this host's
// ledger, read from its heads file (the worker cannot sign one), answered
// in order with the other replies.
asio::awaitable<void> session::answer_head(std::uint64_t seq) {
    std::string dir = slot_->store->path();
    auto read = [&dir] { return newest_signed_head(dir); };
    auto head = co_await common::offload(owner_.pool(), read);
    log::trace(prefix_, "HEAD request ", seq, ": ", head ? "the newest signed head" : "no signed head yet");
    pending_.push_back({{seq, reply_error::ok}, false, true, head});
}

asio::awaitable<void> session::committer() {
    auto self = shared_from_this();
    std::vector<std::byte> out;
    bool idle = false; // nothing more pending: ends here, started again by the next replies
    for (;;) {
        if (pending_.empty() && !stopping_) {
            idle = true;
            break;
        }
        if (pending_.empty() || (stopping_ && !failed_)) break;
        committing_ = true;
        auto batch = std::move(pending_);
        pending_.clear();
        bool needs_sync = std::any_of(batch.begin(), batch.end(),
                                      [](const pending_reply& p) { return p.needs_sync; });
        if (needs_sync && options_.sync) {
            auto* store = slot_->store.get();
            auto sync = [store] { return store->sync_data(); };
            // Timed here, on the loop: the pool thread touches no counter.
            auto started = std::chrono::steady_clock::now();
            int err = co_await common::offload(owner_.pool(), sync);
            ++slot_->counters.fsyncs;
            auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - started);
            slot_->counters.fsync_ns += static_cast<std::uint64_t>(took.count());
            log::trace(prefix_, "group commit: one fdatasync (", took.count() / 1000, " us) for ",
                       batch.size(), " replies");
            if (err != 0) {
                // Nothing in this batch is known to be durable, or its
                // ledger entry found no room (a full disk; sync_data() did
                // not record that as a failed sync): refuse it all.
                bool lost = slot_->store->sync_failed();
                std::string what = "fdatasync failed: " + common::errno_text(err);
                if (!lost) {
                    what = "not acknowledged: no room in the ledger for this batch's entry (" +
                           common::errno_text(err) +
                           "); its bytes are stored, and a later commit records them once there "
                           "is room";
                }
                log::error(prefix_, what);
                slot_->error(what);
                ++slot_->counters.refusals[lost ? "fdatasync failed" : "no room for the ledger"];
                batch.resize(1);
                batch[0].reply.error = reply_error::write;
                failed_ = true;
            }
        }
        out.clear();
        bool batch_failed = false;
        for (auto& p : batch) {
            if (p.head_reply && p.reply.error == reply_error::ok) {
                proto::encode_head_reply(out, p.reply.seq, p.head);
            } else {
                proto::encode_reply(out, p.reply);
            }
            batch_failed = batch_failed || p.reply.error != reply_error::ok;
        }
        bool sent = !stopping_ && co_await send(out);
        // Data acknowledged: stored (and synced) APPENDs, not a batch of
        // keepalive replies, which only say the sender was heard from.
        if (sent && !batch_failed && needs_sync) slot_->last_data_ack = std::chrono::system_clock::now();
        committing_ = false;
        drained_.notify();
        // An error queued while this batch was committing goes out next round.
        if (!sent || batch_failed) break;
    }
    committing_ = false;
    committer_running_ = false;
    if (!idle && (failed_ || !stopping_)) stop();
    drained_.notify();
}

} // namespace adist::receiver
