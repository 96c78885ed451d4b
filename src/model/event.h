// The one value every source produces (STYLE.md: sources -> events ->
// correlator -> writers). A kernel tracepoint hit, a system call entry or
// exit, a captured frame and a socket-state change are all Events on one clock
// (CLOCK_MONOTONIC ns). Fields that do not apply to a kind stay zero/empty.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tpk::model {

enum class EventKind : std::uint16_t {
    // System calls of traced processes; enter and exit are separate events.
    syscall_enter,
    syscall_exit,
    // Kernel tracepoints, named as in /sys/kernel/tracing/events.
    sock_send_length,        // sock:sock_send_length (at the end of the send syscall)
    sock_recv_length,        // sock:sock_recv_length (at the end of the recv syscall)
    tcp_sendmsg_locked,      // tcp:tcp_sendmsg_locked (skb is still NULL here)
    fib_table_lookup,        // fib:fib_table_lookup (route decision)
    net_dev_queue,           // net:net_dev_queue (lengths include the 14 B Ethernet header)
    net_dev_start_xmit,      // net:net_dev_start_xmit
    net_dev_xmit,            // net:net_dev_xmit (transmit done)
    netif_rx,                // net:netif_rx (loopback hands the skb to the receive path)
    netif_receive_skb,       // net:netif_receive_skb
    tcp_probe,               // tcp:tcp_probe (TCP receive processing)
    inet_sock_set_state,     // sock:inet_sock_set_state (TCP state change)
    sk_data_ready,           // sock:sk_data_ready (reader woken)
    skb_copy_datagram_iovec, // skb:skb_copy_datagram_iovec (copy to user)
    consume_skb,             // skb:consume_skb (end of the skb, normal)
    kfree_skb,               // skb:kfree_skb (end of the skb, dropped; see drop_reason)
    tcp_retransmit_skb,      // tcp:tcp_retransmit_skb
    tcp_send_reset,          // tcp:tcp_send_reset
    tcp_receive_reset,       // tcp:tcp_receive_reset
    // Not from the kernel probes:
    frame,                   // a frame seen by the capture (libpcap), bytes in `frame`
    socket_snapshot,         // a sock_diag snapshot of one socket (state, queues)
    // Traced processes (kernel side): pid is the parent/exiting process.
    process_fork,            // sched:sched_process_fork of a traced process; ret = child tgid
    process_exit,            // sched:sched_process_exit, last thread; ret = exit code
    lost_events,             // recordings only: events the kernel dropped (ring buffer full), count in size
    // The IP layer, from fentry where the kernel allows it (no tracepoints):
    ip_output,               // ip_output()/ip6_output(): IP headers built, POST_ROUTING next
    ip_rcv,                  // ip_rcv()/ipv6_rcv(): IP receive, PRE_ROUTING
    ip_local_deliver,        // ip_local_deliver()/ip6_input(): LOCAL_IN, handed to TCP/UDP
};

std::string_view event_name(EventKind kind);          // "net_dev_start_xmit"
std::optional<EventKind> event_kind_from_name(std::string_view name);

// The layers of the stack a hop belongs to, top to bottom, then back up.
enum class Layer : std::uint8_t {
    application,  // system calls
    socket,       // socket send/receive, wake-up, copy to user
    transport,    // TCP/UDP: tcp_sendmsg, tcp_probe, retransmits, resets, states
    network,      // IP: route lookup
    device,       // the device's queue and transmit (lo, veth)
    receive,      // the receive path: netif_rx, netif_receive_skb
    capture,      // the frame as libpcap saw it
};
std::string_view layer_name(Layer layer);             // "transport"
Layer layer_of(EventKind kind);

// One end of a flow. family is AF_INET, AF_INET6, AF_UNIX or 0 (unknown).
struct Endpoint {
    std::uint16_t family = 0;
    std::uint16_t port = 0;                 // host byte order
    std::array<std::uint8_t, 16> addr{};    // network byte order; IPv4 in the first 4 bytes
    bool operator==(const Endpoint&) const = default;
};

// The flow an event belongs to, in the direction of the packet (src sends to
// dst). For UNIX sockets the endpoints carry the family only and the inodes
// identify the pair.
struct Flow {
    std::uint8_t protocol = 0;              // IPPROTO_TCP, IPPROTO_UDP, 0 for UNIX
    Endpoint src;
    Endpoint dst;
    std::uint64_t unix_inode = 0;           // sending socket's inode (UNIX)
    std::uint64_t unix_peer_inode = 0;      // receiving socket's inode (UNIX)
    bool operator==(const Flow&) const = default;
};

// TCP flag bits as in the header's flags byte.
enum TcpFlag : std::uint8_t {
    kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20,
};

struct Event {
    EventKind kind = EventKind::syscall_enter;
    std::uint64_t t_ns = 0;                 // CLOCK_MONOTONIC
    std::uint32_t pid = 0;                  // tgid of the current task (not the owner
    std::uint32_t tid = 0;                  // of the socket: softirq runs in any task)
    std::uint32_t cpu = 0;
    std::string comm;

    // Packet path
    std::uint64_t skb = 0;                  // sk_buff address: a packet's identity in the kernel
    std::uint64_t sk = 0;                   // struct sock address
    Flow flow;
    std::uint8_t tcp_flags = 0;
    std::uint32_t seq = 0;                  // raw TCP sequence number
    std::uint32_t ack = 0;
    std::uint32_t payload_len = 0;          // transport payload bytes
    std::uint32_t skb_len = 0;              // skb->len as the tracepoint reports it
    std::int32_t ifindex = 0;
    std::string dev;                        // "lo"

    // System calls
    std::int32_t syscall_nr = -1;
    std::string syscall;                    // "sendto"
    std::int32_t fd = -1;
    std::uint64_t size = 0;                 // length argument (send/recv/read/write)
    std::uint64_t flags = 0;                // flags argument (MSG_*, SOCK_*)
    std::int64_t ret = 0;                   // return value (syscall_exit)

    // TCP state change (inet_sock_set_state), socket snapshots
    std::int32_t old_state = 0;             // TCP_ESTABLISHED=1 ... as in include/net/tcp_states.h
    std::int32_t new_state = 0;
    std::uint32_t recv_q = 0;               // socket_snapshot only
    std::uint32_t send_q = 0;

    // Route lookup (fib_table_lookup)
    std::uint32_t table = 0;
    std::int32_t route_err = 0;
    std::array<std::uint8_t, 16> gateway{};

    // Drops (kfree_skb); tcp_send_reset: its enum sk_rst_reason, named alike
    std::int32_t drop_reason = 0;
    std::string drop_reason_name;           // "NO_SOCKET"

    // Captured frame (kind == frame)
    std::int32_t link_type = 0;             // DLT_EN10MB, DLT_LINUX_SLL, ...
    std::vector<std::uint8_t> frame;
};

// TCP state names as ss prints them ("ESTABLISHED", "SYN-SENT", ...).
std::string_view tcp_state_name(int state);

}  // namespace tpk::model
