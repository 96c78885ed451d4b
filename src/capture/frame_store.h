// Frames kept as they arrive, for a reader that takes them after the capture
// ends (the journey joins frames with kernel events once the traced programs
// are done). Bytes are packed into 1 MiB chunks: no allocation per frame and
// nothing moves as the store grows, so the capture thread, which shares the
// CPUs with the programs it watches, does little more per frame than a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <vector>

#include "capture/source.h"

namespace tpk::capture {

class FrameStore : public FrameSink {
public:
    Status on_frame(const RawFrame& frame) override;

    std::size_t size() const { return records_.size(); }
    // Hands every frame stored so far to f and forgets them; safe while the
    // capture thread adds more (a streamed trace takes them at each quiet
    // time). The frame's bytes are valid only during the call.
    void take(const std::function<void(const RawFrame&)>& f);
    // Valid while the store lives.
    RawFrame operator[](std::size_t index) const;

private:
    static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

    struct Record {
        std::int64_t sec = 0;
        std::uint32_t nsec = 0;
        std::uint32_t wire_length = 0;
        std::uint32_t chunk = 0;
        std::uint32_t offset = 0;
        std::uint32_t length = 0;
    };

    std::byte* reserve(std::size_t length, Record& record);

    std::mutex mutex_;   // on_frame (the capture thread) against take()
    std::deque<Record> records_;  // a deque: growing it never copies the records
    std::vector<std::unique_ptr<std::byte[]>> chunks_;
    std::size_t open_chunk_ = 0;  // where the next frame goes, if it fits
    std::size_t open_used_ = kChunkBytes;  // full: the first frame opens one
};

}  // namespace tpk::capture
