#include "lab/framing.h"

#include <algorithm>
#include <cassert>

namespace tpk::lab {

std::array<std::byte, kFrameHeaderSize> encode_frame_header(std::uint32_t n) {
    return {std::byte(n >> 24), std::byte(n >> 16), std::byte(n >> 8), std::byte(n)};
}

void append_frame(std::vector<std::byte>& out, std::span<const std::byte> payload) {
    assert(payload.size() <= UINT32_MAX);
    auto header = encode_frame_header(static_cast<std::uint32_t>(payload.size()));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), payload.begin(), payload.end());
}

std::vector<std::byte> encode_frame(std::span<const std::byte> payload) {
    std::vector<std::byte> out;
    out.reserve(kFrameHeaderSize + payload.size());
    append_frame(out, payload);
    return out;
}

FrameParse parse_frame(std::span<const std::byte> buf, std::size_t max_payload) {
    FrameParse p;
    if (buf.size() < kFrameHeaderSize) return p;
    p.payload_size = (std::to_integer<std::size_t>(buf[0]) << 24) |
                     (std::to_integer<std::size_t>(buf[1]) << 16) |
                     (std::to_integer<std::size_t>(buf[2]) << 8) |
                     std::to_integer<std::size_t>(buf[3]);
    if (p.payload_size > max_payload) {
        p.status = FrameStatus::too_large;
        return p;
    }
    if (buf.size() - kFrameHeaderSize < p.payload_size) return p;
    p.status = FrameStatus::complete;
    p.frame_size = kFrameHeaderSize + p.payload_size;
    return p;
}

void FrameReader::feed(std::span<const std::byte> bytes) {
    // Drop consumed bytes before growing, so the buffer stays about one
    // message large instead of the whole stream.
    if (start_ > 0 && start_ >= buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<std::vector<std::byte>>> FrameReader::next() {
    std::span<const std::byte> pending(buf_.data() + start_, buf_.size() - start_);
    FrameParse p = parse_frame(pending, max_);
    if (p.status == FrameStatus::too_large)
        return make_error("peer announced a " + std::to_string(p.payload_size) +
                          "-byte message, above the " + std::to_string(max_) +
                          "-byte limit (not a tracepacket peer?)");
    if (p.status == FrameStatus::incomplete) return std::optional<std::vector<std::byte>>{};
    auto first = pending.begin() + static_cast<std::ptrdiff_t>(kFrameHeaderSize);
    std::vector<std::byte> message(first, first + static_cast<std::ptrdiff_t>(p.payload_size));
    start_ += p.frame_size;
    if (start_ == buf_.size()) {
        buf_.clear();
        start_ = 0;
    }
    return std::optional<std::vector<std::byte>>(std::move(message));
}

}  // namespace tpk::lab
