// The runners over real sockets, pipes and processes, with tiny counts. They
// check what a run returns and what it leaves behind, never how fast it was.
#include "bench/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>

#include <cerrno>

#include "bench/link.h"

namespace tpk::bench {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// True when this process has no child left, running or unreaped.
bool no_children_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

LatencyOptions tiny_latency(std::size_t size) {
    LatencyOptions o;
    o.size = size;
    o.round_trips = 50;
    o.warmup = 5;
    o.max_time = 60s;  // the count ends these runs, never the clock
    return o;
}

class EveryTransport : public ::testing::TestWithParam<Transport> {};

TEST_P(EveryTransport, LatencyRunsEveryRoundTripAndOrdersItsPercentiles) {
    for (std::size_t size : {std::size_t{1}, std::size_t{64}, std::size_t{1024}, std::size_t{65000}}) {
        auto r = run_latency(GetParam(), tiny_latency(size));
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_TRUE(r->skipped.empty()) << r->skipped;
        const auto& s = r->summary;
        EXPECT_EQ(s.count, 50u) << size;
        EXPECT_GT(s.min_ns, 0u);
        EXPECT_LE(s.min_ns, s.p50_ns);
        EXPECT_LE(s.p50_ns, s.p90_ns);
        EXPECT_LE(s.p90_ns, s.p99_ns);
        EXPECT_LE(s.p99_ns, s.p999_ns);
        EXPECT_LE(s.p999_ns, s.max_ns);
        EXPECT_GE(s.mean_ns, static_cast<double>(s.min_ns));
        EXPECT_LE(s.mean_ns, static_cast<double>(s.max_ns));
    }
    EXPECT_TRUE(no_children_left());
}

TEST_P(EveryTransport, ThroughputCountsReceivedBytes) {
    ThroughputOptions o;
    o.size = 1024;
    o.duration = 20ms;
    auto r = run_throughput(GetParam(), o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_TRUE(r->skipped.empty()) << r->skipped;
    EXPECT_GT(r->bytes, 0u);
    EXPECT_GT(r->messages, 0u);
    EXPECT_GE(r->elapsed_ns, 20'000'000u);
    EXPECT_GT(r->megabytes_per_second(), 0);
    EXPECT_DOUBLE_EQ(r->gigabits_per_second(), r->megabytes_per_second() * 8 / 1000);
    if (keeps_boundaries(GetParam())) {
        EXPECT_EQ(r->bytes, r->messages * 1024);  // every datagram read whole
    } else {
        EXPECT_EQ(r->messages, r->bytes / 1024);
    }
    EXPECT_TRUE(no_children_left());
}

INSTANTIATE_TEST_SUITE_P(Bench, EveryTransport, ::testing::ValuesIn(all_transports()),
                         [](const auto& info) {
                             std::string name(transport_name(info.param));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

TEST(Latency, StreamsCarryMessagesLargerThanOneRead) {
    // 1 MiB does not fit a socket buffer: the echo must loop on partial
    // reads and writes.
    for (auto t : {Transport::of(lab::Transport::tcp), Transport::of(lab::Transport::unix_stream),
                   Transport::pipe(), Transport::socketpair()}) {
        auto opts = tiny_latency(1 << 20);
        opts.round_trips = 3;
        opts.warmup = 1;
        auto r = run_latency(t, opts);
        ASSERT_TRUE(r.ok()) << transport_name(t) << ": " << r.error().message();
        EXPECT_EQ(r->summary.count, 3u) << transport_name(t);
    }
    EXPECT_TRUE(no_children_left());
}

TEST(Latency, UdpLargerThanADatagramIsSkippedWithTheLimit) {
    auto r = run_latency(Transport::of(lab::Transport::udp), tiny_latency(65508));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_THAT(r->skipped, HasSubstr("udp carries at most 65507 B"));
    EXPECT_EQ(r->summary.count, 0u);

    auto fits = run_latency(Transport::of(lab::Transport::udp), tiny_latency(65507));
    ASSERT_TRUE(fits.ok()) << fits.error().message();
    EXPECT_TRUE(fits->skipped.empty());
    EXPECT_EQ(fits->summary.count, 50u);

    auto v6 = run_latency(Transport::of(lab::Transport::udp6), tiny_latency(65528));
    ASSERT_TRUE(v6.ok());
    EXPECT_THAT(v6->skipped, HasSubstr("udp6 carries at most 65527 B"));
    EXPECT_TRUE(no_children_left());
}

TEST(Latency, UnixDatagramLimitComesFromTheSendBuffer) {
    auto link = open_link(Transport::of(lab::Transport::unix_dgram));
    ASSERT_TRUE(link.ok()) << link.error().message();
    const std::size_t limit = link->max_message;
    ASSERT_GT(limit, 0u);
    for (auto t : {lab::Transport::unix_dgram, lab::Transport::unix_seqpacket}) {
        ThroughputOptions o;
        o.size = limit + 1;
        o.duration = 10ms;
        auto over = run_throughput(Transport::of(t), o);
        ASSERT_TRUE(over.ok()) << over.error().message();
        EXPECT_THAT(over->skipped, HasSubstr("sk_sndbuf - 32"));

        auto opts = tiny_latency(limit);  // the largest that fits is really sent
        opts.round_trips = 3;
        auto at = run_latency(Transport::of(t), opts);
        ASSERT_TRUE(at.ok()) << at.error().message();
        EXPECT_TRUE(at->skipped.empty()) << at->skipped;
        EXPECT_EQ(at->summary.count, 3u);
    }
    EXPECT_TRUE(no_children_left());
}

TEST(Latency, TheTimeBudgetBoundsWarmUpAndCount) {
    // Ten million round trips each way would take minutes; the 5 ms budget
    // (a tenth of it for the warm-up) ends the run with what it measured.
    LatencyOptions o;
    o.size = 64;
    o.warmup = 10'000'000;
    o.round_trips = 10'000'000;
    o.max_time = 5ms;
    auto r = run_latency(Transport::pipe(), o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_GE(r->summary.count, 1u);
    EXPECT_LT(r->summary.count, o.round_trips);
    EXPECT_TRUE(no_children_left());
}

TEST(Latency, StreamsAreNeverSkipped) {
    EXPECT_EQ(skip_reason(Transport::of(lab::Transport::tcp), 1 << 26, 0), "");
    EXPECT_EQ(skip_reason(Transport::pipe(), 1 << 26, 0), "");
    EXPECT_EQ(skip_reason(Transport::of(lab::Transport::udp), 65507, 65507), "");
    EXPECT_NE(skip_reason(Transport::of(lab::Transport::udp), 65508, 65507), "");
}

TEST(Latency, PinnedRunKeepsTheCallersAffinity) {
    cpu_set_t before;
    ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE && cpu < 0; ++i)
        if (CPU_ISSET(i, &before)) cpu = i;
    auto opts = tiny_latency(64);
    opts.pin = CpuPin{cpu, cpu};
    auto r = run_latency(Transport::of(lab::Transport::unix_stream), opts);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->summary.count, 50u);
    cpu_set_t after;
    ASSERT_EQ(sched_getaffinity(0, sizeof after, &after), 0);
    EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST(Latency, PinningToAMissingCpuIsAnErrorAndLeavesNoPeer) {
    auto opts = tiny_latency(64);
    opts.pin = CpuPin{0, CPU_SETSIZE - 1};
    auto r = run_latency(Transport::of(lab::Transport::tcp), opts);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message(), HasSubstr("pin to CPU"));
    EXPECT_TRUE(no_children_left());
}

TEST(Link, DatagramSidesAreConnectedBothWays) {
    for (auto t : {lab::Transport::udp, lab::Transport::udp6, lab::Transport::unix_dgram}) {
        auto link = open_link(Transport::of(t));
        ASSERT_TRUE(link.ok()) << link.error().message();
        char out = 'a', in = 0;
        ASSERT_EQ(::write(link->near.out(), &out, 1), 1);
        ASSERT_EQ(::read(link->far.in(), &in, 1), 1);
        EXPECT_EQ(in, 'a');
        out = 'b';
        ASSERT_EQ(::write(link->far.out(), &out, 1), 1);
        ASSERT_EQ(::read(link->near.in(), &in, 1), 1);
        EXPECT_EQ(in, 'b');
    }
}

}  // namespace
}  // namespace tpk::bench

namespace tpk::bench {
namespace {

TEST(ShutdownOnPeerExit, ADeadPeerEndsABlockedDatagramRead) {
    // No EOF exists on UDP or unix-dgram: without the guard this read
    // would wait forever for the peer that exits without writing.
    for (auto t : {lab::Transport::udp, lab::Transport::unix_dgram}) {
        auto link = open_link(Transport::of(t));
        ASSERT_TRUE(link.ok()) << link.error().message();
        ShutdownOnPeerExit guard(link->near.in());
        auto peer = Peer::spawn([] { return 3; }, std::nullopt);
        ASSERT_TRUE(peer.ok()) << peer.error().message();
        char byte = 0;
        ssize_t r;
        do r = ::read(link->near.in(), &byte, 1);
        while (r < 0 && errno == EINTR);
        EXPECT_EQ(r, 0) << lab::transport_name(t);
        EXPECT_EQ(peer->early_exit(), "exited with status 3");
        EXPECT_EQ(peer->early_exit(), "exited with status 3") << "the fate is kept";
    }
    EXPECT_TRUE(no_children_left());
}

// Only TCP and UDP sockets travel a NetPath; everything else says why, and
// open_link refuses it before making anything.
TEST(NetPath, OnlyIpSocketsCrossIt) {
    for (const auto& t : all_transports()) {
        const bool ip = t.kind == Transport::Kind::socket && !lab::is_unix(t.socket);
        EXPECT_EQ(net_path_refusal(t).empty(), ip) << transport_name(t);
    }
    EXPECT_THAT(net_path_refusal(Transport::of(lab::Transport::unix_stream)), HasSubstr("UNIX sockets"));
    NetPath path{"veth", nullptr, nullptr, "198.18.0.1", ""};
    auto link = open_link(Transport::pipe(), LinkOptions{.path = &path});
    ASSERT_FALSE(link.ok());
    EXPECT_THAT(link.error().message(), HasSubstr("pipe over veth: not an IP socket"));
    // A path without IPv6 addresses cannot carry tcp6.
    auto v6 = open_link(Transport::of(lab::Transport::tcp6), LinkOptions{.path = &path});
    ASSERT_FALSE(v6.ok());
    EXPECT_THAT(v6.error().message(), HasSubstr("veth has no IPv6 addresses"));
}

}  // namespace
}  // namespace tpk::bench
