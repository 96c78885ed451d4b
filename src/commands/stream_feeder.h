// Feeds what a traced run records into its journey while tracing goes on
// (issue #14). The tracer holds its records raw while the traffic runs
// (kernel::TracerOptions::hold_records); at each cut (CutPacing: the traffic
// went quiet, or every second while it is busy) a job on a thread of its own
// converts them and adds them, with the capture's frames up to the newest
// event, to the recording's JourneyStream, which correlates a chunk and hands
// it to on_chunk (explained and written on one more thread). Once tracing has
// ended, what is still held is converted, correlated and written in slices,
// the three stages on the two CPUs. Without on_chunk the events are gathered
// into the recording, for one journey at the end.
//
// Shared by trace (driven by kernel::run_session) and the journey lab
// (driven by kernel::TracerPump): the same path, long runs or short.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "capture/loopback.h"
#include "journey/recording.h"
#include "kernel/session.h"
#include "kernel/tracer.h"
#include "model/event.h"

namespace tpk::commands {

class StreamFeeder {
public:
    struct Options {
        // Streamed: each chunk, on a thread of the feeder's, one at a time
        // and in order. Empty: one journey at the end.
        std::function<void(journey::Journey&)> on_chunk;
        // A cut once the traffic has been quiet this long.
        std::uint64_t quiet_ms = 300;
        // Once tracing has ended, the records still held are correlated in
        // slices of this many events (~200 MB of events); a run with fewer
        // that never cut is correlated whole, as a short trace is.
        std::size_t finish_slice_events = 500'000;
        // Ask rtnetlink for the route to each IP destination when the first
        // SYN to it goes out (trace; the lab knows its one route beforehand).
        bool learn_routes = false;
    };

    // rec, tracer and capture (null: none) outlive the feeder. Streamed,
    // rec.stream is created here: routes the caller knows go to it first.
    StreamFeeder(journey::Recording& rec, kernel::Tracer& tracer,
                 capture::LoopbackCapture* capture, Options options);
    StreamFeeder(const StreamFeeder&) = delete;
    StreamFeeder& operator=(const StreamFeeder&) = delete;
    ~StreamFeeder();   // waits for the jobs still running

    // The tracer's event sink, on the thread that reads the ring (and the
    // cut job's, which has it alone meanwhile).
    void take(model::Event&& e);
    kernel::EventSink sink() {
        return [this](model::Event&& e) { take(std::move(e)); };
    }
    // When to cut: empty unless streamed. The callbacks run on the thread
    // that reads the ring.
    kernel::CutPacing pacing();
    // Once tracing is over, before Tracer::finish() delivers the records
    // still held, on the same thread. Stops the capture first (its last
    // block comes within its timeout of last_record): the slices correlated
    // meanwhile need every frame of their time. Taken as they came instead,
    // the frames still in the capture's last block missed their packets (a
    // lab run of 20,000 messages in slices of 20,000 events left 150-300 of
    // 40,008 frames unmatched in 3 runs of 5).
    void before_finish(std::chrono::steady_clock::time_point last_record);
    // After Tracer::finish(): waits for the jobs and adds the capture's last
    // frames (it is stopped here if before_finish was not called). A
    // streamed run that never cut is handed back whole, in rec.input.events,
    // with rec.stream reset.
    void end(std::optional<std::chrono::steady_clock::time_point> last_record);

private:
    void add_batch(bool all_frames);
    // Room in the batch for what `records` held records deliver, up to a slice.
    void reserve_batch(std::uint64_t records);
    void take_frames();
    // A live cut's hold, longer when the capture's frames lag the records.
    std::uint64_t frame_hold(std::uint64_t hold_ns) const;
    // Once: waits for the capture's last block (its timeout after
    // last_record), then stops it.
    void stop_capture(std::optional<std::chrono::steady_clock::time_point> last_record);
    void cut_and_write(std::uint64_t hold_ns);
    void cut(std::uint64_t hold_ns);

    journey::Recording& rec_;
    kernel::Tracer& tracer_;
    capture::LoopbackCapture* capture_;
    Options options_;
    // Destinations whose route was asked (learn_routes).
    std::vector<std::string> routed_;
    // Streamed: what the sink gathered since the last add_batch(), and the
    // routes learnt meanwhile.
    std::vector<model::Event> batch_;
    std::vector<journey::Route> batch_routes_;
    // Set while the records are converted: correlates the batch once it
    // holds slice_events_.
    std::function<void()> slice_;
    std::size_t slice_events_;
    std::vector<model::Event> frames_left_;   // the capture's, in time order, from frames_from_
    std::size_t frames_from_ = 0;
    std::future<void> job_;           // the cut in progress, if any
    std::future<void> correlating_;   // once tracing has ended: the slice being correlated
    bool capture_stopped_ = false;
    std::uint64_t newest_frame_ns_ = 0;   // of the frames taken from the capture
    std::uint64_t batch_newest_ns_ = 0;   // of the events add_batch() last added
};

}  // namespace tpk::commands
