// Stage 7, states and routes: what happened beside the packets. Consumes the
// side events (inet_sock_set_state, fib_table_lookup), the connections, the
// SocketMap, the syscalls, the Timeline, and which packet each lookup routed
// (correlator_side_events). Produces the journey's StateChanges and Routes
// (the caller's rtnetlink answers with the traced lookups and notes). Packet
// indices are still the stages' own order (correlator_summary remaps them).
#pragma once

#include <cstdint>
#include <vector>

#include "journey/correlator_common.h"
#include "journey/correlator_connections.h"
#include "journey/correlator_side_events.h"
#include "journey/correlator_timeline.h"

namespace tpk::journey::stages {

std::vector<StateChange> build_states(const std::vector<const Event*>& side,
                                      const std::vector<Connection>& connections,
                                      const std::vector<std::uint64_t>& connection_starts,
                                      const SocketMap& sockets, const ServerPorts& server_ports,
                                      const std::vector<Syscall>& syscalls, const Timeline& at);

// any_traced: packets or side events were traced (else no note that no
// lookup was).
// What a route's lookups say (table 254 for a local route, how many there
// were, why there were none), after its rtnetlink notes.
void add_route_notes(Route& r, bool any_traced);

std::vector<Route> build_routes(std::vector<Route> routes, const std::vector<const Event*>& side,
                                const std::vector<Syscall>& syscalls,
                                const LookupPackets& lookup_packets, const Timeline& at,
                                bool any_traced);

}  // namespace tpk::journey::stages
