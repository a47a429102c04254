// libFuzzer target: the collector's request decoder and JSON encoder
// (collector/request.cpp, collector/record.cpp) on any bytes. A payload
// that decodes, cut or not, gives a command no longer than kept, marked
// truncated when it is shorter than claimed, and encoded again it decodes
// to the same; the JSON of any text has no raw control byte, no raw '"'
// inside, and only valid UTF-8 (checked by an independent decoder).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "collector/record.hpp"
#include "collector/request.hpp"

using namespace adist::collector;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

// The JSON string (with its quotes) is valid UTF-8 with every control byte
// and quote escaped.
void check_json(const std::string& j) {
    require(j.size() >= 2 && j.front() == '"' && j.back() == '"');
    for (std::size_t i = 1; i + 1 < j.size();) {
        auto c = static_cast<unsigned char>(j[i]);
        require(c >= 0x20 && c != 0x7F);
        if (c == '\\') {
            require(i + 2 < j.size());
            i += 2;
            continue;
        }
        require(c != '"');
        std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        require(n != 0 && i + n < j.size());
        for (std::size_t k = 1; k < n; ++k)
            require((static_cast<unsigned char>(j[i + k]) & 0xC0) == 0x80);
        i += n;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string j;
    append_json_string(j, in);
    check_json(j);
    for (bool cut : {false, true}) {
        auto c = decode_request(in, 64, cut);
        if (!c) continue;
        require(c->command.size() <= 64);
        require(c->truncated == (c->command.size() < c->command_length));
        std::string again = encode_request(*c);
        auto head = decode_request_header(again.substr(0, request_header_size));
        require(head && head->length == again.size() - request_header_size);
        auto back = decode_request(std::string_view(again).substr(request_header_size), 64);
        require(back && back->command == c->command && back->pwd == c->pwd &&
                back->ssh_tty == c->ssh_tty && back->ssh_connection == c->ssh_connection);
    }
    return 0;
}
