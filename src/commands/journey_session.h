// Records what the journey and trace commands correlate, by wiring the
// sources: the kernel tracer and the thread that reads it (kernel/tracer,
// kernel/tracer_pump), the capture on lo (capture/loopback), sock_diag
// snapshots (netlink/socket_events), the lab's user-space call log without
// the kernel side (lab/call_log), the route from rtnetlink, each process's
// role. Shared by journey.cpp and trace.cpp; what they record and its file
// are journey/recording.h, the logic a test needs lives in those folders.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "journey/correlator.h"
#include "journey/recording.h"
#include "journey/two_hosts.h"
#include "lab/transport.h"
#include "netlink/ip_address.h"
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
    // Streamed, as trace is (TraceTarget::on_chunk): each chunk while the lab
    // runs, cut every second. A short run (1,000 messages or fewer) is never
    // cut, nor is any that ended first: one journey, as unstreamed.
    std::function<void(journey::Journey&)> on_chunk;
    std::size_t finish_slice_events = 500'000;   // TraceTarget::finish_slice_events
    std::uint64_t max_held_records = 8'000'000;  // TraceTarget::max_held_records
};

struct TraceTarget {
    std::vector<pid_t> pids;            // follow these, or
    std::vector<std::string> command;   // run this
    std::string ready_file;             // written once tracing runs (tests sync on it)
    bool capture = true;                // capture on lo meanwhile
    // The bytes the capture keeps of each frame (trace --snaplen); 0: all.
    int snaplen = 0;
    std::uint8_t bench_floor = 0;       // make bench only (kernel::TracerOptions)
    std::uint64_t linger_ms = 500;      // kernel::SessionOptions::linger_ms
    // kernel::TracerOptions::max_held_records: ring records waiting to be
    // correlated, ~370 bytes each as they wait; ~2 KB each at the peak when
    // correlated all at once (1.8 KB per event measured).
    std::uint64_t max_held_records = 4'000'000;
    int command_stdout = -1;            // >= 0: the command's stdout goes there
    // Streamed: each chunk (journey/stream.h), as its traffic settles after
    // quiet_ms without records, while tracing goes on. The Recording then
    // holds the stream with what came after the last chunk (none cut: it
    // holds the events, as unstreamed).
    std::function<void(journey::Journey&)> on_chunk;
    std::uint64_t quiet_ms = 300;
    // Streamed: once tracing has ended, the records still held are
    // correlated in slices of this many events (~200 MB of events); a run
    // with fewer that never cut is correlated whole, as a short trace is.
    std::size_t finish_slice_events = 500'000;
};

// What one run recorded, and its file (--record-raw, --replay): the commands
// and their tests name them from here.
using journey::read_recording;
using journey::Recording;
using journey::write_recording;

// Correlates a recording into the journey the writers read.
journey::Journey finish_recording(Recording&& r);
// What a recording says of its run onto a journey (or a streamed chunk):
// the command and what it traced, partial, notes, the kernel view.
void stamp_journey(journey::Journey& j, const Recording& r);
// Only what stamp_journey reads of r: a chunk written on another thread
// stamps from this copy while r changes.
Recording stamp_of(const Recording& r);

Result<Recording> record_lab_journey(const LabJourneyOptions& options);

// The route decision, as `ip route get` would show it; rtnetlink's failure
// is a note on it.
journey::Route route_to(const netlink::IpAddress& destination);

// --two-hosts: the same lab across two network namespaces joined by a veth
// pair (commands/two_hosts_lab.h), and what only that path has.
struct TwoHostsOptions {
    std::string watch_client;   // hidden: a shell command run in the client's namespace
    std::string watch_server;   // ... and in the server's, meanwhile (tests run tcpdump)
};

using journey::TwoHostsFacts;

struct TwoHostsRecording {
    Recording recording;
    TwoHostsFacts facts;
};

Result<TwoHostsRecording> record_two_hosts_journey(const LabJourneyOptions& options,
                                                   const TwoHostsOptions& two_hosts);
Result<Recording> record_trace(const TraceTarget& target);

}  // namespace tpk::commands
