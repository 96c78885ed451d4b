// FrameStore hands back every frame as it was given: bytes, stamps and wire
// length, in order, across chunk boundaries and for frames longer than a
// chunk (which take a chunk of their own without disturbing the open one).
#include "capture/frame_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using tpk::capture::RawFrame;
using tpk::capture::FrameStore;

std::vector<std::byte> pattern(std::size_t length, unsigned seed) {
    std::vector<std::byte> bytes(length);
    for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
    return bytes;
}

struct Given {
    std::vector<std::byte> bytes;
    std::int64_t sec;
    std::uint32_t nsec;
    std::uint32_t wire_length;
};

void store_all(FrameStore& store, const std::vector<Given>& frames) {
    for (const auto& g : frames) {
        RawFrame f;
        f.sec = g.sec;
        f.nsec = g.nsec;
        f.wire_length = g.wire_length;
        f.data = g.bytes;
        ASSERT_TRUE(store.on_frame(f));
    }
}

void expect_same(const FrameStore& store, const std::vector<Given>& frames) {
    ASSERT_EQ(store.size(), frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const RawFrame f = store[i];
        EXPECT_EQ(f.sec, frames[i].sec) << "frame " << i;
        EXPECT_EQ(f.nsec, frames[i].nsec) << "frame " << i;
        EXPECT_EQ(f.wire_length, frames[i].wire_length) << "frame " << i;
        EXPECT_EQ(std::vector<std::byte>(f.data.begin(), f.data.end()), frames[i].bytes) << "frame " << i;
    }
}

TEST(FrameStore, ManySmallFramesAcrossChunks) {
    // 20000 frames of 60..187 bytes: about 2.4 MiB, three chunks.
    std::vector<Given> frames;
    for (unsigned i = 0; i < 20000; ++i)
        frames.push_back({pattern(60 + i % 128, i), 1700000000 + i / 1000, i * 7, 60 + i % 128 + 4});
    FrameStore store;
    store_all(store, frames);
    expect_same(store, frames);
}

TEST(FrameStore, FramesLongerThanAChunkBetweenSmallOnes) {
    std::vector<Given> frames;
    frames.push_back({pattern(3u << 20, 1), 1, 1, 3u << 20});  // first: before any chunk is open
    frames.push_back({pattern(100, 2), 2, 2, 100});
    frames.push_back({pattern((1u << 20) + 1, 3), 3, 3, (1u << 20) + 1});
    frames.push_back({pattern(1u << 20, 4), 4, 4, 1u << 20});  // exactly a chunk
    frames.push_back({pattern(200, 5), 5, 5, 65535});           // wire longer than captured
    FrameStore store;
    store_all(store, frames);
    expect_same(store, frames);
}

TEST(FrameStore, EmptyFrameAndEmptyStore) {
    FrameStore store;
    EXPECT_EQ(store.size(), 0u);
    store_all(store, {{{}, 9, 9, 0}});
    ASSERT_EQ(store.size(), 1u);
    EXPECT_TRUE(store[0].data.empty());
    EXPECT_EQ(store[0].sec, 9);
}

}  // namespace
