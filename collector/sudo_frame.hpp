// The sudo I/O plugin's frames (sudo/sudo_frames.h), decoded: the collector
// reads a 24-byte header, then the payload, and turns both into a
// sudo_frame. Pure: bytes in, a frame or an error out (the fuzz target
// tests/fuzz/sudo_frame_fuzz.cpp feeds it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace adist::collector {

struct sudo_open {
    std::int64_t start_sec = 0;
    std::uint32_t start_nsec = 0;
    std::vector<std::string> user_info, command_info, argv, env;
    std::optional<std::string> runas_user, runas_group;
};
struct sudo_data {
    unsigned stream = 0; // enum adist_sudo_stream
    bool withheld = false;
    std::uint64_t offset = 0;
    std::uint32_t count = 0;
    std::string bytes; // empty when withheld
};
struct sudo_winsize {
    std::uint32_t lines = 0, cols = 0;
};
struct sudo_suspend {
    std::uint32_t signal = 0;
};
struct sudo_close {
    std::int32_t exit_status = 0, error = 0;
};

struct sudo_frame_header {
    std::uint32_t length = 0; // of the payload
    unsigned type = 0;
    std::uint64_t seq = 0;
    std::uint64_t elapsed_ns = 0;
};

struct sudo_frame {
    sudo_frame_header head;
    std::variant<sudo_open, sudo_data, sudo_winsize, sudo_suspend, sudo_close> body;
};

// A header, or the reason it is refused (unknown type or version, payload
// too long, reserved bytes set). `bytes` is exactly 24 bytes.
std::variant<sudo_frame_header, std::string> decode_sudo_header(std::string_view bytes);

// The frame of `head` with its `payload` (head.length bytes), or why not.
std::variant<sudo_frame, std::string> decode_sudo_payload(const sudo_frame_header& head,
                                                          std::string_view payload);

// The stream's name as sudo's I/O log names its file ("ttyout"...).
std::string_view sudo_stream_name(unsigned stream);

} // namespace adist::collector
