#include "report/labels.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace tpk::report {

namespace {

int depth_of(model::Layer layer) {
    switch (layer) {
        case model::Layer::application: return 0;
        case model::Layer::socket: return 1;
        case model::Layer::transport: return 2;
        case model::Layer::network: return 3;
        case model::Layer::device:
        case model::Layer::receive:
        case model::Layer::capture: return 4;
    }
    return 4;
}

}  // namespace

std::string packet_title(const journey::Journey& j, std::size_t index) {
    const journey::Packet& p = j.packets.at(index);
    std::string s = fmt::format("#{} {} {}", j.packet_number(index) + 1, journey::direction_name(p.direction),
                                journey::packet_kind_name(p.kind));
    const bool tcp = p.flow.protocol == 6;  // IPPROTO_TCP
    if (tcp) {
        s += fmt::format(" {}", tcp_flags_text(p.tcp_flags));
        s += p.payload_len ? fmt::format(" seq {}:{}", p.rel_seq, p.rel_seq + p.payload_len)
                           : fmt::format(" seq {}", p.rel_seq);
        if (p.tcp_flags & model::kAck) s += fmt::format(" ack {}", p.rel_ack);
    }
    s += fmt::format(" len {}", p.payload_len);
    if (p.retransmit) s += " retransmit";
    if (p.dropped) s += " DROPPED" + (p.drop_reason.empty() ? "" : " " + p.drop_reason);
    return s;
}

std::string hop_line(const journey::Hop& h) {
    std::string s = fmt::format("+{:<10} {:<11} {}", duration_text(h.since_cause_ns),
                                model::layer_name(h.layer), model::event_name(h.event));
    if (!h.detail.empty()) s += " (" + h.detail + ")";
    if (h.skb) s += fmt::format(" skb {:#x}", h.skb);
    if (h.len) s += fmt::format(" len {}", h.len);
    if (!h.dev.empty()) s += " " + h.dev;
    s += fmt::format(" [cpu {} {} pid {}]", h.cpu, h.comm.empty() ? "?" : h.comm, h.pid);
    return s;
}

std::int64_t packet_span_ns(const journey::Packet& p) {
    if (p.hops.empty()) return 0;
    return static_cast<std::int64_t>(p.hops.back().t_ns) - static_cast<std::int64_t>(p.cause_ns);
}

std::string transport_label(const journey::Journey& j) {
    std::string t = j.transport;
    if (t.empty() && !j.connections.empty()) t = j.connections.front().transport;
    if (t.rfind("tcp", 0) == 0) return "TCP";
    if (t.rfind("udp", 0) == 0) return "UDP";
    if (t.rfind("unix", 0) == 0) return "UNIX";
    return "TCP/UDP";
}

std::string device_label(const journey::Journey& j) {
    for (const auto& p : j.packets)
        for (const auto& h : p.hops)
            if (!h.dev.empty()) return h.dev;
    for (const auto& r : j.routes)
        if (!r.dev.empty()) return r.dev;
    return "lo";
}

int lane_of(const journey::Packet& p, const journey::Hop& h) {
    const int depth = depth_of(h.layer);
    if (depth == 4) return 4;
    const bool sender_is_client = p.direction != journey::Direction::server_to_client;
    const bool client_side = sender_is_client != h.receive_side;
    return client_side ? depth : kLaneCount - 1 - depth;
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace tpk::report
