// What `journey --two-hosts` says changed against loopback, from a recorded
// two-hosts run (tests/fixtures/events/6.18-x86_64/journey-tcp-two-hosts.jsonl)
// and the lab's facts: ARP frames (built here byte by byte, as a veth end
// carries them) placed around the SYN, the hops on each veth end, the SYN's
// wait for the neighbour measured from its own hops (not the server's ARP
// lookups that the correlator files under it), the MSS, the JSON record.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/two_hosts.h"
#include "support/recordings.h"
#include "support/two_hosts.h"

namespace tpk::report {
namespace {

using Mac = std::array<std::uint8_t, 6>;
constexpr Mac kClientMac{0x02, 0, 0, 0, 0, 0x02};
constexpr Mac kServerMac{0x02, 0, 0, 0, 0, 0x01};
constexpr std::array<std::uint8_t, 4> kClientIp{198, 18, 0, 2};
constexpr std::array<std::uint8_t, 4> kServerIp{198, 18, 0, 1};

// An Ethernet ARP frame (RFC 826): request (op 1) or reply (op 2).
model::Event arp_frame(bool request, std::uint64_t t_ns) {
    std::vector<std::uint8_t> f;
    auto put = [&](auto bytes) { f.insert(f.end(), bytes.begin(), bytes.end()); };
    put(request ? Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : kClientMac);
    put(request ? kClientMac : kServerMac);
    put(std::array<std::uint8_t, 2>{0x08, 0x06});
    put(std::array<std::uint8_t, 8>{0, 1, 0x08, 0x00, 6, 4, 0, static_cast<std::uint8_t>(request ? 1 : 2)});
    put(request ? kClientMac : kServerMac);
    put(request ? kClientIp : kServerIp);
    put(request ? Mac{} : kClientMac);
    put(request ? kServerIp : kClientIp);
    model::Event e;
    e.kind = model::EventKind::frame;
    e.t_ns = t_ns;
    e.link_type = 1;  // DLT_EN10MB
    e.frame = f;
    e.skb_len = static_cast<std::uint32_t>(f.size());
    return e;
}

journey::TwoHostsFacts facts_for(const journey::Journey& j) {
    journey::TwoHostsFacts f = testing::two_hosts_lab_facts();
    const std::uint64_t syn = j.packets.at(0).cause_ns;
    f.arp.push_back(arp_frame(true, syn + 30'000));
    f.arp.push_back(arp_frame(false, syn + 50'000));
    return f;
}

class TwoHostsView : public ::testing::Test {
protected:
    journey::Journey j = testing::replay("journey-tcp-two-hosts.jsonl");
};

TEST_F(TwoHostsView, ArpLinesAsTcpdumpPrintsThem) {
    auto v = journey::two_hosts_view(j, facts_for(j), nullptr);
    ASSERT_EQ(v.arp.size(), 2u);
    EXPECT_EQ(v.arp[0].text, "ARP, Request who-has 198.18.0.1 tell 198.18.0.2, length 28");
    EXPECT_TRUE(v.arp[0].request);
    EXPECT_EQ(v.arp[0].since_syn_ns, 30'000);
    EXPECT_EQ(v.arp[1].text, "ARP, Reply 198.18.0.1 is-at 02:00:00:00:00:01, length 28");
    EXPECT_FALSE(v.arp[1].request);
    EXPECT_TRUE(v.facts.arp.empty()) << "the frames are in arp, not copied again";
}

TEST_F(TwoHostsView, TheSynWaitsFromItsOwnLastHop) {
    auto v = journey::two_hosts_view(j, facts_for(j), nullptr);
    const auto& syn = j.packets.at(0);
    ASSERT_EQ(syn.tcp_flags, 0x02);
    // The SYN's first hop on veth-client, and the last hop before it that is
    // not on veth-server.
    const journey::Hop* device = nullptr;
    const journey::Hop* before = nullptr;
    for (const auto& h : syn.hops) {
        if (h.dev == "veth-client" && h.layer == model::Layer::device) {
            device = &h;
            break;
        }
        if (h.dev != "veth-server") before = &h;
    }
    ASSERT_NE(device, nullptr);
    ASSERT_NE(before, nullptr);
    EXPECT_EQ(v.syn_wait_to, "net_dev_queue");
    EXPECT_EQ(v.syn_wait_from, "fib_table_lookup");
    EXPECT_EQ(v.syn_neighbour_wait_ns, static_cast<std::int64_t>(device->t_ns - before->t_ns));
    EXPECT_EQ(v.syn_device_since_syn_ns, static_cast<std::int64_t>(device->t_ns - syn.cause_ns));
    EXPECT_EQ(v.first_packet, "the SYN");
}

TEST_F(TwoHostsView, EachEndSendsAndReceives) {
    auto v = journey::two_hosts_view(j, facts_for(j), nullptr);
    ASSERT_EQ(v.devices.size(), 2u);
    const std::vector<std::string> sent{"net_dev_queue", "net_dev_start_xmit", "net_dev_xmit"};
    const std::vector<std::string> received{"netif_rx", "netif_receive_skb"};
    for (const auto& d : v.devices) {
        EXPECT_EQ(d.sent, sent) << d.dev;
        EXPECT_EQ(d.received, received) << d.dev;
    }
    EXPECT_EQ(v.syn_mss, 1460);
    EXPECT_EQ(v.frames_over_mtu, 0u);
}

TEST_F(TwoHostsView, LoopbackSideBySide) {
    auto lo = testing::replay("journey-tcp.jsonl");
    auto v = journey::two_hosts_view(j, facts_for(j), &lo);
    EXPECT_TRUE(v.compared);
    EXPECT_EQ(v.lo_syn_mss, 65495);
    // Recordings keep no rtnetlink answer: the routes are the runtime test's.
}

TEST_F(TwoHostsView, TextAndJson) {
    auto v = journey::two_hosts_view(j, facts_for(j), nullptr);
    TextStyle style;
    style.color = false;
    std::string text = render_two_hosts_text(v, style);
    EXPECT_NE(text.find("ARP, Request who-has 198.18.0.1 tell 198.18.0.2"), std::string::npos) << text;
    EXPECT_NE(text.find("the SYN reaches veth-client (net_dev_queue)"), std::string::npos) << text;
    EXPECT_NE(text.find("veth-server (net:[0]) sends: net_dev_queue, net_dev_start_xmit, net_dev_xmit; "
                        "receives: netif_rx, netif_receive_skb"),
              std::string::npos) << text;
    std::ostringstream out;
    write_two_hosts_json(v, out);
    auto record = nlohmann::json::parse(out.str());
    EXPECT_EQ(record.at("type"), "two_hosts");
    EXPECT_EQ(record.at("arp").size(), 2u);
    EXPECT_EQ(record.at("syn_mss"), 1460);
    EXPECT_EQ(record.at("devices").at(1).at("dev"), "veth-server");
    EXPECT_FALSE(record.contains("loopback"));
}

}  // namespace
}  // namespace tpk::report
