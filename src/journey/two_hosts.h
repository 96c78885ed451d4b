// What only the two-hosts journey has (`journey --two-hosts`): the lab's
// hosts and devices, and the ARP frames its capture kept apart from the
// conversation's. The recorder (commands/journey_session) fills it; the
// writers (report/two_hosts) say what changed against loopback.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace tpk::journey
