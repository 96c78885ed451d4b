// Records what the journey and trace commands correlate: kernel events from
// the tracer, frames from a capture on lo, the route from rtnetlink, each
// process's role. The wiring of the sources lives here, shared by
// journey.cpp and trace.cpp; the logic that a test needs lives in
// src/journey/ (the correlator) and the sources' own folders.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "journey/correlator.h"
#include "lab/transport.h"
#include "util/result.h"

namespace tpk::commands {

struct LabJourneyOptions {
    lab::Transport transport = lab::Transport::tcp;
    std::string message = "Hello from client!";
    std::string reply = "Hello from server!";
    std::size_t size = 0;      // > 0: generated payloads of this size instead of message
    std::uint64_t count = 1;   // messages (each answered)
    bool capture = true;       // capture on lo (inet transports)
    std::size_t ring_buffer_bytes = 0;  // 0: the tracer's default; tiny sizes lose events
};

struct TraceTarget {
    std::vector<pid_t> pids;            // follow these, or
    std::vector<std::string> command;   // run this
    std::string ready_file;             // written once tracing runs (tests sync on it)
    bool capture = true;                // capture on lo meanwhile
    std::uint8_t bench_floor = 0;       // make bench only (kernel::TracerOptions)
};

// What one run recorded, ready for journey::correlate(). When the kernel side
// could not run (no privileges), kernel_traced is false and input holds what
// still works; partial_reasons says what is missing.
std::int64_t realtime_minus_monotonic_ns();

struct Recording {
    journey::CorrelatorInput input;
    bool kernel_traced = false;
    std::vector<std::string> partial_reasons;
    std::vector<std::string> notes;
    journey::KernelView kernel;         // what the kernel side could give
    int exit_code = 0;                  // of the traced command / the lab pair
    // CLOCK_REALTIME minus CLOCK_MONOTONIC while recording (constant for the
    // boot), for wall-clock stamps in the pcapng; 0 for a replayed recording,
    // whose boot is unknown.
    std::int64_t realtime_offset_ns = realtime_minus_monotonic_ns();
};

// Correlates a recording into the journey the writers read.
journey::Journey finish_recording(Recording&& r);

Result<Recording> record_lab_journey(const LabJourneyOptions& options);
Result<Recording> record_trace(const TraceTarget& target);

// Writes a recording as a JSON Lines fixture (events plus "# name value"
// counter lines), as tests/fixtures/events/ holds them.
Status write_recording(const Recording& r, const std::string& path);
// Reads one back (the correlator's tests and `journey --replay`).
Result<Recording> read_recording(const std::string& path);

}  // namespace tpk::commands
