// Lexer of auditdistd.conf (see config_lexer.hpp).
#include "common/config_lexer.hpp"

namespace adist::common::config_detail {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

class lexer {
  public:
    explicit lexer(std::string_view text) : text_(text) {}
    std::vector<token> run();

  private:
    void skip_blanks();
    token quoted_string();
    token word();

    std::string_view text_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

std::vector<token> lexer::run() {
    std::vector<token> out;
    for (;;) {
        skip_blanks();
        if (pos_ == text_.size()) {
            out.push_back({tok::end, "", line_});
            return out;
        }
        char c = text_[pos_];
        if (c == '{' || c == '}') {
            out.push_back({c == '{' ? tok::open : tok::close, std::string(1, c), line_});
            ++pos_;
        } else if (c == '"') {
            out.push_back(quoted_string());
        } else if (is_control(c)) {
            static constexpr char hex[] = "0123456789ABCDEF";
            auto u = static_cast<unsigned char>(c);
            out.push_back({tok::error,
                           std::string("invalid character 0x") + hex[u >> 4] + hex[u & 15], line_});
        } else {
            out.push_back(word());
        }
        if (out.back().kind == tok::error) return out;
    }
}

void lexer::skip_blanks() {
    while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (c == '#') {
            while (pos_ < text_.size() && text_[pos_] != '\n')
                ++pos_;
        } else if (is_space(c)) {
            line_ += c == '\n';
            ++pos_;
        } else {
            return;
        }
    }
}

// "..." without escapes and on one line. Wider than FreeBSD's character set
// (any printable byte but '"'), but still no control characters.
token lexer::quoted_string() {
    token t{tok::string, "", line_};
    auto start = ++pos_;
    for (; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
        char c = text_[pos_];
        if (c == '\n' || c == '\r') break;
        if (is_control(c)) return {tok::error, "control character in quoted string", line_};
    }
    if (pos_ == text_.size() || text_[pos_] != '"')
        return {tok::error, "unterminated quoted string", t.line};
    t.text = std::string(text_.substr(start, pos_ - start));
    ++pos_;
    return t;
}

// Unquoted words are our extension (FreeBSD only has keywords and numbers
// unquoted), so that the man page examples like `remote 10.0.0.4` parse.
token lexer::word() {
    auto start = pos_;
    while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (is_space(c) || is_control(c) || c == '{' || c == '}' || c == '"' || c == '#') break;
        ++pos_;
    }
    bool glued = pos_ < text_.size() && text_[pos_] == '#';
    return {tok::word, std::string(text_.substr(start, pos_ - start)), line_, glued};
}

} // namespace

std::vector<token> tokenize(std::string_view text) {
    return lexer(text).run();
}

// Values in messages are quoted; very long ones are cut (a stray 1 MB word).
std::string quoted(std::string_view s) {
    if (s.size() > 300) return "\"" + std::string(s.substr(0, 64)) + "...\"";
    return "\"" + std::string(s) + "\"";
}

} // namespace adist::common::config_detail
