// One self-contained HTML page (no scripts, no network fetches): the
// sequence diagram as inline SVG (client, its socket, TCP/UDP and IP, the
// device, the server's IP, TCP/UDP and socket, server; one arrow per packet,
// handshake and teardown shaded), the protocol stack with the measured time
// per layer, the packets table, the route and notes. With several journeys
// (--compare) a bar chart of their one-way times comes first.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "util/result.h"

namespace tpk::report {

// A horizontal bar chart, for --compare and for bench results (the bench
// command turns its results into these; this module does not know them).
struct Bar {
    std::string label;        // "tcp"
    double value = 0;         // bar length, in the chart's unit
    std::string value_text;   // "23.4 µs", printed at the bar's end
};
struct BarChart {
    std::string title;        // "median one-way time"
    std::vector<Bar> bars;
};

std::string render_bar_chart_svg(const BarChart& chart);
// The pieces of a journey's page, for pages that arrange them otherwise
// (report/two_hosts: two sequence diagrams side by side). id numbers a
// journey within one page (its SVG markers' ids); several titles the
// section with the journey's transport.
std::string render_sequence_svg(const journey::Journey& j, std::size_t id);
std::string sequence_help();  // the sentence under "Sequence"
std::string render_compare_layers_table(std::span<const journey::Journey> journeys);
std::string render_journey_section(const journey::Journey& j, std::size_t id, bool several,
                                   bool with_sequence);
std::string render_journeys_html(std::span<const journey::Journey> journeys);
// A page of charts only (bench results).
std::string render_charts_html(const std::string& title, const std::vector<BarChart>& charts);

// The page around a body: the report's style (plus extra_style), the title
// as <h1>. The labs' pages (report/backlog, report/two_hosts) use it too.
std::string html_page(const std::string& title, const std::string& body,
                      const std::string& extra_style = {});
// Writes text to path; errors name the option ("--html: write PATH: ...").
Status write_text_file(const std::string& flag, const std::string& path, const std::string& text);

Status write_html(std::span<const journey::Journey> journeys, const std::string& path);
Status write_charts_html(const std::string& title, const std::vector<BarChart>& charts,
                         const std::string& path);

}  // namespace tpk::report
