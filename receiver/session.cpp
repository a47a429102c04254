// Receiver session (see session.hpp): its life from the handshake to the
// end, and the data phase's turns, which read and decode the frames (each
// request is handled in session_commit.cpp).
#include "receiver/session.hpp"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "common/log.hpp"
#include "proto/handshake.hpp"
#include "receiver/receiver.hpp"

namespace adist::receiver {

namespace {
// Bounds the replies waiting for a commit, so a peer that never reads its
// replies cannot grow our memory (TCP backpressure does the rest).
constexpr std::size_t max_pending_replies = 16384;
// The read buffer grows to hold a whole frame (64 KiB + header) and up to
// read_buffer_size while data flows, and shrinks back to idle_buffer_size
// when the peer goes quiet (a keepalive), so that thousands of idle
// connections stay cheap.
constexpr std::size_t read_buffer_size = 192 * 1024;
constexpr std::size_t idle_buffer_size = 4 * 1024;

// After a decode stopped for more bytes: grow for a frame bigger than the
// buffer, or when the read filled the buffer (data is flowing).
void grow_read_buffer(std::vector<std::byte>& buf, std::size_t needed, bool filled) {
    if (needed <= buf.size() && !filled) return;
    auto size = std::min(read_buffer_size, std::max(needed, 2 * buf.size()));
    if (size > buf.size()) buf.resize(size);
}
} // namespace

session::session(receiver& owner, std::shared_ptr<common::stream> stream, std::string peer,
                 std::string address, std::vector<host_slot*> candidates, session_options options,
                 std::shared_ptr<asio::ssl::context> tls)
    : owner_(owner), tls_(std::move(tls)), stream_(std::move(stream)), peer_(std::move(peer)),
      address_(std::move(address)), prefix_("[" + peer_ + "] "),
      candidates_(std::move(candidates)), options_(options),
      accepted_(std::chrono::steady_clock::now()),
      drained_(stream_->socket().get_executor()) {}

void session::stop() {
    stopping_ = true;
    stream_->close();
    drained_.notify();
}

bool session::uses(const host_slot* slot) const {
    return slot_ == slot ||
           std::find(candidates_.begin(), candidates_.end(), slot) != candidates_.end();
}

void session::finish() {
    authenticated(); // gone: no longer counts as authenticating either
    finished_ = true;
}

void session::authenticated() {
    if (authenticated_) return;
    authenticated_ = true;
    owner_.release_unauthenticated(address_);
}

asio::awaitable<bool> session::send(std::vector<std::byte> bytes) {
    if (bytes.empty()) co_return true;
    auto ec = co_await stream_->write_all(asio::buffer(bytes));
    if (ec) log::info(prefix_, "connection lost while sending: ", ec.message());
    co_return !ec;
}

asio::awaitable<void> session::run() {
    auto self = shared_from_this();
    // Until the data phase takes over, however run() ends (an exception
    // too): finished, and no longer holding an unauthenticated slot.
    struct finish_guard {
        session* s;
        bool armed = true;
        ~finish_guard() {
            if (armed) s->finish();
        }
    } guard{this};
    stream_->set_timeout(options_.timeout);
    // One deadline from accept to the proof of the password, not one per
    // read: a peer dribbling bytes just within each read's timeout would
    // otherwise hold an unauthenticated slot for several timeouts.
    stream_->set_overall_deadline(accepted_ + options_.timeout);
    stream_->start_watchdog();
    // One step per statement: g++ 12 miscompiles co_await chains in &&.
    bool ready = co_await tls_handshake();
    if (ready) ready = co_await handshake();
    guard.armed = false; // end() and the data phase finish it now
    if (!ready) {
        co_await end();
        co_return;
    }
    spawn_turn(std::nullopt);
}

// Never throws: a turn that cannot even start (no memory) ends the session.
void session::spawn_turn(std::optional<boost::system::error_code> woke) {
    try {
        asio::co_spawn(stream_->socket().get_executor(), data_phase(woke),
                       [self = shared_from_this()](const std::exception_ptr& e) {
                           if (e) self->turn_failed(e);
                       });
    } catch (...) {
        turn_failed(std::current_exception());
    }
}

void session::wait_for_data() {
    stream_->when_readable(
        [self = shared_from_this()](boost::system::error_code ec) { self->spawn_turn(ec); });
}

// A turn of the data phase threw (out of memory, say): the session ends
// as it would after an error, its host's store detached and its slot free
// (end() never throws; end_inline() when end() cannot even start).
void session::turn_failed(const std::exception_ptr& e) noexcept {
    try {
        log::error(prefix_,
                   "closing the connection after an internal error: ", log::exception_text(e));
    } catch (...) {
    }
    stop();
    try {
        // The handler keeps the session alive until end() has run.
        asio::co_spawn(stream_->socket().get_executor(), end(),
                       [self = shared_from_this()](const std::exception_ptr&) {});
    } catch (...) {
        end_inline();
    }
}

asio::awaitable<void> session::data_phase(std::optional<boost::system::error_code> woke) {
    std::vector<std::byte> buf;
    std::size_t have = 0;
    while (!failed_ && !stopping_) {
        boost::system::error_code ec;
        std::size_t n = 0;
        // Between frames of a quiet stream: this turn ends and the wait for
        // the next bytes holds no buffer and no coroutine (an idle sender
        // costs the receiver only its TLS and session state). A stream
        // whose buffer grew keeps it, and its turn, while it flows.
        if (have == 0 && buf.size() <= idle_buffer_size) {
            buf = std::vector<std::byte>();
            if (woke) {
                ec = *woke;
                woke.reset();
            } else if (!stream_->readable_now()) {
                wait_for_data();
                co_return;
            }
            if (!ec) buf.resize(idle_buffer_size);
        }
        if (!ec) {
            std::tie(ec, n) =
                co_await stream_->read_some(asio::buffer(buf.data() + have, buf.size() - have));
        }
        if (ec) {
            report_read_end(ec, have);
            break;
        }
        bool filled = have + n == buf.size();
        have += n;
        std::size_t off = 0;
        bool keepalives_only = false; // this read held KEEPALIVEs and nothing else
        bool data = false;
        while (!failed_ && !stopping_) {
            auto result = proto::decode_request(std::span(buf.data() + off, have - off), version_);
            if (auto* more = std::get_if<proto::need_more>(&result)) {
                grow_read_buffer(buf, more->bytes, filled);
                data = true;
                break;
            }
            if (auto* err = std::get_if<proto::decode_error>(&result)) {
                log::warning(prefix_, "protocol violation: ", to_string(*err), "; closing");
                slot_->error(std::string("protocol violation: ") + std::string(to_string(*err)));
                stopping_ = true;
                break;
            }
            auto& d = std::get<proto::decoded<proto::request>>(result);
            keepalives_only = d.frame.cmd == proto::command::keepalive && !data;
            data = data || !keepalives_only;
            if (!co_await handle(d.frame)) break;
            off += d.consumed;
        }
        std::memmove(buf.data(), buf.data() + off, have - off);
        have -= off;
        // Only when the sender is quiet (it sends KEEPALIVEs): shrinking
        // between the reads of a flowing stream would churn the allocator.
        if (keepalives_only && have == 0 && buf.size() > idle_buffer_size) {
            buf = std::vector<std::byte>(); // quiet: give the memory back
        }
        wake_committer();
        while (pending_.size() > max_pending_replies && !stopping_) co_await drained_.wait();
    }
    co_await end();
}

void session::report_read_end(const boost::system::error_code& ec, std::size_t partial) {
    if (stream_->timed_out()) {
        log::warning(prefix_, "no data for ", options_.timeout.count() / 1000,
                     " s, closing the connection");
        slot_->error("no data for " + std::to_string(options_.timeout.count() / 1000) +
                     " s, connection closed");
    } else if (!stopping_) {
        // `stream truncated` is how FreeBSD's sender stops: say what it means.
        log::info(prefix_, ec == asio::ssl::error::stream_truncated
                               ? common::closed_without_tls_shutdown(partial)
                               : "connection closed: " + ec.message());
    }
}

asio::awaitable<void> session::end() {
    auto self = shared_from_this();
    try {
        // Let the committer send what is already queued (an error reply, or
        // acks of synced data), then stop it.
        if (!stopping_) co_await drain();
        stopping_ = true;
        wake_committer(); // an error reply still queued goes out
        // committing_ implies committer_running_.
        while (committer_running_)
            co_await drained_.wait();
        stream_->close();
        if (holds_slot()) {
            auto* store = slot_->store.get();
            auto detach = [store] { return store->detach(); };
            release_slot(co_await common::offload(owner_.pool(), detach));
        }
        owner_.session_ended();
    } catch (...) {
        // However it ends: the host's slot freed, finished, and no longer
        // holding an unauthenticated slot of its address.
        try {
            log::error(prefix_, "internal error while closing the connection: ",
                       log::exception_text(std::current_exception()));
        } catch (...) {
        }
        end_inline();
        co_return;
    }
    finish();
}

bool session::holds_slot() const {
    return slot_ != nullptr && slot_->active.get() == this;
}

void session::release_slot(int detach_error) {
    auto* store = slot_->store.get();
    if (detach_error != 0) {
        log::error(prefix_, "cannot sync ", store->path(), ": ", common::errno_text(detach_error));
    }
    store->release_idle();
    slot_->active.reset();
    slot_->since = std::chrono::system_clock::now();
}

// end() without a coroutine, for when end() could not start or threw: the
// store is detached here, on the loop (a sync, on a path that should never
// run), so that the host is not left held by a session that is gone.
void session::end_inline() noexcept {
    stopping_ = true;
    stream_->close();
    try {
        if (holds_slot()) release_slot(slot_->store->detach());
        owner_.session_ended();
    } catch (...) {
    }
    finish();
}

} // namespace adist::receiver
