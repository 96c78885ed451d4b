// Stage 4b, causes: why each packet was sent and which syscalls moved its
// bytes. Consumes the packets (retransmits marked, correlator_retransmits),
// the syscalls, the SocketMap, the connections and the Timeline. Sets each
// packet's cause (syscall, reply, timer, exit, unknown), send_syscall, reply_to and
// recv_syscall, and adds the syscall hops. UNIX messages, which have no
// headers, also get their sockets, kind and length, and their Connections
// are added here.
#pragma once

#include <string>
#include <vector>

#include "journey/correlator_common.h"
#include "journey/correlator_connections.h"
#include "journey/correlator_timeline.h"

namespace tpk::journey::stages {

// The read that took the packet's bytes (see the .cpp); sets ps.copy_len.
std::size_t consuming_read(PacketState& ps, const std::vector<Syscall>& syscalls,
                           const Timeline& at);

// TCP/UDP packets: the cause from the context of the first hop, and the read
// that copied their bytes. exits: the traced processes' process_exit events
// (a FIN or reset sent in an exiting task after its exit is the exit's).
void attach_causes(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                   const SocketMap& sockets, const Timeline& at,
                   const std::vector<const Event*>& exits);

// UDP datagrams no copy names: the k-th datagram to the k-th read.
void attach_datagram_reads(std::vector<PacketState>& packets,
                           const std::vector<Syscall>& syscalls);

// UNIX messages: reads and sends paired by bytes; one Connection per pair.
// transport is the caller's ("unix", "unix-dgram", ... or another).
void attach_unix(const std::vector<const Event*>& side, std::vector<PacketState>& packets,
                 const std::vector<Syscall>& syscalls, const SocketMap& sockets,
                 const Timeline& at, const std::vector<Process>& processes,
                 const std::string& transport, std::vector<Connection>& connections);

// TCP segments merged into the skb ahead of them in the receive queue: the
// copies of that skb that took their bytes, and the read that did.
void share_merged_copies(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                         const Timeline& at);

// TCP segments still without a send or read: by their stream offset.
void attach_stream_ranges(std::vector<PacketState>& packets, const std::vector<Syscall>& syscalls,
                          const std::vector<Connection>& connections);

}  // namespace tpk::journey::stages
