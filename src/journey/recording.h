// A recording: what one run gathered for the correlator, and the file that
// keeps it (tests/fixtures/events/<kernel>/*.jsonl, written by `journey` and
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
#include <memory>
#include <string>
#include <vector>

#include "journey/correlator.h"
#include "journey/journey.h"
#include "journey/stream.h"
#include "util/result.h"

namespace tpk::journey {

// What one run recorded, ready for correlate(). When the kernel side could
// not run (no privileges), kernel_traced is false and input holds what still
// works; partial_reasons says what is missing.
struct Recording {
    CorrelatorInput input;
    bool kernel_traced = false;
    std::vector<std::string> partial_reasons;
    std::vector<std::string> notes;
    KernelView kernel;                  // what the kernel side could give
    int exit_code = 0;                  // of the traced command / the lab pair
    // CLOCK_REALTIME minus CLOCK_MONOTONIC while recording (constant for the
    // boot), for wall-clock stamps in the pcapng; the recorder sets it. 0 for
    // a replayed recording, whose boot is unknown.
    std::int64_t realtime_offset_ns = 0;
    std::string traced;                 // what trace followed (Journey::traced)
    std::string cut_short;              // Journey::cut_short
    // A streamed trace (journey/stream.h) that cut chunks while it ran: what
    // came after the last one is there, not in input.events.
    std::shared_ptr<JourneyStream> stream;
};

// The value of line "# name N", 0 when the line is absent.
std::uint64_t recorded_counter(const std::string& recording_text, const std::string& name);
// Fills everything but events from the comment lines.
void read_recording_header(const std::string& recording_text, CorrelatorInput& input);
// The comment lines for a recording's top.
std::string recording_header(const CorrelatorInput& input);
// A whole recording (those lines, then one event per line) as the
// correlator's input.
Result<CorrelatorInput> parse_recording(const std::string& recording_text);

// Writes r.input as a recording file. Frames keep their first 256 bytes
// (their headers: what the journey reads), so fixtures stay small.
Status write_recording(const Recording& r, const std::string& path);
// Reads one back, marked kernel-traced, with realtime_offset_ns 0; errors
// name the path.
Result<Recording> read_recording(const std::string& path);

}  // namespace tpk::journey
