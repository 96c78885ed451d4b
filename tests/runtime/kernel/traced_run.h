// Helpers for the kernel runtime tests: run plain-socket traffic in a forked
// child that the tracer follows from its first instruction, and collect the
// events. The child never runs gtest code: it returns an exit code.
#pragma once

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/tracer.h"
#include "model/event.h"

namespace tpk::kernel::testing {

#define TPK_SKIP_WITHOUT_BPF()                                                     \
    do {                                                                           \
        if (auto ok = ::tpk::kernel::check_privileges(); !ok)                      \
            GTEST_SKIP() << "needs CAP_BPF and CAP_PERFMON; run as root ("         \
                         << ok.error().message() << ")";                           \
    } while (0)

struct TracedRun {
    std::vector<model::Event> events;   // sorted by t_ns
    int exit_status = -1;
    pid_t pid = 0;
    std::string report;                 // what the child wrote to its report pipe
};

// Forks; the child waits until the tracer follows it, then runs body(report_fd)
// and exits with its return value. Events are collected until the child exits,
// at most `limit` (a bound, never a pass/fail criterion on its own).
inline TracedRun run_traced(Tracer& tracer, const std::function<int(int report_fd)>& body,
                      bool poll_while_running = true,
                      std::chrono::seconds limit = std::chrono::seconds(60)) {
    TracedRun run;
    int go[2], report[2];
    if (pipe(go) != 0 || pipe(report) != 0) return run;
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        close(report[0]);
        char c;
        if (read(go[0], &c, 1) != 1) _exit(126);
        _exit(body(report[1]));
    }
    close(go[0]);
    close(report[1]);
    run.pid = pid;
    auto sink = [&](model::Event&& e) { run.events.push_back(std::move(e)); };
    if (!tracer.add_pid(pid)) {
        kill(pid, SIGKILL);
    }
    char c = 1;
    (void)!write(go[1], &c, 1);
    close(go[1]);

    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ADD_FAILURE() << "traced child did not finish within the bound";
            break;
        }
        if (poll_while_running) (void)tracer.poll(50, sink);
        else usleep(20 * 1000);
    }
    run.exit_status = status;
    (void)tracer.drain(sink);
    (void)tracer.drain_staged(sink);   // the child's traffic is over
    char buf[512];
    ssize_t n;
    while ((n = read(report[0], buf, sizeof buf)) > 0) run.report.append(buf, n);
    close(report[0]);
    std::stable_sort(run.events.begin(), run.events.end(),
                     [](const auto& a, const auto& b) { return a.t_ns < b.t_ns; });
    return run;
}

inline bool has_port(const model::Event& e, std::uint16_t port) {
    return e.flow.src.port == port || e.flow.dst.port == port;
}

// The events of one skb's lifetime: from `first` (an index into events) to
// the first consume_skb/kfree_skb of the same address, or to the address's
// next net_dev_queue. On 6.18 an skb's end is not always traced: after the
// copy to user, tcp_eat_recv_skb() and skb_consume_udp() hand it to
// skb_attempt_defer_free(), which frees it without a tracepoint on the
// allocating CPU (kfree_skb_napi_cache) and with consume_skb only later from
// that CPU's softirq otherwise; the slab then reuses the address at once.
inline std::vector<model::Event> skb_lifetime(const std::vector<model::Event>& events,
                                              std::size_t first) {
    std::vector<model::Event> out;
    std::uint64_t skb = events[first].skb;
    for (std::size_t i = first; i < events.size(); ++i) {
        if (events[i].skb != skb) continue;
        if (i != first && events[i].kind == model::EventKind::net_dev_queue) break;
        out.push_back(events[i]);
        if (events[i].kind == model::EventKind::consume_skb ||
            events[i].kind == model::EventKind::kfree_skb)
            break;
    }
    return out;
}

// Whether `kinds` appear in this order (not necessarily adjacent) in `events`.
inline bool in_order(const std::vector<model::Event>& events,
                     const std::vector<model::EventKind>& kinds) {
    std::size_t k = 0;
    for (const auto& e : events)
        if (k < kinds.size() && e.kind == kinds[k]) ++k;
    return k == kinds.size();
}

inline std::string kinds_of(const std::vector<model::Event>& events) {
    std::string s;
    for (const auto& e : events) {
        if (!s.empty()) s += " -> ";
        s += model::event_name(e.kind);
    }
    return s;
}

}  // namespace tpk::kernel::testing
