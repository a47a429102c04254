// What the command and sudo streams both do to keep their open file sound:
// fdatasync on a thread of its own, one at a time, off the thread that
// answers clients; and the tamper alert when the file is not what was
// written. Each role decides what follows an alert (on_tamper). Used by
// collector.cpp and sudo_role.cpp on their io_context thread.
#pragma once

#include "collector/record_file.hpp"
#include "common/config_collector.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace adist::collector {

namespace asio = boost::asio;

class background_sync {
  public:
    // `label` starts each log line ("collector", "sudo"); a failed sync is
    // logged and also told to `on_error` (the role's status), on the
    // io_context's thread.
    background_sync(asio::io_context& io, std::string label,
                    std::function<void(const std::string&)> on_error = {})
        : io_(io), label_(std::move(label)), on_error_(std::move(on_error)) {}
    // The thread (after the sandbox: threads inherit it).
    void start();
    // Waits for a sync in flight; later syncs run on the calling thread.
    void stop();
    // Syncs what `file` has written: on the thread when started and none is
    // running (records written meanwhile wait for the next), else at once.
    // `where` names the file in an error.
    void sync(record_file& file, const std::string& where);

  private:
    asio::io_context& io_;
    std::string label_;
    std::function<void(const std::string&)> on_error_;
    std::unique_ptr<asio::thread_pool> pool_;
    void failed(const std::string& error);
    // running_: set by sync() (under the role's lock), cleared on the
    // event loop when the sync is done.
    std::atomic<bool> running_{false};
    bool stopped_ = false;
};

// The tamper check before each batch and at each tick. When the open file
// is not what was written, the problem is logged at alert level and to
// syslog (authpriv) as "<label>: <directory>/<file> was tampered with", and
// then, as `policy` says: abort sends the daemon SIGTERM (the role exits
// EX_DATAERR); continue starts a new file and writes a tamper record in it
// with `write` (the role's own, which knows its batches). `*problem` says
// what was wrong (unless sound).
enum class tamper_outcome { sound, continued, aborted, failed };
tamper_outcome check_tamper(record_file& file, const std::string& label,
                            const std::string& directory, common::collector_tamper policy,
                            std::int64_t now_ns,
                            const std::function<bool(const std::string&)>& write,
                            std::string* problem);
// A role's state after check_tamper: `failed` set when the stream can no
// longer write, `exit_code` EX_DATAERR after an abort. True when a tamper
// record was written, which the role then syncs.
bool settle_tamper(tamper_outcome outcome, bool& failed, int& exit_code);

} // namespace adist::collector
