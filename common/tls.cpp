// TLS context setup and certificate fingerprints (see tls.hpp).
#include "common/tls.hpp"

#include <cstdio>
#include <memory>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace adist::common {
namespace ssl = boost::asio::ssl;
namespace {

void harden(ssl::context& ctx) {
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("cannot require TLS 1.2: " + openssl_error_text());
    }
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                    ssl::context::single_dh_use);
    // TLS 1.2: forward secrecy and AEAD only (no RSA key exchange, no CBC,
    // no SHA-1 MAC); TLS 1.3's suites are all AEAD with ephemeral keys.
    if (SSL_CTX_set_cipher_list(ctx.native_handle(), "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
        throw std::runtime_error("cannot set the TLS 1.2 cipher suites: " + openssl_error_text());
    }
    // One long-lived stream per peer: no resumption, so no session tickets
    // (TLS 1.2 or 1.3) and no server-side cache, and no renegotiation.
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.native_handle(), 0);
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
}

proto::sha256_digest der_digest(X509* cert) {
    int len = i2d_X509(cert, nullptr);
    if (len <= 0) throw std::runtime_error("cannot encode certificate: " + openssl_error_text());
    std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509(cert, &p);
    return proto::sha256(der);
}

} // namespace

std::string openssl_error_text() {
    unsigned long e = ERR_get_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

namespace {

// OpenSSL asks for a passphrase through this instead of prompting on the
// terminal (twice, and blocking a daemon): we never give one, and note
// that one was wanted.
int no_passphrase(char*, int, int, void* asked) {
    *static_cast<bool*>(asked) = true;
    return -1;
}

} // namespace

std::optional<std::string> unsafe_key_file(const std::string& keyfile) {
    struct stat st {};
    if (::stat(keyfile.c_str(), &st) != 0) return std::nullopt; // loading says why
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return "private key " + keyfile + ": owned by uid " + std::to_string(st.st_uid) +
               ", not root (chown root " + keyfile + ")";
    }
    if ((st.st_mode & (S_IWGRP | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return "private key " + keyfile + ": mode " + mode +
               " lets others read or change it (chmod 0600 " + keyfile + ")";
    }
    return std::nullopt;
}

ssl::context make_server_context(const std::string& certfile, const std::string& keyfile) {
    ssl::context ctx(ssl::context::tls_server);
    harden(ctx);
    if (SSL_CTX_use_certificate_chain_file(ctx.native_handle(), certfile.c_str()) != 1) {
        throw std::runtime_error("cannot load certificate " + certfile + ": " +
                                 openssl_error_text());
    }
    if (auto problem = unsafe_key_file(keyfile)) throw std::runtime_error(*problem);
    bool asked = false;
    SSL_CTX_set_default_passwd_cb(ctx.native_handle(), no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx.native_handle(), &asked);
    int loaded = SSL_CTX_use_PrivateKey_file(ctx.native_handle(), keyfile.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx.native_handle(), nullptr);
    if (loaded != 1 && asked) {
        ERR_clear_error();
        throw std::runtime_error("cannot load private key " + keyfile +
                                 ": encrypted private keys are not supported (the daemon starts "
                                 "unattended); store it without a passphrase, mode 0600");
    }
    if (loaded != 1) {
        throw std::runtime_error("cannot load private key " + keyfile + ": " +
                                 openssl_error_text());
    }
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
        throw std::runtime_error("private key " + keyfile + " does not match certificate " +
                                 certfile);
    }
    return ctx;
}

ssl::context make_client_context() {
    ssl::context ctx(ssl::context::tls_client);
    harden(ctx);
    ctx.set_verify_mode(ssl::verify_none);
    return ctx;
}

void set_min_version(SSL* ssl, tls_version min) {
    if (min == default_tls_min_version) return; // the context's settings
    if (SSL_set_min_proto_version(ssl, wire_version(min)) != 1)
        throw std::runtime_error("cannot set the TLS minimum version: " + openssl_error_text());
    if (!is_legacy(min)) return;
    // OpenSSL 3 refuses TLS 1.0 and 1.1 (SHA-1 signatures) above level 0.
    SSL_set_security_level(ssl, 0);
    // AEAD first; the SHA-1 CBC suites only for a peer that has nothing
    // else. The server's order decides, so a TLS 1.2 peer still gets AEAD.
    if (SSL_set_cipher_list(ssl, "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES+SHA1") != 1)
        throw std::runtime_error("cannot set the legacy TLS cipher suites: " + openssl_error_text());
    SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
}

bool is_version_refusal(const boost::system::error_code& ec) {
    if (ec.category() != boost::asio::error::get_ssl_category()) return false;
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_SSL_VERSION:
        return true;
    default:
        return false;
    }
}

std::optional<proto::sha256_digest> peer_fingerprint(SSL* ssl) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
    if (!cert) return std::nullopt;
    return der_digest(cert.get());
}

proto::sha256_digest certificate_file_fingerprint(const std::string& certfile) {
    std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(certfile.c_str(), "r"), std::fclose);
    if (!f) throw std::runtime_error("cannot open " + certfile);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
    if (!cert) {
        throw std::runtime_error("no PEM certificate in " + certfile + ": " + openssl_error_text());
    }
    return der_digest(cert.get());
}

} // namespace adist::common
