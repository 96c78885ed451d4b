#include "report/stack.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/labels.h"

namespace tpk::report {

namespace {

using Json = nlohmann::ordered_json;
constexpr int kCacheVersion = 1;

std::optional<model::Layer> layer_from_name(std::string_view name) {
    for (auto l : {model::Layer::application, model::Layer::socket, model::Layer::transport,
                   model::Layer::network, model::Layer::device, model::Layer::receive,
                   model::Layer::capture})
        if (model::layer_name(l) == name) return l;
    return std::nullopt;
}

std::string level_time(const LastJourney& l, model::Layer layer, bool receive) {
    for (const auto& t : l.layers)
        if (t.layer == layer && t.receive_side == receive)
            return duration_text(static_cast<std::int64_t>(t.median_ns));
    return "—";
}

std::string level_name(const StackLevel& level, const std::string& transport_label,
                       const std::string& device) {
    std::string name(level.name);
    // UNIX sockets never enter TCP/UDP, IP or a device (ARCHITECTURE.md).
    if (transport_label == "UNIX" && level.layer != model::Layer::application &&
        level.layer != model::Layer::socket)
        return name + " (unused by UNIX)";
    if (level.layer == model::Layer::transport && !transport_label.empty())
        name += " (" + transport_label + ")";
    if (level.layer == model::Layer::network) name += " (IP)";
    if (level.layer == model::Layer::device || level.layer == model::Layer::receive)
        name += " (" + device + ")";
    return name;
}

// Pads by display columns: "µ" and "—" are one column but several bytes.
std::string pad(const std::string& s, std::size_t width) {
    std::size_t cols = 0;
    for (unsigned char c : s) cols += (c & 0xC0) != 0x80;
    return s + std::string(cols < width ? width - cols : 0, ' ');
}

}  // namespace

LastJourney last_journey_of(const journey::Journey& j) {
    LastJourney l;
    l.transport = j.transport.empty() && !j.connections.empty() ? j.connections.front().transport
                                                                 : j.transport;
    l.transport_label = transport_label(j);
    l.device = device_label(j);
    l.data_packets = j.stats.data_packets;
    l.median_one_way_ns = j.stats.median_one_way_ns;
    l.layers = layer_times(j);
    return l;
}

std::string last_journey_json(const LastJourney& l) {
    Json layers = Json::array();
    for (const auto& t : l.layers)
        layers.push_back(Json{{"layer", model::layer_name(t.layer)},
                              {"side", t.receive_side ? "receive" : "send"},
                              {"median_ns", t.median_ns},
                              {"samples", t.samples}});
    Json j{{"schema_version", kCacheVersion}, {"transport", l.transport},
           {"transport_label", l.transport_label}, {"device", l.device},
           {"data_packets", l.data_packets}, {"median_one_way_ns", l.median_one_way_ns},
           {"layers", layers}};
    return j.dump(2) + "\n";
}

Result<LastJourney> parse_last_journey(const std::string& text) {
    try {
        const Json j = Json::parse(text);
        if (j.at("schema_version").get<int>() != kCacheVersion)
            return make_error("saved journey has another schema version");
        LastJourney l;
        l.transport = j.at("transport").get<std::string>();
        l.transport_label = j.at("transport_label").get<std::string>();
        l.device = j.at("device").get<std::string>();
        l.data_packets = j.at("data_packets").get<std::uint64_t>();
        l.median_one_way_ns = j.at("median_one_way_ns").get<std::uint64_t>();
        for (const auto& t : j.at("layers")) {
            auto layer = layer_from_name(t.at("layer").get<std::string>());
            if (!layer) return make_error("saved journey names an unknown layer");
            l.layers.push_back({*layer, t.at("side").get<std::string>() == "receive",
                                t.at("median_ns").get<std::uint64_t>(),
                                t.at("samples").get<std::size_t>()});
        }
        return l;
    } catch (const nlohmann::json::exception& e) {
        return make_error(std::string("saved journey is not valid: ") + e.what());
    }
}

std::string last_journey_path() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return std::string(xdg) + "/tracepacket/last-journey.json";
    const char* home = std::getenv("HOME");
    if (home && *home) return std::string(home) + "/.cache/tracepacket/last-journey.json";
    return {};
}

Status save_last_journey(const journey::Journey& j) {
    const std::string path = last_journey_path();
    if (path.empty()) return make_error("cannot save the journey: neither XDG_CACHE_HOME nor HOME is set");
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) return errno_error(ec.value(), "create " + std::filesystem::path(path).parent_path().string());
    // Written aside and renamed, so a reader never sees half a file.
    const std::string tmp = fmt::format("{}.{}.tmp", path, ::getpid());
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << last_journey_json(last_journey_of(j));
        f.close();
        if (!f) {
            std::filesystem::remove(tmp, ec);
            return errno_error("write " + tmp);
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return errno_error(ec.value(), "rename to " + path);
    }
    return {};
}

Result<std::optional<LastJourney>> load_last_journey() {
    const std::string path = last_journey_path();
    if (path.empty()) return std::optional<LastJourney>();
    std::ifstream f(path);
    if (!f) return std::optional<LastJourney>();
    std::stringstream ss;
    ss << f.rdbuf();
    auto l = parse_last_journey(ss.str());
    if (!l) return wrap(l.error(), path + " (run `tracepacket journey` to replace it)");
    return std::optional<LastJourney>(std::move(*l));
}

std::string render_stack_text(const std::optional<LastJourney>& last, bool color) {
    const std::string bold = color ? "\033[1m" : "", cyan = color ? "\033[36m" : "",
                      dim = color ? "\033[2m" : "", reset = color ? "\033[0m" : "";
    std::string s;
    if (last)
        s += fmt::format("{}Protocol stack{} with the last journey's median time per layer ({}{}, "
                         "{} data packets)\n\n",
                         bold, reset, last->transport,
                         last->transport_label == "UNIX" ? "" : " over " + last->device,
                         last->data_packets);
    else
        s += bold + "Protocol stack" + reset + "\n\n";
    s += fmt::format("  {}{}{}{}{}\n", dim, pad("layer", 28), pad("what happens there", 41),
                     last ? pad("send", 12) + "receive" : "", reset);
    const std::string transport = last ? last->transport_label : "TCP/UDP";
    const std::string device = last ? last->device : "lo";
    bool first = true;
    for (const auto& level : kStackLevels) {
        if (!first) s += fmt::format("  {:>6}\n", "|");
        first = false;
        s += "  " + bold + pad(level_name(level, transport, device), 28) + reset +
             pad(std::string(level.what), 41);
        if (last)
            s += cyan + pad(level_time(*last, level.layer, false), 12) +
                 level_time(*last, level.layer, true) + reset;
        s += "\n";
    }
    // No trailing blanks where the time columns are left out.
    std::string trimmed;
    std::size_t start = 0;
    while (start < s.size()) {
        auto end = s.find('\n', start);
        std::string line = s.substr(start, end - start);
        line.erase(line.find_last_not_of(' ') + 1);
        trimmed += line + "\n";
        if (end == std::string::npos) break;
        start = end + 1;
    }
    s = std::move(trimmed);
    if (!last) {
        s += "\nNo journey recorded yet: run `tracepacket journey` first to see the time spent in "
             "each layer.\n";
        return s;
    }
    if (last->median_one_way_ns)
        s += fmt::format("\nMedian one-way time (send() enter to recv() exit): {}{}{}\n", cyan,
                         duration_text(static_cast<std::int64_t>(last->median_one_way_ns)), reset);
    if (last->layers.empty())
        s += "\nThe last journey had no data packets with kernel hops, so no time per layer.\n";
    return s;
}

std::string render_stack_mermaid(const std::optional<LastJourney>& last) {
    if (!last)
        return render_mermaid_stack({}, "TCP/UDP", "lo",
                                    "no journey recorded yet: run tracepacket journey first");
    return render_mermaid_stack(last->layers, last->transport_label, last->device,
                                fmt::format("last journey: {} over {}", last->transport, last->device));
}

}  // namespace tpk::report
