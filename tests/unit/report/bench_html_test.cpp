// Bench results as charts: a bar per measured cell, skipped cells left out,
// labels with the size only when sizes differ.
#include <gtest/gtest.h>

#include "report/bench_html.h"

namespace tpk::report {
namespace {

bench::LatencyResult latency(lab::Transport t, std::size_t size, std::uint64_t p50, std::string skipped = {}) {
    bench::LatencyResult r;
    r.transport = bench::Transport::of(t);
    r.size = size;
    r.summary.count = 1000;
    r.summary.p50_ns = p50;
    r.summary.p99_ns = p50 * 3;
    r.skipped = std::move(skipped);
    return r;
}

bench::ThroughputResult throughput(lab::Transport t, std::size_t size, std::uint64_t bytes) {
    bench::ThroughputResult r;
    r.transport = bench::Transport::of(t);
    r.size = size;
    r.bytes = bytes;
    r.elapsed_ns = 500'000'000;
    return r;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

TEST(BenchHtml, OneBarPerMeasuredCell) {
    const auto charts = bench_charts(
        {latency(lab::Transport::tcp, 64, 21'000), latency(lab::Transport::unix_stream, 64, 9'000),
         latency(lab::Transport::udp, 64, 0, "not measured: why")},
        {throughput(lab::Transport::tcp, 65536, 2'000'000'000)});
    ASSERT_EQ(charts.size(), 3u);  // p50, p99, throughput
    ASSERT_EQ(charts[0].bars.size(), 2u);
    EXPECT_EQ(charts[0].bars[0].label, "tcp");
    EXPECT_EQ(charts[0].bars[0].value_text, "21.0 µs");
    EXPECT_EQ(charts[1].bars[1].value_text, "27.0 µs");
    EXPECT_NE(charts[0].title.find("64 B"), std::string::npos) << charts[0].title;
    EXPECT_EQ(charts[2].bars[0].value_text, "4000 MB/s (32.00 Gbit/s)");

    const std::string html = render_charts_html("tracepacket bench", charts);
    EXPECT_EQ(count(html, "class=\"chart-bar\""), 5u);
    EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(BenchHtml, SizesInLabelsWhenTheyDiffer) {
    const auto charts = bench_charts({latency(lab::Transport::tcp, 64, 1'000),
                                      latency(lab::Transport::tcp, 1 << 20, 90'000)},
                                     {});
    ASSERT_EQ(charts.size(), 2u);
    EXPECT_EQ(charts[0].bars[0].label, "tcp · 64 B");
    EXPECT_EQ(charts[0].bars[1].label, "tcp · 1 MiB");
}

// bench --two-hosts gives each cell on lo and over veth: the path ends the label.
TEST(BenchHtml, TwoHostsBarsNameTheirPath) {
    auto lo = latency(lab::Transport::tcp, 64, 6'500);
    lo.path = "lo";
    auto veth = latency(lab::Transport::tcp, 64, 6'800);
    veth.path = "veth";
    auto lo_t = throughput(lab::Transport::udp, 1024, 100'000'000);
    lo_t.path = "lo";
    auto veth_t = throughput(lab::Transport::udp, 1024, 90'000'000);
    veth_t.path = "veth";
    const auto charts = bench_charts({lo, veth}, {lo_t, veth_t});
    ASSERT_EQ(charts.size(), 3u);
    ASSERT_EQ(charts[0].bars.size(), 2u);
    EXPECT_EQ(charts[0].bars[0].label, "tcp · lo");
    EXPECT_EQ(charts[0].bars[1].label, "tcp · veth");
    ASSERT_EQ(charts[2].bars.size(), 2u);
    EXPECT_EQ(charts[2].bars[1].label, "udp · veth");
}

}  // namespace
}  // namespace tpk::report
