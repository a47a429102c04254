// The collector's slow path (collector.hpp, serve): a client whose request
// was not there in whole when its round read it (a slow client, a long
// command). One coroutine on the event loop's thread reads the rest within
// request_deadline (what is over kept_payload is read and dropped), then
// answers it as the fast path does: admission and staging under state_,
// its peer read without the lock, the reply after its batch's write().
#include "collector/collector.hpp"
#include "common/async.hpp"

#include <algorithm>
#include <cstring>

namespace adist::collector {

using namespace std::chrono_literals;
namespace {
using common::tuple_awaitable;
// A client that has not sent its request by then is dropped: the shell's
// client gives up after 200 ms anyway.
constexpr auto request_deadline = 2s;

// Copies into `out` what the round read already (`prefix`, consumed);
// returns how many bytes. The socket gives the rest.
std::size_t take_prefix(char* out, std::size_t n, std::string& prefix) {
    std::size_t had = std::min(n, prefix.size());
    std::memcpy(out, prefix.data(), had);
    prefix.erase(0, had);
    return had;
}

} // namespace

// GCC 12 warns wrongly about Asio's coroutine frame (its operator new takes
// the coroutine's arguments: GCC bug 109224) once serve() grew its prefix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<void> collector_role::serve(local::socket accepted, std::uint32_t uid,
                                            std::string prefix) {
    // Counted by hand_to_serve(); uncounted at the end.
    auto sock = std::make_shared<local::socket>(std::move(accepted));
    asio::steady_timer deadline(io_, request_deadline);
    deadline.async_wait([sock](boost::system::error_code ec) {
        if (!ec) sock->close(ec);
    });
    auto request = co_await read_request(*sock, prefix);
    std::optional<reply> r;
    // The client is blocked on its reply: its pid and /proc are read now.
    if (request && sock->is_open())
        r = co_await answer_request(*request, sock->native_handle(), uid);
    if (r) {
        count_reply(*r);
        char byte = char(*r);
        co_await asio::async_write(*sock, asio::buffer(&byte, 1), tuple_awaitable);
    }
    deadline.cancel();
    std::lock_guard lock(state_);
    uncount(uid);
}

asio::awaitable<std::optional<collector_role::slow_request>>
collector_role::read_request(local::socket& sock, std::string& prefix) {
    std::string header(request_header_size, '\0');
    boost::system::error_code ec;
    std::size_t n = 0;
    if (auto had = take_prefix(header.data(), header.size(), prefix); had < header.size())
        std::tie(ec, n) = co_await asio::async_read(
            sock, asio::buffer(header.data() + had, header.size() - had), tuple_awaitable);
    std::optional<request_header> head;
    if (!ec) head = decode_request_header(header);
    if (!head) co_return std::nullopt;
    // What is kept is read; the rest of a longer payload is read and dropped
    // (memory per client stays bounded).
    slow_request out{*head, {}, false};
    std::size_t keep = std::min<std::size_t>(head->length, kept_payload(cfg_.max_record_size));
    out.cut = keep < head->length;
    out.payload.resize(keep);
    if (auto had = take_prefix(out.payload.data(), keep, prefix); had < keep)
        std::tie(ec, n) = co_await asio::async_read(
            sock, asio::buffer(out.payload.data() + had, keep - had), tuple_awaitable);
    std::size_t left = head->length - keep;
    char scratch[65536];
    while (!ec && left > 0) {
        std::size_t chunk = std::min(left, sizeof scratch);
        if (auto had = take_prefix(scratch, chunk, prefix); had < chunk)
            std::tie(ec, n) = co_await asio::async_read(
                sock, asio::buffer(scratch + had, chunk - had), tuple_awaitable);
        left -= chunk;
    }
    if (ec) co_return std::nullopt;
    co_return out;
}

asio::awaitable<std::optional<reply>> collector_role::answer_request(const slow_request& req,
                                                                     int fd, std::uint32_t uid) {
    admitted a;
    {
        std::lock_guard lock(state_);
        a = admit(req.head.kind, req.payload, req.cut, uid);
    }
    if (a.early || !a.claimed) co_return a.early; // answered, or malformed
    // This thread's caches, without the lock.
    auto t = read_peer(fd, names_, parents_, max_parents);
    std::shared_ptr<batch> b;
    reply r;
    {
        std::lock_guard lock(state_);
        r = store(*a.claimed, t);
        b = std::exchange(last_staged_, nullptr);
    }
    if (b && r == reply::written) {
        // Behind the batch's flush, posted when it began.
        co_await asio::post(io_, asio::use_awaitable);
        std::lock_guard lock(state_);
        if (!b->done) flush_batch(); // b is then the oldest, open batch
        if (!b->ok) r = reply::failed;
    }
    co_return r;
}
#pragma GCC diagnostic pop

} // namespace adist::collector
