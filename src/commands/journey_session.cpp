#include "commands/journey_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <future>

#include <fmt/format.h>

#include "capture/loopback.h"
#include "journey/explain.h"
#include "journey/recording.h"
#include "kernel/session.h"
#include "kernel/tracer.h"
#include "kernel/tracer_pump.h"
#include "lab/call_log.h"
#include "lab/client.h"
#include "lab/pair.h"
#include "lab/ns_command.h"
#include "lab/server.h"
#include "lab/signals.h"
#include "commands/stream_feeder.h"
#include "commands/two_hosts_lab.h"
#include "netlink/route.h"
#include "netlink/socket_events.h"

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

// A recording stamped with this boot's clock offset (the pcapng's wall-clock
// times).
Recording new_recording() {
    Recording r;
    r.realtime_offset_ns = capture::realtime_minus_monotonic_ns();
    return r;
}

std::string capture_filter(lab::Transport t, std::uint16_t port) {
    bool tcp = lab::socket_type(t) == SOCK_STREAM;
    return fmt::format("{} port {}", tcp ? "tcp" : "udp", port);
}

// What the tracer's kernel gives, as the journey says it.
journey::KernelView kernel_view(const kernel::KernelSupport& k) {
    journey::KernelView v;
    v.release = k.release;
    v.bpf_object = std::string(kernel::bpf_object_name(k.object));
    for (const auto& h : k.hops) {
        if (!h.missing.empty()) v.gaps.push_back({h.hop, h.missing, true});
        else if (!h.limits.empty()) v.gaps.push_back({h.hop, h.limits, false});
        if (h.fallback) v.fallbacks.push_back(h.hop + " from " + h.source);
    }
    return v;
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

// ------------------------------------------------------------------ user space

// What sock_diag shows of the conversation's sockets right now, into the
// client's call log.
void snapshot_sockets(lab::CallLog& log, const LabJourneyOptions& o, const lab::Address& server,
                      int own_fd) {
    netlink::Conversation c;
    c.sockets.tcp = lab::socket_type(o.transport) == SOCK_STREAM && !lab::is_unix(o.transport);
    c.sockets.udp = lab::socket_type(o.transport) == SOCK_DGRAM && !lab::is_unix(o.transport);
    c.sockets.unix_sockets = lab::is_unix(o.transport);
    c.server_port = port_of(server);
    c.server_path = server.unix_path();
    c.client_fd = own_fd;
    auto events = netlink::conversation_snapshots(c);
    if (!events) return;  // the journey goes on without socket states
    for (const auto& e : *events) log.write_event(e);
}

// The lab pair without the kernel side: the run's user-space timings and a
// sock_diag snapshot right after connect(), marked partial by the caller.
Status run_untraced_pair(const LabJourneyOptions& o, const lab::Address& addr, Recording& rec,
                         const std::function<void()>& on_started) {
    auto server_log = lab::CallLog::create("tpk-server-log");
    if (!server_log) return server_log.error();
    auto client_log = lab::CallLog::create("tpk-client-log");
    if (!client_log) return client_log.error();
    auto server_main = [&](const lab::ReadyCallback& ready) -> Result<int> {
        server_log->record_calls();
        auto stop = lab::SignalStop::open();
        if (!stop) return stop.error();
        lab::ServerEvents events;
        events.on_listening = ready;
        auto summary = lab::run_server(server_options(o, addr), stop->fd(), events);
        if (!summary) return summary.error();
        return 0;
    };
    auto client_main = [&](const lab::Address& server) -> Result<int> {
        client_log->record_calls([&](const lab::TimedCall& c) {
            // Right after connect: the listener, and both ends of the new connection.
            if (std::string_view(c.name) == "connect" && c.ret == 0)
                snapshot_sockets(*client_log, o, server, c.fd);
        });
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
        on_started();
        return Status{};
    };
    auto code = lab::run_pair(server_main, client_main, hooks);
    if (!addr.unix_path().empty()) ::unlink(addr.unix_path().c_str());
    if (!code) return code.error();
    rec.exit_code = *code;
    // A log that does not read back loses its side's calls, not the run.
    for (const auto* log : {&*server_log, &*client_log})
        if (auto events = log->read_events(); events)
            for (auto& e : *events) rec.input.events.push_back(std::move(e));
    rec.notes.push_back(
        "system call times were measured in user space (clock_gettime around each call), "
        "socket states are one sock_diag snapshot right after connect()");
    return {};
}

// The tracer for a lab pair whose server has `port`, or nullopt with the
// reason in rec.partial_reasons.
std::optional<kernel::Tracer> start_lab_tracer(const LabJourneyOptions& o, std::uint16_t port,
                                               Recording& rec) {
    if (auto missing = kernel_unavailable()) {
        rec.partial_reasons.push_back(*missing);
        return std::nullopt;
    }
    kernel::TracerOptions topts;
    topts.ring_buffer_bytes = o.ring_buffer_bytes ? o.ring_buffer_bytes : std::size_t{32} << 20;
    // The reader only copies records while the lab runs; converting each as
    // it came lost 40% of a 20,000-message run's events to a full ring.
    topts.hold_records = true;
    topts.max_held_records = o.max_held_records;
    if (port) {
        std::uint8_t proto = lab::socket_type(o.transport) == SOCK_STREAM ? IPPROTO_TCP
                                                                         : IPPROTO_UDP;
        topts.ports.push_back({proto, port});
    }
    auto t = kernel::Tracer::start(topts);
    if (!t) {
        // What the unprivileged run shows, with the reason: never a bare error.
        rec.partial_reasons.push_back("the kernel side could not start: " + t.error().message());
        return std::nullopt;
    }
    rec.kernel = kernel_view(t->kernel_support());
    rec.kernel_traced = true;
    return std::optional<kernel::Tracer>(std::move(*t));
}

lab::ServerMain traced_server_main(const LabJourneyOptions& o, const lab::Address& addr) {
    return [&o, addr](const lab::ReadyCallback& ready) -> Result<int> {
        auto stop = lab::SignalStop::open();
        if (!stop) return stop.error();
        lab::ServerEvents events;
        events.on_listening = ready;
        auto summary = lab::run_server(server_options(o, addr), stop->fd(), events);
        if (!summary) return summary.error();
        return 0;
    };
}

lab::ClientMain traced_client_main(const LabJourneyOptions& o) {
    return [&o](const lab::Address& server) -> Result<int> {
        auto summary = lab::run_client(client_options(o, server));
        if (!summary) return summary.error();
        return 0;
    };
}

// What the kernel side lost, while its programs are still loaded: events
// that found the ring full (counted), and hops whose program the kernel did
// not run (its recursion guard), which nothing else would show.
void note_kernel_losses(Recording& rec, const kernel::Tracer& tracer) {
    rec.input.lost_events = tracer.lost_events();
    if (auto skipped = tracer.skipped_runs())
        rec.notes.push_back(fmt::format(
            "the kernel skipped {} hop(s): a traced tracepoint fired again on a CPU where its "
            "program was still running (an interrupt's softirq), and the kernel does not run a "
            "BPF program twice at once; those packets miss the hops",
            skipped));
}

// The lab pair's exit status, or its error.
Status lab_exit(Recording& rec, const Result<int>& code) {
    if (!code) return code.error();
    rec.exit_code = *code;
    if (*code != 0)
        rec.notes.push_back(fmt::format("the lab ended early (exit status {}): this is the journey "
                                        "up to that point", *code));
    return {};
}

// The pair's end: the kernel's events, the capture's frames (each through
// keep_frame, which may take it elsewhere), the exit status.
Status collect_traced_pair(Recording& rec, const Result<int>& code,
                           std::optional<kernel::TracerPump>& pump, kernel::Tracer& tracer,
                           std::unique_ptr<capture::LoopbackCapture>& capture,
                           const std::function<bool(model::Event&)>& keep_frame = {}) {
    if (pump) {
        rec.input.events = pump->finish();
        if (pump->error())
            rec.notes.push_back("reading the kernel's events stopped early, later hops are "
                                "missing: " + pump->error()->message());
    }
    note_kernel_losses(rec, tracer);
    tracer.stop();
    if (capture) {
        if (auto ok = capture->stop(); !ok) rec.notes.push_back(ok.error().message());
        auto frames = capture->take_frames();
        rec.input.capture_dropped = capture->dropped();
        for (auto& f : frames)
            if (!keep_frame || keep_frame(f)) rec.input.events.push_back(std::move(f));
    }
    return lab_exit(rec, code);
}

void add_lab_processes(Recording& rec, const lab::PairPids& pids) {
    rec.input.processes.push_back(Process{static_cast<std::uint32_t>(pids.server),
                                          "tracepacket", Role::server});
    rec.input.processes.push_back(Process{static_cast<std::uint32_t>(pids.client),
                                          "tracepacket", Role::client});
}

}  // namespace

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

// Up to this many messages a lab run is short: one journey at the end,
// never cut, and the capture hands each frame over at once (nothing to wait
// for at the end).
constexpr std::uint64_t kShortRunCount = 1000;

Result<Recording> record_lab_journey(const LabJourneyOptions& o) {
    if (auto ok = lab::check_message_size(o.transport, o.size); !ok) return ok.error();
    Recording rec = new_recording();
    rec.input.transport = std::string(lab::transport_name(o.transport));
    auto addr = free_address(o.transport);
    if (!addr) return addr.error();
    std::uint16_t port = port_of(*addr);
    rec.input.server_port = port;

    // The kernel side, if we may.
    std::optional<kernel::Tracer> tracer = start_lab_tracer(o, port, rec);

    // The capture and the ring-buffer reader are threads: they start once the
    // lab's children exist (run_pair's on_started), never before a fork. A
    // long run's frames wait in the kernel's blocks (a wake-up per frame
    // dropped frames at 20,000 messages).
    std::unique_ptr<capture::LoopbackCapture> capture;
    auto start_capture = [&] {
        if (!o.capture || lab::is_unix(o.transport)) return;
        auto c = capture::LoopbackCapture::start(capture_filter(o.transport, port),
                                                 /*immediate=*/o.count <= kShortRunCount);
        if (c) capture = std::move(*c);
        else rec.partial_reasons.push_back(c.error().message());
    };

    if (!tracer) {
        if (auto ok = run_untraced_pair(o, *addr, rec, start_capture); !ok) return ok.error();
        if (capture) {
            (void)capture->stop();
            rec.input.capture_dropped = capture->dropped();
            for (auto& f : capture->take_frames()) rec.input.events.push_back(std::move(f));
        }
        if (!lab::is_unix(o.transport)) rec.input.routes.push_back(route_to(ip_of(*addr)));
        return rec;
    }

    // The route first: a streamed journey's chunks attach their lookups to it.
    if (!lab::is_unix(o.transport)) rec.input.routes.push_back(route_to(ip_of(*addr)));
    // The children wait until their pids are in the tracer's map, so their
    // first system call (socket) is already seen. The pump reads the ring
    // meanwhile, and cuts a streamed journey as trace's session does.
    std::optional<StreamFeeder> feeder;
    std::optional<kernel::TracerPump> pump;
    lab::PairHooks hooks;
    hooks.on_started = [&](const lab::PairPids& pids) -> Status {
        for (int pid : {pids.server, pids.client})
            if (auto ok = tracer->add_pid(pid); !ok) return wrap(ok.error(), "follow the lab");
        add_lab_processes(rec, pids);
        start_capture();
        // The lab's traffic pauses only when it ends: a long run is cut
        // every second, never on quiet.
        StreamFeeder::Options fo;
        if (o.count > kShortRunCount) fo.on_chunk = o.on_chunk;
        fo.quiet_ms = 0;
        fo.finish_slice_events = o.finish_slice_events;
        feeder.emplace(rec, *tracer, capture.get(), fo);
        pump.emplace(*tracer, feeder->sink(), feeder->pacing(),
                     [&](auto last_record) { feeder->before_finish(last_record); });
        return {};
    };
    auto code = lab::run_pair(traced_server_main(o, *addr), traced_client_main(o), hooks);
    std::optional<std::chrono::steady_clock::time_point> last_record;
    if (pump) {
        (void)pump->finish();
        last_record = pump->last_record();
        if (pump->error())
            rec.notes.push_back("reading the kernel's events stopped early, later hops are "
                                "missing: " + pump->error()->message());
    }
    note_kernel_losses(rec, *tracer);
    if (auto dropped = tracer->records_dropped())
        rec.notes.push_back(fmt::format(
            "{} kernel records were dropped: {} were already waiting to be correlated; packets "
            "from then on may miss hops or be missing",
            dropped, o.max_held_records));
    if (feeder) feeder->end(last_record);
    else if (capture) (void)capture->stop();
    tracer->stop();
    if (auto ok = lab_exit(rec, code); !ok) return ok.error();
    return rec;
}

namespace {

// The server's port in its namespace, free before any lab process starts.
Result<lab::Address> free_address_in(const lab::NetNamespace& ns, lab::Transport t,
                                     const char* ip) {
    Result<lab::Address> out = make_error("no address");
    Status ok = run_inside(ns, [&]() -> Status {
        auto any = lab::parse_address(t, fmt::format("{}:0", ip));
        if (!any) return any.error();
        UniqueFd fd(::socket(AF_INET, lab::socket_type(t) | SOCK_CLOEXEC, 0));
        if (!fd) return errno_error("socket");
        if (::bind(fd.get(), any->sa(), any->length) != 0) return errno_error("bind a free port");
        lab::Address a;
        a.length = sizeof a.storage;
        if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
            return errno_error("getsockname");
        out = a;
        return {};
    });
    if (!ok) return ok.error();
    return out;
}

bool is_arp(const model::Event& frame) {
    // Ethernet (DLT_EN10MB, as a veth end gives): EtherType 0x0806 at offset 12.
    return frame.link_type == 1 && frame.frame.size() >= 14 && frame.frame[12] == 0x08 &&
           frame.frame[13] == 0x06;
}

}  // namespace

Result<TwoHostsRecording> record_two_hosts_journey(const LabJourneyOptions& o,
                                                   const TwoHostsOptions& two) {
    if (o.transport != lab::Transport::tcp && o.transport != lab::Transport::udp)
        return make_error("--two-hosts runs tcp or udp (IPv4 across the veth pair), not " +
                          std::string(lab::transport_name(o.transport)));
    if (auto ok = lab::check_message_size(o.transport, o.size); !ok) return ok.error();
    if (auto missing = kernel_unavailable())
        return make_error("--two-hosts follows the packets across two network namespaces and "
                          "needs the kernel side: " + *missing, EPERM);
    auto hosts = build_two_hosts();
    if (!hosts) return hosts.error();
    

    TwoHostsRecording out;
    Recording& rec = out.recording;
    TwoHostsFacts& facts = out.facts;
    rec = new_recording();
    rec.input.transport = std::string(lab::transport_name(o.transport));
    facts.client_address = TwoHosts::kClientAddress;
    facts.server_address = TwoHosts::kServerAddress;
    facts.client_device = TwoHosts::kClientDevice;
    facts.server_device = TwoHosts::kServerDevice;
    facts.client_netns = hosts->client.inode();
    facts.server_netns = hosts->server.inode();
    (void)run_inside(hosts->client, [&]() -> Status {
        if (auto m = link_mtu(TwoHosts::kClientDevice)) facts.client_mtu = *m;
        return {};
    });
    (void)run_inside(hosts->server, [&]() -> Status {
        if (auto m = link_mtu(TwoHosts::kServerDevice)) facts.server_mtu = *m;
        return {};
    });
    auto addr = free_address_in(hosts->server, o.transport, TwoHosts::kServerAddress);
    if (!addr) return addr.error();
    std::uint16_t port = port_of(*addr);
    rec.input.server_port = port;

    // Forked before any thread of ours exists (lab/ns_command.h).
    std::unique_ptr<lab::NsCommand> watch_client, watch_server;
    for (auto [command, ns, slot] :
         {std::tuple{&two.watch_client, &hosts->client, &watch_client},
          std::tuple{&two.watch_server, &hosts->server, &watch_server}}) {
        if (command->empty()) continue;
        auto c = lab::NsCommand::start(*ns, *command, std::chrono::seconds(5));
        if (!c) return c.error();
        *slot = std::move(*c);
    }

    std::optional<kernel::Tracer> tracer = start_lab_tracer(o, port, rec);
    if (!tracer) return make_error("--two-hosts: " + rec.partial_reasons.back(), EPERM);

    std::unique_ptr<capture::LoopbackCapture> capture;
    std::optional<kernel::TracerPump> pump;
    lab::PairHooks hooks;
    hooks.on_started = [&](const lab::PairPids& pids) -> Status {
        // The children are still in this namespace (they enter theirs when
        // released): the tracer learns the lab's namespaces from their first
        // sockets (bpf/traced.bpf.h, learn_netns).
        for (int pid : {pids.server, pids.client})
            if (auto ok = tracer->add_pid(pid); !ok) return wrap(ok.error(), "follow the lab");
        add_lab_processes(rec, pids);
        facts.server_pid = static_cast<std::uint32_t>(pids.server);
        facts.client_pid = static_cast<std::uint32_t>(pids.client);
        if (o.capture) {
            // libpcap's socket belongs to the namespace it was opened in:
            // the client's, where its veth end is; the thread reads it from here.
            Status ok = run_inside(hosts->client, [&]() -> Status {
                auto c = capture::LoopbackCapture::start(
                    capture_filter(o.transport, port) + " or arp", true, TwoHosts::kClientDevice);
                if (!c) return c.error();
                capture = std::move(*c);
                return {};
            });
            if (!ok) rec.partial_reasons.push_back(ok.error().message());
        }
        pump.emplace(*tracer);
        return {};
    };
    const lab::NetNamespace& server_ns = hosts->server;
    const lab::NetNamespace& client_ns = hosts->client;
    auto server_main = [&, inner = traced_server_main(o, *addr)](const lab::ReadyCallback& ready)
        -> Result<int> {
        // For good: this child never leaves the server's namespace.
        auto inside = server_ns.enter();
        if (!inside) return inside.error();
        return inner(ready);
    };
    auto client_main = [&, inner = traced_client_main(o)](const lab::Address& server) -> Result<int> {
        auto inside = client_ns.enter();
        if (!inside) return inside.error();
        return inner(server);
    };
    auto code = lab::run_pair(server_main, client_main, hooks);
    auto keep = [&](model::Event& f) {
        if (!is_arp(f)) return true;
        facts.arp.push_back(std::move(f));
        return false;
    };
    if (auto ok = collect_traced_pair(rec, code, pump, *tracer, capture, keep); !ok) return ok.error();
    if (watch_client) watch_client->stop();
    if (watch_server) watch_server->stop();
    // The route decision as the client's host makes it.
    (void)run_inside(hosts->client, [&]() -> Status {
        rec.input.routes.push_back(route_to(ip_of(*addr)));
        return {};
    });
    rec.notes.push_back(fmt::format(
        "two hosts: client {} ({}, network namespace net:[{}]) and server {} ({}, net:[{}]), "
        "joined by a veth pair; both namespaces and the link are gone when this command ends",
        facts.client_address, facts.client_device, facts.client_netns, facts.server_address,
        facts.server_device, facts.server_netns));
    return out;
}

namespace {

// Without the kernel side, what sock_diag and rtnetlink still say about the
// sockets of running processes: one snapshot each, and their routes.
Recording snapshot_of_pids(const std::vector<pid_t>& pids, std::string missing) {
    Recording rec = new_recording();
    rec.partial_reasons.push_back(std::move(missing));
    auto sockets = netlink::sockets_of_pids(pids);
    if (!sockets) {
        rec.partial_reasons.push_back("sock_diag: " + sockets.error().message());
        return rec;
    }
    const std::uint64_t now = clock_ns(CLOCK_MONOTONIC);
    std::vector<std::string> routed;
    for (const auto& s : *sockets) {
        rec.input.events.push_back(netlink::snapshot_event(s, now));
        if (netlink::is_unix(s.kind)) continue;
        std::string peer = s.peer.address.to_string();
        if (s.peer.port && !s.peer.address.is_unspecified() &&
            std::find(routed.begin(), routed.end(), peer) == routed.end()) {
            routed.push_back(peer);
            rec.input.routes.push_back(route_to(s.peer.address));
        }
    }
    rec.notes.push_back(
        "one sock_diag snapshot of the processes' sockets (owners from /proc/PID/fd); no packets "
        "or system calls without the kernel side");
    return rec;
}

// "pid 7 (redis-server)": read while the process still runs.
std::string pid_text(pid_t pid) {
    std::ifstream f(fmt::format("/proc/{}/comm", pid));
    std::string comm;
    std::getline(f, comm);
    return comm.empty() ? fmt::format("pid {}", pid) : fmt::format("pid {} ({})", pid, comm);
}

// What trace followed, for the journey's header: "curl -s URL (pid 41),
// pid 7 (redis-server)".
std::string traced_text(const TraceTarget& t, pid_t command_pid,
                        const std::vector<std::string>& pids) {
    std::string text;
    for (const auto& a : t.command) text += (text.empty() ? "" : " ") + a;
    std::replace(text.begin(), text.end(), '\n', ' ');   // an inline script's lines
    if (command_pid) text += fmt::format(" (pid {})", command_pid);
    for (const auto& p : pids) text += (text.empty() ? "" : ", ") + p;
    return text;
}

}  // namespace

Result<Recording> record_trace(const TraceTarget& target) {
    // Before the capture's and the tracer's threads start: a SIGINT must
    // reach run_session's signalfd, not a thread that would end the process.
    kernel::SessionSignalMask signal_mask;
    Recording rec = new_recording();
    std::vector<std::string> pid_names;
    for (pid_t pid : target.pids) pid_names.push_back(pid_text(pid));
    if (auto missing = kernel_unavailable()) {
        if (!target.pids.empty() && target.command.empty())
            return snapshot_of_pids(target.pids, *missing);
        return make_error(*missing + "; `tracepacket trace` runs a command traced only with the "
                                     "kernel side (with -p PID it shows the sockets instead)",
                          EPERM);
    }
    // Busy programs make ~35 events per round trip; the reader only copies
    // records while tracing (hold_records), and 16 MiB lost none over
    // 100,000 round trips of bench_pingpong (3.2M events; docs/performance.md,
    // "Start-up"). The ring counts twice in RSS: libbpf maps it twice.
    kernel::TracerOptions topts;
    topts.ring_buffer_bytes = std::size_t{16} << 20;
    topts.bench_floor = target.bench_floor;
    topts.hold_records = true;   // converted once tracing ends: a cheaper reader meanwhile
    topts.max_held_records = target.max_held_records;
    auto tracer = kernel::Tracer::start(topts);
    if (!tracer) {
        std::string why = "the kernel side could not start: " + tracer.error().message();
        if (!target.pids.empty() && target.command.empty())
            return snapshot_of_pids(target.pids, why);
        return wrap(tracer.error(), "start the kernel tracer");
    }
    rec.kernel = kernel_view(tracer->kernel_support());
    rec.kernel_traced = true;
    std::unique_ptr<capture::LoopbackCapture> capture;
    if (target.capture) {
        auto c = capture::LoopbackCapture::start("tcp or udp", /*immediate=*/false, "lo",
                                                 target.snaplen);
        if (c) capture = std::move(*c);
        else rec.partial_reasons.push_back(c.error().message());
    }

    // Streamed (target.on_chunk): chunks are cut and written while tracing
    // goes on (commands/stream_feeder.h); routes for every IP destination
    // the traced programs talk to are asked when the first SYN to it goes out.
    StreamFeeder::Options fo;
    fo.on_chunk = target.on_chunk;
    fo.quiet_ms = target.quiet_ms;
    fo.finish_slice_events = target.finish_slice_events;
    fo.learn_routes = true;
    StreamFeeder feeder(rec, *tracer, capture.get(), fo);

    kernel::SessionOptions so;
    so.command = target.command;
    so.pids = target.pids;
    so.ready_file = target.ready_file;
    so.linger_ms = target.linger_ms;
    so.pacing = feeder.pacing();
    if (rec.stream) rec.traced = traced_text(target, 0, pid_names);
    so.detach_on_signal = true;
    so.command_stdout = target.command_stdout;
    so.before_finish = [&](auto last_record) { feeder.before_finish(last_record); };
    auto result = kernel::run_session(*tracer, so, feeder.sink());
    note_kernel_losses(rec, *tracer);
    // Not lost_events (the kernel's, ring buffer full): tracepacket's own cap.
    if (auto dropped = tracer->records_dropped())
        rec.notes.push_back(fmt::format(
            "{} kernel records were dropped: {} were already waiting to be correlated "
            "(--max-held; raise it, or let the traffic pause); packets from then on may miss "
            "hops or be missing",
            dropped, target.max_held_records));
    feeder.end(result ? std::optional(result->last_record) : std::nullopt);
    tracer->stop();
    if (!result) return result.error();
    rec.exit_code = result->exit_code;
    rec.cut_short = result->cut_short;
    rec.traced = traced_text(target, result->command_pid, pid_names);
    return rec;
}

Recording stamp_of(const Recording& r) {
    Recording s;
    s.traced = r.traced;
    s.cut_short = r.cut_short;
    s.kernel_traced = r.kernel_traced;
    s.partial_reasons = r.partial_reasons;
    s.notes = r.notes;
    s.kernel = r.kernel;
    s.realtime_offset_ns = r.realtime_offset_ns;
    return s;
}

void stamp_journey(journey::Journey& j, const Recording& r) {
    if (!r.traced.empty()) j.command = "trace";
    j.traced = r.traced;
    j.cut_short = r.cut_short;
    if (!r.kernel_traced) j.partial = true;
    j.partial_reasons = r.partial_reasons;
    for (const auto& n : r.notes) j.notes.push_back(n);
    j.kernel = r.kernel;
    j.realtime_offset_ns = r.realtime_offset_ns;
}

journey::Journey finish_recording(Recording&& r) {
    auto j = journey::correlate(r.input);
    stamp_journey(j, r);
    journey::explain(j);
    return j;
}

}  // namespace tpk::commands
