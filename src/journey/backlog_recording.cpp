// A backlog run as JSON Lines (`backlog --record-raw FILE`, `--replay FILE`):
// the run's settings first ("kind":"backlog_run"), then its samples and the
// lab's record of each client and accept ("kind":"backlog_*"), then the
// kernel's events as model/event_io writes them. Recorded runs are the
// fixtures the writers' tests replay without privileges.
#include <fstream>
#include <stdexcept>
#include <type_traits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "journey/backlog.h"
#include "model/event_io.h"

namespace tpk::journey {

namespace {

using nlohmann::json;

json run_line(const BacklogRun& r) {
    json j = {{"kind", "backlog_run"},       {"backlog", r.options.backlog},
              {"clients", r.options.clients}, {"accept_delay_ms", r.options.accept_delay.count()},
              {"duration_s", r.duration_s},   {"server_port", r.server_port},
              {"netns_inode", r.netns_inode}, {"syncookies", r.syncookies},
              {"syncookies_set", r.syncookies_set}, {"t0_ns", r.t0_ns},
              {"end_ns", r.end_ns},           {"end_reason", r.end_reason},
              {"lost_events", r.lost_events}};
    if (r.tracer_missing) j["tracer_missing"] = *r.tracer_missing;
    return j;
}

// A field of a line, or an exception read_backlog_recording turns into the
// line's error. Integers must be JSON integers: nlohmann casts a float to an
// integer type, undefined when it does not fit.
template <class T>
T field(const json& j, const char* key) {
    const json& v = j.at(key);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (!v.is_number_integer()) throw std::runtime_error(std::string(key) + ": not an integer");
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) throw std::runtime_error(std::string(key) + ": not a number");
    }
    return v.get<T>();
}

Status read_line(const json& j, BacklogRun& r) {
    const std::string kind = field<std::string>(j, "kind");
    if (kind == "backlog_run") {
        r.options.backlog = field<int>(j, "backlog");
        r.options.clients = field<int>(j, "clients");
        r.options.accept_delay = std::chrono::milliseconds(field<long>(j, "accept_delay_ms"));
        r.duration_s = field<double>(j, "duration_s");
        r.server_port = field<std::uint16_t>(j, "server_port");
        r.netns_inode = field<std::uint64_t>(j, "netns_inode");
        r.syncookies = field<std::string>(j, "syncookies");
        r.syncookies_set = field<bool>(j, "syncookies_set");
        r.t0_ns = field<std::uint64_t>(j, "t0_ns");
        r.end_ns = field<std::uint64_t>(j, "end_ns");
        r.end_reason = field<std::string>(j, "end_reason");
        r.lost_events = field<std::uint64_t>(j, "lost_events");
        if (j.contains("tracer_missing")) r.tracer_missing = field<std::string>(j, "tracer_missing");
    } else if (kind == "backlog_queue") {
        r.queue.push_back({field<std::uint64_t>(j, "t_ns"), field<std::uint32_t>(j, "accept_queue"),
                           field<std::uint32_t>(j, "accept_limit"), field<std::uint32_t>(j, "syn_queue")});
    } else if (kind == "backlog_client_state") {
        r.client_states.push_back({field<std::uint64_t>(j, "t_ns"), field<std::uint16_t>(j, "port"), field<std::string>(j, "state")});
    } else if (kind == "backlog_counters") {
        CounterSample c{field<std::uint64_t>(j, "t_ns"), {}};
        for (const auto& [key, value] : j.at("values").items()) {
            if (!value.is_number_integer()) throw std::runtime_error("values." + key + ": not an integer");
            c.values[key] = value.get<std::int64_t>();
        }
        r.counters.push_back(std::move(c));
    } else if (kind == "backlog_client") {
        lab::BacklogClient c;
        c.index = field<int>(j, "index");
        c.port = field<std::uint16_t>(j, "port");
        c.connect_start_ns = field<std::uint64_t>(j, "connect_start_ns");
        c.connected_ns = field<std::uint64_t>(j, "connected_ns");
        c.connect_errno = field<int>(j, "connect_errno");
        c.sent_ns = field<std::uint64_t>(j, "sent_ns");
        c.served_ns = field<std::uint64_t>(j, "served_ns");
        c.recv_errno = field<int>(j, "recv_errno");
        r.clients.push_back(c);
    } else if (kind == "backlog_accept") {
        r.accepts.push_back({field<std::uint64_t>(j, "t_ns"), field<std::uint16_t>(j, "client_port"),
                             field<bool>(j, "message_read")});
    } else {
        auto e = model::event_from_json_line(j.dump());
        if (!e) return std::move(e).take_error();
        r.events.push_back(std::move(*e));
    }
    return {};
}

}  // namespace

void write_backlog_recording(const BacklogRun& r, std::ostream& out) {
    out << run_line(r).dump() << '\n';
    for (const auto& q : r.queue)
        out << json{{"kind", "backlog_queue"}, {"t_ns", q.t_ns}, {"accept_queue", q.accept_queue},
                    {"accept_limit", q.accept_limit}, {"syn_queue", q.syn_queue}}.dump() << '\n';
    for (const auto& s : r.client_states)
        out << json{{"kind", "backlog_client_state"}, {"t_ns", s.t_ns}, {"port", s.port}, {"state", s.state}}.dump()
            << '\n';
    for (const auto& c : r.counters)
        out << json{{"kind", "backlog_counters"}, {"t_ns", c.t_ns}, {"values", c.values}}.dump() << '\n';
    for (const auto& c : r.clients)
        out << json{{"kind", "backlog_client"}, {"index", c.index}, {"port", c.port},
                    {"connect_start_ns", c.connect_start_ns}, {"connected_ns", c.connected_ns},
                    {"connect_errno", c.connect_errno}, {"sent_ns", c.sent_ns}, {"served_ns", c.served_ns},
                    {"recv_errno", c.recv_errno}}.dump() << '\n';
    for (const auto& a : r.accepts)
        out << json{{"kind", "backlog_accept"}, {"t_ns", a.t_ns}, {"client_port", a.client_port},
                    {"message_read", a.message_read}}.dump() << '\n';
    model::write_events(out, r.events);
}

Result<BacklogRun> read_backlog_recording(std::istream& in) {
    BacklogRun r;
    std::string line;
    int n = 0;
    bool header = false;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("kind") || !j.at("kind").is_string())
            return make_error("line " + std::to_string(n) + ": not a backlog recording line");
        if (n == 1 && j.at("kind") != "backlog_run")
            return make_error("line 1: a backlog recording starts with its \"backlog_run\" line");
        try {
            if (auto ok = read_line(j, r); !ok) return wrap(std::move(ok).take_error(), "line " + std::to_string(n));
        } catch (const std::exception& e) {  // json's type and range errors, field()'s
            return make_error("line " + std::to_string(n) + ": " + e.what());
        }
        header = true;
    }
    if (!header) return make_error("an empty backlog recording");
    return r;
}

Status write_backlog_recording_file(const BacklogRun& r, const std::string& path) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return errno_error("--record-raw: write " + path);
    write_backlog_recording(r, f);
    f.close();
    if (!f) return errno_error("--record-raw: write " + path);
    return {};
}

Result<BacklogRun> read_backlog_recording_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return errno_error("--replay: read " + path);
    auto r = read_backlog_recording(f);
    if (!r) return wrap(std::move(r).take_error(), "--replay " + path);
    return r;
}

}  // namespace tpk::journey
