#include "capture/frame_store.h"

#include <cstring>

namespace tpk::capture {

// A frame longer than a chunk (snap lengths up to 256 KiB) gets a chunk of
// its own; the open chunk stays open for the next ones.
std::byte* FrameStore::reserve(std::size_t length, Record& record) {
    if (length > kChunkBytes) {
        chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(length));
        record.chunk = static_cast<std::uint32_t>(chunks_.size() - 1);
        record.offset = 0;
        return chunks_.back().get();
    }
    if (kChunkBytes - open_used_ < length) {
        chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunkBytes));
        open_chunk_ = chunks_.size() - 1;
        open_used_ = 0;
    }
    record.chunk = static_cast<std::uint32_t>(open_chunk_);
    record.offset = static_cast<std::uint32_t>(open_used_);
    open_used_ += length;
    return chunks_[open_chunk_].get() + record.offset;
}

Status FrameStore::on_frame(const RawFrame& frame) {
    std::lock_guard lock(mutex_);
    Record r;
    r.sec = frame.sec;
    r.nsec = static_cast<std::uint32_t>(frame.nsec);  // live frames: always < 1e9
    r.wire_length = frame.wire_length;
    r.length = static_cast<std::uint32_t>(frame.data.size());
    if (!frame.data.empty()) std::memcpy(reserve(frame.data.size(), r), frame.data.data(), frame.data.size());
    records_.push_back(r);
    return {};
}

void FrameStore::take(const std::function<void(const RawFrame&)>& f) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < records_.size(); ++i) f((*this)[i]);
    records_.clear();
    chunks_.clear();
    open_chunk_ = 0;
    open_used_ = kChunkBytes;
}

RawFrame FrameStore::operator[](std::size_t index) const {
    const Record& r = records_[index];
    RawFrame f;
    f.sec = r.sec;
    f.nsec = r.nsec;
    f.wire_length = r.wire_length;
    if (r.length) f.data = {chunks_[r.chunk].get() + r.offset, r.length};
    return f;
}

}  // namespace tpk::capture
