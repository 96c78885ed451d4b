// Message framing for byte-stream transports (tcp, tcp6, unix). A stream
// keeps no message boundaries: one send() may arrive as several recv()s and
// two sends as one. Each message therefore travels as a 4-byte big-endian
// payload length followed by the payload:
//
//     00 00 00 05 'h' 'e' 'l' 'l' 'o'
//
// Pure functions and a buffer; no I/O. Datagram and seqpacket transports keep
// boundaries themselves and send bare payloads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace tpk::lab {

inline constexpr std::size_t kFrameHeaderSize = 4;
// Refuse larger frames: a garbage header must not make us allocate 4 GiB.
inline constexpr std::size_t kMaxFramePayload = std::size_t{64} << 20;

std::array<std::byte, kFrameHeaderSize> encode_frame_header(std::uint32_t payload_size);
// Appends header + payload to out.
void append_frame(std::vector<std::byte>& out, std::span<const std::byte> payload);
std::vector<std::byte> encode_frame(std::span<const std::byte> payload);

enum class FrameStatus {
    incomplete,  // need more bytes
    complete,    // a whole frame starts the buffer
    too_large,   // the header declares more than the limit
};

struct FrameParse {
    FrameStatus status = FrameStatus::incomplete;
    std::size_t payload_size = 0;  // known once the header is complete
    std::size_t frame_size = 0;    // header + payload, when complete
};

// Looks at the start of buf: is a whole frame there, and how large is it?
FrameParse parse_frame(std::span<const std::byte> buf,
                       std::size_t max_payload = kMaxFramePayload);

// Accumulates bytes read from a stream and cuts them into whole messages.
class FrameReader {
public:
    explicit FrameReader(std::size_t max_payload = kMaxFramePayload) : max_(max_payload) {}

    void feed(std::span<const std::byte> bytes);
    // The next whole message, nullopt until one is complete; an Error when
    // the stream announces a frame above the limit (the stream is then lost).
    Result<std::optional<std::vector<std::byte>>> next();
    // Bytes received that do not yet form a whole message.
    std::size_t buffered() const { return buf_.size() - start_; }

private:
    std::vector<std::byte> buf_;
    std::size_t start_ = 0;  // first unconsumed byte of buf_
    std::size_t max_;
};

}  // namespace tpk::lab
