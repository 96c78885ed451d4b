// The few rtnetlink writes a lab's namespaces need (never by running `ip`):
// a veth pair whose peer goes to another namespace, an IPv4 address on a
// device, a route via a gateway. Each acts in the calling thread's network
// namespace (the netlink socket is opened there), so a lab enters a
// namespace (lab/netns.h) and then calls these.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "util/result.h"

namespace tpk::netlink {

// RTM_NEWLINK kind veth: `name` here, `peer` in the namespace of peer_netns_fd.
Status create_veth(const std::string& name, const std::string& peer, int peer_netns_fd);
// RTM_NEWADDR: address/prefix on device.
Status add_ipv4_address(const std::string& device, in_addr address, int prefix);
// RTM_NEWADDR: an IPv6 address/prefix on device, IFA_F_NODAD: usable at once
// (no tentative phase of duplicate address detection; the lab's link has
// nobody else on it). The kernel adds the prefix route when the device is up.
Status add_ipv6_address(const std::string& device, const in6_addr& address, int prefix);
// RTM_NEWROUTE in the main table: destination/prefix via gateway.
Status add_ipv4_route(in_addr destination, int prefix, in_addr gateway);

// Waits until a device's queueing discipline is attached (IFLA_QDISC no
// longer "noop"). A veth's carrier comes on through the linkwatch work, which
// the kernel may hold back up to a second; until dev_activate() ran there,
// the device keeps the noop qdisc and drops what it is given (QDISC_DROP:
// the first ARP request of a fresh lab was lost). IFF_RUNNING does not tell:
// a new device's operstate is UNKNOWN, which counts as up.
Status wait_link_ready(const std::string& device, std::chrono::milliseconds timeout);

}  // namespace tpk::netlink
