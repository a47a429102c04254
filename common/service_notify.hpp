// Telling the service manager (systemd's Type=notify) where the daemon is:
// ready, reloading, stopping. sd_notify(3) from libsystemd; without
// NOTIFY_SOCKET (not started by systemd) each call does nothing. Called by
// the process systemd started: the root supervisor, or the daemon itself
// when it runs without one; a supervised worker tells its supervisor
// instead (worker_ready_byte on the control channel).
#pragma once

#include <string_view>

namespace adist::common {

// The one message a worker sends its supervisor: "serving" (at start, and
// after each reload, applied or refused).
inline constexpr char worker_ready_byte = 'R';

void notify_ready();
// Before a reload; READY=1 follows when it is done.
void notify_reloading();
void notify_stopping();
// A line for `systemctl status`.
void notify_status(std::string_view text);

} // namespace adist::common
