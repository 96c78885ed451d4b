// Stage 1, events: sorts the input's events by time and sorts them by what
// reads them, and pairs syscall enters with their exits. Consumes the
// CorrelatorInput's events (any order); produces EventStreams (pointers into
// those events, which must outlive them) and the journey's Syscalls, in enter
// order. The later stages read only these.
#pragma once

#include <cstdint>
#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

// Every list in time order (stable for equal times).
struct EventStreams {
    std::vector<const Event*> all;       // every event
    std::vector<const Event*> skb_hops;  // hops of a packet's skb (see is_skb_hop)
    std::vector<const Event*> side;      // hops that name a socket, not an skb
    std::vector<const Event*> frames;    // frames the capture saw
    std::vector<const Event*> exits;     // process_exit: a traced process's last thread
    std::vector<SocketView> sockets;     // sock_diag snapshots
};

// Events that carry an skb of the packet path: a packet is one skb for its
// lifetime (net_dev_queue .. consume_skb/kfree_skb).
bool is_skb_hop(EventKind k);

// server_port names the server's end of a snapshot whose taker did not.
EventStreams sort_events(const std::vector<Event>& events, std::uint16_t server_port);

// Enter/exit pairs per thread (an exit without its enter stands alone), in
// enter order, with the role of the processes the caller named.
std::vector<Syscall> pair_syscalls(const std::vector<const Event*>& all,
                                   const std::vector<Process>& processes);

}  // namespace tpk::journey::stages
