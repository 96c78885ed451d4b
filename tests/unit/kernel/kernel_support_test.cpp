// src/kernel/kernel_support.cpp: what the running kernel gives, read from its
// BTF (no privileges needed), and how a refused program changes the picture.
#include "kernel/kernel_support.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace tpk::kernel {
namespace {

TEST(KernelSupport, ReadsThisKernelsTracepointsFromItsBtf) {
    auto s = probe_kernel_support();
    if (!s.btf) GTEST_SKIP() << "no kernel BTF here: " << s.btf_error;
    struct utsname u {};
    uname(&u);
    EXPECT_EQ(s.release, u.release);
    // raw_syscalls:sys_enter is (struct pt_regs *regs, long id) on every kernel.
    ASSERT_TRUE(s.tracepoint_args.count("sys_enter"));
    EXPECT_EQ(s.tracepoint_args.at("sys_enter"), 2);
    ASSERT_TRUE(s.tracepoint_args.count("netif_receive_skb"));
    EXPECT_EQ(s.tracepoint_args.at("netif_receive_skb"), 1);
    if (!std::getenv("TRACEPACKET_BPF_OBJECT")) {
        EXPECT_EQ(s.object == BpfObject::modern, s.rdonly_cast);
    }
}

TEST(KernelSupport, EveryHopHasAProgramOrSaysWhyNot) {
    auto s = probe_kernel_support();
    if (!s.btf) GTEST_SKIP() << "no kernel BTF here: " << s.btf_error;
    std::set<std::string> names;
    for (const auto& h : s.hops) {
        EXPECT_TRUE(names.insert(h.hop).second) << "twice: " << h.hop;
        EXPECT_NE(h.programs.empty(), h.missing.empty()) << h.hop;
        EXPECT_EQ(h.source.empty(), h.programs.empty()) << h.hop;
        if (h.fallback) {
            EXPECT_TRUE(s.fentry) << h.hop;
        }
    }
    // The hops a journey needs on every kernel have tracepoints.
    for (const char* hop : {"syscall_enter", "syscall_exit", "net_dev_queue", "netif_receive_skb",
                            "tcp_probe", "inet_sock_set_state", "skb_copy_datagram_iovec"}) {
        const HopSource* h = s.hop(hop);
        ASSERT_NE(h, nullptr) << hop;
        EXPECT_EQ(h->source.rfind("tracepoint ", 0), 0u) << hop << ": " << h->source;
    }
    // The IP layer has no tracepoint: fentry or missing, saying so.
    const HopSource* ip = s.hop("ip_output");
    ASSERT_NE(ip, nullptr);
    if (s.fentry) {
        EXPECT_EQ(ip->programs.size(), 2u);
    } else {
        EXPECT_NE(ip->missing.find("fentry"), std::string::npos) << ip->missing;
    }
}

KernelSupport with_two_program_hop() {
    KernelSupport s;
    s.hops.push_back({"ip_output", {"handle_fentry_ip_output", "handle_fentry_ip6_output"},
                      "fentry ip_output/ip6_output", "", "", true});
    s.hops.push_back({"tcp_probe", {"handle_tcp_probe"}, "tracepoint tcp:tcp_probe", "", "", false});
    return s;
}

TEST(KernelSupport, ARefusedProgramMakesItsHopMissing) {
    auto s = with_two_program_hop();
    mark_program_refused(s, "handle_tcp_probe", "invalid bpf_context access");
    const HopSource* h = s.hop("tcp_probe");
    EXPECT_TRUE(h->programs.empty());
    EXPECT_EQ(h->missing,
              "the verifier refused handle_tcp_probe (tracepoint tcp:tcp_probe): invalid "
              "bpf_context access");
    EXPECT_EQ(s.hop_of("handle_tcp_probe"), nullptr);
    EXPECT_EQ(s.gaps(), std::vector<std::string>{"tcp_probe: " + h->missing});
}

TEST(KernelSupport, OneOfTwoProgramsRefusedLimitsItsHop) {
    auto s = with_two_program_hop();
    mark_program_refused(s, "handle_fentry_ip6_output", "");
    const HopSource* h = s.hop("ip_output");
    EXPECT_EQ(h->programs, std::vector<std::string>{"handle_fentry_ip_output"});
    EXPECT_TRUE(h->missing.empty());
    EXPECT_NE(h->limits.find("handle_fentry_ip6_output"), std::string::npos) << h->limits;
    mark_program_refused(s, "handle_fentry_ip_output", "");
    EXPECT_FALSE(h->missing.empty());
}

TEST(KernelSupport, KernelsBefore510AreOlderThanSupported) {
    KernelSupport s;
    for (auto [release, older] : {std::pair{"4.18.0-553.el8.x86_64", true},
                                  std::pair{"5.4.0-150-generic", true},
                                  std::pair{"5.10.0-46-amd64", false},
                                  std::pair{"6.1.0-57-amd64", false},
                                  std::pair{"6.18.44-fc-v1300", false},
                                  std::pair{"garbage", false}}) {
        s.release = release;
        EXPECT_EQ(s.older_than_supported(), older) << release;
    }
}

}  // namespace
}  // namespace tpk::kernel
