// A captured frame becomes the event the correlator reads: its bytes, wire
// length and link type as captured, its time moved from libpcap's
// CLOCK_REALTIME onto the tracer's CLOCK_MONOTONIC.
#include "capture/loopback.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tpk::capture {
namespace {

TEST(FrameEvent, ShiftsTheStampOntoTheMonotonicClock) {
    std::vector<std::byte> bytes = {std::byte{0x45}, std::byte{0x00}, std::byte{0x00},
                                    std::byte{0x1c}};
    RawFrame f;
    f.sec = 1'700'000'000;
    f.nsec = 250;
    f.wire_length = 60;
    f.data = bytes;
    const std::int64_t offset = 1'699'999'000'000'000'000;  // realtime - monotonic
    auto e = frame_event(f, /*DLT_EN10MB*/ 1, offset);
    EXPECT_EQ(e.kind, model::EventKind::frame);
    EXPECT_EQ(e.t_ns, 1'000'000'000'250u);
    EXPECT_EQ(e.link_type, 1);
    EXPECT_EQ(e.skb_len, 60u);
    EXPECT_EQ(e.frame, (std::vector<std::uint8_t>{0x45, 0x00, 0x00, 0x1c}));
}

TEST(FrameEvent, RealtimeIsAheadOfMonotonic) {
    // Past the epoch by decades; a monotonic clock counts from boot.
    EXPECT_GT(realtime_minus_monotonic_ns(), 0);
}

}  // namespace
}  // namespace tpk::capture
