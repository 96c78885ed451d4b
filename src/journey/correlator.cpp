#include "journey/correlator.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "decode/packet.h"
#include "decode/text.h"
#include "model/event_io.h"

namespace tpk::journey {
namespace {

using model::Event;
using model::EventKind;
using model::Flow;
using model::Layer;
using K = EventKind;

// ---------------------------------------------------------------- helpers

bool flow_empty(const Flow& f) {
    return f.protocol == 0 && f.src.family == 0 && f.dst.family == 0 && f.unix_inode == 0;
}

Flow reversed(const Flow& f) {
    Flow r = f;
    std::swap(r.src, r.dst);
    std::swap(r.unix_inode, r.unix_peer_inode);
    return r;
}

// Same conversation, either direction (TCP/UDP 5-tuple).
bool same_conversation(const Flow& a, const Flow& b) {
    if (a.protocol != b.protocol) return false;
    return (a.src == b.src && a.dst == b.dst) || (a.src == b.dst && a.dst == b.src);
}

// Events that carry an skb of the packet path: a packet is one skb for its
// lifetime (net_dev_queue .. consume_skb/kfree_skb).
bool is_skb_hop(K k) {
    switch (k) {
        case K::ip_output:
        case K::ip_rcv:
        case K::ip_local_deliver:
        case K::net_dev_queue:
        case K::net_dev_start_xmit:
        case K::net_dev_xmit:
        case K::netif_rx:
        case K::netif_receive_skb:
        case K::tcp_probe:
        case K::skb_copy_datagram_iovec:
        case K::consume_skb:
        case K::kfree_skb:
            return true;
        default:
            return false;
    }
}

bool is_receive_side(K k) {
    switch (k) {
        case K::ip_rcv:
        case K::ip_local_deliver:
        case K::netif_rx:
        case K::netif_receive_skb:
        case K::tcp_probe:
        case K::sk_data_ready:
        case K::skb_copy_datagram_iovec:
        case K::consume_skb:
        case K::kfree_skb:
        case K::sock_recv_length:
        case K::tcp_receive_reset:
            return true;
        default:
            return false;
    }
}

// Hops that report the end of something that already happened (the send
// returning after loopback ran the whole receive path, transmit done after
// netif_rx, the skb freed): shown, but they do not start a layer on the
// packet's path.
bool is_completion_hop(K k) {
    switch (k) {
        case K::sock_send_length:
        case K::net_dev_xmit:
        case K::consume_skb:
        case K::kfree_skb:
        case K::sock_recv_length:
        case K::inet_sock_set_state:
        case K::tcp_retransmit_skb:
        case K::tcp_send_reset:
            return true;
        default:
            // tcp_receive_reset is TCP processing the RST (tcp_reset(), where
            // a SYN-SENT socket has no tcp_probe): it starts receive transport.
            return false;
    }
}

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

bool is_send_syscall(const std::string& n) {
    return n == "sendto" || n == "sendmsg" || n == "send" || n == "write" || n == "writev" ||
           n == "sendmmsg" || n == "pwrite64";
}
bool is_recv_syscall(const std::string& n) {
    return n == "recvfrom" || n == "recvmsg" || n == "recv" || n == "read" || n == "readv" ||
           n == "recvmmsg";
}

// Where a drop happened, from its reason (include/net/dropreason-core.h):
// kfree_skb itself is reported from wherever the skb died.
Layer drop_layer(const std::string& reason) {
    auto starts = [&](const char* prefix) { return reason.rfind(prefix, 0) == 0; };
    if (reason == "NETFILTER_DROP" || reason == "OTHERHOST" || reason == "XFRM_POLICY" ||
        reason == "PKT_TOO_SMALL" || starts("IP_") || starts("IPV6"))
        return Layer::network;
    if (reason == "NO_SOCKET" || starts("TCP_") || reason == "UDP_CSUM")
        return Layer::transport;
    if (starts("QDISC_") || starts("DEV_") || starts("TC_") || starts("NEIGH_") ||
        reason == "FULL_RING")
        return Layer::device;
    if (reason == "CPU_BACKLOG") return Layer::receive;
    return Layer::socket;
}

Hop hop_from(const Event& e) {
    Hop h;
    h.event = e.kind;
    h.layer = model::layer_of(e.kind);
    h.receive_side = is_receive_side(e.kind);
    h.t_ns = e.t_ns;
    h.pid = e.pid;
    h.tid = e.tid;
    h.cpu = e.cpu;
    h.comm = e.comm;
    h.skb = e.skb;
    h.sk = e.sk;
    h.len = e.skb_len;
    h.dev = e.dev;
    h.ret = e.ret;
    h.old_state = e.old_state;
    h.new_state = e.new_state;
    // The IP hops stand for two functions each, IPv4's and IPv6's.
    if (e.kind == K::ip_output || e.kind == K::ip_rcv || e.kind == K::ip_local_deliver) {
        bool v6 = e.flow.src.family == AF_INET6;
        h.detail = e.kind == K::ip_output ? (v6 ? "ip6_output" : "ip_output")
                   : e.kind == K::ip_rcv  ? (v6 ? "ipv6_rcv" : "ip_rcv")
                                          : (v6 ? "ip6_input" : "ip_local_deliver");
        h.dev.clear();
    }
    if (e.kind == K::kfree_skb) {
        h.detail = "drop " + (e.drop_reason_name.empty() ? std::to_string(e.drop_reason)
                                                           : e.drop_reason_name);
        h.layer = drop_layer(e.drop_reason_name);
    }
    // The skb of tcp_retransmit_skb is the write-queue original: its length is
    // the bytes resent (tcp_transmit_skb sends a clone of it).
    if (e.kind == K::tcp_retransmit_skb) {
        // payload_len is end_seq - seq: a SYN or FIN counts one.
        bool syn = e.tcp_flags & model::kSyn, fin = e.tcp_flags & model::kFin;
        std::uint32_t bytes = e.payload_len - (syn ? 1 : 0) - (fin ? 1 : 0);
        h.detail = syn ? "resends the SYN" : fmt::format("resends {} B", bytes);
        if (fin) h.detail += bytes ? " and the FIN" : "";
        if (fin && !bytes) h.detail = "resends the FIN";
    }
    if (e.kind == K::tcp_send_reset)
        h.detail = e.skb ? "answered with a reset" : "socket resets its connection";
    if (e.kind == K::tcp_receive_reset) h.detail = "socket closed by the reset";
    if (e.kind == K::inet_sock_set_state)
        h.detail = fmt::format("{} -> {}", model::tcp_state_name(e.old_state),
                               model::tcp_state_name(e.new_state));
    if (e.kind == K::skb_copy_datagram_iovec && e.size) h.detail = fmt::format("{} B", e.size);
    if (e.kind == K::fib_table_lookup)
        h.detail = e.route_err ? fmt::format("table {} err {}", e.table, e.route_err)
                               : fmt::format("table {}", e.table);
    return h;
}

// ---------------------------------------------------------------- frames

model::Endpoint endpoint_of(const decode::IpAddress& a, std::uint16_t port) {
    model::Endpoint e;
    e.family = a.family == decode::Family::ipv4 ? AF_INET
             : a.family == decode::Family::ipv6 ? AF_INET6 : 0;
    e.port = port;
    std::memcpy(e.addr.data(), a.bytes.data(), 16);
    if (a.family == decode::Family::ipv4) std::fill(e.addr.begin() + 4, e.addr.end(), 0);
    return e;
}

Frame frame_from(const Event& e, std::size_t index, decode::TextRenderer& text) {
    Frame f;
    f.index = index;
    f.t_ns = e.t_ns;
    f.captured_len = static_cast<std::uint32_t>(e.frame.size());
    f.wire_len = e.skb_len ? e.skb_len : f.captured_len;
    f.link_type = e.link_type;
    f.bytes = e.frame;
    decode::Packet p;
    auto bytes = std::as_bytes(std::span<const std::uint8_t>(e.frame));
    decode::decode_frame(e.link_type, bytes, f.wire_len, p);
    if (p.transport == decode::Transport::tcp || p.transport == decode::Transport::udp) {
        f.flow.protocol = p.protocol;
        f.flow.src = endpoint_of(p.src, p.src_port());
        f.flow.dst = endpoint_of(p.dst, p.dst_port());
        f.payload_len = p.payload_length;
        if (p.transport == decode::Transport::tcp) {
            f.tcp_flags = p.tcp.flags;
            f.seq = p.tcp.seq;
            f.ack = p.tcp.ack;
        }
    }
    fmt::memory_buffer out;
    text.render_body(p, out);
    f.summary = fmt::to_string(out);
    return f;
}

bool frame_matches(const Frame& f, const Packet& p) {
    if (f.flow.protocol != p.flow.protocol || f.flow.src != p.flow.src || f.flow.dst != p.flow.dst)
        return false;
    if (f.payload_len != p.payload_len) return false;
    if (p.flow.protocol == IPPROTO_TCP)
        return f.tcp_flags == p.tcp_flags && f.seq == p.seq && f.ack == p.ack;
    return true;
}

// ---------------------------------------------------------------- builder

struct PacketState {
    Packet p;
    int header_rank = 100;
    std::uint64_t rx_ns = 0;       // netif_receive_skb: its receive processing starts
    std::uint64_t end_ns = 0;      // consume/kfree: its skb is gone
    std::uint32_t rx_cpu = 0;
    std::uint32_t rx_tid = 0;
    bool has_device = false;
    bool unix_like = false;
    std::uint64_t copy_len = 0;    // bytes copied to user by reads that consumed them
    struct Copy {
        std::uint64_t t_ns;
        std::uint32_t tid;
        std::uint64_t bytes;
    };
    std::vector<Copy> copies;
};

class Builder {
public:
    explicit Builder(CorrelatorInput in) : in_(std::move(in)) {}
    Journey run();

private:
    void sort_events();
    void build_syscalls();
    void build_packets();
    void read_headers(PacketState& ps, const Event& e);
    void merge_gso_segments();
    void build_frames();
    void learn_sockets();
    void find_receivers();
    void build_connections();
    void attach_datagram_reads();
    void attach_stream_ranges();
    void attach_syscalls();
    void attach_unix();
    void attach_side_events();
    void attach_retransmit(const Event& e);
    void attach_send_reset(const Event& e);
    std::size_t reset_sent(const Event& e) const;
    std::size_t reset_received(const Event& e) const;
    void classify();
    void mark_retransmits();
    void find_reset_errors();
    void keep_answered_segments();
    void match_frames();
    void build_states();
    void build_routes();
    void finish();

    std::size_t open_syscall(std::uint32_t tid, std::uint64_t t) const;
    std::size_t own_syscall(const Event& state_change) const;
    std::size_t consuming_read(PacketState& ps) const;
    std::size_t receiving_packet(std::uint32_t cpu, std::uint32_t tid, std::uint64_t t) const;
    void index_packets();
    std::size_t connection_of(const Flow& f) const;
    Role role_of_pid(std::uint32_t pid) const;
    Role role_of_sk(std::uint64_t sk) const;

    CorrelatorInput in_;
    std::vector<const Event*> ev_;           // time order
    std::vector<const Event*> side_;         // sk_data_ready, states, fib, sock_*_length, ...
    std::vector<const Event*> frames_ev_;
    std::vector<PacketState> ps_;
    std::unordered_map<std::uint64_t, std::size_t> live_skb_;
    std::map<std::uint32_t, std::vector<std::size_t>> syscalls_by_tid_;
    std::unordered_map<std::uint64_t, Flow> sk_flow_;   // local -> remote
    std::unordered_map<std::uint64_t, int> sk_family_;
    std::unordered_map<std::uint64_t, std::uint64_t> unix_peer_;  // sender sk -> peer sk
    // (cpu, tid) -> (rx_ns, packet) sorted; tid -> (net_dev_queue t, packet) sorted
    std::map<std::pair<std::uint32_t, std::uint32_t>,
             std::vector<std::pair<std::uint64_t, std::size_t>>> rx_index_;
    std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::size_t>>> queue_index_;
    std::unordered_map<const Event*, std::size_t> fib_packet_;
    Journey j_;
};

void Builder::sort_events() {
    ev_.reserve(in_.events.size());
    for (const auto& e : in_.events) ev_.push_back(&e);
    std::stable_sort(ev_.begin(), ev_.end(),
                     [](const Event* a, const Event* b) { return a->t_ns < b->t_ns; });
}

void Builder::build_syscalls() {
    std::unordered_map<std::uint32_t, std::size_t> open;  // tid -> syscall
    for (const Event* e : ev_) {
        if (e->kind == K::syscall_enter) {
            Syscall s;
            s.name = e->syscall;
            s.nr = e->syscall_nr;
            s.pid = e->pid;
            s.tid = e->tid;
            s.comm = e->comm;
            s.fd = e->fd;
            s.size = e->size;
            s.flags = e->flags;
            s.enter_ns = e->t_ns;
            s.sk = e->sk;
            open[e->tid] = j_.syscalls.size();
            j_.syscalls.push_back(std::move(s));
        } else if (e->kind == K::syscall_exit) {
            auto it = open.find(e->tid);
            if (it != open.end() && j_.syscalls[it->second].nr == e->syscall_nr) {
                auto& s = j_.syscalls[it->second];
                s.exit_ns = e->t_ns;
                s.ret = e->ret;
                if (!s.sk) s.sk = e->sk;
                else if (e->sk && e->sk != s.sk) s.new_sk = e->sk;  // accept()
                if (s.name == "socket" || s.name == "socketpair") s.new_sk = e->sk;
                open.erase(it);
            } else {
                // The enter happened before tracing started (or was lost).
                Syscall s;
                s.name = e->syscall;
                s.nr = e->syscall_nr;
                s.pid = e->pid;
                s.tid = e->tid;
                s.comm = e->comm;
                s.fd = e->fd;
                s.enter_ns = e->t_ns;
                s.exit_ns = e->t_ns;
                s.ret = e->ret;
                s.sk = e->sk;
                j_.syscalls.push_back(std::move(s));
            }
        }
    }
    std::stable_sort(j_.syscalls.begin(), j_.syscalls.end(),
                     [](const Syscall& a, const Syscall& b) { return a.enter_ns < b.enter_ns; });
    for (std::size_t i = 0; i < j_.syscalls.size(); ++i) {
        syscalls_by_tid_[j_.syscalls[i].tid].push_back(i);
        auto& s = j_.syscalls[i];
        if (auto r = role_of_pid(s.pid); r != Role::unknown) s.role = r;
    }
}

// The syscall running on tid at time t, or kNone.
std::size_t Builder::open_syscall(std::uint32_t tid, std::uint64_t t) const {
    auto it = syscalls_by_tid_.find(tid);
    if (it == syscalls_by_tid_.end()) return kNone;
    // A thread runs one syscall at a time: the candidate is the last one
    // entered at or before t (indices are in enter order).
    const auto& v = it->second;
    auto pos = std::upper_bound(v.begin(), v.end(), t, [&](std::uint64_t x, std::size_t i) {
        return x < j_.syscalls[i].enter_ns;
    });
    if (pos == v.begin()) return kNone;
    const auto& s = j_.syscalls[*(pos - 1)];
    return s.exit_ns == 0 || s.exit_ns >= t ? *(pos - 1) : kNone;
}

// The read that took the packet's bytes: the last copy to user made by a
// syscall without MSG_PEEK (a peek copies but leaves the skb queued). Also
// sums the bytes those reads took.
std::size_t Builder::consuming_read(PacketState& ps) const {
    constexpr std::uint64_t kMsgPeek = 2;
    std::size_t read = kNone, any = kNone;
    ps.copy_len = 0;
    for (const auto& c : ps.copies) {
        std::size_t r = open_syscall(c.tid, c.t_ns);
        if (r == kNone) continue;
        any = r;
        if (j_.syscalls[r].flags & kMsgPeek) continue;
        read = r;
        ps.copy_len += c.bytes;
    }
    if (read == kNone && any != kNone) {
        for (const auto& c : ps.copies) ps.copy_len += c.bytes;
        return any;
    }
    return read;
}

// A state change the socket's own syscall made (connect: SYN-SENT, close:
// FIN-WAIT-1, listen: LISTEN), as opposed to one made while receiving.
std::size_t Builder::own_syscall(const Event& e) const {
    std::size_t s = open_syscall(e.tid, e.t_ns);
    if (s == kNone) return kNone;
    const auto& sc = j_.syscalls[s];
    if (e.sk && (sc.sk == e.sk || sc.new_sk == e.sk)) return s;
    return kNone;
}

void Builder::read_headers(PacketState& ps, const Event& e) {
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

void Builder::build_packets() {
    for (const Event* e : ev_) {
        if (e->kind == K::frame) {
            frames_ev_.push_back(e);
            continue;
        }
        if (e->kind == K::socket_snapshot) {
            SocketView v;
            v.t_ns = e->t_ns;
            // flags carries the side when the snapshot's taker knew it (1
            // client, 2 server); else the server port tells.
            v.role = e->flags == 1 ? Role::client : e->flags == 2 ? Role::server : Role::unknown;
            if (v.role == Role::unknown && in_.server_port)
                v.role = e->flow.src.port == in_.server_port ? Role::server : Role::client;
            v.flow = e->flow;
            v.state = e->new_state;
            v.recv_q = e->recv_q;
            v.send_q = e->send_q;
            j_.sockets.push_back(v);
            continue;
        }
        if (e->kind == K::syscall_enter || e->kind == K::syscall_exit ||
            e->kind == K::process_fork || e->kind == K::process_exit)
            continue;
        if (!is_skb_hop(e->kind) || e->skb == 0) {
            side_.push_back(e);
            continue;
        }
        auto it = live_skb_.find(e->skb);
        bool ends = e->kind == K::consume_skb || e->kind == K::kfree_skb;
        // The same address with other headers: the old skb's end was lost
        // (ring buffer full) and the allocator handed the address out again.
        bool reused = it != live_skb_.end() && is_other_packet(ps_[it->second], *e);
        // A packet starts at its first transmit hop: ip_output where the
        // kernel lets fentry give it, else net_dev_queue (which then joins
        // the packet its ip_output started).
        bool after_ip_output = it != live_skb_.end() && e->kind == K::net_dev_queue &&
                               !ps_[it->second].has_device &&
                               std::all_of(ps_[it->second].p.hops.begin(),
                                           ps_[it->second].p.hops.end(), [](const Hop& h) {
                                               return h.event == K::ip_output;
                                           });
        bool starts = e->kind == K::ip_output || (e->kind == K::net_dev_queue && !after_ip_output);
        std::size_t idx;
        if (it == live_skb_.end() || starts || reused) {
            // consume_skb of an skb we never saw on the path (e.g. the TCP
            // original freed when ACKed) is not a packet of the journey.
            if (e->kind == K::consume_skb) continue;
            idx = ps_.size();
            ps_.emplace_back();
            ps_.back().p.skbs.push_back(e->skb);
            live_skb_[e->skb] = idx;
        } else {
            idx = it->second;
        }
        auto& ps = ps_[idx];
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
            live_skb_.erase(e->skb);
        }
    }
    for (auto& ps : ps_) {
        ps.unix_like = !ps.has_device && ps.header_rank == 100;
        mark_drop_side(ps.p);
    }
    merge_gso_segments();
}

// A GSO skb is queued whole (net_dev_queue) and cut into segments before the
// driver sees it (validate_xmit_skb -> skb_gso_segment): the segments are new
// skbs that start at net_dev_start_xmit, and the original is consumed. The
// capture sees the segments, so they are the packets; each gets the
// original's queueing hop, and the original leaves the journey.
void Builder::merge_gso_segments() {
    // The IP output hop comes before any of this: skip it.
    auto first_event = [](const PacketState& ps) {
        for (const Hop& h : ps.p.hops)
            if (h.event != K::ip_output) return h.event;
        return K::syscall_enter;
    };
    std::vector<bool> gone(ps_.size(), false);
    std::map<std::uint32_t, std::size_t> parent_on_tid;  // last GSO original per thread
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& ps = ps_[i];
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
        auto& parent = ps_[it->second];
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
    std::vector<PacketState> kept;
    for (std::size_t i = 0; i < ps_.size(); ++i)
        if (!gone[i]) kept.push_back(std::move(ps_[i]));
    ps_ = std::move(kept);
}

void Builder::build_frames() {
    decode::TextRenderer text({.absolute_seq = true});
    for (std::size_t i = 0; i < frames_ev_.size(); ++i)
        j_.unmatched_frames.push_back(frame_from(*frames_ev_[i], i, text));
    j_.stats.frames = frames_ev_.size();
}

// sk -> its local and remote endpoints, from every source that names both:
// the socket tracepoints give local -> remote; a transmitted skb's owner is its
// sender; tcp_probe's socket is the receiver.
void Builder::learn_sockets() {
    for (const Event* e : side_) {
        if (!e->sk) continue;
        if (e->flow.src.family) sk_family_[e->sk] = e->flow.src.family;
        if (e->kind == K::inet_sock_set_state || e->kind == K::tcp_sendmsg_locked) {
            // tcp_v4_connect() sets SYN-SENT before inet_hash_connect() picks
            // the local port: a flow from port 0 is replaced by a later one.
            auto known = sk_flow_.find(e->sk);
            bool better = known == sk_flow_.end() ||
                          (known->second.src.port == 0 && e->flow.src.port != 0);
            if (e->flow.protocol && better) sk_flow_[e->sk] = e->flow;
        }
    }
    for (const Event* e : ev_) {
        if ((e->kind == K::syscall_enter || e->kind == K::syscall_exit) && e->sk &&
            e->flow.src.family)
            sk_family_[e->sk] = e->flow.src.family;
    }
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        // A SYN-ACK leaves from the request sock (tcp_v4_send_synack), a
        // mini socket with the connection's endpoints that never carries data:
        // taking it for the server's socket would give its packets and reads
        // to the wrong sk.
        bool syn_ack = (p.tcp_flags & model::kSyn) && (p.tcp_flags & model::kAck);
        if (p.sender_sk && !syn_ack && !sk_flow_.count(p.sender_sk))
            sk_flow_[p.sender_sk] = p.flow;
        if (p.receiver_sk && !sk_flow_.count(p.receiver_sk))
            sk_flow_[p.receiver_sk] = reversed(p.flow);
    }
    // Packets whose owners were not on their events: find them by endpoint.
    // Several socks can share a connection's endpoints (a TIME-WAIT sock
    // answers its last segments): prefer one a system call used.
    std::set<std::uint64_t> used;
    for (const auto& s : j_.syscalls) {
        if (s.sk) used.insert(s.sk);
        if (s.new_sk) used.insert(s.new_sk);
    }
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        auto pick = [&](const model::Endpoint& local, const model::Endpoint& remote) {
            std::uint64_t any = 0, called = 0;
            for (const auto& [sk, f] : sk_flow_) {
                if (f.protocol != p.flow.protocol || f.src != local || f.dst != remote) continue;
                if (!any) any = sk;
                if (!called && used.count(sk)) called = sk;
            }
            return called ? called : any;
        };
        if (!p.sender_sk) p.sender_sk = pick(p.flow.src, p.flow.dst);
        if (!p.receiver_sk) p.receiver_sk = pick(p.flow.dst, p.flow.src);
    }
    // A syscall's socket: its own sk, or the socket tracepoints that fired
    // inside its window on the same thread.
    for (const Event* e : side_) {
        if (e->kind != K::sock_send_length && e->kind != K::sock_recv_length &&
            e->kind != K::tcp_sendmsg_locked && e->kind != K::inet_sock_set_state)
            continue;
        if (!e->sk) continue;
        std::size_t s = open_syscall(e->tid, e->t_ns);
        if (s == kNone || j_.syscalls[s].sk) continue;
        // inet_sock_set_state fires for whichever socket softirq touches, so
        // it names the syscall's socket only for the caller's own transitions
        // (connect: CLOSE -> SYN-SENT, listen: CLOSE -> LISTEN).
        if (e->kind == K::inet_sock_set_state && e->old_state != 7) continue;
        j_.syscalls[s].sk = e->sk;
    }
    // fd -> sk per process: connect/close/shutdown on a known fd.
    std::map<std::pair<std::uint32_t, int>, std::uint64_t> fd_sk;
    for (const auto& s : j_.syscalls) {
        if (s.sk && s.fd >= 0) fd_sk[{s.pid, s.fd}] = s.sk;
        if (s.new_sk && s.ret >= 0) fd_sk[{s.pid, static_cast<int>(s.ret)}] = s.new_sk;
    }
    for (auto& s : j_.syscalls) {
        if (s.sk || s.fd < 0) continue;
        if (auto it = fd_sk.find({s.pid, s.fd}); it != fd_sk.end()) s.sk = it->second;
    }
}

Role Builder::role_of_pid(std::uint32_t pid) const {
    for (const auto& p : in_.processes)
        if (p.pid == pid) return p.role;
    return Role::unknown;
}

std::size_t Builder::connection_of(const Flow& f) const {
    for (std::size_t i = 0; i < j_.connections.size(); ++i) {
        const auto& c = j_.connections[i];
        if (c.client_to_server.protocol != f.protocol) continue;
        if (f.protocol == 0) continue;
        if (same_conversation(c.client_to_server, f)) return i;
    }
    return kNone;
}

Role Builder::role_of_sk(std::uint64_t sk) const {
    if (!sk) return Role::unknown;
    for (const auto& c : j_.connections) {
        if (sk == c.client_sk) return Role::client;
        if (sk == c.server_sk || sk == c.listen_sk) return Role::server;
    }
    auto it = sk_flow_.find(sk);
    if (it != sk_flow_.end()) {
        for (const auto& c : j_.connections) {
            if (c.client_to_server.protocol != it->second.protocol) continue;
            if (it->second.src == c.client_to_server.src) return Role::client;
            if (it->second.src == c.client_to_server.dst) return Role::server;
            if (it->second.src.port == c.client_to_server.dst.port && it->second.dst.port == 0)
                return Role::server;
        }
        if (in_.server_port && it->second.src.port == in_.server_port) return Role::server;
    }
    return Role::unknown;
}

std::string transport_of(const Flow& f) {
    bool v6 = f.src.family == AF_INET6;
    if (f.protocol == IPPROTO_TCP) return v6 ? "tcp6" : "tcp";
    if (f.protocol == IPPROTO_UDP) return v6 ? "udp6" : "udp";
    return "unix";
}

// Who is the client: the sender of a SYN without ACK; else the side that is
// not the known server port; else the first sender.
Flow client_direction(const std::vector<PacketState>& ps, const std::vector<std::size_t>& members,
                      std::uint16_t server_port) {
    for (std::size_t i : members) {
        const auto& p = ps[i].p;
        if (p.flow.protocol == IPPROTO_TCP && (p.tcp_flags & model::kSyn) &&
            !(p.tcp_flags & model::kAck))
            return p.flow;
    }
    const Flow& first = ps[members.front()].p.flow;
    if (server_port) {
        if (first.dst.port == server_port) return first;
        if (first.src.port == server_port) return reversed(first);
    }
    return first;
}

// The socket a packet was delivered to: sk_data_ready, nested in its receive
// processing, names it (UDP skbs do not carry it).
void Builder::find_receivers() {
    for (const Event* e : side_) {
        if (e->kind != K::sk_data_ready || !e->sk) continue;
        std::size_t rx = receiving_packet(e->cpu, e->tid, e->t_ns);
        if (rx != kNone && !ps_[rx].p.receiver_sk) ps_[rx].p.receiver_sk = e->sk;
    }
}

void Builder::build_connections() {
    std::vector<std::vector<std::size_t>> groups;
    std::vector<Flow> keys;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& f = ps_[i].p.flow;
        if (f.protocol == 0) continue;
        std::size_t g = kNone;
        for (std::size_t k = 0; k < keys.size(); ++k)
            if (same_conversation(keys[k], f)) g = k;
        if (g == kNone) {
            g = keys.size();
            keys.push_back(f);
            groups.emplace_back();
        }
        groups[g].push_back(i);
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
        Connection c;
        c.client_to_server = client_direction(ps_, groups[g], in_.server_port);
        c.transport = transport_of(c.client_to_server);
        // Each end's socket: the one most of its packets name. Others
        // appear at the edges: the request sock sends the SYN-ACK, a
        // TIME-WAIT sock answers (and frees) the last segments.
        std::map<std::uint64_t, std::size_t> client_votes, server_votes;
        for (std::size_t i : groups[g]) {
            const auto& p = ps_[i].p;
            bool from_client = p.flow.src == c.client_to_server.src;
            if (p.tcp_flags & model::kSyn) {
                if (from_client) c.client_isn = p.seq;
                else c.server_isn = p.seq;
            }
            auto& sender = from_client ? client_votes : server_votes;
            auto& receiver = from_client ? server_votes : client_votes;
            if (p.sender_sk && !(!from_client && (p.tcp_flags & model::kSyn))) ++sender[p.sender_sk];
            if (p.receiver_sk) ++receiver[p.receiver_sk];
        }
        auto most = [](const std::map<std::uint64_t, std::size_t>& votes) {
            std::uint64_t best = 0;
            std::size_t n = 0;
            for (const auto& [sk, count] : votes)
                if (count > n) {
                    best = sk;
                    n = count;
                }
            return best;
        };
        c.client_sk = most(client_votes);
        c.server_sk = most(server_votes);
        // Sockets whose local end is the server's but are not connected to
        // the client: the listener.
        for (const auto& [sk, f] : sk_flow_) {
            if (f.protocol != c.client_to_server.protocol) continue;
            if (f.src == c.client_to_server.dst && !sk_flow_.empty() && sk != c.server_sk &&
                f.dst.port == 0)
                c.listen_sk = sk;
            if (!c.client_sk && f.src == c.client_to_server.src && f.dst == c.client_to_server.dst)
                c.client_sk = sk;
            if (!c.server_sk && f.src == c.client_to_server.dst && f.dst == c.client_to_server.src)
                c.server_sk = sk;
        }
        j_.connections.push_back(std::move(c));
    }
    // Roles of syscalls whose process the caller did not name (trace): by
    // the socket they used, then the role most of the process's other calls
    // have (a forked client first closes the listener it inherited).
    std::map<std::uint32_t, std::pair<std::size_t, std::size_t>> votes;  // client, server
    for (auto& s : j_.syscalls) {
        if (s.role == Role::unknown) s.role = role_of_sk(s.new_sk ? s.new_sk : s.sk);
        if (s.role == Role::client) ++votes[s.pid].first;
        if (s.role == Role::server) ++votes[s.pid].second;
    }
    for (auto& s : j_.syscalls) {
        auto it = votes.find(s.pid);
        if (s.role != Role::unknown || it == votes.end()) continue;
        s.role = it->second.first > it->second.second ? Role::client : Role::server;
    }
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& p = ps_[i].p;
        p.connection = connection_of(p.flow);
        if (p.connection == kNone) continue;
        const auto& c = j_.connections[p.connection];
        p.direction = p.flow.src == c.client_to_server.src ? Direction::client_to_server
                                                           : Direction::server_to_client;
    }
}

// The packet whose receive processing is running on (cpu, tid) at time t: on
// loopback the whole receive path (and any reply it sends) runs nested inside
// netif_receive_skb of that packet, in whatever task raised the softirq.
std::size_t Builder::receiving_packet(std::uint32_t cpu, std::uint32_t tid,
                                      std::uint64_t t) const {
    auto it = rx_index_.find({cpu, tid});
    if (it == rx_index_.end()) return kNone;
    const auto& v = it->second;  // (rx_ns, packet), sorted
    auto pos = std::upper_bound(v.begin(), v.end(), std::make_pair(t, kNone));
    std::size_t context = open_syscall(tid, t);
    // The latest receive started before t that is still going on; a few
    // steps back cover packets received nested inside another's processing.
    for (int steps = 0; pos != v.begin() && steps < 16; ++steps) {
        --pos;
        const auto& ps = ps_[pos->second];
        // Nested processing stays inside one syscall (or one softirq outside
        // any): a packet received during sendto() cannot be what close() is
        // doing later in the same thread.
        if (open_syscall(tid, ps.rx_ns) != context) return kNone;
        if (ps.end_ns && ps.end_ns < t) continue;
        return pos->second;
    }
    return kNone;
}

void Builder::index_packets() {
    rx_index_.clear();
    queue_index_.clear();
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& ps = ps_[i];
        if (ps.rx_ns) rx_index_[{ps.rx_cpu, ps.rx_tid}].push_back({ps.rx_ns, i});
        for (const Hop& h : ps.p.hops)
            if (h.event == K::net_dev_queue) {
                queue_index_[h.tid].push_back({h.t_ns, i});
                break;
            }
    }
    for (auto& [k, v] : rx_index_) std::sort(v.begin(), v.end());
    for (auto& [k, v] : queue_index_) std::sort(v.begin(), v.end());
}

Hop syscall_hop(const Syscall& s, std::size_t index, bool enter, bool receive_side) {
    Hop h;
    h.event = enter ? K::syscall_enter : K::syscall_exit;
    h.layer = Layer::application;
    h.receive_side = receive_side;
    h.t_ns = enter ? s.enter_ns : s.exit_ns;
    h.pid = s.pid;
    h.tid = s.tid;
    h.comm = s.comm;
    h.sk = s.sk;
    h.detail = s.name + (enter ? " enter" : fmt::format(" exit = {}", s.ret));
    h.syscall = index;
    return h;
}

bool syscall_owns(const Syscall& s, std::uint64_t sender_sk, const Flow& flow,
                  const std::unordered_map<std::uint64_t, Flow>& sk_flow) {
    if (!s.sk) return false;
    if (sender_sk) return s.sk == sender_sk;
    auto it = sk_flow.find(s.sk);
    return it != sk_flow.end() && it->second.src == flow.src && it->second.dst == flow.dst;
}

void Builder::attach_syscalls() {
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& ps = ps_[i];
        auto& p = ps.p;
        if (ps.unix_like || p.hops.empty()) continue;
        std::sort(p.hops.begin(), p.hops.end(),
                  [](const Hop& a, const Hop& b) { return a.t_ns < b.t_ns; });
        const Hop& first = p.hops.front();
        bool carries = p.payload_len > 0 || (p.tcp_flags & (model::kSyn | model::kFin)) ||
                       p.flow.protocol == IPPROTO_UDP;
        bool syn_ack = (p.tcp_flags & model::kSyn) && (p.tcp_flags & model::kAck);
        std::size_t s = open_syscall(first.tid, first.t_ns);
        bool owned = s != kNone && !syn_ack && syscall_owns(j_.syscalls[s], p.sender_sk, p.flow, sk_flow_);
        std::size_t rx = receiving_packet(first.cpu, first.tid, first.t_ns);
        if (rx == i) rx = kNone;
        if (p.retransmit && rx != kNone) {
            // Fast retransmit (RACK, duplicate ACKs): the ACK being received
            // showed the bytes lost, even when its processing ran inside the
            // sender's own send() (loopback delivers the ACK there).
            p.cause = Cause::reply;
            p.reply_to = rx;
        } else if (owned && (carries || rx == kNone)) {
            p.cause = Cause::syscall;
            p.send_syscall = s;
        } else if (rx != kNone) {
            p.cause = Cause::reply;
            p.reply_to = rx;
        } else if (owned) {
            p.cause = Cause::syscall;
            p.send_syscall = s;
        } else if (first.event != K::net_dev_queue && first.event != K::ip_output) {
            p.cause = Cause::unknown;  // its transmit hops were lost: no telling who sent it
        } else {
            p.cause = Cause::timer;
        }
        // The receive syscall that copied its bytes to user space.
        p.recv_syscall = consuming_read(ps);
        if (p.send_syscall != kNone) {
            const auto& sc = j_.syscalls[p.send_syscall];
            p.hops.push_back(syscall_hop(sc, p.send_syscall, true, false));
        }
        if (p.recv_syscall != kNone) {
            const auto& sc = j_.syscalls[p.recv_syscall];
            if (sc.exit_ns) p.hops.push_back(syscall_hop(sc, p.recv_syscall, false, true));
        }
    }
}

// TCP by bytes: when a segment was merged into the skb ahead of it in the
// receive queue (tcp_try_coalesce frees it without a tracepoint) no copy
// names it, and a segment sent when an ACK opened the window leaves in
// softirq, not in the send that wrote its bytes. Both syscalls are found by
// the stream offset: the n-th byte sent on a socket is the n-th byte the
// peer's socket reads.
void Builder::attach_stream_ranges() {
    constexpr std::uint64_t kMsgPeek = 2;
    struct Range {
        std::uint64_t begin, end;
        std::size_t syscall;
    };
    std::map<std::uint64_t, std::vector<Range>> sent, read;
    std::map<std::uint64_t, std::uint64_t> sent_total, read_total;
    for (std::size_t i = 0; i < j_.syscalls.size(); ++i) {
        const auto& sc = j_.syscalls[i];
        if (!sc.sk || sc.ret <= 0) continue;
        auto n = static_cast<std::uint64_t>(sc.ret);
        if (is_send_syscall(sc.name)) {
            auto& t = sent_total[sc.sk];
            sent[sc.sk].push_back({t, t + n, i});
            t += n;
        } else if (is_recv_syscall(sc.name) && !(sc.flags & kMsgPeek)) {
            auto& t = read_total[sc.sk];
            read[sc.sk].push_back({t, t + n, i});
            t += n;
        }
    }
    auto find = [](const std::vector<Range>& v, std::uint64_t offset) {
        auto it = std::upper_bound(v.begin(), v.end(), offset,
                                   [](std::uint64_t o, const Range& r) { return o < r.end; });
        return it != v.end() && it->begin <= offset ? it->syscall : kNone;
    };
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol != IPPROTO_TCP || p.payload_len == 0 || p.connection == kNone) continue;
        const auto& c = j_.connections[p.connection];
        bool c2s = p.direction == Direction::client_to_server;
        std::uint32_t isn = c2s ? c.client_isn : c.server_isn;
        if (!isn) continue;  // the handshake was not seen: offsets unknown
        std::uint64_t first = static_cast<std::uint32_t>(p.seq - isn - 1);
        std::uint64_t last = first + p.payload_len - 1;
        std::uint64_t from = c2s ? c.client_sk : c.server_sk;
        std::uint64_t to = c2s ? c.server_sk : c.client_sk;
        if (p.send_syscall == kNone && sent.count(from)) {
            p.send_syscall = find(sent[from], first);
        }
        // A dropped segment delivered nothing: its bytes reach the reader in
        // the retransmit that replaced it.
        if (p.recv_syscall == kNone && !p.dropped && read.count(to)) {
            p.recv_syscall = find(read[to], last);
            if (p.recv_syscall != kNone && j_.syscalls[p.recv_syscall].exit_ns)
                p.hops.push_back(
                    syscall_hop(j_.syscalls[p.recv_syscall], p.recv_syscall, false, true));
        }
    }
}

// UDP copies a linear datagram with copy_linear_skb() (udp_recvmsg), which
// has no tracepoint, so no copy names the skb. Datagrams to one socket are
// read in order: the k-th datagram goes to the k-th read of that socket that
// returned after it arrived (MSG_PEEK reads leave it queued).
void Builder::attach_datagram_reads() {
    std::map<std::uint64_t, std::vector<std::size_t>> by_receiver;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& p = ps_[i].p;
        if (p.flow.protocol != IPPROTO_UDP || p.recv_syscall != kNone || !p.receiver_sk) continue;
        by_receiver[p.receiver_sk].push_back(i);
    }
    constexpr std::uint64_t kMsgPeek = 2;
    for (auto& [sk, list] : by_receiver) {
        std::vector<std::size_t> reads;
        for (std::size_t s = 0; s < j_.syscalls.size(); ++s) {
            const auto& sc = j_.syscalls[s];
            if (sc.sk == sk && is_recv_syscall(sc.name) && sc.ret > 0 && sc.exit_ns &&
                !(sc.flags & kMsgPeek))
                reads.push_back(s);
        }
        std::size_t k = 0;
        for (std::size_t i : list) {
            auto& p = ps_[i].p;
            while (k < reads.size() && j_.syscalls[reads[k]].exit_ns < ps_[i].rx_ns) ++k;
            if (k >= reads.size()) break;
            p.recv_syscall = reads[k++];
            p.hops.push_back(syscall_hop(j_.syscalls[p.recv_syscall], p.recv_syscall, false, true));
        }
    }
}

// UNIX sockets: no device, no headers. The receiver's copy names the skb and
// its recv syscall names the receiving socket; the sender's syscall window
// holds sk_data_ready of that same (peer) socket. Bytes pair them up in order.
void Builder::attach_unix() {
    // Sender sk -> peer sk, from sk_data_ready inside send windows.
    std::map<std::size_t, std::uint64_t> send_peer;  // send syscall -> peer sk
    std::map<std::size_t, const Event*> send_ready;
    for (const Event* e : side_) {
        if (e->kind != K::sk_data_ready || !e->sk) continue;
        std::size_t s = open_syscall(e->tid, e->t_ns);
        if (s == kNone || !is_send_syscall(j_.syscalls[s].name)) continue;
        auto fam = sk_family_.find(j_.syscalls[s].sk);
        if (fam != sk_family_.end() && fam->second != AF_UNIX) continue;
        if (sk_flow_.count(j_.syscalls[s].sk)) continue;  // an inet socket
        send_peer[s] = e->sk;
        send_ready[s] = e;
        if (j_.syscalls[s].sk) unix_peer_[j_.syscalls[s].sk] = e->sk;
    }
    // Receiving sk -> its packets in order, with their byte counts.
    std::map<std::uint64_t, std::vector<std::size_t>> by_receiver;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& ps = ps_[i];
        if (!ps.unix_like) continue;
        std::size_t r = consuming_read(ps);
        if (r != kNone) {
            ps.p.recv_syscall = r;
            ps.p.receiver_sk = j_.syscalls[r].sk;
        }
        if (ps.p.receiver_sk) by_receiver[ps.p.receiver_sk].push_back(i);
    }
    for (auto& [receiver, list] : by_receiver) {
        // The sender: the skb's owner (UNIX skbs are charged to the sender),
        // else the socket whose sends woke this one.
        std::uint64_t sender = 0;
        for (std::size_t i : list)
            if (!sender) sender = ps_[i].p.sender_sk;
        std::vector<std::size_t> sends;
        if (sender) {
            for (std::size_t s = 0; s < j_.syscalls.size(); ++s)
                if (j_.syscalls[s].sk == sender && is_send_syscall(j_.syscalls[s].name))
                    sends.push_back(s);
        } else {
            for (const auto& [s, peer] : send_peer)
                if (peer == receiver) sends.push_back(s);
        }
        std::uint64_t sent_before = 0, recv_before = 0;
        std::set<std::size_t> sends_seen;
        std::size_t k = 0;
        for (std::size_t i : list) {
            auto& p = ps_[i].p;
            // The send whose bytes contain this packet's first byte.
            while (k < sends.size()) {
                const auto& sc = j_.syscalls[sends[k]];
                std::uint64_t n = sc.ret > 0 ? static_cast<std::uint64_t>(sc.ret) : 0;
                if (recv_before < sent_before + n) break;
                sent_before += n;
                ++k;
            }
            recv_before += ps_[i].copy_len ? ps_[i].copy_len : 1;
            if (k >= sends.size()) continue;
            std::size_t s = sends[k];
            const auto& sc = j_.syscalls[s];
            p.send_syscall = s;
            p.cause = Cause::syscall;
            p.sender_sk = sc.sk;
            bool first_of_send = sends_seen.insert(s).second;
            p.hops.push_back(syscall_hop(sc, s, true, false));
            if (first_of_send && send_ready.count(s)) p.hops.push_back(hop_from(*send_ready[s]));
        }
    }
    for (auto& ps : ps_) {
        if (!ps.unix_like) continue;
        auto& p = ps.p;
        p.kind = PacketKind::message;
        p.payload_len = static_cast<std::uint32_t>(ps.copy_len);
        p.flow.src.family = AF_UNIX;
        p.flow.dst.family = AF_UNIX;
        if (p.recv_syscall != kNone) {
            const auto& sc = j_.syscalls[p.recv_syscall];
            if (sc.exit_ns) p.hops.push_back(syscall_hop(sc, p.recv_syscall, false, true));
        }
        if (p.send_syscall == kNone) p.cause = Cause::unknown;
    }
    // One connection per UNIX socket pair.
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& p = ps_[i].p;
        if (!ps_[i].unix_like || !p.sender_sk || !p.receiver_sk) continue;
        std::size_t found = kNone;
        for (std::size_t c = 0; c < j_.connections.size(); ++c) {
            const auto& con = j_.connections[c];
            if (con.client_to_server.protocol != 0) continue;
            if ((con.client_sk == p.sender_sk && con.server_sk == p.receiver_sk) ||
                (con.client_sk == p.receiver_sk && con.server_sk == p.sender_sk))
                found = c;
        }
        Role sender_role = p.send_syscall != kNone ? role_of_pid(j_.syscalls[p.send_syscall].pid)
                                                   : Role::unknown;
        if (found == kNone) {
            Connection con;
            con.transport = in_.transport.rfind("unix", 0) == 0 ? in_.transport : "unix";
            con.client_to_server.src.family = AF_UNIX;
            con.client_to_server.dst.family = AF_UNIX;
            bool sender_is_client = sender_role != Role::server;
            con.client_sk = sender_is_client ? p.sender_sk : p.receiver_sk;
            con.server_sk = sender_is_client ? p.receiver_sk : p.sender_sk;
            found = j_.connections.size();
            j_.connections.push_back(std::move(con));
        }
        p.connection = found;
        p.direction = p.sender_sk == j_.connections[found].client_sk ? Direction::client_to_server
                                                                      : Direction::server_to_client;
    }
}

// Hops that name a socket, not an skb: attach them to the packet they belong
// to by thread, socket and time.
void Builder::attach_side_events() {
    std::unordered_map<std::size_t, std::size_t> first_sent, last_read;  // syscall -> packet
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& p = ps_[i].p;
        if (p.send_syscall != kNone && !first_sent.count(p.send_syscall))
            first_sent[p.send_syscall] = i;
        if (p.recv_syscall != kNone) last_read[p.recv_syscall] = i;
    }
    for (const Event* e : side_) {
        switch (e->kind) {
            case K::tcp_sendmsg_locked:
            case K::sock_send_length: {
                // The send syscall's first packet gets its socket hops.
                std::size_t s = open_syscall(e->tid, e->t_ns);
                auto it = s == kNone ? first_sent.end() : first_sent.find(s);
                if (it == first_sent.end()) break;
                if (ps_[it->second].unix_like && e->kind == K::tcp_sendmsg_locked) break;
                ps_[it->second].p.hops.push_back(hop_from(*e));
                break;
            }
            case K::sock_recv_length: {
                std::size_t s = open_syscall(e->tid, e->t_ns);
                auto it = s == kNone ? last_read.end() : last_read.find(s);
                if (it == last_read.end()) break;
                ps_[it->second].p.hops.push_back(hop_from(*e));
                break;
            }
            case K::sk_data_ready:
            case K::tcp_receive_reset: {
                std::size_t rx = receiving_packet(e->cpu, e->tid, e->t_ns);
                if (rx == kNone && e->kind == K::tcp_receive_reset) rx = reset_received(*e);
                if (rx == kNone) break;
                if (e->kind == K::sk_data_ready && ps_[rx].p.receiver_sk && e->sk &&
                    ps_[rx].p.receiver_sk != e->sk)
                    break;
                ps_[rx].p.hops.push_back(hop_from(*e));
                if (e->kind == K::tcp_receive_reset && !ps_[rx].p.receiver_sk)
                    ps_[rx].p.receiver_sk = e->sk;
                break;
            }
            case K::tcp_send_reset:
                attach_send_reset(*e);
                break;
            case K::fib_table_lookup: {
                // The route lookup for a packet happens on its thread just
                // before its first device hop (connect's SYN, the SYN-ACK),
                // within the same syscall (or softirq).
                auto q = queue_index_.find(e->tid);
                if (q == queue_index_.end()) break;
                auto pos = std::lower_bound(q->second.begin(), q->second.end(),
                                            std::make_pair(e->t_ns, std::size_t{0}));
                if (pos == q->second.end()) break;
                if (open_syscall(e->tid, e->t_ns) != open_syscall(e->tid, pos->first)) break;
                ps_[pos->second].p.hops.push_back(hop_from(*e));
                fib_packet_[e] = pos->second;
                break;
            }
            default:
                break;
        }
    }
    for (const Event* e : side_) {
        if (e->kind != K::inet_sock_set_state) continue;
        std::size_t rx = receiving_packet(e->cpu, e->tid, e->t_ns);
        if (rx == kNone) continue;
        const auto& c = ps_[rx].p;
        if (!same_conversation(c.flow, e->flow) && !(e->flow.dst.port == 0)) continue;
        Hop h = hop_from(*e);
        h.receive_side = true;   // the receiver's TCP changed state on this packet
        ps_[rx].p.hops.push_back(std::move(h));
    }
}

// The first hop of a packet on its way down to a device, or null.
const Hop* first_send_device_hop(const Packet& p) {
    for (const Hop& h : p.hops)
        if (!h.receive_side && (h.event == K::net_dev_queue || h.event == K::net_dev_start_xmit))
            return &h;
    return nullptr;
}

// Two hops ran in the same context: the same thread (the idle task is tid 0
// on every CPU, so there the CPU too).
bool same_context(const Hop& h, const Event& e) {
    return h.tid == e.tid && (e.tid != 0 || h.cpu == e.cpu);
}

// tcp:tcp_retransmit_skb names the write-queue skb, not the clone that went
// out (__tcp_retransmit_skb -> tcp_transmit_skb(clone_it=1)), and on 6.18
// fires at the end of __tcp_retransmit_skb, after the clone was transmitted
// (outside softirq, after loopback already received it). Its packet: the
// latest one of the flow starting at its sequence number that was queued in
// the same context before it. None when the retransmit failed: the
// tracepoint's err (in ret) is not 0, and nothing left.
void Builder::attach_retransmit(const Event& e) {
    if (e.ret < 0) {
        const char* name = strerrorname_np(static_cast<int>(-e.ret));
        j_.notes.push_back(fmt::format(
            "tcp_retransmit_skb for seq {} ({} B) failed with {}: nothing was sent again (e.g. "
            "EBUSY: the original was still queued on the host)",
            e.seq, e.payload_len, name ? name : std::to_string(e.ret)));
        return;
    }
    std::size_t best = kNone;
    std::uint64_t best_t = 0;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& p = ps_[i].p;
        if (p.flow.protocol != IPPROTO_TCP || p.flow.src != e.flow.src ||
            p.flow.dst != e.flow.dst || p.seq != e.seq)
            continue;
        const Hop* q = first_send_device_hop(p);
        if (!q || !same_context(*q, e) || q->t_ns > e.t_ns || q->t_ns < best_t) continue;
        best = i;
        best_t = q->t_ns;
    }
    if (best == kNone) {
        j_.notes.push_back(fmt::format(
            "tcp_retransmit_skb for seq {} ({} B) found no packet that left: its hops were "
            "lost (or the kernel side did not record the tracepoint's err)",
            e.seq, e.payload_len));
        return;
    }
    ps_[best].p.hops.push_back(hop_from(e));
    ps_[best].p.retransmit = true;
}

// tcp:tcp_send_reset fires in two places (6.18): tcp_v4_send_reset() /
// tcp_v6_send_reset() answering a received skb (the event's skb; the kernel
// side turns its flow around to the reset's direction), before the RST is
// built; and tcp_send_active_reset() (no skb: close() with SO_LINGER 0 or
// unread data, an abort), after the RST it built was transmitted. The hop
// goes to the RST, and for an answer also to the packet it answers.
void Builder::attach_send_reset(const Event& e) {
    if (e.skb) {
        // The packet being received in this context, if it is the skb the
        // reset answers (an older packet whose end was not traced may still
        // look open here).
        std::size_t rx = receiving_packet(e.cpu, e.tid, e.t_ns);
        const auto owns = [&](std::size_t i) {
            const auto& skbs = ps_[i].p.skbs;
            return std::find(skbs.begin(), skbs.end(), e.skb) != skbs.end();
        };
        if (rx != kNone && owns(rx)) {
            Hop h = hop_from(e);
            h.receive_side = true;
            h.detail = "answered with a reset";
            ps_[rx].p.hops.push_back(std::move(h));
        }
    }
    std::size_t rst = reset_sent(e);
    if (rst == kNone) return;
    Hop h = hop_from(e);
    h.receive_side = false;
    h.detail = e.skb ? "kernel sends this reset" : "socket resets its connection";
    // The reason (6.10+) rides in drop_reason_name (src/kernel/convert.cpp).
    if (!e.drop_reason_name.empty()) {
        h.detail += " (" + e.drop_reason_name + ")";
        ps_[rst].p.reset_reason = e.drop_reason_name;
    }
    ps_[rst].p.hops.push_back(std::move(h));
}

// The RST a tcp_send_reset event stands for: of its flow, sent in the same
// context, the one nearest in time (before or after: see attach_send_reset).
std::size_t Builder::reset_sent(const Event& e) const {
    std::size_t best = kNone;
    std::uint64_t best_gap = UINT64_MAX;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& p = ps_[i].p;
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
std::size_t Builder::reset_received(const Event& e) const {
    std::size_t best = kNone;
    std::uint64_t best_t = 0;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        const auto& ps = ps_[i];
        if (!(ps.p.tcp_flags & model::kRst) || ps.p.flow.src != e.flow.src ||
            ps.p.flow.dst != e.flow.dst || !ps.rx_ns || ps.rx_ns > e.t_ns || ps.rx_ns < best_t)
            continue;
        best = i;
        best_t = ps.rx_ns;
    }
    return best;
}

PacketKind kind_of(const Packet& p) {
    if (p.flow.protocol == IPPROTO_UDP) return PacketKind::datagram;
    if (p.flow.protocol != IPPROTO_TCP) return PacketKind::message;
    if (p.tcp_flags & model::kRst) return PacketKind::reset;
    if (p.tcp_flags & model::kSyn) return PacketKind::handshake;
    if (p.payload_len > 0) return PacketKind::data;
    if (p.tcp_flags & model::kFin) return PacketKind::teardown;
    return PacketKind::ack;
}

bool has_event(const Packet& p, K kind) {
    return std::any_of(p.hops.begin(), p.hops.end(), [&](const Hop& h) { return h.event == kind; });
}

std::string sent_by(const Packet& p, const std::vector<Syscall>& syscalls) {
    // Whose bytes a retransmit carries again (found by stream offset).
    auto bytes_from = [&]() -> std::string {
        if (p.send_syscall == kNone || !p.payload_len) return "";
        const auto& s = syscalls[p.send_syscall];
        return fmt::format("; bytes from {} ({} pid {})", s.name, role_name(s.role), s.pid);
    };
    switch (p.cause) {
        case Cause::syscall: {
            const auto& s = syscalls[p.send_syscall];
            if (p.retransmit && has_event(p, K::tcp_retransmit_skb))
                return fmt::format("kernel retransmit, inside {} ({} pid {} tid {})", s.name,
                                   role_name(s.role), s.pid, s.tid);
            if (p.retransmit)  // TCP still had them as unsent: its first transmit failed
                return fmt::format("{} ({} pid {} tid {}), sending bytes sent before again",
                                   s.name, role_name(s.role), s.pid, s.tid);
            return fmt::format("{} ({} pid {} tid {})", s.name, role_name(s.role), s.pid, s.tid);
        }
        case Cause::reply:
            if (p.retransmit && has_event(p, K::tcp_retransmit_skb))
                return "fast retransmit (an ACK showed the bytes lost)" + bytes_from();
            if (p.retransmit)
                return "kernel, sending bytes sent before again on a received ACK" + bytes_from();
            if ((p.tcp_flags & model::kRst) && has_event(p, K::tcp_send_reset))
                return "kernel, answering a received packet with a reset (tcp_send_reset)";
            if (p.tcp_flags & model::kRst) return "kernel, answering a received packet with a reset";
            if (p.send_syscall != kNone && p.payload_len) {
                const auto& s = syscalls[p.send_syscall];
                return fmt::format("kernel, when a received ACK opened the window; bytes from {} "
                                   "({} pid {})", s.name, role_name(s.role), s.pid);
            }
            return "kernel, replying while it received another packet";
        case Cause::timer:
            // Both fire from the retransmit timer (tcp_write_timer) and both
            // go through __tcp_retransmit_skb: the tracepoint cannot tell
            // them apart.
            if (p.retransmit && (p.tcp_flags & model::kSyn))
                return "retransmit timer (the SYN was not answered)";
            if (p.retransmit && has_event(p, K::tcp_retransmit_skb))
                return "retransmit timer (RTO or tail-loss probe)" + bytes_from();
            if (p.retransmit) return "timer (softirq, no syscall)" + bytes_from();
            if (p.tcp_flags == model::kAck && p.payload_len == 0) return "delayed-ACK timer";
            return "timer (softirq, no syscall)";
        case Cause::unknown:
            break;
    }
    return "unknown (its first hops were not seen)";
}

void Builder::classify() {
    // Relative sequence numbers, ACK-completes-handshake, kinds.
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol) p.kind = kind_of(p);
        if (p.connection == kNone || p.flow.protocol != IPPROTO_TCP) continue;
        const auto& c = j_.connections[p.connection];
        bool from_client = p.direction == Direction::client_to_server;
        std::uint32_t own = from_client ? c.client_isn : c.server_isn;
        std::uint32_t peer = from_client ? c.server_isn : c.client_isn;
        p.rel_seq = p.seq - own;
        p.rel_ack = (p.tcp_flags & model::kAck) ? p.ack - peer : 0;
        if (p.kind == PacketKind::ack && from_client && p.rel_seq == 1 && p.rel_ack == 1)
            p.kind = PacketKind::handshake;
    }
    // FIN's ACKs are teardown: a pure ACK after a FIN in the other direction.
    std::set<std::pair<std::size_t, int>> fin_seen;
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.connection == kNone) continue;
        int dir = static_cast<int>(p.direction);
        if (p.kind == PacketKind::ack && fin_seen.count({p.connection, 3 - dir}))
            p.kind = PacketKind::teardown;
        if (p.tcp_flags & model::kFin) fin_seen.insert({p.connection, dir});
    }
    find_reset_errors();
    keep_answered_segments();
    for (auto& ps : ps_) {
        auto& p = ps.p;
        std::sort(p.hops.begin(), p.hops.end(), [](const Hop& a, const Hop& b) {
            return a.t_ns < b.t_ns;
        });
        if (p.hops.empty()) continue;
        p.sent_by = sent_by(p, j_.syscalls);
        p.cause_ns = p.hops.front().t_ns;
        if (p.cause == Cause::syscall) p.cause_ns = j_.syscalls[p.send_syscall].enter_ns;
        if (p.cause == Cause::reply) p.cause_ns = ps_[p.reply_to].rx_ns;
        for (auto& h : p.hops) h.since_cause_ns = static_cast<std::int64_t>(h.t_ns - p.cause_ns);
    }
}

// When a packet reached the wire: the device starts to transmit it
// (net:net_dev_start_xmit). A capture on lo keeps the received copy (libpcap
// drops lo's outgoing one), which the same CPU takes next (loopback_xmit ->
// netif_rx -> its backlog), so this is capture order but for two packets sent
// within a microsecond on two CPUs. Packets that never reach a device (UNIX
// sockets) keep the time of their first hop.
std::uint64_t wire_time(const Packet& p) {
    std::uint64_t first = UINT64_MAX;
    for (const auto& h : p.hops) {
        if (h.event == K::net_dev_start_xmit && !h.receive_side) return h.t_ns;
        first = std::min(first, h.t_ns);
    }
    return first == UINT64_MAX ? 0 : first;
}

std::vector<std::size_t> wire_order(const std::vector<PacketState>& ps) {
    std::vector<std::size_t> order(ps.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return wire_time(ps[a].p) < wire_time(ps[b].p);
    });
    return order;
}

// A TCP packet whose first sequence number an earlier packet (on the wire)
// of its direction already carried is a retransmit, whether or not
// tcp_retransmit_skb was seen for it (its event lost; a SYN-ACK resent by
// tcp_rtx_synack, which has its own tracepoint). Keepalives and window
// probes (seq - 1, no payload) carry no sequence space and are not.
void Builder::mark_retransmits() {
    struct Sent {
        std::uint32_t begin, end;
        std::size_t packet;
    };
    struct Stream {  // one direction of one connection
        std::vector<Sent> sent;
        std::uint32_t high = 0;  // the end of the highest sequence space sent
    };
    std::map<std::pair<std::size_t, int>, Stream> streams;
    for (std::size_t i : wire_order(ps_)) {
        auto& p = ps_[i].p;
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

// A TIME-WAIT socket answers a late segment (tcp_timewait_state_process():
// the ACK of the peer's FIN) and tcp_v4_rcv() then frees it on its discard
// path, with kfree_skb reason NOT_SPECIFIED. A segment the kernel answered
// with an ACK was processed, not lost; one it answered with a reset (data
// for a closed socket, TCP_TW_RST) was refused.
void Builder::keep_answered_segments() {
    std::set<std::size_t> answered;
    for (const auto& ps : ps_)
        if (ps.p.cause == Cause::reply && ps.p.reply_to != kNone &&
            !(ps.p.tcp_flags & model::kRst))
            answered.insert(ps.p.reply_to);
    for (std::size_t i = 0; i < ps_.size(); ++i) {
        auto& p = ps_[i].p;
        if (!p.dropped || p.drop_reason != "NOT_SPECIFIED" || !answered.count(i)) continue;
        p.dropped = false;
        for (auto& h : p.hops)
            if (h.event == K::kfree_skb) h.detail = "freed after it was answered (NOT_SPECIFIED)";
    }
}

// A reset closes the receiving socket (tcp_reset(): sk_err ECONNREFUSED in
// SYN-SENT, EPIPE in CLOSE-WAIT, ECONNRESET otherwise) and its owner learns
// it from its next system call on it, which fails with that error.
void Builder::find_reset_errors() {
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol != IPPROTO_TCP || !(p.tcp_flags & model::kRst)) continue;
        std::uint64_t sk = p.receiver_sk;
        if (!sk && p.connection != kNone) {
            const auto& c = j_.connections[p.connection];
            sk = p.direction == Direction::client_to_server ? c.server_sk : c.client_sk;
        }
        if (!sk) continue;
        std::uint64_t arrived = ps.rx_ns ? ps.rx_ns : wire_time(p);
        for (std::size_t s = 0; s < j_.syscalls.size(); ++s) {
            const auto& sc = j_.syscalls[s];
            if (sc.sk != sk || !sc.exit_ns || sc.exit_ns < arrived) continue;
            if (sc.ret == -ECONNREFUSED || sc.ret == -ECONNRESET || sc.ret == -EPIPE) {
                p.error_syscall = s;
                break;
            }
        }
    }
}

// A hop's place on the path: the layer it starts, send side then receive side.
// The copy to user starts the receiving application's part.
int stage_of(const Hop& h, Layer* layer, bool* receive_side) {
    *receive_side = h.receive_side;
    *layer = h.layer;
    if (h.event == K::skb_copy_datagram_iovec) *layer = Layer::application;
    static constexpr Layer kSend[] = {Layer::application, Layer::socket, Layer::transport,
                                      Layer::network, Layer::device};
    static constexpr Layer kRecv[] = {Layer::receive, Layer::network, Layer::transport,
                                      Layer::socket, Layer::application};
    const Layer* order = *receive_side ? kRecv : kSend;
    for (int i = 0; i < 5; ++i)
        if (order[i] == *layer) return (*receive_side ? 5 : 0) + i;
    return -1;
}

std::vector<LayerSpan> layer_spans(const Packet& p) {
    std::map<int, LayerSpan> starts;
    std::uint64_t end = 0;
    const Hop* device = first_send_device_hop(p);
    for (const Hop& h : p.hops) {
        // tcp_v4_send_reset() reports a reset before building it: there it
        // starts the RST's way down (an active reset reports after sending).
        bool reset_starts = h.event == K::tcp_send_reset && !h.receive_side && device &&
                            h.t_ns < device->t_ns;
        if (is_completion_hop(h.event) && !reset_starts) continue;
        Layer layer;
        bool rx;
        int stage = stage_of(h, &layer, &rx);
        if (stage < 0) continue;
        end = std::max(end, h.t_ns);
        auto it = starts.find(stage);
        if (it == starts.end() || h.t_ns < it->second.start_ns)
            starts[stage] = LayerSpan{layer, rx, h.t_ns, 0};
    }
    std::vector<LayerSpan> spans;
    for (auto& [stage, span] : starts) spans.push_back(span);
    for (std::size_t i = 0; i < spans.size(); ++i) {
        std::uint64_t next = i + 1 < spans.size() ? spans[i + 1].start_ns : end;
        spans[i].duration_ns = next > spans[i].start_ns ? next - spans[i].start_ns : 0;
    }
    return spans;
}

void Builder::match_frames() {
    // Frames by their header key, each key's frames in capture order; the
    // n-th packet with a key takes the n-th frame with it.
    using Key = std::tuple<std::uint8_t, std::uint16_t, std::uint16_t, std::array<std::uint8_t, 16>,
                           std::array<std::uint8_t, 16>, std::uint8_t, std::uint32_t, std::uint32_t,
                           std::uint32_t>;
    auto key = [](const Flow& f, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                  std::uint32_t len) {
        bool tcp = f.protocol == IPPROTO_TCP;
        return Key{f.protocol, f.src.port, f.dst.port, f.src.addr, f.dst.addr,
                   tcp ? flags : std::uint8_t{0}, tcp ? seq : 0u, tcp ? ack : 0u, len};
    };
    std::map<Key, std::vector<std::size_t>> by_key;
    for (std::size_t f = 0; f < j_.unmatched_frames.size(); ++f) {
        const auto& fr = j_.unmatched_frames[f];
        by_key[key(fr.flow, fr.tcp_flags, fr.seq, fr.ack, fr.payload_len)].push_back(f);
    }
    std::map<Key, std::size_t> next;
    std::vector<bool> used(j_.unmatched_frames.size(), false);
    for (auto& ps : ps_) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        // Dropped before any device: no capture can have seen it (a
        // retransmit with the same headers takes the frame).
        if (p.dropped && !ps.has_device) continue;
        Key k = key(p.flow, p.tcp_flags, p.seq, p.ack, p.payload_len);
        auto it = by_key.find(k);
        if (it == by_key.end()) continue;
        std::size_t& n = next[k];
        if (n >= it->second.size()) continue;
        std::size_t f = it->second[n++];
        if (!frame_matches(j_.unmatched_frames[f], p)) continue;
        used[f] = true;
        p.frame = j_.unmatched_frames[f];
    }
    // Frames of other conversations (a capture of all of lo while tracing
    // some programs) are counted, not shown.
    std::vector<Frame> rest;
    std::uint64_t other = 0;
    for (std::size_t f = 0; f < used.size(); ++f) {
        if (used[f]) continue;
        // Without kernel packets (no privileges) every frame is the run's.
        if (!ps_.empty() && connection_of(j_.unmatched_frames[f].flow) == kNone) ++other;
        else rest.push_back(std::move(j_.unmatched_frames[f]));
    }
    j_.stats.frames_matched = used.size() - rest.size() - other;
    j_.stats.frames = used.size() - other;
    j_.stats.frames_other = other;
    j_.unmatched_frames = std::move(rest);
}

void Builder::build_states() {
    for (const Event* e : side_) {
        if (e->kind != K::inet_sock_set_state) continue;
        StateChange s;
        s.t_ns = e->t_ns;
        s.sk = e->sk;
        s.flow = e->flow;
        s.old_state = e->old_state;
        s.new_state = e->new_state;
        s.connection = connection_of(e->flow);
        if (s.connection == kNone) {
            // The listener: its remote end is empty; it belongs to the
            // connection whose server end it is.
            for (std::size_t c = 0; c < j_.connections.size(); ++c) {
                const auto& con = j_.connections[c];
                if (con.client_to_server.protocol == e->flow.protocol &&
                    con.client_to_server.dst.port == e->flow.src.port)
                    s.connection = c;
            }
        }
        s.role = role_of_sk(e->sk);
        if (s.role == Role::unknown && s.connection != kNone) {
            const auto& con = j_.connections[s.connection];
            s.role = e->flow.src == con.client_to_server.src ? Role::client : Role::server;
        }
        s.syscall = own_syscall(*e);
        s.packet = receiving_packet(e->cpu, e->tid, e->t_ns);
        j_.states.push_back(std::move(s));
    }
}

void Builder::build_routes() {
    j_.routes = in_.routes;
    std::vector<FibLookup> lookups;
    for (const Event* e : side_) {
        if (e->kind != K::fib_table_lookup) continue;
        FibLookup f;
        f.t_ns = e->t_ns;
        f.pid = e->pid;
        f.comm = e->comm;
        f.table = e->table;
        f.err = e->route_err;
        f.gateway = e->gateway;
        f.flow = e->flow;
        f.dev = e->dev;
        f.during_syscall = open_syscall(e->tid, e->t_ns);
        if (auto it = fib_packet_.find(e); it != fib_packet_.end()) f.packet = it->second;
        lookups.push_back(std::move(f));
    }
    if (j_.routes.empty() && !lookups.empty()) j_.routes.emplace_back();
    if (!j_.routes.empty()) {
        auto& r = j_.routes.front();
        r.lookups = std::move(lookups);
        bool any_table_254 = std::any_of(r.lookups.begin(), r.lookups.end(),
                                         [](const FibLookup& f) { return f.table == 254; });
        if (any_table_254 && r.type == "local")
            r.notes.push_back(
                "fib_table_lookup reports table 254 (main) although the route is a local one: "
                "with no policy rules the kernel keeps the local and main tables in one trie");
        if (!r.lookups.empty())
            r.notes.push_back(fmt::format(
                "{} route lookup(s) while tracing, at connect/handshake; data packets reuse "
                "the socket's cached route (no lookup per packet)",
                r.lookups.size()));
        else if (r.destination.find(':') != std::string::npos)
            r.notes.push_back(
                "IPv6 route lookups (fib6:fib6_table_lookup) are not among the traced "
                "tracepoints, so no kernel lookup is listed");
        else if (r.has_answer && (!ps_.empty() || !side_.empty()))
            r.notes.push_back(
                "no route lookup was traced: the sockets used routes cached before tracing "
                "started, or the transport needs none");
    }
}

std::uint64_t median(std::vector<std::uint64_t> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void Builder::finish() {
    // Packets in wire order (wire_time), the order a capture shows. Ordering
    // by the first hop would not do: when both ends close at once, the FIN
    // whose close() started first can reach the wire second.
    std::vector<std::size_t> order = wire_order(ps_);
    std::vector<std::size_t> where(ps_.size());
    for (std::size_t k = 0; k < order.size(); ++k) where[order[k]] = k;
    auto remap = [&](std::size_t i) { return i == kNone ? kNone : where[i]; };
    for (std::size_t k : order) {
        Packet p = std::move(ps_[k].p);
        p.reply_to = remap(p.reply_to);
        p.retransmit_of = remap(p.retransmit_of);
        p.layers = layer_spans(p);
        j_.packets.push_back(std::move(p));
    }
    for (auto& s : j_.states) s.packet = remap(s.packet);
    for (auto& r : j_.routes)
        for (auto& f : r.lookups) f.packet = remap(f.packet);

    for (std::size_t i = 0; i < j_.packets.size(); ++i) {
        auto& p = j_.packets[i];
        if (p.connection != kNone) j_.connections[p.connection].packets.push_back(i);
        if (p.send_syscall != kNone) j_.syscalls[p.send_syscall].packets.push_back(i);
        if (p.recv_syscall != kNone && p.recv_syscall != p.send_syscall)
            j_.syscalls[p.recv_syscall].packets.push_back(i);
        // The reset behind a call's error (a refused connect() also sent the SYN).
        if (p.error_syscall != kNone && p.error_syscall != p.send_syscall) {
            auto& listed = j_.syscalls[p.error_syscall].packets;
            if (std::find(listed.begin(), listed.end(), i) == listed.end()) listed.push_back(i);
        }
        if (!p.frame && p.flow.protocol) ++j_.stats.packets_without_frame;
        if (p.retransmit) ++j_.stats.retransmits;
        if (p.kind == PacketKind::reset) ++j_.stats.resets;
    }
    for (std::size_t i = 0; i < j_.states.size(); ++i)
        if (j_.states[i].connection != kNone)
            j_.connections[j_.states[i].connection].states.push_back(i);

    // Syscalls: socket, role, connection, stream ranges.
    std::map<std::uint64_t, std::uint64_t> sent, received;
    for (std::size_t i = 0; i < j_.syscalls.size(); ++i) {
        auto& s = j_.syscalls[i];
        if (s.role == Role::unknown) s.role = role_of_sk(s.sk);
        for (std::size_t c = 0; c < j_.connections.size(); ++c) {
            const auto& con = j_.connections[c];
            if (s.sk && (s.sk == con.client_sk || s.sk == con.server_sk || s.sk == con.listen_sk))
                s.connection = c;
        }
        if (s.connection == kNone && !s.packets.empty())
            s.connection = j_.packets[s.packets.front()].connection;
        if (s.connection != kNone) j_.connections[s.connection].syscalls.push_back(i);
        if (s.ret > 0 && s.sk) {
            auto& counter = is_send_syscall(s.name) ? sent : is_recv_syscall(s.name) ? received
                                                                                      : sent;
            if (is_send_syscall(s.name) || is_recv_syscall(s.name)) {
                s.stream_begin = counter[s.sk];
                counter[s.sk] += static_cast<std::uint64_t>(s.ret);
                s.stream_end = counter[s.sk];
            }
        }
    }
    // Processes: the given ones, then every pid seen in a syscall.
    j_.processes = in_.processes;
    for (const auto& s : j_.syscalls) {
        bool known = std::any_of(j_.processes.begin(), j_.processes.end(),
                                 [&](const Process& p) { return p.pid == s.pid; });
        if (!known) j_.processes.push_back(Process{s.pid, s.comm, s.role});
    }
    // A process the caller did not name takes the role most of its calls
    // have: a forked child first closes the listener it inherited (a server
    // socket) and then connects as the client.
    for (auto& p : j_.processes) {
        bool given = std::any_of(in_.processes.begin(), in_.processes.end(),
                                 [&](const Process& q) { return q.pid == p.pid; });
        if (given && p.role != Role::unknown) continue;
        std::size_t client = 0, server = 0;
        for (const auto& s : j_.syscalls) {
            if (s.pid != p.pid) continue;
            client += s.role == Role::client;
            server += s.role == Role::server;
        }
        if (client != server) p.role = client > server ? Role::client : Role::server;
    }

    // Per-layer summary of the data packets.
    std::map<std::pair<bool, int>, std::vector<std::uint64_t>> by_layer;
    std::vector<std::uint64_t> one_way;
    for (const auto& p : j_.packets) {
        bool is_data = p.kind == PacketKind::data || p.kind == PacketKind::datagram ||
                       p.kind == PacketKind::message;
        if (!is_data) continue;
        ++j_.stats.data_packets;
        for (const auto& span : p.layers) {
            int order_key = span.receive_side ? 10 - static_cast<int>(span.layer)
                                              : static_cast<int>(span.layer);
            by_layer[{span.receive_side, order_key}].push_back(span.duration_ns);
        }
        if (p.send_syscall != kNone && p.recv_syscall != kNone) {
            const auto& s = j_.syscalls[p.send_syscall];
            const auto& r = j_.syscalls[p.recv_syscall];
            if (r.exit_ns > s.enter_ns) one_way.push_back(r.exit_ns - s.enter_ns);
        }
    }
    for (auto& [key, values] : by_layer) {
        LayerSummary l;
        l.receive_side = key.first;
        l.layer = static_cast<Layer>(key.first ? 10 - key.second : key.second);
        l.samples = values.size();
        l.median_ns = median(values);
        j_.layer_summary.push_back(l);
    }
    j_.stats.median_one_way_ns = median(one_way);
    // Live runs count lost events in the input; `record-events` files carry
    // the count as a last lost_events record.
    j_.stats.lost_events = in_.lost_events;
    for (const auto& e : in_.events)
        if (e.kind == K::lost_events) j_.stats.lost_events += e.size;
    j_.stats.capture_dropped = in_.capture_dropped;
    j_.stats.events = in_.events.size() - frames_ev_.size();
    j_.transport = in_.transport;
    if (j_.transport.empty() && !j_.connections.empty())
        j_.transport = j_.connections.front().transport;
    if (j_.stats.lost_events)
        j_.notes.push_back(fmt::format(
            "{} kernel events were lost (ring buffer full): some packets may miss hops",
            j_.stats.lost_events));
}

Journey Builder::run() {
    sort_events();
    build_syscalls();
    build_packets();
    index_packets();
    build_frames();
    learn_sockets();
    find_receivers();
    build_connections();
    // Before the causes: a retransmit is never what a syscall sent.
    for (const Event* e : side_)
        if (e->kind == K::tcp_retransmit_skb) attach_retransmit(*e);
    mark_retransmits();
    attach_syscalls();
    attach_datagram_reads();
    attach_unix();
    attach_side_events();
    attach_stream_ranges();
    classify();
    match_frames();
    build_states();
    build_routes();
    finish();
    return std::move(j_);
}

}  // namespace

Journey correlate(CorrelatorInput input) { return Builder(std::move(input)).run(); }

std::uint64_t recorded_counter(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    std::string line;
    std::string prefix = "# " + name + " ";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
    return 0;
}

}  // namespace tpk::journey

namespace tpk::journey {

Result<CorrelatorInput> parse_recording(const std::string& text) {
    CorrelatorInput input;
    read_recording_header(text, input);
    std::istringstream lines(text);
    auto events = model::read_events(lines);
    if (!events) return events.error();
    input.events = std::move(*events);
    return input;
}

void read_recording_header(const std::string& text, CorrelatorInput& input) {
    input.lost_events = recorded_counter(text, "lost_events");
    input.capture_dropped = recorded_counter(text, "capture_dropped");
    input.server_port = static_cast<std::uint16_t>(recorded_counter(text, "server_port"));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string hash, key;
        words >> hash >> key;
        if (hash != "#") continue;
        if (key == "transport") words >> input.transport;
        if (key == "process") {
            Process p;
            std::string role;
            words >> p.pid >> role >> p.comm;
            p.role = role == "client" ? Role::client : role == "server" ? Role::server
                                                                        : Role::unknown;
            input.processes.push_back(std::move(p));
        }
    }
}

std::string recording_header(const CorrelatorInput& input) {
    std::string out;
    out += fmt::format("# lost_events {}\n", input.lost_events);
    out += fmt::format("# capture_dropped {}\n", input.capture_dropped);
    if (!input.transport.empty()) out += fmt::format("# transport {}\n", input.transport);
    if (input.server_port) out += fmt::format("# server_port {}\n", input.server_port);
    for (const auto& p : input.processes)
        out += fmt::format("# process {} {} {}\n", p.pid, role_name(p.role),
                           p.comm.empty() ? "-" : p.comm);
    return out;
}

}  // namespace tpk::journey
