// The correlator: the one place that joins events from every source (kernel
// tracepoints, system calls, captured frames, socket snapshots) into a
// Journey. Pure code: it reads a vector of events and returns data, so the
// unit tests run it on recordings without privileges.
#pragma once

#include <cstdint>
#include <string>
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
};

Journey correlate(CorrelatorInput input);

// Recordings (tests/fixtures/events/*.jsonl) keep what is not an event as
// comment lines the event reader skips:
//     # lost_events 12
//     # capture_dropped 0
//     # transport tcp
//     # server_port 40123
//     # process 4242 server tracepacket
// recorded_counter returns 0 when the line is absent.
std::uint64_t recorded_counter(const std::string& recording_text, const std::string& name);
// Fills everything but events from those lines.
void read_recording_header(const std::string& recording_text, CorrelatorInput& input);
// The same lines for a recording's top.
std::string recording_header(const CorrelatorInput& input);
// A whole recording (those lines, then one event per line, as
// `tracepacket trace --record-raw` writes it) as the correlator's input.
Result<CorrelatorInput> parse_recording(const std::string& recording_text);

}  // namespace tpk::journey
