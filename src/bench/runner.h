// The two measurements: ping-pong latency and one-way stream throughput, each
// between this process and a forked peer over one transport. They return
// results; the command formats them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "bench/link.h"
#include "bench/peer.h"
#include "bench/percentile.h"
#include "bench/transport.h"
#include "util/result.h"

namespace tpk::bench {

struct LatencyOptions {
    std::size_t size = 64;                  // bytes per message, each way
    std::uint64_t round_trips = 10000;      // measured, after the warm-up
    std::uint64_t warmup = 1000;            // round trips not measured (a tenth of max_time at most)
    std::chrono::nanoseconds max_time = std::chrono::seconds(1);  // stops earlier if reached
    std::optional<CpuPin> pin;
    const NetPath* path = nullptr;          // null: loopback of this namespace
};

struct LatencyResult {
    Transport transport;
    std::size_t size = 0;
    LatencySummary summary;      // of one sample per round trip, in ns
    std::string skipped;         // non-empty: not measured, and why
    std::string path;            // the NetPath's name; empty for loopback (the command may say "lo")
    std::uint32_t tcp_mss = 0;   // TCP: the connection's MSS (Link::tcp_mss)
};

struct ThroughputOptions {
    std::size_t size = 64;       // bytes per write (and per read)
    std::chrono::nanoseconds duration = std::chrono::milliseconds(500);
    std::optional<CpuPin> pin;
    const NetPath* path = nullptr;  // null: loopback of this namespace
};

struct ThroughputResult {
    Transport transport;
    std::size_t size = 0;
    std::uint64_t bytes = 0;     // received by the measuring side
    std::uint64_t messages = 0;  // reads for datagrams, bytes / size for streams
    std::uint64_t elapsed_ns = 0;
    std::string skipped;
    std::string path;            // the NetPath's name; empty for loopback (the command may say "lo")
    std::uint32_t tcp_mss = 0;   // TCP: the connection's MSS (Link::tcp_mss)

    double seconds() const { return static_cast<double>(elapsed_ns) / 1e9; }
    double megabytes_per_second() const;  // MB = 10^6 bytes
    double gigabits_per_second() const;   // Gbit = 10^9 bits, as iperf3 counts
    double messages_per_second() const;
};

// Ping-pong: this side writes `size` bytes and waits for the peer to send
// them back, timing each round trip with CLOCK_MONOTONIC.
Result<LatencyResult> run_latency(const Transport& t, const LatencyOptions& opts);

// The peer writes `size`-byte messages as fast as it can; this side reads
// them for `duration` (timed from the first byte received) and counts what
// arrived: for UDP, datagrams the kernel dropped are not counted.
Result<ThroughputResult> run_throughput(const Transport& t, const ThroughputOptions& opts);

// Why `size` cannot be sent as one message on a link whose limit is
// `max_message` (0: no limit); empty when it can.
std::string skip_reason(const Transport& t, std::size_t size, std::size_t max_message);

}  // namespace tpk::bench
