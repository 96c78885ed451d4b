// A recording: the correlator's input kept in a file
// (tests/fixtures/events/<kernel>/*.jsonl, written by `journey` and
// `trace --record-raw FILE`, read by `journey --replay FILE` and the tests).
// The file is JSON Lines, one model::Event per line (model/event_io.h), with
// what is not an event as comment lines on top that the event reader skips:
//     # lost_events 12
//     # capture_dropped 0
//     # transport tcp
//     # server_port 40123
//     # process 4242 server tracepacket
#pragma once

#include <cstdint>
#include <string>

#include "journey/correlator.h"
#include "util/result.h"

namespace tpk::journey {

// The value of line "# name N", 0 when the line is absent.
std::uint64_t recorded_counter(const std::string& recording_text, const std::string& name);
// Fills everything but events from the comment lines.
void read_recording_header(const std::string& recording_text, CorrelatorInput& input);
// The comment lines for a recording's top.
std::string recording_header(const CorrelatorInput& input);
// A whole recording (those lines, then one event per line) as the
// correlator's input.
Result<CorrelatorInput> parse_recording(const std::string& recording_text);

}  // namespace tpk::journey
