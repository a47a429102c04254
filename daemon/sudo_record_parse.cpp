// Parsing of the sudo stream's JSON lines (sudo_record_parse.hpp). Every
// field is checked for its type; session records must carry a valid CRC-32.
#include "daemon/sudo_record_parse.hpp"

#include "collector/sudo_text.hpp"

// Boost.JSON is compiled once, in common/status.cpp (src.hpp).
#include <boost/json.hpp>

namespace adist::daemon {
namespace {

namespace json = boost::json;

struct reader {
    const json::object& o;
    bool ok = true;
    std::uint64_t u(std::string_view k) {
        auto* v = o.if_contains(k);
        if (v && v->is_uint64()) return v->as_uint64();
        if (v && v->is_int64() && v->as_int64() >= 0) return std::uint64_t(v->as_int64());
        ok = false;
        return 0;
    }
    std::int64_t i(std::string_view k) {
        auto* v = o.if_contains(k);
        if (v && v->is_int64()) return v->as_int64();
        if (v && v->is_uint64() && v->as_uint64() <= std::uint64_t(INT64_MAX))
            return std::int64_t(v->as_uint64());
        ok = false;
        return 0;
    }
    std::string s(std::string_view k) {
        auto* v = o.if_contains(k);
        if (v && v->is_string()) return std::string(v->as_string());
        ok = false;
        return "";
    }
    std::optional<std::string> opt_s(std::string_view k) {
        auto* v = o.if_contains(k);
        if (v && v->is_string()) return std::string(v->as_string());
        if (!v || !v->is_null()) ok = false;
        return std::nullopt;
    }
    std::vector<std::string> list(std::string_view k) {
        std::vector<std::string> out;
        auto* v = o.if_contains(k);
        if (!v || !v->is_array()) {
            ok = false;
            return out;
        }
        for (const auto& e : v->as_array()) {
            if (!e.is_string()) {
                ok = false;
                break;
            }
            out.emplace_back(e.as_string());
        }
        return out;
    }
    bool b(std::string_view k) {
        auto* v = o.if_contains(k);
        if (v && v->is_bool()) return v->as_bool();
        ok = false;
        return false;
    }
};

bool session_record(std::string_view type) {
    return type == "open" || type == "io" || type == "winsize" || type == "suspend" ||
           type == "close" || type == "lost";
}

void session_fields(reader& in, parsed_record& p) {
    auto& r = p.r;
    r.session = in.s("session");
    r.sseq = in.u("sseq");
    r.elapsed_ns = in.u("elapsed_ns");
    if (r.type == "open") {
        p.open.start_sec = in.i("start_sec");
        p.open.start_nsec = std::uint32_t(in.u("start_nsec"));
        p.open.user_info = in.list("user_info");
        p.open.command_info = in.list("command_info");
        p.open.argv = in.list("argv");
        p.open.env = in.list("env");
        p.open.runas_user = in.opt_s("runas_user");
        p.open.runas_group = in.opt_s("runas_group");
    } else if (r.type == "io") {
        r.stream = in.s("stream");
        r.offset = in.u("offset");
        r.count = in.u("count");
        p.withheld = in.b("withheld");
        auto bytes = collector::base64_decode(in.s("data"));
        if (!bytes || (!p.withheld && bytes->size() != r.count) || stream_number(r.stream) < 0)
            in.ok = false;
        else
            p.bytes = std::move(*bytes);
    } else if (r.type == "winsize") {
        p.lines = in.u("lines");
        p.cols = in.u("cols");
    } else if (r.type == "suspend") {
        p.signal = in.u("signal");
    } else if (r.type == "close") {
        p.exit_status = in.i("exit_status");
        p.error = in.i("error");
    } else if (r.type == "lost") {
        p.text = in.s("reason");
    }
}

} // namespace

std::variant<parsed_record, std::string> parse_sudo_record(std::string_view line) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) return "not JSON: " + ec.message();
    if (!v.is_object()) return std::string("not a JSON object");
    const auto& o = v.as_object();
    reader in{o};
    parsed_record p;
    p.r.type = in.s("type");
    p.r.seq = in.u("seq");
    p.r.time_ns = in.i("time_ns");
    if (!in.ok) return std::string("no type, seq or time_ns");
    if (session_record(p.r.type)) {
        if (!collector::record_sealed(line)) return std::string("its CRC-32 does not match");
        session_fields(in, p);
    } else if (p.r.type == "header") {
        p.r.first_seq = in.u("first_seq");
    } else if (p.r.type == "tamper") {
        p.text = in.s("file") + ": " + in.s("problem");
    }
    if (!in.ok) return "a field of a " + p.r.type + " record is missing or of the wrong type";
    return p;
}

} // namespace adist::daemon
