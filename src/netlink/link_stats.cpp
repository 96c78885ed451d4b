#include "netlink/link_stats.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>
#include <vector>

#include "netlink/netlink_socket.h"

namespace tpk::netlink {

Result<LinkCounters> link_counters(const std::string& device) {
    unsigned index = if_nametoindex(device.c_str());
    if (!index) return errno_error("no device " + device);
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return std::move(socket).take_error();
    std::vector<char> buffer;
    nlmsghdr* h = socket->start_request(buffer, RTM_GETLINK, NLM_F_ACK);  // the ACK ends exchange()
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = static_cast<int>(index);
    LinkCounters counters;
    bool found = false;
    Status ok = socket->exchange(h, [&](const nlmsghdr* reply) {
        for_each_attribute(reply, sizeof(ifinfomsg), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) != IFLA_STATS64 ||
                mnl_attr_get_payload_len(attr) < sizeof(rtnl_link_stats64))
                return;
            rtnl_link_stats64 s;  // the payload is only 4-byte aligned: copy it out
            std::memcpy(&s, mnl_attr_get_payload(attr), sizeof s);
            counters = {s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes};
            found = true;
        });
        return Status{};
    });
    if (!ok) return wrap(std::move(ok).take_error(), "get the counters of " + device);
    if (!found) return make_error("the kernel gave no IFLA_STATS64 for " + device);
    return counters;
}

LinkCounters counters_delta(const LinkCounters& before, const LinkCounters& after) {
    return {after.rx_packets - before.rx_packets, after.tx_packets - before.tx_packets,
            after.rx_bytes - before.rx_bytes, after.tx_bytes - before.tx_bytes};
}

}  // namespace tpk::netlink
