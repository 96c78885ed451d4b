// Structure checks of a Chrome trace-event JSON file that both the unit
// test (fixed journey) and the runtime test (a real run) apply: every flow
// begun and ended, timestamps monotonic per track, complete slices nested on
// each track, and flow steps inside a slice of their track.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tpk::report::testing {

// Empty when the trace is well formed, else one line per problem.
inline std::vector<std::string> trace_problems(const nlohmann::json& trace) {
    std::vector<std::string> problems;
    auto problem = [&](std::string s) { if (problems.size() < 20) problems.push_back(std::move(s)); };
    if (trace.value("displayTimeUnit", "") != "ns") problem("displayTimeUnit is not \"ns\"");
    if (!trace.contains("traceEvents") || !trace["traceEvents"].is_array()) {
        problem("no traceEvents array");
        return problems;
    }
    using Track = std::pair<long long, long long>;
    std::map<Track, double> last_ts;
    std::map<Track, std::vector<std::pair<double, double>>> slices;
    std::map<unsigned long long, std::vector<std::string>> flows;
    std::vector<std::pair<Track, double>> flow_points;
    for (const auto& e : trace["traceEvents"]) {
        const std::string ph = e.at("ph");
        if (ph == "M") continue;
        const Track t{e.at("pid").get<long long>(), e.at("tid").get<long long>()};
        const double ts = e.at("ts").get<double>();
        if (last_ts.count(t) && ts < last_ts[t])
            problem("track " + std::to_string(t.first) + "/" + std::to_string(t.second) +
                    ": ts goes back to " + std::to_string(ts));
        last_ts[t] = ts;
        if (ph == "X") {
            const double dur = e.at("dur").get<double>();
            if (dur < 0) problem("negative dur");
            slices[t].emplace_back(ts, ts + dur);
        } else if (ph == "s" || ph == "t" || ph == "f") {
            flows[e.at("id").get<unsigned long long>()].push_back(ph);
            flow_points.emplace_back(t, ts);
        } else {
            problem("unexpected phase " + ph);
        }
    }
    for (const auto& [id, phases] : flows) {
        if (phases.size() < 2 || phases.front() != "s" || phases.back() != "f")
            problem("flow " + std::to_string(id) + " is not begun (s) and ended (f)");
        for (std::size_t k = 1; k + 1 < phases.size(); ++k)
            if (phases[k] != "t") problem("flow " + std::to_string(id) + " has a middle " + phases[k]);
    }
    // Nesting: a slice starting inside another ends inside it (1 ns slack for
    // the µs decimals).
    for (auto& [t, list] : slices) {
        std::vector<std::pair<double, double>> open;
        for (const auto& s : list) {
            while (!open.empty() && open.back().second <= s.first + 0.0005) open.pop_back();
            if (!open.empty() && s.second > open.back().second + 0.001)
                problem("slices overlap on track " + std::to_string(t.first) + "/" +
                        std::to_string(t.second) + " at ts " + std::to_string(s.first));
            open.push_back(s);
        }
    }
    for (const auto& [t, ts] : flow_points) {
        bool inside = false;
        for (const auto& s : slices[t]) inside = inside || (s.first <= ts && ts <= s.second);
        if (!inside) problem("flow step at " + std::to_string(ts) + " is in no slice of its track");
    }
    return problems;
}

}  // namespace tpk::report::testing
