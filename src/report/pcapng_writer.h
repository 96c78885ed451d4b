// The journey's captured frames as pcapng (Wireshark, tshark, tcpdump -r),
// each frame carrying its packet's kernel journey as the packet comment
// (opt_comment) and the interface block naming the device. Frames the
// correlator could not match keep a comment saying so. Serialising the
// blocks is src/capture/pcapng_writer's job; this file only decides what
// goes in them.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "util/result.h"

namespace tpk::report {

// The comment of one packet's frame: title, who sent it, one line per hop
// (time since the cause, layer, event, detail), the one-way time.
std::string packet_comment(const journey::Journey& j, std::size_t packet);

// Writes every captured frame (matched or not) in time order. Fails with
// a sentence when there are no frames (UNIX sockets never reach a device)
// or the journeys mix link types.
Status write_pcapng(const journey::Journey& j, const std::string& path);
Status write_pcapng(std::span<const journey::Journey> journeys, const std::string& path);

}  // namespace tpk::report
