// The correlator: the one place that joins events from every source (kernel
// tracepoints, system calls, captured frames, socket snapshots) into a
// Journey. Pure code: it reads a vector of events and returns data, so the
// unit tests run it on recordings without privileges.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "journey/journey.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::journey {

struct CorrelatorInput {
    std::vector<model::Event> events;  // any order; frames and syscalls included
    std::uint64_t lost_events = 0;     // from the tracer
    std::uint64_t capture_dropped = 0; // from pcap_stats
    std::vector<Process> processes;    // known roles (the lab's client and server)
    std::vector<Route> routes;         // rtnetlink answers for the destinations
    std::string transport;             // "tcp", ... or "" when unknown (trace)
    std::uint16_t server_port = 0;     // tells client from server when no SYN was seen
    // A streamed trace's (journey/stream.h): the TCP ports that were a
    // connection's server end in an earlier chunk. A connection whose SYN is
    // not in this chunk (closed, its context gone, then a late packet) is
    // told apart by them as by server_port; taken for the first sender's, a
    // server's late FIN made the server the client, and the stream printed
    // the connection a second time, reversed. Not in recordings.
    std::unordered_set<std::uint16_t> earlier_server_ports;
};


// The input is only read: a streamed trace keeps its events to carry some into
// the next chunk (journey/stream.h).
Journey correlate(const CorrelatorInput& input);

// The correlator's input saved to a file and read back: journey/recording.h.

}  // namespace tpk::journey
