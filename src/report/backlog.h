// The writers of `tracepacket backlog`: text for a terminal, JSON Lines
// (docs/json-schema.md, "tracepacket backlog") and one self-contained HTML
// page (inline SVG, no scripts): the queues over time as a chart, the
// clients' outcomes, the counter deltas, the drops with their reasons and
// the explanation. All three read the same findings (journey/backlog.h) and
// share their sentences; none computes anything of its own.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "journey/backlog.h"
#include "util/result.h"

namespace tpk::report {

using journey::BacklogRun;

// The sentences every format shares: the lines above the timeline (what
// ran, where, with which settings), the summary's title and lines, a
// client's connect() time ("12.3 ms", "-").
std::vector<std::string> backlog_intro_lines(const BacklogRun& run);
std::string backlog_summary_title(const BacklogRun& run);
std::vector<std::string> backlog_summary_lines(const BacklogRun& run, const journey::BacklogFindings& f);
std::string backlog_latency_text(const journey::BacklogClientResult& r);

std::string render_backlog_text(const BacklogRun& run);
void write_backlog_json(const BacklogRun& run, std::ostream& out);

// The chart alone: accept queue (steps), its limit and the SYN queue against
// the run's time (ms since the first connect()).
std::string render_backlog_queue_svg(const BacklogRun& run);
std::string render_backlog_html(const BacklogRun& run);
Status write_backlog_html(const BacklogRun& run, const std::string& path);

}  // namespace tpk::report
