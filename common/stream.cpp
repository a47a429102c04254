// Stream with deadlines (see stream.hpp). The watchdog follows Asio's
// "timeouts" example: one timer per connection re-armed to the nearest
// deadline, rather than one timer per operation.
#include "common/stream.hpp"

namespace adist::common {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Clears a deadline when the operation completes, however it completes.
struct deadline_guard {
    steady::time_point& slot;
    ~deadline_guard() { slot = steady::time_point::max(); }
};

} // namespace

stream::stream(tcp::socket socket) : timer_(socket.get_executor()) {
    plain_.emplace(std::move(socket));
}

stream::stream(tcp::socket socket, asio::ssl::context& ctx) : timer_(socket.get_executor()) {
    tls_.emplace(std::move(socket), ctx);
}

tcp::socket& stream::socket() {
    return tls_ ? tls_->next_layer() : *plain_;
}

SSL* stream::native_ssl() {
    return tls_ ? tls_->native_handle() : nullptr;
}

void stream::start_watchdog() {
    asio::co_spawn(
        timer_.get_executor(), [self = shared_from_this()] { return self->watchdog(); },
        asio::detached);
}

void stream::arm(steady::time_point& slot) {
    slot = steady::now() + timeout_;
    if (slot < timer_.expiry()) timer_.expires_at(slot); // wakes the watchdog to re-arm
}

asio::awaitable<void> stream::watchdog() {
    while (!closed_) {
        auto nearest = std::min(read_deadline_, write_deadline_);
        if (nearest <= steady::now()) {
            timed_out_ = true;
            close();
            co_return;
        }
        timer_.expires_at(nearest);
        co_await timer_.async_wait(tuple_awaitable);
    }
}

asio::awaitable<error_code> stream::connect(const tcp::endpoint& endpoint) {
    arm(write_deadline_);
    deadline_guard g{write_deadline_};
    auto [ec] = co_await socket().async_connect(endpoint, tuple_awaitable);
    co_return ec;
}

asio::awaitable<error_code> stream::handshake(asio::ssl::stream_base::handshake_type type) {
    if (!tls_) co_return error_code{};
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    auto [ec] = co_await tls_->async_handshake(type, tuple_awaitable);
    co_return ec;
}

asio::awaitable<error_code> stream::read_exact(asio::mutable_buffer buffer) {
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    error_code ec;
    if (tls_) {
        std::tie(ec, std::ignore) = co_await asio::async_read(*tls_, buffer, tuple_awaitable);
    } else {
        std::tie(ec, std::ignore) = co_await asio::async_read(*plain_, buffer, tuple_awaitable);
    }
    co_return ec;
}

asio::awaitable<std::pair<error_code, std::size_t>> stream::read_some(asio::mutable_buffer b) {
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    co_return co_await read_some_untimed(b);
}

asio::awaitable<std::pair<error_code, std::size_t>>
stream::read_some_untimed(asio::mutable_buffer b) {
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(b, tuple_awaitable)
                        : co_await plain_->async_read_some(b, tuple_awaitable);
    co_return std::pair{ec, n};
}

// The deadline is re-armed after every partial write: the timeout bounds a
// time without progress ("seconds without traffic", auditdistd.conf(5)), not
// the time a whole batch takes, which on a slow link may be longer.
asio::awaitable<error_code> stream::write_all(asio::const_buffer buffer) {
    deadline_guard g{write_deadline_};
    while (buffer.size() > 0) {
        arm(write_deadline_);
        auto [ec, n] = tls_ ? co_await tls_->async_write_some(buffer, tuple_awaitable)
                            : co_await plain_->async_write_some(buffer, tuple_awaitable);
        if (ec) co_return ec;
        buffer += n;
    }
    co_return error_code{};
}

asio::awaitable<void> stream::shutdown() {
    if (tls_ && !closed_) {
        arm(write_deadline_);
        deadline_guard g{write_deadline_};
        co_await tls_->async_shutdown(tuple_awaitable);
    }
    close();
}

void stream::close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    timer_.cancel();
}

} // namespace adist::common
