#include "journey/explain.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "journey/correlator_common.h"
#include "journey/text.h"

namespace tpk::journey {
namespace {

using K = model::EventKind;
using stages::wire_time;   // when the packet reached the wire (the correlator's own)

// tcp_states.h numbering.
constexpr int kEstablished = 1, kSynSent = 2, kSynRecv = 3, kFinWait1 = 4, kFinWait2 = 5,
              kTimeWait = 6, kClose = 7, kCloseWait = 8, kLastAck = 9, kListen = 10,
              kClosing = 11;

bool is_unix(const Journey& j, const Packet& p) {
    if (p.connection != kNone && p.connection < j.connections.size())
        return j.connections[p.connection].transport.rfind("unix", 0) == 0;
    return p.flow.src.family == AF_UNIX;
}

bool is_udp(const Packet& p) { return p.flow.protocol == IPPROTO_UDP; }

// "the client" or "the server": the packet's receiver, else its sender.
std::string side_name(const Packet& p, bool receiver) {
    bool c2s = p.direction == Direction::client_to_server;
    bool s2c = p.direction == Direction::server_to_client;
    if (!c2s && !s2c) return receiver ? "the receiver" : "the sender";
    return (c2s != receiver) ? "the client" : "the server";
}

// The hop of this packet that names `event`, or null.
const Hop* find(const Packet& p, K event) {
    for (const auto& h : p.hops)
        if (h.event == event) return &h;
    return nullptr;
}

// "seq 1:23" relative, or "the SYN"/"the FIN" for the flags that count one.
std::string segment_text(const Packet& p) {
    if (p.payload_len)
        return fmt::format("bytes {}:{} of the stream", p.rel_seq, p.rel_seq + p.payload_len);
    if (p.tcp_flags & model::kSyn) return "the SYN";
    if (p.tcp_flags & model::kFin) return "the FIN";
    if (p.tcp_flags & model::kRst) return "the reset";
    return fmt::format("an ACK of bytes up to {}", p.rel_ack);
}

std::string state_meaning(int state) {
    switch (state) {
        case kSynSent: return "connect() sent its SYN and waits for the SYN-ACK";
        case kSynRecv: return "a SYN arrived: a request socket waits in the listener's SYN queue";
        case kEstablished: return "the handshake is complete: data may flow";
        case kFinWait1: return "this side closed and sent its FIN";
        case kFinWait2: return "its FIN was acknowledged; the peer may still send";
        case kCloseWait: return "the peer closed (its FIN arrived); this side may still send";
        case kLastAck: return "both sides closed; waiting for the ACK of this side's FIN";
        case kClosing: return "both sides sent a FIN at once";
        case kTimeWait: return "closed; the socket lingers 60 s so late segments are not "
                               "taken for a new connection";
        case kClose: return "the socket is closed";
        case kListen: return "the socket accepts connections";
        default: return "";
    }
}

bool is_wait(const Syscall& s) {
    return s.name == "epoll_wait" || s.name == "epoll_pwait" || s.name == "epoll_pwait2" ||
           s.name == "poll" || s.name == "ppoll" || s.name == "select" || s.name == "pselect6";
}

// The poll/epoll/select calls of each process, in enter order, with the
// latest exit among them so far (an unfinished call counts as never
// exiting): which wait covers a time is a binary search and a short walk
// back, not a scan of every syscall per hop (that was 80% of a 20k-packet
// trace's run time).
class Waits {
public:
    explicit Waits(const Journey& j) : j_(j) {
        for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
            const Syscall& s = j.syscalls[i];
            if (!is_wait(s)) continue;
            auto& w = by_pid_[s.pid];
            const std::uint64_t exit = s.exit_ns ? s.exit_ns : UINT64_MAX;
            w.push_back({i, std::max(exit, w.empty() ? 0 : w.back().max_exit)});
        }
    }
    // The first wait of pid (in enter order) entered before t and not yet
    // returned at t.
    const Syscall* covering(std::uint32_t pid, std::uint64_t t) const {
        auto it = by_pid_.find(pid);
        if (it == by_pid_.end()) return nullptr;
        const auto& w = it->second;
        // Past the last wait entered before t.
        std::size_t k = std::partition_point(w.begin(), w.end(), [&](const Entry& e) {
                            return j_.syscalls[e.index].enter_ns < t;
                        }) - w.begin();
        const Syscall* found = nullptr;
        while (k > 0 && w[k - 1].max_exit >= t) {
            --k;
            const Syscall& s = j_.syscalls[w[k].index];
            if (s.exit_ns == 0 || s.exit_ns >= t) found = &s;
        }
        return found;
    }

private:
    struct Entry {
        std::size_t index;        // in j.syscalls
        std::uint64_t max_exit;   // over this entry and the ones before it
    };
    const Journey& j_;
    std::unordered_map<std::uint32_t, std::vector<Entry>> by_pid_;
};

// A wait of the receiving process in flight at t: a read on the packet's
// receive call, or a poll/epoll wait of the same process. Null when none.
const Syscall* waiting_call(const Journey& j, const Waits& waits, const Packet& p,
                            std::uint64_t t) {
    if (p.recv_syscall == kNone || p.recv_syscall >= j.syscalls.size()) return nullptr;
    const Syscall& r = j.syscalls[p.recv_syscall];
    if (r.enter_ns && r.enter_ns < t) return &r;
    return waits.covering(r.pid, t);
}

// The thread the packet's send hops ran in (0: unknown).
std::uint32_t sending_tid(const Packet& p) {
    for (const auto& h : p.hops)
        if (!h.receive_side && h.event != K::syscall_enter) return h.tid;
    return 0;
}

bool received_before(const Packet& p, std::uint64_t t) {
    for (const auto& h : p.hops)
        if (h.receive_side && h.event == K::netif_receive_skb && h.t_ns <= t) return true;
    return false;
}

std::string device_text(const Hop& h) {
    if (h.dev.empty()) return "the device";
    return h.dev;
}

bool on_lo(const Hop& h) { return h.dev == "lo"; }

// The device the packet was sent on ("lo", "veth-client"), "" when no
// device hop was traced.
std::string send_device(const Packet& p) {
    for (const auto& h : p.hops)
        if (!h.receive_side && h.layer == model::Layer::device && !h.dev.empty()) return h.dev;
    return "";
}

// When the packet reached its sending device (0: never seen there).
std::uint64_t sent_at(const Packet& p) {
    for (const auto& h : p.hops)
        if (!h.receive_side && h.layer == model::Layer::device && !h.dev.empty()) return h.t_ns;
    return 0;
}

// A device that is neither lo nor unknown: veth in the two-hosts lab.
bool off_lo(const Hop& h) { return !h.dev.empty() && h.dev != "lo"; }

std::string explain_hop(const Journey& j, const Waits& waits, const Packet& p, const Hop& h) {
    const bool unix_path = is_unix(j, p);
    const std::string proto = unix_path ? "UNIX" : is_udp(p) ? "UDP" : "TCP";
    switch (h.event) {
        case K::syscall_enter: {
            if (h.syscall == kNone || h.syscall >= j.syscalls.size())
                return "a system call enters the kernel";
            const auto& s = j.syscalls[h.syscall];
            std::string what = "everything below on this side runs inside this call";
            if (s.name.rfind("send", 0) == 0 || s.name.rfind("write", 0) == 0)
                what = "the bytes cross into the kernel here, and everything below runs inside "
                       "this call until a queue stops it";
            else if (s.name == "connect")
                what = "the kernel builds and sends the SYN inside this call";
            else if (s.name == "close" || s.name == "shutdown")
                what = "the kernel sends the FIN (or a reset) inside this call";
            return fmt::format("{} ({}, pid {}) calls {}() on fd {}: {}",
                               side_name(p, h.receive_side), s.comm, s.pid, s.name, s.fd, what);
        }
        case K::syscall_exit: {
            if (h.syscall == kNone || h.syscall >= j.syscalls.size())
                return "a system call returns to user space";
            const auto& s = j.syscalls[h.syscall];
            if (h.receive_side)
                return fmt::format("{}() returns {} to {} ({}): the bytes are in the program's "
                                   "buffer, the end of the journey",
                                   s.name, s.ret, side_name(p, true), s.comm);
            return fmt::format("{}() returns {} to {}", s.name, s.ret, side_name(p, false));
        }
        case K::tcp_sendmsg_locked:
            return "TCP takes the bytes under the socket lock and appends them to the write "
                   "queue; it builds and sends the segment at once when the window allows "
                   "(Nagle and corking may hold it back)";
        case K::sock_send_length:
            if (h.ret < 0) return fmt::format("the send failed in the socket layer ({})", h.ret);
            return fmt::format("the send returns through the socket layer: {} B accepted{}", h.ret,
                               !received_before(p, h.t_ns) ? ""
                               : send_device(p) == "lo" || send_device(p).empty()
                                   ? ", after the receive path already ran inside this same "
                                     "call (loopback delivers before the send returns)"
                                   : ", after the receive path already ran inside this same "
                                     "call (the veth peer's receive softirq ran in the sending "
                                     "task before the send returned)");
        case K::fib_table_lookup:
            if (off_lo(h) && !h.receive_side && !send_device(p).empty() && send_device(p) != h.dev &&
                h.t_ns < sent_at(p))
                return fmt::format(
                    "a route lookup ({}) on {}, the other host's end, while this packet had not "
                    "left {} yet: the other host's receive path routing a frame that came in "
                    "there (before the first packet to a neighbour, the ARP request: "
                    "arp_process() looks its sender up)",
                    h.detail.empty() ? "result unknown" : h.detail, h.dev, send_device(p));
            if (off_lo(h))
                return fmt::format(
                    "the route lookup ({}): the kernel picks the device and source address. "
                    "Table 254 (main) holds the connected route of {}'s network; a lookup in "
                    "255 (local) asks whether an address is one of this host's own{}",
                    h.detail.empty() ? "result unknown" : h.detail, h.dev,
                    is_udp(p) ? "; an unconnected UDP socket looks its route up per datagram"
                              : "; TCP's data segments then reuse the socket's cached route");
            return fmt::format(
                "the route lookup ({}): the kernel picks the device and source address. Table "
                "254 shows even for 127.0.0.1 because, without custom rules, the local and main "
                "tables share one trie{}",
                h.detail.empty() ? "result unknown" : h.detail,
                is_udp(p) ? "; an unconnected UDP socket looks its route up per datagram"
                          : "; TCP's data segments then reuse the socket's cached route");
        case K::ip_output:
            return fmt::format("IP has built the header ({}) and runs the POST_ROUTING netfilter "
                               "hooks before handing the packet to the neighbour layer",
                               h.detail);
        case K::net_dev_queue:
            if (on_lo(h))
                return fmt::format("the frame ({} B with a 14-byte Ethernet header) goes to lo; "
                                   "lo has no queue (noqueue), so it goes straight to the driver",
                                   h.len);
            return fmt::format("the frame ({} B with the Ethernet header) is given to {}'s "
                               "transmit (a veth end has no queue either: noqueue, straight to "
                               "its driver)",
                               h.len, device_text(h));
        case K::net_dev_start_xmit:
            if (on_lo(h))
                return "loopback_xmit() takes the frame: there is no wire, the same skb is "
                       "handed back as received";
            return fmt::format("veth_xmit() takes the frame for {}: there is no wire either, the "
                               "same skb is handed to the peer end (in the other host's network "
                               "namespace) as received",
                               device_text(h));
        case K::netif_rx:
            if (on_lo(h))
                return "lo hands the frame straight back to the receive path of the same CPU "
                       "(loopback transmit is a receive: no wire, no driver queue); it waits in "
                       "that CPU's backlog for the receive softirq";
            return fmt::format("{}, the peer end, takes the frame in (veth_forward_skb -> "
                               "__netif_rx): it waits on this CPU's backlog for the receive "
                               "softirq, now in the receiving host's network namespace",
                               device_text(h));
        case K::net_dev_xmit:
            if (h.ret != 0) return fmt::format("the driver returned {} (not NETDEV_TX_OK)", h.ret);
            if (off_lo(h))
                return "the driver reports the transmit done (NETDEV_TX_OK); the peer veth end "
                       "already has the frame on its receive side";
            return "the driver reports the transmit done (NETDEV_TX_OK); on loopback the frame "
                   "is already on the receive side";
        case K::netif_receive_skb: {
            bool in_sender = h.tid != 0 && h.tid == sending_tid(p);
            std::string text = fmt::format(
                "the receive softirq takes the frame off the backlog (CPU {}, {}){}", h.cpu,
                h.comm.empty() ? "task unknown" : h.comm,
                in_sender ? ": it runs in the sending task, which is why the sender's pid shows "
                            "on the receive side"
                          : "");
            if (in_sender && off_lo(h))
                text += fmt::format(" (on veth too: the softirq runs where the transmit raised "
                                    "it), but in the other network namespace: {} belongs to the "
                                    "receiving host",
                                    h.dev);
            if (const Hop* rx = find(p, K::netif_rx); rx && rx->t_ns <= h.t_ns)
                text += fmt::format("; it waited {} in the backlog", duration_text(static_cast<std::int64_t>(
                                                                          h.t_ns - rx->t_ns)));
            return text;
        }
        case K::ip_rcv:
            return fmt::format("IP receive ({}): the header is checked and the PRE_ROUTING "
                               "netfilter hooks run; then the route says it is for this host",
                               h.detail);
        case K::ip_local_deliver:
            return fmt::format("the packet is for this host ({}): the LOCAL_IN hooks run and {} "
                               "takes it by its protocol number",
                               h.detail, proto);
        case K::tcp_probe:
            return p.payload_len
                       ? fmt::format("TCP accepts {} on the receiving socket "
                                     "(tcp_rcv_established); the next byte it expects is {}",
                                     segment_text(p), p.rel_seq + p.payload_len)
                       : fmt::format("TCP processes {} on the receiving socket "
                                     "(tcp_rcv_established)",
                                     segment_text(p));
        case K::inet_sock_set_state: {
            // The listener's child: created from the request socket when the
            // handshake's last ACK arrives, it starts in SYN-RECV.
            std::string meaning = h.old_state == kListen && h.new_state == kSynRecv
                                      ? "the handshake's last ACK turned the request into the "
                                        "connection's own socket, which starts in SYN-RECV"
                                      : state_meaning(h.new_state);
            std::string who = h.receive_side ? "the receiving socket" : "the sending socket";
            return meaning.empty() ? fmt::format("{} moves {}", who, h.detail)
                                   : fmt::format("{} moves {}: {}", who, h.detail, meaning);
        }
        case K::sk_data_ready: {
            std::string base = (p.tcp_flags & model::kFin) && !p.payload_len
                                   ? "the receiving socket learns that the peer closed (a read "
                                     "now returns 0): "
                               : unix_path ? "the peer's socket has a message queued: "
                                           : "the receiving socket has data queued: ";
            if (const Syscall* w = waiting_call(j, waits, p, h.t_ns))
                return base + fmt::format("{}, blocked in {}() for {}, is woken",
                                          side_name(p, true), w->name,
                                          duration_text(static_cast<std::int64_t>(h.t_ns - w->enter_ns)));
            if (p.recv_syscall != kNone && p.recv_syscall < j.syscalls.size())
                return base + fmt::format("no traced call of {} was waiting; its {}() finds the "
                                          "bytes there later",
                                          side_name(p, true),
                                          j.syscalls[p.recv_syscall].name);
            return base + "any reader waiting on it is woken (which call read it is not known)";
        }
        case K::skb_copy_datagram_iovec: {
            std::string text = h.detail.empty() ? std::string("the bytes are copied to user space")
                                                 : h.detail + " copied to user space";
            // share_merged_copies (correlator_causes.cpp): a copy of the skb
            // this segment was merged into, or of one that took later ones.
            bool merged = h.skb && std::find(p.skbs.begin(), p.skbs.end(), h.skb) == p.skbs.end();
            if (merged)
                text = fmt::format("this segment was merged into the skb queued ahead of it "
                                   "(tcp_try_coalesce), so its bytes are copied to user space "
                                   "with that skb's: {}",
                                   h.detail);
            else if (h.detail.find("all merged in") != std::string::npos)
                text += " (bytes of later segments merged into this skb in the receive queue, "
                        "tcp_try_coalesce; its own were read before)";
            else if (h.detail.find("merged in") != std::string::npos)
                text += " (this skb's own bytes and those of later segments merged into it in "
                        "the receive queue, tcp_try_coalesce)";
            const Hop* ready = find(p, K::sk_data_ready);
            if (!ready) ready = find(p, K::tcp_probe);
            if (ready && ready->t_ns <= h.t_ns)
                text += fmt::format(" after waiting {} in the receive queue",
                                    duration_text(static_cast<std::int64_t>(h.t_ns - ready->t_ns)));
            if (unix_path) text += " (UNIX: the sender queued the skb on this socket directly)";
            return text;
        }
        case K::sock_recv_length:
            return h.ret >= 0 ? fmt::format("the receive returns through the socket layer: {} B",
                                            h.ret)
                              : fmt::format("the receive failed in the socket layer ({})", h.ret);
        case K::consume_skb:
            return "the skb is freed normally: everything it carried was used";
        case K::kfree_skb:
            if (!p.dropped && h.detail.rfind("freed after it was answered", 0) == 0)
                return fmt::format("the skb is freed after TCP answered it ({}): it was "
                                   "processed, not lost",
                                   p.drop_reason);
            return p.dropped ? fmt::format("the kernel drops the packet ({}): it goes no "
                                           "further",
                                           p.drop_reason)
                             : fmt::format("the skb is freed with its socket's queue ({}), after "
                                           "it was processed: not a loss",
                                           p.drop_reason.empty() ? h.detail : p.drop_reason);
        case K::tcp_retransmit_skb:
            return fmt::format("TCP's retransmission ({}): no ACK came in time, or duplicate "
                               "ACKs showed the segment lost",
                               h.detail.empty() ? "it sends bytes again" : h.detail);
        case K::tcp_send_reset:
            return p.reset_reason.empty()
                       ? fmt::format("TCP sends a reset ({}); its reason is not given on this "
                                     "kernel or was not traced",
                                     h.detail)
                       : fmt::format("TCP sends a reset ({}): {}", h.detail, p.reset_reason);
        case K::tcp_receive_reset:
            return "the reset arrives: TCP closes the receiving socket and its next call "
                   "reports the error";
        default:
            return fmt::format("{} at the {} layer", model::event_name(h.event),
                               model::layer_name(h.layer));
    }
}

// Cause::exit: "the client (redis-cli, pid 7)", the program from the
// exiting task's own hop.
std::string exiting_text(const Journey& j, const Packet& p) {
    std::string comm;
    for (const auto& h : p.hops)
        if (h.pid == p.exit_pid && !h.comm.empty()) {
            comm = h.comm;
            break;
        }
    for (const auto& pr : j.processes)
        if (pr.pid == p.exit_pid && comm.empty()) comm = pr.comm;
    return fmt::format("{} ({}pid {})", side_name(p, false), comm.empty() ? "" : comm + ", ",
                       p.exit_pid);
}

std::string explain_packet(const Journey& j, const Packet& p) {
    std::string why;
    switch (p.cause) {
        case Cause::syscall:
            if (p.send_syscall != kNone && p.send_syscall < j.syscalls.size()) {
                const auto& s = j.syscalls[p.send_syscall];
                why = fmt::format("sent by {}'s {}()", side_name(p, false), s.name);
            } else {
                why = "sent by a system call";
            }
            break;
        case Cause::reply:
            why = p.reply_to != kNone ? fmt::format("sent by the kernel while it received packet "
                                                    "#{}",
                                                    j.packet_number(p.reply_to) + 1)
                                      : "sent by the kernel while it received another packet";
            break;
        case Cause::timer:
            if (const Hop* h = stages::untraced_sender(p, j.syscalls); h && !p.retransmit)
                why = fmt::format("sent from a timer or softirq, or by a call of {} (pid {}), "
                                  "which is not traced",
                                  h->comm, h->pid);
            else
                why = "sent from a timer or softirq, not by a system call";
            break;
        case Cause::exit: why = "sent when " + exiting_text(j, p) + " exited without close()"; break;
        case Cause::unknown: why = "its first hops were not traced, so who sent it is unknown";
    }
    std::string what;
    switch (p.kind) {
        case PacketKind::handshake:
            what = (p.tcp_flags & model::kSyn) && (p.tcp_flags & model::kAck)
                       ? "the SYN-ACK: the server accepts the connection"
                   : (p.tcp_flags & model::kSyn) ? "the SYN: the client opens a connection"
                                                 : "the ACK that completes the handshake";
            break;
        case PacketKind::data:
            what = fmt::format("{} B of data", p.payload_len);
            break;
        case PacketKind::ack:
            // correlator_classify: a pure ACK with a seq already used.
            what = p.sent_by.rfind("keepalive", 0) == 0
                       ? "a keepalive or zero-window probe: a pure ACK with a sequence number "
                         "already used, so the peer must answer"
                       : fmt::format("a pure ACK: the receiver confirms bytes up to {}",
                                     p.rel_ack);
            break;
        case PacketKind::teardown:
            what = (p.tcp_flags & model::kFin) ? "a FIN: this side will send no more"
                                               : "the ACK of a FIN";
            break;
        case PacketKind::reset: what = "a reset: the connection is aborted"; break;
        case PacketKind::datagram:
            what = fmt::format("a UDP datagram of {} B (no handshake, no ACK)", p.payload_len);
            break;
        case PacketKind::message:
            what = fmt::format("a UNIX message of {} B (no TCP, no IP, no device)", p.payload_len);
            break;
    }
    std::string text = what + "; " + why;
    if (p.recv_syscall != kNone && p.recv_syscall < j.syscalls.size())
        text += fmt::format("; read by {}'s {}()", side_name(p, true),
                            j.syscalls[p.recv_syscall].name);
    if (p.retransmit) text += "; a retransmission";
    if (p.dropped) text += "; dropped (" + p.drop_reason + ")";
    return text;
}

// ---- what went wrong -----------------------------------------------------

bool has_hop(const Packet& p, K e) {
    return std::any_of(p.hops.begin(), p.hops.end(), [&](const Hop& h) { return h.event == e; });
}

bool journey_is_udp(const Journey& j) { return j.transport.rfind("udp", 0) == 0; }

// A drop: where, and the retransmit that replaced it.
void explain_drop(const Journey& j, std::size_t i, Packet::Trouble& t) {
    const auto& p = j.packets[i];
    std::string where;
    for (const Hop& h : p.hops)
        if (h.event == K::kfree_skb)
            where = fmt::format(" in {} ({} side)", layer_short(h.layer, journey_is_udp(j)),
                                h.receive_side ? "receive" : "send");
    t.dropped = p.drop_reason + where;
    for (std::size_t k = i + 1; k < j.packets.size() && t.dropped_then.empty(); ++k)
        if (j.packets[k].retransmit_of == i)
            t.dropped_then = fmt::format(": TCP sent {} again as packet #{}",
                                         p.payload_len ? "its bytes" : "it", j.packet_number(k) + 1);
}

// A retransmit: of which packet, how late, and how it was told.
std::string explain_retransmit(const Journey& j, const Packet& p) {
    std::string text;
    if (p.retransmit_of != kNone) {
        const auto& first = j.packets[p.retransmit_of];
        text = fmt::format("of packet #{}", j.packet_number(p.retransmit_of) + 1);
        if (wire_time(p) > wire_time(first))
            text += fmt::format(", {} after it", duration_text(static_cast<std::int64_t>(
                                                     wire_time(p) - wire_time(first))));
        if (first.dropped) text += fmt::format(" (which was dropped: {})", first.drop_reason);
        else if (!first.frame && first.flow.protocol) text += " (which no capture saw)";
    } else {
        text = "of bytes sent before tracing started (or whose packet was not traced)";
    }
    if (p.cause == Cause::reply && p.reply_to != kNone)
        text += fmt::format(", sent on receiving packet #{}", j.packet_number(p.reply_to) + 1);
    bool first_left = p.retransmit_of == kNone ||
                      has_hop(j.packets[p.retransmit_of], K::net_dev_queue) ||
                      has_hop(j.packets[p.retransmit_of], K::net_dev_start_xmit);
    if (has_hop(p, K::tcp_retransmit_skb))
        text += "; the kernel reported it (tcp_retransmit_skb)";
    else if (!first_left)
        text += "; seen in the sequence numbers: the first copy never reached a device (its "
                "transmit failed), so TCP still counted the bytes as unsent and sent them as new "
                "data, not through tcp_retransmit_skb";
    else
        text += "; seen in the sequence numbers (no tcp_retransmit_skb traced for it)";
    return text;
}

// close() resets instead of sending FIN in two cases (__tcp_close(), 6.18):
// bytes unread (TCP_ABORT_ON_CLOSE), or SO_LINGER with a zero timeout, which
// calls tcp_disconnect(), whose reset says TCP_STATE. The kernel's reset
// reason tells which, when traced.
std::string abortive_close_text(const std::string& reason) {
    if (reason == "TCP_STATE")
        return "abortive close: close() sent RST instead of FIN because SO_LINGER has a zero "
               "timeout (tcp_disconnect(), kernel reason TCP_STATE)";
    if (reason == "TCP_ABORT_ON_CLOSE")
        return "abortive close: close() sent RST instead of FIN because bytes were still unread "
               "in the receive queue (TCP_ABORT_ON_CLOSE)";
    return "abortive close: close() sent RST instead of FIN (SO_LINGER with a zero timeout, or "
           "bytes still unread in the receive queue)";
}

// A reset: why it was sent, and which call learned of it.
void explain_reset(const Journey& j, std::size_t i, Packet::Trouble& t) {
    const auto& p = j.packets[i];
    std::string why;
    if (p.cause == Cause::reply && p.reply_to != kNone) {
        const auto& asked = j.packets[p.reply_to];
        why = fmt::format("the kernel answered packet #{} with it", j.packet_number(p.reply_to) + 1);
        if (asked.dropped && asked.drop_reason == "NO_SOCKET")
            why += fmt::format(": no socket takes {} (nothing listens there)",
                               endpoint_text(asked.flow.dst));
        else if (asked.dropped)
            why += fmt::format(" (which was dropped: {})", asked.drop_reason);
    } else if (p.cause == Cause::syscall && p.send_syscall < j.syscalls.size()) {
        const auto& s = j.syscalls[p.send_syscall];
        why = s.name == "close" ? abortive_close_text(p.reset_reason)
                                : fmt::format("the {} reset its connection inside {}()",
                                              role_name(s.role), s.name);
    } else if (p.cause == Cause::exit) {
        why = fmt::format("{} exited without close() with bytes still unread: the kernel closed "
                          "its socket with a reset instead of a FIN",
                          exiting_text(j, p));
    } else if (p.cause == Cause::timer) {
        why = "sent from a timer, not answering a packet nor in a syscall (e.g. keepalive gave up)";
    } else {
        why = "its cause was not seen";
    }
    // The kernel's own word (tcp_send_reset's reason, 6.10+), unless said above.
    if (!p.reset_reason.empty() && why.find(p.reset_reason) == std::string::npos)
        why += fmt::format(" (kernel reason: {})", p.reset_reason);
    t.reset = why;
    if (p.error_syscall != kNone && p.error_syscall < j.syscalls.size()) {
        const auto& s = j.syscalls[p.error_syscall];
        t.reset_reported = fmt::format("reported to the {} (pid {}) as {}", role_name(s.role),
                                       s.pid, syscall_text(s));
    } else if (has_hop(p, K::tcp_receive_reset)) {
        // tcp_reset() leaves the error in sk_err: a refused non-blocking
        // connect() reads it with getsockopt(SO_ERROR) (not traced); after the
        // peer's FIN (SOCK_DONE) a recv() still returns 0 and the error waits
        // for a send().
        bool refused = std::any_of(j.states.begin(), j.states.end(), [&](const auto& s) {
            return s.packet == i && s.old_state == kSynSent;
        });
        t.reset_received =
            std::string("the receiving socket is closed (tcp_receive_reset); no traced call on "
                        "it failed with the error (") +
            (refused ? "after a non-blocking connect() the program reads it with "
                       "getsockopt(SO_ERROR))"
                     : "it waits for the next send() or recv(); after the peer's FIN a recv() "
                       "still returns 0)");
    }
}

Packet::Trouble explain_trouble(const Journey& j, std::size_t i) {
    const auto& p = j.packets[i];
    Packet::Trouble t;
    if (p.dropped) explain_drop(j, i, t);
    if (p.retransmit) t.retransmit = explain_retransmit(j, p);
    if (p.kind == PacketKind::reset) explain_reset(j, i, t);
    return t;
}

}  // namespace

void explain(Journey& j) {
    const Waits waits(j);
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        auto& p = j.packets[i];
        for (auto& h : p.hops) h.explain = explain_hop(j, waits, p, h);
        p.explain = explain_packet(j, p);
        p.trouble = explain_trouble(j, i);
    }
}

}  // namespace tpk::journey
