// Stage support: what was running where and when. Owns an index of the
// syscall windows per thread and of the packets' receive processing per
// (cpu, thread) and first queueing per thread. Consumes the paired syscalls
// (correlator_events) and the built packets (correlator_packets), after which
// neither's times nor order change; produces answers to "which syscall / which
// packet's receive was running here", the questions every attribution asks.
// Immutable once built.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

class Timeline {
public:
    Timeline(const std::vector<Syscall>& syscalls, const std::vector<PacketState>& packets);

    // The syscall running on tid at time t, or kNone.
    std::size_t open_syscall(std::uint32_t tid, std::uint64_t t) const;
    // The last syscall tid entered at or before t, open or finished; kNone.
    std::size_t last_syscall(std::uint32_t tid, std::uint64_t t) const;
    // The packet whose receive processing is running on (cpu, tid) at time t,
    // or kNone.
    std::size_t receiving_packet(std::uint32_t cpu, std::uint32_t tid, std::uint64_t t) const;
    // The first packet queued to a device (net_dev_queue) on tid at or after
    // t, within the same syscall (or softirq) as t; or kNone.
    std::size_t next_queued(std::uint32_t tid, std::uint64_t t) const;

private:
    struct Window {
        std::uint64_t enter_ns, exit_ns;
        std::size_t syscall;
    };
    std::map<std::uint32_t, std::vector<Window>> syscalls_by_tid_;  // enter order
    // (cpu, tid) -> (rx_ns, packet) sorted; tid -> (net_dev_queue t, packet) sorted
    std::map<std::pair<std::uint32_t, std::uint32_t>,
             std::vector<std::pair<std::uint64_t, std::size_t>>> rx_index_;
    std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::size_t>>> queue_index_;
    std::vector<std::uint64_t> end_ns_;  // per packet: its skb is gone (0: not seen)
};

}  // namespace tpk::journey::stages
