#include "report/bench_html.h"

#include <fmt/format.h>

#include <map>

#include "report/labels.h"

namespace tpk::report {

namespace {

std::string size_text(std::size_t bytes) {
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
    if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
    return fmt::format("{} B", bytes);
}

std::string bar_label(const bench::Transport& t, std::size_t size, bool several_sizes) {
    std::string s(bench::transport_name(t));
    if (several_sizes) s += " · " + size_text(size);
    return s;
}

// `bench --two-hosts` gives each cell twice, on lo and over veth.
template <class R>
std::string bar_label(const R& r, bool several_sizes) {
    std::string s = bar_label(r.transport, r.size, several_sizes);
    if (!r.path.empty()) s += " · " + r.path;
    return s;
}

template <class R>
bool several_sizes(const std::vector<R>& results) {
    for (const auto& r : results)
        if (r.size != results.front().size) return true;
    return false;
}

}  // namespace

std::vector<BarChart> bench_charts(const std::vector<bench::LatencyResult>& latency,
                                   const std::vector<bench::ThroughputResult>& throughput) {
    std::vector<BarChart> charts;
    if (!latency.empty()) {
        const bool sizes = several_sizes(latency);
        const std::string of = sizes ? "" : " of " + size_text(latency.front().size);
        BarChart p50{"round-trip latency" + of + ", median (p50); shorter is better", {}};
        BarChart p99{"round-trip latency" + of + ", p99; shorter is better", {}};
        for (const auto& r : latency) {
            if (!r.skipped.empty()) continue;
            const std::string label = bar_label(r, sizes);
            p50.bars.push_back({label, static_cast<double>(r.summary.p50_ns),
                                duration_text(static_cast<std::int64_t>(r.summary.p50_ns))});
            p99.bars.push_back({label, static_cast<double>(r.summary.p99_ns),
                                duration_text(static_cast<std::int64_t>(r.summary.p99_ns))});
        }
        charts.push_back(std::move(p50));
        charts.push_back(std::move(p99));
    }
    if (!throughput.empty()) {
        const bool sizes = several_sizes(throughput);
        const std::string of = sizes ? "" : " with " + size_text(throughput.front().size) + " writes";
        BarChart mbs{"throughput" + of + ", MB/s; longer is better", {}};
        for (const auto& r : throughput) {
            if (!r.skipped.empty()) continue;
            const double v = r.megabytes_per_second();
            mbs.bars.push_back({bar_label(r, sizes), v,
                                fmt::format("{:.0f} MB/s ({:.2f} Gbit/s)", v, r.gigabits_per_second())});
        }
        charts.push_back(std::move(mbs));
    }
    return charts;
}

Status write_bench_html(const std::vector<bench::LatencyResult>& latency,
                        const std::vector<bench::ThroughputResult>& throughput,
                        const std::string& path) {
    return write_charts_html("tracepacket bench", bench_charts(latency, throughput), path);
}

}  // namespace tpk::report
