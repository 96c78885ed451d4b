// Stage 4c, side events: hops that name a socket, not an skb (socket send and
// receive lengths, wake-ups, resets sent and received, TCP state changes,
// route lookups), each to the packet it belongs to by thread, socket and
// time. Consumes the side events, the Timeline and the packets with their
// syscalls (correlator_causes); adds hops (and a reset's reason, a reset's
// receiver) to the packets and returns which packet each route lookup was
// for.
#pragma once

#include <unordered_map>
#include <vector>

#include "journey/correlator_common.h"
#include "journey/correlator_timeline.h"

namespace tpk::journey::stages {

// fib_table_lookup event -> the packet it routed.
using LookupPackets = std::unordered_map<const Event*, std::size_t>;

LookupPackets attach_side_events(const std::vector<const Event*>& side, const Timeline& at,
                                 std::vector<PacketState>& packets);

}  // namespace tpk::journey::stages
