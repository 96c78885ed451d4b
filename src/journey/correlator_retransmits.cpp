#include "journey/correlator_retransmits.h"

#include <netinet/in.h>
#include <cstring>

#include <map>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

// tcp:tcp_retransmit_skb names the write-queue skb, not the clone that went
// out (__tcp_retransmit_skb -> tcp_transmit_skb(clone_it=1)), and on 6.18
// fires at the end of __tcp_retransmit_skb, after the clone was transmitted
// (outside softirq, after loopback already received it). Its packet: the
// latest one of the flow starting at its sequence number that was queued in
// the same context before it. None when the retransmit failed: the
// tracepoint's err (in ret) is not 0, and nothing left.
void attach_retransmit(const Event& e, std::vector<PacketState>& packets,
                       std::vector<std::string>& notes) {
    if (e.ret < 0) {
        const char* name = strerrorname_np(static_cast<int>(-e.ret));
        notes.push_back(fmt::format(
            "tcp_retransmit_skb for seq {} ({} B) failed with {}: nothing was sent again (e.g. "
            "EBUSY: the original was still queued on the host)",
            e.seq, e.payload_len, name ? name : std::to_string(e.ret)));
        return;
    }
    std::size_t best = kNone;
    std::uint64_t best_t = 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (p.flow.protocol != IPPROTO_TCP || p.flow.src != e.flow.src ||
            p.flow.dst != e.flow.dst || p.seq != e.seq)
            continue;
        const Hop* q = first_send_device_hop(p);
        if (!q || !same_context(*q, e) || q->t_ns > e.t_ns || q->t_ns < best_t) continue;
        best = i;
        best_t = q->t_ns;
    }
    if (best == kNone) {
        notes.push_back(fmt::format(
            "tcp_retransmit_skb for seq {} ({} B) found no packet that left: its hops were "
            "lost (or the kernel side did not record the tracepoint's err)",
            e.seq, e.payload_len));
        return;
    }
    packets[best].p.hops.push_back(hop_from(e));
    packets[best].p.retransmit = true;
}

}  // namespace

std::vector<std::string> attach_retransmits(const std::vector<const Event*>& side,
                                            std::vector<PacketState>& packets) {
    std::vector<std::string> notes;
    for (const Event* e : side)
        if (e->kind == K::tcp_retransmit_skb) attach_retransmit(*e, packets, notes);
    return notes;
}

// A TCP packet whose first sequence number an earlier packet (on the wire)
// of its direction already carried is a retransmit, whether or not
// tcp_retransmit_skb was seen for it (its event lost; a SYN-ACK resent by
// tcp_rtx_synack, which has its own tracepoint). Keepalives and window
// probes (seq - 1, no payload) carry no sequence space and are not.
void mark_retransmits(std::vector<PacketState>& packets) {
    struct Sent {
        std::uint32_t begin, end;
        std::size_t packet;
    };
    struct Stream {  // one direction of one connection
        std::vector<Sent> sent;
        std::uint32_t high = 0;  // the end of the highest sequence space sent
    };
    std::map<std::pair<std::size_t, int>, Stream> streams;
    for (std::size_t i : wire_order(packets)) {
        auto& p = packets[i].p;
        if (p.flow.protocol != IPPROTO_TCP || p.connection == kNone) continue;
        std::uint32_t space = p.payload_len + ((p.tcp_flags & model::kSyn) ? 1 : 0) +
                              ((p.tcp_flags & model::kFin) ? 1 : 0);
        if (space == 0) continue;
        auto& d = streams[{p.connection, static_cast<int>(p.direction)}];
        auto& before = d.sent;
        // Serial arithmetic (RFC 1982): sequence numbers wrap. New data
        // starts at or after the highest end: only older starts are looked up.
        bool fresh = before.empty() || static_cast<std::int32_t>(p.seq - d.high) >= 0;
        if (before.empty() || static_cast<std::int32_t>(p.seq + space - d.high) > 0)
            d.high = p.seq + space;
        for (auto it = before.rbegin(); !fresh && it != before.rend(); ++it) {
            if (static_cast<std::int32_t>(p.seq - it->begin) >= 0 &&
                static_cast<std::int32_t>(p.seq - it->end) < 0) {
                p.retransmit = true;
                p.retransmit_of = it->packet;
                break;
            }
        }
        before.push_back({p.seq, p.seq + space, i});
    }
}

}  // namespace tpk::journey::stages
