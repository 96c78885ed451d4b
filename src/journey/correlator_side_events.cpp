#include "journey/correlator_side_events.h"

#include <algorithm>
#include <cstdint>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

// The RST a tcp_send_reset event stands for: of its flow, sent in the same
// context, the one nearest in time (before or after: see attach_send_reset).
std::size_t reset_sent(const Event& e, const std::vector<PacketState>& packets) {
    std::size_t best = kNone;
    std::uint64_t best_gap = UINT64_MAX;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (!(p.tcp_flags & model::kRst) || p.flow.src != e.flow.src || p.flow.dst != e.flow.dst)
            continue;
        const Hop* q = first_send_device_hop(p);
        if (!q || !same_context(*q, e)) continue;
        std::uint64_t gap = q->t_ns > e.t_ns ? q->t_ns - e.t_ns : e.t_ns - q->t_ns;
        if (gap < best_gap) {
            best = i;
            best_gap = gap;
        }
    }
    return best;
}

// tcp:tcp_receive_reset outside any traced receive processing: the latest
// RST of its flow (peer -> local) received before it.
std::size_t reset_received(const Event& e, const std::vector<PacketState>& packets) {
    std::size_t best = kNone;
    std::uint64_t best_t = 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& ps = packets[i];
        if (!(ps.p.tcp_flags & model::kRst) || ps.p.flow.src != e.flow.src ||
            ps.p.flow.dst != e.flow.dst || !ps.rx_ns || ps.rx_ns > e.t_ns || ps.rx_ns < best_t)
            continue;
        best = i;
        best_t = ps.rx_ns;
    }
    return best;
}

// tcp:tcp_send_reset fires in two places (6.18): tcp_v4_send_reset() /
// tcp_v6_send_reset() answering a received skb (the event's skb; the kernel
// side turns its flow around to the reset's direction), before the RST is
// built; and tcp_send_active_reset() (no skb: close() with SO_LINGER 0 or
// unread data, an abort), after the RST it built was transmitted. The hop
// goes to the RST, and for an answer also to the packet it answers.
void attach_send_reset(const Event& e, const Timeline& at, std::vector<PacketState>& packets) {
    if (e.skb) {
        // The packet being received in this context, if it is the skb the
        // reset answers (an older packet whose end was not traced may still
        // look open here).
        std::size_t rx = at.receiving_packet(e.cpu, e.tid, e.t_ns);
        const auto owns = [&](std::size_t i) {
            const auto& skbs = packets[i].p.skbs;
            return std::find(skbs.begin(), skbs.end(), e.skb) != skbs.end();
        };
        if (rx != kNone && owns(rx)) {
            Hop h = hop_from(e);
            h.receive_side = true;
            h.detail = "answered with a reset";
            packets[rx].p.hops.push_back(std::move(h));
        }
    }
    std::size_t rst = reset_sent(e, packets);
    if (rst == kNone) return;
    Hop h = hop_from(e);
    h.receive_side = false;
    h.detail = e.skb ? "kernel sends this reset" : "socket resets its connection";
    // The reason (6.10+) rides in drop_reason_name (src/kernel/convert.cpp).
    if (!e.drop_reason_name.empty()) {
        h.detail += " (" + e.drop_reason_name + ")";
        packets[rst].p.reset_reason = e.drop_reason_name;
    }
    packets[rst].p.hops.push_back(std::move(h));
}

}  // namespace

// Hops that name a socket, not an skb: attach them to the packet they belong
// to by thread, socket and time.
LookupPackets attach_side_events(const std::vector<const Event*>& side, const Timeline& at,
                                 std::vector<PacketState>& packets) {
    LookupPackets lookups;
    std::unordered_map<std::size_t, std::size_t> first_sent, last_read;  // syscall -> packet
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (p.send_syscall != kNone && !first_sent.count(p.send_syscall))
            first_sent[p.send_syscall] = i;
        if (p.recv_syscall != kNone) last_read[p.recv_syscall] = i;
    }
    for (const Event* e : side) {
        switch (e->kind) {
            case K::tcp_sendmsg_locked:
            case K::sock_send_length: {
                // The send syscall's first packet gets its socket hops.
                std::size_t s = at.open_syscall(e->tid, e->t_ns);
                auto it = s == kNone ? first_sent.end() : first_sent.find(s);
                if (it == first_sent.end()) break;
                if (packets[it->second].unix_like && e->kind == K::tcp_sendmsg_locked) break;
                packets[it->second].p.hops.push_back(hop_from(*e));
                break;
            }
            case K::sock_recv_length: {
                std::size_t s = at.open_syscall(e->tid, e->t_ns);
                auto it = s == kNone ? last_read.end() : last_read.find(s);
                if (it == last_read.end()) break;
                packets[it->second].p.hops.push_back(hop_from(*e));
                break;
            }
            case K::sk_data_ready:
            case K::tcp_receive_reset: {
                std::size_t rx = at.receiving_packet(e->cpu, e->tid, e->t_ns);
                if (rx == kNone && e->kind == K::tcp_receive_reset) rx = reset_received(*e, packets);
                if (rx == kNone) break;
                if (e->kind == K::sk_data_ready && packets[rx].p.receiver_sk && e->sk &&
                    packets[rx].p.receiver_sk != e->sk)
                    break;
                packets[rx].p.hops.push_back(hop_from(*e));
                if (e->kind == K::tcp_receive_reset && !packets[rx].p.receiver_sk)
                    packets[rx].p.receiver_sk = e->sk;
                break;
            }
            case K::tcp_send_reset:
                attach_send_reset(*e, at, packets);
                break;
            case K::fib_table_lookup: {
                // The route lookup for a packet happens on its thread just
                // before its first device hop (connect's SYN, the SYN-ACK),
                // within the same syscall (or softirq).
                std::size_t queued = at.next_queued(e->tid, e->t_ns);
                if (queued == kNone) break;
                packets[queued].p.hops.push_back(hop_from(*e));
                lookups[e] = queued;
                break;
            }
            default:
                break;
        }
    }
    for (const Event* e : side) {
        if (e->kind != K::inet_sock_set_state) continue;
        std::size_t rx = at.receiving_packet(e->cpu, e->tid, e->t_ns);
        if (rx == kNone) continue;
        const auto& c = packets[rx].p;
        if (!same_conversation(c.flow, e->flow) && !(e->flow.dst.port == 0)) continue;
        Hop h = hop_from(*e);
        h.receive_side = true;   // the receiver's TCP changed state on this packet
        packets[rx].p.hops.push_back(std::move(h));
    }
    return lookups;
}

}  // namespace tpk::journey::stages
