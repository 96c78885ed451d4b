#include "bench/options.h"

#include <algorithm>
#include <charconv>
#include <string>

#include <fmt/core.h>

namespace tpk::bench {
namespace {

std::vector<std::string_view> split_commas(std::string_view text) {
    std::vector<std::string_view> parts;
    while (true) {
        auto comma = text.find(',');
        parts.push_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return parts;
}

Result<int> parse_cpu(std::string_view text, std::string_view whole) {
    int cpu = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpu);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || cpu < 0)
        return make_error("malformed --pin '" + std::string(whole) +
                          "': expected two CPU numbers, e.g. --pin 0,1");
    return cpu;
}

}  // namespace

Result<std::size_t> parse_size(std::string_view text) {
    const std::string quoted = fmt::format("'{}'", text);
    std::size_t multiplier = 1;
    std::string_view digits = text;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'k': case 'K': multiplier = 1024; break;
            case 'm': case 'M': multiplier = 1024 * 1024; break;
            default: break;
        }
        if (multiplier != 1) digits.remove_suffix(1);
    }
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        return make_error("malformed size " + quoted +
                          ": expected bytes with an optional K or M suffix, e.g. 64,1K,64K");
    if (value == 0 || value > kMaxSize / multiplier)
        return make_error("size " + quoted + " out of range: use 1 B to " + size_label(kMaxSize));
    return value * multiplier;
}

Result<std::vector<std::size_t>> parse_size_list(std::string_view text) {
    std::vector<std::size_t> sizes;
    for (auto part : split_commas(text)) {
        auto size = parse_size(part);
        if (!size) return size.error();
        if (std::find(sizes.begin(), sizes.end(), *size) == sizes.end()) sizes.push_back(*size);
    }
    return sizes;
}

Result<std::vector<Transport>> parse_transport_list(std::string_view text) {
    if (text == "all") return all_transports();
    std::vector<Transport> list;
    for (auto part : split_commas(text)) {
        auto t = parse_transport(part);
        if (!t) return t.error();
        if (std::find(list.begin(), list.end(), *t) == list.end()) list.push_back(*t);
    }
    return list;
}

Result<CpuPin> parse_cpu_pin(std::string_view text) {
    auto parts = split_commas(text);
    if (parts.size() != 2)
        return make_error("malformed --pin '" + std::string(text) +
                          "': expected two CPU numbers, e.g. --pin 0,1");
    auto near = parse_cpu(parts[0], text);
    if (!near) return near.error();
    auto far = parse_cpu(parts[1], text);
    if (!far) return far.error();
    for (int cpu : {*near, *far})
        if (auto st = check_cpu(cpu); !st) return wrap(std::move(st).take_error(), "--pin");
    return CpuPin{*near, *far};
}

std::string size_label(std::size_t size) {
    if (size >= (1u << 20) && size % (1u << 20) == 0) return std::to_string(size >> 20) + " MiB";
    if (size >= 1024 && size % 1024 == 0) return std::to_string(size >> 10) + " KiB";
    return std::to_string(size) + " B";
}

}  // namespace tpk::bench
