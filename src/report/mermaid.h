// Mermaid text: the packets of a journey as a sequenceDiagram, and the
// protocol stack as a top-down graph annotated with time per layer. Paste
// either into a Markdown file that renders Mermaid (GitHub, GitLab).
#pragma once

#include <string>
#include <vector>

#include "journey/journey.h"

namespace tpk::report {

std::string render_mermaid_sequence(const journey::Journey& j);

// One level's measured medians, as the stack graph shows them. The stack
// command reads these from the last journey's cache file, so they are kept
// apart from the Journey.
struct LayerTimes {
    model::Layer layer = model::Layer::application;
    bool receive_side = false;
    std::uint64_t median_ns = 0;
    std::size_t samples = 0;
};
std::vector<LayerTimes> layer_times(const journey::Journey& j);

// The stack graph; transport is "TCP", "UDP" or "UNIX" (whose lower levels
// are marked unused); `heading` becomes a comment line ("%% last journey: tcp").
std::string render_mermaid_stack(const std::vector<LayerTimes>& times, const std::string& transport,
                                 const std::string& device, const std::string& heading);

}  // namespace tpk::report
