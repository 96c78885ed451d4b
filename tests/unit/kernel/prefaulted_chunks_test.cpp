// kernel/prefaulted_chunks.h: the chunks the ring's reader holds records in,
// faulted in ahead by a thread of its own.
#include "kernel/prefaulted_chunks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace tpk::kernel {
namespace {

// Every chunk is its own and usable to its last byte, whether it was faulted
// in ahead or allocated on the spot (the first take, or one that outran
// the thread).
TEST(PrefaultedChunks, EveryChunkIsDistinctAndWritableWhole) {
    PrefaultedChunks chunks;
    std::vector<std::unique_ptr<std::byte[]>> taken;
    std::set<const std::byte*> seen;
    for (int i = 0; i < 64; ++i) {
        auto c = chunks.take();
        ASSERT_NE(c, nullptr);
        std::memset(c.get(), i, PrefaultedChunks::kChunkBytes);
        EXPECT_EQ(c[PrefaultedChunks::kChunkBytes - 1], static_cast<std::byte>(i));
        EXPECT_TRUE(seen.insert(c.get()).second) << "chunk " << i << " handed out twice";
        taken.push_back(std::move(c));
        // Some takes find the thread's chunks ready, some do not.
        if (i % 8 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (int i = 0; i < 64; ++i)
        EXPECT_EQ(taken[static_cast<std::size_t>(i)][0], static_cast<std::byte>(i));
}

// The destructor stops and joins the thread wherever it is: faulting chunks
// in right after a take, or waiting for the next one (a tracer that ends
// while its reader holds records). The chunks taken outlive the pool.
TEST(PrefaultedChunks, DestroyingItStopsTheThreadWhileBusyOrIdle) {
    std::vector<std::unique_ptr<std::byte[]>> kept;
    for (int wait_ms : {0, 20}) {
        {
            PrefaultedChunks chunks;
            for (int i = 0; i < 4; ++i) kept.push_back(chunks.take());
            std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        }
        for (const auto& c : kept) ASSERT_NE(c, nullptr);
        kept.back()[PrefaultedChunks::kChunkBytes - 1] = std::byte{1};
    }
    // Never taken from: no thread was started, nothing to stop.
    PrefaultedChunks unused;
}

}  // namespace
}  // namespace tpk::kernel
