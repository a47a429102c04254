// Per-host minimum TLS version (`tls_min_version` in auditdistd.conf) and
// the texts that explain a version refusal: pure functions, used by the
// config parser, -n, the receiver's sessions and the sender's uplinks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace adist::common {

// Ordered: a lower value allows older peers. FreeBSD's auditdistd speaks
// TLS 1.0 only (TLSv1_method); everything else stays at 1.2 or later.
enum class tls_version { v1_0, v1_1, v1_2, v1_3 };
inline constexpr tls_version default_tls_min_version = tls_version::v1_2;

// "1.0", "1.1", "1.2", "1.3" (the values of tls_min_version); nullopt otherwise.
std::optional<tls_version> parse_tls_version(std::string_view text);
// "1.0" ... "1.3".
std::string_view to_string(tls_version v);
// OpenSSL's constant (TLS1_VERSION ...: the wire value 0x0301 ... 0x0304).
int wire_version(tls_version v);
// From a wire value (SSL_version, SSL_client_version); nullopt for SSL 3.0
// and older, or unknown values.
std::optional<tls_version> from_wire(int wire);
// Below TLS 1.2: needs OpenSSL's security level 0 and SHA-1 CBC suites.
inline bool is_legacy(tls_version v) {
    return v < tls_version::v1_2;
}

// The lowest minimum of the hosts a connection may belong to (the receiver
// matches a peer by address before the TLS handshake, and several hosts may
// share an address). The default when `mins` is empty.
tls_version lowest_min_version(const std::vector<tls_version>& mins);

// Receiver: the warning for a peer whose TLS handshake failed on the
// version. `offered_wire`: the highest version the peer offered (0 when
// unknown); `hosts`: the names of the hosts with its address; `min`: the
// lowest minimum among them.
std::string receiver_version_refusal(std::string_view address, int offered_wire,
                                     const std::vector<std::string>& hosts, tls_version min);
// Sender: the error for a receiver whose TLS handshake failed on the
// version. `server_wire`: the version the receiver chose (0 when unknown).
std::string sender_version_refusal(std::string_view remote, int server_wire, tls_version min);
// The warning of each connection that runs with a lowered minimum.
// `who`: e.g. "host \"fbsd\"" (the hosts whose setting allowed it).
std::string legacy_connection_warning(std::string_view who, tls_version min, int negotiated_wire);

// Receiver: a peer that closed the connection without a TLS shutdown
// (`stream truncated`; FreeBSD's auditdistd stops like that) with
// `partial_bytes` of an incomplete frame buffered (0: at a frame boundary).
// Acknowledgements follow fdatasync, so nothing acknowledged can be lost,
// and an incomplete frame was never stored: the sender resends it.
std::string closed_without_tls_shutdown(std::size_t partial_bytes);

} // namespace adist::common
