#include "journey/correlator.h"

#include "journey/correlator_causes.h"
#include "journey/correlator_classify.h"
#include "journey/correlator_common.h"
#include "journey/correlator_connections.h"
#include "journey/correlator_events.h"
#include "journey/correlator_frames.h"
#include "journey/correlator_packets.h"
#include "journey/correlator_retransmits.h"
#include "journey/correlator_side_events.h"
#include "journey/correlator_states.h"
#include "journey/correlator_summary.h"
#include "journey/correlator_timeline.h"

namespace tpk::journey {

// The stages in the order they depend on each other; each one's header says
// what it consumes and produces. The packets (PacketState) are built once and
// extended by the stages after; they keep their index until order_packets puts
// them in wire order.
Journey correlate(const CorrelatorInput& input) {
    using namespace stages;
    Journey j;

    // Events: by time and by reader; syscalls paired.
    const EventStreams events = sort_events(input.events, input.server_port);
    j.sockets = events.sockets;
    j.syscalls = pair_syscalls(events.all, input.processes);

    // Packets: skb lifetimes, GSO originals folded into their segments.
    std::vector<PacketState> packets = merge_gso_segments(skb_lifetimes(events.skb_hops));
    const Timeline at(j.syscalls, packets);
    std::vector<Frame> frames = decode_frames(events.frames);

    // Sockets and connections.
    const SocketMap sockets = learn_sockets(events, packets, j.syscalls, at);
    find_receivers(events.side, at, packets);
    const ServerPorts server_ports{input.server_port, &input.earlier_server_ports};
    j.connections = build_connections(packets, j.syscalls, sockets, server_ports);

    // Attribution. Retransmits before the causes: a retransmit is never what
    // a syscall sent.
    j.notes = attach_retransmits(events.side, packets);
    mark_retransmits(packets);
    attach_causes(packets, j.syscalls, sockets, at, events.exits);
    share_merged_copies(packets, j.syscalls, at);
    attach_datagram_reads(packets, j.syscalls);
    attach_unix(events.side, packets, j.syscalls, sockets, at, input.processes, input.transport,
                j.connections);
    const LookupPackets lookup_packets = attach_side_events(events.side, at, packets);
    attach_stream_ranges(packets, j.syscalls, j.connections);
    classify(packets, j.connections, j.syscalls);

    // Frames, states and routes.
    FrameMatch matched = match_frames(std::move(frames), packets, j.connections);
    j.unmatched_frames = std::move(matched.unmatched);
    j.stats.frames = matched.frames;
    j.stats.frames_matched = matched.matched;
    j.stats.frames_other = matched.other;
    j.states = build_states(events.side, j.connections,
                            connection_starts(packets, j.connections.size()), sockets,
                            server_ports, j.syscalls, at);
    j.routes = build_routes(input.routes, events.side, j.syscalls, lookup_packets, at,
                            !packets.empty() || !events.side.empty());

    // Wire order, links and summaries.
    j.packets = order_packets(std::move(packets), j.states, j.routes);
    summarize(j, input, events.frames.size(), sockets, server_ports);
    return j;
}

}  // namespace tpk::journey
