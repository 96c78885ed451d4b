#include "commands/chunk_printer.h"

#include <string>

#include "commands/journey_session.h"
#include "report/json_lines.h"

namespace tpk::commands {

void ChunkPrinter::print(journey::Journey& chunk) {
    if (json_) {
        report::write_chunk_json(chunk, out_);
    } else {
        if (first_) {
            out_ << report::render_stream_head_text(chunk, style_);
            t0_ = report::text_start_ns(chunk);
        }
        report::write_stream_chunk_text(chunk, t0_, style_, out_);
    }
    first_ = false;
    out_.flush();
}

journey::Journey ChunkPrinter::finish(journey::Recording& rec) {
    // Chunks went out while tracing; the rest (after a busy run, most of it:
    // the correlating thread yields to the traffic) is written while it is
    // correlated. Then the whole run's connections, routes and summary.
    rec.stream->finish([&](journey::Journey&& chunk) {
        stamp_journey(chunk, rec);
        print(chunk);
    });
    auto totals = rec.stream->totals(rec.input.lost_events, rec.input.capture_dropped);
    stamp_journey(totals, rec);
    if (json_) {
        std::string buf;
        report::write_totals_json(totals, buf);
        out_ << buf;
    } else {
        out_ << report::render_stream_tail_text(totals, t0_, style_);
    }
    out_.flush();
    return totals;
}

}  // namespace tpk::commands
