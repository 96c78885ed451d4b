// lab::NetNamespace: a namespace of the lab's own, entered by one thread and
// left again, with its own lo and sysctls, gone once its owner is.
#include <gtest/gtest.h>
#include "support/netns.h"
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "lab/netns.h"

namespace {

using tpk::testing::namespace_in_use;

TEST(NetNamespace, EnterLeaveAndItsOwnSysctls) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN to create a network namespace); run as root";
    auto before = tpk::lab::current_netns_inode();
    ASSERT_TRUE(before) << before.error().message();
    auto host_cookies = tpk::lab::read_net_sysctl("ipv4/tcp_syncookies");
    ASSERT_TRUE(host_cookies);
    std::uint64_t lab_inode = 0;
    {
        auto ns = tpk::lab::NetNamespace::create();
        ASSERT_TRUE(ns) << ns.error().message();
        lab_inode = ns->inode();
        EXPECT_NE(lab_inode, *before);
        // Creating it did not move this thread.
        EXPECT_EQ(*tpk::lab::current_netns_inode(), *before);
        {
            auto inside = ns->enter();
            ASSERT_TRUE(inside) << inside.error().message();
            EXPECT_EQ(*tpk::lab::current_netns_inode(), lab_inode);
            // A thread started inside is inside too.
            std::uint64_t seen_by_thread = 0;
            std::thread([&] { seen_by_thread = *tpk::lab::current_netns_inode(); }).join();
            EXPECT_EQ(seen_by_thread, lab_inode);
            // Its sysctls are its own.
            std::string flipped = *host_cookies == "0" ? "1" : "0";
            ASSERT_TRUE(tpk::lab::write_net_sysctl("ipv4/tcp_syncookies", flipped));
            EXPECT_EQ(*tpk::lab::read_net_sysctl("ipv4/tcp_syncookies"), flipped);
        }
        EXPECT_EQ(*tpk::lab::current_netns_inode(), *before);
        EXPECT_EQ(*tpk::lab::read_net_sysctl("ipv4/tcp_syncookies"), *host_cookies);
    }
    EXPECT_FALSE(namespace_in_use(lab_inode));
}

}  // namespace
