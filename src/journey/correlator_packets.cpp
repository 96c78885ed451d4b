#include "journey/correlator_packets.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;


// Which event of a packet's skb to trust for its headers: the ones that read
// the IP/TCP headers of the skb itself.
int header_priority(K k) {
    switch (k) {
        case K::net_dev_queue: return 0;
        case K::net_dev_start_xmit: return 1;
        case K::netif_receive_skb: return 2;
        case K::netif_rx: return 3;
        case K::net_dev_xmit: return 4;
        default: return 10;
    }
}

void read_headers(PacketState& ps, const Event& e) {
    if (flow_empty(e.flow) || e.flow.protocol == 0) return;
    int rank = header_priority(e.kind);
    if (rank >= ps.header_rank) return;
    ps.header_rank = rank;
    ps.p.flow = e.flow;
    ps.p.tcp_flags = e.tcp_flags;
    ps.p.seq = e.seq;
    ps.p.ack = e.ack;
    ps.p.payload_len = e.payload_len;
}

bool is_other_packet(const PacketState& ps, const Event& e) {
    if (ps.header_rank == 100 || e.flow.protocol == 0) return false;
    const auto& p = ps.p;
    if (e.flow.src != p.flow.src || e.flow.dst != p.flow.dst || e.seq != p.seq) return true;
    // On the receive path TCP may rewrite the header of a queued skb
    // (tcp_add_backlog merges the next segment into it and ORs in its FIN and
    // PSH), so there other flags are still the same packet.
    bool receive_path = e.kind == K::netif_receive_skb || e.kind == K::tcp_probe ||
                        e.kind == K::skb_copy_datagram_iovec;
    // A pure ACK and the next data segment can carry the same seq and flags
    // (no PSH): on the way down their lengths tell them apart.
    bool sending = e.kind == K::net_dev_queue || e.kind == K::net_dev_start_xmit;
    if (sending && e.payload_len != p.payload_len) return true;
    return !receive_path && e.tcp_flags != p.tcp_flags;
}

// kfree_skb is on the receive side only after the packet reached the
// receive path; before that (a netfilter OUTPUT drop, a full qdisc) it died
// on its way down.
void mark_drop_side(Packet& p) {
    bool received = false;
    for (auto& h : p.hops) {
        if (h.event == K::kfree_skb) h.receive_side = received;
        else received |= h.receive_side;
    }
}

}  // namespace

std::vector<PacketState> skb_lifetimes(const std::vector<const Event*>& skb_hops) {
    std::vector<PacketState> packets;
    std::unordered_map<std::uint64_t, std::size_t> live_skb;
    for (const Event* e : skb_hops) {
        auto it = live_skb.find(e->skb);
        bool ends = e->kind == K::consume_skb || e->kind == K::kfree_skb;
        // The same address with other headers: the old skb's end was lost
        // (ring buffer full) and the allocator handed the address out again.
        bool reused = it != live_skb.end() && is_other_packet(packets[it->second], *e);
        // A packet starts at its first transmit hop: ip_output where the
        // kernel lets fentry give it, else net_dev_queue (which then joins
        // the packet its ip_output started).
        bool after_ip_output = it != live_skb.end() && e->kind == K::net_dev_queue &&
                               !packets[it->second].has_device &&
                               std::all_of(packets[it->second].p.hops.begin(),
                                           packets[it->second].p.hops.end(), [](const Hop& h) {
                                               return h.event == K::ip_output;
                                           });
        bool starts = e->kind == K::ip_output || (e->kind == K::net_dev_queue && !after_ip_output);
        std::size_t idx;
        if (it == live_skb.end() || starts || reused) {
            // consume_skb of an skb we never saw on the path (e.g. the TCP
            // original freed when ACKed) is not a packet of the journey.
            if (e->kind == K::consume_skb) continue;
            idx = packets.size();
            packets.emplace_back();
            // A TCP packet on lo gathers 9-16 hops; growing to them moved
            // every Hop (four strings each) four times.
            packets.back().p.hops.reserve(16);
            packets.back().p.skbs.push_back(e->skb);
            live_skb[e->skb] = idx;
        } else {
            idx = it->second;
        }
        auto& ps = packets[idx];
        ps.p.hops.push_back(hop_from(*e));
        read_headers(ps, *e);
        switch (e->kind) {
            case K::net_dev_queue:
            case K::net_dev_start_xmit:
            case K::net_dev_xmit:
                ps.has_device = true;
                if (!ps.p.sender_sk && e->sk) ps.p.sender_sk = e->sk;
                break;
            case K::netif_receive_skb:
                ps.has_device = true;
                if (!ps.rx_ns) {
                    ps.rx_ns = e->t_ns;
                    ps.rx_cpu = e->cpu;
                    ps.rx_tid = e->tid;
                }
                break;
            case K::netif_rx:
                ps.has_device = true;
                break;
            case K::tcp_probe:
                if (e->sk) ps.p.receiver_sk = e->sk;
                break;
            case K::skb_copy_datagram_iovec:
                // size: bytes this copy moved (a read may take part of an skb).
                ps.copies.push_back({e->t_ns, e->tid, e->size ? e->size : e->skb_len});
                // UNIX skbs belong to the sender's socket (skb_set_owner_w).
                if (e->sk && !ps.p.sender_sk && ps.header_rank == 100) ps.p.sender_sk = e->sk;
                if (!ps.rx_ns) {
                    ps.rx_cpu = e->cpu;
                    ps.rx_tid = e->tid;
                }
                break;
            case K::kfree_skb:
                // Before any device (a netfilter OUTPUT drop) the skb's sock
                // is its owner, the sender; later it is the receiving sock.
                if (!ps.has_device && e->sk && !ps.p.sender_sk) ps.p.sender_sk = e->sk;
                // QUEUE_PURGE: the skb was still queued when its socket was
                // destroyed (tcp_done -> inet_csk_destroy_sock) - it had been
                // processed; not a loss.
                ps.p.dropped = e->drop_reason_name != "QUEUE_PURGE";
                ps.p.drop_reason = e->drop_reason_name.empty() ? std::to_string(e->drop_reason)
                                                               : e->drop_reason_name;
                break;
            default:
                break;
        }
        if (ends) {
            ps.end_ns = e->t_ns;
            live_skb.erase(e->skb);
        }
    }
    for (auto& ps : packets) {
        ps.unix_like = !ps.has_device && ps.header_rank == 100;
        mark_drop_side(ps.p);
    }
    return packets;
}


// A GSO skb is queued whole (net_dev_queue) and cut into segments before the
// driver sees it (validate_xmit_skb -> skb_gso_segment): the segments are new
// skbs that start at net_dev_start_xmit, and the original is consumed. The
// capture sees the segments, so they are the packets; each gets the
// original's queueing hop, and the original leaves the journey.
std::vector<PacketState> merge_gso_segments(std::vector<PacketState> packets) {
    // The IP output hop comes before any of this: skip it.
    auto first_event = [](const PacketState& ps) {
        for (const Hop& h : ps.p.hops)
            if (h.event != K::ip_output) return h.event;
        return K::syscall_enter;
    };
    std::vector<bool> gone(packets.size(), false);
    std::map<std::uint32_t, std::size_t> parent_on_tid;  // last GSO original per thread
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto& ps = packets[i];
        bool original = first_event(ps) == K::net_dev_queue &&
                        std::none_of(ps.p.hops.begin(), ps.p.hops.end(), [](const Hop& h) {
                            return h.event == K::net_dev_start_xmit;
                        }) && ps.end_ns;
        if (original) {
            parent_on_tid[ps.p.hops.front().tid] = i;
            continue;
        }
        if (first_event(ps) != K::net_dev_start_xmit) continue;
        auto it = parent_on_tid.find(ps.p.hops.front().tid);
        if (it == parent_on_tid.end()) continue;
        auto& parent = packets[it->second];
        if (parent.p.flow.src != ps.p.flow.src || parent.p.flow.dst != ps.p.flow.dst) continue;
        // The original's hops up to its queueing (ip_output, net_dev_queue).
        std::vector<Hop> before;
        for (const Hop& h : parent.p.hops) {
            before.push_back(h);
            if (h.event == K::net_dev_queue) break;
        }
        Hop& queued = before.back();
        queued.detail = fmt::format("queued as one GSO skb of {} B, segmented before transmit",
                                    queued.len);
        ps.p.hops.insert(ps.p.hops.begin(), before.begin(), before.end());
        if (!ps.p.sender_sk) ps.p.sender_sk = parent.p.sender_sk;
        gone[it->second] = true;
    }
    // Most runs have no GSO original: the packets stay where they are.
    if (std::find(gone.begin(), gone.end(), true) == gone.end()) return packets;
    std::vector<PacketState> kept;
    kept.reserve(packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i)
        if (!gone[i]) kept.push_back(std::move(packets[i]));
    return kept;
}

}  // namespace tpk::journey::stages
