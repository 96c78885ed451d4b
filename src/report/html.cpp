#include "report/html.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "report/labels.h"

namespace tpk::report {

namespace {

using journey::Journey;
using journey::Packet;
using journey::PacketKind;

constexpr int kLaneX0 = 90;       // x of the client lane
constexpr int kLaneGap = 100;     // between lanes
constexpr int kHeader = 64;       // lane titles
constexpr int kRow = 34;          // one packet
constexpr int kSvgWidth = kLaneX0 * 2 + kLaneGap * (kLaneCount - 1);

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;
color:#1d2430;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde3ea}
h3{font-size:15px;margin:18px 0 6px}
.summary{color:#4a5568}.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px}
.lost{color:#b42318;font-weight:600}
table{border-collapse:collapse;font-size:12.5px}td,th{padding:3px 8px;border-bottom:1px solid #edf0f3;
text-align:left;vertical-align:top}th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.dropped td{color:#b42318}.packets td:nth-child(-n+8){white-space:nowrap}
.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,monospace;font-size:12px}
svg text{font-family:system-ui,sans-serif}
.lane-line{stroke:#c5ced8;stroke-dasharray:4 4}.lane-title{font-size:12px;font-weight:600;fill:#2d3748}
.lane-group{font-size:11px;fill:#718096}
.phase-handshake{fill:#e6f4ea}.phase-teardown{fill:#fdecea}.phase-label{font-size:10px;fill:#718096}
.packet-arrow{fill:none;stroke-width:1.8}
.kind-handshake{stroke:#2f855a}.kind-data,.kind-datagram,.kind-message{stroke:#2b6cb0}
.kind-ack{stroke:#718096}.kind-teardown{stroke:#c05621}.kind-reset,.dropped-arrow{stroke:#c53030}
.dropped-arrow{stroke-dasharray:5 3}
.hop-dot{fill:#fff;stroke:#1d2430;stroke-width:1.2}.packet-label{font-size:11px;fill:#1d2430}
.stack td.level{font-weight:600}.stack td:nth-child(2){min-width:250px}.bar-cell{width:180px}
.bar{height:10px;background:#4a90d9;border-radius:2px;display:inline-block}
.bar.recv{background:#48a56a}
.chart-bar{fill:#4a90d9}.chart-label{font-size:12px;fill:#1d2430}.chart-value{font-size:12px;fill:#4a5568}
)";

constexpr const char* kSequenceHelp =
    "Each arrow is one packet, drawn across the layers it was seen at; a dot marks each of them "
    "(hover a dot for its hops and times).";

std::string marker_id(std::size_t journey, std::string_view kind) {
    return fmt::format("arrow-{}-{}", journey, kind);
}

int lane_x(int lane) { return kLaneX0 + lane * kLaneGap; }

std::int64_t since(std::uint64_t t0, std::uint64_t t) {
    return t > t0 ? static_cast<std::int64_t>(t - t0) : 0;
}

std::vector<std::string> lane_titles(const Journey& j) {
    const std::string t = transport_label(j) == "UNIX" ? "TCP/UDP" : transport_label(j);
    const std::string dev = device_label(j);
    return {"client", "socket", t, "IP", dev, "IP", t, "socket", "server"};
}

std::string svg_defs(std::size_t ji) {
    static constexpr std::pair<std::string_view, std::string_view> kColors[] = {
        {"handshake", "#2f855a"}, {"data", "#2b6cb0"}, {"ack", "#718096"},
        {"teardown", "#c05621"},  {"reset", "#c53030"},
    };
    std::string s = "<defs>";
    for (const auto& [kind, color] : kColors)
        s += fmt::format(
            "<marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
            "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
            "fill=\"{}\"/></marker>",
            marker_id(ji, kind), color);
    return s + "</defs>\n";
}

std::string_view arrow_color_kind(const Packet& p) {
    if (p.dropped || p.kind == PacketKind::reset) return "reset";
    switch (p.kind) {
        case PacketKind::handshake: return "handshake";
        case PacketKind::ack: return "ack";
        case PacketKind::teardown: return "teardown";
        default: return "data";
    }
}

// Shaded bands behind consecutive handshake or teardown packets.
std::string phase_bands(const Journey& j) {
    std::string s;
    const auto& ps = j.packets;
    for (std::size_t i = 0; i < ps.size();) {
        const PacketKind k = ps[i].kind;
        std::size_t end = i + 1;
        while (end < ps.size() && ps[end].kind == k) ++end;
        if (k == PacketKind::handshake || k == PacketKind::teardown) {
            const auto name = journey::packet_kind_name(k);
            const int y = kHeader + static_cast<int>(i) * kRow;
            s += fmt::format("<rect class=\"phase phase-{0}\" x=\"0\" y=\"{1}\" width=\"{2}\" "
                             "height=\"{3}\"/><text class=\"phase-label\" x=\"4\" y=\"{4}\">{0}"
                             "</text>\n",
                             name, y, kSvgWidth, static_cast<int>(end - i) * kRow, y + 12);
        }
        i = end;
    }
    return s;
}

std::string lane_header(const Journey& j, int height) {
    std::string s;
    const auto titles = lane_titles(j);
    s += fmt::format("<text class=\"lane-group\" x=\"{}\" y=\"14\" text-anchor=\"middle\">"
                     "client's kernel</text>",
                     lane_x(2));
    s += fmt::format("<text class=\"lane-group\" x=\"{}\" y=\"14\" text-anchor=\"middle\">"
                     "server's kernel</text>\n",
                     lane_x(6));
    for (int lane = 0; lane < kLaneCount; ++lane) {
        s += fmt::format("<line class=\"lane-line\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>",
                         lane_x(lane), 44, height - 6);
        s += fmt::format("<text class=\"lane-title\" x=\"{}\" y=\"36\" text-anchor=\"middle\">{}"
                         "</text>\n",
                         lane_x(lane), html_escape(titles[lane]));
    }
    return s;
}

// One packet: one arrow across the lanes it was seen at, a dot on each of
// them (the dot's tooltip lists the hops there).
std::string packet_row(const Journey& j, std::size_t ji, std::size_t index, std::uint64_t t0) {
    const Packet& p = j.packets[index];
    const int y = kHeader + static_cast<int>(index) * kRow;
    const int y1 = y + 15, y2 = y + 27;
    int from = p.direction == journey::Direction::server_to_client ? kLaneCount - 1 : 0;
    int to = kLaneCount - 1 - from;
    if (!p.hops.empty()) {
        // From the sender's outermost lane to the receiver's: a hop the
        // journey lists late (the connect() exit after the ACK left) must not
        // turn the arrow around.
        int lo = kLaneCount, hi = -1;
        for (const auto& h : p.hops) {
            lo = std::min(lo, lane_of(p, h));
            hi = std::max(hi, lane_of(p, h));
        }
        const bool leftwards = p.direction == journey::Direction::server_to_client;
        from = leftwards ? hi : lo;
        to = leftwards ? lo : hi;
    }
    const int x1 = lane_x(from), x2 = lane_x(to);
    const auto kind = arrow_color_kind(p);
    std::string cls = fmt::format("packet-arrow kind-{}", journey::packet_kind_name(p.kind));
    if (p.dropped) cls += " dropped-arrow";
    std::string path = x1 == x2 ? fmt::format("M{},{} h34 v{} h-30", x1, y1, y2 - y1)
                                : fmt::format("M{},{} L{},{}", x1, y1, x2, y2);
    std::string s = fmt::format(
        "<g class=\"packet\" data-packet=\"{}\"><path class=\"{}\" d=\"{}\" marker-end=\"url(#{})\">"
        "<title>{}</title></path>\n",
        index + 1, cls, path, marker_id(ji, kind), html_escape(packet_title(j, index)));
    const std::string label = fmt::format(
        "{} · at +{} · {}", packet_title(j, index),
        duration_text(since(t0, p.cause_ns)),
        p.hops.empty() ? std::string("no hops") : duration_text(packet_span_ns(p)));
    s += fmt::format("<text class=\"packet-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}"
                     "</text>\n",
                     (x1 + x2) / 2 + (x1 == x2 ? 60 : 0), y + 10, html_escape(label));
    std::set<int> lanes;
    for (const auto& h : p.hops) lanes.insert(lane_of(p, h));
    for (int lane : lanes) {
        std::string tip;
        for (const auto& h : p.hops)
            if (lane_of(p, h) == lane)
                tip += hop_line(h) + (h.explain.empty() ? "" : "\n  " + h.explain) + "\n";
        const int x = lane_x(lane);
        const int dot_y = x1 == x2 ? y1 : y1 + (y2 - y1) * (x - x1) / (x2 - x1);
        s += fmt::format("<circle class=\"hop-dot\" cx=\"{}\" cy=\"{}\" r=\"3.5\"><title>{}"
                         "</title></circle>\n",
                         x, dot_y, html_escape(tip));
    }
    return s + "</g>\n";
}

// The journey's first moment: its first system call or packet cause.
std::uint64_t first_time(const Journey& j) {
    std::uint64_t t = 0;
    auto take = [&t](std::uint64_t v) {
        if (v && (t == 0 || v < t)) t = v;
    };
    for (const auto& p : j.packets) take(p.cause_ns);
    for (const auto& c : j.syscalls) take(c.enter_ns);
    return t;
}

std::string sequence_svg(const Journey& j, std::size_t ji) {
    const int height = kHeader + static_cast<int>(j.packets.size()) * kRow + 12;
    std::string s = fmt::format(
        "<svg class=\"sequence\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"sequence diagram of {2} packets\">\n",
        kSvgWidth, height, j.packets.size());
    s += svg_defs(ji);
    s += phase_bands(j);
    s += lane_header(j, height);
    const std::uint64_t t0 = first_time(j);
    for (std::size_t i = 0; i < j.packets.size(); ++i) s += packet_row(j, ji, i, t0);
    return s + "</svg>\n";
}

const journey::LayerSummary* find_summary(const Journey& j, model::Layer layer, bool receive) {
    for (const auto& l : j.layer_summary)
        if (l.layer == layer && l.receive_side == receive) return &l;
    return nullptr;
}

std::string bar_cell(const journey::LayerSummary* l, std::uint64_t max_ns, bool recv) {
    if (!l) return "<td class=\"num\">—</td><td class=\"bar-cell\"></td>";
    const double pct = max_ns ? 100.0 * static_cast<double>(l->median_ns) / static_cast<double>(max_ns)
                              : 0;
    return fmt::format("<td class=\"num\">{} <small>({} samples)</small></td><td class=\"bar-cell\">"
                       "<span class=\"bar{}\" style=\"width:{:.1f}%\"></span></td>",
                       duration_text(static_cast<std::int64_t>(l->median_ns)), l->samples,
                       recv ? " recv" : "", pct);
}

std::string stack_table(const Journey& j) {
    std::uint64_t max_ns = 0;
    for (const auto& l : j.layer_summary) max_ns = std::max(max_ns, l.median_ns);
    std::string s = "<table class=\"stack\"><tr><th>layer</th><th>what happens there</th>"
                    "<th>send side (median)</th><th></th><th>receive side (median)</th><th></th></tr>\n";
    for (const auto& level : kStackLevels) {
        s += fmt::format("<tr><td class=\"level\">{}</td><td>{}</td>", level.name,
                         html_escape(level.what));
        s += bar_cell(find_summary(j, level.layer, false), max_ns, false);
        s += bar_cell(find_summary(j, level.layer, true), max_ns, true);
        s += "</tr>\n";
    }
    s += "</table>\n";
    if (j.stats.median_one_way_ns)
        s += fmt::format("<p>Median one-way time of the data packets (send() enter to recv() exit): "
                         "<b>{}</b> over {} data packets.</p>\n",
                         duration_text(static_cast<std::int64_t>(j.stats.median_one_way_ns)),
                         j.stats.data_packets);
    if (transport_label(j) == "UNIX")
        s += "<p>UNIX domain sockets never enter TCP/UDP, IP or a device: the sender's skb goes "
             "straight onto the peer's receive queue.</p>\n";
    if (j.layer_summary.empty())
        s += "<p>No per-layer times: the journey holds no data packets with kernel hops.</p>\n";
    return s;
}

std::string packets_table(const Journey& j) {
    std::string s = "<table class=\"packets\"><tr><th>#</th><th>at</th><th>dir</th><th>kind</th>"
                    "<th>flags</th><th>seq</th><th>ack</th><th>len</th><th>sent by</th><th>hops</th>"
                    "<th>cause → last hop</th><th>frame</th></tr>\n";
    const std::uint64_t t0 = first_time(j);
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const Packet& p = j.packets[i];
        s += fmt::format(
            "<tr class=\"packet-row{}\"><td class=\"num\">{}</td><td class=\"num\">+{}</td><td>{}</td>"
            "<td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
            "<td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
            "<td class=\"mono\">{}</td></tr>\n",
            p.dropped ? " dropped" : "", i + 1,
            duration_text(since(t0, p.cause_ns)),
            html_escape(journey::direction_name(p.direction)),
            std::string(journey::packet_kind_name(p.kind)) +
                std::string(p.retransmit ? " (retransmit)" : "") +
                (p.dropped ? " dropped " + html_escape(p.drop_reason) : ""),
            tcp_flags_text(p.tcp_flags), p.rel_seq, p.rel_ack, p.payload_len,
            html_escape(p.sent_by), p.hops.size(), duration_text(packet_span_ns(p)),
            p.frame ? html_escape(p.frame->summary) : "—");
        // What the packet did and each hop's explanation: folded, no script.
        if (p.explain.empty() && p.hops.empty()) continue;
        s += "<tr class=\"packet-explain\"><td></td><td colspan=\"11\"><details><summary>" +
             html_escape(p.explain.empty() ? "hops" : p.explain) + "</summary><ol>";
        for (const auto& h : p.hops)
            s += "<li><span class=\"mono\">" + html_escape(hop_line(h)) + "</span>" +
                 (h.explain.empty() ? "" : "<br>" + html_escape(h.explain)) + "</li>";
        s += "</ol></details></td></tr>\n";
    }
    return s + "</table>\n";
}

// Folded (<details>) as it is long; shown open when there are no packets,
// as in a partial run it is most of what there is.
std::string syscalls_section(const Journey& j, std::uint64_t t0) {
    if (j.syscalls.empty()) return {};
    std::string s = fmt::format("<details{}><summary><b>System calls ({})</b></summary>\n",
                                j.packets.empty() ? " open" : "", j.syscalls.size());
    s += "<table class=\"syscalls\"><tr><th>at</th><th>side</th><th>pid/tid</th><th>call</th>"
         "<th>fd</th><th>size</th><th>ret</th><th>took</th><th>packets</th></tr>\n";
    for (const auto& c : j.syscalls) {
        std::string packets;
        for (auto p : c.packets) packets += fmt::format("{}#{}", packets.empty() ? "" : " ", p + 1);
        s += fmt::format(
            "<tr><td class=\"num\">+{}</td><td>{}</td><td class=\"num\">{}/{}</td><td>{}</td>"
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
            "<td class=\"num\">{}</td><td>{}</td></tr>\n",
            duration_text(since(t0, c.enter_ns)), journey::role_name(c.role), c.pid, c.tid,
            html_escape(c.name), c.fd, c.size, c.ret,
            c.exit_ns ? duration_text(since(c.enter_ns, c.exit_ns)) : "no exit seen", packets);
    }
    return s + "</table></details>\n";
}

std::string route_section(const Journey& j) {
    if (j.routes.empty()) return {};
    std::string s = "<h3>Route</h3><ul>\n";
    for (const auto& r : j.routes) {
        s += "<li>" + html_escape(r.destination) + ": ";
        if (r.has_answer)
            s += html_escape(fmt::format("{} via table {} dev {}{}{}", r.type, r.table, r.dev,
                                         r.source.empty() ? "" : " src " + r.source,
                                         r.gateway.empty() ? "" : " gateway " + r.gateway));
        else
            s += "no answer from rtnetlink";
        s += fmt::format("; {} kernel lookups while tracing", r.lookups.size());
        for (const auto& n : r.notes) s += "<br><small>" + html_escape(n) + "</small>";
        s += "</li>\n";
    }
    return s + "</ul>\n";
}

std::string journey_summary(const Journey& j) {
    std::string flow;
    if (!j.connections.empty()) {
        const auto& f = j.connections.front().client_to_server;
        // UNIX pairs without inodes have nothing to show but "unix > unix".
        if (f.src.family != AF_UNIX || f.unix_inode) flow = " · " + flow_text(f);
    }
    std::string s = fmt::format(
        "<p class=\"summary\">{}{} · {} packets, {} system calls · {} kernel events · "
        "{} frames captured ({} matched)</p>\n",
        html_escape(j.transport.empty() ? transport_label(j) : j.transport), html_escape(flow),
        j.packets.size(), j.syscalls.size(), j.stats.events, j.stats.frames,
        j.stats.frames_matched);
    if (j.stats.lost_events)
        s += fmt::format("<p class=\"lost\">{} kernel events were lost (ring buffer full): some "
                         "hops are missing.</p>\n",
                         j.stats.lost_events);
    if (j.stats.capture_dropped)
        s += fmt::format("<p class=\"lost\">The capture dropped {} frames.</p>\n",
                         j.stats.capture_dropped);
    if (j.partial) {
        s += "<div class=\"warn\"><b>Partial journey.</b><ul>";
        for (const auto& r : j.partial_reasons) s += "<li>" + html_escape(r) + "</li>";
        s += "</ul></div>\n";
    }
    if (!j.notes.empty()) {
        s += "<ul class=\"notes\">";
        for (const auto& n : j.notes) s += "<li>" + html_escape(n) + "</li>";
        s += "</ul>\n";
    }
    return s;
}

std::string journey_section(const Journey& j, std::size_t ji, bool several, bool with_sequence = true) {
    std::string s = fmt::format("<section class=\"journey\" id=\"journey-{}\">\n", ji + 1);
    if (several) s += "<h2>" + html_escape(j.transport) + "</h2>\n";
    s += journey_summary(j);
    if (with_sequence) {
        s += several ? "<h3>Sequence</h3>\n" : "<h2>Sequence</h2>\n";
        s += "<p class=\"summary\">" + std::string(kSequenceHelp) + "</p>\n";
        s += sequence_svg(j, ji);
    }
    s += several ? "<h3>Protocol stack</h3>\n" : "<h2>Protocol stack</h2>\n";
    s += stack_table(j);
    s += several ? "<h3>Packets</h3>\n" : "<h2>Packets</h2>\n";
    s += packets_table(j);
    s += syscalls_section(j, first_time(j));
    s += route_section(j);
    return s + "</section>\n";
}


BarChart one_way_chart(std::span<const Journey> journeys) {
    BarChart c{"median one-way time of a data packet (send() enter to recv() exit)", {}};
    for (const auto& j : journeys)
        c.bars.push_back({j.transport, static_cast<double>(j.stats.median_one_way_ns),
                          j.stats.median_one_way_ns
                              ? duration_text(static_cast<std::int64_t>(j.stats.median_one_way_ns))
                              : "not measured"});
    return c;
}

std::string compare_layers_table(std::span<const Journey> journeys) {
    std::string s = "<table class=\"compare\"><tr><th>layer</th>";
    for (const auto& j : journeys) s += "<th>" + html_escape(j.transport) + " send</th><th>" +
                                        html_escape(j.transport) + " receive</th>";
    s += "</tr>\n";
    for (const auto& level : kStackLevels) {
        s += fmt::format("<tr><td>{}</td>", level.name);
        for (const auto& j : journeys)
            for (bool recv : {false, true}) {
                const auto* l = find_summary(j, level.layer, recv);
                s += "<td class=\"num\">" +
                     (l ? duration_text(static_cast<std::int64_t>(l->median_ns)) : "—") + "</td>";
            }
        s += "</tr>\n";
    }
    return s + "</table>\n";
}


}  // namespace

std::string html_page(const std::string& title, const std::string& body, const std::string& extra_style) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>" + html_escape(title) + "</title>\n<style>" + kStyle + extra_style +
           "</style></head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n" + body + "</body></html>\n";
}

Status write_text_file(const std::string& flag, const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return errno_error(flag + ": write " + path);
    f << text;
    f.close();
    if (!f) return errno_error(flag + ": write " + path);
    return {};
}

std::string render_sequence_svg(const Journey& j, std::size_t id) { return sequence_svg(j, id); }

std::string sequence_help() { return kSequenceHelp; }

std::string render_compare_layers_table(std::span<const Journey> journeys) {
    return compare_layers_table(journeys);
}

std::string render_journey_section(const Journey& j, std::size_t id, bool several, bool with_sequence) {
    return journey_section(j, id, several, with_sequence);
}

std::string render_bar_chart_svg(const BarChart& chart) {
    constexpr int kLabelW = 150, kBarW = 420, kValueW = 220, kBarH = 22, kTop = 26;
    const int height = kTop + static_cast<int>(chart.bars.size()) * (kBarH + 8) + 6;
    double max = 0;
    for (const auto& b : chart.bars) max = std::max(max, b.value);
    std::string s = fmt::format(
        "<svg class=\"bar-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\">\n"
        "<text class=\"chart-label\" x=\"0\" y=\"16\" font-weight=\"600\">{2}</text>\n",
        kLabelW + kBarW + kValueW, height, html_escape(chart.title));
    for (std::size_t i = 0; i < chart.bars.size(); ++i) {
        const auto& b = chart.bars[i];
        const int y = kTop + static_cast<int>(i) * (kBarH + 8);
        const double w = max > 0 ? kBarW * b.value / max : 0;
        s += fmt::format("<text class=\"chart-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
                         "<rect class=\"chart-bar\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\">"
                         "<title>{}: {}</title></rect>"
                         "<text class=\"chart-value\" x=\"{:.1f}\" y=\"{}\">{}</text>\n",
                         kLabelW - 8, y + 15, html_escape(b.label), kLabelW, y, w, kBarH,
                         html_escape(b.label), html_escape(b.value_text), kLabelW + w + 6, y + 15,
                         html_escape(b.value_text));
    }
    return s + "</svg>\n";
}

std::string render_journeys_html(std::span<const Journey> journeys) {
    const bool several = journeys.size() > 1;
    std::string body;
    if (several) {
        body += "<section id=\"compare\"><h2>Comparison</h2>\n";
        body += render_bar_chart_svg(one_way_chart(journeys));
        body += "<h3>Time per layer (medians)</h3>\n" + compare_layers_table(journeys);
        body += "</section>\n";
    }
    for (std::size_t k = 0; k < journeys.size(); ++k) body += journey_section(journeys[k], k, several);
    std::string title = "tracepacket journey";
    if (journeys.size() == 1 && !journeys[0].transport.empty())
        title += ": " + journeys[0].transport;
    if (several) title = "tracepacket: transports compared";
    return html_page(title, body);
}

std::string render_charts_html(const std::string& title, const std::vector<BarChart>& charts) {
    std::string body;
    for (const auto& c : charts) body += "<section>" + render_bar_chart_svg(c) + "</section>\n";
    return html_page(title, body);
}

Status write_html(std::span<const Journey> journeys, const std::string& path) {
    return write_text_file("--html", path, render_journeys_html(journeys));
}

Status write_charts_html(const std::string& title, const std::vector<BarChart>& charts,
                         const std::string& path) {
    return write_text_file("--html", path, render_charts_html(title, charts));
}

}  // namespace tpk::report
