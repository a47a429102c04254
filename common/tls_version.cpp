// Per-host minimum TLS version and the texts of version refusals (see
// tls_version.hpp). Pure: no OpenSSL calls, so the unit tests cover it all.
#include "common/tls_version.hpp"

#include <algorithm>
#include <array>

namespace adist::common {
namespace {

constexpr std::array<std::string_view, 4> names = {"1.0", "1.1", "1.2", "1.3"};
constexpr int tls1_0_wire = 0x0301;

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string host_list(const std::vector<std::string>& hosts) {
    std::string out = hosts.size() == 1 ? "host " : "hosts ";
    for (std::size_t i = 0; i < hosts.size(); ++i)
        out += (i ? ", " : "") + quoted(hosts[i]);
    return out;
}

// What to set so that a peer speaking at most `offered` is accepted, and
// for whom: FreeBSD's auditdistd is the one peer we know that needs it.
std::string advice(std::optional<tls_version> offered, std::string_view block) {
    auto need = offered ? *offered : tls_version::v1_0;
    std::string out =
        "set tls_min_version " + quoted(to_string(need)) + " in " + std::string(block);
    if (need == tls_version::v1_0) out += " to accept FreeBSD's auditdistd (TLS 1.0 only)";
    return out;
}

std::string offered_text(tls_version v) {
    return "TLS " + std::string(to_string(v)) + (v == tls_version::v1_0 ? " only" : " at most");
}

} // namespace

std::optional<tls_version> parse_tls_version(std::string_view text) {
    auto it = std::find(names.begin(), names.end(), text);
    if (it == names.end()) return std::nullopt;
    return tls_version(it - names.begin());
}

std::string_view to_string(tls_version v) {
    return names[static_cast<std::size_t>(v)];
}

int wire_version(tls_version v) {
    return tls1_0_wire + static_cast<int>(v);
}

std::optional<tls_version> from_wire(int wire) {
    if (wire < tls1_0_wire || wire > wire_version(tls_version::v1_3)) return std::nullopt;
    return tls_version(wire - tls1_0_wire);
}

tls_version lowest_min_version(const std::vector<tls_version>& mins) {
    if (mins.empty()) return default_tls_min_version;
    return *std::min_element(mins.begin(), mins.end());
}

std::string receiver_version_refusal(std::string_view address, int offered_wire,
                                     const std::vector<std::string>& hosts, tls_version min) {
    auto offered = from_wire(offered_wire);
    if (offered && *offered >= min) offered.reset(); // not what failed: say nothing about it
    auto later = "TLS " + std::string(to_string(min)) + " or later";
    std::string out = "TLS handshake refused: peer " + std::string(address);
    if (offered) {
        out += " offered " + offered_text(*offered) + ", and " + host_list(hosts) +
               (hosts.size() == 1 ? " requires " : " require ") + later;
    } else {
        out += " offered no TLS version that " + host_list(hosts) + " accept" +
               (hosts.size() == 1 ? "s (" : " (") + later + ")";
    }
    return out + "; " + advice(offered, "its host block");
}

std::string sender_version_refusal(std::string_view remote, int server_wire, tls_version min) {
    auto offered = from_wire(server_wire);
    if (offered && *offered >= min) offered.reset();
    std::string out = "the receiver " + std::string(remote);
    auto later = "TLS " + std::string(to_string(min)) + " or later";
    out += offered ? " speaks " + offered_text(*offered) + ", and this host requires " + later
                   : " accepts no TLS version this host offers (" + later + ")";
    return out + "; " + advice(offered, "this host block");
}

std::string legacy_connection_warning(std::string_view who, tls_version min, int negotiated_wire) {
    auto setting = "tls_min_version " + quoted(to_string(min));
    auto used = from_wire(negotiated_wire);
    if (used && is_legacy(*used)) {
        return "TLS " + std::string(to_string(*used)) + " in use with " + std::string(who) + " (" +
               setting +
               "): an obsolete protocol (SHA-1, CBC, OpenSSL security level 0), "
               "allowed for this host only";
    }
    return std::string(who) + " allows TLS " + std::string(to_string(min)) + " (" + setting +
           ") but this connection uses TLS " +
           (used ? std::string(to_string(*used)) : std::string("1.2 or later")) +
           "; if all its peers speak TLS 1.2, remove " + setting;
}

std::string closed_without_tls_shutdown(std::size_t partial_bytes) {
    std::string out = "connection closed: the peer closed it without a TLS shutdown "
                      "(no close_notify, as FreeBSD's auditdistd does when it stops)";
    if (partial_bytes == 0) return out + ", between frames; nothing acknowledged was lost";
    return out + ", in the middle of a frame: its " + std::to_string(partial_bytes) +
           " bytes received so far were not stored and the sender sends them again from the "
           "resume point; nothing acknowledged was lost";
}

} // namespace adist::common
