// capture::is_loopback_interface: the check that decides whether a live
// capture may skip the sent copies (PACKET_IGNORE_OUTGOING), which would lose
// every packet this host sends on any other device.
#include <gtest/gtest.h>

#include <string>

#include "capture/source.h"

namespace {

using tpk::capture::is_loopback_interface;

TEST(IsLoopbackInterface, LoIsEveryOtherNameIsNot) {
    EXPECT_TRUE(is_loopback_interface("lo"));  // every network namespace has it
    EXPECT_FALSE(is_loopback_interface("any"));  // libpcap's pseudo-device: all devices
    EXPECT_FALSE(is_loopback_interface("tpk-no-such0"));
    EXPECT_FALSE(is_loopback_interface(""));
    EXPECT_FALSE(is_loopback_interface(std::string(64, 'l')));  // longer than IFNAMSIZ
}

}  // namespace
