// `journey --two-hosts --html FILE`: the veth journey's sequence diagram
// beside the loopback one (html.cpp draws both, the same way), what changed
// as a table with the text's sentences (two_hosts_notes), the time per layer
// side by side, then each journey's stack and packets without a second
// diagram. Without the loopback journey the page has the veth one alone.
#include <fmt/format.h>

#include "report/html.h"
#include "report/labels.h"
#include "report/two_hosts.h"

namespace tpk::report {

namespace {

using journey::Journey;

// Two diagrams of 980 px side by side: the page widens, and each diagram
// scales down with its column (viewBox) on a narrower window.
constexpr const char* kTwoHostsStyle = R"(
body{max-width:2040px}.side-by-side{display:flex;gap:16px;align-items:flex-start}
.side-by-side>.path{flex:1 1 0;min-width:0}.side-by-side svg.sequence{width:100%;height:auto}
table.facts td:nth-child(2),table.facts td:nth-child(3){white-space:nowrap}
table.facts td.why{color:#4a5568;font-size:12px;max-width:640px}
)";

std::string us(std::int64_t ns) { return fmt::format("{:.1f} µs", static_cast<double>(ns) / 1000.0); }

std::string list(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s.empty() ? std::string("none seen") : s;
}

std::string route_text(const std::string& type, const std::string& table, const std::string& dev) {
    auto q = [](const std::string& s) { return s.empty() ? std::string("?") : s; };
    return fmt::format("type {}, table {}, dev {}", q(type), q(table), q(dev));
}

std::string one_way(const Journey& j) {
    return j.stats.median_one_way_ns ? duration_text(static_cast<std::int64_t>(j.stats.median_one_way_ns))
                                     : "not measured";
}

std::string path_column(const Journey& j, std::size_t id, const std::string& path, const std::string& title) {
    return fmt::format("<div class=\"path\" data-path=\"{}\" data-packets=\"{}\"><h3>{} · {} packets</h3>\n",
                       path, j.packets.size(), html_escape(title), j.packets.size()) +
           render_sequence_svg(j, id) + "</div>\n";
}

std::string fact_row(const std::string& name, const std::string& veth, const std::string& lo,
                     const std::string& why) {
    return fmt::format("<tr data-fact=\"{0}\"><td><b>{0}</b></td><td>{1}</td><td>{2}</td><td class=\"why\">{3}</td></tr>\n",
                       html_escape(name), veth, lo, html_escape(why));
}

std::string facts_table(const Journey& veth, const TwoHostsView& v, const Journey* lo) {
    const auto& f = v.facts;
    const TwoHostsNotes notes = two_hosts_notes(v);
    const std::string not_run = "<i>not run (--compare-loopback)</i>";
    std::string s = "<table class=\"facts\"><tr><th>fact</th><th>two hosts (veth)</th><th>loopback</th>"
                    "<th>why</th></tr>\n";
    s += fact_row("hosts",
                  html_escape(fmt::format("client {} on {} (net:[{}], pid {})", f.client_address, f.client_device,
                                          f.client_netns, f.client_pid)) +
                      "<br>" +
                      html_escape(fmt::format("server {} on {} (net:[{}], pid {})", f.server_address,
                                              f.server_device, f.server_netns, f.server_pid)),
                  "127.0.0.1 on lo, one namespace", notes.hosts);
    s += fact_row("packets", std::to_string(veth.packets.size()), lo ? std::to_string(lo->packets.size()) : not_run,
                  "each arrow of the diagrams above");
    int requests = 0, replies = 0;
    for (const auto& a : v.arp) (a.request ? requests : replies)++;
    std::string arp = fmt::format("ARP on {}: {} request(s), {} reply(ies)", f.client_device, requests, replies);
    for (const auto& a : v.arp)
        arp += fmt::format("<br><span class=\"mono\">{:+.1f} µs {}</span>",
                           static_cast<double>(a.since_syn_ns) / 1000.0, html_escape(a.text));
    if (v.syn_neighbour_wait_ns >= 0)
        arp += "<br>" + html_escape(fmt::format("{} reaches {} ({}), {} after its {}", v.first_packet,
                                                f.client_device, v.syn_wait_to, us(v.syn_neighbour_wait_ns),
                                                v.syn_wait_from));
    s += fact_row("neighbour", arp, "none: lo needs no neighbour", notes.neighbour);
    s += fact_row("route", html_escape(route_text(v.route_type, v.route_table, v.route_dev)),
                  v.compared ? html_escape(route_text(v.lo_route_type, v.lo_route_table, v.lo_route_dev)) : not_run,
                  notes.route);
    std::string devices;
    for (const auto& d : v.devices)
        devices += (devices.empty() ? "" : "<br>") +
                   html_escape(fmt::format("{} (net:[{}]) sends: {}; receives: {}", d.dev, d.netns, list(d.sent),
                                           list(d.received)));
    s += fact_row("veth hops", devices.empty() ? "none seen" : devices,
                  "lo: one device, its send and receive hops in one namespace", notes.devices);
    s += fact_row("MTU", std::to_string(f.client_mtu), std::to_string(v.lo_mtu), "");
    s += fact_row("the SYN's MSS", v.syn_mss ? std::to_string(v.syn_mss) : "—",
                  v.compared && v.lo_syn_mss ? std::to_string(v.lo_syn_mss) : (v.compared ? "—" : not_run),
                  notes.size);
    s += fact_row("largest skb on the device", fmt::format("{} B", v.largest_skb),
                  v.compared ? fmt::format("{} B", v.lo_largest_skb) : not_run, "");
    s += fact_row("frames captured (GSO)",
                  fmt::format("largest {} B; {} over MTU + 14", v.largest_frame, v.frames_over_mtu), "—", "");
    s += fact_row("median one-way time", html_escape(one_way(veth)), lo ? html_escape(one_way(*lo)) : not_run,
                  "send() enter to recv() exit of the data packets, traced");
    return s + "</table>\n";
}

}  // namespace

std::string render_two_hosts_html(const Journey& veth, const TwoHostsView& v, const Journey* lo) {
    // Labelled by path, not transport: both are the same transport.
    Journey a = veth;
    a.transport += " veth";
    std::vector<Journey> both{a};
    if (lo) {
        Journey b = *lo;
        b.transport += " lo";
        both.push_back(std::move(b));
    }
    std::string body = fmt::format("<section id=\"sequences\"><h2>Sequence: two hosts{}</h2>\n",
                                   lo ? " beside loopback" : "");
    body += "<p class=\"summary\">" + html_escape(sequence_help()) + "</p>\n<div class=\"side-by-side\">\n";
    body += path_column(veth, 0, "veth",
                        fmt::format("two hosts: {} → {} over veth", v.facts.client_address, v.facts.server_address));
    if (lo) body += path_column(*lo, 1, "loopback", "loopback: 127.0.0.1 over lo");
    body += "</div></section>\n";
    body += fmt::format("<section id=\"changed\"><h2>{}</h2>\n",
                        lo ? "What changed against loopback" : "What changes off loopback");
    body += facts_table(veth, v, lo);
    body += "</section>\n<section id=\"layers\"><h2>Time per layer (medians)</h2>\n";
    body += render_compare_layers_table(both);
    body += "</section>\n";
    for (std::size_t k = 0; k < both.size(); ++k) body += render_journey_section(both[k], k, true, false);
    return html_page(fmt::format("tracepacket journey --two-hosts: {}{}", veth.transport,
                                 lo ? " over veth and over lo" : " over veth"),
                     body, kTwoHostsStyle);
}

Status write_two_hosts_html(const Journey& veth, const TwoHostsView& v, const Journey* lo,
                            const std::string& path) {
    return write_text_file("--html", path, render_two_hosts_html(veth, v, lo));
}

}  // namespace tpk::report
