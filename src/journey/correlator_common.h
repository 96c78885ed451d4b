// What the correlator's stages share (correlator.cpp runs them in order):
// the packet under construction (PacketState) and small facts about events,
// flows and hops that more than one stage needs. Owns no state; consumed by
// every correlator_*.cpp, produces nothing on its own.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "journey/journey.h"
#include "model/event.h"

namespace tpk::journey::stages {

using model::Event;
using model::EventKind;
using model::Flow;
using model::Layer;

// recvmsg()'s MSG_PEEK: the read copies but leaves the skb queued.
inline constexpr std::uint64_t kMsgPeek = 2;

// A packet while the stages build it: the Packet the journey will hold, and
// what the stages learn about its skb on the way.
struct PacketState {
    Packet p;
    int header_rank = 100;         // see header_priority (correlator_packets.cpp); 100: none
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

bool flow_empty(const Flow& f);
Flow reversed(const Flow& f);
// Same conversation, either direction (TCP/UDP 5-tuple).
bool same_conversation(const Flow& a, const Flow& b);

bool is_send_syscall(const std::string& name);
bool is_recv_syscall(const std::string& name);

// The hop an event stands for, with its layer, side and detail text.
Hop hop_from(const Event& e);
// The enter or exit of a syscall as a hop of a packet.
Hop syscall_hop(const Syscall& s, std::size_t index, bool enter, bool receive_side);

// Hops by time, equal times in std::sort's order. Mostly in order already:
// a hop in its place is not moved (a Hop holds four strings).
void sort_hops_by_time(std::vector<Hop>& hops);

// The first hop of a packet on its way down to a device, or null.
const Hop* first_send_device_hop(const Packet& p);
// Two hops ran in the same context: the same thread (the idle task is tid 0
// on every CPU, so there the CPU too).
bool same_context(const Hop& h, const Event& e);
bool has_event(const Packet& p, EventKind kind);
// A packet no traced call sent left in the task its first transmit hop ran
// in. When that task is a program tracepacket does not trace (not the idle
// task, not ksoftirqd) and no traced call used the sending socket, that
// program's own call may have sent it as well as a timer that interrupted
// it: that hop, else null.
const Hop* untraced_sender(const Packet& p, const std::vector<Syscall>& syscalls);

// When a packet reached the wire (see correlator_common.cpp), and the packets
// in that order (stable).
std::uint64_t wire_time(const Packet& p);
std::vector<std::size_t> wire_order(const std::vector<PacketState>& ps);

// A TCP/UDP conversation whichever way a flow goes: its protocol and its
// two endpoints, the smaller first. Equal keys: same_conversation().
// What tells a server's end when no SYN does: CorrelatorInput's server_port
// and earlier_server_ports.
struct ServerPorts {
    std::uint16_t port = 0;
    const std::unordered_set<std::uint16_t>* earlier = nullptr;
    bool contains(std::uint16_t p) const {
        return p && (p == port || (earlier && earlier->count(p)));
    }
};

struct ConversationKey {
    std::uint8_t protocol = 0;
    model::Endpoint a, b;
    explicit ConversationKey(const Flow& f);
    bool operator==(const ConversationKey&) const = default;
};
struct ConversationKeyHash {
    std::size_t operator()(const ConversationKey& k) const;
};

// The connections looked up by flow, socket and port, built once per stage
// that asks per packet, frame, state or call: a trace of a busy server has
// tens of thousands of connections, and a scan of them for each would be
// quadratic. Each lookup answers what a scan in the connections' order would.
class ConnectionIndex {
public:
    // starts: when each connection's first packet was seen, when known; a
    // conversation then belongs to its connections in turn (a port pair the
    // kernel reused for a new connection).
    explicit ConnectionIndex(const std::vector<Connection>& connections,
                             const std::vector<std::uint64_t>& starts = {});
    // The connection of f's TCP/UDP conversation (either direction) at t_ns:
    // the last one started by then, else its first; kNone when none.
    std::size_t of_flow(const Flow& f, std::uint64_t t_ns = 0) const;
    // The last connection whose client, server or listening socket is sk, or kNone.
    std::size_t last_with_socket(std::uint64_t sk) const;
    // The last connection of this protocol whose server port is port, or kNone.
    std::size_t last_serving(std::uint8_t protocol, std::uint16_t port) const;
    // The first connection whose client end is (protocol, e), its server end, or
    // whose server port is e's port: kNone when none is.
    std::size_t first_client_end(std::uint8_t protocol, const model::Endpoint& e) const;
    std::size_t first_server_end(std::uint8_t protocol, const model::Endpoint& e) const;
    std::size_t first_serving(std::uint8_t protocol, std::uint16_t port) const;
    // The first connection that names sk as its client socket (client) or its
    // server or listening one (server); unknown when none does.
    Role socket_role(std::uint64_t sk) const;

private:
    struct EndKey {
        std::uint8_t protocol = 0;
        model::Endpoint e;
        bool operator==(const EndKey&) const = default;
    };
    struct EndKeyHash {
        std::size_t operator()(const EndKey& k) const;
    };
    static std::uint32_t port_key(std::uint8_t protocol, std::uint16_t port) {
        return std::uint32_t{protocol} << 16 | port;
    }
    // Per conversation, its connections in order.
    std::unordered_map<ConversationKey, std::vector<std::size_t>, ConversationKeyHash>
        conversation_;
    std::vector<std::uint64_t> starts_;
    std::unordered_map<std::uint64_t, std::size_t> last_socket_;
    std::unordered_map<std::uint64_t, Role> socket_role_;
    std::unordered_map<std::uint32_t, std::size_t> last_serving_, first_serving_;
    std::unordered_map<EndKey, std::size_t, EndKeyHash> first_client_, first_server_;
};
// When each connection's first packet was seen (its first hop), by
// connection; UINT64_MAX for one without packets.
std::vector<std::uint64_t> connection_starts(const std::vector<PacketState>& packets,
                                             std::size_t connections);
std::vector<std::uint64_t> connection_starts(const std::vector<Packet>& packets,
                                             std::size_t connections);

// The role the caller gave a process, or unknown.
Role role_of_pid(std::uint32_t pid, const std::vector<Process>& processes);

}  // namespace tpk::journey::stages
