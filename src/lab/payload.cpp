#include "lab/payload.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

namespace tpk::lab {

std::vector<std::byte> to_bytes(std::string_view text) {
    std::vector<std::byte> out(text.size());
    std::transform(text.begin(), text.end(), out.begin(),
                   [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::vector<std::byte> pattern_payload(std::size_t size, std::uint64_t index, std::uint64_t salt) {
    // 251 is prime, so the sequence does not repeat with any power-of-two
    // period (a shift by a page or a frame header would still show).
    std::vector<std::byte> out(size);
    std::uint64_t start = (index * 131 + salt * 17) % 251;
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((start + i) % 251);
    return out;
}

Status verify_echo(std::span<const std::byte> sent, std::span<const std::byte> got,
                   std::uint64_t index) {
    auto n = std::min(sent.size(), got.size());
    auto [s, g] = std::mismatch(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(n),
                                got.begin());
    if (s != sent.begin() + static_cast<std::ptrdiff_t>(n)) {
        char detail[64];
        std::snprintf(detail, sizeof detail, "sent 0x%02x, got 0x%02x",
                      std::to_integer<unsigned>(*s), std::to_integer<unsigned>(*g));
        return make_error("echo of message " + std::to_string(index) + " differs at byte " +
                          std::to_string(s - sent.begin()) + " of " + std::to_string(sent.size()) +
                          ": " + detail);
    }
    if (sent.size() != got.size())
        return make_error("echo of message " + std::to_string(index) + " is " +
                          std::to_string(got.size()) + " bytes, sent " +
                          std::to_string(sent.size()) +
                          " (is the server running with --echo?)");
    return {};
}

std::string describe_payload(std::span<const std::byte> payload) {
    std::string out = std::to_string(payload.size()) + (payload.size() == 1 ? " byte" : " bytes");
    constexpr std::size_t kMaxShown = 64;
    if (payload.empty() || payload.size() > kMaxShown) return out;
    std::string text;
    for (auto b : payload) {
        auto c = std::to_integer<unsigned char>(b);
        if (!std::isprint(c)) return out;
        if (c == '"' || c == '\\') text += '\\';
        text += static_cast<char>(c);
    }
    return out + ": \"" + text + "\"";
}

Result<std::size_t> parse_size(std::string_view text) {
    auto bad = [&] {
        return make_error("malformed size '" + std::string(text) +
                          "': expected a byte count such as 64, 1K or 1M");
    };
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) return bad();
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::size_t scale = 1;
    if (unit == "K" || unit == "k" || unit == "KiB") {
        scale = std::size_t{1} << 10;
    } else if (unit == "M" || unit == "m" || unit == "MiB") {
        scale = std::size_t{1} << 20;
    } else if (!unit.empty()) {
        return bad();
    }
    if (value > std::numeric_limits<std::size_t>::max() / scale) return bad();
    return value * scale;
}

}  // namespace tpk::lab
