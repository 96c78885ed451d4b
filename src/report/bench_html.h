// Benchmark results as bar charts in one self-contained HTML page: round-trip
// latency (p50 and p99) and throughput per transport and message size. The
// bench command adds `--html FILE` and calls write_bench_html with what it
// measured; skipped cells are left out of the bars and listed.
#pragma once

#include <string>
#include <vector>

#include "bench/runner.h"
#include "report/html.h"
#include "util/result.h"

namespace tpk::report {

std::vector<BarChart> bench_charts(const std::vector<bench::LatencyResult>& latency,
                                   const std::vector<bench::ThroughputResult>& throughput);

Status write_bench_html(const std::vector<bench::LatencyResult>& latency,
                        const std::vector<bench::ThroughputResult>& throughput,
                        const std::string& path);

}  // namespace tpk::report
