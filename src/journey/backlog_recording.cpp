// A backlog run as JSON Lines (`backlog --record-raw FILE`, `--replay FILE`):
// the run's settings first ("kind":"backlog_run"), then its samples and the
// lab's record of each client and accept ("kind":"backlog_*"), then the
// kernel's events as model/event_io writes them. Recorded runs are the
// fixtures the writers' tests replay without privileges.
#include <fstream>
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

Status read_line(const json& j, BacklogRun& r) {
    const std::string kind = j.at("kind");
    if (kind == "backlog_run") {
        r.options.backlog = j.at("backlog");
        r.options.clients = j.at("clients");
        r.options.accept_delay = std::chrono::milliseconds(j.at("accept_delay_ms").get<long>());
        r.duration_s = j.at("duration_s");
        r.server_port = j.at("server_port");
        r.netns_inode = j.at("netns_inode");
        r.syncookies = j.at("syncookies");
        r.syncookies_set = j.at("syncookies_set");
        r.t0_ns = j.at("t0_ns");
        r.end_ns = j.at("end_ns");
        r.end_reason = j.at("end_reason");
        r.lost_events = j.at("lost_events");
        if (j.contains("tracer_missing")) r.tracer_missing = j.at("tracer_missing").get<std::string>();
    } else if (kind == "backlog_queue") {
        r.queue.push_back({j.at("t_ns"), j.at("accept_queue"), j.at("accept_limit"), j.at("syn_queue")});
    } else if (kind == "backlog_client_state") {
        r.client_states.push_back({j.at("t_ns"), j.at("port"), j.at("state")});
    } else if (kind == "backlog_counters") {
        r.counters.push_back({j.at("t_ns"), j.at("values").get<std::map<std::string, std::int64_t>>()});
    } else if (kind == "backlog_client") {
        lab::BacklogClient c;
        c.index = j.at("index");
        c.port = j.at("port");
        c.connect_start_ns = j.at("connect_start_ns");
        c.connected_ns = j.at("connected_ns");
        c.connect_errno = j.at("connect_errno");
        c.sent_ns = j.at("sent_ns");
        c.served_ns = j.at("served_ns");
        c.recv_errno = j.at("recv_errno");
        r.clients.push_back(c);
    } else if (kind == "backlog_accept") {
        r.accepts.push_back({j.at("t_ns"), j.at("client_port"), j.at("message_read")});
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
        if (j.is_discarded() || !j.is_object() || !j.contains("kind"))
            return make_error("line " + std::to_string(n) + ": not a backlog recording line");
        if (n == 1 && j.value("kind", "") != "backlog_run")
            return make_error("line 1: a backlog recording starts with its \"backlog_run\" line");
        try {
            if (auto ok = read_line(j, r); !ok) return wrap(std::move(ok).take_error(), "line " + std::to_string(n));
        } catch (const json::exception& e) {
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
