#include "journey/correlator_classify.h"

#include "journey/text.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

PacketKind kind_of(const Packet& p) {
    if (p.flow.protocol == IPPROTO_UDP) return PacketKind::datagram;
    if (p.flow.protocol != IPPROTO_TCP) return PacketKind::message;
    if (p.tcp_flags & model::kRst) return PacketKind::reset;
    if (p.tcp_flags & model::kSyn) return PacketKind::handshake;
    if (p.payload_len > 0) return PacketKind::data;
    if (p.tcp_flags & model::kFin) return PacketKind::teardown;
    return PacketKind::ack;
}

// "client curl pid 7": the role when known, the program, the pid.
std::string who(Role role, const std::string& comm, std::uint32_t pid) {
    return caller_text(role, comm, pid);
}

std::string who(const Syscall& s) { return caller_text(s); }

// Cause::exit: "exit of client redis-cli pid 7", the program from the
// exiting task's own hop, the role from its calls.
std::string exit_text(const Packet& p, const std::vector<Syscall>& syscalls) {
    std::string comm;
    for (const Hop& h : p.hops)
        if (h.pid == p.exit_pid && !h.comm.empty()) {
            comm = h.comm;
            break;
        }
    // The side by the packet's direction: a forked child's calls may carry
    // its parent's role.
    Role role = p.direction == Direction::client_to_server   ? Role::client
                : p.direction == Direction::server_to_client ? Role::server
                                                             : Role::unknown;
    for (const auto& s : syscalls)
        if (s.pid == p.exit_pid && comm.empty()) comm = s.comm;
    return fmt::format("exit of {} (no close(): the kernel closed its socket{})",
                       who(role, comm, p.exit_pid),
                       (p.tcp_flags & model::kRst) ? ", with bytes unread" : "");
}

std::string sent_by(const Packet& p, const std::vector<Syscall>& syscalls, bool probe) {
    // Whose bytes a retransmit carries again (found by stream offset).
    auto bytes_from = [&]() -> std::string {
        if (p.send_syscall == kNone || !p.payload_len) return "";
        const auto& s = syscalls[p.send_syscall];
        return fmt::format("; bytes from {} ({})", s.name, who(s.role, s.comm, s.pid));
    };
    switch (p.cause) {
        case Cause::syscall: {
            const auto& s = syscalls[p.send_syscall];
            if (p.retransmit && has_event(p, K::tcp_retransmit_skb))
                return fmt::format("kernel retransmit, inside {} ({})", s.name, who(s));
            if (p.retransmit)  // TCP still had them as unsent: its first transmit failed
                return fmt::format("{} ({}), sending bytes sent before again", s.name, who(s));
            return fmt::format("{} ({})", s.name, who(s));
        }
        case Cause::exit:
            return exit_text(p, syscalls);
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
                                   "({})", s.name, who(s.role, s.comm, s.pid));
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
            // tcp_xmit_probe_skb() sends snd_una - 1: a sequence number
            // already used, which no delayed ACK carries.
            if (p.tcp_flags == model::kAck && p.payload_len == 0 && probe)
                return "keepalive or zero-window probe timer";
            if (const Hop* h = untraced_sender(p, syscalls))
                return fmt::format("{}, or a call of {} pid {}, which is not traced (it left in "
                                   "that task)",
                                   p.tcp_flags == model::kAck && !p.payload_len
                                       ? "delayed-ACK timer"
                                       : "timer",
                                   h->comm, h->pid);
            if (p.tcp_flags == model::kAck && p.payload_len == 0) return "delayed-ACK timer";
            return "timer (softirq, no syscall)";
        case Cause::unknown:
            break;
    }
    return "unknown (its first hops were not seen)";
}

// Pure ACKs whose seq lies below the sequence space its direction already
// used: keepalive and zero-window probes (tcp_xmit_probe_skb() sends
// snd_una - 1). Packets are in first-hop order here.
std::vector<bool> probe_segments(const std::vector<PacketState>& packets) {
    std::vector<bool> probe(packets.size(), false);
    std::map<std::pair<std::size_t, int>, std::uint32_t> next_seq;  // (connection, dir) -> end
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (p.connection == kNone || p.flow.protocol != IPPROTO_TCP) continue;
        auto key = std::make_pair(p.connection, static_cast<int>(p.direction));
        std::uint32_t end = p.seq + p.payload_len + ((p.tcp_flags & model::kSyn) ? 1 : 0) +
                            ((p.tcp_flags & model::kFin) ? 1 : 0);
        auto it = next_seq.find(key);
        if (it != next_seq.end() && p.tcp_flags == model::kAck && !p.payload_len &&
            static_cast<std::int32_t>(p.seq - it->second) < 0)
            probe[i] = true;
        if (it == next_seq.end() || static_cast<std::int32_t>(end - it->second) > 0)
            next_seq[key] = end;
    }
    return probe;
}

// A TIME-WAIT socket answers a late segment (tcp_timewait_state_process():
// the ACK of the peer's FIN) and tcp_v4_rcv() then frees it on its discard
// path, with kfree_skb reason NOT_SPECIFIED. A segment the kernel answered
// with an ACK was processed, not lost; one it answered with a reset (data
// for a closed socket, TCP_TW_RST) was refused.
// A keepalive or window probe is answered and then freed as an old
// sequence (tcp_validate_incoming(): TCP_OLD_SEQUENCE): that is its purpose.
void keep_answered_segments(std::vector<PacketState>& packets, const std::vector<bool>& probes) {
    std::set<std::size_t> answered;
    for (const auto& ps : packets)
        if (ps.p.cause == Cause::reply && ps.p.reply_to != kNone &&
            !(ps.p.tcp_flags & model::kRst))
            answered.insert(ps.p.reply_to);
    for (std::size_t i = 0; i < packets.size(); ++i) {
        auto& p = packets[i].p;
        bool probe = probes[i] && p.drop_reason == "TCP_OLD_SEQUENCE";
        if (!p.dropped || (p.drop_reason != "NOT_SPECIFIED" && !probe) || !answered.count(i))
            continue;
        p.dropped = false;
        for (auto& h : p.hops)
            if (h.event == K::kfree_skb)
                h.detail = fmt::format("freed after it was answered ({})", p.drop_reason);
    }
}

// A reset closes the receiving socket (tcp_reset(): sk_err ECONNREFUSED in
// SYN-SENT, EPIPE in CLOSE-WAIT, ECONNRESET otherwise) and its owner learns
// it from its next system call on it, which fails with that error.
void find_reset_errors(std::vector<PacketState>& packets,
                       const std::vector<Connection>& connections,
                       const std::vector<Syscall>& syscalls) {
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol != IPPROTO_TCP || !(p.tcp_flags & model::kRst)) continue;
        std::uint64_t sk = p.receiver_sk;
        if (!sk && p.connection != kNone) {
            const auto& c = connections[p.connection];
            sk = p.direction == Direction::client_to_server ? c.server_sk : c.client_sk;
        }
        if (!sk) continue;
        std::uint64_t arrived = ps.rx_ns ? ps.rx_ns : wire_time(p);
        for (std::size_t s = 0; s < syscalls.size(); ++s) {
            const auto& sc = syscalls[s];
            if (sc.sk != sk || !sc.exit_ns || sc.exit_ns < arrived) continue;
            if (sc.ret == -ECONNREFUSED || sc.ret == -ECONNRESET || sc.ret == -EPIPE) {
                p.error_syscall = s;
                break;
            }
        }
    }
}

}  // namespace

void classify(std::vector<PacketState>& packets, const std::vector<Connection>& connections,
              const std::vector<Syscall>& syscalls) {
    // Relative sequence numbers, ACK-completes-handshake (the first one only:
    // a keepalive probe before any data carries the same seq and ack), kinds.
    std::set<std::size_t> handshake_done;
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol) p.kind = kind_of(p);
        if (p.connection == kNone || p.flow.protocol != IPPROTO_TCP) continue;
        const auto& c = connections[p.connection];
        bool from_client = p.direction == Direction::client_to_server;
        std::uint32_t own = from_client ? c.client_isn : c.server_isn;
        std::uint32_t peer = from_client ? c.server_isn : c.client_isn;
        p.rel_seq = p.seq - own;
        p.rel_ack = (p.tcp_flags & model::kAck) ? p.ack - peer : 0;
        if (p.kind == PacketKind::ack && from_client && p.rel_seq == 1 && p.rel_ack == 1 &&
            handshake_done.insert(p.connection).second)
            p.kind = PacketKind::handshake;
    }
    // FIN's ACKs are teardown: a pure ACK after a FIN in the other direction.
    std::set<std::pair<std::size_t, int>> fin_seen;
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.connection == kNone) continue;
        int dir = static_cast<int>(p.direction);
        if (p.kind == PacketKind::ack && fin_seen.count({p.connection, 3 - dir}))
            p.kind = PacketKind::teardown;
        if (p.tcp_flags & model::kFin) fin_seen.insert({p.connection, dir});
    }
    find_reset_errors(packets, connections, syscalls);
    const std::vector<bool> probes = probe_segments(packets);
    keep_answered_segments(packets, probes);
    for (auto& ps : packets) {
        auto& p = ps.p;
        sort_hops_by_time(p.hops);
        if (p.hops.empty()) continue;
        p.sent_by = sent_by(p, syscalls, probes[&ps - packets.data()]);
        p.cause_ns = p.hops.front().t_ns;
        // A cause without its call or packet (not seen) keeps the first hop.
        if (p.cause == Cause::syscall && p.send_syscall < syscalls.size())
            p.cause_ns = syscalls[p.send_syscall].enter_ns;
        if (p.cause == Cause::reply && p.reply_to < packets.size())
            p.cause_ns = packets[p.reply_to].rx_ns;
        for (auto& h : p.hops) h.since_cause_ns = static_cast<std::int64_t>(h.t_ns - p.cause_ns);
    }
}

}  // namespace tpk::journey::stages
