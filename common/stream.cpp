// Stream with deadlines (see stream.hpp). The watchdog follows Asio's
// "timeouts" example: one timer per connection re-armed to the nearest
// deadline, rather than one timer per operation.
#include "common/stream.hpp"
#include "common/async.hpp"

#include <algorithm>
#include <cerrno>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdexcept>

namespace adist::common {
namespace {

// Bytes OpenSSL reads from the socket per recv() (read-ahead buffer).
constexpr std::size_t tls_read_ahead = 64 * 1024;

// Clears a deadline when the operation completes, however it completes.
struct deadline_guard {
    steady::time_point& slot;
    ~deadline_guard() { slot = steady::time_point::max(); }
};

} // namespace

stream::stream(tcp::socket socket) : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

stream::stream(tcp::socket socket, asio::ssl::context& ctx)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
    ssl_ = ::SSL_new(ctx.native_handle());
    if (ssl_ == nullptr) throw std::runtime_error("SSL_new failed");
    // Partial writes: write_all() sees progress per record (its deadline is
    // about progress). Released buffers: an idle connection holds none.
    ::SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    // Read ahead: one recv() fetches several records, not one header and one body.
    ::SSL_set_read_ahead(ssl_, 1);
    ::SSL_set_default_read_buffer_len(ssl_, tls_read_ahead);
}

stream::~stream() {
    if (ssl_ != nullptr) ::SSL_free(ssl_);
}

tcp::socket& stream::socket() {
    return socket_;
}

SSL* stream::native_ssl() {
    return ssl_;
}

void stream::start_watchdog() { watch(); }

void stream::arm(steady::time_point& slot) {
    slot = steady::now() + timeout_;
    if (slot < timer_.expiry()) timer_.expires_at(slot); // wakes the watchdog to re-arm
}

void stream::set_overall_deadline(steady::time_point t) {
    overall_deadline_ = t;
    if (t < timer_.expiry()) timer_.expires_at(t); // wakes the watchdog to re-arm
}

// A plain completion handler rather than a coroutine: an idle connection
// then holds one small wait operation, not a spawned coroutine's frames
// (about 0.7 KiB of the receiver's memory per idle sender).
void stream::watch() {
    if (closed_) return;
    auto nearest = std::min({read_deadline_, write_deadline_, overall_deadline_});
    if (nearest <= steady::now()) {
        timed_out_ = true;
        close();
        return;
    }
    timer_.expires_at(nearest);
    timer_.async_wait([self = shared_from_this()](const error_code&) { self->watch(); });
}

asio::awaitable<error_code> stream::connect(const tcp::endpoint& endpoint) {
    arm(write_deadline_);
    deadline_guard g{write_deadline_};
    auto [ec] = co_await socket().async_connect(endpoint, tuple_awaitable);
    co_return ec;
}

asio::awaitable<error_code> stream::handshake(asio::ssl::stream_base::handshake_type type) {
    if (ssl_ == nullptr) co_return error_code{};
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    error_code ec;
    socket_.non_blocking(true, ec); // OpenSSL calls never block the io thread
    if (ec) co_return ec;
    if (::SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
        co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    }
    if (type == asio::ssl::stream_base::client) {
        ::SSL_set_connect_state(ssl_);
    } else {
        ::SSL_set_accept_state(ssl_);
    }
    for (;;) {
        if (closed_) co_return asio::error::operation_aborted;
        ::ERR_clear_error();
        int r = ::SSL_do_handshake(ssl_);
        if (r == 1) co_return error_code{};
        if (auto e = co_await await_tls(::SSL_get_error(ssl_, r)); e) co_return e;
    }
}

asio::awaitable<error_code> stream::await_tls(int ssl_error) {
    asio::socket_base::wait_type wait{};
    switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
        wait = asio::socket_base::wait_read;
        break;
    case SSL_ERROR_WANT_WRITE:
        wait = asio::socket_base::wait_write;
        break;
    case SSL_ERROR_ZERO_RETURN:
        co_return asio::error::eof; // close_notify
    case SSL_ERROR_SYSCALL: {
        int err = errno;
        ::ERR_clear_error();
        // No errno: the peer closed the TCP connection without close_notify.
        if (err == 0) co_return asio::ssl::error::stream_truncated;
        co_return error_code(err, asio::error::get_system_category());
    }
    default: {
        auto code = ::ERR_get_error();
        ::ERR_clear_error();
        if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            co_return asio::ssl::error::stream_truncated;
        }
        if (code == 0) co_return asio::ssl::error::unspecified_system_error;
        co_return error_code(static_cast<int>(code), asio::error::get_ssl_category());
    }
    }
    // After close(): the socket is gone, and so is the SSL object's fd.
    if (closed_) co_return asio::error::operation_aborted;
    auto [ec] = co_await socket_.async_wait(wait, tuple_awaitable);
    if (!ec && closed_) ec = asio::error::operation_aborted;
    co_return ec;
}

asio::awaitable<error_code> stream::read_exact(asio::mutable_buffer buffer) {
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    while (buffer.size() > 0) {
        auto [ec, n] = co_await read_some_untimed(buffer);
        if (ec) co_return ec;
        buffer += n;
    }
    co_return error_code{};
}

asio::awaitable<std::pair<error_code, std::size_t>> stream::read_some(asio::mutable_buffer b) {
    arm(read_deadline_);
    deadline_guard g{read_deadline_};
    co_return co_await read_some_untimed(b);
}

bool stream::readable_now() {
    if (closed_) return true; // read_some() reports it at once
    if (ssl_ != nullptr && ::SSL_has_pending(ssl_) == 1) return true;
    // A flowing stream has bytes waiting: no trip through the reactor.
    pollfd p{static_cast<int>(socket_.native_handle()), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

void stream::when_readable(std::function<void(error_code)> done) {
    if (closed_) {
        asio::post(socket_.get_executor(),
                   [done = std::move(done)] { done(asio::error::operation_aborted); });
        return;
    }
    arm(read_deadline_);
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this(), done = std::move(done)](error_code ec) {
                           self->read_deadline_ = steady::time_point::max();
                           if (!ec && self->closed_) ec = asio::error::operation_aborted;
                           done(ec);
                       });
}

// TLS: after the first record, takes what OpenSSL already holds (read-ahead)
// without another recv(), so one call returns up to a read-ahead's worth.
asio::awaitable<std::pair<error_code, std::size_t>>
stream::read_some_untimed(asio::mutable_buffer b) {
    if (ssl_ == nullptr) {
        auto [ec, n] = co_await socket_.async_read_some(b, tuple_awaitable);
        co_return std::pair{ec, n};
    }
    if (b.size() == 0) co_return std::pair{error_code{}, std::size_t{0}};
    for (;;) {
        // After close() the descriptor number may belong to someone else.
        if (closed_)
            co_return std::pair{error_code(asio::error::operation_aborted), std::size_t{0}};
        std::size_t n = 0;
        ::ERR_clear_error();
        int r = ::SSL_read_ex(ssl_, b.data(), b.size(), &n);
        if (r == 1) {
            std::size_t total = n;
            while (total < b.size() && ::SSL_has_pending(ssl_) == 1) {
                auto* at = static_cast<char*>(b.data()) + total;
                if (::SSL_read_ex(ssl_, at, b.size() - total, &n) != 1) {
                    ::ERR_clear_error(); // the next call reports it
                    break;
                }
                total += n;
            }
            co_return std::pair{error_code{}, total};
        }
        if (auto ec = co_await await_tls(::SSL_get_error(ssl_, r)); ec) {
            co_return std::pair{ec, std::size_t{0}};
        }
    }
}

// The deadline is re-armed after every partial write: the timeout bounds a
// time without progress ("seconds without traffic", auditdistd.conf(5)), not
// the time a whole batch takes, which on a slow link may be longer.
asio::awaitable<error_code> stream::write_all(asio::const_buffer buffer) {
    deadline_guard g{write_deadline_};
    while (buffer.size() > 0) {
        arm(write_deadline_);
        if (ssl_ == nullptr) {
            auto [ec, n] = co_await socket_.async_write_some(buffer, tuple_awaitable);
            if (ec) co_return ec;
            buffer += n;
            continue;
        }
        if (closed_) co_return asio::error::operation_aborted;
        std::size_t n = 0;
        ::ERR_clear_error();
        int r = ::SSL_write_ex(ssl_, buffer.data(), buffer.size(), &n);
        if (r == 1) {
            buffer += n;
            continue;
        }
        if (auto ec = co_await await_tls(::SSL_get_error(ssl_, r)); ec) co_return ec;
    }
    co_return error_code{};
}

// Sends our close_notify (bounded by the timeout) and closes; it does not
// wait for the peer's.
asio::awaitable<void> stream::shutdown() {
    if (ssl_ != nullptr && !closed_ && ::SSL_get_fd(ssl_) >= 0) {
        arm(write_deadline_);
        deadline_guard g{write_deadline_};
        for (int i = 0; i < 8; ++i) {
            ::ERR_clear_error();
            int r = ::SSL_shutdown(ssl_);
            if (r >= 0) break; // 0: sent ours; 1: both sent
            int e = ::SSL_get_error(ssl_, r);
            if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) break;
            if (co_await await_tls(e)) break;
        }
        ::ERR_clear_error();
    }
    close();
}

void stream::close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
}

std::string stream::tls_summary() {
    SSL* ssl = native_ssl();
    if (ssl == nullptr) return "plain TCP";
    const char* cipher = ::SSL_get_cipher_name(ssl);
    return std::string(::SSL_get_version(ssl)) + ", " + (cipher ? cipher : "no cipher");
}

} // namespace adist::common
