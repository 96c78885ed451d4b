#include "journey/recording.h"

#include <cstdlib>
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

}  // namespace tpk::journey
