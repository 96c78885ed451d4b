#include "journey/recording.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "model/event_io.h"

namespace tpk::journey {

std::uint64_t recorded_counter(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    std::string line;
    std::string prefix = "# " + name + " ";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
    return 0;
}

Result<CorrelatorInput> parse_recording(const std::string& text) {
    CorrelatorInput input;
    read_recording_header(text, input);
    std::istringstream lines(text);
    auto events = model::read_events(lines);
    if (!events) return events.error();
    input.events = std::move(*events);
    return input;
}

void read_recording_header(const std::string& text, CorrelatorInput& input) {
    input.lost_events = recorded_counter(text, "lost_events");
    input.capture_dropped = recorded_counter(text, "capture_dropped");
    input.server_port = static_cast<std::uint16_t>(recorded_counter(text, "server_port"));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string hash, key;
        words >> hash >> key;
        if (hash != "#") continue;
        if (key == "transport") words >> input.transport;
        if (key == "process") {
            Process p;
            std::string role;
            words >> p.pid >> role >> p.comm;
            p.role = role == "client" ? Role::client : role == "server" ? Role::server
                                                                        : Role::unknown;
            input.processes.push_back(std::move(p));
        }
    }
}

std::string recording_header(const CorrelatorInput& input) {
    std::string out;
    out += fmt::format("# lost_events {}\n", input.lost_events);
    out += fmt::format("# capture_dropped {}\n", input.capture_dropped);
    if (!input.transport.empty()) out += fmt::format("# transport {}\n", input.transport);
    if (input.server_port) out += fmt::format("# server_port {}\n", input.server_port);
    for (const auto& p : input.processes)
        out += fmt::format("# process {} {} {}\n", p.pid, role_name(p.role),
                           p.comm.empty() ? "-" : p.comm);
    return out;
}

Status write_recording(const Recording& r, const std::string& path) {
    std::ofstream out(path);
    if (!out) return errno_error("open " + path);
    out << recording_header(r.input);
    // Frames keep their headers only (a 256-byte snap length): the journey
    // needs flows, flags and numbers, and fixtures stay small.
    constexpr std::size_t kSnap = 256;
    for (const auto& e : r.input.events) {
        if (e.kind == model::EventKind::frame && e.frame.size() > kSnap) {
            model::Event cut = e;
            cut.skb_len = e.skb_len ? e.skb_len : static_cast<std::uint32_t>(e.frame.size());
            cut.frame.resize(kSnap);
            out << model::event_to_json_line(cut) << '\n';
        } else {
            out << model::event_to_json_line(e) << '\n';
        }
    }
    if (!out) return errno_error("write " + path);
    return {};
}

Result<Recording> read_recording(const std::string& path) {
    std::ifstream in(path);
    if (!in) return errno_error("open " + path);
    std::stringstream text;
    text << in.rdbuf();
    auto input = parse_recording(text.str());
    if (!input) return wrap(input.error(), path);
    Recording r;
    r.realtime_offset_ns = 0;  // recorded on a boot we know nothing about
    r.input = std::move(*input);
    r.kernel_traced = true;
    return r;
}

}  // namespace tpk::journey
