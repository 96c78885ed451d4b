// What `journey --two-hosts` knows of its lab before any packet (the
// addresses, devices and MTU of commands/two_hosts_lab.h, which the tests of
// journey/ and report/ cannot link), for views built from its recording.
#pragma once

#include "journey/two_hosts.h"

namespace tpk::testing {

inline journey::TwoHostsFacts two_hosts_lab_facts() {
    journey::TwoHostsFacts f;
    f.client_address = "198.18.0.2";
    f.server_address = "198.18.0.1";
    f.client_device = "veth-client";
    f.server_device = "veth-server";
    f.client_mtu = f.server_mtu = 1500;
    return f;
}

}  // namespace tpk::testing
