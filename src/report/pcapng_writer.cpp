#include "report/pcapng_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <span>

#include "capture/pcapng_writer.h"
#include "report/labels.h"

namespace tpk::report {

namespace {

struct OutFrame {
    const journey::Frame* frame = nullptr;
    std::uint64_t t_ns = 0;
    std::int64_t realtime_offset_ns = 0;
    std::size_t journey = 0;
    std::string comment;
};

std::string unmatched_comment() {
    return "tracepacket: no kernel journey matched this frame (traffic outside the traced "
           "conversation, or its events were lost)";
}

void collect(const journey::Journey& j, std::size_t journey_index, const std::string& prefix,
             std::vector<OutFrame>& out) {
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& f = j.packets[i].frame;
        if (!f) continue;
        out.push_back({&*f, f->t_ns, j.realtime_offset_ns, journey_index,
                       prefix + packet_comment(j, i)});
    }
    for (const auto& f : j.unmatched_frames)
        out.push_back({&f, f.t_ns, j.realtime_offset_ns, journey_index, prefix + unmatched_comment()});
}

Error no_frames_error(std::span<const journey::Journey> journeys, const std::string& path) {
    bool all_unix = !journeys.empty();
    for (const auto& j : journeys) all_unix = all_unix && transport_label(j) == "UNIX";
    if (all_unix)
        return make_error("--pcapng " + path + ": no frames to write: UNIX domain sockets never "
                          "reach a network device, so there is nothing to capture");
    // A partial run says why the capture did not run ("capture on lo needs CAP_NET_RAW").
    for (const auto& j : journeys)
        for (const auto& reason : j.partial_reasons)
            if (reason.find("captur") != std::string::npos)
                return make_error("--pcapng " + path + ": no frames to write: " + reason);
    return make_error("--pcapng " + path + ": no frames to write: the capture on the device saw "
                      "none (see the journey's notes)");
}

}  // namespace

std::string packet_comment(const journey::Journey& j, std::size_t packet) {
    const journey::Packet& p = j.packets.at(packet);
    std::string s = fmt::format("tracepacket {}", packet_title(j, packet));
    if (!p.sent_by.empty()) s += "\nsent by: " + p.sent_by;
    if (!p.explain.empty()) s += "\nwhat: " + p.explain;
    for (const auto& h : p.hops) {
        s += '\n';
        s += hop_line(h);
        if (!h.explain.empty()) s += "\n    " + h.explain;
    }
    if (!p.hops.empty()) s += "\ncause to last hop: " + duration_text(packet_span_ns(p));
    return s;
}

Status write_pcapng(const journey::Journey& j, const std::string& path) {
    return write_pcapng(std::span<const journey::Journey>(&j, 1), path);
}

Status write_pcapng(std::span<const journey::Journey> journeys, const std::string& path) {
    std::vector<OutFrame> frames;
    for (std::size_t k = 0; k < journeys.size(); ++k) {
        const std::string prefix =
            journeys.size() > 1 ? fmt::format("[{}] ", journeys[k].transport) : std::string();
        collect(journeys[k], k, prefix, frames);
    }
    if (frames.empty()) return no_frames_error(journeys, path);
    std::stable_sort(frames.begin(), frames.end(), [](const OutFrame& a, const OutFrame& b) {
        if (a.journey != b.journey) return a.journey < b.journey;
        if (a.t_ns != b.t_ns) return a.t_ns < b.t_ns;
        return a.frame->index < b.frame->index;
    });
    const int link_type = frames.front().frame->link_type;
    for (const auto& f : frames)
        if (f.frame->link_type != link_type)
            return make_error(fmt::format("--pcapng {}: frames of link types {} and {} cannot share "
                                          "one interface; write each journey to its own file",
                                          path, link_type, f.frame->link_type));

    capture::PcapngInterface iface;
    iface.link_type = link_type;
    iface.name = device_label(journeys.front());
    auto writer = capture::PcapngWriter::create(path, iface, "tracepacket journey");
    if (!writer) return wrap(writer.error(), "--pcapng");
    for (const auto& f : frames) {
        const std::int64_t t = static_cast<std::int64_t>(f.t_ns) + f.realtime_offset_ns;
        const auto bytes = std::as_bytes(std::span(f.frame->bytes));
        const std::uint32_t wire = std::max<std::uint32_t>(
            f.frame->wire_len, static_cast<std::uint32_t>(f.frame->bytes.size()));
        auto st = writer->write_packet(t / 1'000'000'000, static_cast<std::uint32_t>(t % 1'000'000'000),
                                       bytes, wire, f.comment);
        if (!st) return wrap(std::move(st).take_error(), "--pcapng");
    }
    if (auto st = writer->close(); !st) return wrap(std::move(st).take_error(), "--pcapng");
    return {};
}

}  // namespace tpk::report
