// A live capture on lo (or, for the two-hosts lab, on one veth end) for the journey: libpcap in its own thread until
// stop(), then the frames as model::Events on the kernel tracer's clock. The
// capture thread only copies bytes (FrameStore); the Events are built once
// the traced programs are done, so the thread that shares their CPUs stays
// cheap.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "capture/frame_store.h"
#include "capture/source.h"
#include "model/event.h"
#include "util/fd.h"
#include "util/result.h"

namespace tpk::capture {

// CLOCK_REALTIME minus CLOCK_MONOTONIC now, in ns (constant for the boot but
// for clock steps): libpcap stamps frames with the first, the kernel's events
// carry the second.
std::int64_t realtime_minus_monotonic_ns();

// One captured frame as the event the correlator reads, shifted onto
// CLOCK_MONOTONIC by realtime_minus_monotonic (good to a few µs, which is why
// the correlator matches frames by headers, never by time).
model::Event frame_event(const RawFrame& frame, int link_type,
                         std::int64_t realtime_minus_monotonic);

class LoopbackCapture {
public:
    // filter: a pcap-filter expression, empty for every frame.
    // immediate: a wake-up per frame (short lab runs, nothing to wait for at
    // the end). Otherwise frames wait in TPACKET_V3 blocks that the kernel
    // hands over when full or after the block timeout: far fewer wake-ups of
    // this thread while a traced program runs, and stop() waits one timeout
    // so the last block is handed over too.
    // interface: "lo" by default. On any other device both directions are
    // kept (a veth end sees each packet once, sent or received); the handle
    // is opened in the calling thread's network namespace, so a lab enters
    // its namespace around start() and the capture thread reads it from there.
    // snaplen: the bytes kept of each frame, 0 for all of them.
    static Result<std::unique_ptr<LoopbackCapture>> start(const std::string& filter,
                                                          bool immediate = true,
                                                          const std::string& interface = "lo",
                                                          int snaplen = 0);

    LoopbackCapture(const LoopbackCapture&) = delete;
    LoopbackCapture& operator=(const LoopbackCapture&) = delete;
    ~LoopbackCapture();

    // Drains what the ring holds, then ends the thread; the capture's error,
    // if it stopped on one. Without immediate mode a frame waits in its block
    // until the block timer retires it: stop() first waits for the frames of
    // traffic that ended at traffic_end (now, when not given).
    Status stop(std::optional<std::chrono::steady_clock::time_point> traffic_end = {});

    // The frames as model::Events, built only now; the store is emptied.
    std::vector<model::Event> take_frames();
    // The frames captured so far, while the capture goes on (a streamed trace).
    std::vector<model::Event> take_frames_so_far();
    // What the kernel dropped (pcap_stats), known after stop().
    std::uint64_t dropped() const { return dropped_; }

private:
    static constexpr int kBlockTimeoutMs = 100;

    explicit LoopbackCapture(Source s) : source_(std::move(s)) {}

    Source source_;
    UniqueFd stop_;
    FrameStore frames_;
    std::int64_t realtime_minus_monotonic_ = 0;
    std::thread thread_;
    Status status_;
    std::uint64_t dropped_ = 0;
    bool immediate_ = true;
};

}  // namespace tpk::capture
