#include "journey/correlator_causes.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

bool syscall_owns(const Syscall& s, std::uint64_t sender_sk, const Flow& flow,
                  const std::unordered_map<std::uint64_t, Flow>& sk_flow) {
    if (!s.sk) return false;
    if (sender_sk) return s.sk == sender_sk;
    auto it = sk_flow.find(s.sk);
    return it != sk_flow.end() && it->second.src == flow.src && it->second.dst == flow.dst;
}

bool sends_down(const Hop& h) { return h.event == K::net_dev_queue || h.event == K::ip_output; }

// A FIN or reset that closing a socket sends, not a retransmit of one.
bool closing_segment(const Packet& p) {
    return p.flow.protocol == IPPROTO_TCP && !p.retransmit &&
           (p.tcp_flags & (model::kFin | model::kRst));
}

// The traced process whose exit sent the packet, or 0. do_exit() fires
// sched_process_exit before exit_files() drops the process's files; the
// last reference to a socket's file goes there (or in the task work that
// exit_task_work() runs next), and tcp_close() sends the FIN - or a reset
// when bytes were unread - in the exiting task itself, after its exit
// event. The first hop must be a transmit hop of that task: a receive
// running in the exiting task is another sender's packet.
std::uint32_t exiting_sender(const Packet& p, const Hop& first,
                             const std::vector<const Event*>& exits) {
    if (!closing_segment(p) || !sends_down(first) || first.pid == 0) return 0;
    for (const Event* e : exits)
        if (e->pid == first.pid && e->t_ns <= first.t_ns) return e->pid;
    return 0;
}

// Until close(2) closed synchronously ("fs: use __fput_sync in close(2)",
// 2023: in 6.12, not in 6.1) it only dropped its file reference: __fput(),
// hence tcp_close() and its FIN, ran as task work on the way back to user
// space, after sys_exit. Such a segment leaves in the closing thread, before that
// thread's next traced call, from the socket close() closed.
std::size_t deferred_close(const Packet& p, const Hop& first, const std::vector<Syscall>& syscalls,
                           const SocketMap& sockets, const Timeline& at) {
    if (!closing_segment(p) || !sends_down(first)) return kNone;
    std::size_t s = at.last_syscall(first.tid, first.t_ns);
    if (s == kNone || !syscalls[s].exit_ns || syscalls[s].exit_ns > first.t_ns) return kNone;
    if (syscalls[s].name != "close") return kNone;
    return syscall_owns(syscalls[s], p.sender_sk, p.flow, sockets.flow) ? s : kNone;
}

}  // namespace

// The read that took the packet's bytes: the last copy to user made by a
// syscall without MSG_PEEK (a peek copies but leaves the skb queued). Also
// sums the bytes those reads took.
std::size_t consuming_read(PacketState& ps, const std::vector<Syscall>& syscalls,
                           const Timeline& at) {
    std::size_t read = kNone, any = kNone;
    ps.copy_len = 0;
    for (const auto& c : ps.copies) {
        std::size_t r = at.open_syscall(c.tid, c.t_ns);
        if (r == kNone) continue;
        any = r;
        if (syscalls[r].flags & kMsgPeek) continue;
        read = r;
        ps.copy_len += c.bytes;
    }
    if (read == kNone && any != kNone) {
        for (const auto& c : ps.copies) ps.copy_len += c.bytes;
        return any;
    }
    return read;
}

void attach_causes(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                   const SocketMap& sockets, const Timeline& at,
                   const std::vector<const Event*>& exits) {
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto& ps = packets[i];
        auto& p = ps.p;
        if (ps.unix_like || p.hops.empty()) continue;
        sort_hops_by_time(p.hops);
        const Hop& first = p.hops.front();
        bool carries = p.payload_len > 0 || (p.tcp_flags & (model::kSyn | model::kFin)) ||
                       p.flow.protocol == IPPROTO_UDP;
        bool syn_ack = (p.tcp_flags & model::kSyn) && (p.tcp_flags & model::kAck);
        std::size_t s = at.open_syscall(first.tid, first.t_ns);
        bool owned = s != kNone && !syn_ack && syscall_owns(syscalls[s], p.sender_sk, p.flow, sockets.flow);
        std::size_t rx = at.receiving_packet(first.cpu, first.tid, first.t_ns);
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
        } else if (std::uint32_t pid = exiting_sender(p, first, exits)) {
            p.cause = Cause::exit;
            p.exit_pid = pid;
        } else if (std::size_t c = deferred_close(p, first, syscalls, sockets, at); c != kNone) {
            p.cause = Cause::syscall;
            p.send_syscall = c;
        } else if (!sends_down(first)) {
            p.cause = Cause::unknown;  // its transmit hops were lost: no telling who sent it
        } else {
            p.cause = Cause::timer;
        }
        // The receive syscall that copied its bytes to user space.
        p.recv_syscall = consuming_read(ps, syscalls, at);
        if (p.send_syscall != kNone) {
            const auto& sc = syscalls[p.send_syscall];
            p.hops.push_back(syscall_hop(sc, p.send_syscall, true, false));
        }
        if (p.recv_syscall != kNone) {
            const auto& sc = syscalls[p.recv_syscall];
            if (sc.exit_ns) p.hops.push_back(syscall_hop(sc, p.recv_syscall, false, true));
        }
    }
}

// TCP merges a segment into the skb queued ahead of it in the receive queue
// (tcp_queue_rcv() -> tcp_try_coalesce(), which frees the merged skb with
// kfree_skb_partial(): no tracepoint), and one copy of that skb then moves
// the bytes of both. The copies of an skb take its bytes in order from the
// first packet's seq on (MSG_PEEK copies take none), so the segments whose
// bytes lie past that packet's end are found by seq: each gets the copy
// hops that took its bytes, and the read that took its last byte.
void share_merged_copies(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                         const Timeline& at) {
    using Key = std::tuple<std::uint16_t, std::uint16_t, std::uint32_t>;  // ports, seq
    std::multimap<Key, std::size_t> starts;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& ps = packets[i];
        const auto& p = ps.p;
        if (p.flow.protocol != IPPROTO_TCP || !p.payload_len || p.dropped || !ps.copies.empty())
            continue;
        starts.insert({{p.flow.src.port, p.flow.dst.port, p.seq}, i});
    }
    if (starts.empty()) return;
    struct Range {
        std::uint64_t begin, end;  // bytes of the skb, from the head packet's seq
        std::uint64_t t_ns;        // the copy hop's time
        std::size_t read;          // the syscall that made it, or kNone
    };
    for (std::size_t a = 0; a < packets.size(); ++a) {
        auto& head = packets[a];
        if (head.p.flow.protocol != IPPROTO_TCP || head.copies.empty()) continue;
        std::vector<Range> ranges;
        std::uint64_t off = 0;
        for (const auto& c : head.copies) {
            std::size_t r = at.open_syscall(c.tid, c.t_ns);
            if (r != kNone && (syscalls[r].flags & kMsgPeek)) continue;
            ranges.push_back({off, off + c.bytes, c.t_ns, r});
            off += c.bytes;
        }
        const std::uint64_t own = head.p.payload_len;
        if (off <= own) continue;
        auto copy_hop = [&](const Range& r) -> const Hop* {
            for (const Hop& h : head.p.hops)
                if (h.event == K::skb_copy_datagram_iovec && h.t_ns == r.t_ns) return &h;
            return nullptr;
        };
        std::vector<Hop> shared;  // for the merged segments, built before head's hops change
        std::uint64_t pos = own;
        std::uint32_t next = head.p.seq + head.p.payload_len;
        while (pos < off) {
            auto [lo, hi] = starts.equal_range({head.p.flow.src.port, head.p.flow.dst.port, next});
            std::size_t b = kNone;
            for (auto it = lo; it != hi; ++it)
                if (packets[it->second].p.flow == head.p.flow) b = it->second;
            if (b == kNone) break;  // not traced: the bytes after it cannot be placed
            auto& merged = packets[b];
            std::uint64_t begin = pos, end = pos + merged.p.payload_len;
            for (const Range& r : ranges) {
                std::uint64_t from = std::max(begin, r.begin), to = std::min(end, r.end);
                const Hop* h = copy_hop(r);
                if (from >= to || !h) continue;
                Hop copy = *h;
                copy.detail = fmt::format("{} B of {} B (merged)", to - from, r.end - r.begin);
                merged.p.hops.push_back(copy);
                merged.copy_len += to - from;
                if (r.read != kNone) merged.p.recv_syscall = r.read;
            }
            if (merged.p.recv_syscall != kNone && syscalls[merged.p.recv_syscall].exit_ns)
                merged.p.hops.push_back(syscall_hop(syscalls[merged.p.recv_syscall],
                                                    merged.p.recv_syscall, false, true));
            starts.erase(std::find_if(lo, hi, [&](const auto& kv) { return kv.second == b; }));
            pos = end;
            next += merged.p.payload_len;
        }
        // The head's own copies say how much of what they moved was its own.
        for (const Range& r : ranges) {
            if (r.end <= own) continue;
            for (Hop& h : head.p.hops)
                if (h.event == K::skb_copy_datagram_iovec && h.t_ns == r.t_ns)
                    h.detail = r.begin >= own
                                   ? fmt::format("{} B (all merged in)", r.end - r.begin)
                                   : fmt::format("{} B ({} B merged in)", r.end - r.begin,
                                                 r.end - own);
        }
    }
}

// TCP by bytes: when a segment was merged into the skb ahead of it in the
// receive queue (tcp_try_coalesce frees it without a tracepoint) no copy
// names it, and a segment sent when an ACK opened the window leaves in
// softirq, not in the send that wrote its bytes. Both syscalls are found by
// the stream offset: the n-th byte sent on a socket is the n-th byte the
// peer's socket reads.
void attach_stream_ranges(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                          const std::vector<Connection>& connections) {
    struct Range {
        std::uint64_t begin, end;
        std::size_t syscall;
    };
    std::map<std::uint64_t, std::vector<Range>> sent, read;
    std::map<std::uint64_t, std::uint64_t> sent_total, read_total;
    for (std::size_t i = 0; i < syscalls.size(); ++i) {
        const auto& sc = syscalls[i];
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
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol != IPPROTO_TCP || p.payload_len == 0 || p.connection == kNone) continue;
        const auto& c = connections[p.connection];
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
            if (p.recv_syscall != kNone && syscalls[p.recv_syscall].exit_ns)
                p.hops.push_back(
                    syscall_hop(syscalls[p.recv_syscall], p.recv_syscall, false, true));
        }
    }
}

// UDP copies a linear datagram with copy_linear_skb() (udp_recvmsg), which
// has no tracepoint, so no copy names the skb. Datagrams to one socket are
// read in order: the k-th datagram goes to the k-th read of that socket that
// returned after it arrived (MSG_PEEK reads leave it queued).
void attach_datagram_reads(std::vector<PacketState>& packets,
                           const std::vector<Syscall>& syscalls) {
    std::map<std::uint64_t, std::vector<std::size_t>> by_receiver;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (p.flow.protocol != IPPROTO_UDP || p.recv_syscall != kNone || !p.receiver_sk) continue;
        by_receiver[p.receiver_sk].push_back(i);
    }
    for (auto& [sk, list] : by_receiver) {
        std::vector<std::size_t> reads;
        for (std::size_t s = 0; s < syscalls.size(); ++s) {
            const auto& sc = syscalls[s];
            if (sc.sk == sk && is_recv_syscall(sc.name) && sc.ret > 0 && sc.exit_ns &&
                !(sc.flags & kMsgPeek))
                reads.push_back(s);
        }
        std::size_t k = 0;
        for (std::size_t i : list) {
            auto& p = packets[i].p;
            while (k < reads.size() && syscalls[reads[k]].exit_ns < packets[i].rx_ns) ++k;
            if (k >= reads.size()) break;
            p.recv_syscall = reads[k++];
            p.hops.push_back(syscall_hop(syscalls[p.recv_syscall], p.recv_syscall, false, true));
        }
    }
}

// UNIX sockets: no device, no headers. The receiver's copy names the skb and
// its recv syscall names the receiving socket; the sender's syscall window
// holds sk_data_ready of that same (peer) socket. Bytes pair them up in order.
void attach_unix(const std::vector<const Event*>& side, std::vector<PacketState>& packets,
                 const std::vector<Syscall>& syscalls, const SocketMap& sockets,
                 const Timeline& at, const std::vector<Process>& processes,
                 const std::string& transport, std::vector<Connection>& connections) {
    // The peer sk each send woke: sk_data_ready inside its window.
    std::map<std::size_t, std::uint64_t> send_peer;  // send syscall -> peer sk
    std::map<std::size_t, const Event*> send_ready;
    for (const Event* e : side) {
        if (e->kind != K::sk_data_ready || !e->sk) continue;
        std::size_t s = at.open_syscall(e->tid, e->t_ns);
        if (s == kNone || !is_send_syscall(syscalls[s].name)) continue;
        auto fam = sockets.family.find(syscalls[s].sk);
        if (fam != sockets.family.end() && fam->second != AF_UNIX) continue;
        if (sockets.flow.count(syscalls[s].sk)) continue;  // an inet socket
        send_peer[s] = e->sk;
        send_ready[s] = e;
    }
    // Receiving sk -> its packets in order, with their byte counts.
    std::map<std::uint64_t, std::vector<std::size_t>> by_receiver;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto& ps = packets[i];
        if (!ps.unix_like) continue;
        std::size_t r = consuming_read(ps, syscalls, at);
        if (r != kNone) {
            ps.p.recv_syscall = r;
            ps.p.receiver_sk = syscalls[r].sk;
        }
        if (ps.p.receiver_sk) by_receiver[ps.p.receiver_sk].push_back(i);
    }
    for (auto& [receiver, list] : by_receiver) {
        // The sender: the skb's owner (UNIX skbs are charged to the sender),
        // else the socket whose sends woke this one.
        std::uint64_t sender = 0;
        for (std::size_t i : list)
            if (!sender) sender = packets[i].p.sender_sk;
        std::vector<std::size_t> sends;
        if (sender) {
            for (std::size_t s = 0; s < syscalls.size(); ++s)
                if (syscalls[s].sk == sender && is_send_syscall(syscalls[s].name))
                    sends.push_back(s);
        } else {
            for (const auto& [s, peer] : send_peer)
                if (peer == receiver) sends.push_back(s);
        }
        std::uint64_t sent_before = 0, recv_before = 0;
        std::set<std::size_t> sends_seen;
        std::size_t k = 0;
        for (std::size_t i : list) {
            auto& p = packets[i].p;
            // The send whose bytes contain this packet's first byte.
            while (k < sends.size()) {
                const auto& sc = syscalls[sends[k]];
                std::uint64_t n = sc.ret > 0 ? static_cast<std::uint64_t>(sc.ret) : 0;
                if (recv_before < sent_before + n) break;
                sent_before += n;
                ++k;
            }
            recv_before += packets[i].copy_len ? packets[i].copy_len : 1;
            if (k >= sends.size()) continue;
            std::size_t s = sends[k];
            const auto& sc = syscalls[s];
            p.send_syscall = s;
            p.cause = Cause::syscall;
            p.sender_sk = sc.sk;
            bool first_of_send = sends_seen.insert(s).second;
            p.hops.push_back(syscall_hop(sc, s, true, false));
            if (first_of_send && send_ready.count(s)) p.hops.push_back(hop_from(*send_ready[s]));
        }
    }
    for (auto& ps : packets) {
        if (!ps.unix_like) continue;
        auto& p = ps.p;
        p.kind = PacketKind::message;
        p.payload_len = static_cast<std::uint32_t>(ps.copy_len);
        p.flow.src.family = AF_UNIX;
        p.flow.dst.family = AF_UNIX;
        if (p.recv_syscall != kNone) {
            const auto& sc = syscalls[p.recv_syscall];
            if (sc.exit_ns) p.hops.push_back(syscall_hop(sc, p.recv_syscall, false, true));
        }
        if (p.send_syscall == kNone) p.cause = Cause::unknown;
    }
    // One connection per UNIX socket pair.
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto& p = packets[i].p;
        if (!packets[i].unix_like || !p.sender_sk || !p.receiver_sk) continue;
        std::size_t found = kNone;
        for (std::size_t c = 0; c < connections.size(); ++c) {
            const auto& con = connections[c];
            if (con.client_to_server.protocol != 0) continue;
            if ((con.client_sk == p.sender_sk && con.server_sk == p.receiver_sk) ||
                (con.client_sk == p.receiver_sk && con.server_sk == p.sender_sk))
                found = c;
        }
        Role sender_role = p.send_syscall != kNone
                               ? role_of_pid(syscalls[p.send_syscall].pid, processes)
                               : Role::unknown;
        if (found == kNone) {
            Connection con;
            con.transport = transport.rfind("unix", 0) == 0 ? transport : "unix";
            con.client_to_server.src.family = AF_UNIX;
            con.client_to_server.dst.family = AF_UNIX;
            bool sender_is_client = sender_role != Role::server;
            con.client_sk = sender_is_client ? p.sender_sk : p.receiver_sk;
            con.server_sk = sender_is_client ? p.receiver_sk : p.sender_sk;
            found = connections.size();
            connections.push_back(std::move(con));
        }
        p.connection = found;
        p.direction = p.sender_sk == connections[found].client_sk ? Direction::client_to_server
                                                                  : Direction::server_to_client;
    }
}

}  // namespace tpk::journey::stages
