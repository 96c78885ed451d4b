// The journey as text for a terminal (the journey and trace commands): the
// calls of each side, the route, the states, every packet with its hops and
// their explanations, the time per layer; and --compare's side by side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "journey/journey.h"

namespace tpk::report {

struct TextStyle {
    bool color = false;   // ANSI colours (a tty and NO_COLOR unset)
    int width = 100;      // lines never exceed it
    bool explain = true;  // each packet's and hop's explanation (journey/explain.h); --brief: off
};

// Colour when stdout is a terminal and NO_COLOR is not set (no-color.org).
TextStyle terminal_style();

// The whole journey as aligned text: syscalls of each side, the route, the
// state changes, every packet with its hops, the per-layer summary, and lost
// events whenever non-zero.
std::string render_journey_text(const journey::Journey& j, const TextStyle& style);
// The same, written to `to` as it is rendered (a busy trace's text is
// hundreds of MB: not built whole first).
void write_journey_text(const journey::Journey& j, const TextStyle& style, std::ostream& to);

// A streamed trace (journey/stream.h) as text: the header once, then each
// chunk's system calls, state changes and packets as their traffic settles
// (numbered over the whole run, times from t0: text_start_ns of the first
// chunk), then the route and the summary of the whole run.
std::string render_stream_head_text(const journey::Journey& first_chunk, const TextStyle& style);
void write_stream_chunk_text(const journey::Journey& chunk, std::uint64_t t0,
                             const TextStyle& style, std::ostream& to);
std::string render_stream_tail_text(const journey::Journey& totals, std::uint64_t t0,
                                    const TextStyle& style);
std::uint64_t text_start_ns(const journey::Journey& j);

// One-way times (send() entered -> recv() returned) of a journey's data
// packets in message order, the first tenth left out as warm-up (first page
// faults and wake-ups, not the transport): percentiles in ns, 0 when none.
struct OneWaySpread {
    std::size_t samples = 0;
    std::size_t warmup = 0;     // left out
    std::uint64_t p25_ns = 0, p50_ns = 0, p75_ns = 0;
};
OneWaySpread one_way_spread(const journey::Journey& j);

// Several journeys side by side (--compare): hops, time per layer, one way
// (median and spread without warm-up). untraced_one_way_ns, when given (one
// per journey, 0: not measured), is the same transport's untraced ping-pong
// (bench) for the direction check.
std::string render_compare_text(const std::vector<journey::Journey>& journeys,
                                const TextStyle& style,
                                const std::vector<std::uint64_t>& untraced_one_way_ns = {});

}  // namespace tpk::report
