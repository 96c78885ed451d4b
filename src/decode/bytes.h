// Bounds-checked, alignment-free reads of network-order fields. Decoders check
// a length once (fits()) and then read with these helpers; memcpy keeps
// unaligned loads defined behaviour (STYLE.md: decoders never throw).
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>
#include <span>

namespace tpk::decode {

using Bytes = std::span<const std::byte>;

inline bool fits(Bytes b, std::size_t offset, std::size_t length) {
    return offset <= b.size() && length <= b.size() - offset;
}

inline std::uint8_t load_u8(Bytes b, std::size_t offset) {
    return static_cast<std::uint8_t>(b[offset]);
}

inline std::uint16_t load_be16(Bytes b, std::size_t offset) {
    std::uint16_t v;
    std::memcpy(&v, b.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap16(v);
    return v;
}

inline std::uint32_t load_be32(Bytes b, std::size_t offset) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    return v;
}

// Host-order reads: the null/loop link header stores the address family in
// the byte order of the machine that wrote the file.
inline std::uint32_t load_le32(Bytes b, std::size_t offset) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
    return v;
}

inline std::uint16_t load_le16(Bytes b, std::size_t offset) {
    std::uint16_t v;
    std::memcpy(&v, b.data() + offset, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap16(v);
    return v;
}

}  // namespace tpk::decode
