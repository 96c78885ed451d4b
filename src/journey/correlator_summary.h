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
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "journey/correlator.h"
#include "journey/correlator_common.h"
#include "journey/correlator_connections.h"

namespace tpk::journey::stages {

// The time a packet spent in each layer on its path (see LayerSpan).
std::vector<LayerSpan> layer_spans(const Packet& p);

std::vector<Packet> order_packets(std::vector<PacketState> packets,
                                  std::vector<StateChange>& states, std::vector<Route>& routes);

// The per-layer durations and one-way times of data packets, kept as
// integers for the medians of the summary (a streamed trace adds its chunks'
// packets as it goes).
class LayerSamples {
public:
    // Adds p's spans and one-way time if p carries data; false if it does not.
    bool add(const Journey& j, const Packet& p);
    std::vector<LayerSummary> medians() const;   // in path order
    std::uint64_t median_one_way_ns() const;

private:
    std::map<std::pair<bool, int>, std::vector<std::uint64_t>> by_layer_;  // (receive side, path order)
    std::vector<std::uint64_t> one_way_;
};

// frame_events: how many of the input's events were frames.
void summarize(Journey& j, const CorrelatorInput& in, std::size_t frame_events,
               const SocketMap& sockets, const ServerPorts& server_ports);

}  // namespace tpk::journey::stages
