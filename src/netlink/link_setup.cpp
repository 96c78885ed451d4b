#include "netlink/link_setup.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cstring>
#include <thread>
#include <vector>

#include "netlink/netlink_socket.h"

namespace tpk::netlink {

namespace {

Status send_and_ack(NetlinkSocket& socket, nlmsghdr* request, const std::string& what) {
    Status ok = socket.exchange(request, [](const nlmsghdr*) { return Status{}; });
    if (!ok) return wrap(std::move(ok).take_error(), what);
    return {};
}

Result<int> index_of(const std::string& device) {
    unsigned index = if_nametoindex(device.c_str());
    if (!index) return errno_error("no device " + device);
    return static_cast<int>(index);
}

}  // namespace

Status create_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return std::move(socket).take_error();
    std::vector<char> buffer;
    nlmsghdr* h = socket->start_request(buffer, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, name.c_str());
    nlattr* linkinfo = mnl_attr_nest_start(h, IFLA_LINKINFO);
    mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
    nlattr* peer_info = mnl_attr_nest_start(h, VETH_INFO_PEER);
    // The peer's attributes follow its own ifinfomsg (rtnl_newlink's veth
    // peer parsing, drivers/net/veth.c veth_newlink()).
    auto* peer_ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    peer_ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, peer.c_str());
    mnl_attr_put_u32(h, IFLA_NET_NS_FD, static_cast<std::uint32_t>(peer_netns_fd));
    mnl_attr_nest_end(h, peer_info);
    mnl_attr_nest_end(h, data);
    mnl_attr_nest_end(h, linkinfo);
    return send_and_ack(*socket, h, "create veth " + name + " (peer " + peer + ")");
}

namespace {

// RTM_NEWADDR: address/prefix on device (IFA_LOCAL and IFA_ADDRESS alike, a
// point-to-point peer being none).
Status add_address(const std::string& device, unsigned char family, const void* address,
                   std::size_t size, int prefix, unsigned char flags, const std::string& what) {
    auto index = index_of(device);
    if (!index) return std::move(index).take_error();
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return std::move(socket).take_error();
    std::vector<char> buffer;
    nlmsghdr* h = socket->start_request(buffer, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifaddrmsg)));
    ifa->ifa_family = family;
    ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
    ifa->ifa_flags = flags;
    ifa->ifa_index = static_cast<unsigned>(*index);
    mnl_attr_put(h, IFA_LOCAL, size, address);
    mnl_attr_put(h, IFA_ADDRESS, size, address);
    return send_and_ack(*socket, h, what + " to " + device);
}

}  // namespace

Status add_ipv4_address(const std::string& device, in_addr address, int prefix) {
    return add_address(device, AF_INET, &address, sizeof address, prefix, 0, "add an address");
}

// IFA_F_NODAD: usable at once, without duplicate address detection's wait.
Status add_ipv6_address(const std::string& device, const in6_addr& address, int prefix) {
    return add_address(device, AF_INET6, &address, sizeof address, prefix, IFA_F_NODAD,
                       "add an IPv6 address");
}

Status add_ipv4_route(in_addr destination, int prefix, in_addr gateway) {
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return std::move(socket).take_error();
    std::vector<char> buffer;
    nlmsghdr* h = socket->start_request(buffer, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = static_cast<unsigned char>(prefix);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(h, RTA_DST, sizeof destination, &destination);
    mnl_attr_put(h, RTA_GATEWAY, sizeof gateway, &gateway);
    return send_and_ack(*socket, h, "add a route");
}

Status wait_link_ready(const std::string& device, std::chrono::milliseconds timeout) {
    auto index = index_of(device);
    if (!index) return std::move(index).take_error();
    auto socket = NetlinkSocket::open(NETLINK_ROUTE);
    if (!socket) return std::move(socket).take_error();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<char> buffer;
        nlmsghdr* h = socket->start_request(buffer, RTM_GETLINK, NLM_F_ACK);  // the ACK ends exchange()
        auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = *index;
        std::string qdisc;
        Status ok = socket->exchange(h, [&](const nlmsghdr* reply) {
            for_each_attribute(reply, sizeof(ifinfomsg), [&](const nlattr* attr) {
                if (mnl_attr_get_type(attr) == IFLA_QDISC && mnl_attr_get_payload_len(attr) > 0)
                    qdisc.assign(static_cast<const char*>(mnl_attr_get_payload(attr)),
                                 strnlen(static_cast<const char*>(mnl_attr_get_payload(attr)),
                                         mnl_attr_get_payload_len(attr)));
            });
            return Status{};
        });
        if (!ok) return wrap(std::move(ok).take_error(), "get link " + device);
        if (!qdisc.empty() && qdisc != "noop") return {};
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(device + " still has no queueing discipline (carrier off?) after " +
                              std::to_string(timeout.count()) + " ms");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace tpk::netlink
