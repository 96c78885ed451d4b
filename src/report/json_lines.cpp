#include "report/json_lines.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "journey/text.h"
#include "report/json_writer.h"

namespace tpk::report {
namespace {

using journey::endpoint_text;
using journey::Hop;
using journey::Journey;
using journey::kNone;

// Keys are written in nlohmann::json's order (sorted byte-wise), which is the
// order schema_version 1 was first written in: see json_writer.h.

// docs/json-schema.md: a TCP segment without flags says "none".
std::string flags_or_none(std::uint8_t flags) {
    std::string s = journey::tcp_flags_text(flags);
    return s.empty() ? "none" : s;
}

void index_or_null(JsonWriter& w, std::string_view key, std::size_t i) {
    if (i == kNone) w.null_field(key);
    else w.field(key, std::uint64_t{i});
}

// "packets": the numbers of the packets at these indices.
void packet_numbers(JsonWriter& w, const Journey& j, const std::vector<std::size_t>& v) {
    w.key("packets").begin_array();
    for (auto i : v) w.value(std::uint64_t{j.packet_number(i)});
    w.end_array();
}

void strings(JsonWriter& w, std::string_view key, const std::vector<std::string>& v) {
    w.key(key).begin_array();
    for (const auto& s : v) w.value(s);
    w.end_array();
}

void schema_version(JsonWriter& w) { w.field("schema_version", std::int64_t{journey::kSchemaVersion}); }

void flow(JsonWriter& w, std::string_view key, const model::Flow& f) {
    const char* proto = f.protocol == IPPROTO_TCP   ? "tcp"
                        : f.protocol == IPPROTO_UDP ? "udp"
                        : f.src.family == AF_UNIX   ? "unix"
                                                    : "unknown";
    w.key(key).begin_object();
    w.field("dst", endpoint_text(f.dst, f.unix_peer_inode));
    w.field("protocol", proto);
    w.field("src", endpoint_text(f.src, f.unix_inode));
    w.end_object();
}

void hop(JsonWriter& w, const Journey& j, const Hop& h) {
    w.begin_object();
    w.field("comm", h.comm);
    w.field("cpu", h.cpu);
    if (!h.detail.empty()) w.field("detail", h.detail);
    if (!h.dev.empty()) w.field("dev", h.dev);
    w.field("event", model::event_name(h.event));
    if (!h.explain.empty()) w.field("explain", h.explain);
    w.field("layer", model::layer_name(h.layer));
    if (h.len) w.field("len", h.len);
    w.field("pid", h.pid);
    w.field("side", h.receive_side ? "receive" : "send");
    w.field("since_cause_ns", h.since_cause_ns);
    if (h.sk) w.key("sk").hex(h.sk);
    if (h.skb) w.key("skb").hex(h.skb);
    if (h.syscall != kNone) w.field("syscall", std::uint64_t{j.syscall_number(h.syscall)});
    w.field("t_ns", h.t_ns);
    w.field("tid", h.tid);
    w.end_object();
}

// A frame's fields; an unmatched frame's record adds matched, schema_version
// and type in their sorted places.
void frame_fields(JsonWriter& w, const journey::Frame& f, bool record) {
    w.field("ack", f.ack);
    w.field("captured_len", f.captured_len);
    w.field("flags", flags_or_none(f.tcp_flags));
    flow(w, "flow", f.flow);
    w.field("index", std::uint64_t{f.index});
    w.field("link_type", f.link_type);
    if (record) w.field("matched", false);
    w.field("payload_len", f.payload_len);
    if (record) w.field("schema_version", std::int64_t{journey::kSchemaVersion});
    w.field("seq", f.seq);
    w.field("summary", f.summary);
    w.field("t_ns", f.t_ns);
    if (record) w.field("type", "frame");
    w.field("wire_len", f.wire_len);
}

const char* direction_text(journey::Direction d) {
    return d == journey::Direction::client_to_server   ? "client_to_server"
           : d == journey::Direction::server_to_client ? "server_to_client"
                                                        : "unknown";
}

}  // namespace

void write_connection_json(const Journey& j, std::size_t i, std::string& out) {
    const auto& c = j.connections[i];
    JsonWriter w(out);
    w.begin_object();
    w.key("client_sk").hex(c.client_sk);
    flow(w, "client_to_server", c.client_to_server);
    w.field("index", std::uint64_t{j.connection_number(i)});
    packet_numbers(w, j, c.packets);
    schema_version(w);
    w.key("server_sk").hex(c.server_sk);
    w.field("transport", c.transport);
    w.field("type", "connection");
    w.end_object();
    out += '\n';
}

void write_route_json(const Journey& j, const journey::Route& rt, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("answered", rt.has_answer);
    w.field("destination", rt.destination);
    w.field("dev", rt.dev);
    w.field("gateway", rt.gateway);
    w.key("lookups").begin_array();
    for (const auto& f : rt.lookups) {
        w.begin_object();
        w.field("comm", f.comm);
        w.field("err", f.err);
        index_or_null(w, "packet", j.packet_number(f.packet));
        w.field("pid", f.pid);
        index_or_null(w, "syscall", j.syscall_number(f.during_syscall));
        w.field("t_ns", f.t_ns);
        w.field("table", f.table);
        w.end_object();
    }
    w.end_array();
    strings(w, "notes", rt.notes);
    w.field("route_type", rt.type);
    schema_version(w);
    w.field("source", rt.source);
    w.field("table", rt.table);
    w.field("type", "route");
    w.end_object();
    out += '\n';
}

void write_syscall_json(const Journey& j, std::size_t i, std::string& out) {
    const auto& s = j.syscalls[i];
    JsonWriter w(out);
    w.begin_object();
    w.field("comm", s.comm);
    index_or_null(w, "connection", j.connection_number(s.connection));
    w.field("enter_ns", s.enter_ns);
    if (s.exit_ns) w.field("exit_ns", s.exit_ns);
    else w.null_field("exit_ns");
    w.field("fd", s.fd);
    w.field("flags", s.flags);
    w.field("index", std::uint64_t{j.syscall_number(i)});
    w.field("name", s.name);
    w.field("nr", s.nr);
    packet_numbers(w, j, s.packets);
    w.field("pid", s.pid);
    w.field("ret", s.ret);
    w.field("role", journey::role_name(s.role));
    schema_version(w);
    w.field("size", s.size);
    if (s.sk) w.key("sk").hex(s.sk);
    else w.null_field("sk");
    w.field("tid", s.tid);
    w.field("type", "syscall");
    w.end_object();
    out += '\n';
}

void write_state_json(const Journey& j, const journey::StateChange& s, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    index_or_null(w, "connection", j.connection_number(s.connection));
    flow(w, "flow", s.flow);
    w.field("new", model::tcp_state_name(s.new_state));
    w.field("old", model::tcp_state_name(s.old_state));
    index_or_null(w, "packet", j.packet_number(s.packet));
    w.field("role", journey::role_name(s.role));
    schema_version(w);
    w.key("sk").hex(s.sk);
    w.field("t_ns", s.t_ns);
    w.field("type", "state");
    w.end_object();
    out += '\n';
}

void write_socket_json(const journey::SocketView& v, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    flow(w, "flow", v.flow);
    w.field("recv_q", v.recv_q);
    w.field("role", journey::role_name(v.role));
    schema_version(w);
    w.field("send_q", v.send_q);
    w.field("state", journey::socket_state_name(v));
    w.field("t_ns", v.t_ns);
    w.field("type", "socket");
    w.end_object();
    out += '\n';
}

void write_packet_json(const Journey& j, std::size_t i, std::string& out) {
    const auto& p = j.packets[i];
    JsonWriter w(out);
    w.begin_object();
    w.field("ack", p.ack);
    w.field("cause", journey::cause_name(p.cause));
    index_or_null(w, "connection", j.connection_number(p.connection));
    w.field("direction", direction_text(p.direction));
    if (p.dropped) w.field("drop_reason", p.drop_reason);
    w.field("dropped", p.dropped);
    index_or_null(w, "error_syscall", j.syscall_number(p.error_syscall));
    if (!p.explain.empty()) w.field("explain", p.explain);
    w.field("flags", p.flow.protocol == IPPROTO_TCP ? flags_or_none(p.tcp_flags) : "");
    flow(w, "flow", p.flow);
    w.key("frame");
    if (p.frame) {
        w.begin_object();
        frame_fields(w, *p.frame, false);
        w.end_object();
    } else {
        w.null();
    }
    w.key("hops").begin_array();
    for (const auto& h : p.hops) hop(w, j, h);
    w.end_array();
    w.field("index", std::uint64_t{j.packet_number(i)});
    w.field("kind", journey::packet_kind_name(p.kind));
    w.key("layers").begin_array();
    for (const auto& l : p.layers) {
        w.begin_object();
        w.field("duration_ns", l.duration_ns);
        w.field("layer", model::layer_name(l.layer));
        w.field("side", l.receive_side ? "receive" : "send");
        w.field("start_ns", l.start_ns);
        w.end_object();
    }
    w.end_array();
    w.field("payload_len", p.payload_len);
    index_or_null(w, "recv_syscall", j.syscall_number(p.recv_syscall));
    w.field("rel_ack", p.rel_ack);
    w.field("rel_seq", p.rel_seq);
    index_or_null(w, "reply_to", j.packet_number(p.reply_to));
    if (!p.reset_reason.empty()) w.field("reset_reason", p.reset_reason);
    w.field("retransmit", p.retransmit);
    index_or_null(w, "retransmit_of", j.packet_number(p.retransmit_of));
    schema_version(w);
    index_or_null(w, "send_syscall", j.syscall_number(p.send_syscall));
    w.field("sent_by", p.sent_by);
    w.field("seq", p.seq);
    w.key("skbs").begin_array();
    for (auto s : p.skbs) w.hex(s);
    w.end_array();
    w.field("tcp_flags", p.tcp_flags);
    if (p.trouble.any()) {
        const auto& tr = p.trouble;
        w.key("trouble").begin_object();
        if (!tr.dropped.empty()) w.field("dropped", tr.dropped + tr.dropped_then);
        if (!tr.reset.empty()) w.field("reset", tr.reset);
        if (!tr.reset_received.empty()) w.field("reset_received", tr.reset_received);
        if (!tr.reset_reported.empty()) w.field("reset_reported", tr.reset_reported);
        if (!tr.retransmit.empty()) w.field("retransmit", tr.retransmit);
        w.end_object();
    }
    w.field("type", "packet");
    w.end_object();
    out += '\n';
}

void write_unmatched_frame_json(const journey::Frame& f, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    frame_fields(w, f, true);
    w.end_object();
    out += '\n';
}

void write_summary_json(const Journey& j, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("capture_dropped", j.stats.capture_dropped);
    if (!j.cut_short.empty()) w.field("cut_short", j.cut_short);
    w.field("data_packets", j.stats.data_packets);
    w.field("events", j.stats.events);
    w.field("frames", j.stats.frames);
    w.field("frames_matched", j.stats.frames_matched);
    w.field("frames_other", j.stats.frames_other);
    if (!j.kernel.release.empty()) {
        auto gaps = [&](std::string_view key, bool missing) {
            w.key(key).begin_array();
            for (const auto& g : j.kernel.gaps) {
                if (g.missing != missing) continue;
                w.begin_object().field("hop", g.hop).field("why", g.why).end_object();
            }
            w.end_array();
        };
        w.key("kernel").begin_object();
        w.field("bpf_object", j.kernel.bpf_object);
        strings(w, "fallbacks", j.kernel.fallbacks);
        gaps("limited_hops", false);
        gaps("missing_hops", true);
        w.field("release", j.kernel.release);
        w.end_object();
    }
    w.key("layers").begin_array();
    for (const auto& l : j.layer_summary) {
        w.begin_object();
        w.field("layer", model::layer_name(l.layer));
        w.field("median_ns", l.median_ns);
        w.field("samples", std::uint64_t{l.samples});
        w.field("side", l.receive_side ? "receive" : "send");
        w.end_object();
    }
    w.end_array();
    w.field("lost_events", j.stats.lost_events);
    w.field("median_one_way_ns", j.stats.median_one_way_ns);
    strings(w, "notes", j.notes);
    w.field("packets", j.stats.packets);
    w.field("packets_without_frame", j.stats.packets_without_frame);
    w.field("partial", j.partial);
    strings(w, "partial_reasons", j.partial_reasons);
    w.field("resets", j.stats.resets);
    w.field("retransmits", j.stats.retransmits);
    schema_version(w);
    w.field("transport", j.transport);
    w.field("type", "summary");
    w.end_object();
    out += '\n';
}

namespace {

// Records written to a stream in batches: one string reused, a write per
// ~64 KiB (a busy second is tens of megabytes of records).
class Batches {
public:
    explicit Batches(std::ostream& out) : out_(out) { buf_.reserve(kBatch * 2); }
    ~Batches() { flush(); }
    std::string& buf() { return buf_; }
    void record_done() {
        if (buf_.size() >= kBatch) flush();
    }
    void flush() {
        out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        buf_.clear();
    }

private:
    static constexpr std::size_t kBatch = 1 << 16;
    std::ostream& out_;
    std::string buf_;
};

// A chunk's records in order; after each one, done().
template <typename Done>
void chunk_records(const Journey& j, std::string& out, Done done) {
    for (std::size_t i = 0; i < j.syscalls.size(); ++i)
        if (j.shows_syscall(i)) write_syscall_json(j, i, out), done();
    for (std::size_t i = 0; i < j.states.size(); ++i)
        if (j.shows_state(i)) write_state_json(j, j.states[i], out), done();
    for (std::size_t i = 0; i < j.packets.size(); ++i)
        if (j.shows_packet(i)) write_packet_json(j, i, out), done();
    for (const auto& f : j.unmatched_frames) write_unmatched_frame_json(f, out), done();
}

}  // namespace

void write_chunk_json(const Journey& j, std::string& out) {
    chunk_records(j, out, [] {});
}

void write_chunk_json(const Journey& j, std::ostream& out) {
    Batches batches(out);
    chunk_records(j, batches.buf(), [&] { batches.record_done(); });
}

void write_totals_json(const Journey& j, std::string& out) {
    for (std::size_t i = 0; i < j.connections.size(); ++i) write_connection_json(j, i, out);
    for (const auto& rt : j.routes) write_route_json(j, rt, out);
    write_summary_json(j, out);
}

void write_journey_json(const Journey& j, std::ostream& out) {
    Batches batches(out);
    std::string& buf = batches.buf();
    auto done = [&] { batches.record_done(); };
    for (std::size_t i = 0; i < j.connections.size(); ++i) write_connection_json(j, i, buf), done();
    for (const auto& rt : j.routes) write_route_json(j, rt, buf), done();
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) write_syscall_json(j, i, buf), done();
    for (const auto& s : j.states) write_state_json(j, s, buf), done();
    for (const auto& v : j.sockets) write_socket_json(v, buf), done();
    for (std::size_t i = 0; i < j.packets.size(); ++i) write_packet_json(j, i, buf), done();
    for (const auto& f : j.unmatched_frames) write_unmatched_frame_json(f, buf), done();
    write_summary_json(j, buf);
}

}  // namespace tpk::report
