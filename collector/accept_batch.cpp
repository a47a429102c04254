// The collector's fast path (collector.hpp, accept_ready): every connection
// waiting on the socket is accepted in one go. `auditdistd log` sends its
// whole request right after connect(), so it is usually there already: it
// is read with one recv() and taken at once, without a coroutine, a timer
// or the event loop's bookkeeping; the peers of the round are read on two
// threads (peer_reader), the records of the whole round are written with
// one write() (flush_batch), and only then answered. A
// request not there in whole (slow client, long command) goes to serve()
// with what was read. Runs on the collector's thread.
#include "collector/collector.hpp"

#include "collector/peer_info.hpp"
#include "common/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>
#include <vector>

namespace adist::collector {
namespace {

// Connections taken per round: the other handlers (slow clients, the
// tick) get their turn between rounds. At most sync_records of them, so
// that the sync policy still bounds what one sync covers.
constexpr std::uint64_t round_max = 256;
// A request up to this size is read by the fast path.
constexpr std::size_t fast_request_max = 16384;

void answer(int fd, reply r) {
    char byte = char(r);
    // A fresh socket's buffer has room for one byte; a client that went
    // away gets nothing (MSG_NOSIGNAL: no SIGPIPE).
    (void)::send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

} // namespace

collector_role::accepted collector_role::accept_ready() {
    std::vector<admitted_client> clients;
    std::vector<peer_reader::job> jobs;
    accepted result;
    const std::uint64_t round = std::clamp<std::uint64_t>(cfg_.sync_records, 1, round_max);
    for (std::uint64_t i = 0; !stopped_; ++i) {
        if (i == round) {
            result.more = true;
            break;
        }
        common::unique_fd conn(
            ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!conn) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) result.error = errno;
            break;
        }
        take_connection(std::move(conn), clients, jobs);
    }
    if (clients.empty()) return result;
    // Every client of the round waits: their peers are read together (on
    // two threads), then their records staged in the order they came.
    readers_.read(jobs, names_, parents_);
    std::vector<waiting> staged;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        reply r = store(clients[i].claimed, jobs[i].info);
        auto b = std::exchange(last_staged_, nullptr);
        if (r == reply::written && b)
            staged.push_back({std::move(clients[i].fd), std::move(b)});
        else
            answer(clients[i].fd.get(), r);
        if (r != reply::written) count_reply(r);
    }
    if (staged.empty()) return result;
    flush_batch(); // the round's records, with one write()
    for (auto& w : staged) {
        reply r = w.b->done && w.b->ok ? reply::written : reply::failed;
        count_reply(r);
        answer(w.fd.get(), r);
    }
    return result;
}

// One accepted client: refused, answered at once, admitted (its peer is
// read with the round's, its record staged and answered after the round's
// write) or handed to serve().
void collector_role::take_connection(common::unique_fd conn, std::vector<admitted_client>& clients,
                                     std::vector<peer_reader::job>& jobs) {
    // Closed unanswered when full, or when this uid holds its share of the
    // clients already: the client gives up quietly, the others pass.
    auto cred = peer_cred(conn.get());
    if (!cred || active_ >= max_clients) return;
    std::uint32_t uid = cred->uid;
    if (auto it = per_uid_.find(uid); it != per_uid_.end() && it->second >= max_clients_per_uid)
        return;
    char buf[fast_request_max];
    ssize_t n = ::recv(conn.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return; // gone
    std::string_view got(buf, n > 0 ? std::size_t(n) : 0);
    std::optional<request_header> head;
    if (got.size() >= request_header_size) {
        head = decode_request_header(got.substr(0, request_header_size));
        if (!head) return; // malformed: closed without an answer
    }
    if (!head || got.size() != request_header_size + head->length ||
        head->length > kept_payload(cfg_.max_record_size)) {
        boost::system::error_code ec;
        local::socket sock(io_);
        sock.assign(local(), conn.get(), ec);
        if (ec) return;
        (void)conn.release();
        asio::co_spawn(io_, serve(std::move(sock), uid, std::string(got)), asio::detached);
        return;
    }
    auto a = admit(head->kind, got.substr(request_header_size), false, uid);
    if (a.early) {
        count_reply(*a.early);
        answer(conn.get(), *a.early);
        return;
    }
    if (!a.claimed) return; // malformed: closed without an answer
    jobs.push_back({conn.get(), *cred, {}});
    clients.push_back({std::move(conn), std::move(*a.claimed)});
}

} // namespace adist::collector
