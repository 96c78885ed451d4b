#include "report/backlog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>

#include "report/html.h"
#include "report/labels.h"

namespace tpk::report {

namespace {

using journey::backlog_client_results;
using journey::backlog_counter_keys;
using journey::backlog_counter_short;
using journey::backlog_explanation;
using journey::backlog_ms;
using journey::backlog_timeline;
using journey::BacklogClientResult;
using journey::BacklogFindings;

std::int64_t delta(const BacklogFindings& f, const std::string& key) {
    auto it = f.counter_deltas.find(key);
    return it == f.counter_deltas.end() ? 0 : it->second;
}

}  // namespace

std::vector<std::string> backlog_intro_lines(const BacklogRun& run) {
    std::vector<std::string> out;
    out.push_back(fmt::format("backlog lab: a server on 127.0.0.1:{} listens with backlog {} and accept()s one "
                              "connection every {} ms; {} clients connect at once and send one message each.",
                              run.server_port, run.options.backlog, run.options.accept_delay.count(),
                              run.options.clients));
    out.push_back(fmt::format("Isolated: a network namespace of its own (net:[{}], only its lo), made for this "
                              "run and gone with it; the host's sockets, counters and sysctls are not touched.",
                              run.netns_inode));
    out.push_back(fmt::format("net.ipv4.tcp_syncookies = {} in the lab's namespace ({}).", run.syncookies,
                              run.syncookies_set ? "set by --syncookies" : "the namespace's default"));
    if (run.tracer_missing)
        out.push_back(fmt::format("Kernel events (drops, retransmits): unavailable: {}. Queues, states and "
                                  "counters still shown.", *run.tracer_missing));
    return out;
}

std::string backlog_summary_title(const BacklogRun& run) {
    return fmt::format("Summary (the lab ended: {}, after {:.0f} ms):", run.end_reason, backlog_ms(run, run.end_ns));
}

std::vector<std::string> backlog_summary_lines(const BacklogRun& run, const BacklogFindings& f) {
    std::vector<std::string> out;
    out.push_back(fmt::format("accept queue: peak {} with backlog {}{}; SYN queue: peak {}; accept()ed: {}",
                              f.peak_accept_queue, f.accept_limit,
                              f.peak_accept_queue == f.accept_limit + 1 ? " (= backlog + 1, the kernel's limit)" : "",
                              f.peak_syn_queue, run.accepts.size()));
    std::string counters;
    for (const auto& key : backlog_counter_keys()) {
        auto it = f.counter_deltas.find(key);
        if (it != f.counter_deltas.end())
            counters += fmt::format("{}{} {:+}", counters.empty() ? "" : ", ", backlog_counter_short(key), it->second);
    }
    out.push_back("counters of the namespace (/proc/net/netstat, snmp): " + counters);
    if (!run.tracer_missing) {
        int seen = f.syns_refused + f.acks_dropped + f.cookie_acks_dropped;
        std::int64_t listen_drops = delta(f, "TcpExt.ListenDrops");
        out.push_back(fmt::format("listener drops seen: {} ({} SYNs refused, {} handshake ACKs dropped "
                                  "TCP_LISTEN_OVERFLOW, {} syncookie ACKs dropped NO_SOCKET){}",
                                  seen, f.syns_refused, f.acks_dropped, f.cookie_acks_dropped,
                                  seen == listen_drops ? " = ListenDrops"
                                                       : fmt::format(" vs ListenDrops {:+}", listen_drops)));
        if (f.other_drops)
            out.push_back(fmt::format("other drops of the lab's segments (not the listener's; see the "
                                      "timeline): {}", f.other_drops));
        out.push_back(fmt::format("retransmits: {} SYNs, {} SYN-ACKs{}", f.syn_retransmits, f.synack_retransmits,
                                  run.lost_events ? fmt::format(" ({} kernel events lost)", run.lost_events) : ""));
    }
    return out;
}

std::string backlog_latency_text(const BacklogClientResult& r) {
    return r.connect_ms ? fmt::format("{:.1f} ms", *r.connect_ms) : "-";
}

std::string render_backlog_text(const BacklogRun& run) {
    BacklogFindings f = find(run);
    std::string out;
    for (const auto& line : backlog_intro_lines(run)) out += line + "\n";
    out += "\n     t (ms)  what happened\n";
    for (const auto& line : backlog_timeline(run))
        out += fmt::format("  {:>9.3f}  {}\n", backlog_ms(run, line.t_ns), line.text);
    // Appended piecewise: "\n" + a temporary trips GCC 12's -Wrestrict (a false positive).
    out += '\n';
    out += backlog_summary_title(run);
    out += '\n';
    for (const auto& line : backlog_summary_lines(run, f)) out += "  " + line + "\n";
    out += "\n  client  port   connect()      SYNs  outcome\n";
    for (const auto& r : backlog_client_results(run)) {
        std::string syns = run.tracer_missing ? "-" : std::to_string(r.syns);
        out += fmt::format("  {:>6}  {:>5}  {:>11}  {:>4}  {}\n", r.client.index, r.client.port, backlog_latency_text(r),
                           syns, r.detail);
    }
    out += "\nWhy:\n";
    for (const auto& paragraph : backlog_explanation(run, f)) out += "  - " + paragraph + "\n";
    return out;
}

void write_backlog_json(const BacklogRun& run, std::ostream& out) {
    BacklogFindings f = find(run);
    nlohmann::json start = {
        {"type", "backlog_lab"},
        {"server", fmt::format("127.0.0.1:{}", run.server_port)},
        {"backlog", run.options.backlog},
        {"clients", run.options.clients},
        {"accept_delay_ms", run.options.accept_delay.count()},
        {"duration_s", run.duration_s},
        {"netns_inode", run.netns_inode},
        {"isolation", "a network namespace of its own (its lo only): the host's sockets, counters and sysctls are not touched"},
        {"syncookies", run.syncookies},
        {"syncookies_set", run.syncookies_set},
        {"kernel_events", !run.tracer_missing.has_value()},
    };
    if (run.tracer_missing) start["kernel_events_missing"] = *run.tracer_missing;
    out << start.dump() << '\n';
    for (const auto& line : backlog_timeline(run)) out << line.json.dump() << '\n';
    std::map<std::string, int> outcomes;
    for (const auto& r : backlog_client_results(run)) {
        nlohmann::json j = {{"type", "backlog_client_result"}, {"client", r.client.index}, {"port", r.client.port},
                            {"outcome", r.outcome}, {"detail", r.detail}};
        j["connect_ms"] = r.connect_ms ? nlohmann::json(*r.connect_ms) : nlohmann::json(nullptr);
        j["served_ms"] = r.served_ms ? nlohmann::json(*r.served_ms) : nlohmann::json(nullptr);
        if (!run.tracer_missing) {
            j["syns_sent"] = r.syns;
            j["syn_retransmits"] = r.syn_retransmits;
            j["synack_retransmits"] = r.synack_retransmits;
            j["drops"] = r.drops;
        }
        out << j.dump() << '\n';
        ++outcomes[r.outcome];
    }
    nlohmann::json deltas = nlohmann::json::object();
    for (const auto& [k, v] : f.counter_deltas) deltas[k] = v;
    nlohmann::json summary = {
        {"type", "backlog_summary"},
        {"end", run.end_reason},
        {"run_ms", backlog_ms(run, run.end_ns)},
        {"peak_accept_queue", f.peak_accept_queue},
        {"accept_limit", f.accept_limit},
        {"peak_syn_queue", f.peak_syn_queue},
        {"counter_deltas", deltas},
        {"accepted", run.accepts.size()},
        {"lost_events", run.lost_events},
    };
    if (!run.tracer_missing) {
        summary["syns_refused"] = f.syns_refused;
        summary["acks_dropped"] = f.acks_dropped;
        summary["other_drops"] = f.other_drops;
        summary["cookie_acks_dropped"] = f.cookie_acks_dropped;
        summary["listener_drops_seen"] = f.syns_refused + f.acks_dropped + f.cookie_acks_dropped;
        summary["syn_retransmits"] = f.syn_retransmits;
        summary["synack_retransmits"] = f.synack_retransmits;
    }
    summary["outcomes"] = outcomes;
    summary["explanation"] = backlog_explanation(run, f);
    out << summary.dump() << '\n';
}

}  // namespace tpk::report
