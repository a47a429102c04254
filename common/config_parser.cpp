// Hand-written recursive-descent parser for auditdistd.conf(5) (tokens from
// config_lexer.cpp):
// statement checks, then FreeBSD's defaults and inheritance at section close,
// then validate_config(). Entry point parse_config(); run by the daemon and -n.
#include "common/config.hpp"

#include <arpa/inet.h>
#include "common/config_lexer.hpp"
#include "common/config_limits.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <set>
#include <utility>

namespace adist::common {
namespace {
using namespace config_detail;

// clang-format off
enum class kw : unsigned {
    none, name, pidfile, timeout, sender, receiver, host, source,
    remote, directory, fingerprint, password, listen, certfile, keyfile,
    max_files_per_minute, max_files_burst, max_host_bytes, max_clock_skew
};
// clang-format on

constexpr std::array<std::string_view, 19> keyword_names = {
    "",       "name",      "pidfile",     "timeout",  "sender", "receiver", "host",   "source",
    "remote", "directory", "fingerprint", "password", "listen", "certfile", "keyfile",
    "max_files_per_minute", "max_files_burst", "max_host_bytes", "max_clock_skew"};

kw lookup(std::string_view word) {
    auto it = std::find(keyword_names.begin() + 1, keyword_names.end(), word);
    return it == keyword_names.end() ? kw::none : kw(it - keyword_names.begin());
}

std::string name_of(kw k) {
    return quoted(keyword_names[unsigned(k)]);
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool is_password_word(const token& t) {
    return t.kind == tok::word && lower(t.text) == "password";
}

// Marks what may hold a password: every token on the line of a `password`
// word or of the token after it, and the two tokens after it (a password
// split by a stray quote or newline). `passwordSECRET` marks itself.
void mark_sensitive(std::vector<token>& tokens) {
    std::set<int> lines;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (lower(tokens[i].text).find("pass") != std::string::npos) tokens[i].sensitive = true;
        if (!is_password_word(tokens[i])) continue;
        lines.insert(tokens[i].line);
        for (std::size_t j = i + 1; j < std::min(i + 3, tokens.size()); ++j) {
            tokens[j].sensitive = true;
            lines.insert(tokens[j].line);
        }
    }
    for (auto& t : tokens)
        if (lines.count(t.line)) t.sensitive = true;
}

// One spelling per directory, so that hosts are compared by their
// directory as strings only once each has one: repeated slashes and "."
// components go, a trailing slash goes; ".." is refused (it could leave the
// base directory, which root would then create). "" stands for "/" or for
// nothing at all; *dotdot is set when a ".." was seen.
std::string normalize_directory(const std::string& dir, bool* dotdot) {
    std::string out = !dir.empty() && dir.front() == '/' ? "/" : "";
    std::size_t pos = 0;
    while (pos <= dir.size()) {
        std::size_t end = std::min(dir.find('/', pos), dir.size());
        std::string_view part(dir.data() + pos, end - pos);
        if (part == "..") *dotdot = true;
        if (!part.empty() && part != ".") {
            if (!out.empty() && out.back() != '/') out += '/';
            out += part;
        }
        pos = end + 1;
    }
    return out == "/" ? std::string() : out;
}

class parser {
  public:
    parser(const std::vector<token>& tokens, std::string_view file, config& cfg)
        : tokens_(tokens), file_(file), cfg_(cfg) {}
    std::optional<config_error> run(std::string_view default_name);

  private:
    using handler = bool (parser::*)(kw, const token&);

    const token& peek() const { return tokens_[pos_]; }
    bool fail(int line, std::string message);
    bool block(std::string_view section, int open_line, std::string_view what, handler h);
    bool keyword(const token& t, kw& out);
    bool not_allowed(const token& t, std::string_view section);
    const token* value(const token& key);
    bool expect_open(const token& key, std::string_view after);

    bool global_statement(kw k, const token& t);
    bool sender_statement(kw k, const token& t);
    bool sender_host_statement(kw k, const token& t);
    bool receiver_statement(kw k, const token& t);
    bool receiver_host_statement(kw k, const token& t);
    bool section(const token& key, bool& present, std::string_view name, handler h);
    bool host(const token& key, std::string& name, std::string_view section, handler h);

    bool string_value(const token& key, std::string& out);
    bool path_value(const token& key, std::string& out, bool allow_none);
    bool directory_value(const token& key, std::string& out, bool absolute);
    bool bound_address_is_ip(const token& key, const endpoint_spec& spec);
    bool address_value(const token& key, endpoint_spec& out, bool allow_empty_host);
    bool password_value(const token& key, std::string& out);
    bool name_value(const token& key, std::string& out);
    bool timeout_value(const token& key);
    bool max_clock_skew_value(const token& key);
    bool fingerprint_value(const token& key);
    bool limit_value(const token& key, limit_overrides& out);

    void finish_sender();
    void finish_receiver();

    const std::vector<token>& tokens_;
    std::string file_;
    config& cfg_;
    std::size_t pos_ = 0;
    std::optional<config_error> error_;
    std::optional<endpoint_spec> sender_source_;
    std::string sender_directory_;
    limit_overrides section_limits_;
    std::vector<limit_overrides> host_limits_; // one per receiver host
};

bool parser::fail(int line, std::string message) {
    error_ = config_error{file_, line, std::move(message)};
    return false;
}

bool parser::keyword(const token& t, kw& out) {
    if (t.kind == tok::error) return fail(t.line, t.text);
    if (t.kind == tok::open || t.kind == tok::close)
        return fail(t.line, "unexpected " + quoted(t.text));
    if (t.kind == tok::string) return fail(t.line, "expected a keyword, found a quoted string");
    out = lookup(t.text);
    if (out != kw::none) return true;
    if (t.sensitive) return fail(t.line, "unknown keyword");
    return fail(t.line, "unknown keyword " + quoted(t.text));
}

bool parser::not_allowed(const token& t, std::string_view section) {
    return fail(t.line, quoted(t.text) + " is not allowed in the " + std::string(section));
}

// One `{ ... }` body (or the whole file when open_line == 0): dispatches each
// statement to `h` and refuses a keyword given twice (listen and host repeat).
bool parser::block(std::string_view section, int open_line, std::string_view what, handler h) {
    std::uint32_t seen = 0;
    for (;;) {
        const token& t = peek();
        if (t.kind == tok::end && open_line == 0) return true;
        if (t.kind == tok::end)
            return fail(open_line, std::string(what) + " is not closed (missing \"}\")");
        if (t.kind == tok::close && open_line != 0) {
            ++pos_;
            return true;
        }
        kw k = kw::none;
        if (!keyword(t, k)) return false;
        ++pos_;
        auto bit = std::uint32_t{1} << unsigned(k);
        if (k != kw::listen && k != kw::host && (seen & bit))
            return fail(t.line, name_of(k) + " is given twice in the " + std::string(section));
        seen |= bit;
        if (!(this->*h)(k, t)) return false;
    }
}

const token* parser::value(const token& key) {
    const token& t = peek();
    if (t.kind == tok::error) {
        fail(t.line, t.text);
        return nullptr;
    }
    if (t.kind != tok::word && t.kind != tok::string) {
        fail(key.line, quoted(key.text) + " needs a value");
        return nullptr;
    }
    ++pos_;
    return &t;
}

bool parser::expect_open(const token& key, std::string_view after) {
    const token& t = peek();
    if (t.kind == tok::error) return fail(t.line, t.text);
    if (t.kind != tok::open)
        return fail(t.kind == tok::end ? key.line : t.line,
                    "expected \"{\" after " + std::string(after));
    ++pos_;
    return true;
}

std::optional<config_error> parser::run(std::string_view default_name) {
    cfg_.timeout = default_timeout;
    if (!block("global section", 0, "", &parser::global_statement)) return error_;
    if (cfg_.name.empty()) cfg_.name = std::string(default_name);
    if (cfg_.pidfile.empty()) cfg_.pidfile = std::string(default_pidfile);
    if (cfg_.receiver_directory.empty())
        cfg_.receiver_directory = std::string(default_receiver_directory);
    if (cfg_.certfile.empty()) cfg_.certfile = std::string(default_certfile);
    if (cfg_.keyfile.empty()) cfg_.keyfile = std::string(default_keyfile);
    return std::nullopt;
}

bool parser::global_statement(kw k, const token& t) {
    switch (k) {
    case kw::name:
        return name_value(t, cfg_.name);
    case kw::pidfile:
        return path_value(t, cfg_.pidfile, true);
    case kw::timeout:
        return timeout_value(t);
    case kw::sender:
        if (!section(t, cfg_.has_sender, "sender", &parser::sender_statement)) return false;
        finish_sender();
        return true;
    case kw::receiver:
        if (!section(t, cfg_.has_receiver, "receiver", &parser::receiver_statement)) return false;
        finish_receiver();
        return true;
    default:
        return not_allowed(t, "global section");
    }
}

bool parser::section(const token& key, bool& present, std::string_view name, handler h) {
    present = true;
    if (!expect_open(key, quoted(name))) return false;
    auto what = std::string(name) + " section";
    return block(what, key.line, what, h);
}

bool parser::host(const token& key, std::string& name, std::string_view section, handler h) {
    const token* t = value(key);
    if (!t) return false;
    name = t->text;
    if (name.empty()) return fail(key.line, "host name is empty");
    if (name.size() > max_name_length) return fail(key.line, "host name is longer than 255 bytes");
    // Host names become directory names on the receiver (<directory>/<name>).
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
        return fail(key.line, "host name " + quoted(name) + " must not contain \"/\" or NUL");
    if (name == "." || name == "..")
        return fail(key.line, "host name " + quoted(name) + " is not allowed");
    auto what = "host " + quoted(name);
    if (!expect_open(key, what)) return false;
    return block(section, key.line, what, h);
}

bool parser::sender_statement(kw k, const token& t) {
    switch (k) {
    case kw::source:
        return address_value(t, sender_source_.emplace(), true) &&
               bound_address_is_ip(t, *sender_source_);
    case kw::directory:
        return directory_value(t, sender_directory_, true);
    case kw::host:
        cfg_.senders.emplace_back().line = t.line;
        return host(t, cfg_.senders.back().name, "sender host section",
                    &parser::sender_host_statement);
    default:
        return not_allowed(t, "sender section");
    }
}

bool parser::sender_host_statement(kw k, const token& t) {
    sender_host& h = cfg_.senders.back();
    switch (k) {
    case kw::source:
        return address_value(t, h.source.emplace(), true) && bound_address_is_ip(t, *h.source);
    case kw::remote:
        return address_value(t, h.remote, false);
    case kw::directory:
        return directory_value(t, h.directory, true);
    case kw::fingerprint:
        return fingerprint_value(t);
    case kw::password:
        return password_value(t, h.password);
    default:
        return not_allowed(t, "sender host section");
    }
}

bool parser::receiver_statement(kw k, const token& t) {
    switch (k) {
    case kw::listen:
        return address_value(t, cfg_.listen.emplace_back(), false) &&
               bound_address_is_ip(t, cfg_.listen.back());
    case kw::directory:
        return directory_value(t, cfg_.receiver_directory, true);
    case kw::certfile:
        return path_value(t, cfg_.certfile, false);
    case kw::keyfile:
        return path_value(t, cfg_.keyfile, false);
    case kw::max_clock_skew:
        return max_clock_skew_value(t);
    case kw::max_files_per_minute:
    case kw::max_files_burst:
    case kw::max_host_bytes:
        return limit_value(t, section_limits_);
    case kw::host:
        cfg_.receivers.emplace_back().line = t.line;
        host_limits_.emplace_back();
        return host(t, cfg_.receivers.back().name, "receiver host section",
                    &parser::receiver_host_statement);
    default:
        return not_allowed(t, "receiver section");
    }
}

bool parser::receiver_host_statement(kw k, const token& t) {
    receiver_host& h = cfg_.receivers.back();
    switch (k) {
    case kw::remote:
        return address_value(t, h.remote, false);
    case kw::directory:
        return directory_value(t, h.directory, false); // may be relative
    case kw::password:
        return password_value(t, h.password);
    case kw::max_files_per_minute:
    case kw::max_files_burst:
    case kw::max_host_bytes:
        return limit_value(t, host_limits_.back());
    default:
        return not_allowed(t, "receiver host section");
    }
}

// FreeBSD: sender hosts inherit the section's source and directory.
void parser::finish_sender() {
    if (sender_directory_.empty()) sender_directory_ = std::string(default_sender_directory);
    for (auto& h : cfg_.senders) {
        if (h.directory.empty()) h.directory = sender_directory_;
        if (!h.source) h.source = sender_source_;
    }
}

// Done at section close (FreeBSD joins at the statement), so a base directory
// given after the hosts applies to them too.
void parser::finish_receiver() {
    if (cfg_.listen.empty()) {
        cfg_.listen.push_back(*parse_address("tls://0.0.0.0:7878", nullptr));
        cfg_.listen.push_back(*parse_address("tls://[::]:7878", nullptr));
    }
    if (cfg_.receiver_directory.empty())
        cfg_.receiver_directory = std::string(default_receiver_directory);
    cfg_.limits = apply_limits(receiver_limits{}, section_limits_);
    for (std::size_t i = 0; i < cfg_.receivers.size(); ++i)
        cfg_.receivers[i].limits = apply_limits(cfg_.limits, host_limits_[i]);
    for (auto& h : cfg_.receivers) {
        if (h.directory.empty())
            h.directory = cfg_.receiver_directory + "/" + h.name;
        else if (h.directory.front() != '/')
            h.directory = cfg_.receiver_directory + "/" + h.directory;
    }
}

bool parser::string_value(const token& key, std::string& out) {
    const token* t = value(key);
    if (t) out = t->text;
    return t != nullptr;
}

bool parser::path_value(const token& key, std::string& out, bool allow_none) {
    if (!string_value(key, out)) return false;
    if (out.empty() || (out.front() != '/' && !(allow_none && out == "none")))
        return fail(key.line, key.text + (allow_none ? " must be an absolute path or \"none\""
                                                     : " must be an absolute path"));
    return true;
}

bool parser::directory_value(const token& key, std::string& out, bool absolute) {
    if (!string_value(key, out)) return false;
    bool dotdot = false;
    out = normalize_directory(out, &dotdot);
    if (out.empty()) return fail(key.line, "directory must not be empty or \"/\"");
    if (absolute && out.front() != '/') return fail(key.line, "directory must be an absolute path");
    if (dotdot) return fail(key.line, "directory must not contain \"..\"");
    return true;
}

bool parser::address_value(const token& key, endpoint_spec& out, bool allow_empty_host) {
    std::string text;
    std::string error;
    if (!string_value(key, text)) return false;
    auto spec = parse_address(text, &error);
    if (!spec) return fail(key.line, key.text + ": " + error);
    if (!allow_empty_host && spec->host.empty())
        return fail(key.line, key.text + ": no host in address " + quoted(text));
    out = std::move(*spec);
    return true;
}

// `listen` and `source` are bound as given, never resolved (a name could
// resolve differently at each start): -n and startup agree. An empty host
// (a `source` with a port only) binds any address.
bool parser::bound_address_is_ip(const token& key, const endpoint_spec& spec) {
    if (spec.host.empty()) return true;
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, spec.host.c_str(), buf) == 1 ||
        ::inet_pton(AF_INET6, spec.host.c_str(), buf) == 1) {
        return true;
    }
    return fail(key.line, key.text + ": " + quoted(spec.host) +
                              " is not an IP address (give 0.0.0.0, [::] or the address to bind)");
}

// Never quotes the value: errors about a password must not reveal it.
bool parser::password_value(const token& key, std::string& out) {
    const token* t = value(key);
    if (!t) return false;
    if (t->text.empty()) return fail(key.line, "password is empty"); // FreeBSD accepts it
    if (t->text.size() > max_name_length)
        return fail(key.line, "password is longer than 255 bytes");
    if (t->kind == tok::word && t->glued_comment)
        return fail(key.line,
                    "\"#\" right after an unquoted password starts a comment; quote the password");
    out = t->text;
    return true;
}

bool parser::name_value(const token& key, std::string& out) {
    if (!string_value(key, out)) return false;
    if (out.empty()) return fail(key.line, "name is empty");
    if (out.size() > max_name_length) return fail(key.line, "name is longer than 255 bytes");
    return true;
}

bool parser::timeout_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    bool digits =
        !text.empty() && text.size() <= 6 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    int seconds = digits ? std::stoi(text) : 0;
    if (seconds < 1 || seconds > 86400)
        return fail(key.line, "timeout must be a number of seconds from 1 to 86400");
    cfg_.timeout = seconds;
    return true;
}

// Receiver: how far (seconds) a trail's start may lie after the receiver's clock.
bool parser::max_clock_skew_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    bool digits =
        !text.empty() && text.size() <= 9 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    long seconds = digits ? std::stol(text) : -1;
    if (seconds < 0 || seconds > max_clock_skew_limit)
        return fail(key.line, "max_clock_skew must be a number of seconds from 0 to 315360000");
    cfg_.max_clock_skew = seconds;
    return true;
}

bool parser::fingerprint_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    auto digest = proto::parse_fingerprint(text);
    if (!digest)
        return fail(key.line,
                    "invalid fingerprint (expected \"SHA256=\" and 32 hex pairs joined by \":\")");
    cfg_.senders.back().fingerprint = digest;
    return true;
}

bool parser::limit_value(const token& key, limit_overrides& out) {
    std::string text;
    if (!string_value(key, text)) return false;
    if (auto error = set_limit(key.text, text, out)) return fail(key.line, *error);
    return true;
}

// True when `message` shows `password` or 8 consecutive bytes of it (quoted
// values may be cut, so a whole-string search is not enough).
bool shows(std::string_view message, std::string_view password) {
    if (message.find(quoted(password)) != std::string_view::npos) return true;
    if (password.size() < 4) return false;
    std::size_t window = std::min<std::size_t>(password.size(), 8);
    for (std::size_t i = 0; i + window <= password.size(); ++i)
        if (message.find(password.substr(i, window)) != std::string_view::npos) return true;
    return false;
}

// Last line of defence: if a message still shows a password (e.g. a host
// named like its password), withhold the details but keep file and line.
void redact(config_error& error, const std::vector<token>& tokens) {
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        const token& value = tokens[i + 1];
        bool candidate = value.kind == tok::word || value.kind == tok::string;
        if (!is_password_word(tokens[i]) || !candidate || value.text.empty()) continue;
        if (shows(error.message, value.text))
            error.message = "invalid statement (details withheld: they would reveal a password)";
    }
}

} // namespace

config_result parse_config(std::string_view text, std::string_view file,
                           std::string_view default_name) {
    auto tokens = tokenize(text);
    mark_sensitive(tokens);
    config cfg;
    auto error = parser(tokens, file, cfg).run(default_name);
    if (!error) error = validate_config(cfg, file);
    if (!error) return cfg;
    redact(*error, tokens);
    return *error;
}

} // namespace adist::common
