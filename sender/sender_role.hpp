// The sender role: one uplink per configured receiver (`host` in the sender
// section) on the daemon's io_context, and one fan-out group per dist
// directory that its hosts share (fanout_group.hpp).
#pragma once

#include "common/config.hpp"
#include "common/reload.hpp"
#include "common/status.hpp"
#include "sender/fanout_group.hpp"
#include "sender/uplink.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace adist::sender {

class sender_role {
  public:
    sender_role(asio::io_context& io, const common::config& cfg, uplink_options options);
    void start();
    void stop();
    // True once every uplink has finished (after stop()).
    bool idle() const;
    // Applies a new configuration (SIGHUP) as planned by plan_reload: removed
    // and changed hosts' uplinks stop; added and changed ones start, each
    // after the uplink it replaces has stopped (they share the dist
    // directory). Uplinks of unchanged hosts keep their connections.
    void reload(const common::config& next, const common::reload_plan& plan,
                uplink_options options);
    std::vector<common::host_status> status() const;

  private:
    asio::awaitable<void> start_after(std::shared_ptr<uplink> next);
    // The fan-out group of each dist directory of `cfg`, configured with its
    // hosts (groups of directories no host takes any more are dropped).
    void configure_groups(const common::config& cfg);
    std::shared_ptr<fanout_group> group(const std::string& directory);
    // The receipt keeper of a host with a ledger_key (null without): opened
    // at the start, before the privilege drop; kept across reloads.
    std::shared_ptr<receipt_keeper> receipts(const common::sender_host& h);
    // The digest checkpoint of a host (null when version 1 is off): its file
    // opened at the start, before the privilege drop; kept across reloads.
    std::shared_ptr<digest_checkpoint> checkpoint(const common::sender_host& h,
                                                  const uplink_options& options);

    asio::io_context& io_;
    asio::ssl::context tls_;
    std::vector<std::shared_ptr<uplink>> uplinks_;
    std::vector<std::shared_ptr<uplink>> retired_;                // stopping after a reload
    std::map<std::string, std::shared_ptr<fanout_group>> groups_; // by dist directory
    std::map<std::string, std::shared_ptr<receipt_keeper>> receipts_; // by receipt file
    std::map<std::string, std::shared_ptr<digest_checkpoint>> checkpoints_; // by host name
    bool stopping_ = false;
    bool may_open_files_ = true; // only while constructing: before the drop and the sandbox
};

} // namespace adist::sender
