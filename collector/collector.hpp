// The collector role: a unix socket server in the collector process that
// takes one command per connection from `auditdistd log`, adds what the
// kernel says about the sender (peer_info), writes the record
// (record_file) and replies after write(); a timer syncs, checks for
// tampering, writes heartbeats and suppressed counts. Started by
// daemon/run.cpp when the configuration has a collector section.
// Threads: the event loop's, and a round_thread serving the fast path's
// rounds beside it; the role's state is touched under state_ only.
#pragma once

#include "collector/file_upkeep.hpp"
#include "collector/peer_info.hpp"
#include "collector/record_file.hpp"
#include "collector/request.hpp"
#include "collector/round_thread.hpp"
#include "collector/stream_status.hpp"
#include "collector/uid_limit.hpp"
#include "common/config.hpp"
#include "common/daemon_util.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace adist::collector {

namespace asio = boost::asio;

// A startup failure: the message and the sysexits code to exit with.
struct startup_error {
    std::string message;
    int code;
};

class collector_role {
  public:
    collector_role(asio::io_context& io, const common::config& cfg);

    // As root: directories, boot id, the socket, the files. `user` is the
    // collector process's user when privileges will be dropped, and
    // `dist_owner` the sender's (-u) user, which owns dist.
    std::optional<startup_error> setup(const std::string& user_name,
                                       std::optional<common::user_ids> user,
                                       std::optional<common::user_ids> dist_owner = {});
    // The collector process's fresh image (daemon/collector_process.cpp):
    // the socket bound before its exec, taken instead of binding again.
    // Before setup().
    std::optional<startup_error> adopt_listener(int fd);
    // The listening socket's descriptor (-1 before setup), for that exec.
    int listener() { return acceptor_.is_open() ? acceptor_.native_handle() : -1; }
    void start();
    void stop();
    bool idle() const {
        std::lock_guard lock(state_);
        return active_ == 0;
    }
    // on_tamper abort fired, or the files could not be opened: the daemon
    // exits non-zero (EX_DATAERR, EX_CANTCREAT).
    int exit_code() const { return exit_code_; }
    // SIGHUP: new limits and policies; reopens the directories and starts a
    // new file (logrotate). A changed socket or directory needs a restart.
    void reload(const common::config& next);
    // For `auditdistd status` (the collector's status socket).
    stream_status status() const;

  private:
    using local = asio::local::stream_protocol;
    static constexpr int max_clients = 4096;
    // One uid's share: a user opening connections without sending cannot
    // take the others' places.
    static constexpr int max_clients_per_uid = 256;
    // Connections taken per round: the other handlers (slow clients, the
    // tick) get their turn between rounds. At most sync_records of them, so
    // that the sync policy still bounds what one sync covers.
    static constexpr std::uint64_t round_max = 256;
    static std::uint64_t round_size(std::uint64_t sync_records);
    asio::awaitable<void> accept_loop();
    // The fast path (accept_batch.cpp): accepts what waits, handles each
    // whole request at once, writes their records with one write(), then
    // answers; the others go to serve(). An errno, and whether more may wait.
    struct accepted {
        int error = 0;
        bool more = false;
    };
    // A round on the event loop's thread (its caches).
    accepted accept_ready();
    // A round on the calling thread, with that thread's caches; takes
    // state_ for admission and for staging and writing.
    accepted serve_round(name_cache& names, ancestry_cache& parents);
    // The slow path (slow_client.cpp): one client, its request read in
    // whole or in part (`prefix`, what the round read); the rest read,
    // then answered.
    asio::awaitable<void> serve(local::socket socket, std::uint32_t uid, std::string prefix = {});
    struct slow_request {
        request_header head;
        std::string payload; // what is kept of it
        bool cut = false;    // longer than what is kept
    };
    // nullopt: malformed, cut short, or past the deadline (closed unanswered).
    asio::awaitable<std::optional<slow_request>> read_request(local::socket& sock,
                                                              std::string& prefix);
    // The reply, or nullopt (malformed: closed without one).
    asio::awaitable<std::optional<reply>> answer_request(const slow_request& req, int fd,
                                                         std::uint32_t uid);
    asio::awaitable<void> tick_loop();
    // The checks before the /proc work: a request ends here with a reply
    // (`early`), or malformed (neither), or goes on with its claimed block.
    struct admitted {
        std::optional<reply> early;
        std::optional<claimed_info> claimed;
    };
    admitted admit(request_kind kind, std::string_view payload, bool cut, std::uint32_t uid);
    // Under state_ (as are the rest below, but count_reply and note_error).
    // Stages the record of an admitted request (last_staged_: its batch).
    reply store(const claimed_info& claimed, const trusted_info& t);
    bool write_record(const std::string& line, std::int64_t now_ns);
    void flush_batch();
    void check_tamper(std::int64_t now_ns);
    void sync_now();
    void write_suppressed(std::int64_t now_ns);
    void replicate(const std::string& line, const trusted_info* t);
    // Logged, and the status's last error.
    void note_error(const std::string& error);
    // A reply about to be sent, counted for the status.
    void count_reply(reply r);

    asio::io_context& io_;
    // The role's state below, between the event loop's thread and the
    // round thread. Held for admission, staging and writing, the tick, a
    // reload and status; never across a /proc read or a reply. (cfg_ is
    // written by reload() only, on the event loop's thread, which may
    // therefore read it without the lock.)
    mutable std::mutex state_;
    common::collector_config cfg_;
    std::string host_;
    local::acceptor acceptor_;
    int acceptor_fd_ = -1;                // its descriptor, for the rounds (set by start())
    std::atomic<std::uint64_t> round_{1}; // round_size(cfg_.sync_records)
    std::optional<record_file> file_;
    uid_limit limit_;
    stream_tally tally_{"commands"};
    name_cache names_;
    ancestry_cache parents_; // the clients' parent chains (this thread's)
    // fdatasync off the thread that answers clients (its thread made at
    // start(), after the sandbox: threads inherit it).
    background_sync syncer_;
    // Commands are staged in the file and written together, one write()
    // per turn of the event loop: each client waits for its batch's write
    // before its ack (serve()).
    struct batch {
        bool done = false, ok = false;
    };
    std::shared_ptr<batch> batch_;       // the records staged since the last write
    std::shared_ptr<batch> last_staged_; // set by store(): the batch its record joined
    struct arrival { // an accepted client and what it sent, before admission
        common::unique_fd conn;
        ucred cred{};
        std::string got;
    };
    struct admitted_client { // a whole request of the fast path, its peer not read yet
        common::unique_fd fd;
        claimed_info claimed;
    };
    struct peer_job { // its peer to read
        int fd = -1;
        ucred cred{};
        trusted_info info;
    };
    struct answered { // a reply to send after the round
        common::unique_fd fd;
        reply r;
    };
    static std::optional<arrival> arrive(common::unique_fd conn);
    void admit_arrival(arrival& a, std::vector<admitted_client>& clients,
                       std::vector<peer_job>& jobs, std::vector<answered>& answers);
    void write_round(std::vector<admitted_client>& clients, const std::vector<peer_job>& jobs,
                     std::vector<answered>& answers);
    void hand_to_serve(common::unique_fd conn, std::uint32_t uid, std::string prefix);
    void uncount(std::uint32_t uid);
    std::chrono::steady_clock::time_point last_heartbeat_;
    std::atomic<bool> stopped_{false}; // read by the rounds without the lock
    bool failed_ = false; // on_tamper abort fired, or the files cannot be written
    int active_ = 0;
    std::unordered_map<std::uint32_t, int> per_uid_; // clients being served, by uid
    int exit_code_ = 0;
    // Last: stopped (joined) before anything it uses is destroyed.
    round_thread rounds_;
};

// UTC now in nanoseconds.
std::int64_t now_ns();

} // namespace adist::collector
