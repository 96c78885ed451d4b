// Stage 2, packets: one packet per skb lifetime, from its first transmit hop
// (ip_output, else net_dev_queue) to consume_skb/kfree_skb, with the headers
// its most trusted hop read; then GSO originals folded into their segments.
// Consumes EventStreams::skb_hops (time order); produces the PacketStates
// every later stage extends, in order of their first hop. Knows nothing of
// syscalls, sockets or connections.
#pragma once

#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

// Packets as their skbs lived, GSO originals still separate.
std::vector<PacketState> skb_lifetimes(const std::vector<const Event*>& skb_hops);

// A GSO original (queued whole, never transmitted) gives its queueing hops to
// the segments cut from it, and leaves.
std::vector<PacketState> merge_gso_segments(std::vector<PacketState> packets);

}  // namespace tpk::journey::stages
