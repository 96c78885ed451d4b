// Stage 3, sockets and connections: which socket is which and who talks to
// whom. Consumes the event streams, the packets (correlator_packets) and the
// syscalls (correlator_events), with the Timeline. Produces the SocketMap
// (sk -> endpoints, family), fills each packet's sender_sk/receiver_sk,
// each syscall's sk and role, and returns the TCP/UDP Connections, each
// packet's connection and direction set. UNIX pairs get theirs later
// (attach_unix, correlator_attribution).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "journey/correlator_common.h"
#include "journey/correlator_events.h"
#include "journey/correlator_timeline.h"

namespace tpk::journey::stages {

struct SocketMap {
    std::unordered_map<std::uint64_t, Flow> flow;  // sk -> its flow, local -> remote
    std::unordered_map<std::uint64_t, int> family; // sk -> AF_*
};

// sk -> its endpoints from every source that names both; packets without an
// owner on their events get one by endpoint; syscalls without a socket get
// one from the socket tracepoints inside their window, else by fd.
SocketMap learn_sockets(const EventStreams& events, std::vector<PacketState>& packets,
                        std::vector<Syscall>& syscalls, const Timeline& at);

// The socket a packet was delivered to, from sk_data_ready in its receive.
void find_receivers(const std::vector<const Event*>& side, const Timeline& at,
                    std::vector<PacketState>& packets);

// Groups the packets into conversations, names each end's socket, and gives
// syscalls without a role one (by socket, then by process).
std::vector<Connection> build_connections(std::vector<PacketState>& packets,
                                          std::vector<Syscall>& syscalls,
                                          const SocketMap& sockets, const ServerPorts& server_ports);

// Which end a socket is, from the connections (index), else its endpoints.
Role role_of_sk(std::uint64_t sk, const ConnectionIndex& connections, const SocketMap& sockets,
                const ServerPorts& server_ports);

// "tcp", "tcp6", "udp", "udp6" or "unix".
std::string transport_of(const Flow& f);

}  // namespace tpk::journey::stages
