// The benchmark's list-valued options, parsed here (not in the command) so
// tests can check them: sizes with K/M suffixes, transport lists, CPU pairs.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "bench/peer.h"
#include "bench/transport.h"
#include "util/result.h"

namespace tpk::bench {

// The largest message size accepted (64 MiB): bounds the memory of a run.
inline constexpr std::size_t kMaxSize = 64u << 20;

// "64" -> 64, "1K" -> 1024, "64k" -> 65536, "1M" -> 1048576 (binary units);
// 1 B to kMaxSize.
Result<std::size_t> parse_size(std::string_view text);
// "64,1K,64K", duplicates kept out, order kept.
Result<std::vector<std::size_t>> parse_size_list(std::string_view text);
// "tcp,unix,pipe" or "all"; duplicates kept out, order kept.
Result<std::vector<Transport>> parse_transport_list(std::string_view text);
// "0,1": the measuring side on CPU 0, the peer on CPU 1 (both checked).
Result<CpuPin> parse_cpu_pin(std::string_view text);

// "64 B", "1 KiB", "64 KiB", "1 MiB", "1500 B"
std::string size_label(std::size_t size);

}  // namespace tpk::bench
