// The explaining stage, after correlation: one plain sentence per hop of
// what the kernel did there and why it matters for this packet, and one line
// per packet of why it was sent and what it changed. Written from the
// journey's own facts (the hop, its packet, the calls and states around it);
// where a fact is missing the sentence says it is unknown rather than guess.
// Every writer shows these (text, JSON Lines, HTML, pcapng, Perfetto), so
// the story is the same in each.
#pragma once

#include "journey/journey.h"

namespace tpk::journey {

// Fills Hop::explain of every packet's hops and Packet::explain. Idempotent.
void explain(Journey& j);

}  // namespace tpk::journey
