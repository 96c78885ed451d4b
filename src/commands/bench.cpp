// tracepacket bench: latency and throughput of every transport, side by side.
// Options in, runners from src/bench/, a table or JSON Lines out. With
// --two-hosts the IP transports run across the journey's two-hosts lab (two
// namespaces joined by a veth pair, commands/two_hosts_lab.h), each cell
// beside the same cell on loopback.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/link.h"
#include "bench/options.h"
#include "bench/runner.h"
#include "commands/command.h"
#include "commands/two_hosts_lab.h"
#include "netlink/link_stats.h"
#include "report/bench_html.h"

namespace tpk::commands {
namespace {

using bench::LatencyResult;
using bench::ThroughputResult;

struct BenchOptions {
    std::string transports = "all";
    std::string sizes = "64,1K,64K";
    std::string mode = "both";
    std::uint64_t count = 10000;
    std::uint64_t warmup = 1000;
    double latency_time = 1.0;
    double stream_time = 0.5;
    std::string pin;
    bool json = false;
    std::string html;  // --html FILE: the results as bar charts
    bool two_hosts = false;
};

struct Plan {
    std::vector<bench::Transport> transports;
    std::vector<std::size_t> sizes;
    bool latency = true;
    bool throughput = true;
    bench::LatencyOptions latency_opts;
    bench::ThroughputOptions throughput_opts;
    bool two_hosts = false;
    // --two-hosts: the selected transports that cannot cross the veth pair,
    // each with why (shown, never silently dropped).
    std::vector<std::pair<bench::Transport, std::string>> not_over_veth;
};

std::chrono::nanoseconds seconds_to_ns(double s) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

Result<Plan> make_plan(const BenchOptions& o) {
    Plan plan;
    auto transports = bench::parse_transport_list(o.transports);
    if (!transports) return wrap(transports.error(), "--transport");
    plan.two_hosts = o.two_hosts;
    for (const auto& t : *transports) {
        std::string why = o.two_hosts ? bench::net_path_refusal(t) : std::string();
        if (why.empty())
            plan.transports.push_back(t);
        else
            plan.not_over_veth.emplace_back(t, std::move(why));
    }
    if (plan.transports.empty()) {
        std::string list;
        for (const auto& [t, why] : plan.not_over_veth)
            list += fmt::format("{}{}: {}", list.empty() ? "" : "; ", bench::transport_name(t), why);
        return make_error("--two-hosts measures tcp, tcp6, udp and udp6 across the veth pair, and none of "
                          "--transport can cross it (" + list + ")");
    }
    auto sizes = bench::parse_size_list(o.sizes);
    if (!sizes) return wrap(sizes.error(), "--size");
    plan.sizes = std::move(*sizes);
    plan.latency = o.mode != "throughput";
    plan.throughput = o.mode != "latency";
    std::optional<bench::CpuPin> pin;
    if (!o.pin.empty()) {
        auto parsed = bench::parse_cpu_pin(o.pin);
        if (!parsed) return parsed.error();
        pin = *parsed;
    }
    plan.latency_opts.round_trips = o.count;
    plan.latency_opts.warmup = o.warmup;
    plan.latency_opts.max_time = seconds_to_ns(o.latency_time);
    plan.latency_opts.pin = pin;
    plan.throughput_opts.duration = seconds_to_ns(o.stream_time);
    plan.throughput_opts.pin = pin;
    return plan;
}

// "[ 3/54] latency tcp 64 B" rewritten in place on a terminal's stderr.
class Progress {
public:
    explicit Progress(std::size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}
    ~Progress() { clear(); }
    void step(const char* what, const bench::Transport& t, std::size_t size, const char* over = "") {
        ++done_;
        if (!tty_) return;
        fmt::print(stderr, "\r\033[K[{:>{}}/{}] {} {} {}{}{}", done_, std::to_string(total_).size(),
                   total_, what, bench::transport_name(t), bench::size_label(size),
                   *over ? " over " : "", over);
        std::fflush(stderr);
    }
    void clear() {
        if (tty_ && done_ > 0) fmt::print(stderr, "\r\033[K");
        std::fflush(stderr);
    }

private:
    std::size_t total_;
    std::size_t done_ = 0;
    bool tty_;
};

struct Results {
    std::vector<LatencyResult> latency;
    std::vector<ThroughputResult> throughput;
};

// --two-hosts: the lab, the path the runners are given, and what the run
// measured besides the veth cells. Never moved once made: `path` points into
// `hosts`.
struct TwoHostsRun {
    TwoHosts hosts;
    bench::NetPath path;
    int veth_mtu = 0;
    int lo_mtu = 0;
    Results loopback;  // the same cells on this host's lo, index for index
    // What each veth cell moved through veth-client (after - before).
    std::vector<netlink::LinkCounters> latency_veth;
    std::vector<netlink::LinkCounters> throughput_veth;

    explicit TwoHostsRun(TwoHosts h) : hosts(std::move(h)) {
        path = {"veth", &hosts.client, &hosts.server, TwoHosts::kServerAddress,
                hosts.ipv6 ? TwoHosts::kServerAddress6 : ""};
    }
    TwoHostsRun(const TwoHostsRun&) = delete;
    TwoHostsRun& operator=(const TwoHostsRun&) = delete;
};

Result<netlink::LinkCounters> veth_counters(const TwoHostsRun& two) {
    netlink::LinkCounters counters;
    Status ok = run_inside(two.hosts.client, [&]() -> Status {
        auto c = netlink::link_counters(TwoHosts::kClientDevice);
        if (!c) return c.error();
        counters = *c;
        return {};
    });
    if (!ok) return ok.error();
    return counters;
}

// One cell: alone, or with --two-hosts on lo first and then over veth, the
// veth end's counters read around the veth run.
template <class R, class Opts>
Status run_cell(const char* what, const bench::Transport& t, Opts opts,
                Result<R> (*run)(const bench::Transport&, const Opts&), Progress& progress,
                std::vector<R>& out, TwoHostsRun* two, std::vector<R>* lo_out,
                std::vector<netlink::LinkCounters>* veth_out) {
    auto fail = [&](const Error& e, const char* over) {
        return wrap(e, fmt::format("{} {} {}{}{}", what, bench::transport_name(t), bench::size_label(opts.size),
                                   *over ? " over " : "", over));
    };
    if (!two) {
        progress.step(what, t, opts.size);
        auto r = run(t, opts);
        if (!r) return fail(r.error(), "");
        out.push_back(std::move(*r));
        return {};
    }
    progress.step(what, t, opts.size, "lo");
    auto lo = run(t, opts);
    if (!lo) return fail(lo.error(), "lo");
    lo->path = "lo";
    lo_out->push_back(std::move(*lo));
    progress.step(what, t, opts.size, "veth");
    opts.path = &two->path;
    auto before = veth_counters(*two);
    if (!before) return fail(before.error(), "veth");
    auto r = run(t, opts);
    if (!r) return fail(r.error(), "veth");
    auto after = veth_counters(*two);
    if (!after) return fail(after.error(), "veth");
    veth_out->push_back(netlink::counters_delta(*before, *after));
    out.push_back(std::move(*r));
    return {};
}

// The cells in order, latency first. With --two-hosts, `Results` are the
// veth cells and two->loopback the loopback ones.
Result<Results> run_plan(const Plan& plan, TwoHostsRun* two) {
    Results results;
    Progress progress((two ? 2 : 1) * (plan.latency + plan.throughput) * plan.transports.size() *
                      plan.sizes.size());
    if (plan.latency)
        for (const auto& t : plan.transports)
            for (auto size : plan.sizes) {
                auto opts = plan.latency_opts;
                opts.size = size;
                if (auto st = run_cell("latency", t, opts, &bench::run_latency, progress, results.latency,
                                       two, two ? &two->loopback.latency : nullptr,
                                       two ? &two->latency_veth : nullptr);
                    !st)
                    return st.error();
            }
    if (plan.throughput)
        for (const auto& t : plan.transports)
            for (auto size : plan.sizes) {
                auto opts = plan.throughput_opts;
                opts.size = size;
                if (auto st = run_cell("throughput", t, opts, &bench::run_throughput, progress,
                                       results.throughput, two, two ? &two->loopback.throughput : nullptr,
                                       two ? &two->throughput_veth : nullptr);
                    !st)
                    return st.error();
            }
    return results;
}

bool is_plain_tcp(const bench::Transport& t) {
    return t.kind == bench::Transport::Kind::socket && t.socket == lab::Transport::tcp;
}

// The measured TCP (IPv4) cell of the same size, the ratio column's base.
template <class R>
const R* tcp_cell(const std::vector<R>& cells, std::size_t size) {
    for (const auto& c : cells)
        if (is_plain_tcp(c.transport) && c.size == size && c.skipped.empty()) return &c;
    return nullptr;
}

std::optional<double> latency_ratio(const Results& r, const LatencyResult& c) {
    const auto* tcp = tcp_cell(r.latency, c.size);
    if (!tcp || tcp->summary.p50_ns == 0 || !c.skipped.empty()) return std::nullopt;
    return static_cast<double>(c.summary.p50_ns) / static_cast<double>(tcp->summary.p50_ns);
}

std::optional<double> throughput_ratio(const Results& r, const ThroughputResult& c) {
    const auto* tcp = tcp_cell(r.throughput, c.size);
    if (!tcp || tcp->bytes == 0 || !c.skipped.empty()) return std::nullopt;
    return c.megabytes_per_second() / tcp->megabytes_per_second();
}

// A veth cell against the same cell on lo: p50 over p50, MB/s over MB/s.
std::optional<double> latency_vs_loopback(const LatencyResult& veth, const LatencyResult& lo) {
    if (!veth.skipped.empty() || !lo.skipped.empty() || lo.summary.p50_ns == 0) return std::nullopt;
    return static_cast<double>(veth.summary.p50_ns) / static_cast<double>(lo.summary.p50_ns);
}

std::optional<double> throughput_vs_loopback(const ThroughputResult& veth, const ThroughputResult& lo) {
    if (!veth.skipped.empty() || !lo.skipped.empty() || lo.bytes == 0) return std::nullopt;
    return veth.megabytes_per_second() / lo.megabytes_per_second();
}

std::string ratio_text(std::optional<double> ratio) {
    return ratio ? fmt::format("{:.2f}x", *ratio) : "-";
}

// Rounds to `decimals` places so JSON shows 133.41, not 133.41000000000001:
// dividing by a power of ten gives the double nearest the decimal.
double round_to(double v, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(v * scale) / scale;
}

std::string pin_text(const Plan& plan) {
    const auto& pin = plan.latency_opts.pin;
    return pin ? fmt::format("pinned to CPUs {} (measuring) and {} (peer)", pin->near_cpu, pin->far_cpu)
               : "not pinned";
}

// The omitted transports grouped by reason: "tcp6, udp6: why".
std::vector<std::pair<std::string, std::string>> omitted_by_reason(const Plan& plan) {
    std::vector<std::pair<std::string, std::string>> groups;  // names, reason
    for (const auto& [t, why] : plan.not_over_veth) {
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.second == why; });
        if (it == groups.end())
            groups.emplace_back(std::string(bench::transport_name(t)), why);
        else
            it->first += ", " + std::string(bench::transport_name(t));
    }
    return groups;
}

// Printed before the run, so a reader (or a test) knows the lab at once.
void print_two_hosts_header(const Plan& plan, const TwoHostsRun& two) {
    fmt::print("Two hosts: the measuring side (client) in net:[{}] as {} and {} on {}, its peer (server) "
               "in net:[{}] as {} and {} on {}: one veth pair, MTU {}, no route out of it.\n"
               "Each cell runs on this host's lo (127.0.0.1 or ::1, MTU {}) first, then over the veth "
               "pair; 'lo' columns are the loopback cell, 'veth/lo' the ratio.\n",
               two.hosts.client.inode(), TwoHosts::kClientAddress, TwoHosts::kClientAddress6,
               TwoHosts::kClientDevice, two.hosts.server.inode(), TwoHosts::kServerAddress,
               TwoHosts::kServerAddress6, TwoHosts::kServerDevice, two.veth_mtu, two.lo_mtu);
    for (const auto& [names, why] : omitted_by_reason(plan))
        fmt::print("Not over the veth pair: {}: {}.\n", names, why);
    fmt::print("\n");
    std::fflush(stdout);
}

// What the MTU does to TCP: the MSS each path's connections got, per
// transport (IPv6's header is 20 B longer).
void print_two_hosts_footer(const Results& veth, const TwoHostsRun& two) {
    std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> mss;  // transport -> veth, lo
    auto take = [&](const auto& cells, bool over_veth) {
        for (const auto& c : cells) {
            if (!c.tcp_mss) continue;
            auto& slot = mss[std::string(bench::transport_name(c.transport))];
            (over_veth ? slot.first : slot.second) = c.tcp_mss;
        }
    };
    take(veth.latency, true);
    take(veth.throughput, true);
    take(two.loopback.latency, false);
    take(two.loopback.throughput, false);
    if (mss.empty()) return;
    std::string over_veth, over_lo;
    for (const auto& [name, pair] : mss) {
        over_veth += fmt::format("{}{} {} B", over_veth.empty() ? "" : ", ", name, pair.first);
        over_lo += fmt::format("{}{} {} B", over_lo.empty() ? "" : ", ", name, pair.second);
    }
    fmt::print("\nTCP segment size (TCP_MAXSEG of the bench's connections): {} over veth (MTU {}); "
               "{} over lo (MTU {}).\n"
               "veth offers TSO/GRO, so one skb may still carry several segments (rx B/pkt).\n",
               over_veth, two.veth_mtu, over_lo, two.lo_mtu);
}

void print_table(const Plan& plan, const Results& r, const TwoHostsRun* two) {
    if (plan.latency) {
        fmt::print("Latency: ping-pong round trip between two processes, ns "
                   "({} warm-up, then {} round trips or {:g} s per cell; {})\n",
                   plan.latency_opts.warmup, plan.latency_opts.round_trips,
                   static_cast<double>(plan.latency_opts.max_time.count()) / 1e9, pin_text(plan));
        fmt::print("{:<15} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8}", "transport",
                   "size", "p50", "p90", "p99", "p99.9", "max", "mean", "n", "p50/tcp");
        if (two) fmt::print(" {:>9} {:>8}", "lo p50", "veth/lo");
        fmt::print("\n");
        for (std::size_t i = 0; i < r.latency.size(); ++i) {
            const auto& c = r.latency[i];
            auto name = bench::transport_name(c.transport);
            if (!c.skipped.empty()) {
                fmt::print("{:<15} {:>8}  skipped: {}\n", name, bench::size_label(c.size), c.skipped);
                continue;
            }
            const auto& s = c.summary;
            fmt::print("{:<15} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.0f} {:>7} {:>8}", name,
                       bench::size_label(c.size), s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns,
                       s.mean_ns, s.count, ratio_text(latency_ratio(r, c)));
            if (two) {
                const auto& lo = two->loopback.latency[i];
                fmt::print(" {:>9} {:>8}", lo.skipped.empty() ? std::to_string(lo.summary.p50_ns) : "-",
                           ratio_text(latency_vs_loopback(c, lo)));
            }
            fmt::print("\n");
        }
    }
    if (plan.latency && plan.throughput) fmt::print("\n");
    if (plan.throughput) {
        fmt::print("Throughput: one-way stream, received bytes, {:g} s per cell "
                   "(MB = 10^6 B; {})\n",
                   static_cast<double>(plan.throughput_opts.duration.count()) / 1e9, pin_text(plan));
        fmt::print("{:<15} {:>8} {:>10} {:>8} {:>12} {:>8}", "transport", "size", "MB/s", "Gbit/s",
                   "msg/s", "vs tcp");
        if (two) fmt::print(" {:>10} {:>8} {:>9} {:>7}", "lo MB/s", "veth/lo", "rx pkts", "B/pkt");
        fmt::print("\n");
        for (std::size_t i = 0; i < r.throughput.size(); ++i) {
            const auto& c = r.throughput[i];
            auto name = bench::transport_name(c.transport);
            if (!c.skipped.empty()) {
                fmt::print("{:<15} {:>8}  skipped: {}\n", name, bench::size_label(c.size), c.skipped);
                continue;
            }
            fmt::print("{:<15} {:>8} {:>10.1f} {:>8.2f} {:>12.0f} {:>8}", name,
                       bench::size_label(c.size), c.megabytes_per_second(), c.gigabits_per_second(),
                       c.messages_per_second(), ratio_text(throughput_ratio(r, c)));
            if (two) {
                const auto& lo = two->loopback.throughput[i];
                const auto& moved = two->throughput_veth[i];
                fmt::print(" {:>10} {:>8} {:>9} {:>7}",
                           lo.skipped.empty() ? fmt::format("{:.1f}", lo.megabytes_per_second()) : "-",
                           ratio_text(throughput_vs_loopback(c, lo)), moved.rx_packets,
                           moved.rx_packets ? std::to_string(moved.rx_bytes / moved.rx_packets) : "-");
            }
            fmt::print("\n");
        }
    }
    if (two) print_two_hosts_footer(r, *two);
}

nlohmann::ordered_json skipped_json(const char* mode, const bench::Transport& t, std::size_t size,
                                    const std::string& reason) {
    return {{"type", "skipped"}, {"mode", mode}, {"transport", bench::transport_name(t)},
            {"size", size}, {"reason", reason}};
}

nlohmann::ordered_json counters_json(const netlink::LinkCounters& c) {
    return {{"tx_packets", c.tx_packets}, {"rx_packets", c.rx_packets}, {"tx_bytes", c.tx_bytes},
            {"rx_bytes", c.rx_bytes}};
}

// One latency cell; `results` is the set it belongs to (its p50/tcp base).
nlohmann::ordered_json latency_json(const Plan& plan, const Results& results, const LatencyResult& c) {
    if (!c.skipped.empty()) {
        auto j = skipped_json("latency", c.transport, c.size, c.skipped);
        if (!c.path.empty()) j["path"] = c.path;
        return j;
    }
    const auto& s = c.summary;
    nlohmann::ordered_json j = {{"type", "latency"}, {"transport", bench::transport_name(c.transport)},
                                {"size", c.size}, {"round_trips", s.count},
                                {"warmup", plan.latency_opts.warmup}, {"p50_ns", s.p50_ns},
                                {"p90_ns", s.p90_ns}, {"p99_ns", s.p99_ns}, {"p999_ns", s.p999_ns},
                                {"max_ns", s.max_ns}, {"min_ns", s.min_ns},
                                {"mean_ns", round_to(s.mean_ns, 1)}};
    if (auto ratio = latency_ratio(results, c)) j["p50_ratio_to_tcp"] = round_to(*ratio, 4);
    if (!c.path.empty()) j["path"] = c.path;
    if (!c.path.empty() && c.tcp_mss) j["tcp_mss"] = c.tcp_mss;
    return j;
}

nlohmann::ordered_json throughput_json(const Results& results, const ThroughputResult& c) {
    if (!c.skipped.empty()) {
        auto j = skipped_json("throughput", c.transport, c.size, c.skipped);
        if (!c.path.empty()) j["path"] = c.path;
        return j;
    }
    nlohmann::ordered_json j = {{"type", "throughput"}, {"transport", bench::transport_name(c.transport)},
                                {"size", c.size}, {"seconds", round_to(c.seconds(), 6)},
                                {"bytes", c.bytes}, {"messages", c.messages},
                                {"mb_per_s", round_to(c.megabytes_per_second(), 2)},
                                {"gbit_per_s", round_to(c.gigabits_per_second(), 4)},
                                {"messages_per_s", std::llround(c.messages_per_second())}};
    if (auto ratio = throughput_ratio(results, c)) j["ratio_to_tcp"] = round_to(*ratio, 4);
    if (!c.path.empty()) j["path"] = c.path;
    if (!c.path.empty() && c.tcp_mss) j["tcp_mss"] = c.tcp_mss;
    return j;
}

nlohmann::ordered_json two_hosts_json(const Plan& plan, const TwoHostsRun& two) {
    auto host = [&](const char* address, const char* address6, const char* device,
                    const lab::NetNamespace& ns) {
        return nlohmann::ordered_json{{"address", address}, {"address6", address6}, {"device", device},
                                      {"netns", ns.inode()}, {"mtu", two.veth_mtu}};
    };
    nlohmann::ordered_json omitted = nlohmann::ordered_json::array();
    for (const auto& [t, why] : plan.not_over_veth)
        omitted.push_back({{"transport", bench::transport_name(t)}, {"reason", why}});
    return {{"type", "bench_two_hosts"},
            {"client", host(TwoHosts::kClientAddress, TwoHosts::kClientAddress6, TwoHosts::kClientDevice,
                            two.hosts.client)},
            {"server", host(TwoHosts::kServerAddress, TwoHosts::kServerAddress6, TwoHosts::kServerDevice,
                            two.hosts.server)},
            {"loopback", {{"address", "127.0.0.1"}, {"address6", "::1"}, {"device", "lo"}, {"mtu", two.lo_mtu}}},
            {"not_over_veth", std::move(omitted)}};
}

void print_json(const Plan& plan, const Results& r, const TwoHostsRun* two) {
    // With --two-hosts each cell's loopback line comes first, then its veth
    // line with the ratio and the veth counters.
    for (std::size_t i = 0; i < r.latency.size(); ++i) {
        auto j = latency_json(plan, r, r.latency[i]);
        if (two) {
            const auto& lo = two->loopback.latency[i];
            fmt::print("{}\n", latency_json(plan, two->loopback, lo).dump());
            if (j.at("type") == "latency") {
                if (auto ratio = latency_vs_loopback(r.latency[i], lo))
                    j["p50_ratio_to_loopback"] = round_to(*ratio, 4);
                j["veth_client"] = counters_json(two->latency_veth[i]);
            }
        }
        fmt::print("{}\n", j.dump());
    }
    for (std::size_t i = 0; i < r.throughput.size(); ++i) {
        auto j = throughput_json(r, r.throughput[i]);
        if (two) {
            const auto& lo = two->loopback.throughput[i];
            fmt::print("{}\n", throughput_json(two->loopback, lo).dump());
            if (j.at("type") == "throughput") {
                if (auto ratio = throughput_vs_loopback(r.throughput[i], lo))
                    j["ratio_to_loopback"] = round_to(*ratio, 4);
                j["veth_client"] = counters_json(two->throughput_veth[i]);
            }
        }
        fmt::print("{}\n", j.dump());
    }
}

// Builds the lab (commands/two_hosts_lab.h, the journey's own). Nothing
// outlives the process however it ends: the namespaces are anonymous and
// held by fds (lab/netns.h), their veth pair goes with them, and each peer
// dies with the bench (bench/peer.h), so SIGINT and SIGTERM keep their
// default action.
Result<std::unique_ptr<TwoHostsRun>> make_two_hosts() {
    auto hosts = build_two_hosts(TwoHostsSetup{.ipv6 = true});
    if (!hosts) return wrap(hosts.error(), "--two-hosts");
    auto two = std::make_unique<TwoHostsRun>(std::move(*hosts));
    Status ok = run_inside(two->hosts.client, [&]() -> Status {
        auto m = link_mtu(TwoHosts::kClientDevice);
        if (!m) return m.error();
        two->veth_mtu = *m;
        return {};
    });
    if (!ok) return ok.error();
    auto lo = link_mtu("lo");
    if (!lo) return lo.error();
    two->lo_mtu = *lo;
    return two;
}

Result<int> run_bench(const BenchOptions& o) {
    auto plan = make_plan(o);
    if (!plan) return plan.error();
    std::unique_ptr<TwoHostsRun> two;
    if (plan->two_hosts) {
        auto made = make_two_hosts();
        if (!made) return made.error();
        two = std::move(*made);
        if (o.json) {
            fmt::print("{}\n", two_hosts_json(*plan, *two).dump());
            std::fflush(stdout);
        } else {
            print_two_hosts_header(*plan, *two);
        }
    }
    auto results = run_plan(*plan, two.get());
    if (!results) return results.error();
    if (o.json)
        print_json(*plan, *results, two.get());
    else
        print_table(*plan, *results, two.get());
    if (!o.html.empty()) {
        // --two-hosts: each loopback bar beside its veth bar.
        auto latency = results->latency;
        auto throughput = results->throughput;
        if (two) {
            latency.clear();
            throughput.clear();
            for (std::size_t i = 0; i < results->latency.size(); ++i) {
                latency.push_back(two->loopback.latency[i]);
                latency.push_back(results->latency[i]);
            }
            for (std::size_t i = 0; i < results->throughput.size(); ++i) {
                throughput.push_back(two->loopback.throughput[i]);
                throughput.push_back(results->throughput[i]);
            }
        }
        if (auto st = report::write_bench_html(latency, throughput, o.html); !st) return st.error();
    }
    return 0;
}

}  // namespace

void register_bench(CLI::App& app, Runner* run) {
    auto opts = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand(
        "bench",
        "Measure latency (ping-pong round trip) and throughput (one-way stream) of every "
        "transport between two processes on this machine. Each latency cell stops after --count "
        "round trips or --latency-time seconds (the warm-up takes a tenth of that at most), each "
        "throughput cell streams --stream-time seconds: the default run (9 transports x 3 sizes, "
        "both modes) takes about 20 s and at most ~45 s.");
    cmd->add_option("--transport,-t", opts->transports,
                    "Comma-separated list, or 'all': " + bench::transport_names())
        ->capture_default_str();
    cmd->add_option("--size,-s", opts->sizes,
                    "Message sizes, comma-separated, with K/M suffixes (binary); datagram sizes "
                    "a transport cannot carry are skipped with a note")
        ->capture_default_str();
    cmd->add_option("--mode", opts->mode, "What to measure")
        ->check(CLI::IsMember({"latency", "throughput", "both"}))
        ->capture_default_str();
    cmd->add_option("--count,-n", opts->count, "Latency: measured round trips per cell")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}))
        ->capture_default_str();
    cmd->add_option("--warmup", opts->warmup, "Latency: round trips before measuring")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100000000}))
        ->capture_default_str();
    cmd->add_option("--latency-time", opts->latency_time,
                    "Latency: at most this many seconds of round trips per cell")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    cmd->add_option("--stream-time", opts->stream_time, "Throughput: seconds of streaming per cell")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    cmd->add_option("--pin", opts->pin,
                    "Pin the measuring process and its peer to two CPUs, e.g. 0,1 (default: not pinned)");
    cmd->add_flag("--json", opts->json,
                  "One JSON object per line: {\"type\":\"latency\"|\"throughput\"|\"skipped\",...}");
    cmd->add_option("--html", opts->html,
                    "Also write the results as bar charts in a self-contained HTML page");
    cmd->add_flag("--two-hosts", opts->two_hosts,
                  "Run the IP transports (tcp, tcp6, udp, udp6) across two network namespaces joined by a veth "
                  "pair (the client, measuring, in one; the server in the other; MTU 1500; needs "
                  "root), each cell beside the same cell on loopback with the veth/lo ratio. UNIX "
                  "sockets, pipe and socketpair never cross it and are listed as such");
    cmd->callback([opts, run] { *run = [opts] { return run_bench(*opts); }; });
}

}  // namespace tpk::commands
