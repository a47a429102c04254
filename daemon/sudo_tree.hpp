// The session directories `auditdistd sudo-extract` writes under OUT_DIR:
// one per session (named by its id), with log, log.json, timing and the
// stream files; each record of the sudo stream is applied here after the
// gap checks (sudo_iolog.hpp). Used by sudo_extract.cpp.
#pragma once

#include "daemon/sudo_iolog.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace adist::daemon {

class sudo_tree {
  public:
    sudo_tree(int out_dir, std::int64_t heartbeat_s) : out_(out_dir), heartbeat_(heartbeat_s) {}

    // One line of trail `file` at `offset`: checked, reported, applied.
    void apply(const std::string& file, std::uint64_t offset, std::string_view line,
               extract_state& state);

    // At the end of a run: every session still without a close is a gap.
    void report_open(const extract_state& state);

    std::uint64_t records() const { return records_; }
    std::uint64_t opened() const { return opened_; }
    std::uint64_t closed() const { return closed_; }
    std::uint64_t gaps() const { return gaps_; }

  private:
    void gap(const std::string& where, const std::string& what);
    bool append(const std::string& session, const char* file, std::string_view bytes);
    void finish(const std::string& session); // timing made read-only: complete

    int out_;
    std::int64_t heartbeat_;
    std::uint64_t records_ = 0, opened_ = 0, closed_ = 0, gaps_ = 0;
};

} // namespace adist::daemon
