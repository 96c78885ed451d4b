// `tracepacket backlog --html FILE`: the run as one self-contained page. The
// queues over time are a step chart in inline SVG (the sock_diag samples are
// one per change, so each value holds until the next sample); the clients
// are one bar each, from connect() to its end; the tables and the sentences
// are the text's (report/backlog.cpp, journey/backlog.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/backlog.h"
#include "report/html.h"
#include "report/labels.h"

namespace tpk::report {

namespace {

using journey::backlog_client_results;
using journey::backlog_counter_keys;
using journey::backlog_explanation;
using journey::backlog_ms;
using journey::backlog_timeline;
using journey::BacklogClientResult;
using journey::BacklogFindings;
using journey::BacklogLine;

constexpr const char* kBacklogStyle = R"(
.queue-chart .axis{stroke:#4a5568;stroke-width:1}.queue-chart .grid{stroke:#edf0f3}
.queue-chart .tick{font-size:10px;fill:#4a5568}.queue-chart .axis-title{font-size:11px;fill:#4a5568}
.accept-queue{fill:none;stroke:#2b6cb0;stroke-width:2}.syn-queue{fill:none;stroke:#c05621;stroke-width:2}
.accept-limit{stroke:#4a5568;stroke-dasharray:6 4}.accept-full{stroke:#c53030;stroke-dasharray:2 3}
.drop-mark{fill:#c53030}.retransmit-mark{fill:#d69e2e}.legend{font-size:11px;fill:#1d2430}
.client-wait{fill:#f6ad55}.client-open{fill:#90cdf4}.client-served{fill:#48a56a}.client-fail{fill:#c53030}
.client-label{font-size:10px;fill:#4a5568}
tr.outcome-served td:nth-child(9){color:#2f855a}tr.outcome-timeout td:nth-child(9){color:#b42318}
)";

// Ticks at 1, 2 or 5 times a power of ten, about `want` of them over [0, max].
double tick_step(double max, int want) {
    if (max <= 0) return 1;
    const double raw = max / want;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * p) return m * p;
    return 10 * p;
}

struct Frame {
    double t_min = 0, t_max = 1;   // ms
    double y_max = 1;              // queue length
    int x0 = 56, y0 = 20, w = 820, h = 220;
    double x(double ms) const { return x0 + (ms - t_min) / (t_max - t_min) * w; }
    double y(double v) const { return y0 + h - v / y_max * h; }
};

// The one time axis of both charts: from the first sample (the listener
// is watched before the clients start) to the lab's end.
Frame time_frame(const BacklogRun& run, const BacklogFindings& f) {
    Frame fr;
    fr.t_max = std::max(1.0, backlog_ms(run, run.end_ns));
    for (const auto& q : run.queue) fr.t_min = std::min(fr.t_min, backlog_ms(run, q.t_ns));
    fr.y_max = std::max({f.accept_limit + 2.0, f.peak_accept_queue + 1.0, f.peak_syn_queue + 1.0});
    return fr;
}

std::string step_path(const BacklogRun& run, const Frame& fr, std::uint32_t (*value)(const journey::QueueSample&)) {
    std::string pts;
    double last_y = -1;
    for (const auto& q : run.queue) {
        const double x = fr.x(std::max(fr.t_min, backlog_ms(run, q.t_ns)));
        const double y = fr.y(value(q));
        if (last_y >= 0) pts += fmt::format(" {:.1f},{:.1f}", x, last_y);
        pts += fmt::format(" {:.1f},{:.1f}", x, y);
        last_y = y;
    }
    if (last_y >= 0) pts += fmt::format(" {:.1f},{:.1f}", fr.x(fr.t_max), last_y);
    return pts.empty() ? pts : pts.substr(1);
}

std::string clients_svg(const BacklogRun& run, const std::vector<BacklogClientResult>& results, const Frame& chart) {
    constexpr int kRowH = 14;
    Frame fr = chart;
    fr.y0 = 8;
    fr.h = static_cast<int>(results.size()) * kRowH;
    const int height = fr.y0 + fr.h + 24;
    std::string s = fmt::format(
        "<svg class=\"client-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"each client from connect() to its end\" "
        "data-clients=\"{2}\">\n",
        fr.x0 + fr.w + 20, height, results.size());
    const double end_ms = backlog_ms(run, run.end_ns);
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        const auto& c = r.client;
        const int y = fr.y0 + static_cast<int>(i) * kRowH;
        s += fmt::format("<g class=\"client\" data-client=\"{}\" data-outcome=\"{}\"><text class=\"client-label\" "
                         "x=\"{}\" y=\"{}\" text-anchor=\"end\">client {}</text>",
                         c.index, r.outcome, fr.x0 - 6, y + 10, c.index);
        auto bar = [&](const char* cls, double from, double to, const std::string& tip) {
            from = std::max(from, fr.t_min);
            to = std::min(std::max(to, from), fr.t_max);
            s += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"><title>{}</title></rect>",
                             cls, fr.x(from), y + 2, std::max(1.0, fr.x(to) - fr.x(from)), kRowH - 4, html_escape(tip));
        };
        const std::string tip = fmt::format("client {} (port {}): {}", c.index, c.port, r.detail);
        if (c.connect_start_ns) {
            const double start = backlog_ms(run, c.connect_start_ns);
            if (c.connected_ns) {
                const double connected = backlog_ms(run, c.connected_ns);
                bar("client-wait", start, connected, tip);
                if (c.served_ns) bar("client-served", connected, backlog_ms(run, c.served_ns), tip);
                else bar(c.recv_errno ? "client-fail" : "client-open", connected, end_ms, tip);
            } else {
                bar(c.connect_errno ? "client-fail" : "client-wait", start, end_ms, tip);
            }
        }
        s += "</g>\n";
    }
    s += fmt::format("<text class=\"legend\" x=\"{}\" y=\"{}\"><tspan class=\"client-wait\">■</tspan> connect() "
                     "waiting  <tspan class=\"client-open\">■</tspan> connected, not served  "
                     "<tspan class=\"client-served\">■</tspan> connected until served  "
                     "<tspan class=\"client-fail\">■</tspan> failed or reset</text>\n",
                     fr.x0, height - 6);
    return s + "</svg>\n";
}

bool is_type(const BacklogLine& l, const char* type) { return l.json.value("type", "") == type; }

std::string counters_table(const BacklogFindings& f) {
    std::string s = "<table class=\"counters\"><tr><th>counter</th><th>delta</th></tr>\n";
    for (const auto& key : backlog_counter_keys()) {
        auto it = f.counter_deltas.find(key);
        if (it == f.counter_deltas.end()) continue;
        s += fmt::format("<tr data-counter=\"{0}\"><td class=\"mono\">{0}</td><td class=\"num\">{1:+}</td></tr>\n",
                         html_escape(key), it->second);
    }
    return s + "</table>\n";
}

std::string drops_table(const BacklogRun& run, const std::vector<BacklogLine>& lines) {
    std::string s = "<table class=\"drops\"><tr><th>t (ms)</th><th>client</th><th>segment</th><th>reason</th>"
                    "<th>listener drop</th><th>what it means</th></tr>\n";
    int n = 0;
    for (const auto& l : lines) {
        if (!is_type(l, "backlog_drop")) continue;
        ++n;
        s += fmt::format("<tr class=\"drop\" data-reason=\"{}\"><td class=\"num\">{:.3f}</td><td class=\"num\">{}</td>"
                         "<td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>\n",
                         html_escape(l.json.value("reason", "")), backlog_ms(run, l.t_ns),
                         l.json.value("client", 0), html_escape(l.json.value("segment", "")),
                         html_escape(l.json.value("reason", "")), l.json.value("listener_drop", false) ? "yes" : "no",
                         html_escape(l.text));
    }
    if (!n) return "<p>No drops of the lab's segments were seen.</p>\n";
    return s + "</table>\n";
}

std::string clients_table(const BacklogRun& run, const std::vector<BacklogClientResult>& results) {
    std::string s = "<table class=\"clients\"><tr><th>client</th><th>port</th><th>connect()</th><th>SYNs</th>"
                    "<th>SYN retries</th><th>SYN-ACK retries</th><th>drops</th><th>served at</th><th>outcome</th>"
                    "<th>what it experienced</th></tr>\n";
    auto count = [&](int v) { return run.tracer_missing ? std::string("-") : std::to_string(v); };
    for (const auto& r : results) {
        const bool timeout = r.outcome.find("timeout") != std::string::npos || r.outcome == "half_open" ||
                             r.outcome == "not_accepted";
        s += fmt::format("<tr class=\"client-result outcome-{}\" data-outcome=\"{}\"><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                         r.outcome == "served" ? "served" : timeout ? "timeout" : "failed", r.outcome,
                         r.client.index, r.client.port, html_escape(backlog_latency_text(r)), count(r.syns),
                         count(r.syn_retransmits), count(r.synack_retransmits), count(r.drops),
                         r.served_ms ? fmt::format("{:.1f} ms", *r.served_ms) : "-", r.outcome,
                         html_escape(r.detail));
    }
    return s + "</table>\n";
}

std::string timeline_table(const BacklogRun& run, const std::vector<BacklogLine>& lines) {
    std::string s = fmt::format("<details><summary><b>Timeline ({} lines, as the text prints it)</b></summary>\n"
                                "<table class=\"timeline\"><tr><th>t (ms)</th><th>what happened</th></tr>\n",
                                lines.size());
    for (const auto& l : lines)
        s += fmt::format("<tr data-type=\"{}\"><td class=\"num\">{:.3f}</td><td>{}</td></tr>\n",
                         html_escape(l.json.value("type", "")), backlog_ms(run, l.t_ns), html_escape(l.text));
    return s + "</table></details>\n";
}

}  // namespace

std::string render_backlog_queue_svg(const BacklogRun& run) {
    const BacklogFindings f = find(run);
    const auto lines = backlog_timeline(run);
    const Frame fr = time_frame(run, f);
    const int width = fr.x0 + fr.w + 20, height = fr.y0 + fr.h + 64;
    std::string s = fmt::format(
        "<svg class=\"queue-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"the listener's accept queue and SYN queue over time\" "
        "data-peak-accept-queue=\"{2}\" data-accept-limit=\"{3}\" data-peak-syn-queue=\"{4}\" data-samples=\"{5}\">\n",
        width, height, f.peak_accept_queue, f.accept_limit, f.peak_syn_queue, run.queue.size());
    // Grid and axes.
    const double ystep = tick_step(fr.y_max, 6);
    for (double v = 0; v <= fr.y_max + 1e-9; v += ystep)
        s += fmt::format("<line class=\"grid\" x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\"/>"
                         "<text class=\"tick\" x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                         fr.x0, fr.y(v), fr.x0 + fr.w, fr.x0 - 6, fr.y(v) + 3, v);
    const double tstep = tick_step(fr.t_max - fr.t_min, 10);
    for (double t = std::ceil(fr.t_min / tstep) * tstep; t <= fr.t_max + 1e-9; t += tstep)
        s += fmt::format("<line class=\"axis\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\"/>"
                         "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:g}</text>\n",
                         fr.x(t), fr.y0 + fr.h, fr.y0 + fr.h + 4, fr.y0 + fr.h + 15, std::abs(t) < 1e-9 ? 0.0 : t);
    s += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
                     "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>\n"
                     "<text class=\"axis-title\" x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">ms since the first connect()</text>\n",
                     fr.x0, fr.y0, fr.y0 + fr.h, fr.x0 + fr.w, fr.x0 + fr.w / 2, fr.y0 + fr.h + 30);
    // The limit (listen()'s backlog) and the kernel's full mark (backlog + 1).
    if (f.accept_limit) {
        s += fmt::format("<line class=\"accept-limit\" x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\"><title>"
                         "accept queue limit (sk_max_ack_backlog = backlog {3})</title></line>\n",
                         fr.x0, fr.y(f.accept_limit), fr.x0 + fr.w, f.accept_limit);
        s += fmt::format("<line class=\"accept-full\" x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\"><title>"
                         "full at backlog + 1 = {3} (sk_acceptq_is_full: more than the limit)</title></line>\n",
                         fr.x0, fr.y(f.accept_limit + 1), fr.x0 + fr.w, f.accept_limit + 1);
    }
    s += fmt::format("<polyline class=\"syn-queue\" points=\"{}\"><title>SYN queue (request sockets), peak {}</title>"
                     "</polyline>\n",
                     step_path(run, fr, [](const journey::QueueSample& q) { return q.syn_queue; }), f.peak_syn_queue);
    s += fmt::format("<polyline class=\"accept-queue\" points=\"{}\"><title>accept queue, peak {}</title>"
                     "</polyline>\n",
                     step_path(run, fr, [](const journey::QueueSample& q) { return q.accept_queue; }),
                     f.peak_accept_queue);
    // The kernel's drops and retransmits under the time axis.
    for (const auto& l : lines) {
        const bool drop = is_type(l, "backlog_drop"), retransmit = is_type(l, "backlog_retransmit");
        if (!drop && !retransmit) continue;
        const double x = fr.x(std::clamp(backlog_ms(run, l.t_ns), fr.t_min, fr.t_max));
        const int y = fr.y0 + fr.h + (drop ? 36 : 44);
        s += fmt::format("<path class=\"{}\" d=\"M{:.1f},{} l-3,6 h6 z\"><title>{:.3f} ms: {}</title></path>\n",
                         drop ? "drop-mark" : "retransmit-mark", x, y, backlog_ms(run, l.t_ns), html_escape(l.text));
    }
    s += fmt::format("<text class=\"legend\" x=\"{}\" y=\"12\"><tspan fill=\"#2b6cb0\">━</tspan> accept queue (peak {}) "
                     " <tspan fill=\"#c05621\">━</tspan> SYN queue (peak {})  <tspan fill=\"#4a5568\">╌</tspan> limit "
                     "{}  <tspan fill=\"#c53030\">┈</tspan> full at {}  <tspan fill=\"#c53030\">▲</tspan> drop  "
                     "<tspan fill=\"#d69e2e\">▲</tspan> retransmit</text>\n",
                     fr.x0, f.peak_accept_queue, f.peak_syn_queue, f.accept_limit, f.accept_limit + 1);
    return s + "</svg>\n";
}

std::string render_backlog_html(const BacklogRun& run) {
    const BacklogFindings f = find(run);
    const auto lines = backlog_timeline(run);
    const auto results = backlog_client_results(run);
    std::string body = "<section id=\"lab\">\n";
    for (const auto& l : backlog_intro_lines(run)) body += "<p class=\"summary\">" + html_escape(l) + "</p>\n";
    body += "</section>\n<section id=\"queues\"><h2>The listener's queues over time</h2>\n"
            "<p class=\"summary\">From sock_diag, sampled every 5 ms and kept at each change: the accept queue "
            "(handshakes done, not accept()ed yet) against its limit, and the SYN queue (request sockets waiting "
            "for the handshake's last ACK). Triangles under the axis are the kernel's drops and retransmits "
            "(hover for each).</p>\n";
    body += render_backlog_queue_svg(run);
    body += "</section>\n<section id=\"summary\"><h2>Summary</h2>\n<p>" + html_escape(backlog_summary_title(run)) +
            "</p><ul>\n";
    for (const auto& l : backlog_summary_lines(run, f)) body += "<li>" + html_escape(l) + "</li>\n";
    body += "</ul>\n</section>\n";
    body += fmt::format("<section id=\"clients\"><h2>What each client experienced ({} clients)</h2>\n", results.size());
    body += clients_svg(run, results, time_frame(run, f));
    body += clients_table(run, results);
    body += "</section>\n<section id=\"counters\"><h2>Kernel counters (deltas over the run)</h2>\n";
    body += counters_table(f);
    body += "</section>\n<section id=\"drops\"><h2>Drops and their reasons</h2>\n";
    body += run.tracer_missing ? "<p>" + html_escape("Kernel events unavailable: " + *run.tracer_missing) + "</p>\n"
                               : drops_table(run, lines);
    body += "</section>\n<section id=\"why\"><h2>Why</h2><ul>\n";
    for (const auto& p : backlog_explanation(run, f)) body += "<li>" + html_escape(p) + "</li>\n";
    body += "</ul></section>\n";
    body += timeline_table(run, lines);
    return html_page(fmt::format("tracepacket backlog: backlog {}, {} clients", run.options.backlog,
                                 run.options.clients),
                     body, kBacklogStyle);
}

Status write_backlog_html(const BacklogRun& run, const std::string& path) {
    return write_text_file("--html", path, render_backlog_html(run));
}

}  // namespace tpk::report
