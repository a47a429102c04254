// Tokens of auditdistd.conf: keywords and values as words or "quoted
// strings", braces, line numbers. Used only by config_parser.cpp; separate so
// each file owns one thing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adist::common::config_detail {

enum class tok { word, string, open, close, end, error };

struct token {
    tok kind = tok::end;
    std::string text; // contents of a word or string; the message of an error
    int line = 1;
    bool glued_comment = false; // unquoted word directly followed by '#'
    bool sensitive = false;     // may be (part of) a password: never quote it
};

// Tokenizes the whole text up front (the parser needs to know which lines
// hold a password); the last token is `end`, or `error` after the first error.
std::vector<token> tokenize(std::string_view text);

// Values in messages are quoted; very long ones are cut (a stray 1 MB word).
std::string quoted(std::string_view s);

} // namespace adist::common::config_detail
