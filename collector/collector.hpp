// The collector role: a unix socket server inside the daemon's worker that
// takes one command per connection from `auditdistd log`, adds what the
// kernel says about the sender (peer_info), writes the record
// (record_file) and replies after write(); a timer syncs, checks for
// tampering, writes heartbeats and suppressed counts. Started by
// daemon/run.cpp when the configuration has a collector section.
#pragma once

#include "collector/file_upkeep.hpp"
#include "collector/peer_info.hpp"
#include "collector/peer_reader.hpp"
#include "collector/record_file.hpp"
#include "collector/request.hpp"
#include "collector/stream_status.hpp"
#include "collector/uid_limit.hpp"
#include "common/config.hpp"
#include "common/daemon_util.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
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
    bool idle() const { return active_ == 0; }
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
    asio::awaitable<void> accept_loop();
    // The fast path (accept_batch.cpp): accepts what waits, handles each
    // whole request at once, writes their records with one write(), then
    // answers; the others go to serve(). An errno, and whether more may wait.
    struct accepted {
        int error = 0;
        bool more = false;
    };
    accepted accept_ready();
    // One client, its request read in whole or in part (`prefix`, what
    // accept_ready() read).
    asio::awaitable<void> serve(local::socket socket, std::uint32_t uid, std::string prefix = {});
    asio::awaitable<void> tick_loop();
    // One whole request of a client on `fd`: the reply, or nullopt
    // (malformed: closed without one).
    std::optional<reply> handle(request_kind kind, std::string_view payload, bool cut, int fd,
                                std::uint32_t uid);
    // The checks before the /proc work: a request ends here with a reply
    // (`early`), or malformed (neither), or goes on with its claimed block.
    struct admitted {
        std::optional<reply> early;
        std::optional<claimed_info> claimed;
    };
    admitted admit(request_kind kind, std::string_view payload, bool cut, std::uint32_t uid);
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
    common::collector_config cfg_;
    std::string host_;
    local::acceptor acceptor_;
    std::optional<record_file> file_;
    uid_limit limit_;
    stream_tally tally_{"commands"};
    name_cache names_;
    ancestry_cache parents_; // the clients' parent chains
    peer_reader readers_;    // the fast path's rounds, on two threads
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
    struct waiting { // a client whose record waits for its batch's write
        common::unique_fd fd;
        std::shared_ptr<batch> b;
    };
    struct admitted_client { // a whole request of the fast path, its peer not read yet
        common::unique_fd fd;
        claimed_info claimed;
    };
    void take_connection(common::unique_fd conn, std::vector<admitted_client>& clients,
                         std::vector<peer_reader::job>& jobs);
    std::chrono::steady_clock::time_point last_heartbeat_;
    bool stopped_ = false;
    bool failed_ = false; // on_tamper abort fired, or the files cannot be written
    int active_ = 0;
    std::unordered_map<std::uint32_t, int> per_uid_; // clients being served, by uid
    int exit_code_ = 0;
};

// UTC now in nanoseconds.
std::int64_t now_ns();

} // namespace adist::collector
