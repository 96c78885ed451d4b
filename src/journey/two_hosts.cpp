#include "journey/two_hosts.h"

#include <netinet/in.h>

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "decode/packet.h"
#include "decode/text.h"

namespace tpk::journey {
namespace {

constexpr std::uint8_t kSyn = 0x02, kAck = 0x10;

const Packet* first_syn(const Journey& j) {
    for (const auto& p : j.packets)
        if (p.flow.protocol == IPPROTO_TCP && (p.tcp_flags & kSyn) && !(p.tcp_flags & kAck)) return &p;
    return nullptr;
}

std::uint16_t syn_mss(const Journey& j) {
    const Packet* syn = first_syn(j);
    if (!syn || !syn->frame) return 0;
    decode::Packet d;
    auto bytes = std::as_bytes(std::span<const std::uint8_t>(syn->frame->bytes));
    decode::decode_frame(syn->frame->link_type, bytes, syn->frame->wire_len, d);
    return d.tcp.has_mss ? d.tcp.mss : 0;
}

// Largest skb len seen on a device hop (net_dev_*: with the 14-byte Ethernet header).
std::uint32_t largest_skb(const Journey& j) {
    std::uint32_t most = 0;
    for (const auto& p : j.packets)
        for (const auto& h : p.hops)
            if (h.layer == model::Layer::device) most = std::max(most, h.len);
    return most;
}

void set_route(const Journey& j, std::string& type, std::string& table, std::string& dev) {
    if (j.routes.empty() || !j.routes.front().has_answer) return;
    type = j.routes.front().type;
    table = j.routes.front().table;
    dev = j.routes.front().dev;
}

}  // namespace

TwoHostsView two_hosts_view(const Journey& j, const TwoHostsFacts& facts,
                            const Journey* lo) {
    TwoHostsView v;
    v.facts = facts;
    v.facts.arp.clear();
    // The conversation's first packet: the SYN, or UDP's first datagram.
    const Packet* syn = first_syn(j);
    if (!syn && !j.packets.empty()) syn = &j.packets.front();
    v.first_packet = syn && (syn->tcp_flags & kSyn) ? "the SYN" : "the first datagram";
    const std::uint64_t syn_start = syn ? syn->cause_ns : 0;
    decode::TextRenderer text;
    for (const auto& e : facts.arp) {
        decode::Packet d;
        auto bytes = std::as_bytes(std::span<const std::uint8_t>(e.frame));
        decode::decode_frame(e.link_type, bytes, e.skb_len ? e.skb_len : static_cast<std::uint32_t>(e.frame.size()), d);
        fmt::memory_buffer out;
        text.render_body(d, out);
        ArpLine line;
        line.t_ns = e.t_ns;
        line.since_syn_ns = syn_start ? static_cast<std::int64_t>(e.t_ns - syn_start) : 0;
        line.text = fmt::to_string(out);
        line.request = line.text.find("Request") != std::string::npos;
        v.arp.push_back(std::move(line));
    }
    if (syn) {
        // The SYN's first hop on the client's veth end, and the hop before
        // it (its route lookup): the neighbour's wait lies between.
        // Hops on the server's end meanwhile are the server's ARP code, not
        // the SYN's: the wait is measured from the SYN's own last hop.
        const Hop* before = nullptr;
        for (const auto& h : syn->hops) {
            if (h.dev == facts.client_device && h.layer == model::Layer::device) {
                if (!before) break;
                v.syn_neighbour_wait_ns = static_cast<std::int64_t>(h.t_ns - before->t_ns);
                v.syn_device_since_syn_ns = static_cast<std::int64_t>(h.t_ns - syn_start);
                v.syn_wait_from = std::string(model::event_name(before->event));
                v.syn_wait_to = std::string(model::event_name(h.event));
                break;
            }
            if (h.dev != facts.server_device) before = &h;
        }
    }
    set_route(j, v.route_type, v.route_table, v.route_dev);
    for (const auto& dev : {facts.client_device, facts.server_device}) {
        DeviceHops d;
        d.dev = dev;
        d.netns = dev == facts.client_device ? facts.client_netns : facts.server_netns;
        auto add = [](std::vector<std::string>& to, std::string name) {
            if (std::find(to.begin(), to.end(), name) == to.end()) to.push_back(std::move(name));
        };
        for (const auto& p : j.packets)
            for (const auto& h : p.hops) {
                if (h.dev != dev) continue;
                if (h.layer == model::Layer::device) add(d.sent, std::string(model::event_name(h.event)));
                if (h.layer == model::Layer::receive) add(d.received, std::string(model::event_name(h.event)));
            }
        v.devices.push_back(std::move(d));
    }
    v.syn_mss = syn_mss(j);
    for (const auto& p : j.packets)
        if (p.frame) {
            v.largest_frame = std::max(v.largest_frame, p.frame->wire_len);
            if (facts.client_mtu && p.frame->wire_len > static_cast<std::uint32_t>(facts.client_mtu) + 14)
                ++v.frames_over_mtu;
        }
    v.largest_skb = largest_skb(j);
    if (lo) {
        v.compared = true;
        set_route(*lo, v.lo_route_type, v.lo_route_table, v.lo_route_dev);
        v.lo_syn_mss = syn_mss(*lo);
        v.lo_largest_skb = largest_skb(*lo);
    }
    return v;
}

}  // namespace tpk::journey
