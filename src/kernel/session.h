// Runs a traced session: starts COMMAND held until the tracer follows it (or
// follows running PIDs), passes events to a sink until the command or all
// the pids exit and their traffic has settled (bounded by the linger time),
// or SIGINT/SIGTERM arrives, then drains the ring buffer.
// Shared by record-events and trace; signals come through a signalfd in the
// poll set, not a global flag (STYLE.md).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel/tracer.h"
#include "util/result.h"

namespace tpk::kernel {

// When a streamed trace cuts a chunk (journey/stream.h) while tracing goes on.
struct CutPacing {
    // Called once each time no record has arrived for quiet_ms after some
    // did; 0: never.
    std::uint64_t quiet_ms = 0;
    std::function<void()> on_quiet;
    // Called every busy_ms while records keep arriving without such a quiet
    // time; 0: never.
    std::uint64_t busy_ms = 0;
    std::function<void()> on_busy;
};

// Calls a CutPacing's callbacks from a loop that reads the ring: tell it
// after each look what Tracer::records_arrived() says (run_session, TracerPump).
class CutPacer {
public:
    using Clock = std::chrono::steady_clock;
    CutPacer(const CutPacing& pacing, std::uint64_t records_arrived);
    // ended: the traced programs are gone; no cut is made from then on.
    void saw(std::uint64_t records_arrived, bool ended = false);
    // When the last record came (steady_clock).
    Clock::time_point last_arrival() const { return last_arrival_; }

private:
    const CutPacing& pacing_;
    std::uint64_t arrived_;
    Clock::time_point last_arrival_ = Clock::now();
    bool quiet_reported_ = true;   // nothing to report before the first record
    Clock::time_point last_cut_ = last_arrival_;   // the last on_quiet or on_busy
};

struct SessionOptions {
    std::vector<std::string> command;  // run this (argv), or
    std::vector<pid_t> pids;           // follow these running processes
    // Written once the programs are attached and the command is followed;
    // removed at the end. Tests wait for it instead of sleeping.
    std::string ready_file;
    // After the command (or the last pid) ends, tracing goes on until no
    // record arrived for settle_ms, at most linger_ms: a peer's FIN and the
    // last ACKs come a few ms after the traced program is gone, and
    // retransmits later still. 0: stop at once.
    std::uint64_t linger_ms = 500;
    std::uint64_t settle_ms = 100;
    // SIGINT/SIGTERM: true stops tracing and leaves the command running, as
    // strace does when it detaches (trace); false passes the signal on and
    // waits for the command (record-events).
    bool detach_on_signal = false;
    // When a streamed trace cuts a chunk while tracing goes on.
    CutPacing pacing;
    // Called once tracing is over, before the tracer's last records are
    // read (Tracer::finish): work on other threads that uses the tracer ends.
    // last_record: when the last record came (SessionResult::last_record).
    std::function<void(std::chrono::steady_clock::time_point last_record)> before_finish;
    // >= 0: the command's stdout is this fd (trace sends it to stderr while
    // its own output owns stdout).
    int command_stdout = -1;
};

struct SessionResult {
    int exit_code = 0;          // the command's, 128 + signal when it was killed
    int interrupted_by = 0;     // SIGINT/SIGTERM that ended the session, or 0
    pid_t command_pid = 0;
    std::uint64_t events = 0;
    std::uint64_t lost_events = 0;
    // Set when tracing ended while the traced programs' events were still
    // arriving, or was interrupted: what was cut and why, as one sentence.
    std::string cut_short;
    bool detached = false;      // the command was left running (detach_on_signal)
    // When the last kernel record came (steady_clock): the traced traffic
    // ended no later. A capture's last frames are in the ring by then plus its
    // block timeout (capture::LoopbackCapture::stop).
    std::chrono::steady_clock::time_point last_record{};
};

// Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread, and so in every
// thread it starts while this lives, restoring the mask on destruction.
// run_session reads those signals from a signalfd; a thread started before
// it (the capture, the event reader) that left them unblocked would take a
// SIGINT and end the process before the journey is written. Create one
// before starting such threads.
class SessionSignalMask {
public:
    SessionSignalMask();
    ~SessionSignalMask();
    SessionSignalMask(const SessionSignalMask&) = delete;
    SessionSignalMask& operator=(const SessionSignalMask&) = delete;

private:
    sigset_t old_{};
};

// The tracer must be loaded and attached. The command's pid is added to it
// before the command execs, so its first system call is seen.
Result<SessionResult> run_session(Tracer& tracer, const SessionOptions& options,
                                  const EventSink& sink);

// "123,456" -> {123, 456}; every pid must name a running process.
Result<std::vector<pid_t>> parse_pid_list(const std::string& text);

}  // namespace tpk::kernel
