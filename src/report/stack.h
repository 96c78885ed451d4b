// The protocol stack with the last journey's time per layer: what
// `tracepacket stack` prints. write_outputs() saves each journey's layer
// medians to $XDG_CACHE_HOME/tracepacket/last-journey.json (else
// ~/.cache/...), and the stack command reads them back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "report/mermaid.h"
#include "util/result.h"

namespace tpk::report {

struct LastJourney {
    std::string transport;        // "tcp"
    std::string transport_label;  // "TCP", "UDP", "UNIX"
    std::string device;           // "lo"
    std::uint64_t data_packets = 0;
    std::uint64_t median_one_way_ns = 0;
    std::vector<LayerTimes> layers;
};

LastJourney last_journey_of(const journey::Journey& j);
std::string last_journey_json(const LastJourney& l);
Result<LastJourney> parse_last_journey(const std::string& text);

// "" when neither XDG_CACHE_HOME nor HOME is set.
std::string last_journey_path();
Status save_last_journey(const journey::Journey& j);
// nullopt when no journey was saved yet; an Error when the file is unreadable.
Result<std::optional<LastJourney>> load_last_journey();

// The stack as aligned text (under 100 columns); without a journey, the
// levels alone and a line saying how to get times.
std::string render_stack_text(const std::optional<LastJourney>& last, bool color);
std::string render_stack_mermaid(const std::optional<LastJourney>& last);

}  // namespace tpk::report
