// Small coroutine building blocks shared by both roles: an event that one
// coroutine signals and others await, and offload() to run a blocking call
// (fdatasync, fsync, rename) on a thread pool without stalling the io_context.
#pragma once

#include <boost/asio.hpp>

#include <type_traits>
#include <utility>

namespace adist::common {

namespace asio = boost::asio;

// co_await op(..., tuple_awaitable): the error code comes back as a value
// in a tuple instead of an exception.
inline constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// A level-triggered wake-up: notify() wakes every current waiter, and a
// notify() with no waiter is remembered for the next wait(). Waiters must
// re-check their condition (a wake-up may be shared or early). The timer's
// expiry is only changed when nobody waits: re-arming it would cancel the
// other waiters, which would then re-arm it in turn, forever.
class event {
public:
    explicit event(const asio::any_io_executor& ex) : timer_(ex) {
        timer_.expires_at(asio::steady_timer::time_point::max());
    }
    void notify() {
        set_ = true;
        timer_.cancel();
    }
    // Returns when notified (immediately if notified since the last wait).
    asio::awaitable<void> wait() {
        if (!set_) {
            ++waiters_;
            co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
            --waiters_;
        }
        set_ = false;
    }
    // Like wait(), but gives up after `d` (only when it is the sole waiter);
    // returns true when notified.
    template <typename Duration> asio::awaitable<bool> wait_for(Duration d) {
        if (!set_) {
            if (waiters_ == 0) timer_.expires_after(d);
            ++waiters_;
            auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
            --waiters_;
            if (waiters_ == 0) timer_.expires_at(asio::steady_timer::time_point::max());
            if (!ec && !set_) co_return false;
        }
        set_ = false;
        co_return true;
    }

private:
    asio::steady_timer timer_;
    bool set_ = false;
    int waiters_ = 0;
};

// Runs f() on `pool` and resumes the awaiting coroutine on its own executor
// with the result. f must not touch state the io_context thread mutates.
template <typename F>
asio::awaitable<std::invoke_result_t<F>> offload(asio::thread_pool& pool, F f) {
    using result = std::invoke_result_t<F>;
    // A coroutine (not a plain function returning the awaitable) so that `f`
    // lives in this frame until the pool has run it.
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(result)>(
        [&pool, &f](auto handler) {
            auto work = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(pool, [&f, handler = std::move(handler), work = std::move(work)]() mutable {
                result r = f();
                auto ex = work.get_executor();
                asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
                    std::move(handler)(std::move(r));
                });
            });
        },
        asio::use_awaitable);
}

} // namespace adist::common
