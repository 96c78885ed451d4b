#include "kernel/tracer_pump.h"

namespace tpk::kernel {

TracerPump::TracerPump(Tracer& tracer, EventSink sink, CutPacing pacing,
                       std::function<void(CutPacer::Clock::time_point)> before_finish)
    : tracer_(tracer),
      sink_(std::move(sink)),
      pacing_(std::move(pacing)),
      before_finish_(std::move(before_finish)) {
    if (!sink_) sink_ = [this](model::Event&& e) { events_.push_back(std::move(e)); };
    thread_ = std::thread([this] {
        CutPacer pacer(pacing_, tracer_.records_arrived());
        while (!stop_.load()) {
            auto r = tracer_.poll(kPollMs, sink_);
            if (!r) {
                error_ = r.error();
                break;
            }
            pacer.saw(tracer_.records_arrived());
        }
        last_record_ = pacer.last_arrival();
        if (before_finish_) before_finish_(last_record_);
        (void)tracer_.finish(sink_);   // the ring, staged hops, calls in flight
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
