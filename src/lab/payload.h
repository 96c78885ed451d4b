// What the lab sends: text messages, generated payloads of a given size, and
// the check that an echo came back byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tpk::lab {

std::vector<std::byte> to_bytes(std::string_view text);

// A size-byte payload whose bytes depend on the position, the message index
// and a per-client salt, so a reply cut short, shifted, or swapped with
// another client's is caught by verify_echo.
std::vector<std::byte> pattern_payload(std::size_t size, std::uint64_t index, std::uint64_t salt);

// Ok when got == sent; otherwise says where they first differ:
// "echo of message 3 differs at byte 17 of 64: sent 0x2a, got 0x00".
Status verify_echo(std::span<const std::byte> sent, std::span<const std::byte> got,
                   std::uint64_t index);

// "18 bytes: \"Hello from client!\"" for short printable text, else "65536 bytes".
std::string describe_payload(std::span<const std::byte> payload);

// "64", "1K" / "1KiB" (1024), "1M" / "1MiB", "64k": a byte count for --size.
Result<std::size_t> parse_size(std::string_view text);

}  // namespace tpk::lab
