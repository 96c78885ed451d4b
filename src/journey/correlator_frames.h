// Stage 6, frames: what the capture saw, and which packet each frame is.
// decode_frames consumes EventStreams::frames and produces Frames in capture
// order. match_frames consumes those, the classified packets and the
// connections; it sets Packet::frame and returns the frames no packet took
// (other conversations' only counted) with the frame counts for Stats.
#pragma once

#include <cstdint>
#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

std::vector<Frame> decode_frames(const std::vector<const Event*>& frames);

struct FrameMatch {
    std::vector<Frame> unmatched;    // of the traced conversations, capture order
    std::uint64_t frames = 0;        // of the traced conversations
    std::uint64_t matched = 0;
    std::uint64_t other = 0;         // of other conversations (not shown)
};

FrameMatch match_frames(std::vector<Frame> frames, std::vector<PacketState>& packets,
                        const std::vector<Connection>& connections);

}  // namespace tpk::journey::stages
