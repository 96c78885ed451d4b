// Short texts of a correlated packet for the journey tests' expectation
// tables: its hop names and its TCP flags.
#pragma once

#include <cstdint>
#include <string>

#include "journey/journey.h"
#include "model/event.h"

namespace tpk::testing {

// Hop names in time order, separated by spaces; with mark_receive, "<" after
// each hop of the receiving side.
inline std::string hop_names(const journey::Packet& p, bool mark_receive = false) {
    std::string s;
    for (const auto& h : p.hops) {
        if (!s.empty()) s += ' ';
        s += model::event_name(h.event);
        if (mark_receive && h.receive_side) s += '<';
    }
    return s;
}

// "S", "S.", "F.", "R", "P.": the flags the tables list.
inline std::string tcp_flags(std::uint8_t f) {
    std::string s;
    if (f & model::kSyn) s += 'S';
    if (f & model::kFin) s += 'F';
    if (f & model::kRst) s += 'R';
    if (f & model::kPsh) s += 'P';
    if (f & model::kAck) s += '.';
    return s;
}

}  // namespace tpk::testing
