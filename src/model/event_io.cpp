#include "model/event_io.h"

#include <fstream>
#include <stdexcept>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace tpk::model {
namespace {

using nlohmann::json;

// An integer field: nlohmann turns a float into an integer with a plain cast,
// undefined when it does not fit (UBSan, fuzz/backlog_recording_fuzz), so a
// non-integer there is malformed.
template <class T>
T integer(const json& v, const char* key) {
    const json& x = v.at(key);
    if (!x.is_number_integer()) throw std::runtime_error(std::string(key) + ": not an integer");
    return x.get<T>();
}

std::string hex(const std::uint8_t* p, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        s += kDigits[p[i] >> 4];
        s += kDigits[p[i] & 15];
    }
    return s;
}

bool unhex(const std::string& s, std::uint8_t* out, std::size_t max, std::size_t* n) {
    if (s.size() % 2 || s.size() / 2 > max) return false;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); i += 2) {
        int hi = nib(s[i]), lo = nib(s[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i / 2] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    *n = s.size() / 2;
    return true;
}

json endpoint_json(const Endpoint& e) {
    return json{{"family", e.family}, {"port", e.port}, {"addr", hex(e.addr.data(), 16)}};
}

void endpoint_from(const json& j, Endpoint& e) {
    e.family = integer<std::uint16_t>(j, "family");
    e.port = integer<std::uint16_t>(j, "port");
    std::size_t n = 0;
    if (!unhex(j.at("addr").get<std::string>(), e.addr.data(), 16, &n))
        throw std::runtime_error("bad address hex");
}

// Only non-default fields are written, so recordings stay readable.
template <class T>
void put(json& j, const char* key, const T& v) {
    if (v != T{}) j[key] = v;
}

template <class T>
void get(const json& j, const char* key, T& v) {
    auto it = j.find(key);
    if (it == j.end()) return;
    // nlohmann turns a float into an integer with a plain cast, undefined when
    // it does not fit (UBSan, fuzz/backlog_recording_fuzz): recordings hold
    // integers in integer fields, anything else is malformed.
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        if (!it->is_number_integer()) throw std::runtime_error(std::string(key) + ": not an integer");
    v = it->get<T>();
}

}  // namespace

std::string event_to_json_line(const Event& e) {
    json j;
    j["kind"] = std::string(event_name(e.kind));
    j["t_ns"] = e.t_ns;
    put(j, "pid", e.pid);
    put(j, "tid", e.tid);
    put(j, "cpu", e.cpu);
    put(j, "comm", e.comm);
    put(j, "skb", e.skb);
    put(j, "sk", e.sk);
    if (e.flow != Flow{}) {
        j["flow"] = json{{"protocol", e.flow.protocol},
                         {"src", endpoint_json(e.flow.src)},
                         {"dst", endpoint_json(e.flow.dst)},
                         {"unix_inode", e.flow.unix_inode},
                         {"unix_peer_inode", e.flow.unix_peer_inode}};
    }
    put(j, "tcp_flags", e.tcp_flags);
    put(j, "seq", e.seq);
    put(j, "ack", e.ack);
    put(j, "payload_len", e.payload_len);
    put(j, "skb_len", e.skb_len);
    put(j, "ifindex", e.ifindex);
    put(j, "dev", e.dev);
    if (e.syscall_nr != -1) j["syscall_nr"] = e.syscall_nr;
    put(j, "syscall", e.syscall);
    if (e.fd != -1) j["fd"] = e.fd;
    put(j, "size", e.size);
    put(j, "flags", e.flags);
    put(j, "ret", e.ret);
    put(j, "old_state", e.old_state);
    put(j, "new_state", e.new_state);
    put(j, "recv_q", e.recv_q);
    put(j, "send_q", e.send_q);
    put(j, "table", e.table);
    put(j, "route_err", e.route_err);
    if (e.gateway != std::array<std::uint8_t, 16>{}) j["gateway"] = hex(e.gateway.data(), 16);
    put(j, "drop_reason", e.drop_reason);
    put(j, "drop_reason_name", e.drop_reason_name);
    put(j, "link_type", e.link_type);
    if (!e.frame.empty()) j["frame"] = hex(e.frame.data(), e.frame.size());
    return j.dump();
}

Result<Event> event_from_json_line(const std::string& line) {
    try {
        json j = json::parse(line);
        Event e;
        auto kind = event_kind_from_name(j.at("kind").get<std::string>());
        if (!kind) return make_error("unknown event kind '" + j.at("kind").get<std::string>() + "'");
        e.kind = *kind;
        e.t_ns = integer<std::uint64_t>(j, "t_ns");
        get(j, "pid", e.pid);
        get(j, "tid", e.tid);
        get(j, "cpu", e.cpu);
        get(j, "comm", e.comm);
        get(j, "skb", e.skb);
        get(j, "sk", e.sk);
        if (auto it = j.find("flow"); it != j.end()) {
            e.flow.protocol = integer<std::uint8_t>(*it, "protocol");
            endpoint_from(it->at("src"), e.flow.src);
            endpoint_from(it->at("dst"), e.flow.dst);
            e.flow.unix_inode = integer<std::uint64_t>(*it, "unix_inode");
            e.flow.unix_peer_inode = integer<std::uint64_t>(*it, "unix_peer_inode");
        }
        get(j, "tcp_flags", e.tcp_flags);
        get(j, "seq", e.seq);
        get(j, "ack", e.ack);
        get(j, "payload_len", e.payload_len);
        get(j, "skb_len", e.skb_len);
        get(j, "ifindex", e.ifindex);
        get(j, "dev", e.dev);
        get(j, "syscall_nr", e.syscall_nr);
        get(j, "syscall", e.syscall);
        get(j, "fd", e.fd);
        get(j, "size", e.size);
        get(j, "flags", e.flags);
        get(j, "ret", e.ret);
        get(j, "old_state", e.old_state);
        get(j, "new_state", e.new_state);
        get(j, "recv_q", e.recv_q);
        get(j, "send_q", e.send_q);
        get(j, "table", e.table);
        get(j, "route_err", e.route_err);
        if (auto it = j.find("gateway"); it != j.end()) {
            std::size_t n = 0;
            if (!unhex(it->get<std::string>(), e.gateway.data(), 16, &n))
                return make_error("bad gateway hex");
        }
        get(j, "drop_reason", e.drop_reason);
        get(j, "drop_reason_name", e.drop_reason_name);
        get(j, "link_type", e.link_type);
        if (auto it = j.find("frame"); it != j.end()) {
            auto s = it->get<std::string>();
            e.frame.resize(s.size() / 2);
            std::size_t n = 0;
            if (!unhex(s, e.frame.data(), e.frame.size(), &n)) return make_error("bad frame hex");
        }
        return e;
    } catch (const std::exception& ex) {
        return make_error(std::string("malformed event: ") + ex.what());
    }
}

void write_events(std::ostream& out, const std::vector<Event>& events) {
    for (const auto& e : events) out << event_to_json_line(e) << '\n';
}

Result<std::vector<Event>> read_events(std::istream& in) {
    std::vector<Event> events;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        auto e = event_from_json_line(line);
        if (!e) return wrap(e.error(), "line " + std::to_string(number));
        events.push_back(std::move(*e));
    }
    return events;
}

Result<std::vector<Event>> read_events_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return errno_error("open " + path);
    auto r = read_events(in);
    if (!r) return wrap(r.error(), path);
    return r;
}

}  // namespace tpk::model
