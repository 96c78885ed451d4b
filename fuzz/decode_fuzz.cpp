// libFuzzer target: every link-layer decoder and the text renderer (with -v
// and -x) over arbitrary bytes. The first input byte picks the link type.
#include <cstddef>
#include <cstdint>

#include "decode/packet.h"
#include "decode/text.h"

namespace {

constexpr int kLinkTypes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int link = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
    const auto frame = std::span<const std::byte>(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    static tpk::decode::TextRenderer plain({});
    static tpk::decode::TextRenderer verbose({.verbose = 2, .hex = 2});
    tpk::decode::Packet packet;
    // The wire length may exceed what was captured (snap length) or, in a
    // corrupt file, be smaller: both must be harmless.
    const std::uint32_t wire = static_cast<std::uint32_t>(size - 1) + (data[0] & 0x80 ? 1000 : 0);
    tpk::decode::decode_frame(link, frame, wire, packet);
    fmt::memory_buffer out;
    plain.render(packet, 1700000000, 123456789, out);
    verbose.render(packet, 1700000000, 123456789, out);
    return 0;
}
