// What may show a password in a configuration error (see config_parser.hpp):
// the tokens near a `password` keyword are marked before parsing, and an
// error that would still show one is withheld after.
#include "common/config_parser.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace adist::common::config_detail {
namespace {

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
} // namespace

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

namespace {

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

} // namespace

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

} // namespace adist::common::config_detail
