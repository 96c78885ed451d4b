// Reads a started Tracer's ring buffer in its own thread, for callers whose
// own thread is busy meanwhile (the journey's lab pair blocks it until both
// children exit): a long run then does not fill the ring buffer. finish()
// ends the thread with Tracer::finish(), so the events come back whole: the
// ring, the staged hops and the calls still in flight.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "kernel/session.h"
#include "kernel/tracer.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::kernel {

class TracerPump {
public:
    // Starts polling at once; tracer must outlive the pump. Events go to
    // sink, on the pump's thread, or without one are kept for finish().
    // pacing: cuts a streamed journey while it runs (as run_session does),
    // on the pump's thread; before_finish runs there before Tracer::finish,
    // told when the last record came.
    explicit TracerPump(Tracer& tracer, EventSink sink = {}, CutPacing pacing = {},
                        std::function<void(CutPacer::Clock::time_point)> before_finish = {});
    TracerPump(const TracerPump&) = delete;
    TracerPump& operator=(const TracerPump&) = delete;
    ~TracerPump();

    // Stops the thread (after Tracer::finish) and hands over every event
    // read, in the order read (once: a second call has nothing to give;
    // with a sink, nothing).
    std::vector<model::Event> finish();

    // Why the reader stopped early, if it did (the events after it are missing).
    const std::optional<Error>& error() const { return error_; }
    // When the last record came: the traffic ended no later.
    CutPacer::Clock::time_point last_record() const { return last_record_; }

private:
    static constexpr int kPollMs = 50;

    Tracer& tracer_;
    EventSink sink_;
    CutPacing pacing_;
    std::function<void(CutPacer::Clock::time_point)> before_finish_;
    std::atomic<bool> stop_{false};
    std::vector<model::Event> events_;
    std::optional<Error> error_;
    CutPacer::Clock::time_point last_record_{};
    std::thread thread_;  // joined by finish(), which the destructor calls
};

}  // namespace tpk::kernel
