// Stage 8, order and summarize: the journey as writers read it. order_packets
// consumes the finished PacketStates and puts their Packets in wire order
// with their layer spans, remapping every packet index (reply_to,
// retransmit_of, states' and route lookups' packets). summarize consumes the
// journey so far (packets ordered, syscalls, connections, states, routes,
// frames) and the input; it links packets, states and syscalls to their
// connections, gives syscalls their stream ranges and processes their roles,
// and fills the layer summary, the stats, the transport and the notes.
#pragma once

#include <cstddef>
#include <vector>

#include "journey/correlator.h"
#include "journey/correlator_common.h"
#include "journey/correlator_connections.h"

namespace tpk::journey::stages {

// The time a packet spent in each layer on its path (see LayerSpan).
std::vector<LayerSpan> layer_spans(const Packet& p);

std::vector<Packet> order_packets(std::vector<PacketState> packets,
                                  std::vector<StateChange>& states, std::vector<Route>& routes);

// frame_events: how many of the input's events were frames.
void summarize(Journey& j, const CorrelatorInput& in, std::size_t frame_events,
               const SocketMap& sockets);

}  // namespace tpk::journey::stages
