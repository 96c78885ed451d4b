// What only the two-hosts journey has (`journey --two-hosts`): the lab's
// hosts and devices, and the ARP frames its capture kept apart from the
// conversation's. The recorder (commands/journey_session) fills it; the
// writers (report/two_hosts) say what changed against loopback.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "model/event.h"

namespace tpk::journey {

struct TwoHostsFacts {
    std::string client_address, server_address;
    std::string client_device, server_device;
    int client_mtu = 0, server_mtu = 0;
    std::uint64_t client_netns = 0, server_netns = 0;   // net:[inode]
    std::uint32_t client_pid = 0, server_pid = 0;
    std::vector<model::Event> arp;    // ARP frames captured on the client's veth end
};

struct ArpLine {
    std::uint64_t t_ns = 0;
    std::int64_t since_syn_ns = 0;   // against the first packet's cause (the SYN's connect enter)
    std::string text;                // tcpdump's line: "Request who-has ..."
    bool request = false;
};

struct DeviceHops {
    std::string dev;
    std::uint64_t netns = 0;
    std::vector<std::string> sent;      // device-layer hops that fired on it ("net_dev_queue")
    std::vector<std::string> received;  // receive-layer hops ("netif_rx")
};

struct TwoHostsView {
    TwoHostsFacts facts;     // without the ARP frames (they are arp below)
    std::vector<ArpLine> arp;
    // The SYN: from the hop before its first device hop on the client's
    // veth end (its route lookup) to that hop, the neighbour resolution
    // included (-1 when the hops are missing); since_syn like ArpLine's.
    std::int64_t syn_neighbour_wait_ns = -1;
    std::int64_t syn_device_since_syn_ns = -1;
    std::string syn_wait_from, syn_wait_to;  // the two hops' names
    std::string first_packet;         // "the SYN", "the first datagram"
    std::string route_type, route_table, route_dev;
    std::string lo_route_type, lo_route_table, lo_route_dev;  // when the loopback journey ran
    std::vector<DeviceHops> devices;  // the client's veth end, the server's
    std::uint16_t syn_mss = 0, lo_syn_mss = 0;
    std::uint32_t largest_frame = 0;  // wire length of the largest captured TCP/UDP frame
    std::uint32_t frames_over_mtu = 0;  // captured frames longer than MTU + 14 (GSO skbs)
    std::uint32_t largest_skb = 0;    // largest len on a veth device hop
    std::uint32_t lo_largest_skb = 0;
    int lo_mtu = 65536;               // lo's default
    bool compared = false;            // the loopback journey ran
};

TwoHostsView two_hosts_view(const Journey& veth, const TwoHostsFacts& facts,
                            const Journey* loopback);

}  // namespace tpk::journey
