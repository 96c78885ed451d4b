// Socket snapshots from NETLINK_SOCK_DIAG: TCP and UDP over IPv4/IPv6 (inet_diag)
// and UNIX stream/dgram/seqpacket (unix_diag). Plain structs, no formatting:
// `tracepacket sockets` prints them, the journey attaches them to its flows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/event.h"
#include "netlink/ip_address.h"
#include "util/result.h"

namespace tpk::netlink {

enum class SocketKind { tcp, udp, unix_stream, unix_dgram, unix_seqpacket };

// "tcp", "udp", "u_str", "u_dgr", "u_seq" (the Netid column ss prints).
std::string_view netid(SocketKind kind);
bool is_unix(SocketKind kind);

// Kernel socket states (include/net/tcp_states.h); UNIX sockets reuse them.
enum SocketState : int {
    kEstablished = 1, kSynSent, kSynRecv, kFinWait1, kFinWait2, kTimeWait, kClose,
    kCloseWait, kLastAck, kListen, kClosing, kNewSynRecv, kBoundInactive,
};
// "ESTAB", "SYN-SENT", ..., "UNCONN" for CLOSE (as ss spells them).
std::string_view state_name(int state);
// Accepts ss's spellings: established, syn-sent, syn-recv, fin-wait-1,
// fin-wait-2, time-wait, closed/unconnected, close-wait, last-ack, listening,
// closing; also ss's groups "all", "connected" (all but listening and
// closed), "synchronized" (connected minus syn-sent), "bucket" (syn-recv and
// time-wait: the minisockets) and "big" (all but the bucket). Returns a bit
// mask of 1 << state.
Result<std::uint32_t> parse_state_filter(std::string_view name);
inline constexpr std::uint32_t kAllStates = 0xfff & ~1u;  // bits 1..11
inline constexpr std::uint32_t kListeningStates = (1u << kListen) | (1u << kClose);
inline constexpr std::uint32_t kConnectedStates = kAllStates & ~kListeningStates;
// The kernel's minisockets: TIME-WAIT and SYN-RECV (request sockets), which
// hold no file and no process.
inline constexpr std::uint32_t kMiniSocketStates = (1u << kTimeWait) | (1u << kSynRecv);
// What ss lists without -a, -l or a state filter (SS_CONN in iproute2's
// misc/ss.c): connected sockets without the minisockets. ss's own "state
// connected" keeps them (measured with ss 6.1 in tests/runtime/netlink).
inline constexpr std::uint32_t kDefaultStates = kConnectedStates & ~kMiniSocketStates;

// The tcp_info fields people read (include/uapi/linux/tcp.h). Times in
// microseconds unless named otherwise.
struct TcpInfo {
    std::uint8_t ca_state = 0;
    std::uint8_t retransmits = 0;        // unrecovered RTO timeouts now
    std::uint8_t backoff = 0;
    std::uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool delivery_rate_app_limited = false;
    std::uint32_t rto_us = 0, ato_us = 0;
    std::uint32_t snd_mss = 0, rcv_mss = 0;
    std::uint32_t unacked = 0, sacked = 0, lost = 0, retrans = 0;
    std::uint32_t last_data_sent_ms = 0, last_data_recv_ms = 0, last_ack_recv_ms = 0;
    std::uint32_t pmtu = 0, rcv_ssthresh = 0;
    std::uint32_t rtt_us = 0, rttvar_us = 0, min_rtt_us = 0;
    std::uint32_t snd_ssthresh = 0, snd_cwnd = 0, advmss = 0, reordering = 0;
    std::uint32_t rcv_rtt_us = 0, rcv_space = 0;
    std::uint32_t total_retrans = 0;
    std::uint64_t pacing_rate = 0;       // bytes per second
    std::uint64_t delivery_rate = 0;     // bytes per second
    std::uint64_t bytes_sent = 0, bytes_retrans = 0, bytes_acked = 0, bytes_received = 0;
    std::uint32_t segs_out = 0, segs_in = 0, data_segs_out = 0, data_segs_in = 0;
    std::uint32_t notsent_bytes = 0, delivered = 0, snd_wnd = 0;
    std::uint64_t busy_time_us = 0;
    std::string congestion;              // "cubic", from INET_DIAG_CONG
};

struct InetEndpoint {
    IpAddress address;
    std::uint16_t port = 0;
};

struct ProcessRef {
    int pid = 0;
    std::string command;  // /proc/PID/comm
    int fd = 0;
};

struct SocketSnapshot {
    SocketKind kind = SocketKind::tcp;
    int family = 0;                 // AF_INET, AF_INET6, AF_UNIX
    int state = 0;                  // SocketState
    // Listener: recv_q = accept queue (established children not yet
    // accepted, sk_ack_backlog), send_q = backlog limit (sk_max_ack_backlog).
    // TCP otherwise: bytes not yet read / not yet acknowledged. UDP and UNIX:
    // what the kernel reports (queued bytes; UNIX dgram: next datagram).
    std::uint32_t recv_q = 0;
    std::uint32_t send_q = 0;
    // Listeners only: request sockets in SYN-RECV for this listener (the SYN
    // queue), counted from the same dump.
    std::optional<std::uint32_t> syn_queue;
    InetEndpoint local, peer;       // inet
    std::string unix_path;          // UNIX: "/path", "@abstract", "" unbound
    std::uint64_t inode = 0;        // 0 for request and TIME-WAIT sockets
    std::uint64_t peer_inode = 0;   // UNIX peer; 0 = none
    std::uint32_t uid = 0;
    std::uint64_t cookie = 0;       // sock_gen_cookie(): stable id of the socket
    std::uint32_t interface = 0;    // bound device index, 0 = any
    // Shared, never changed once read: a snapshot without it (the usual
    // listing) stays small, which is most of the cost of holding thousands.
    std::shared_ptr<const TcpInfo> tcp_info;
    std::vector<ProcessRef> processes;  // filled by attach_processes()

    // "127.0.0.1:8080", "[::1]:8080", "*:*", or the UNIX path ("*" unbound).
    std::string local_text() const;
    std::string peer_text() const;
};

struct SocketQuery {
    bool tcp = true;
    bool udp = true;
    bool unix_sockets = true;
    bool with_tcp_info = false;      // ask for INET_DIAG_INFO and INET_DIAG_CONG
    std::uint32_t states = kAllStates;  // 1 << SocketState bits to keep
};

// One netlink dump per (family, protocol); listeners get their syn_queue.
// Request sockets (SYN-RECV) are returned only when the states ask for them.
Result<std::vector<SocketSnapshot>> list_sockets(const SocketQuery& query);

// Snapshots of the sockets with these inodes (with tcp_info and owners), for
// callers that hold sockets already (the journey: its lab's fds). Sockets no
// longer present are simply absent from the result.
Result<std::vector<SocketSnapshot>> snapshot_sockets(std::span<const std::uint64_t> inodes);

// Snapshots of both ends of one flow as the tracepoints name it (either
// direction matches: on loopback both sockets are on this host), or, for
// UNIX (protocol 0), of the two inodes; with tcp_info and owners.
Result<std::vector<SocketSnapshot>> snapshot_flow(const model::Flow& flow);

// The inode of a socket file descriptor of this process (fstat st_ino).
Result<std::uint64_t> socket_inode(int fd);

}  // namespace tpk::netlink
