// The sudo session decider and its record encoding (sudo_session.hpp). Pure.
#include "collector/sudo_session.hpp"

#include "collector/sudo_text.hpp"

namespace adist::collector {
namespace {

// {"type":"<type>","seq":N,"time_ns":T,"host":..,"boot_id":..,"session":..,"sseq":S,"elapsed_ns":E
std::string begin(std::string_view type, const record_base& b, const std::string& session,
                  std::uint64_t sseq, std::uint64_t elapsed) {
    std::string out = "{\"type\":\"";
    out += type;
    out += "\",\"seq\":" + std::to_string(b.seq) + ",\"time_ns\":" + std::to_string(b.time_ns);
    out += ",\"host\":";
    append_json_string(out, b.host);
    out += ",\"boot_id\":";
    append_json_string(out, b.boot_id);
    out += ",\"session\":";
    append_json_string(out, session);
    out += ",\"sseq\":" + std::to_string(sseq) + ",\"elapsed_ns\":" + std::to_string(elapsed);
    return out;
}

void strings(std::string& out, std::string_view key, const std::vector<std::string>& list) {
    out += ",\"";
    out += key;
    out += "\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ',';
        append_json_string(out, list[i]);
    }
    out += ']';
}

void opt_string(std::string& out, std::string_view key, const std::optional<std::string>& v) {
    out += ",\"";
    out += key;
    out += "\":";
    if (v)
        append_json_string(out, *v);
    else
        out += "null";
}

std::string open_line(std::string out, const sudo_open& o, sudo_peer peer) {
    out += ",\"start_sec\":" + std::to_string(o.start_sec) +
           ",\"start_nsec\":" + std::to_string(o.start_nsec);
    out += ",\"peer_pid\":" + std::to_string(peer.pid) + ",\"peer_uid\":" + std::to_string(peer.uid);
    strings(out, "user_info", o.user_info);
    strings(out, "command_info", o.command_info);
    strings(out, "argv", o.argv);
    strings(out, "env", o.env);
    opt_string(out, "runas_user", o.runas_user);
    opt_string(out, "runas_group", o.runas_group);
    return out;
}

std::string data_line(std::string out, const sudo_data& d) {
    out += ",\"stream\":\"";
    out += sudo_stream_name(d.stream);
    out += "\",\"offset\":" + std::to_string(d.offset) + ",\"count\":" + std::to_string(d.count);
    out += d.withheld ? ",\"withheld\":true,\"data\":\"\"" : ",\"withheld\":false,\"data\":\"";
    if (!d.withheld) {
        out.reserve(out.size() + (d.bytes.size() + 2) / 3 * 4 + 64);  // and the seal
        append_base64(out, d.bytes);
        out += '"';
    }
    return out;
}

// What a frame may not do here, or "".
std::string refusal(const sudo_frame& f, bool opened, bool closed, std::uint64_t next_seq,
                    std::uint64_t last_elapsed, const std::array<std::uint64_t, 5>& offsets) {
    if (closed) return "a frame after the close";
    if (f.head.seq != next_seq)
        return "sequence " + std::to_string(f.head.seq) + ", expected " + std::to_string(next_seq);
    bool is_open = std::holds_alternative<sudo_open>(f.body);
    if (opened == is_open) return opened ? "a second open" : "the first frame is not an open";
    if (f.head.elapsed_ns < last_elapsed) return "time went backwards";
    if (const auto* d = std::get_if<sudo_data>(&f.body); d && d->offset != offsets[d->stream])
        return std::string(sudo_stream_name(d->stream)) + " offset " + std::to_string(d->offset) +
               ", expected " + std::to_string(offsets[d->stream]);
    return "";
}

} // namespace

sudo_step sudo_session::step(const sudo_frame& f, const record_base& b) {
    if (auto why = refusal(f, opened_, closed_, next_seq_, last_elapsed_, offsets_); !why.empty())
        return {"", why};
    std::string line;
    auto head = [&](std::string_view type) {
        return begin(type, b, id_, f.head.seq, f.head.elapsed_ns);
    };
    if (const auto* o = std::get_if<sudo_open>(&f.body)) {
        line = open_line(head("open"), *o, peer_);
        opened_ = true;
    } else if (const auto* d = std::get_if<sudo_data>(&f.body)) {
        line = data_line(head("io"), *d);
        offsets_[d->stream] += d->count;
    } else if (const auto* w = std::get_if<sudo_winsize>(&f.body)) {
        line = head("winsize") + ",\"lines\":" + std::to_string(w->lines) +
               ",\"cols\":" + std::to_string(w->cols);
    } else if (const auto* s = std::get_if<sudo_suspend>(&f.body)) {
        line = head("suspend") + ",\"signal\":" + std::to_string(s->signal);
    } else if (const auto* c = std::get_if<sudo_close>(&f.body)) {
        line = head("close") + ",\"exit_status\":" + std::to_string(c->exit_status) +
               ",\"error\":" + std::to_string(c->error);
        closed_ = true;
    }
    ++next_seq_;
    last_elapsed_ = f.head.elapsed_ns;
    seal_record(line);
    return {std::move(line), ""};
}

std::string sudo_session::lost(const record_base& b, std::string_view reason) const {
    std::string line = begin("lost", b, id_, next_seq_, last_elapsed_);
    line += ",\"reason\":";
    append_json_string(line, reason);
    seal_record(line);
    return line;
}

} // namespace adist::collector
