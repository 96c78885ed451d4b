#include "report/json_lines.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "journey/text.h"

namespace tpk::report {
namespace {

using journey::endpoint_text;
using journey::Hop;
using journey::Journey;
using journey::kNone;
using journey::socket_state_name;
using journey::tcp_flags_text;

}  // namespace

// ---------------------------------------------------------------- JSON

namespace {

using nlohmann::json;

// docs/json-schema.md: a TCP segment without flags says "none".
std::string flags_or_none(std::uint8_t flags) {
    std::string s = tcp_flags_text(flags);
    return s.empty() ? "none" : s;
}

json base(const char* type) { return json{{"type", type}, {"schema_version", journey::kSchemaVersion}}; }

json index_or_null(std::size_t i) { return i == kNone ? json(nullptr) : json(i); }

json flow_json(const model::Flow& f) {
    std::string proto = f.protocol == IPPROTO_TCP   ? "tcp"
                        : f.protocol == IPPROTO_UDP ? "udp"
                        : f.src.family == AF_UNIX   ? "unix"
                                                    : "unknown";
    return json{{"protocol", proto},
                {"src", endpoint_text(f.src, f.unix_inode)},
                {"dst", endpoint_text(f.dst, f.unix_peer_inode)}};
}

json hop_json(const Hop& h) {
    json j{{"layer", model::layer_name(h.layer)},
           {"side", h.receive_side ? "receive" : "send"},
           {"event", model::event_name(h.event)},
           {"t_ns", h.t_ns},
           {"since_cause_ns", h.since_cause_ns},
           {"pid", h.pid},
           {"tid", h.tid},
           {"cpu", h.cpu},
           {"comm", h.comm}};
    if (h.skb) j["skb"] = fmt::format("{:#x}", h.skb);
    if (h.sk) j["sk"] = fmt::format("{:#x}", h.sk);
    if (h.len) j["len"] = h.len;
    if (!h.dev.empty()) j["dev"] = h.dev;
    if (!h.detail.empty()) j["detail"] = h.detail;
    if (h.syscall != kNone) j["syscall"] = h.syscall;
    if (!h.explain.empty()) j["explain"] = h.explain;
    return j;
}

json frame_json(const journey::Frame& f) {
    return json{{"index", f.index},       {"t_ns", f.t_ns},
                {"wire_len", f.wire_len}, {"captured_len", f.captured_len},
                {"link_type", f.link_type}, {"flow", flow_json(f.flow)},
                {"flags", flags_or_none(f.tcp_flags)}, {"seq", f.seq},
                {"ack", f.ack},           {"payload_len", f.payload_len},
                {"summary", f.summary}};
}

}  // namespace

void write_journey_json(const Journey& j, std::ostream& out) {
    auto emit = [&](const json& r) { out << r.dump() << '\n'; };
    for (std::size_t i = 0; i < j.connections.size(); ++i) {
        const auto& c = j.connections[i];
        json r = base("connection");
        r["index"] = i;
        r["transport"] = c.transport;
        r["client_to_server"] = flow_json(c.client_to_server);
        r["client_sk"] = fmt::format("{:#x}", c.client_sk);
        r["server_sk"] = fmt::format("{:#x}", c.server_sk);
        r["packets"] = c.packets;
        emit(r);
    }
    for (const auto& rt : j.routes) {
        json r = base("route");
        r["destination"] = rt.destination;
        r["answered"] = rt.has_answer;
        r["route_type"] = rt.type;
        r["table"] = rt.table;
        r["dev"] = rt.dev;
        r["source"] = rt.source;
        r["gateway"] = rt.gateway;
        json lookups = json::array();
        for (const auto& f : rt.lookups)
            lookups.push_back(json{{"t_ns", f.t_ns},
                                   {"pid", f.pid},
                                   {"comm", f.comm},
                                   {"table", f.table},
                                   {"err", f.err},
                                   {"syscall", index_or_null(f.during_syscall)},
                                   {"packet", index_or_null(f.packet)}});
        r["lookups"] = lookups;
        r["notes"] = rt.notes;
        emit(r);
    }
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
        const auto& s = j.syscalls[i];
        json r = base("syscall");
        r["index"] = i;
        r["name"] = s.name;
        r["nr"] = s.nr;
        r["role"] = journey::role_name(s.role);
        r["pid"] = s.pid;
        r["tid"] = s.tid;
        r["comm"] = s.comm;
        r["fd"] = s.fd;
        r["size"] = s.size;
        r["flags"] = s.flags;
        r["ret"] = s.ret;
        r["enter_ns"] = s.enter_ns;
        r["exit_ns"] = s.exit_ns ? json(s.exit_ns) : json(nullptr);
        r["sk"] = s.sk ? json(fmt::format("{:#x}", s.sk)) : json(nullptr);
        r["connection"] = index_or_null(s.connection);
        r["packets"] = s.packets;
        emit(r);
    }
    for (const auto& s : j.states) {
        json r = base("state");
        r["t_ns"] = s.t_ns;
        r["sk"] = fmt::format("{:#x}", s.sk);
        r["role"] = journey::role_name(s.role);
        r["old"] = model::tcp_state_name(s.old_state);
        r["new"] = model::tcp_state_name(s.new_state);
        r["flow"] = flow_json(s.flow);
        r["connection"] = index_or_null(s.connection);
        r["packet"] = index_or_null(s.packet);
        emit(r);
    }
    for (const auto& v : j.sockets) {
        json r = base("socket");
        r["t_ns"] = v.t_ns;
        r["role"] = journey::role_name(v.role);
        r["state"] = socket_state_name(v);
        r["recv_q"] = v.recv_q;
        r["send_q"] = v.send_q;
        r["flow"] = flow_json(v.flow);
        emit(r);
    }
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& p = j.packets[i];
        json r = base("packet");
        r["index"] = i;
        r["connection"] = index_or_null(p.connection);
        r["direction"] = p.direction == journey::Direction::client_to_server   ? "client_to_server"
                         : p.direction == journey::Direction::server_to_client ? "server_to_client"
                                                                               : "unknown";
        r["kind"] = journey::packet_kind_name(p.kind);
        r["flow"] = flow_json(p.flow);
        r["flags"] = p.flow.protocol == IPPROTO_TCP ? flags_or_none(p.tcp_flags) : "";
        r["tcp_flags"] = p.tcp_flags;
        r["seq"] = p.seq;
        r["ack"] = p.ack;
        r["rel_seq"] = p.rel_seq;
        r["rel_ack"] = p.rel_ack;
        r["payload_len"] = p.payload_len;
        json skbs = json::array();
        for (auto s : p.skbs) skbs.push_back(fmt::format("{:#x}", s));
        r["skbs"] = skbs;
        r["cause"] = journey::cause_name(p.cause);
        r["sent_by"] = p.sent_by;
        if (!p.explain.empty()) r["explain"] = p.explain;
        if (p.trouble.any()) {
            json t = json::object();
            const auto& tr = p.trouble;
            if (!tr.dropped.empty()) t["dropped"] = tr.dropped + tr.dropped_then;
            if (!tr.retransmit.empty()) t["retransmit"] = tr.retransmit;
            if (!tr.reset.empty()) t["reset"] = tr.reset;
            if (!tr.reset_reported.empty()) t["reset_reported"] = tr.reset_reported;
            if (!tr.reset_received.empty()) t["reset_received"] = tr.reset_received;
            r["trouble"] = t;
        }
        r["send_syscall"] = index_or_null(p.send_syscall);
        r["recv_syscall"] = index_or_null(p.recv_syscall);
        r["reply_to"] = index_or_null(p.reply_to);
        r["frame"] = p.frame ? frame_json(*p.frame) : json(nullptr);
        json hops = json::array();
        for (const auto& h : p.hops) hops.push_back(hop_json(h));
        r["hops"] = hops;
        json layers = json::array();
        for (const auto& l : p.layers)
            layers.push_back(json{{"layer", model::layer_name(l.layer)},
                                  {"side", l.receive_side ? "receive" : "send"},
                                  {"start_ns", l.start_ns},
                                  {"duration_ns", l.duration_ns}});
        r["layers"] = layers;
        r["retransmit"] = p.retransmit;
        r["retransmit_of"] = index_or_null(p.retransmit_of);
        r["dropped"] = p.dropped;
        if (p.dropped) r["drop_reason"] = p.drop_reason;
        if (!p.reset_reason.empty()) r["reset_reason"] = p.reset_reason;
        r["error_syscall"] = index_or_null(p.error_syscall);
        emit(r);
    }
    for (const auto& f : j.unmatched_frames) {
        json r = frame_json(f);
        r["type"] = "frame";
        r["schema_version"] = journey::kSchemaVersion;
        r["matched"] = false;
        emit(r);
    }
    json s = base("summary");
    s["transport"] = j.transport;
    s["partial"] = j.partial;
    s["partial_reasons"] = j.partial_reasons;
    s["packets"] = j.packets.size();
    s["data_packets"] = j.stats.data_packets;
    s["retransmits"] = j.stats.retransmits;
    s["resets"] = j.stats.resets;
    s["frames"] = j.stats.frames;
    s["frames_matched"] = j.stats.frames_matched;
    s["frames_other"] = j.stats.frames_other;
    s["packets_without_frame"] = j.stats.packets_without_frame;
    s["capture_dropped"] = j.stats.capture_dropped;
    s["events"] = j.stats.events;
    s["lost_events"] = j.stats.lost_events;
    s["median_one_way_ns"] = j.stats.median_one_way_ns;
    json layers = json::array();
    for (const auto& l : j.layer_summary)
        layers.push_back(json{{"layer", model::layer_name(l.layer)},
                              {"side", l.receive_side ? "receive" : "send"},
                              {"median_ns", l.median_ns},
                              {"samples", l.samples}});
    s["layers"] = layers;
    s["notes"] = j.notes;
    if (!j.kernel.release.empty()) {
        json missing = json::array(), limited = json::array();
        for (const auto& g : j.kernel.gaps)
            (g.missing ? missing : limited).push_back(json{{"hop", g.hop}, {"why", g.why}});
        s["kernel"] = json{{"release", j.kernel.release},
                           {"bpf_object", j.kernel.bpf_object},
                           {"missing_hops", missing},
                           {"limited_hops", limited},
                           {"fallbacks", j.kernel.fallbacks}};
    }
    emit(s);
}

}  // namespace tpk::report
