#include "journey/correlator_timeline.h"

#include <algorithm>

namespace tpk::journey::stages {

Timeline::Timeline(const std::vector<Syscall>& syscalls, const std::vector<PacketState>& packets) {
    for (std::size_t i = 0; i < syscalls.size(); ++i) {
        const auto& s = syscalls[i];
        syscalls_by_tid_[s.tid].push_back({s.enter_ns, s.exit_ns, i});
    }
    end_ns_.reserve(packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& ps = packets[i];
        end_ns_.push_back(ps.end_ns);
        if (ps.rx_ns) rx_index_[{ps.rx_cpu, ps.rx_tid}].push_back({ps.rx_ns, i});
        for (const Hop& h : ps.p.hops)
            if (h.event == EventKind::net_dev_queue) {
                queue_index_[h.tid].push_back({h.t_ns, i});
                break;
            }
    }
    for (auto& [k, v] : rx_index_) std::sort(v.begin(), v.end());
    for (auto& [k, v] : queue_index_) std::sort(v.begin(), v.end());
}

std::size_t Timeline::open_syscall(std::uint32_t tid, std::uint64_t t) const {
    auto it = syscalls_by_tid_.find(tid);
    if (it == syscalls_by_tid_.end()) return kNone;
    // A thread runs one syscall at a time: the candidate is the last one
    // entered at or before t (indices are in enter order).
    const auto& v = it->second;
    auto pos = std::upper_bound(v.begin(), v.end(), t,
                                [](std::uint64_t x, const Window& w) { return x < w.enter_ns; });
    if (pos == v.begin()) return kNone;
    const auto& s = *(pos - 1);
    return s.exit_ns == 0 || s.exit_ns >= t ? s.syscall : kNone;
}

std::size_t Timeline::last_syscall(std::uint32_t tid, std::uint64_t t) const {
    auto it = syscalls_by_tid_.find(tid);
    if (it == syscalls_by_tid_.end()) return kNone;
    const auto& v = it->second;
    auto pos = std::upper_bound(v.begin(), v.end(), t,
                                [](std::uint64_t x, const Window& w) { return x < w.enter_ns; });
    return pos == v.begin() ? kNone : (pos - 1)->syscall;
}

// On loopback the whole receive path (and any reply it sends) runs nested
// inside netif_receive_skb of that packet, in whatever task raised the softirq.
std::size_t Timeline::receiving_packet(std::uint32_t cpu, std::uint32_t tid,
                                       std::uint64_t t) const {
    auto it = rx_index_.find({cpu, tid});
    if (it == rx_index_.end()) return kNone;
    const auto& v = it->second;  // (rx_ns, packet), sorted
    auto pos = std::upper_bound(v.begin(), v.end(), std::make_pair(t, kNone));
    std::size_t context = open_syscall(tid, t);
    // The latest receive started before t that is still going on; a few
    // steps back cover packets received nested inside another's processing.
    for (int steps = 0; pos != v.begin() && steps < 16; ++steps) {
        --pos;
        const auto [rx_ns, packet] = *pos;
        // Nested processing stays inside one syscall (or one softirq outside
        // any): a packet received during sendto() cannot be what close() is
        // doing later in the same thread.
        if (open_syscall(tid, rx_ns) != context) return kNone;
        if (end_ns_[packet] && end_ns_[packet] < t) continue;
        return packet;
    }
    return kNone;
}

std::size_t Timeline::next_queued(std::uint32_t tid, std::uint64_t t) const {
    auto q = queue_index_.find(tid);
    if (q == queue_index_.end()) return kNone;
    auto pos = std::lower_bound(q->second.begin(), q->second.end(),
                                std::make_pair(t, std::size_t{0}));
    if (pos == q->second.end()) return kNone;
    if (open_syscall(tid, t) != open_syscall(tid, pos->first)) return kNone;
    return pos->second;
}

}  // namespace tpk::journey::stages
