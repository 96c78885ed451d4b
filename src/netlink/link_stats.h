// A device's packet and byte counters (RTM_GETLINK, IFLA_STATS64), read in
// the calling thread's network namespace like the rest of rtnetlink here.
// /sys/class/net would show the namespace sysfs was mounted in, not the
// thread's, so a lab namespace's veth counters come from netlink.
#pragma once

#include <cstdint>
#include <string>

#include "util/result.h"

namespace tpk::netlink {

struct LinkCounters {
    std::uint64_t rx_packets = 0;
    std::uint64_t tx_packets = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_bytes = 0;
};

Result<LinkCounters> link_counters(const std::string& device);

// after - before, field by field (counters only grow while a device lives).
LinkCounters counters_delta(const LinkCounters& before, const LinkCounters& after);

}  // namespace tpk::netlink
