// One connection's byte stream, TLS or plain TCP, with a deadline watchdog:
// every read and write that talks to a peer runs under a deadline, and the
// socket is closed when it passes. Used by the receiver sessions and the
// sender uplinks; results are error codes, not exceptions.
//
// TLS runs OpenSSL directly on the non-blocking socket (SSL_set_fd) and waits
// for readiness with Asio, instead of asio::ssl::stream: that one moves every
// 16 KiB record through a BIO pair and two extra copies, costs one coroutine
// round trip per record and keeps ~70 KiB of buffers per connection. Here
// OpenSSL reads ahead 64 KiB per recv() and releases its buffers when idle.
// OpenSSL writes with write(), not send(MSG_NOSIGNAL): the process must
// ignore SIGPIPE (daemon/run.cpp does).
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace adist::common {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

class stream : public std::enable_shared_from_this<stream> {
public:
    // Plain TCP.
    explicit stream(tcp::socket socket);
    // TLS over `socket`; `ctx` must outlive the stream.
    stream(tcp::socket socket, asio::ssl::context& ctx);

    ~stream();
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    bool is_tls() const { return ssl_ != nullptr; }
    tcp::socket& socket();
    SSL* native_ssl(); // nullptr for plain TCP
    // "TLSv1.3, TLS_AES_256_GCM_SHA384" once the handshake is done; "plain TCP"
    // without TLS (for -d logging).
    std::string tls_summary();

    // Starts the watchdog; call once after construction (needs shared_ptr).
    void start_watchdog();
    // Each awaiting operation below runs with this much time to complete.
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
    std::chrono::milliseconds timeout() const { return timeout_; }
    bool timed_out() const { return timed_out_; }
    // The operation ended because we closed the stream (stopping, a reload),
    // not because of the peer or a timeout: worth an info line, not a warning.
    bool closed_by_us(const boost::system::error_code& ec) const {
        return ec == boost::asio::error::operation_aborted && !timed_out_;
    }
    // One deadline over many operations (the receiver's accept-to-
    // authenticated limit): the stream is closed when it passes, whatever
    // the per-operation deadlines say. time_point::max() clears it.
    void set_overall_deadline(steady::time_point t);

    asio::awaitable<error_code> connect(const tcp::endpoint& endpoint);
    asio::awaitable<error_code> handshake(asio::ssl::stream_base::handshake_type type);
    // Reads exactly buffer.size() bytes.
    asio::awaitable<error_code> read_exact(asio::mutable_buffer buffer);
    // Reads whatever is available (at least one byte).
    asio::awaitable<std::pair<error_code, std::size_t>> read_some(asio::mutable_buffer buffer);
    // True when read_some() would not wait: OpenSSL holds bytes, or the
    // socket has bytes, its end or an error to report.
    bool readable_now();
    // Waits, under the same deadline as read_some(), until read_some() has
    // something to take, holding no buffer and no coroutine: `done` runs
    // once, on the stream's executor, with the wait's result
    // (operation_aborted once the stream is closed). A quiet connection
    // then costs one pending wait (the receiver's thousands of idle senders).
    // Call it only when readable_now() is false: the reactor reports bytes
    // that arrive after the call, not those already there.
    void when_readable(std::function<void(error_code)> done);
    asio::awaitable<error_code> write_all(asio::const_buffer buffer);
    // Best-effort TLS close_notify, bounded by the timeout, then close.
    asio::awaitable<void> shutdown();
    // Closes the socket now; pending operations complete with an error.
    void close();

private:
    asio::awaitable<std::pair<error_code, std::size_t>> read_some_untimed(asio::mutable_buffer b);
    // Waits until an OpenSSL call that returned `ssl_error` (WANT_READ or
    // WANT_WRITE) can make progress; any other value becomes an error code.
    asio::awaitable<error_code> await_tls(int ssl_error);
    void arm(steady::time_point& slot);
    void watch(); // the watchdog: closes at the nearest deadline, else waits for it

    tcp::socket socket_;
    SSL* ssl_ = nullptr; // owned; nullptr for plain TCP
    asio::steady_timer timer_;
    steady::time_point read_deadline_ = steady::time_point::max();
    steady::time_point write_deadline_ = steady::time_point::max();
    steady::time_point overall_deadline_ = steady::time_point::max();
    std::chrono::milliseconds timeout_{20000};
    bool timed_out_ = false;
    bool closed_ = false;
};

} // namespace adist::common
