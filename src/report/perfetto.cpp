#include "report/perfetto.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "report/labels.h"

namespace tpk::report {

namespace {

using Json = nlohmann::ordered_json;

// Kernel layer tracks live in one made-up process per journey; its pid is
// above pid_max (at most 2^22, kernel/pid.c) so it never meets a real one.
// Its tracks' tids are pid + 1..10: Perfetto keys threads by tid alone and
// reads pids and tids as uint32, so they stay unique and below 2^32.
constexpr std::int64_t kKernelPid = 1'000'000'000;
constexpr std::int64_t kKernelPidStride = 100;
// Real pids of the k-th compared journey are shifted by k times this, so two
// runs that reused a pid do not share a track.
constexpr std::int64_t kJourneyPidStride = 10'000'000;

struct KernelTrack {
    int tid;
    std::string_view name;
};

// Top to bottom on the way down, then back up; the tid orders the tracks.
KernelTrack kernel_track(const journey::Hop& h) {
    using model::Layer;
    switch (h.layer) {
        case Layer::socket: return h.receive_side ? KernelTrack{8, "socket (receive)"}
                                                  : KernelTrack{1, "socket (send)"};
        case Layer::transport: return h.receive_side ? KernelTrack{7, "transport (receive)"}
                                                     : KernelTrack{2, "transport (send)"};
        case Layer::network: return h.receive_side ? KernelTrack{6, "network (receive)"}
                                                   : KernelTrack{3, "network (send)"};
        case Layer::device: return {4, "device"};
        case Layer::receive: return {5, "receive path"};
        case Layer::capture: return {9, "capture"};
        case Layer::application: break;
    }
    return {10, "other"};
}

struct Slice {
    std::int64_t pid = 0;
    std::int64_t tid = 0;
    std::uint64_t ts = 0;       // ns, absolute
    std::uint64_t end = 0;      // ns, absolute
    std::string name;
    std::string cat;
    Json args;
    bool is_syscall = false;
};

struct Track {
    std::vector<std::size_t> slices;  // indices into Builder::slices_
};

class Builder {
public:
    Builder(const journey::Journey& j, std::size_t index, bool several)
        : j_(j), pid_shift_(static_cast<std::int64_t>(index) * kJourneyPidStride),
          kernel_pid_(kKernelPid + static_cast<std::int64_t>(index) * kKernelPidStride),
          prefix_(several ? fmt::format("[{}] ", j.transport) : std::string()) {}

    void build(std::vector<Json>& meta, std::vector<Json>& timed, std::uint64_t& next_flow_id);

private:
    std::uint64_t base_ns() const;
    void add_syscalls();
    void add_hops();
    void clip_durations();
    void add_metadata(std::vector<Json>& meta) const;
    void add_events(std::vector<Json>& timed, std::uint64_t& next_flow_id) const;
    Json timed_event(const Slice& s, std::uint64_t t_ns) const;
    double us(std::uint64_t t_ns) const {
        return static_cast<double>(static_cast<std::int64_t>(t_ns - base_)) / 1000.0;
    }

    const journey::Journey& j_;
    std::int64_t pid_shift_;
    std::int64_t kernel_pid_;
    std::string prefix_;
    std::uint64_t base_ = 0;
    std::vector<Slice> slices_;
    // For each packet, its hop slices in hop order.
    std::vector<std::vector<std::size_t>> packet_slices_;
    std::map<std::pair<std::int64_t, std::int64_t>, Track> tracks_;
    std::map<std::int64_t, std::string> thread_names_;  // track order -> name (kernel)
    std::map<std::pair<std::int64_t, std::int64_t>, std::string> threads_;  // real threads
    std::map<std::int64_t, std::pair<std::string, journey::Role>> processes_;  // shifted pid
};

std::uint64_t Builder::base_ns() const {
    std::uint64_t base = std::numeric_limits<std::uint64_t>::max();
    for (const auto& s : j_.syscalls) base = std::min(base, s.enter_ns);
    for (const auto& p : j_.packets)
        for (const auto& h : p.hops) base = std::min(base, h.t_ns);
    return base == std::numeric_limits<std::uint64_t>::max() ? 0 : base;
}

void Builder::add_syscalls() {
    for (const auto& s : j_.syscalls) {
        Slice sl;
        sl.pid = s.pid + pid_shift_;
        sl.tid = s.tid + pid_shift_;
        sl.ts = s.enter_ns;
        sl.end = s.exit_ns >= s.enter_ns ? s.exit_ns : s.enter_ns;
        sl.name = s.name;
        sl.cat = "syscall";
        sl.is_syscall = true;
        sl.args = Json{{"fd", s.fd}, {"size", s.size}, {"ret", s.ret}};
        if (s.exit_ns == 0) sl.args["exit"] = "not seen";
        if (!s.packets.empty()) {
            Json pk = Json::array();
            for (auto p : s.packets) pk.push_back(fmt::format("#{}", p + 1));
            sl.args["packets"] = pk;
        }
        threads_.emplace(std::pair{sl.pid, sl.tid}, s.comm);
        processes_.emplace(sl.pid, std::pair{s.comm, s.role});
        tracks_[{sl.pid, sl.tid}].slices.push_back(slices_.size());
        slices_.push_back(std::move(sl));
    }
}

void Builder::add_hops() {
    packet_slices_.resize(j_.packets.size());
    for (std::size_t pi = 0; pi < j_.packets.size(); ++pi) {
        const auto& p = j_.packets[pi];
        for (std::size_t hi = 0; hi < p.hops.size(); ++hi) {
            const auto& h = p.hops[hi];
            Slice sl;
            if (h.layer == model::Layer::application) {
                sl.pid = h.pid + pid_shift_;
                sl.tid = h.tid + pid_shift_;
                sl.name = h.detail.empty() ? std::string(model::event_name(h.event)) : h.detail;
                threads_.emplace(std::pair{sl.pid, sl.tid}, h.comm);
                processes_.emplace(sl.pid, std::pair{h.comm, journey::Role::unknown});
            } else {
                const KernelTrack t = kernel_track(h);
                sl.pid = kernel_pid_;
                sl.tid = kernel_pid_ + t.tid;
                sl.name = std::string(model::event_name(h.event));
                thread_names_.emplace(t.tid, std::string(t.name));
            }
            sl.ts = h.t_ns;
            // Wanted: until the packet's next hop; clip_durations() keeps
            // slices on one track from overlapping.
            sl.end = hi + 1 < p.hops.size() ? std::max(h.t_ns, p.hops[hi + 1].t_ns) : h.t_ns;
            sl.cat = std::string(model::layer_name(h.layer));
            sl.args = Json{{"packet", packet_title(j_, pi)},
                           {"since_cause", duration_text(h.since_cause_ns)},
                           {"current_task", fmt::format("{} pid {} tid {}", h.comm, h.pid, h.tid)},
                           {"cpu", h.cpu}};
            if (!h.detail.empty()) sl.args["detail"] = h.detail;
            if (!h.explain.empty()) sl.args["explain"] = h.explain;
            if (h.skb) sl.args["skb"] = fmt::format("{:#x}", h.skb);
            if (h.sk) sl.args["sk"] = fmt::format("{:#x}", h.sk);
            if (h.len) sl.args["len"] = h.len;
            if (!h.dev.empty()) sl.args["dev"] = h.dev;
            tracks_[{sl.pid, sl.tid}].slices.push_back(slices_.size());
            packet_slices_[pi].push_back(slices_.size());
            slices_.push_back(std::move(sl));
        }
    }
}

// A hop slice ends by the next hop slice on its track and never crosses a
// system call's edge, so every track's slices nest (the trace-event format
// requires it of complete events on one thread).
void Builder::clip_durations() {
    for (auto& [key, track] : tracks_) {
        std::vector<std::uint64_t> hop_starts;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
        for (auto i : track.slices) {
            if (slices_[i].is_syscall) calls.emplace_back(slices_[i].ts, slices_[i].end);
            else hop_starts.push_back(slices_[i].ts);
        }
        std::sort(hop_starts.begin(), hop_starts.end());
        for (auto i : track.slices) {
            Slice& s = slices_[i];
            if (s.is_syscall) continue;
            std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
            auto next = std::upper_bound(hop_starts.begin(), hop_starts.end(), s.ts);
            if (next != hop_starts.end()) limit = *next;
            for (const auto& [a, b] : calls) {
                if (a <= s.ts && s.ts <= b) limit = std::min(limit, b);
                if (a > s.ts) limit = std::min(limit, a);
            }
            s.end = std::min(std::max(s.end, s.ts + 1), limit);
            if (s.end < s.ts) s.end = s.ts;
        }
    }
}

void Builder::add_metadata(std::vector<Json>& meta) const {
    auto sort_index = [](journey::Role r) {
        return r == journey::Role::client ? 0 : r == journey::Role::server ? 2 : 3;
    };
    for (const auto& [pid, info] : processes_) {
        std::string comm = info.first;
        journey::Role role = info.second;
        const std::uint32_t real_pid = static_cast<std::uint32_t>(pid - pid_shift_);
        for (const auto& p : j_.processes)
            if (p.pid == real_pid) {
                role = p.role;
                if (!p.comm.empty()) comm = p.comm;
            }
        const std::string name = role == journey::Role::unknown
                                     ? fmt::format("{}{} (pid {})", prefix_, comm, real_pid)
                                     : fmt::format("{}{}: {} (pid {})", prefix_,
                                                   journey::role_name(role), comm, real_pid);
        meta.push_back(Json{{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"tid", pid},
                            {"args", {{"name", name}}}});
        meta.push_back(Json{{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid},
                            {"tid", pid}, {"args", {{"sort_index", sort_index(role)}}}});
    }
    for (const auto& [key, comm] : threads_)
        meta.push_back(Json{{"ph", "M"}, {"name", "thread_name"}, {"pid", key.first},
                            {"tid", key.second},
                            {"args", {{"name", fmt::format("{} (tid {})", comm,
                                                           key.second - pid_shift_)}}}});
    if (thread_names_.empty()) return;
    meta.push_back(Json{{"ph", "M"}, {"name", "process_name"}, {"pid", kernel_pid_},
                        {"tid", kernel_pid_},
                        {"args", {{"name", prefix_ + "kernel: " + transport_label(j_) +
                                               " over " + device_label(j_)}}}});
    meta.push_back(Json{{"ph", "M"}, {"name", "process_sort_index"}, {"pid", kernel_pid_},
                        {"tid", kernel_pid_}, {"args", {{"sort_index", 1}}}});
    for (const auto& [order, name] : thread_names_) {
        meta.push_back(Json{{"ph", "M"}, {"name", "thread_name"}, {"pid", kernel_pid_},
                            {"tid", kernel_pid_ + order}, {"args", {{"name", name}}}});
        meta.push_back(Json{{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", kernel_pid_},
                            {"tid", kernel_pid_ + order}, {"args", {{"sort_index", order}}}});
    }
}

Json Builder::timed_event(const Slice& s, std::uint64_t t_ns) const {
    return Json{{"pid", s.pid}, {"tid", s.tid}, {"ts", us(t_ns)}};
}

void Builder::add_events(std::vector<Json>& timed, std::uint64_t& next_flow_id) const {
    for (const auto& s : slices_) {
        Json e{{"ph", "X"}, {"name", s.name}, {"cat", s.cat}};
        e.update(timed_event(s, s.ts));
        e["dur"] = static_cast<double>(s.end - s.ts) / 1000.0;
        e["args"] = s.args;
        timed.push_back(std::move(e));
    }
    // Flow arrows (trace-event format v1: s, t, f with one id), each placed
    // inside its slice so it binds to it ("bp":"e": the enclosing slice).
    for (std::size_t pi = 0; pi < packet_slices_.size(); ++pi) {
        const auto& hops = packet_slices_[pi];
        if (hops.size() < 2) continue;
        const std::uint64_t id = next_flow_id++;
        for (std::size_t k = 0; k < hops.size(); ++k) {
            const Slice& s = slices_[hops[k]];
            const char* ph = k == 0 ? "s" : k + 1 == hops.size() ? "f" : "t";
            Json e{{"ph", ph}, {"name", fmt::format("packet #{}", pi + 1)}, {"cat", "packet"},
                   {"id", id}};
            e.update(timed_event(s, s.ts + (s.end - s.ts) / 2));
            if (*ph != 's') e["bp"] = "e";
            timed.push_back(std::move(e));
        }
    }
}

void Builder::build(std::vector<Json>& meta, std::vector<Json>& timed, std::uint64_t& next_flow_id) {
    base_ = base_ns();
    add_syscalls();
    add_hops();
    clip_durations();
    add_metadata(meta);
    add_events(timed, next_flow_id);
}

// Slices before flow events at the same time (a flow binds to a slice already
// open), longer slices first (parents before children).
bool event_before(const Json& a, const Json& b) {
    const double ta = a["ts"], tb = b["ts"];
    if (ta != tb) return ta < tb;
    const bool xa = a["ph"] == "X", xb = b["ph"] == "X";
    if (xa != xb) return xa;
    if (xa) return a["dur"].get<double>() > b["dur"].get<double>();
    return false;
}

}  // namespace

std::string render_perfetto(std::span<const journey::Journey> journeys) {
    std::vector<Json> meta, timed;
    std::uint64_t next_flow_id = 1;
    for (std::size_t k = 0; k < journeys.size(); ++k)
        Builder(journeys[k], k, journeys.size() > 1).build(meta, timed, next_flow_id);
    std::stable_sort(timed.begin(), timed.end(), event_before);

    Json other{{"generator", "tracepacket"}, {"clock", "CLOCK_MONOTONIC, from the first event"}};
    std::string out = "{\"displayTimeUnit\":\"ns\",\"otherData\":" + other.dump() +
                      ",\"traceEvents\":[\n";
    bool first = true;
    for (const auto* list : {&meta, &timed})
        for (const auto& e : *list) {
            if (!first) out += ",\n";
            first = false;
            out += e.dump(-1, ' ', false, Json::error_handler_t::replace);
        }
    out += "\n]}\n";
    return out;
}

Status write_perfetto(std::span<const journey::Journey> journeys, const std::string& path) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return errno_error("--perfetto: write " + path);
    f << render_perfetto(journeys);
    f.close();
    if (!f) return errno_error("--perfetto: write " + path);
    return {};
}

}  // namespace tpk::report
