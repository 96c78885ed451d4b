#include "commands/stream_feeder.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "commands/journey_session.h"
#include "netlink/ip_address.h"

namespace tpk::commands {
namespace {

// A streamed trace whose traffic never pauses is cut every second too, of
// what is older than 250 ms: the newer part waits, its frames (the capture
// hands them over every 100 ms) and its last hops may still be on their way.
constexpr std::uint64_t kBusyCutMs = 1000;
constexpr std::uint64_t kBusyHoldNs = 250'000'000;

}  // namespace

StreamFeeder::StreamFeeder(journey::Recording& rec, kernel::Tracer& tracer,
                           capture::LoopbackCapture* capture, Options options)
    : rec_(rec),
      tracer_(tracer),
      capture_(capture),
      options_(std::move(options)),
      slice_events_(options_.finish_slice_events) {
    if (options_.on_chunk) {
        journey::CorrelatorInput setup;
        setup.processes = rec_.input.processes;
        setup.transport = rec_.input.transport;
        setup.server_port = rec_.input.server_port;
        rec_.stream = std::make_shared<journey::JourneyStream>(std::move(setup));
        // What the caller asked rtnetlink before (the lab's one route).
        for (const auto& r : rec_.input.routes) rec_.stream->add_route(r);
    }
}

StreamFeeder::~StreamFeeder() {
    slice_ = nullptr;
    if (correlating_.valid()) correlating_.wait();
    if (job_.valid()) job_.wait();
}

void StreamFeeder::take(model::Event&& e) {
    if (options_.learn_routes && e.kind == model::EventKind::inet_sock_set_state &&
        e.new_state == 2) {
        netlink::IpAddress ip;
        ip.family = e.flow.dst.family;
        std::copy(e.flow.dst.addr.begin(), e.flow.dst.addr.end(), ip.bytes.begin());
        std::string text = ip.to_string();
        if (!text.empty() && std::find(routed_.begin(), routed_.end(), text) == routed_.end()) {
            routed_.push_back(text);
            rec_.input.routes.push_back(route_to(ip));
            if (rec_.stream) batch_routes_.push_back(rec_.input.routes.back());
        }
    }
    if (!rec_.stream) {
        rec_.input.events.push_back(std::move(e));
        return;
    }
    batch_.push_back(std::move(e));
    if (slice_ && batch_.size() >= slice_events_) slice_();
}

// The batch, the frames up to its newest event (or all) and the routes,
// into the stream.
void StreamFeeder::add_batch(bool all_frames) {
    std::uint64_t newest = 0;
    for (const auto& e : batch_) newest = std::max(newest, e.t_ns);
    batch_newest_ns_ = newest;
    for (; frames_from_ < frames_left_.size() &&
           (all_frames || frames_left_[frames_from_].t_ns <= newest);
         ++frames_from_)
        batch_.push_back(std::move(frames_left_[frames_from_]));
    if (frames_from_ == frames_left_.size()) {
        frames_left_.clear();
        frames_from_ = 0;
    }
    for (auto& r : batch_routes_) rec_.stream->add_route(std::move(r));
    batch_routes_.clear();
    rec_.stream->add(std::move(batch_));
    batch_.clear();
}

void StreamFeeder::take_frames() {
    if (capture_)
        for (auto& f : capture_->take_frames_so_far()) {
            newest_frame_ns_ = std::max(newest_frame_ns_, f.t_ns);
            frames_left_.push_back(std::move(f));
        }
}

std::uint64_t StreamFeeder::frame_hold(std::uint64_t hold_ns) const {
    // The capture hands its frames over in blocks (every 100 ms, later when
    // its thread waits for a CPU): a cut of records newer than the newest
    // frame taken would show their packets without the frames that are on
    // their way. Bounded: traffic the capture does not see (UNIX sockets)
    // brings no frame at all.
    constexpr std::uint64_t kMaxFrameLagNs = 1'000'000'000;
    if (!capture_ || capture_stopped_ || batch_newest_ns_ <= newest_frame_ns_) return hold_ns;
    return std::max(hold_ns, std::min(batch_newest_ns_ - newest_frame_ns_ + hold_ns, kMaxFrameLagNs));
}

// Correlates what the stream holds; the chunk is explained and written on a
// thread of its own while the caller goes on (cut_and_hand). The last one
// may still be written once the run's recording is over, while the caller
// correlates the rest: it takes rec's stamp as it is now and the caller's
// on_chunk, nothing of this feeder. (The stream's destructor waits for it.)
void StreamFeeder::cut_and_write(std::uint64_t hold_ns) {
    rec_.stream->cut_and_hand(
        false, hold_ns,
        [stamp = stamp_of(rec_), on_chunk = options_.on_chunk](journey::Journey&& chunk) {
            stamp_journey(chunk, stamp);
            on_chunk(chunk);
        });
}

// Hands what came since the last cut to a new cut job, once the one before
// has ended. The job (converting the held records, correlating) runs at the
// lowest priority, the only one that touches the stream, the sink and its
// batch meanwhile, so that the ring is read on.
void StreamFeeder::cut(std::uint64_t hold_ns) {
    if (job_.valid()) job_.get();
    const std::uint64_t records = tracer_.records_held();
    auto held = tracer_.take_held();
    job_ = std::async(std::launch::async, [this, held, hold_ns, records]() mutable {
        // Lowest priority (nice 19, this thread only): the ring's reader and
        // the traced programs come first, yet a busy machine still leaves it
        // a share (SCHED_IDLE would leave none).
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
        // Here, not on the ring's reader: a busy second's frames take a third
        // of a second to convert, and a reader away that long let the ring
        // overflow.
        take_frames();
        // What comes after a slice is here already: only its last 20 ms
        // wait, not the live cut's hold. A slice is written while the next
        // is converted and correlated: when the traffic ends, the job still
        // running has both CPUs.
        slice_ = [this, records] {
            add_batch(false);
            cut_and_write(frame_hold(journey::JourneyStream::kFinishHoldNs));
            reserve_batch(records);
        };
        reserve_batch(records);
        tracer_.deliver_records(*held, sink());
        slice_ = nullptr;
        held.reset();
        // Frames after the newest event wait for the next cut, with the hops
        // they belong to.
        add_batch(false);
        cut_and_write(frame_hold(hold_ns));
    });
}

kernel::CutPacing StreamFeeder::pacing() {
    kernel::CutPacing p;
    if (!rec_.stream) return p;
    // Nothing arrives while it is quiet: waiting for the job before costs nothing.
    p.quiet_ms = options_.quiet_ms;
    p.on_quiet = [this] { cut(0); };
    // While it is busy, a job still running (it has the lowest priority: the
    // traffic left no CPU to it) is not waited for; its chunk grows.
    p.busy_ms = kBusyCutMs;
    p.on_busy = [this] {
        if (!job_.valid() || job_.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
            cut(kBusyHoldNs);
    };
    return p;
}

void StreamFeeder::before_finish(std::chrono::steady_clock::time_point last_record) {
    // The sink's batch is the job's while it runs.
    if (job_.valid()) job_.get();
    stop_capture(last_record);
    // finish() delivers every record still held, each one event or (a
    // packet's or a call's record) several: room for one per record first
    // (streamed: reserve_batch), so that the vector's doubling starts there.
    const auto held = tracer_.records_held();
    if (!rec_.stream) {
        rec_.input.events.reserve(rec_.input.events.size() + held);
        return;
    }
    // The traffic is over: three stages on the two CPUs. This thread converts
    // the next slice while the one before is correlated on a thread of its
    // own, and the one before that explained and written on another
    // (cut_and_hand). The first slice is a fifth of the others: nothing else
    // runs while it is converted.
    slice_events_ = std::max<std::size_t>(1, options_.finish_slice_events / 5);
    reserve_batch(held);
    slice_ = [this, held] {
        slice_events_ = options_.finish_slice_events;
        take_frames();
        if (correlating_.valid()) correlating_.get();
        add_batch(false);
        correlating_ = std::async(std::launch::async, [this] {
            cut_and_write(journey::JourneyStream::kFinishHoldNs);
        });
        reserve_batch(held);
    };
}

void StreamFeeder::reserve_batch(std::uint64_t records) {
    // A record gives one event or (a packet's or a call's) several, ~4 on
    // average and rarely more than 8; a slice is cut at slice_events_, and
    // its frames are added after its events. Grown by doubling instead, a
    // batch of hundreds of MB was copied, and fresh pages faulted in, each
    // time (5% of a busy trace's samples); reserved pages that stay unused
    // are never touched.
    const std::uint64_t events = std::min<std::uint64_t>(records * 8, slice_events_);
    batch_.reserve(batch_.size() + static_cast<std::size_t>(events + events / 8));
}

void StreamFeeder::stop_capture(std::optional<std::chrono::steady_clock::time_point> last_record) {
    if (!capture_ || capture_stopped_) return;
    capture_stopped_ = true;
    if (auto ok = capture_->stop(last_record); !ok) rec_.notes.push_back(ok.error().message());
    rec_.input.capture_dropped = capture_->dropped();
}

void StreamFeeder::end(std::optional<std::chrono::steady_clock::time_point> last_record) {
    slice_ = nullptr;
    if (correlating_.valid()) correlating_.get();
    if (job_.valid()) job_.get();
    stop_capture(last_record);
    if (capture_)
        for (auto& f : capture_->take_frames()) take(std::move(f));
    if (!rec_.stream) return;
    add_batch(/*all_frames=*/true);
    // A run that never went quiet is one journey, correlated whole.
    if (rec_.stream->chunks() == 0) {
        rec_.input.events = rec_.stream->take_pending();
        rec_.stream.reset();
    }
}

}  // namespace tpk::commands
