// The journey as a Chrome trace-event JSON file (ui.perfetto.dev,
// chrome://tracing): one track per traced thread (its system calls, and the
// application hops inside them) and one per kernel layer and side (a slice
// per hop), with flow arrows joining each packet's hops across the tracks.
// Times are relative to the journey's first event; displayTimeUnit is ns.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "util/result.h"

namespace tpk::report {

// The whole file. Several journeys (--compare) each get their own kernel
// process, all starting at time 0 so they line up.
std::string render_perfetto(std::span<const journey::Journey> journeys);

Status write_perfetto(std::span<const journey::Journey> journeys, const std::string& path);

}  // namespace tpk::report
