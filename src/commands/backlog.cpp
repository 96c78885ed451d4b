// tracepacket backlog: the SYN queue and the accept queue under pressure. A
// server listens with a small backlog and accepts slowly, M clients connect
// at once; the listener's queues (sock_diag), the clients' sockets, the
// namespace's TCP counters and the kernel's drops and retransmits (the BPF
// tracer) are watched meanwhile. All of it runs in a network namespace of
// its own (lab/netns.h): the host's sockets, counters and sysctls are never
// touched, and the namespace dies with the process however it ends.
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands/command.h"
#include "journey/backlog.h"
#include "kernel/tracer.h"
#include "lab/backlog.h"
#include "lab/netns.h"
#include "lab/signals.h"
#include "netlink/sock_diag.h"
#include "netlink/tcp_counters.h"
#include "report/backlog.h"
#include "report/outputs.h"

namespace tpk::commands {
namespace {

using journey::BacklogRun;
using journey::backlog_counter_keys;
using journey::QueueSample;

struct BacklogCommandOptions {
    int backlog = 3;
    int clients = 10;
    int accept_delay_ms = 500;
    std::string syncookies = "keep";
    double duration_s = 15;
    bool json = false;
    std::string html;        // --html FILE
    std::string record_raw;  // hidden: save the run (fixtures)
    std::string replay;      // hidden: write a saved run instead of running one
};

constexpr int kMaxClients = 500;
constexpr double kMaxDuration = 300;
constexpr auto kSampleEvery = std::chrono::milliseconds(5);

Status check_options(const BacklogCommandOptions& o) {
    if (o.syncookies != "on" && o.syncookies != "off" && o.syncookies != "keep")
        return make_error("--syncookies " + o.syncookies + ": expected on, off or keep");
    return {};
}

// The counters of the lab's namespace: /proc/thread-self/net is the calling
// thread's namespace (/proc/net would be the main thread's, the same here,
// but this says what is meant).
Result<netlink::CounterTable> namespace_counters() {
    return netlink::read_tcp_counters("/proc/thread-self");
}

std::map<std::string, std::int64_t> pick_counters(const netlink::CounterTable& table) {
    std::map<std::string, std::int64_t> out;
    for (const auto& key : backlog_counter_keys()) {
        auto it = table.find(key);
        if (it != table.end()) out[key] = it->second;
    }
    return out;
}

// One look at the namespace's TCP sockets: the listener's queues and each
// client socket's state, appended to run when they changed.
Status sample_sockets(BacklogRun& run, std::map<std::uint16_t, std::string>& last_state) {
    netlink::SocketQuery q;
    q.tcp = true;
    q.udp = false;
    q.unix_sockets = false;
    q.states = netlink::kAllStates | (1u << netlink::kListen);
    auto sockets = netlink::list_sockets(q);
    if (!sockets) return std::move(sockets).take_error();
    std::uint64_t t = lab::BacklogLab::now_ns();
    std::map<std::uint16_t, std::string> seen;
    for (const auto& s : *sockets) {
        if (s.state == netlink::kListen && s.local.port == run.server_port) {
            QueueSample q2{t, s.recv_q, s.send_q, s.syn_queue.value_or(0)};
            if (run.queue.empty() || run.queue.back().accept_queue != q2.accept_queue ||
                run.queue.back().syn_queue != q2.syn_queue || run.queue.back().accept_limit != q2.accept_limit)
                run.queue.push_back(q2);
        } else if (s.peer.port == run.server_port && s.local.port != run.server_port) {
            seen[s.local.port] = std::string(netlink::state_name(s.state));
        }
    }
    for (const auto& [port, state] : seen) {
        auto& last = last_state[port];
        if (last != state) run.client_states.push_back({t, port, state});
        last = state;
    }
    for (auto& [port, state] : last_state) {
        if (!state.empty() && state != "gone" && !seen.count(port)) {
            run.client_states.push_back({t, port, "gone"});
            state = "gone";
        }
    }
    return {};
}

Status sample_counters(BacklogRun& run) {
    auto table = namespace_counters();
    if (!table) return std::move(table).take_error();
    auto values = pick_counters(*table);
    if (run.counters.empty() || run.counters.back().values != values)
        run.counters.push_back({lab::BacklogLab::now_ns(), std::move(values)});
    return {};
}

// The BPF tracer on the lab's port, in the lab's namespace (add_pid of this
// process: its namespace is the lab's while the main thread is inside).
// Without BPF the lab still runs: queues, states and counters need none.
Result<kernel::Tracer> start_tracer(std::uint16_t port) {
    Status features = kernel::probe_features();
    if (!features) return std::move(features).take_error();
    kernel::TracerOptions options;
    options.ports.push_back({IPPROTO_TCP, port});
    options.syscalls = false;  // the clients' calls are timed by the lab itself
    auto tracer = kernel::Tracer::start(options);
    if (!tracer) return tracer;
    if (auto ok = tracer->add_pid(getpid()); !ok) return std::move(ok).take_error();
    return tracer;
}

bool wanted(const model::Event& e) {
    switch (e.kind) {
        case model::EventKind::net_dev_queue:
        case model::EventKind::netif_receive_skb:
        case model::EventKind::kfree_skb:
        case model::EventKind::tcp_retransmit_skb:
            return e.flow.protocol == IPPROTO_TCP;
        default:
            return false;
    }
}

Status write_run(const BacklogRun& run, const BacklogCommandOptions& o) {
    if (o.json) {
        report::write_backlog_json(run, std::cout);
        std::cout.flush();
    } else {
        fmt::print("{}", report::render_backlog_text(run));
        std::fflush(stdout);
    }
    if (!o.html.empty()) return report::write_backlog_html(run, o.html);
    return {};
}

Result<int> run_backlog(const BacklogCommandOptions& o) {
    if (auto ok = check_options(o); !ok) return std::move(ok).take_error();
    if (!o.replay.empty()) {
        auto run = journey::read_backlog_recording_file(o.replay);
        if (!run) return std::move(run).take_error();
        if (auto ok = write_run(*run, o); !ok) return std::move(ok).take_error();
        return 0;
    }
    // Blocked before any thread starts, so every thread inherits the mask
    // and SIGINT/SIGTERM only ever reach the signalfd: the loop below ends,
    // and the destructors stop the lab, detach BPF, close the namespace.
    auto signals = lab::SignalStop::open();
    if (!signals) return std::move(signals).take_error();

    auto ns = lab::NetNamespace::create();
    if (!ns) return std::move(ns).take_error();
    auto inside = ns->enter();
    if (!inside) return std::move(inside).take_error();

    BacklogRun run;
    run.options.backlog = o.backlog;
    run.options.clients = o.clients;
    run.options.accept_delay = std::chrono::milliseconds(o.accept_delay_ms);
    run.duration_s = o.duration_s;
    run.netns_inode = ns->inode();
    if (o.syncookies != "keep") {
        if (auto ok = lab::write_net_sysctl("ipv4/tcp_syncookies", o.syncookies == "on" ? "1" : "0"); !ok)
            return wrap(std::move(ok).take_error(), "--syncookies");
        run.syncookies_set = true;
    }
    auto cookies = lab::read_net_sysctl("ipv4/tcp_syncookies");
    if (!cookies) return std::move(cookies).take_error();
    run.syncookies = *cookies;

    auto lab = lab::BacklogLab::listen(run.options);
    if (!lab) return std::move(lab).take_error();
    run.server_port = (*lab)->port();

    std::optional<kernel::Tracer> tracer;
    if (auto t = start_tracer(run.server_port)) tracer.emplace(std::move(*t));
    else run.tracer_missing = t.error().message();
    auto sink = [&](model::Event&& e) {
        if (wanted(e)) run.events.push_back(std::move(e));
    };

    std::map<std::uint16_t, std::string> last_state;
    if (auto ok = sample_counters(run); !ok) return std::move(ok).take_error();
    if (auto ok = sample_sockets(run, last_state); !ok) return std::move(ok).take_error();
    if (!o.json)
        fmt::print(stderr, "backlog lab running for up to {:g} s (Ctrl-C stops it early)...\n", o.duration_s);

    run.t0_ns = lab::BacklogLab::now_ns();
    if (auto ok = (*lab)->start(); !ok) return std::move(ok).take_error();
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000));
    int signo = 0;
    for (;;) {
        pollfd p{signals->fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(kSampleEvery.count())) > 0 && (signo = signals->take())) {
            run.end_reason = lab::signal_name(signo);
            break;
        }
        if (auto ok = sample_sockets(run, last_state); !ok) return std::move(ok).take_error();
        if (auto ok = sample_counters(run); !ok) return std::move(ok).take_error();
        if (tracer) {
            if (auto n = tracer->poll(0, sink); !n) return wrap(std::move(n).take_error(), "read BPF events");
        }
        if ((*lab)->all_done()) {
            run.end_reason = "every client done";
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            run.end_reason = fmt::format("duration reached ({:g} s)", o.duration_s);
            break;
        }
    }
    // The last look before anything closes, then the lab stops (clients
    // first, the listener last). The run ends where the counters are read:
    // a drop (a SYN sent again) between an earlier end and that read was
    // counted while its event was cut off (12 drops seen against 18 counted,
    // once), so only the read itself (well under a millisecond) is left
    // between the two.
    if (auto ok = sample_sockets(run, last_state); !ok) return std::move(ok).take_error();
    run.end_ns = lab::BacklogLab::now_ns();
    if (auto ok = sample_counters(run); !ok) return std::move(ok).take_error();
    run.clients = (*lab)->clients();
    run.accepts = (*lab)->accepts();
    std::string failure = (*lab)->failure();
    // Time 0 is the first connect() (the threads' start-up is not the lab's).
    std::uint64_t first = UINT64_MAX;
    for (const auto& c : run.clients)
        if (c.connect_start_ns) first = std::min(first, c.connect_start_ns);
    if (first != UINT64_MAX) run.t0_ns = first;
    (*lab)->stop();
    if (tracer) {
        if (auto n = tracer->finish(sink); !n) return wrap(std::move(n).take_error(), "read BPF events");
        run.lost_events = tracer->lost_events();
        tracer->stop();
    }
    // Events of the teardown (closing sockets after end_ns) are not the lab's story.
    std::erase_if(run.events, [&](const model::Event& e) { return e.t_ns > run.end_ns; });
    std::sort(run.events.begin(), run.events.end(),
              [](const model::Event& a, const model::Event& b) { return a.t_ns < b.t_ns; });
    if (!failure.empty()) return make_error("backlog lab server: " + failure);

    if (!o.record_raw.empty())
        if (auto ok = journey::write_backlog_recording_file(run, o.record_raw); !ok) return std::move(ok).take_error();
    if (auto ok = write_run(run, o); !ok) return std::move(ok).take_error();
    return signo ? 128 + signo : 0;
}

}  // namespace

void register_backlog(CLI::App& app, Runner* run) {
    auto o = std::make_shared<BacklogCommandOptions>();
    auto* cmd = app.add_subcommand(
        "backlog",
        "Lab: the SYN queue and the accept queue under pressure. A server listens with a small "
        "backlog and accepts slowly, many clients connect at once; shows the listener's queues, "
        "each client's state, the drops and retransmits, the kernel counters, and why. Runs in a "
        "network namespace of its own (root): the host is never touched.");
    cmd->add_option("--backlog", o->backlog, "listen() backlog of the server (default 3)")
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--clients", o->clients,
                    fmt::format("Clients that connect at once (default 10, at most {})", kMaxClients))
        ->check(CLI::Range(1, kMaxClients));
    cmd->add_option("--accept-delay", o->accept_delay_ms,
                    "Milliseconds the server waits before each accept() (default 500)")
        ->check(CLI::Range(0, 60000));
    cmd->add_option("--syncookies", o->syncookies,
                    "net.ipv4.tcp_syncookies in the lab's namespace: on (1), off (0) or keep "
                    "(the namespace's default, 1); the host's setting is never changed")
        ->check(CLI::IsMember({"on", "off", "keep"}));
    cmd->add_option("--duration", o->duration_s,
                    fmt::format("Stop after S seconds at most (default 15, at most {:g}); the lab "
                                "ends earlier once every client is served", kMaxDuration))
        ->check(CLI::Range(0.1, kMaxDuration));
    cmd->add_flag("--json", o->json, "JSON Lines (docs/json-schema.md, \"tracepacket backlog\")");
    report::add_html_option(*cmd, o->html,
                            "Also write a self-contained HTML page: the two queues over time as a chart, "
                            "each client's outcome, the counter deltas, the drops and why");
    cmd->add_option("--record-raw", o->record_raw, "save the run (fixtures)")->group("");
    cmd->add_option("--replay", o->replay, "write a saved run instead of running one")->group("");
    cmd->callback([o, run] { *run = [o] { return run_backlog(*o); }; });
}

}  // namespace tpk::commands
