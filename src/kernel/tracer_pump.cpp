#include "kernel/tracer_pump.h"

namespace tpk::kernel {

TracerPump::TracerPump(Tracer& tracer) : tracer_(tracer) {
    thread_ = std::thread([this] {
        auto sink = [this](model::Event&& e) { events_.push_back(std::move(e)); };
        while (!stop_.load()) {
            auto r = tracer_.poll(kPollMs, sink);
            if (!r) {
                error_ = r.error();
                break;
            }
        }
        (void)tracer_.finish(sink);   // the ring, staged hops, calls in flight
    });
}

TracerPump::~TracerPump() { (void)finish(); }

std::vector<model::Event> TracerPump::finish() {
    if (thread_.joinable()) {
        stop_.store(true);
        thread_.join();
    }
    return std::move(events_);
}

}  // namespace tpk::kernel
