// Percentiles of latency samples. Nearest-rank definition: the p-th
// percentile of n sorted samples is the sample at rank ceil(p/100 * n)
// (1-based), so every reported value is a sample that really happened.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tpk::bench {

struct LatencySummary {
    std::uint64_t count = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p90_ns = 0;
    std::uint64_t p99_ns = 0;
    std::uint64_t p999_ns = 0;  // p99.9
    std::uint64_t max_ns = 0;
    std::uint64_t min_ns = 0;
    double mean_ns = 0;
};

// The nearest-rank percentile of ascending samples; p in (0, 100], given to
// three decimals at most (99.9 is computed as 99900/100000 in integers, so no
// rounding error can move the rank). 0 for no samples.
std::uint64_t percentile(std::span<const std::uint64_t> sorted, double p);

// Sorts the samples in place and summarizes them; all zero for no samples.
LatencySummary summarize(std::vector<std::uint64_t>& samples);

}  // namespace tpk::bench
