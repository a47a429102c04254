// The collector's fast path (collector.hpp, serve_round): every connection
// waiting on the socket is accepted in one go. `auditdistd log` sends its
// whole request right after connect(), so it is usually there already: it
// is read with one recv() and taken at once, without a coroutine, a timer
// or the event loop's bookkeeping; the peers of the round are read, the
// records of the whole round are written with one write() (flush_batch),
// and only then answered. A request not there in whole (slow client, long
// command) goes to serve() with what was read.
//
// Two threads serve rounds at once: the collector's own (accept_ready) and
// a round_thread, each with its own caches. What costs the most (accept,
// recv, the /proc reads, the replies) runs on both; admission and the
// staging and write of the records take turns under state_, so that the
// sequence numbers, the rate limit and the batches see one order.
#include "collector/collector.hpp"

#include "collector/peer_info.hpp"
#include "common/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>
#include <vector>

namespace adist::collector {
namespace {

// A request up to this size is read by the fast path.
constexpr std::size_t fast_request_max = 16384;

void answer(int fd, reply r) {
    char byte = char(r);
    // A fresh socket's buffer has room for one byte; a client that went
    // away gets nothing (MSG_NOSIGNAL: no SIGPIPE).
    (void)::send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

} // namespace

std::uint64_t collector_role::round_size(std::uint64_t sync_records) {
    return std::clamp<std::uint64_t>(sync_records, 1, round_max);
}

collector_role::accepted collector_role::accept_ready() {
    return serve_round(names_, parents_);
}

collector_role::accepted collector_role::serve_round(name_cache& names, ancestry_cache& parents) {
    accepted result;
    // Without the lock: who connected, and what they sent.
    std::vector<arrival> arrivals;
    const std::uint64_t round = round_.load(std::memory_order_relaxed);
    for (std::uint64_t i = 0; !stopped_.load(std::memory_order_relaxed); ++i) {
        if (i == round) {
            result.more = true;
            break;
        }
        common::unique_fd conn(
            ::accept4(acceptor_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!conn) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) result.error = errno;
            break;
        }
        if (auto a = arrive(std::move(conn))) arrivals.push_back(std::move(*a));
    }
    if (arrivals.empty()) return result;
    std::vector<admitted_client> clients;
    std::vector<peer_job> jobs;
    std::vector<answered> answers;
    {
        std::lock_guard lock(state_);
        for (auto& a : arrivals)
            admit_arrival(a, clients, jobs, answers);
    }
    // Every admitted client waits: their peers are read (without the lock,
    // with this thread's caches), then their records staged in the order
    // they came and written together.
    for (auto& j : jobs)
        j.info = read_peer(j.fd, names, parents, max_parents, &j.cred);
    if (!clients.empty()) {
        std::lock_guard lock(state_);
        write_round(clients, jobs, answers);
    }
    for (auto& a : answers)
        answer(a.fd.get(), a.r);
    return result; // the descriptors close here
}

// Under state_: the round's records staged in the order their clients came
// and written with one write(); each client's reply added to `answers`
// (written only if its batch's write succeeded).
void collector_role::write_round(std::vector<admitted_client>& clients,
                                 const std::vector<peer_job>& jobs,
                                 std::vector<answered>& answers) {
    std::vector<std::size_t> staged;
    std::vector<std::shared_ptr<batch>> batches;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        reply r = store(clients[i].claimed, jobs[i].info);
        auto b = std::exchange(last_staged_, nullptr);
        if (r == reply::written && b) {
            staged.push_back(answers.size());
            batches.push_back(std::move(b));
        } else {
            count_reply(r);
        }
        answers.push_back({std::move(clients[i].fd), r});
    }
    if (!staged.empty()) flush_batch(); // the round's records, with one write()
    for (std::size_t k = 0; k < staged.size(); ++k) {
        auto& a = answers[staged[k]];
        a.r = batches[k]->done && batches[k]->ok ? reply::written : reply::failed;
        count_reply(a.r);
    }
}

// What a client sent before its round is admitted; nullopt when it is gone
// already or its credentials cannot be asked (closed unanswered).
std::optional<collector_role::arrival> collector_role::arrive(common::unique_fd conn) {
    auto cred = peer_cred(conn.get());
    if (!cred) return std::nullopt;
    char buf[fast_request_max];
    ssize_t n = ::recv(conn.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return std::nullopt;
    return arrival{std::move(conn), *cred, std::string(buf, n > 0 ? std::size_t(n) : 0)};
}

// One arrived client, under state_: refused, answered at once, admitted
// (its peer is read with the round's, its record staged and answered after
// the round's write) or handed to serve().
void collector_role::admit_arrival(arrival& a, std::vector<admitted_client>& clients,
                                   std::vector<peer_job>& jobs, std::vector<answered>& answers) {
    std::uint32_t uid = a.cred.uid;
    std::string_view got = a.got;
    std::optional<request_header> head;
    if (got.size() >= request_header_size) {
        head = decode_request_header(got.substr(0, request_header_size));
        if (!head) return; // malformed: closed without an answer
    }
    if (!head || got.size() != request_header_size + head->length ||
        head->length > kept_payload(cfg_.max_record_size)) {
        // A client to wait for. Refused when full, or when this uid holds
        // its share of the waiting clients already (a user holding
        // connections open cannot take the others' places): answered
        // `suppressed` at once and counted in the uid's next suppressed
        // record, never dropped silently.
        if (auto it = per_uid_.find(uid);
            active_ >= max_clients || (it != per_uid_.end() && it->second >= max_clients_per_uid)) {
            limit_.refused(uid, std::chrono::steady_clock::now());
            count_reply(reply::suppressed);
            answers.push_back({std::move(a.conn), reply::suppressed});
            return;
        }
        hand_to_serve(std::move(a.conn), uid, std::move(a.got));
        return;
    }
    auto adm = admit(head->kind, got.substr(request_header_size), false, uid);
    if (adm.early) {
        count_reply(*adm.early);
        answers.push_back({std::move(a.conn), *adm.early});
        return;
    }
    if (!adm.claimed) return; // malformed: closed without an answer
    jobs.push_back({a.conn.get(), a.cred, {}});
    clients.push_back({std::move(a.conn), std::move(*adm.claimed)});
}

// Under state_: the client counts as served from now on (serve() uncounts
// it); its coroutine starts on the collector's thread, which owns the
// event loop's sockets.
void collector_role::hand_to_serve(common::unique_fd conn, std::uint32_t uid, std::string prefix) {
    auto owned = std::make_shared<common::unique_fd>(std::move(conn));
    asio::post(io_, [this, owned, uid, prefix = std::move(prefix)]() mutable {
        boost::system::error_code ec;
        local::socket sock(io_);
        sock.assign(local(), owned->get(), ec);
        if (ec) {
            std::lock_guard lock(state_);
            uncount(uid);
            return;
        }
        (void)owned->release();
        asio::co_spawn(io_, serve(std::move(sock), uid, std::move(prefix)), asio::detached);
    });
    // Counted once posted (a throwing post counts nothing); the handler
    // runs under state_, which the caller holds.
    ++active_;
    ++per_uid_[uid];
}

void collector_role::uncount(std::uint32_t uid) {
    --active_;
    if (--per_uid_[uid] == 0) per_uid_.erase(uid);
}

} // namespace adist::collector
