// Stage 4a, retransmits: which packets carry bytes sent before. Runs before
// the causes (a retransmit is never what a syscall sent). Consumes the side
// events (tcp:tcp_retransmit_skb) and the packets with their connections and
// directions (correlator_connections); sets Packet::retransmit and
// retransmit_of and adds the tracepoint's hop; returns the notes it has for
// the journey (failed or unplaced tcp_retransmit_skb).
#pragma once

#include <string>
#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

// Each tcp_retransmit_skb event to the packet that went out for it.
std::vector<std::string> attach_retransmits(const std::vector<const Event*>& side,
                                            std::vector<PacketState>& packets);

// Retransmits seen in the sequence numbers, traced or not.
void mark_retransmits(std::vector<PacketState>& packets);

}  // namespace tpk::journey::stages
