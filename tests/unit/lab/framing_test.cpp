// Framing: exact bytes on the wire, and cutting a stream back into messages
// however it was split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lab/framing.h"
#include "lab/payload.h"

namespace tpk::lab {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

std::string text(const std::vector<std::byte>& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(Framing, HeaderIsBigEndianLength) {
    auto h = encode_frame_header(0x01020304);
    EXPECT_EQ(std::vector<std::byte>(h.begin(), h.end()), bytes({0x01, 0x02, 0x03, 0x04}));
    auto zero = encode_frame_header(0);
    EXPECT_EQ(std::vector<std::byte>(zero.begin(), zero.end()), bytes({0, 0, 0, 0}));
    auto big = encode_frame_header(0xffffffff);
    EXPECT_EQ(std::vector<std::byte>(big.begin(), big.end()), bytes({0xff, 0xff, 0xff, 0xff}));
}

TEST(Framing, EncodesHeaderThenPayload) {
    EXPECT_EQ(encode_frame(to_bytes("hello")),
              bytes({0x00, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'}));
    EXPECT_EQ(encode_frame({}), bytes({0, 0, 0, 0}));
    std::vector<std::byte> two;
    append_frame(two, to_bytes("a"));
    append_frame(two, to_bytes("bc"));
    EXPECT_EQ(two, bytes({0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'c'}));
    EXPECT_EQ(encode_frame(std::vector<std::byte>(300)).size(), 304u);
    EXPECT_EQ(encode_frame(std::vector<std::byte>(300))[2], std::byte{0x01});  // 300 = 0x012c
    EXPECT_EQ(encode_frame(std::vector<std::byte>(300))[3], std::byte{0x2c});
}

TEST(Framing, ParseNeedsTheWholeHeader) {
    auto p = parse_frame(bytes({0, 0, 0}));
    EXPECT_EQ(p.status, FrameStatus::incomplete);
    EXPECT_EQ(p.payload_size, 0u);
}

TEST(Framing, ParseKnowsTheSizeBeforeThePayloadArrives) {
    auto p = parse_frame(bytes({0, 0, 1, 0, 'x'}));
    EXPECT_EQ(p.status, FrameStatus::incomplete);
    EXPECT_EQ(p.payload_size, 256u);
    EXPECT_EQ(p.frame_size, 0u);
}

TEST(Framing, ParseCompleteFrameWithTrailingBytes) {
    auto p = parse_frame(bytes({0, 0, 0, 2, 'h', 'i', 0, 0}));
    EXPECT_EQ(p.status, FrameStatus::complete);
    EXPECT_EQ(p.payload_size, 2u);
    EXPECT_EQ(p.frame_size, 6u);
    auto empty = parse_frame(bytes({0, 0, 0, 0}));
    EXPECT_EQ(empty.status, FrameStatus::complete);
    EXPECT_EQ(empty.frame_size, 4u);
}

TEST(Framing, ParseRefusesFramesAboveTheLimit) {
    auto p = parse_frame(bytes({0, 0, 0, 11}), 10);
    EXPECT_EQ(p.status, FrameStatus::too_large);
    EXPECT_EQ(p.payload_size, 11u);
    EXPECT_EQ(parse_frame(bytes({0, 0, 0, 10}), 10).status, FrameStatus::incomplete);
    // The default limit is 64 MiB: 0x04000000 is allowed, one more is not.
    EXPECT_EQ(parse_frame(bytes({0x04, 0, 0, 0})).status, FrameStatus::incomplete);
    EXPECT_EQ(parse_frame(bytes({0x04, 0, 0, 1})).status, FrameStatus::too_large);
}

TEST(FrameReader, ByteByByte) {
    auto wire = encode_frame(to_bytes("Hello from client!"));
    FrameReader r;
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
        r.feed({&wire[i], 1});
        auto m = r.next();
        ASSERT_TRUE(m.ok());
        EXPECT_FALSE(m->has_value()) << "after " << i + 1 << " bytes";
    }
    r.feed({&wire.back(), 1});
    auto m = r.next();
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->has_value());
    EXPECT_EQ(text(**m), "Hello from client!");
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, SeveralFramesInOneRead) {
    std::vector<std::byte> wire;
    append_frame(wire, to_bytes("one"));
    append_frame(wire, {});
    append_frame(wire, to_bytes("three"));
    wire.push_back(std::byte{0});  // start of a fourth header
    FrameReader r;
    r.feed(wire);
    std::vector<std::string> got;
    for (;;) {
        auto m = r.next();
        ASSERT_TRUE(m.ok());
        if (!*m) break;
        got.push_back(text(**m));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"one", "", "three"}));
    EXPECT_EQ(r.buffered(), 1u);
}

TEST(FrameReader, SplitsAtEveryBoundaryOfALargeStream) {
    // 50 messages of growing size, fed in 7-byte pieces: none mixed or split.
    std::vector<std::byte> wire;
    for (std::uint64_t i = 0; i < 50; ++i) append_frame(wire, pattern_payload(i * 37, i, 1));
    FrameReader r;
    std::uint64_t next = 0;
    for (std::size_t off = 0; off < wire.size(); off += 7) {
        r.feed({wire.data() + off, std::min<std::size_t>(7, wire.size() - off)});
        for (;;) {
            auto m = r.next();
            ASSERT_TRUE(m.ok());
            if (!*m) break;
            EXPECT_EQ(**m, pattern_payload(next * 37, next, 1)) << "message " << next;
            ++next;
        }
    }
    EXPECT_EQ(next, 50u);
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, OversizedFrameIsAnError) {
    FrameReader r(16);
    r.feed(bytes({0, 0, 0, 17}));
    auto m = r.next();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(),
              "peer announced a 17-byte message, above the 16-byte limit (not a tracepacket "
              "peer?)");
}

}  // namespace
}  // namespace tpk::lab
