// The sender's data phase over one authenticated connection: a writer that
// streams trail files (OPEN, APPENDs, CLOSE) with a window of requests in
// flight, and a reader that matches replies and unlinks a dist link once its
// CLOSE is acknowledged. Created by the uplink for each connection.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

#include "common/async.hpp"
#include "common/fd.hpp"
#include "common/stream.hpp"
#include "proto/frame_codec.hpp"
#include "proto/sha256_state.hpp"
#include "proto/head_frame.hpp"
#include "sender/dist_dir.hpp"
#include "sender/fanout_group.hpp"
#include "sender/link_status.hpp"
#include "sender/repeat_log.hpp"

namespace adist::sender {

struct transfer_options {
    std::size_t window = 8 * 1024 * 1024;           // bytes of APPEND payload in flight
    std::chrono::milliseconds keepalive{6000};      // idle interval before a KEEPALIVE
    std::chrono::seconds progress_interval{60};     // catch-up progress lines
    // How often a trail that cannot be sent, or a refusal that comes back,
    // is logged again while it lasts.
    std::chrono::seconds repeat_interval{600};
    // Version 1 with a ledger_key: how often the signed ledger head is asked
    // for (also after each acknowledged CLOSE, at most once a second).
    std::chrono::seconds receipt_interval{60};
};

class receipt_keeper;
class digest_checkpoint;

struct dist_context {
    int dir_fd = -1;
    std::string dir_path;
    dist_watch* watch = nullptr;
    common::event* wake = nullptr; // notified by the watcher; we notify it on acks
    dist_notes* notes = nullptr;   // the uplink's memory of odd entries and failures
    link_status* status = nullptr; // what `auditdistd status` shows
    repeat_log* repeats = nullptr; // lasting conditions, logged again once per period
    fanout_group* fanout = nullptr; // the receivers of this directory (one or more)
    std::string host;               // this receiver's host name in `fanout`
    uid_t other_owner = 0;          // files of this uid too (the collector's; 0: none)
    receipt_keeper* receipts = nullptr; // ledger_key given: signed heads kept here
    digest_checkpoint* checkpoint = nullptr; // version 1: the digest at the last ack
};

class transfer : public std::enable_shared_from_this<transfer> {
public:
    transfer(std::shared_ptr<common::stream> stream, dist_context dist, transfer_options options,
             std::string log_prefix);

    // The protocol version agreed in the handshake; in version 1 with the
    // SHA-256 of the receiver's first remote_size bytes of its newest trail.
    void set_protocol(int version, const proto::sha256_digest& remote_prefix) {
        version_ = version;
        remote_prefix_ = remote_prefix;
    }
    // Runs until the connection ends; the caller closes nothing itself.
    asio::awaitable<void> run(std::string remote_name, std::uint64_t remote_size);
    bool made_progress() const { return acked_ > 0; }
    // The receiver refused a request (the connection then ended).
    bool refused() const { return refused_; }

private:
    struct open_trail {
        common::unique_fd fd;
        std::string local_name;  // name in the dist directory when opened
        std::string remote_name; // name the receiver has it under
        dev_t dev = 0;
        ino_t ino = 0;
        std::uint64_t offset = 0;
        std::optional<std::string> renamed_to;
        bool vanished = false; // removed from dist while open: close, do not unlink
        // Since when it sits unchanged at its end while a newer trail exists.
        std::optional<std::chrono::steady_clock::time_point> left_behind_since;
        // Version 1: SHA-256 of the bytes read so far, from the file's start.
        std::optional<proto::sha256_state> digest;
    };
    // The receiver's newest trail, to be reopened at its size.
    struct continuation {
        std::string local_name;
        std::string remote_name;
        std::uint64_t offset = 0;
    };
    enum class open_result { opened, skipped, vanished, retry_later };
    struct in_flight {
        std::uint64_t seq;
        proto::command cmd;
        std::uint32_t bytes;
        std::string name; // OPEN/CLOSE name; for CLOSE, the dist link to unlink
        bool unlink = false;
        std::uint64_t offset = 0; // OPEN: where the data continues; CLOSE: the bytes sent
        dev_t dev = 0;            // CLOSE with unlink, version 1 APPEND: the file sent
        ino_t ino = 0;
        // Version 1 APPEND: the file's digest up to the end of these bytes.
        std::optional<proto::sha256_state> digest_after{};
    };

    asio::awaitable<void> writer(std::string remote_name, std::uint64_t remote_size);
    asio::awaitable<void> reader();
    std::size_t take_reply(std::span<const std::byte> in, bool& ok);
    bool on_reply(const proto::reply& r);
    // Receipts (receipt_request.cpp): a HEAD request when one is due, its reply.
    void maybe_ask_head();
    bool on_head_reply(const proto::head_reply& r);
    void note_refusal(const in_flight& req, proto::reply_error error);
    bool start_resume(const std::string& remote_name, std::uint64_t remote_size);
    open_result open_local(const std::string& local, const std::string& remote,
                           std::uint64_t offset);
    bool fill(bool& at_eof);
    bool handle_eof();
    // What writer() does next when no trail is open.
    enum class pick { again, go_on, reconnect };
    pick pick_trail();
    bool left_behind();
    void report_older(const std::vector<std::string>& local);
    open_result skip(const std::string& local, std::string why, bool logged = false);
    bool truncated();
    void wake_at(std::chrono::steady_clock::time_point t);
    void queue_name(proto::command cmd, const std::string& name, bool unlink,
                    std::uint64_t offset = 0, const proto::file_digest* digest = nullptr);
    bool check_prefix(open_trail& t, std::uint64_t remote_size, std::string* why);
    bool hash_prefix(open_trail& t, std::uint64_t size, std::string* why);
    void queue_close(const std::string& name, bool unlink);
    void note_ack(const in_flight& req);
    void note_data_sent();
    void log_progress(std::uint64_t req_bytes);
    asio::awaitable<bool> flush();
    asio::awaitable<void> wait(bool idle);
    void unlink_shipped(const in_flight& close);
    bool others_need(const in_flight& close);
    void replaced_after_open(const std::string& name);
    bool dist_removed() const;
    void fail();

    std::shared_ptr<common::stream> stream_;
    dist_context dist_;
    transfer_options options_;
    std::string prefix_;
    int version_ = 0;
    proto::sha256_digest remote_prefix_{};
    std::uint64_t remote_size_ = 0; // of the receiver's newest trail

    std::optional<open_trail> cur_;
    std::optional<continuation> resume_; // not yet reopened (retrying)
    // The receiver's newest trail was not in the listing at the resume (a
    // rename under way hides both names from one listing): later listings
    // look for it until a newer trail is opened.
    std::optional<continuation> unlisted_;
    std::optional<std::chrono::steady_clock::time_point> wake_at_; // a retry is due
    std::string last_; // newest trail finished or being continued
    // The next socket write: frames built in place, file data pread() straight
    // into it. A plain buffer, not a vector: resize() would zero-fill every
    // byte just before pread() overwrites it (1 GiB of memset per GiB).
    std::unique_ptr<std::byte[]> out_;
    std::size_t out_size_ = 0;
    std::vector<std::byte> frame_; // one encoded OPEN/CLOSE/KEEPALIVE/ERROR
    void queue_frame();            // appends frame_ to out_
    std::deque<in_flight> in_flight_;
    std::size_t in_flight_bytes_ = 0;
    std::uint64_t next_seq_ = 1;
    std::uint64_t acked_ = 0;
    std::optional<std::chrono::steady_clock::time_point> head_asked_at_;
    bool head_in_flight_ = false;
    bool close_acked_since_head_ = false;
    std::chrono::steady_clock::time_point last_send_;
    bool failed_ = false;
    bool refused_ = false;
    bool reader_done_ = false;
    bool write_failed_ = false; // the last flush() failed (the receiver may have closed)
    common::event reader_finished_;
};

} // namespace adist::sender
