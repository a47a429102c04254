// The sudo side of the collector: a root-only unix socket where the sudo
// I/O plugin (sudo/) holds one connection per session; each frame is
// checked (sudo_session), written to the sudo stream's trail files
// (record_file) and acknowledged after write(); a timer syncs, checks for
// tampering and writes heartbeats. Started by daemon/run.cpp when the
// configuration has a sudo section, in the same worker as the collector.
#pragma once

#include "collector/collector.hpp"
#include "collector/file_upkeep.hpp"
#include "collector/record_file.hpp"
#include "collector/stream_status.hpp"
#include "collector/sudo_session.hpp"
#include "common/config.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace adist::collector {

class sudo_role {
  public:
    sudo_role(asio::io_context& io, const common::config& cfg);

    // As root: directories, the socket (root's, 0600), the files.
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
    int exit_code() const { return exit_code_; }
    // SIGHUP: new sync, heartbeat and tamper settings; a new file.
    void reload(const common::config& next);
    // For `auditdistd status` (the collector's status socket).
    stream_status status() const;

  private:
    using local = asio::local::stream_protocol;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(local::socket socket, sudo_peer peer);
    asio::awaitable<void> tick_loop();
    // Writes one record; false when it is not in the file.
    bool write_record(const std::string& line, std::int64_t now_ns);
    void check_tamper(std::int64_t now_ns);
    void sync_now();
    // Logged, and the status's last error.
    void note_error(const std::string& error);

    asio::io_context& io_;
    common::collector_config cfg_;
    std::string host_;
    local::acceptor acceptor_;
    std::optional<record_file> file_;
    stream_tally tally_{"sudo"};
    background_sync syncer_;
    std::chrono::steady_clock::time_point last_heartbeat_;
    bool stopped_ = false;
    bool failed_ = false;
    int active_ = 0;
    int exit_code_ = 0;
};

// A new session id: 32 hex digits from the system's random source.
std::string new_session_id();

} // namespace adist::collector
