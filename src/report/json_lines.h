// The journey as JSON Lines (docs/json-schema.md): connection, route,
// syscall, state, packet and frame records, then one summary record last.
// Every record carries "schema_version".
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "journey/journey.h"

namespace tpk::report {

void write_journey_json(const journey::Journey& j, std::ostream& out);

// One record each, appended to out with its newline; i is a position in j's
// vectors, and every index written is j's number for it (Journey::numbering:
// a streamed chunk's items keep their numbers in the whole run).
void write_connection_json(const journey::Journey& j, std::size_t i, std::string& out);
void write_route_json(const journey::Journey& j, const journey::Route& r, std::string& out);
void write_syscall_json(const journey::Journey& j, std::size_t i, std::string& out);
void write_state_json(const journey::Journey& j, const journey::StateChange& s,
                      std::string& out);
void write_socket_json(const journey::SocketView& v, std::string& out);
void write_packet_json(const journey::Journey& j, std::size_t i, std::string& out);
void write_unmatched_frame_json(const journey::Frame& f, std::string& out);
void write_summary_json(const journey::Journey& j, std::string& out);

// A streamed trace (journey/stream.h): a chunk's records as it comes (the
// syscalls, states and packets it shows, its unmatched frames), then the
// whole run's connection and route records and its summary (from
// JourneyStream::totals).
void write_chunk_json(const journey::Journey& chunk, std::string& out);
void write_chunk_json(const journey::Journey& chunk, std::ostream& out);   // in batches
void write_totals_json(const journey::Journey& totals, std::string& out);

}  // namespace tpk::report
