// tracepacket bench: latency and throughput of every transport, side by side.
// Options in, runners from src/bench/, a table or JSON Lines out.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/options.h"
#include "bench/runner.h"
#include "commands/command.h"
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
};

struct Plan {
    std::vector<bench::Transport> transports;
    std::vector<std::size_t> sizes;
    bool latency = true;
    bool throughput = true;
    bench::LatencyOptions latency_opts;
    bench::ThroughputOptions throughput_opts;
};

std::chrono::nanoseconds seconds_to_ns(double s) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

Result<Plan> make_plan(const BenchOptions& o) {
    Plan plan;
    auto transports = bench::parse_transport_list(o.transports);
    if (!transports) return wrap(transports.error(), "--transport");
    plan.transports = std::move(*transports);
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
    void step(const char* what, const bench::Transport& t, std::size_t size) {
        ++done_;
        if (!tty_) return;
        fmt::print(stderr, "\r\033[K[{:>{}}/{}] {} {} {}", done_, std::to_string(total_).size(),
                   total_, what, bench::transport_name(t), bench::size_label(size));
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

Result<Results> run_plan(const Plan& plan) {
    Results results;
    Progress progress((plan.latency + plan.throughput) * plan.transports.size() * plan.sizes.size());
    if (plan.latency)
        for (const auto& t : plan.transports)
            for (auto size : plan.sizes) {
                progress.step("latency", t, size);
                auto opts = plan.latency_opts;
                opts.size = size;
                auto r = bench::run_latency(t, opts);
                if (!r) return wrap(r.error(), fmt::format("latency {} {}", bench::transport_name(t), bench::size_label(size)));
                results.latency.push_back(std::move(*r));
            }
    if (plan.throughput)
        for (const auto& t : plan.transports)
            for (auto size : plan.sizes) {
                progress.step("throughput", t, size);
                auto opts = plan.throughput_opts;
                opts.size = size;
                auto r = bench::run_throughput(t, opts);
                if (!r) return wrap(r.error(), fmt::format("throughput {} {}", bench::transport_name(t), bench::size_label(size)));
                results.throughput.push_back(std::move(*r));
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

void print_table(const Plan& plan, const Results& r) {
    if (plan.latency) {
        fmt::print("Latency: ping-pong round trip between two processes, ns "
                   "({} warm-up, then {} round trips or {:g} s per cell; {})\n",
                   plan.latency_opts.warmup, plan.latency_opts.round_trips,
                   static_cast<double>(plan.latency_opts.max_time.count()) / 1e9, pin_text(plan));
        fmt::print("{:<15} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8}\n", "transport",
                   "size", "p50", "p90", "p99", "p99.9", "max", "mean", "n", "p50/tcp");
        for (const auto& c : r.latency) {
            auto name = bench::transport_name(c.transport);
            if (!c.skipped.empty()) {
                fmt::print("{:<15} {:>8}  skipped: {}\n", name, bench::size_label(c.size), c.skipped);
                continue;
            }
            const auto& s = c.summary;
            fmt::print("{:<15} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.0f} {:>7} {:>8}\n", name,
                       bench::size_label(c.size), s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns,
                       s.mean_ns, s.count, ratio_text(latency_ratio(r, c)));
        }
    }
    if (plan.latency && plan.throughput) fmt::print("\n");
    if (plan.throughput) {
        fmt::print("Throughput: one-way stream, received bytes, {:g} s per cell "
                   "(MB = 10^6 B; {})\n",
                   static_cast<double>(plan.throughput_opts.duration.count()) / 1e9, pin_text(plan));
        fmt::print("{:<15} {:>8} {:>10} {:>8} {:>12} {:>8}\n", "transport", "size", "MB/s",
                   "Gbit/s", "msg/s", "vs tcp");
        for (const auto& c : r.throughput) {
            auto name = bench::transport_name(c.transport);
            if (!c.skipped.empty()) {
                fmt::print("{:<15} {:>8}  skipped: {}\n", name, bench::size_label(c.size), c.skipped);
                continue;
            }
            fmt::print("{:<15} {:>8} {:>10.1f} {:>8.2f} {:>12.0f} {:>8}\n", name,
                       bench::size_label(c.size), c.megabytes_per_second(), c.gigabits_per_second(),
                       c.messages_per_second(), ratio_text(throughput_ratio(r, c)));
        }
    }
}

nlohmann::ordered_json skipped_json(const char* mode, const bench::Transport& t, std::size_t size,
                            const std::string& reason) {
    return {{"type", "skipped"}, {"mode", mode}, {"transport", bench::transport_name(t)},
            {"size", size}, {"reason", reason}};
}

void print_json(const Plan& plan, const Results& r) {
    for (const auto& c : r.latency) {
        if (!c.skipped.empty()) {
            fmt::print("{}\n", skipped_json("latency", c.transport, c.size, c.skipped).dump());
            continue;
        }
        const auto& s = c.summary;
        nlohmann::ordered_json j = {{"type", "latency"}, {"transport", bench::transport_name(c.transport)},
                            {"size", c.size}, {"round_trips", s.count},
                            {"warmup", plan.latency_opts.warmup}, {"p50_ns", s.p50_ns},
                            {"p90_ns", s.p90_ns}, {"p99_ns", s.p99_ns}, {"p999_ns", s.p999_ns},
                            {"max_ns", s.max_ns}, {"min_ns", s.min_ns},
                            {"mean_ns", round_to(s.mean_ns, 1)}};
        if (auto ratio = latency_ratio(r, c)) j["p50_ratio_to_tcp"] = round_to(*ratio, 4);
        fmt::print("{}\n", j.dump());
    }
    for (const auto& c : r.throughput) {
        if (!c.skipped.empty()) {
            fmt::print("{}\n", skipped_json("throughput", c.transport, c.size, c.skipped).dump());
            continue;
        }
        nlohmann::ordered_json j = {{"type", "throughput"}, {"transport", bench::transport_name(c.transport)},
                            {"size", c.size}, {"seconds", round_to(c.seconds(), 6)},
                            {"bytes", c.bytes}, {"messages", c.messages},
                            {"mb_per_s", round_to(c.megabytes_per_second(), 2)},
                            {"gbit_per_s", round_to(c.gigabits_per_second(), 4)},
                            {"messages_per_s", std::llround(c.messages_per_second())}};
        if (auto ratio = throughput_ratio(r, c)) j["ratio_to_tcp"] = round_to(*ratio, 4);
        fmt::print("{}\n", j.dump());
    }
}

Result<int> run_bench(const BenchOptions& o) {
    auto plan = make_plan(o);
    if (!plan) return plan.error();
    auto results = run_plan(*plan);
    if (!results) return results.error();
    if (o.json)
        print_json(*plan, *results);
    else
        print_table(*plan, *results);
    if (!o.html.empty())
        if (auto st = report::write_bench_html(results->latency, results->throughput, o.html); !st)
            return st.error();
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
    cmd->callback([opts, run] { *run = [opts] { return run_bench(*opts); }; });
}

}  // namespace tpk::commands
