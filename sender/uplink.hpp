// One configured receiver (`host` in the sender section): connect, verify the
// pinned certificate fingerprint before sending anything, prove the password,
// run a transfer, and reconnect with capped exponential backoff and jitter.
// The sender role runs one uplink coroutine per host on the daemon's io_context.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/async.hpp"
#include "common/config.hpp"
#include "common/reload.hpp"
#include "common/fd.hpp"
#include "sender/dist_dir.hpp"
#include "sender/fanout_group.hpp"
#include "sender/receipt_keeper.hpp"
#include "sender/transfer.hpp"

namespace adist::sender {

struct uplink_options {
    std::chrono::milliseconds timeout{20000};
    int max_protocol = proto::max_protocol_version; // --protocol-version
    transfer_options transfer;
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30000};
    // The collector process's uid (0: none) and its dist directories, whose
    // files belong to it: shipped like root's and our own.
    uid_t collector_uid = 0;
    std::vector<std::string> collector_dists;
    // Version 1: where each host's digest checkpoint is kept across
    // restarts (a file named after the host; "": in memory only).
    std::string digest_state_dir;
};

class uplink {
public:
    // `fanout`: the receivers of the host's directory, this one among them;
    // `receipts`: where its signed heads are kept (null: no ledger_key);
    // `checkpoint`: its digest at the last ack (null: version 0 only).
    uplink(asio::io_context& io, std::string own_name, common::sender_host host,
           asio::ssl::context& tls, uplink_options options, std::shared_ptr<fanout_group> fanout,
           std::shared_ptr<receipt_keeper> receipts = nullptr,
           std::shared_ptr<digest_checkpoint> checkpoint = nullptr);
    ~uplink();

    void start();
    void stop();
    bool running() const { return running_; }
    const std::string& name() const { return host_.name; }
    common::host_status status() const;
    // The uplink that replaces `old` on a reload keeps what the status
    // counts since the start, and when data was last acknowledged.
    void carry_over(const uplink& old) {
        status_.counters = old.status_.counters;
        status_.last_data_ack = old.status_.last_data_ack;
        status_.last_heard = old.status_.last_heard;
    }

private:
    asio::awaitable<void> run();
    asio::awaitable<bool> open_dist();
    bool dist_still_current() const;
    asio::awaitable<std::shared_ptr<common::stream>> connect();
    asio::awaitable<bool> verify_receiver(common::stream& s);
    // The agreed version and the receiver's resume point (in version 1 with
    // the SHA-256 of its stored prefix) go to *result.
    struct resume_point {
        std::string name;
        std::uint64_t size = 0;
        int version = 0;
        proto::sha256_digest prefix{};
    };
    asio::awaitable<bool> handshake(common::stream& s, resume_point& result);
    void note_resume(const std::string& cursor);
    asio::awaitable<void> pause(std::chrono::milliseconds d);
    std::chrono::milliseconds next_backoff();

    asio::io_context& io_;
    std::string own_name_;
    common::sender_host host_;
    asio::ssl::context& tls_;
    uplink_options options_;
    std::string prefix_;
    common::unique_fd dist_fd_;
    common::event wake_;
    dist_watch watch_;
    dist_notes notes_; // odd dist entries reported, unopenable trails retried
    repeat_log repeats_; // trails that cannot be sent and refusals, logged again per period
    link_status status_;
    std::shared_ptr<fanout_group> fanout_;
    std::shared_ptr<receipt_keeper> receipts_;
    std::shared_ptr<digest_checkpoint> checkpoint_;
    std::shared_ptr<common::stream> stream_;
    std::chrono::milliseconds backoff_{0};
    std::mt19937_64 rng_{std::random_device{}()};
    bool stopping_ = false;
    bool running_ = false;
};

} // namespace adist::sender
