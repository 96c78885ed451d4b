// The journey: what the correlator makes of one traced conversation, and the
// only thing report writers read (ARCHITECTURE.md: sources -> events ->
// correlator -> writers). Plain data, no I/O.
//
//   Journey
//     processes     the traced programs (pid, comm, role)
//     syscalls      every traced system call, enter..exit, joined to its socket
//     states        TCP state changes of the conversation's sockets
//     routes        the route decision (kernel fib lookups + rtnetlink answer)
//     connections   one per conversation (TCP connection, UDP flow, UNIX pair)
//     packets       every packet, time-ordered, each with its hops
//
// Indices (syscall, packet, connection, frame) are positions in the Journey's
// vectors; kNone means "not known".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/event.h"

namespace tpk::journey {

inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);
inline constexpr int kSchemaVersion = 1;  // of the --json records (docs/json-schema.md)

// Which end of the conversation a process, socket or syscall belongs to.
enum class Role : std::uint8_t { unknown, client, server };
std::string_view role_name(Role r);  // "client", "server", "unknown"

struct Process {
    std::uint32_t pid = 0;
    std::string comm;
    Role role = Role::unknown;
};

// One system call, enter..exit. sk is the socket it worked on, found from the
// socket tracepoints that fired inside its window on the same thread
// (sock_send_length / tcp_sendmsg_locked / sock_recv_length), or from the fd.
struct Syscall {
    std::string name;              // "sendto", "recvfrom", "connect", "accept4"
    std::int32_t nr = -1;
    std::uint32_t pid = 0;
    std::uint32_t tid = 0;
    std::string comm;
    Role role = Role::unknown;
    std::int32_t fd = -1;
    std::uint64_t size = 0;        // length argument
    std::uint64_t flags = 0;
    std::int64_t ret = 0;          // return value (bytes, new fd, or -errno)
    std::uint64_t enter_ns = 0;
    std::uint64_t exit_ns = 0;     // 0 when the exit was not seen (still blocked / lost)
    std::uint64_t sk = 0;          // socket it used, 0 when unknown
    std::uint64_t new_sk = 0;      // socket()/accept(): the socket it returned
    std::size_t connection = kNone;
    // For data syscalls on a connection: the byte range of the stream it moved
    // (relative to the first byte of the direction, as TCP relative seq).
    std::uint64_t stream_begin = 0;
    std::uint64_t stream_end = 0;
    std::vector<std::size_t> packets;  // packets it caused (send) or consumed (recv)
};

// A TCP state change (sock:inet_sock_set_state).
struct StateChange {
    std::uint64_t t_ns = 0;
    std::uint64_t sk = 0;
    model::Flow flow;              // local -> remote of that socket
    std::int32_t old_state = 0;    // include/net/tcp_states.h numbering
    std::int32_t new_state = 0;
    Role role = Role::unknown;
    std::size_t connection = kNone;
    std::size_t packet = kNone;    // the packet whose processing caused it, if any
    std::size_t syscall = kNone;   // or the socket's own syscall it happened in (connect, close)
};

// One fib:fib_table_lookup hit.
struct FibLookup {
    std::uint64_t t_ns = 0;
    std::uint32_t pid = 0;
    std::string comm;
    std::uint32_t table = 0;       // 254 even for 127.0.0.1: local+main share one trie
    std::int32_t err = 0;
    std::array<std::uint8_t, 16> gateway{};
    model::Flow flow;              // the key looked up (src/dst/ports as the tracepoint has them)
    std::string dev;
    std::size_t during_syscall = kNone;  // the syscall it happened in
    std::string during_call;             // its name ("connect"): a streamed run's totals
                                         // keep lookups, not their calls
    std::size_t packet = kNone;          // the packet it routed, if one followed at once
};

// The route to the conversation's destination: what rtnetlink answers
// ("ip route get") and what the kernel actually looked up while tracing.
struct Route {
    std::string destination;       // "127.0.0.1"
    bool has_answer = false;       // rtnetlink answered
    std::string type;              // "local", "unicast"
    std::string table;             // "local", "main" or a number
    std::string dev;               // "lo"
    std::string source;            // preferred source address
    std::string gateway;           // "" when directly reachable
    std::vector<FibLookup> lookups;
    std::vector<std::string> notes;  // explanations (cached route, table 254 vs local)
};

// The frame the capture saw for a packet (on lo: the received copy only, so
// t_ns is the receive time).
struct Frame {
    std::size_t index = kNone;     // position among captured frames, 0-based
    std::uint64_t t_ns = 0;
    std::uint32_t wire_len = 0;
    std::uint32_t captured_len = 0;
    std::int32_t link_type = 0;
    model::Flow flow;
    std::uint8_t tcp_flags = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint32_t payload_len = 0;
    std::string summary;           // one tcpdump-style line
    std::vector<std::uint8_t> bytes;
};

// One place a packet was seen: a tracepoint hit or a system call boundary.
struct Hop {
    model::EventKind event = model::EventKind::net_dev_queue;
    model::Layer layer = model::Layer::device;
    bool receive_side = false;     // on the way up (after the device handed it over)
    std::uint64_t t_ns = 0;
    std::int64_t since_cause_ns = 0;  // t_ns minus the packet's cause_ns
    std::uint32_t pid = 0;         // current task: NOT the socket owner in softirq
    std::uint32_t tid = 0;
    std::uint32_t cpu = 0;
    std::string comm;
    std::uint64_t skb = 0;
    std::uint64_t sk = 0;
    std::uint32_t len = 0;         // skb->len as reported (net_dev_* includes 14 B Ethernet)
    std::string dev;
    std::string detail;            // "sendto enter", "drop NO_SOCKET", "ESTABLISHED -> FIN-WAIT-1"
    std::size_t syscall = kNone;   // for syscall hops: the Syscall index
    std::int64_t ret = 0;          // the event's ret (bytes for sock_*_length, NETDEV_TX_*)
    std::int32_t old_state = 0;    // inet_sock_set_state
    std::int32_t new_state = 0;
    std::string explain;           // what the kernel did here and why (journey/explain.h)
};

// The time a packet spent in one layer (on one side of the stack): from the
// first hop of this layer to the first hop of the next layer on its path.
struct LayerSpan {
    model::Layer layer = model::Layer::application;
    bool receive_side = false;
    std::uint64_t start_ns = 0;
    std::uint64_t duration_ns = 0;
};

enum class PacketKind : std::uint8_t {
    handshake,   // SYN, SYN-ACK, the ACK that completes it
    data,        // carries payload
    ack,         // pure ACK (window updates too)
    teardown,    // FIN (with or without ACK) and the ACKs of FINs
    reset,       // RST
    datagram,    // UDP datagram
    message,     // UNIX domain message (stream chunk or datagram)
};
std::string_view packet_kind_name(PacketKind k);  // "handshake", ...

// Why the packet left.
enum class Cause : std::uint8_t {
    syscall,     // a system call on the sending socket (send, connect, close, shutdown)
    reply,       // the kernel answered a packet it was receiving (SYN-ACK, quick ACK)
    timer,       // no syscall, not nested in a receive: delayed-ACK / retransmit timer
    unknown,     // the first hops were lost
    exit,        // the sending process exited without close(): do_exit() closed its
                 // files (exit_files), and with them the socket (FIN, or RST if unread)
};
std::string_view cause_name(Cause c);  // "syscall", "reply", "timer", "unknown", "exit"

enum class Direction : std::uint8_t { unknown, client_to_server, server_to_client };
std::string_view direction_name(Direction d);  // "c->s", "s->c", "?"

struct Packet {
    std::size_t connection = kNone;
    Direction direction = Direction::unknown;
    PacketKind kind = PacketKind::data;
    model::Flow flow;              // as sent
    std::uint8_t tcp_flags = 0;
    std::uint32_t seq = 0;         // raw
    std::uint32_t ack = 0;         // raw
    std::uint32_t rel_seq = 0;     // relative to the sender's ISN (0 for the SYN)
    std::uint32_t rel_ack = 0;     // relative to the peer's ISN
    std::uint32_t payload_len = 0;
    std::vector<std::uint64_t> skbs;  // skb addresses it lived in (one on loopback)
    std::uint64_t sender_sk = 0;
    std::uint64_t receiver_sk = 0;

    Cause cause = Cause::unknown;
    std::string sent_by;           // "sendto (client pid 41 tid 41)", "delayed-ACK timer"
    std::uint64_t cause_ns = 0;    // the causing syscall's enter, else the first hop
    std::size_t send_syscall = kNone;
    std::size_t recv_syscall = kNone;  // the syscall that copied its bytes to user
    std::size_t reply_to = kNone;      // Cause::reply: the packet being received
    std::uint32_t exit_pid = 0;        // Cause::exit: the process whose exit sent it

    std::vector<Hop> hops;         // time order
    std::vector<LayerSpan> layers; // along its path, see LayerSpan
    std::optional<Frame> frame;    // the matched captured frame

    // TCP retransmits: told by tcp:tcp_retransmit_skb (a hop) or seen in the
    // sequence numbers (it carries sequence space an earlier packet of the
    // same direction already carried).
    bool retransmit = false;
    std::size_t retransmit_of = kNone;  // that earlier packet, when traced
    bool dropped = false;          // ended in kfree_skb for a reason other than QUEUE_PURGE
    std::string drop_reason;       // kfree_skb reason name (also QUEUE_PURGE: freed with
                                   // the socket's queue at close, after it was processed)
    // RST: why the kernel sent it (tcp_send_reset's enum sk_rst_reason name,
    // "TCP_ABORT_ON_LINGER"; empty when not traced or on kernels before 6.10).
    std::string reset_reason;
    // RST: the receiving socket's system call that reported the reset
    // (connect -ECONNREFUSED, recv -ECONNRESET, send -EPIPE).
    std::size_t error_syscall = kNone;
    std::string explain;           // why it was sent and what it changed (journey/explain.h)
    // What went wrong and how TCP answered, as explain() says it; each empty
    // when it does not apply.
    struct Trouble {
        std::string dropped;          // "NETFILTER_DROP in ip (receive side)"
        std::string dropped_then;     // ": TCP sent its bytes again as packet #5"
        std::string retransmit;       // "of packet #4, 207.90 ms after it (...); ..."
        std::string reset;            // why the RST was sent
        std::string reset_reported;   // "reported to the client (pid 7) as connect(fd=3) = ..."
        std::string reset_received;   // the receiving socket closed, no traced call failed
        bool any() const {
            return !dropped.empty() || !retransmit.empty() || !reset.empty();
        }
    } trouble;
};

// One conversation: a TCP connection, a UDP flow (both directions) or a UNIX
// socket pair.
struct Connection {
    std::string transport;         // "tcp", "tcp6", "udp", "udp6", "unix", "unix-dgram"
    model::Flow client_to_server;  // client's local endpoint -> server's
    std::uint64_t client_sk = 0;
    std::uint64_t server_sk = 0;   // the accepted (or bound, for datagrams) socket
    std::uint64_t listen_sk = 0;
    std::uint32_t client_isn = 0;  // TCP initial sequence numbers (from the SYN/SYN-ACK)
    std::uint32_t server_isn = 0;
    std::vector<std::size_t> packets;
    std::vector<std::size_t> states;
    std::vector<std::size_t> syscalls;
};

// Time per layer over the data packets (medians), for the summary table and
// --compare.
struct LayerSummary {
    model::Layer layer = model::Layer::application;
    bool receive_side = false;
    std::uint64_t median_ns = 0;
    std::size_t samples = 0;
};

// A sock_diag snapshot of one socket at one moment (runs without the kernel
// side: the states as user space can see them).
struct SocketView {
    std::uint64_t t_ns = 0;
    Role role = Role::unknown;
    model::Flow flow;              // local -> remote (UNIX: inodes)
    std::int32_t state = 0;        // include/net/tcp_states.h numbering (UNIX too)
    std::uint32_t recv_q = 0;
    std::uint32_t send_q = 0;
};

struct Stats {
    std::uint64_t packets = 0;          // packets of the journey (of the whole run when streamed)
    std::uint64_t events = 0;           // kernel events read
    std::uint64_t lost_events = 0;      // ring buffer drops: always shown when non-zero
    std::uint64_t frames = 0;           // frames captured of the traced conversations
    std::uint64_t frames_other = 0;     // frames of conversations nobody traced (not shown)
    std::uint64_t frames_matched = 0;
    std::uint64_t capture_dropped = 0;  // pcap_stats ps_drop
    std::uint64_t packets_without_frame = 0;
    std::uint64_t data_packets = 0;
    std::uint64_t retransmits = 0;      // packets marked retransmit
    std::uint64_t resets = 0;           // RST packets
    std::uint64_t median_one_way_ns = 0;  // data packets: send enter -> recv exit
};

// The kernel a journey was traced on, and the hops it could not give (or
// gave without some of their facts): said once per journey, not per packet.
struct HopGap {
    std::string hop;      // "sock_send_length"
    std::string why;      // "no tracepoint sock:sock_send_length on this kernel; ..."
    bool missing = true;  // false: the hop is there, but limited (why says how)
};

struct KernelView {
    std::string release;     // uname -r; empty when unknown (replayed recordings)
    std::string bpf_object;  // "modern" or "compat" (bpf/tracepacket.bpf.c)
    std::vector<HopGap> gaps;
    // Hops taken from the function behind a tracepoint this kernel lacks:
    // "sock_send_length from fexit sock_sendmsg".
    std::vector<std::string> fallbacks;
};

struct Journey {
    std::string transport;         // what was asked ("tcp"), or "" for `trace`
    std::vector<Process> processes;
    std::vector<Syscall> syscalls;      // time order (enter)
    std::vector<StateChange> states;    // time order
    std::vector<Route> routes;
    std::vector<Connection> connections;
    std::vector<Packet> packets;        // time order (first hop)
    std::vector<Frame> unmatched_frames;
    std::vector<SocketView> sockets;    // sock_diag snapshots (partial runs)
    std::vector<LayerSummary> layer_summary;
    Stats stats;
    // CLOCK_REALTIME minus CLOCK_MONOTONIC when recorded (0: unknown), so
    // writers can give wall-clock stamps (pcapng) to monotonic times.
    std::int64_t realtime_offset_ns = 0;
    // Set when the kernel side could not run: what is missing and what is
    // still shown (user-space timings, socket states, route).
    bool partial = false;
    std::vector<std::string> partial_reasons;  // "CAP_BPF missing: no kernel hops"
    std::vector<std::string> notes;
    KernelView kernel;
    // Which command made it ("journey": the lab pair; "trace") and, for
    // trace, what it followed: "curl -s http://127.0.0.1:8000/ (pid 41)".
    std::string command = "journey";
    std::string traced;
    // Set when tracing ended before the traced programs' traffic did (the
    // --linger bound, a signal): what was cut and why. Said in the text and
    // the JSON summary (`cut_short`), never silent.
    std::string cut_short;

    // Set on one chunk of a streamed trace (journey/stream.h): the number
    // each packet, syscall and connection has in the whole run (0-based),
    // and which of them this chunk shows (the others are context it was
    // correlated with, shown by an earlier chunk or a later one). Empty: a
    // whole journey, numbered by position, everything shown.
    struct Numbering {
        std::vector<std::size_t> packets, syscalls, connections;
        std::vector<bool> packet_shown, syscall_shown, state_shown;
    } numbering;
    std::size_t packet_number(std::size_t i) const { return renumber(numbering.packets, i); }
    std::size_t syscall_number(std::size_t i) const { return renumber(numbering.syscalls, i); }
    std::size_t connection_number(std::size_t i) const {
        return renumber(numbering.connections, i);
    }
    bool shows_packet(std::size_t i) const { return shown(numbering.packet_shown, i); }
    bool shows_syscall(std::size_t i) const { return shown(numbering.syscall_shown, i); }
    bool shows_state(std::size_t i) const { return shown(numbering.state_shown, i); }

private:
    static std::size_t renumber(const std::vector<std::size_t>& v, std::size_t i) {
        return i < v.size() ? v[i] : i;
    }
    static bool shown(const std::vector<bool>& v, std::size_t i) { return i >= v.size() || v[i]; }
};

}  // namespace tpk::journey
