// The `include "PATTERN"` statement of auditdistd.conf(5): reading the main
// file and the files its patterns match (as root, each held to the main
// file's ownership rules), the bundle codec for the supervisor's control
// channel, and the parser's side, which parses a matched file in place.
#include "common/config_parser.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/fd.hpp"

namespace adist::common {
namespace {

// Reads a file of at most `budget` bytes; an included one must be a regular
// file (the main file may be given as /dev/stdin).
std::optional<std::string> read_text(const std::string& path, std::size_t budget, bool included,
                                     std::string* why) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        *why = std::string("cannot open: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode) || (included && !S_ISREG(st.st_mode))) {
        *why = S_ISDIR(st.st_mode) ? "cannot read: Is a directory" : "not a regular file";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *why = std::string("cannot open: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::string text(budget + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
        *why = std::string("cannot read: ") + std::strerror(errno);
        return std::nullopt;
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > budget) {
        *why = "the configuration and its included files exceed " +
               std::to_string(max_bundle_bytes) + " bytes";
        return std::nullopt;
    }
    return text;
}

// The include patterns of the main file (the parser checks where they stand).
std::vector<std::string> include_patterns(std::string_view text) {
    auto tokens = config_detail::tokenize(text);
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        const auto& t = tokens[i];
        const auto& v = tokens[i + 1];
        if (t.kind != config_detail::tok::word || t.text != "include") continue;
        if (v.kind != config_detail::tok::word && v.kind != config_detail::tok::string) continue;
        if (v.text.empty() || v.text.front() != '/') continue; // the parser says why
        if (std::find(out.begin(), out.end(), v.text) == out.end()) out.push_back(v.text);
    }
    return out;
}

// The files `pattern` matches, sorted; an error for a failing glob.
std::optional<std::vector<std::string>> expand(const std::string& pattern, std::string* why) {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    std::vector<std::string> files;
    if (rc == 0) files.assign(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    ::globfree(&g);
    if (rc == GLOB_NOMATCH || rc == 0) return files; // glob sorts
    *why = rc == GLOB_NOSPACE ? "out of memory" : "cannot read a directory of the pattern";
    return std::nullopt;
}

void put_u32(std::string& out, std::size_t n) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}
void put_string(std::string& out, const std::string& s) {
    put_u32(out, s.size());
    out += s;
}

struct reader {
    std::string_view in;
    bool ok = true;
    std::uint32_t u32() {
        if (in.size() < 4) return ok = false, 0;
        std::uint32_t n = 0;
        for (int i = 0; i < 4; ++i) n |= std::uint32_t(static_cast<unsigned char>(in[i])) << (8 * i);
        in.remove_prefix(4);
        return n;
    }
    std::string string() {
        auto n = u32();
        if (!ok || n > in.size()) return ok = false, std::string();
        std::string s(in.substr(0, n));
        in.remove_prefix(n);
        return s;
    }
};

} // namespace

std::variant<config_bundle, config_error> read_config_bundle(const std::string& path) {
    config_bundle b;
    b.file = path;
    std::string why;
    auto text = read_text(path, max_bundle_bytes, false, &why);
    if (!text) return config_error{path, 0, why};
    b.text = std::move(*text);
    std::size_t used = b.text.size();
    for (const auto& pattern : include_patterns(b.text)) {
        auto files = expand(pattern, &why);
        if (!files) return config_error{path, 0, "include " + pattern + ": " + why};
        if (b.sources.size() + files->size() > max_included_files) {
            return config_error{path, 0, "include " + pattern + ": more than " +
                                             std::to_string(max_included_files) + " files"};
        }
        for (const auto& file : *files) {
            // It holds passwords like the main file.
            if (auto problem = unsafe_config_file(file)) {
                // It begins "file: ", which the error adds again.
                std::string why = problem->rfind(file + ": ", 0) == 0 ? problem->substr(file.size() + 2)
                                                                         : *problem;
                return config_error{file, 0, why};
            }
            auto part = read_text(file, max_bundle_bytes - used, true, &why);
            if (!part) return config_error{file, 0, why};
            used += part->size();
            b.sources.push_back({pattern, file, std::move(*part)});
        }
        b.patterns.push_back(pattern);
    }
    return b;
}

std::string encode_config_bundle(const config_bundle& b) {
    std::string out;
    put_string(out, b.file);
    put_string(out, b.text);
    put_u32(out, b.patterns.size());
    for (const auto& p : b.patterns) put_string(out, p);
    put_u32(out, b.sources.size());
    for (const auto& s : b.sources) {
        put_string(out, s.pattern);
        put_string(out, s.file);
        put_string(out, s.text);
    }
    return out;
}

std::optional<config_bundle> decode_config_bundle(std::string_view bytes) {
    reader r{bytes};
    config_bundle b;
    b.file = r.string();
    b.text = r.string();
    auto patterns = r.u32();
    for (std::uint32_t i = 0; r.ok && i < patterns && i <= max_included_files; ++i)
        b.patterns.push_back(r.string());
    auto sources = r.u32();
    if (!r.ok || patterns > max_included_files || sources > max_included_files) return std::nullopt;
    for (std::uint32_t i = 0; r.ok && i < sources; ++i) {
        config_source s;
        s.pattern = r.string();
        s.file = r.string();
        s.text = r.string();
        b.sources.push_back(std::move(s));
    }
    if (!r.ok || !r.in.empty()) return std::nullopt;
    return b;
}

namespace config_detail {

// Each file the pattern matched is parsed where the statement stands, as
// statements of `section`; errors in it name that file and its line.
bool parser::include(const token& key, std::string_view section, handler h) {
    const token* t = value(key);
    if (!t) return false;
    if (in_include_) return fail(key.line, "an included file cannot include other files");
    if (t->text.empty() || t->text.front() != '/')
        return fail(key.line, "include needs an absolute path or pattern");
    if (!bundle_ ||
        std::find(bundle_->patterns.begin(), bundle_->patterns.end(), t->text) == bundle_->patterns.end())
        return fail(key.line, "include " + quoted(t->text) + ": the included files were not read");
    for (const auto& source : bundle_->sources) {
        if (source.pattern != t->text) continue;
        included_.push_back(tokenize(source.text));
        mark_sensitive(included_.back());
        auto saved_tokens = tokens_;
        auto saved_file = file_;
        auto saved_pos = pos_;
        tokens_ = &included_.back();
        file_ = source.file;
        pos_ = 0;
        in_include_ = true;
        bool ok = block(section, 0, "", h);
        in_include_ = false;
        tokens_ = saved_tokens;
        file_ = saved_file;
        pos_ = saved_pos;
        if (!ok) return false;
    }
    return true;
}

} // namespace config_detail
} // namespace adist::common
