// Percentile arithmetic of src/bench/percentile.cpp: known inputs, exact
// outputs (nearest rank: the sample at rank ceil(p/100 * n)).
#include "bench/percentile.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace tpk::bench {
namespace {

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> v(n);
    std::iota(v.begin(), v.end(), 1);
    return v;
}

TEST(Percentile, OneToHundredGivesTheRankItself) {
    auto v = one_to(100);
    EXPECT_EQ(percentile(v, 50), 50u);
    EXPECT_EQ(percentile(v, 90), 90u);
    EXPECT_EQ(percentile(v, 99), 99u);
    EXPECT_EQ(percentile(v, 99.9), 100u);  // rank ceil(99.9) = 100
    EXPECT_EQ(percentile(v, 100), 100u);
    EXPECT_EQ(percentile(v, 0.5), 1u);     // rank ceil(0.5) = 1
}

TEST(Percentile, NinetyNinePointNineOfAThousandIsRank999NotRank1000) {
    // 99.9 / 100 * 1000 is 999.0000000000001 in doubles; ceil of that would
    // wrongly pick rank 1000.
    auto v = one_to(1000);
    EXPECT_EQ(percentile(v, 99.9), 999u);
    EXPECT_EQ(percentile(one_to(2000), 99.9), 1998u);
    EXPECT_EQ(percentile(one_to(10000), 99.9), 9990u);
}

TEST(Percentile, RoundsTheRankUp) {
    auto v = one_to(10);
    EXPECT_EQ(percentile(v, 50), 5u);   // rank 5
    EXPECT_EQ(percentile(v, 51), 6u);   // rank ceil(5.1) = 6
    EXPECT_EQ(percentile(v, 99), 10u);  // rank ceil(9.9) = 10
    EXPECT_EQ(percentile(one_to(3), 50), 2u);  // rank ceil(1.5) = 2
}

TEST(Percentile, EmptyIsZero) {
    std::vector<std::uint64_t> none;
    EXPECT_EQ(percentile(none, 50), 0u);
}

TEST(Summarize, SortsAndSummarizesUnorderedSamplesWithDuplicates) {
    std::vector<std::uint64_t> v{5, 1, 3, 3, 9};
    auto s = summarize(v);
    EXPECT_EQ(v, (std::vector<std::uint64_t>{1, 3, 3, 5, 9}));
    EXPECT_EQ(s.count, 5u);
    EXPECT_EQ(s.p50_ns, 3u);   // rank ceil(2.5) = 3
    EXPECT_EQ(s.p90_ns, 9u);   // rank ceil(4.5) = 5
    EXPECT_EQ(s.p99_ns, 9u);
    EXPECT_EQ(s.p999_ns, 9u);
    EXPECT_EQ(s.min_ns, 1u);
    EXPECT_EQ(s.max_ns, 9u);
    EXPECT_DOUBLE_EQ(s.mean_ns, 4.2);
}

TEST(Summarize, OneThousandSamples) {
    auto v = one_to(1000);
    std::reverse(v.begin(), v.end());
    auto s = summarize(v);
    EXPECT_EQ(s.count, 1000u);
    EXPECT_EQ(s.p50_ns, 500u);
    EXPECT_EQ(s.p90_ns, 900u);
    EXPECT_EQ(s.p99_ns, 990u);
    EXPECT_EQ(s.p999_ns, 999u);
    EXPECT_EQ(s.max_ns, 1000u);
    EXPECT_EQ(s.min_ns, 1u);
    EXPECT_DOUBLE_EQ(s.mean_ns, 500.5);
}

TEST(Summarize, OneSampleIsEveryPercentile) {
    std::vector<std::uint64_t> v{4242};
    auto s = summarize(v);
    EXPECT_EQ(s.count, 1u);
    EXPECT_EQ(s.p50_ns, 4242u);
    EXPECT_EQ(s.p999_ns, 4242u);
    EXPECT_EQ(s.max_ns, 4242u);
    EXPECT_DOUBLE_EQ(s.mean_ns, 4242.0);
}

TEST(Summarize, LargeValuesKeepAnExactMean) {
    // Nanosecond samples near 2^40 (18 minutes): the mean must not lose the
    // odd half.
    std::vector<std::uint64_t> v{(1ull << 40), (1ull << 40) + 1};
    auto s = summarize(v);
    EXPECT_DOUBLE_EQ(s.mean_ns, static_cast<double>(1ull << 40) + 0.5);
}

TEST(Summarize, NoSamplesIsAllZero) {
    std::vector<std::uint64_t> none;
    auto s = summarize(none);
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.p50_ns, 0u);
    EXPECT_EQ(s.max_ns, 0u);
    EXPECT_DOUBLE_EQ(s.mean_ns, 0.0);
}

}  // namespace
}  // namespace tpk::bench
