// One sender connection on the receiver: TLS, the version-0 handshake, then
// the data phase. The reader applies requests to the host's trail store; a
// committer coroutine group-commits appends (one fdatasync for many) and only
// then sends their acks, in order. It runs while replies are pending and is
// started again by the next ones, so an idle connection holds no committer.
// The reader, too, runs in turns: a quiet connection waits for its next
// bytes with a plain handler, holding no coroutine frame and no buffer.
// Run by the receiver's io_context.
#pragma once

#include <boost/asio.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/async.hpp"
#include "common/stream.hpp"
#include "common/tls_version.hpp"
#include "proto/frame_codec.hpp"
#include "proto/handshake.hpp"
#include "proto/head_frame.hpp"

namespace adist::receiver {

namespace asio = boost::asio;
class receiver;
struct host_slot;

struct session_options {
    std::chrono::milliseconds timeout{20000};
    bool sync = true; // fdatasync before acks; off only for benchmarks
    int max_protocol = proto::max_protocol_version; // --protocol-version
};

class session : public std::enable_shared_from_this<session> {
public:
    session(receiver& owner, std::shared_ptr<common::stream> stream, std::string peer,
            std::string address, std::vector<host_slot*> candidates, session_options options,
            std::shared_ptr<asio::ssl::context> tls = nullptr);

    asio::awaitable<void> run();
    // Closes the connection; the session ends soon after (see finished()).
    void stop();
    bool finished() const { return finished_; }
    // Holds a pointer to `slot` (its own, or a candidate during the handshake).
    bool uses(const host_slot* slot) const;

private:
    struct pending_reply {
        proto::reply reply;
        bool needs_sync = false;
        // A HEAD's reply (version 1): the signed head follows the 11 bytes.
        bool head_reply = false;
        std::optional<proto::signed_head_bytes> head;
    };

    // The TLS handshake with the lowest tls_min_version of the candidates
    // (session_handshake.cpp); true for plain TCP.
    asio::awaitable<bool> tls_handshake();
    void tls_failed(const boost::system::error_code& ec, common::tls_version min);
    asio::awaitable<bool> handshake();
    proto::handshake_step find_host(proto::receiver_handshake& hs);
    asio::awaitable<bool> claim_slot(host_slot* slot);
    asio::awaitable<bool> send(std::vector<std::byte> bytes);
    // One turn of the data phase: reads and applies requests while bytes
    // come, started after the handshake (woke empty) and by each wait for
    // data (woke: its result). When the sender goes quiet the turn ends
    // and wait_for_data() waits with no coroutine held; when the data phase
    // ends, end() follows.
    asio::awaitable<void> data_phase(std::optional<boost::system::error_code> woke);
    void spawn_turn(std::optional<boost::system::error_code> woke);
    // Logs why the data phase's read ended (a timeout, the peer, FreeBSD's
    // close without close_notify after `partial` bytes of a frame).
    void report_read_end(const boost::system::error_code& ec, std::size_t partial);
    void wait_for_data();
    void turn_failed(const std::exception_ptr& e) noexcept;
    // The session's end: the committer sends what is queued, the store is
    // detached and the host's slot freed. Never throws: if a step does,
    // end_inline() does the rest.
    asio::awaitable<void> end();
    void end_inline() noexcept;
    bool holds_slot() const;
    void release_slot(int detach_error);
    asio::awaitable<bool> handle(const proto::request& req);
    asio::awaitable<void> answer_head(std::uint64_t seq);
    asio::awaitable<proto::reply_error> barrier_call(proto::command cmd, std::string name,
                                                     std::optional<proto::file_digest> digest = {});
    asio::awaitable<bool> resume_prefix(const std::string& name, std::uint64_t size,
                                        proto::sha256_digest& out);
    asio::awaitable<void> drain();
    // Starts the committer when replies wait and none runs (a running one
    // takes whatever is pending before it ends).
    void wake_committer();
    asio::awaitable<void> committer();
    void queue(std::uint64_t seq, proto::reply_error err, bool needs_sync);
    void finish();
    asio::awaitable<bool> measure_usage();
    // Applies the host's limits (host_limits.hpp) before an OPEN or APPEND;
    // false: refused (logged, counted, queued as an error reply).
    bool within_limits(const proto::request& req);

    receiver& owner_;
    // Declared before stream_: the context outlives the stream that uses it.
    std::shared_ptr<asio::ssl::context> tls_;
    std::shared_ptr<common::stream> stream_;
    std::string peer_;    // "IP:port" for the log
    std::string address_; // "IP": the key of the pre-authentication limits
    bool authenticated_ = false; // released its unauthenticated slot
    void authenticated();
    std::string prefix_;  // log prefix, gains the host name once known
    std::vector<host_slot*> candidates_;
    session_options options_;
    std::chrono::steady_clock::time_point accepted_;
    host_slot* slot_ = nullptr;
    std::uint64_t generation_ = 0;

    std::vector<pending_reply> pending_;
    bool committer_running_ = false;
    bool committing_ = false; // a batch is being synced and sent
    bool failed_ = false;    // an error reply is queued: stop after sending it
    bool stopping_ = false;
    bool finished_ = false;
    common::event drained_;
    bool unknown_name_ = false; // handshake continues with a decoy password
    int version_ = 0;           // protocol version agreed in the handshake
};

} // namespace adist::receiver
