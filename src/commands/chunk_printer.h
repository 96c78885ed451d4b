// How trace and journey print a journey streamed in chunks (journey/stream.h,
// commands/stream_feeder.h): the head with the first chunk, then each chunk's
// calls, states and packets as it comes, and once the run is over the whole
// run's connections, routes and summary.
#pragma once

#include <cstdint>
#include <ostream>

#include "journey/journey.h"
#include "journey/recording.h"
#include "report/text.h"

namespace tpk::commands {

class ChunkPrinter {
public:
    // json: JSON Lines (docs/json-schema.md), else text in style.
    ChunkPrinter(bool json, report::TextStyle style, std::ostream& out)
        : json_(json), style_(style), out_(out) {}

    // A chunk, stamped already (commands/journey_session.h, stamp_journey).
    void print(journey::Journey& chunk);
    // The rest of rec.stream once tracing has ended (correlated and written
    // in slices, stamped from rec), then the whole run's records. Returns
    // the totals, for the report files. The caller checks the stream.
    journey::Journey finish(journey::Recording& rec);

private:
    bool json_;
    report::TextStyle style_;
    std::ostream& out_;
    bool first_ = true;
    std::uint64_t t0_ = 0;   // the text's time origin: the first chunk's start
};

}  // namespace tpk::commands
