#include "bench/percentile.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace tpk::bench {

std::uint64_t percentile(std::span<const std::uint64_t> sorted, double p) {
    assert(p > 0 && p <= 100);
    if (sorted.empty()) return 0;
    // p as parts of 100000: 99.9 -> 99900 exactly, where 99.9/100*n in
    // floating point can land just above an integer and bump the rank.
    const auto parts = static_cast<std::uint64_t>(std::llround(p * 1000));
    const std::uint64_t n = sorted.size();
    std::uint64_t rank = (n * parts + 99999) / 100000;  // ceil(n * p / 100)
    rank = std::clamp<std::uint64_t>(rank, 1, n);
    return sorted[rank - 1];
}

LatencySummary summarize(std::vector<std::uint64_t>& samples) {
    LatencySummary s;
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    s.count = samples.size();
    s.p50_ns = percentile(samples, 50);
    s.p90_ns = percentile(samples, 90);
    s.p99_ns = percentile(samples, 99);
    s.p999_ns = percentile(samples, 99.9);
    s.min_ns = samples.front();
    s.max_ns = samples.back();
    // Sum in 128 bits would be exact; long double is enough: 2^64 ns is 584 years.
    long double sum = std::accumulate(samples.begin(), samples.end(), 0.0L);
    s.mean_ns = static_cast<double>(sum / static_cast<long double>(s.count));
    return s;
}

}  // namespace tpk::bench
