// Reads a started Tracer's ring buffer in its own thread, for callers whose
// own thread is busy meanwhile (the journey's lab pair blocks it until both
// children exit): a long run then does not fill the ring buffer. finish()
// ends the thread with Tracer::finish(), so the events come back whole: the
// ring, the staged hops and the calls still in flight.
#pragma once

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "kernel/tracer.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::kernel {

class TracerPump {
public:
    // Starts polling at once; tracer must outlive the pump.
    explicit TracerPump(Tracer& tracer);
    TracerPump(const TracerPump&) = delete;
    TracerPump& operator=(const TracerPump&) = delete;
    ~TracerPump();

    // Stops the thread (after Tracer::finish) and hands over every event
    // read, in the order read (once: a second call has nothing to give).
    std::vector<model::Event> finish();

    // Why the reader stopped early, if it did (the events after it are missing).
    const std::optional<Error>& error() const { return error_; }

private:
    static constexpr int kPollMs = 50;

    Tracer& tracer_;
    std::atomic<bool> stop_{false};
    std::vector<model::Event> events_;
    std::optional<Error> error_;
    std::thread thread_;  // joined by finish(), which the destructor calls
};

}  // namespace tpk::kernel
