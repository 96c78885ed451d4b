// The journey on the kernels users run. These tests run natively and, under
// `make test`, inside QEMU guests booting Debian's own 5.10, 6.1 and 6.12
// kernels (tests/vm/, cmake/vm.cmake): on each, the hops the journey says
// are missing, limited or taken from a fallback must be exactly what that
// kernel lacks (the table below, measured on Debian's packages), and the
// fallbacks must really give their hops.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/json_lines.h"

namespace {

using nlohmann::json;
using Output = tpk::testing::JsonLinesOutput;

#define REQUIRE_ROOT() \
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root"

std::string release() {
    struct utsname u {};
    uname(&u);
    return u.release;
}

// What each kernel lacks of tracepacket's tracepoints, and which object it
// loads. fallbacks: the hops its fentry/fexit programs give where the kernel
// allows them (Debian's kernels do; this project's build machine does not),
// besides the IP layer's, which only fentry gives on any kernel.
struct KernelFacts {
    const char* version;                   // release prefix, "6.1."
    const char* object;                    // "modern" / "compat"
    std::set<std::string> fallbacks;       // hops from fentry/fexit
    std::set<std::string> limited;         // hops without some arguments
};

const std::vector<KernelFacts>& facts() {
    static const std::vector<KernelFacts> table = {
        {"5.10.", "compat",
         {"tcp_sendmsg_locked", "sock_send_length", "sk_data_ready", "sock_recv_length"},
         {"kfree_skb", "tcp_retransmit_skb", "tcp_send_reset"}},
        {"6.1.", "compat",
         {"tcp_sendmsg_locked", "sock_send_length", "sk_data_ready", "sock_recv_length"},
         {"kfree_skb", "tcp_retransmit_skb", "tcp_send_reset"}},
        {"6.12.", "modern", {"tcp_sendmsg_locked"}, {"tcp_retransmit_skb"}},
        {"6.18.", "modern", {}, {}},
    };
    return table;
}

const KernelFacts* facts_of_this_kernel() {
    std::string r = release();
    for (const auto& f : facts())
        if (r.rfind(f.version, 0) == 0) return &f;
    return nullptr;
}

const std::set<std::string> kIpHops = {"ip_output", "ip_rcv", "ip_local_deliver"};

// Whether fentry/fexit programs may attach here, as `tracepacket doctor` probes it.
bool fentry_allowed() {
    FILE* f = popen((std::string(TPK_BINARY) + " doctor --json 2>/dev/null").c_str(), "r");
    if (!f) return false;
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
    auto doc = json::parse(out, nullptr, /*allow_exceptions=*/false);
    return doc.is_object() && doc.value("fentry", false);
}

Output journey(const std::string& args) {
    return tpk::testing::run_json_lines(std::string(TPK_BINARY) + " journey --json " + args);
}

std::set<std::string> hops_of(const json& list) {
    std::set<std::string> out;
    for (const auto& h : list) out.insert(h.at("hop").get<std::string>());
    return out;
}

// "sock_send_length from fexit sock_sendmsg" -> "sock_send_length"
std::set<std::string> fallback_hops(const json& list) {
    std::set<std::string> out;
    for (const auto& f : list) {
        auto s = f.get<std::string>();
        out.insert(s.substr(0, s.find(' ')));
    }
    return out;
}

bool has_hop(const json& packet, const std::string& event, const std::string& side) {
    for (const auto& h : packet.at("hops"))
        if (h.at("event") == event && h.at("side") == side) return true;
    return false;
}

TEST(KernelMatrix, MissingAndLimitedHopsAreWhatThisKernelLacks) {
    REQUIRE_ROOT();
    const KernelFacts* f = facts_of_this_kernel();
    if (!f) GTEST_SKIP() << "no facts recorded for kernel " << release();
    // Without fentry every fallback hop is missing instead.
    std::set<std::string> fallbacks = f->fallbacks, missing;
    fallbacks.insert(kIpHops.begin(), kIpHops.end());
    if (!fentry_allowed()) std::swap(fallbacks, missing);
    auto r = journey("");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    ASSERT_TRUE(r.summary().contains("kernel")) << r.summary().dump();
    const json& k = r.summary().at("kernel");
    EXPECT_EQ(k.at("release"), release());
    EXPECT_EQ(k.at("bpf_object"), f->object);
    EXPECT_EQ(hops_of(k.at("missing_hops")), missing) << k.dump();
    EXPECT_EQ(hops_of(k.at("limited_hops")), f->limited) << k.dump();
    EXPECT_EQ(fallback_hops(k.at("fallbacks")), fallbacks) << k.dump();
    for (const auto& l : k.at("limited_hops")) EXPECT_FALSE(l.at("why").get<std::string>().empty());
}

// Each data segment shows the socket hops whatever their source: the
// tracepoint, or the function behind it on older kernels; and the IP layer
// where fentry is allowed, in the order the stack runs.
TEST(KernelMatrix, DataPacketsShowTheSocketHopsFromEverySource) {
    REQUIRE_ROOT();
    bool ip_layer = fentry_allowed();
    auto r = journey("");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    std::size_t data = 0;
    for (const auto& p : r.of("packet")) {
        if (p.at("kind") != "data") continue;
        ++data;
        EXPECT_TRUE(has_hop(p, "tcp_sendmsg_locked", "send")) << p.dump();
        EXPECT_TRUE(has_hop(p, "sock_send_length", "send")) << p.dump();
        EXPECT_TRUE(has_hop(p, "sk_data_ready", "receive")) << p.dump();
        EXPECT_TRUE(has_hop(p, "sock_recv_length", "receive")) << p.dump();
        if (!ip_layer) continue;
        // tcp_probe is left out: a segment that reaches a socket still
        // completing its handshake (seen on 5.10 under emulation) goes
        // through tcp_rcv_state_process(), which has no tcp_probe.
        std::vector<std::string> order;
        for (const auto& h : p.at("hops")) {
            std::string ev = h.at("event");
            if (kIpHops.count(ev) || ev == "net_dev_queue" || ev == "netif_receive_skb")
                order.push_back(ev);
        }
        EXPECT_EQ(order, (std::vector<std::string>{"ip_output", "net_dev_queue",
                                                   "netif_receive_skb", "ip_rcv",
                                                   "ip_local_deliver"}))
            << p.dump();
    }
    EXPECT_EQ(data, 2u) << r.raw;
}

// The compat object (5.10 to 6.1) also runs on newer kernels: forced here,
// it must give the same journey as the object the kernel would pick. Two
// hops are left out of the comparison because whether a packet gets them
// depends on timing, not on the object: the route lookup (it happens at
// connect, in the task, beside the SYN) and consume_skb (the last skbs may
// be freed after the lab has ended and tracing with it).
TEST(KernelMatrix, CompatObjectGivesTheSameHops) {
    REQUIRE_ROOT();
    const KernelFacts* f = facts_of_this_kernel();
    if (f && std::string(f->object) == "compat")
        GTEST_SKIP() << "kernel " << release() << " loads the compat object itself";
    for (const char* transport : {"tcp", "udp", "unix"}) {
        SCOPED_TRACE(transport);
        auto chosen = journey(std::string("-t ") + transport);
        auto compat = tpk::testing::run_json_lines(
            std::string("TRACEPACKET_BPF_OBJECT=compat ") + TPK_BINARY +
            " journey --json -t " + transport);
        ASSERT_EQ(chosen.exit_code, 0) << chosen.raw;
        ASSERT_EQ(compat.exit_code, 0) << compat.raw;
        EXPECT_EQ(compat.summary().at("kernel").at("bpf_object"), "compat");
        EXPECT_EQ(compat.summary().at("lost_events"), 0);
        // The handshake and the data: how many ACKs and teardown segments
        // a run has depends on timing (delayed ACKs), not on the object.
        auto compared_packets = [](const Output& o) {
            std::vector<json> out;
            for (const auto& p : o.of("packet"))
                if (p.at("kind") != "ack" && p.at("kind") != "teardown") out.push_back(p);
            return out;
        };
        auto a = compared_packets(chosen), b = compared_packets(compat);
        ASSERT_EQ(a.size(), b.size()) << compat.raw;
        for (std::size_t i = 0; i < a.size(); ++i) {
            std::vector<std::string> ha, hb;
            auto compared = [](const json& h) {
                return h.at("event") != "fib_table_lookup" && h.at("event") != "consume_skb";
            };
            for (const auto& h : a[i].at("hops"))
                if (compared(h)) ha.push_back(h.at("event"));
            for (const auto& h : b[i].at("hops"))
                if (compared(h)) hb.push_back(h.at("event"));
            std::sort(ha.begin(), ha.end());
            std::sort(hb.begin(), hb.end());
            EXPECT_EQ(ha, hb) << "packet " << i;
        }
    }
}

// A program the verifier refuses costs its hop, not the run: the journey
// still runs, names the hop as missing with the verifier's reason, and no
// packet has that hop.
TEST(KernelMatrix, ARefusedProgramCostsOnlyItsHop) {
    REQUIRE_ROOT();
    auto r = tpk::testing::run_json_lines(
        std::string("TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe ") + TPK_BINARY +
        " journey --json");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    const json& k = r.summary().at("kernel");
    bool named = false;
    for (const auto& m : k.at("missing_hops"))
        if (m.at("hop") == "tcp_probe") {
            named = true;
            EXPECT_NE(m.at("why").get<std::string>().find("verifier refused"), std::string::npos)
                << m.dump();
        }
    EXPECT_TRUE(named) << k.dump();
    auto packets = r.of("packet");
    ASSERT_GE(packets.size(), 7u) << r.raw;
    for (const auto& p : packets) EXPECT_FALSE(has_hop(p, "tcp_probe", "receive")) << p.dump();
    EXPECT_EQ(r.summary().at("partial"), false);
}

}  // namespace
