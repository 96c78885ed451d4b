// Text and JSON Lines for journeys (the journey and trace commands). The
// other formats (pcapng, Perfetto, HTML, Mermaid) are in src/report/.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "journey/journey.h"

namespace tpk::commands {

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

// JSON Lines, docs/json-schema.md: connection, route, syscall, state, packet,
// frame records, then one summary record last. Every record carries
// "schema_version".
void write_journey_json(const journey::Journey& j, std::ostream& out);

// "S", "S.", "P.", "F.", ".", "R." as tcpdump prints TCP flags.
std::string tcp_flags_text(std::uint8_t flags);

}  // namespace tpk::commands
