// One sudo session on the collector: the decider that checks each frame
// against what came before (sequence, one open first, stream offsets,
// nothing after the close) and encodes its record line, sealed with its
// CRC-32 (docs/sudo.md, "Records"). Pure; driven by collector/sudo_role.cpp.
#pragma once

#include "collector/record.hpp"
#include "collector/sudo_frame.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace adist::collector {

// Who connected (SO_PEERCRED): sudo's pid and uid (0).
struct sudo_peer {
    std::int64_t pid = 0;
    std::uint32_t uid = 0;
};

// A frame's outcome: its record line, or why the session is dropped.
struct sudo_step {
    std::string line;
    std::string error; // non-empty: nothing is written, the connection ends
};

class sudo_session {
  public:
    sudo_session(std::string id, sudo_peer peer) : id_(std::move(id)), peer_(peer) {}

    sudo_step step(const sudo_frame& f, const record_base& b);

    // The record that ends a session whose connection went away without a
    // close frame (`reason`: "disconnected", "bad frame: ...").
    std::string lost(const record_base& b, std::string_view reason) const;

    bool opened() const { return opened_; }
    bool closed() const { return closed_; }
    const std::string& id() const { return id_; }

  private:
    std::string id_;
    sudo_peer peer_;
    bool opened_ = false, closed_ = false;
    std::uint64_t next_seq_ = 0;
    std::uint64_t last_elapsed_ = 0;
    std::array<std::uint64_t, 5> offsets_{};
};

} // namespace adist::collector
