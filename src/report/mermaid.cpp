#include "report/mermaid.h"

#include <fmt/format.h>

#include "report/labels.h"

namespace tpk::report {

namespace {

// Mermaid reads '#' as an entity start and ';' as a statement end in
// messages; keep labels to plain text.
std::string mermaid_text(std::string s) {
    for (char& c : s)
        if (c == ';' || c == '#' || c == '"') c = ' ';
    return s;
}

std::string times_text(const std::vector<LayerTimes>& times, model::Layer layer) {
    std::string s;
    for (const auto& t : times) {
        if (t.layer != layer) continue;
        if (!s.empty()) s += " · ";
        s += fmt::format("{} {}", t.receive_side ? "receive" : "send",
                         duration_text(static_cast<std::int64_t>(t.median_ns)));
    }
    return s;
}

}  // namespace

std::string render_mermaid_sequence(const journey::Journey& j) {
    std::string client = "client", server = "server";
    if (!j.connections.empty()) {
        const auto& f = j.connections.front().client_to_server;
        client += " " + endpoint_text(f.src, f.unix_inode);
        server += " " + endpoint_text(f.dst, f.unix_peer_inode);
    }
    std::string s = "sequenceDiagram\n";
    s += "    participant C as " + mermaid_text(client) + "\n";
    s += transport_label(j) == "UNIX"
             ? std::string("    participant K as kernel\n")
             : "    participant K as kernel (" + mermaid_text(device_label(j)) + ")\n";
    s += "    participant S as " + mermaid_text(server) + "\n";
    std::string open_phase;
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& p = j.packets[i];
        std::string phase;
        if (p.kind == journey::PacketKind::handshake) phase = "handshake";
        if (p.kind == journey::PacketKind::teardown) phase = "teardown";
        if (phase != open_phase) {
            if (!open_phase.empty()) s += "    end\n";
            if (phase == "handshake") s += "    rect rgb(230, 244, 234)\n";
            if (phase == "teardown") s += "    rect rgb(253, 236, 234)\n";
            if (!phase.empty()) s += "    Note over C,S: " + phase + "\n";
            open_phase = phase;
        }
        const bool to_client = p.direction == journey::Direction::server_to_client;
        std::string label = packet_title(j, i).substr(1);  // no '#'
        if (!p.hops.empty())
            label += fmt::format(", {} hops in {}", p.hops.size(), duration_text(packet_span_ns(p)));
        const char* arrow = p.dropped ? "-x" : "->>";
        s += fmt::format("    {}{}{}: {}\n", to_client ? 'S' : 'C', arrow, to_client ? 'C' : 'S',
                         mermaid_text(label));
        if ((p.cause == journey::Cause::timer || p.cause == journey::Cause::exit) &&
            !p.sent_by.empty())
            s += fmt::format("    Note over {}: sent by {}\n", to_client ? 'S' : 'C',
                             mermaid_text(p.sent_by));
    }
    if (!open_phase.empty()) s += "    end\n";
    return s;
}

std::vector<LayerTimes> layer_times(const journey::Journey& j) {
    std::vector<LayerTimes> out;
    for (const auto& l : j.layer_summary)
        out.push_back({l.layer, l.receive_side, l.median_ns, l.samples});
    return out;
}

std::string render_mermaid_stack(const std::vector<LayerTimes>& times, const std::string& transport,
                                 const std::string& device, const std::string& heading) {
    std::string s = "graph TD\n";
    if (!heading.empty()) s += "    %% " + mermaid_text(heading) + "\n";
    static constexpr const char* kIds[] = {"app", "sock", "transport", "net", "link", "loop"};
    std::size_t i = 0;
    for (const auto& level : kStackLevels) {
        std::string name(level.name);
        if (transport == "UNIX" && level.layer != model::Layer::application &&
            level.layer != model::Layer::socket) {
            name += " (unused by UNIX)";  // no TCP/UDP, IP or device on their path
        } else {
            if (level.layer == model::Layer::transport && !transport.empty())
                name += " (" + transport + ")";
            if (level.layer == model::Layer::network) name += " (IP)";
            if (level.layer == model::Layer::device || level.layer == model::Layer::receive)
                name += " (" + device + ")";
        }
        std::string label = name + "<br/>" + std::string(level.what);
        const std::string t = times_text(times, level.layer);
        if (!t.empty()) label += "<br/><b>" + t + "</b>";
        s += fmt::format("    {}[\"{}\"]\n", kIds[i++], mermaid_text(label));
    }
    for (std::size_t k = 0; k + 1 < std::size(kIds); ++k)
        s += fmt::format("    {} --> {}\n", kIds[k], kIds[k + 1]);
    return s;
}

}  // namespace tpk::report
