#include "commands/two_hosts_lab.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include "netlink/link_setup.h"
#include "util/fd.h"

namespace tpk::commands {

in_addr ipv4_of(const char* text) {
    in_addr a{};
    inet_pton(AF_INET, text, &a);
    return a;
}

in6_addr ipv6_of(const char* text) {
    in6_addr a{};
    inet_pton(AF_INET6, text, &a);
    return a;
}

Status run_inside(const lab::NetNamespace& ns, const std::function<Status()>& fn) {
    auto inside = ns.enter();
    if (!inside) return std::move(inside).take_error();
    return fn();
}

Result<int> link_mtu(const std::string& device) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return errno_error("socket for SIOCGIFMTU");
    ifreq ifr{};
    if (device.size() >= sizeof ifr.ifr_name) return make_error("device name too long: " + device);
    std::memcpy(ifr.ifr_name, device.c_str(), device.size());
    if (ioctl(s.get(), SIOCGIFMTU, &ifr) != 0) return errno_error("get the MTU of " + device);
    return ifr.ifr_mtu;
}

Result<TwoHosts> build_two_hosts(const TwoHostsSetup& setup) {
    auto client = lab::NetNamespace::create();
    if (!client) return std::move(client).take_error();
    auto server = lab::NetNamespace::create();
    if (!server) return std::move(server).take_error();
    TwoHosts hosts{std::move(*client), std::move(*server), setup.ipv6};
    Status ok = run_inside(hosts.client, [&]() -> Status {
        if (auto st = netlink::create_veth(TwoHosts::kClientDevice, TwoHosts::kServerDevice,
                                           hosts.server.fd());
            !st)
            return st;
        if (auto st = netlink::add_ipv4_address(TwoHosts::kClientDevice,
                                                ipv4_of(TwoHosts::kClientAddress), TwoHosts::kPrefix);
            !st)
            return st;
        if (setup.ipv6)
            if (auto st = netlink::add_ipv6_address(TwoHosts::kClientDevice, ipv6_of(TwoHosts::kClientAddress6),
                                                    TwoHosts::kPrefix6);
                !st)
                return st;
        return lab::set_link_up(TwoHosts::kClientDevice);
    });
    if (!ok) return wrap(std::move(ok).take_error(), "two-hosts lab, client namespace");
    ok = run_inside(hosts.server, [&]() -> Status {
        if (auto st = netlink::add_ipv4_address(TwoHosts::kServerDevice,
                                                ipv4_of(TwoHosts::kServerAddress), TwoHosts::kPrefix);
            !st)
            return st;
        if (setup.ipv6)
            if (auto st = netlink::add_ipv6_address(TwoHosts::kServerDevice, ipv6_of(TwoHosts::kServerAddress6),
                                                    TwoHosts::kPrefix6);
                !st)
                return st;
        return lab::set_link_up(TwoHosts::kServerDevice);
    });
    if (!ok) return wrap(std::move(ok).take_error(), "two-hosts lab, server namespace");
    // Both ends able to send before the first SYN: a fresh veth drops what
    // it is given until its qdisc is attached (netlink/link_setup.h).
    for (const auto* side : {&hosts.client, &hosts.server}) {
        const char* device = side == &hosts.client ? TwoHosts::kClientDevice : TwoHosts::kServerDevice;
        ok = run_inside(*side, [&] { return netlink::wait_link_ready(device, std::chrono::seconds(5)); });
        if (!ok) return wrap(std::move(ok).take_error(), "two-hosts lab");
    }
    return hosts;
}

}  // namespace tpk::commands
