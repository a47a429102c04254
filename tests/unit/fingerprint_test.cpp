// Unit tests for proto/fingerprint: SHA-256 vectors, parsing of the pinned
// "SHA256=AA:BB:..." form (any case, the awk recipe's "sha256=") and printing.
#include "proto/fingerprint.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <string>

using adist::proto::format_fingerprint;
using adist::proto::parse_fingerprint;
using adist::proto::sha256;
using adist::proto::sha256_digest;

namespace {

sha256_digest digest_of(std::string_view text) {
    return sha256({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

// The man page's example fingerprint.
constexpr std::string_view man_page =
    "SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:"
    "CD:F5:76:2B";

} // namespace

TEST_CASE("fingerprint: SHA-256 known answers", "[fingerprint]") {
    CHECK(format_fingerprint(digest_of("abc")) ==
          "SHA256=BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:"
          "FF:61:F2:00:15:AD");
    CHECK(format_fingerprint(digest_of("")) ==
          "SHA256=E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:"
          "99:1B:78:52:B8:55");
    std::string million(1000000, 'a');
    CHECK(format_fingerprint(digest_of(million)) ==
          "SHA256=CD:C7:6E:5C:99:14:FB:92:81:A1:C7:E2:84:D7:3E:67:F1:80:9A:48:A4:97:20:0E:04:6D:"
          "39:CC:C7:11:2C:D0");
}

TEST_CASE("fingerprint: parse and format round trip", "[fingerprint]") {
    auto digest = parse_fingerprint(man_page);
    REQUIRE(digest);
    CHECK((*digest)[0] == 0x8F);
    CHECK((*digest)[31] == 0x2B);
    CHECK(format_fingerprint(*digest) == man_page);
    // 95 characters of hex pairs and colons after the 7-character prefix.
    CHECK(format_fingerprint(*digest).size() == 7 + 95);

    auto abc = digest_of("abc");
    CHECK(parse_fingerprint(format_fingerprint(abc)) == abc);
}

TEST_CASE("fingerprint: case-insensitive prefix and hex", "[fingerprint]") {
    std::string lower(man_page);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // What `openssl x509 -fingerprint -sha256 | awk -F '[ =]' ...` prints with OpenSSL 3.
    REQUIRE(lower.rfind("sha256=8f:0a:", 0) == 0);
    CHECK(parse_fingerprint(lower) == parse_fingerprint(man_page));

    std::string mixed(man_page);
    mixed.replace(0, 7, "Sha256=");
    mixed[8] = 'f';
    CHECK(parse_fingerprint(mixed) == parse_fingerprint(man_page));
}

TEST_CASE("fingerprint: malformed input is rejected", "[fingerprint]") {
    std::string good(man_page);
    auto bad = [](std::string text) {
        INFO("fingerprint: " << text);
        CHECK_FALSE(parse_fingerprint(text));
    };
    bad("");
    bad("SHA256=");
    bad(good.substr(0, 101));        // one digit short
    bad(good + ":00");               // 33 bytes
    bad(good + " ");                 // trailing space
    bad(" " + good);                 // leading space
    bad("SHA1=" + good.substr(7));   // other algorithm
    bad("SHA256:" + good.substr(7)); // wrong prefix separator
    bad("SHA512=" + good.substr(7)); // wrong algorithm, same length
    bad(good.substr(7));             // no prefix
    std::string dashes = good;
    for (auto& c : dashes)
        if (c == ':') c = '-';
    bad(dashes); // '-' instead of ':'
    std::string nosep = good;
    nosep.erase(std::remove(nosep.begin() + 7, nosep.end(), ':'), nosep.end());
    bad(nosep);                        // plain hex, no separators
    bad(nosep + std::string(31, '0')); // right length, no separators
    std::string nonhex = good;
    nonhex[7] = 'G';
    bad(nonhex);
    std::string misplaced = good; // separator one place off
    std::swap(misplaced[9], misplaced[10]);
    bad(misplaced);
}
