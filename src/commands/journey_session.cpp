#include "commands/journey_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "capture/source.h"
#include "kernel/session.h"
#include "kernel/tracer.h"
#include "lab/client.h"
#include "lab/pair.h"
#include "lab/server.h"
#include "lab/signals.h"
#include "model/event_io.h"
#include "netlink/route.h"

namespace tpk::commands {
namespace {

using journey::Process;
using journey::Role;

std::uint64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// ------------------------------------------------------------------ capture

// Frames from libpcap become model::Events on the tracer's clock. libpcap
// stamps CLOCK_REALTIME; the kernel events are CLOCK_MONOTONIC, so frames are
// shifted by the offset between the two taken at start (good to a few µs,
// which is why frames are matched by headers, never by time).
class FrameCollector : public capture::FrameSink {
public:
    FrameCollector(int link_type, std::int64_t realtime_minus_monotonic)
        : link_type_(link_type), offset_(realtime_minus_monotonic) {}

    Status on_frame(const capture::Frame& f) override {
        model::Event e;
        e.kind = model::EventKind::frame;
        std::int64_t real = f.sec * 1000000000ll + f.nsec;
        e.t_ns = static_cast<std::uint64_t>(real - offset_);
        e.link_type = link_type_;
        e.skb_len = f.wire_length;
        const auto* p = reinterpret_cast<const std::uint8_t*>(f.data.data());
        e.frame.assign(p, p + f.data.size());
        events.push_back(std::move(e));
        return {};
    }

    std::vector<model::Event> events;

private:
    int link_type_;
    std::int64_t offset_;
};

// A capture on lo in its own thread until stop().
class LoopbackCapture {
public:
    // immediate: a wake-up per frame (short lab runs, nothing to wait for at
    // the end). Otherwise frames wait in TPACKET_V3 blocks that the kernel
    // hands over when full or after the capture's 1 s block timeout: far fewer
    // wake-ups of this thread while a traced program runs, and stop() waits
    // one timeout so the last block is handed over too.
    static Result<std::unique_ptr<LoopbackCapture>> start(const std::string& filter,
                                                          bool immediate = true) {
        capture::LiveOptions opts;
        opts.interface = "lo";
        opts.immediate = immediate;
        opts.snaplen = 65535;
        opts.buffer_bytes = 32 << 20;  // long traces: the capture thread shares the CPUs
        auto source = capture::Source::open_live(opts);
        if (!source) return wrap(source.error(), "capture on lo");
        if (!filter.empty())
            if (auto ok = source->set_filter(filter); !ok) return ok.error();
        auto c = std::unique_ptr<LoopbackCapture>(new LoopbackCapture(std::move(*source)));
        c->immediate_ = immediate;
        c->stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
        if (!c->stop_) return errno_error("eventfd");
        std::int64_t offset = static_cast<std::int64_t>(clock_ns(CLOCK_REALTIME)) -
                              static_cast<std::int64_t>(clock_ns(CLOCK_MONOTONIC));
        c->collector_ = std::make_unique<FrameCollector>(c->source_.link_type(), offset);
        c->thread_ = std::thread([p = c.get()] {
            p->status_ = p->source_.run(*p->collector_, 0, p->stop_.get());
        });
        return c;
    }

    ~LoopbackCapture() { (void)stop(); }

    // Drains what the ring holds, then ends the thread.
    Status stop() {
        if (!thread_.joinable()) return status_;
        if (!immediate_) std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        std::uint64_t one = 1;
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
        if (auto st = source_.stats(); st) dropped_ = st->dropped_by_kernel;
        return status_;
    }

    std::vector<model::Event> take_frames() { return std::move(collector_->events); }
    std::uint64_t dropped() const { return dropped_; }

private:
    explicit LoopbackCapture(capture::Source s) : source_(std::move(s)) {}
    capture::Source source_;
    UniqueFd stop_;
    std::unique_ptr<FrameCollector> collector_;
    std::thread thread_;
    Status status_;
    std::uint64_t dropped_ = 0;
    bool immediate_ = true;
};

// ------------------------------------------------------------------ tracer

// Polls the tracer in its own thread while the lab runs (the pair blocks the
// calling thread), so a long run does not fill the ring buffer.
class TracerPump {
public:
    explicit TracerPump(kernel::Tracer& t) : tracer_(t) {
        thread_ = std::thread([this] {
            auto sink = [this](model::Event&& e) { events_.push_back(std::move(e)); };
            while (!stop_.load()) {
                auto r = tracer_.poll(50, sink);
                if (!r) {
                    error_ = r.error();
                    break;
                }
            }
            (void)tracer_.drain(sink);
        });
    }
    ~TracerPump() { finish(); }

    std::vector<model::Event> finish() {
        if (thread_.joinable()) {
            stop_.store(true);
            thread_.join();
        }
        return std::move(events_);
    }

private:
    kernel::Tracer& tracer_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<model::Event> events_;
    std::optional<Error> error_;
};

// ------------------------------------------------------------------ helpers

// A free port for the server, known before any process starts so the tracer
// can follow it from the first SYN (bind port 0, read it back, close).
Result<lab::Address> free_address(lab::Transport t) {
    if (lab::is_unix(t))
        return lab::parse_address(t, fmt::format("/tmp/tracepacket-journey-{}-{}.sock",
                                                  lab::transport_name(t), ::getpid()));
    auto any = lab::parse_address(t, "0");
    if (!any) return any.error();
    UniqueFd fd(::socket(lab::socket_family(t), lab::socket_type(t) | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    if (::bind(fd.get(), any->sa(), any->length) != 0) return errno_error("bind a free port");
    lab::Address a;
    a.length = sizeof a.storage;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
        return errno_error("getsockname");
    return a;
}

std::uint16_t port_of(const lab::Address& a) {
    if (a.family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(a.sa())->sin_port);
    if (a.family() == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_port);
    return 0;
}

netlink::IpAddress ip_of(const lab::Address& a) {
    if (a.family() == AF_INET)
        return netlink::IpAddress::from_bytes(
            AF_INET, &reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr);
    return netlink::IpAddress::from_bytes(
        AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr);
}

// The route decision, as `ip route get` would show it.
journey::Route route_to(const netlink::IpAddress& destination) {
    journey::Route r;
    r.destination = destination.to_string();
    netlink::RouteQuery q;
    q.destination = destination;
    auto d = netlink::get_route(q);
    if (!d) {
        r.notes.push_back("rtnetlink route get failed: " + d.error().message());
        return r;
    }
    r.has_answer = true;
    r.type = netlink::route_type_name(d->type);
    r.table = netlink::table_name(d->table);
    r.dev = d->device;
    if (d->source) r.source = d->source->to_string();
    if (d->gateway) r.gateway = d->gateway->to_string();
    r.notes.push_back(netlink::explain_route(*d));
    return r;
}

std::string capture_filter(lab::Transport t, std::uint16_t port) {
    bool tcp = lab::socket_type(t) == SOCK_STREAM;
    return fmt::format("{} port {}", tcp ? "tcp" : "udp", port);
}

// What is missing for the kernel side, as one sentence (EPERM from
// check_privileges names the capability).
std::optional<std::string> kernel_unavailable() {
    auto ok = kernel::probe_features();
    if (ok) return std::nullopt;
    return ok.error().message();
}

lab::ServerOptions server_options(const LabJourneyOptions& o, const lab::Address& addr) {
    lab::ServerOptions s;
    s.transport = o.transport;
    s.address = addr;
    s.reply = o.reply;
    s.echo = o.size > 0;   // generated payloads: answer with the same size
    s.count = o.count;
    s.log_messages = false;
    return s;
}

lab::ClientOptions client_options(const LabJourneyOptions& o, const lab::Address& addr) {
    lab::ClientOptions c;
    c.transport = o.transport;
    c.address = addr;
    c.message = o.message;
    c.size = o.size;
    c.count = o.count;
    c.log_messages = false;
    return c;
}

}  // namespace

Result<Recording> record_lab_journey(const LabJourneyOptions& o) {
    if (auto ok = lab::check_message_size(o.transport, o.size); !ok) return ok.error();
    Recording rec;
    rec.input.transport = std::string(lab::transport_name(o.transport));
    auto addr = free_address(o.transport);
    if (!addr) return addr.error();
    std::uint16_t port = port_of(*addr);
    rec.input.server_port = port;

    // The kernel side, if we may.
    std::optional<kernel::Tracer> tracer;
    if (auto missing = kernel_unavailable()) {
        rec.partial_reasons.push_back(*missing);
    } else {
        kernel::TracerOptions topts;
        if (o.ring_buffer_bytes) topts.ring_buffer_bytes = o.ring_buffer_bytes;
        if (port) {
            std::uint8_t proto = lab::socket_type(o.transport) == SOCK_STREAM ? IPPROTO_TCP
                                                                             : IPPROTO_UDP;
            topts.ports.push_back({proto, port});
        }
        auto t = kernel::Tracer::start(topts);
        if (!t) return wrap(t.error(), "start the kernel tracer");
        tracer.emplace(std::move(*t));
        rec.kernel_traced = true;
    }

    std::unique_ptr<LoopbackCapture> capture;
    if (o.capture && !lab::is_unix(o.transport)) {
        auto c = LoopbackCapture::start(capture_filter(o.transport, port));
        if (c) capture = std::move(*c);
        else rec.partial_reasons.push_back(c.error().message());
    }

    std::optional<TracerPump> pump;
    if (tracer) pump.emplace(*tracer);

    // Each child puts itself in the tracer's pid map (the map fd survives
    // fork) before its first system call, so socket/bind/listen are seen.
    kernel::Tracer* traced = tracer ? &*tracer : nullptr;
    auto follow_me = [traced]() -> Status {
        if (!traced) return {};
        return traced->add_pid(::getpid());
    };
    auto server_main = [&](const lab::ReadyCallback& ready) -> Result<int> {
        if (auto ok = follow_me(); !ok) return ok.error();
        auto stop = lab::SignalStop::open();
        if (!stop) return stop.error();
        lab::ServerEvents events;
        events.on_listening = ready;
        auto summary = lab::run_server(server_options(o, *addr), stop->fd(), events);
        if (!summary) return summary.error();
        return 0;
    };
    auto client_main = [&](const lab::Address& server) -> Result<int> {
        if (auto ok = follow_me(); !ok) return ok.error();
        auto summary = lab::run_client(client_options(o, server));
        if (!summary) return summary.error();
        return 0;
    };
    lab::PairHooks hooks;
    hooks.on_started = [&](const lab::PairPids& pids) {
        rec.input.processes.push_back(Process{static_cast<std::uint32_t>(pids.server),
                                              "tracepacket", Role::server});
        rec.input.processes.push_back(Process{static_cast<std::uint32_t>(pids.client),
                                              "tracepacket", Role::client});
    };
    auto code = lab::run_pair(server_main, client_main, hooks);

    if (pump) rec.input.events = pump->finish();
    if (tracer) {
        rec.input.lost_events = tracer->lost_events();
        tracer->stop();
    }
    if (capture) {
        if (auto ok = capture->stop(); !ok) rec.notes.push_back(ok.error().message());
        auto frames = capture->take_frames();
        rec.input.capture_dropped = capture->dropped();
        for (auto& f : frames) rec.input.events.push_back(std::move(f));
    }
    if (!code) return code.error();
    rec.exit_code = *code;
    if (!lab::is_unix(o.transport)) rec.input.routes.push_back(route_to(ip_of(*addr)));
    return rec;
}

Result<Recording> record_trace(const TraceTarget& target) {
    Recording rec;
    if (auto missing = kernel_unavailable()) {
        rec.partial_reasons.push_back(*missing);
        return make_error(*missing + "; `tracepacket trace` follows other programs only with "
                                     "the kernel side (run as root)",
                          EPERM);
    }
    // Busy programs make ~35 events per round trip; a large ring rides out
    // bursts while user space converts events (lost ones are counted).
    kernel::TracerOptions topts;
    topts.ring_buffer_bytes = std::size_t{64} << 20;
    auto tracer = kernel::Tracer::start(topts);
    if (!tracer) return wrap(tracer.error(), "start the kernel tracer");
    rec.kernel_traced = true;
    std::unique_ptr<LoopbackCapture> capture;
    if (target.capture) {
        auto c = LoopbackCapture::start("tcp or udp", /*immediate=*/false);
        if (c) capture = std::move(*c);
        else rec.partial_reasons.push_back(c.error().message());
    }

    kernel::SessionOptions so;
    so.command = target.command;
    so.pids = target.pids;
    so.ready_file = target.ready_file;
    auto sink = [&](model::Event&& e) { rec.input.events.push_back(std::move(e)); };
    auto result = kernel::run_session(*tracer, so, sink);
    rec.input.lost_events = tracer->lost_events();
    tracer->stop();
    if (capture) {
        (void)capture->stop();
        rec.input.capture_dropped = capture->dropped();
        for (auto& f : capture->take_frames()) rec.input.events.push_back(std::move(f));
    }
    if (!result) return result.error();
    rec.exit_code = result->exit_code;
    // Routes for every IP destination the traced programs talked to.
    std::vector<std::string> seen;
    for (const auto& e : rec.input.events) {
        if (e.kind != model::EventKind::inet_sock_set_state || e.new_state != 2) continue;
        netlink::IpAddress ip;
        ip.family = e.flow.dst.family;
        std::copy(e.flow.dst.addr.begin(), e.flow.dst.addr.end(), ip.bytes.begin());
        std::string text = ip.to_string();
        if (text.empty() || std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
        seen.push_back(text);
        rec.input.routes.push_back(route_to(ip));
    }
    return rec;
}

Status write_recording(const Recording& r, const std::string& path) {
    std::ofstream out(path);
    if (!out) return errno_error("open " + path);
    out << journey::recording_header(r.input);
    model::write_events(out, r.input.events);
    if (!out) return errno_error("write " + path);
    return {};
}

Result<Recording> read_recording(const std::string& path) {
    std::ifstream in(path);
    if (!in) return errno_error("open " + path);
    std::stringstream text;
    text << in.rdbuf();
    Recording r;
    journey::read_recording_header(text.str(), r.input);
    std::istringstream events(text.str());
    auto ev = model::read_events(events);
    if (!ev) return wrap(ev.error(), path);
    r.input.events = std::move(*ev);
    r.kernel_traced = true;
    return r;
}

}  // namespace tpk::commands
