#include "capture/loopback.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace tpk::capture {
namespace {

std::int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
}

}  // namespace

std::int64_t realtime_minus_monotonic_ns() {
    return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}

model::Event frame_event(const RawFrame& f, int link_type, std::int64_t realtime_minus_monotonic) {
    model::Event e;
    e.kind = model::EventKind::frame;
    const std::int64_t real = f.sec * 1000000000ll + f.nsec;
    e.t_ns = static_cast<std::uint64_t>(real - realtime_minus_monotonic);
    e.link_type = link_type;
    e.skb_len = f.wire_length;
    const auto* p = reinterpret_cast<const std::uint8_t*>(f.data.data());
    e.frame.assign(p, p + f.data.size());
    return e;
}

Result<std::unique_ptr<LoopbackCapture>> LoopbackCapture::start(const std::string& filter,
                                                                bool immediate,
                                                                const std::string& interface,
                                                                int snaplen) {
    LiveOptions opts;
    opts.interface = interface;
    opts.immediate = immediate;
    // A busy program fills a 256 KiB block (~1300 small frames) long
    // before the timeout; a quiet one wakes this thread at most 10 times
    // a second. The timeout is what stop() waits for: 0.1 s, not 1 s.
    opts.timeout_ms = kBlockTimeoutMs;
    // Whole frames: lo's MTU is 65536, plus the 14-byte Ethernet header.
    opts.snaplen = snaplen > 0 ? snaplen : 65536 + 14;
    opts.buffer_bytes = 32 << 20;  // long traces: the capture thread shares the CPUs
    // The sent copy of each packet would be cloned, filtered and copied
    // into the ring by the sender's system call, only for libpcap to drop
    // it: the received copy is the frame the journey keeps.
    // Elsewhere the sent copy is the only one this end sees.
    opts.ignore_outgoing = interface == "lo";
    auto source = Source::open_live(opts);
    if (!source) return wrap(source.error(), "capture on " + interface);
    if (!filter.empty())
        if (auto ok = source->set_filter(filter); !ok) return ok.error();
    auto c = std::unique_ptr<LoopbackCapture>(new LoopbackCapture(std::move(*source)));
    c->immediate_ = immediate;
    c->stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
    if (!c->stop_) return errno_error("eventfd");
    c->realtime_minus_monotonic_ = realtime_minus_monotonic_ns();
    c->thread_ = std::thread([p = c.get()] {
        p->status_ = p->source_.run(p->frames_, 0, p->stop_.get());
    });
    return c;
}

LoopbackCapture::~LoopbackCapture() { (void)stop(); }

Status LoopbackCapture::stop(std::optional<std::chrono::steady_clock::time_point> traffic_end) {
    if (!thread_.joinable()) return status_;
    // The block timer is jiffies-based: it may fire a few ticks late.
    if (!immediate_)
        std::this_thread::sleep_until(traffic_end.value_or(std::chrono::steady_clock::now()) +
                                      std::chrono::milliseconds(kBlockTimeoutMs + 150));
    std::uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
    if (auto st = source_.stats(); st) dropped_ = st->dropped_by_kernel;
    return status_;
}

std::vector<model::Event> LoopbackCapture::take_frames() { return take_frames_so_far(); }

std::vector<model::Event> LoopbackCapture::take_frames_so_far() {
    std::vector<model::Event> events;
    frames_.take([&](const RawFrame& f) {
        events.push_back(frame_event(f, source_.link_type(), realtime_minus_monotonic_));
    });
    return events;
}

}  // namespace tpk::capture
