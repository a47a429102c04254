// TLS context setup for both roles (TLS 1.2 minimum, any key type) and the
// certificate fingerprint the sender pins. Used by the receiver listener, the
// sender uplink and `auditdistd fingerprint`.
#pragma once

#include <boost/asio/ssl.hpp>

#include <optional>
#include <string>

#include "common/tls_version.hpp"
#include "proto/fingerprint.hpp"

namespace adist::common {

// The private key file must belong to root (or to us) and be readable by
// nobody else (its group may read it: Debian's ssl-cert). Returns why not,
// with the command that fixes it, or nullopt (also when it does not exist).
std::optional<std::string> unsafe_key_file(const std::string& keyfile);

// Server context with the receiver's certificate chain and private key.
// Throws std::runtime_error with the file name and OpenSSL's reason on
// failure: an unsafe key file, an encrypted key (never prompts).
boost::asio::ssl::context make_server_context(const std::string& certfile,
                                              const std::string& keyfile);

// Client context: no CA verification (the receiver is authenticated by its
// pinned fingerprint, checked with peer_fingerprint() before anything is sent).
boost::asio::ssl::context make_client_context();

// A host's tls_min_version on one connection, before its handshake. Below
// TLS 1.2 also OpenSSL's security level 0 and the ECDHE-*-SHA suites that
// FreeBSD's auditdistd (TLSv1_method) offers: on this SSL object only, the
// context (and every other connection) keeps the policy of harden().
// Throws std::runtime_error if OpenSSL refuses a setting.
void set_min_version(SSL* ssl, tls_version min);

// The TLS handshake failed because the peers have no protocol version in
// common (our refusal or the peer's protocol_version alert).
bool is_version_refusal(const boost::system::error_code& ec);

// SHA-256 of the DER encoding of the peer's certificate, if it sent one.
std::optional<proto::sha256_digest> peer_fingerprint(SSL* ssl);

// SHA-256 of the DER encoding of the first certificate in a PEM file.
// Throws std::runtime_error on failure.
proto::sha256_digest certificate_file_fingerprint(const std::string& certfile);

// The most recent OpenSSL error as text (and clears the error queue).
std::string openssl_error_text();

} // namespace adist::common
