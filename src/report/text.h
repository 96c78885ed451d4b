// The journey as text for a terminal (the journey and trace commands): the
// calls of each side, the route, the states, every packet with its hops and
// their explanations, the time per layer; and --compare's side by side.
#pragma once

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

// Several journeys side by side (--compare): hops, time per layer, total.
std::string render_compare_text(const std::vector<journey::Journey>& journeys,
                                const TextStyle& style);

}  // namespace tpk::report
