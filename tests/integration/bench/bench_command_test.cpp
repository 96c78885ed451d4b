// `tracepacket bench` as a user runs it: the real binary with tiny counts,
// its --json parsed line by line. Structure and sanity only, never speed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using ::testing::HasSubstr;
using nlohmann::json;

struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Runs `tracepacket bench ARGS` through the shell, stdout and stderr apart.
Run bench(const std::string& args) {
    char dir[] = "/tmp/tpk-bench-test-XXXXXX";
    if (!::mkdtemp(dir)) return {};
    const std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
    const std::string cmd = std::string(TPK_BINARY) + " bench " + args + " >" + out + " 2>" + err;
    int status = std::system(cmd.c_str());
    Run r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    std::remove(out.c_str());
    std::remove(err.c_str());
    ::rmdir(dir);
    return r;
}

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
}

const char* kTiny = "--count 30 --warmup 3 --stream-time 0.02";

TEST(BenchCommand, JsonHasEveryRequestedCellWithOrderedPercentiles) {
    const std::vector<std::string> transports{"tcp",        "tcp6",           "udp",
                                              "udp6",       "unix",           "unix-dgram",
                                              "unix-seqpacket", "pipe",       "socketpair"};
    const std::vector<std::uint64_t> sizes{64, 1024, 65536};
    auto r = bench(std::string("--json ") + kTiny);
    ASSERT_EQ(r.exit_code, 0) << r.err;

    std::set<std::pair<std::string, std::uint64_t>> latency, throughput, skipped;
    for (const auto& j : json_lines(r.out)) {
        const std::string type = j.at("type");
        const std::pair<std::string, std::uint64_t> cell{j.at("transport"), j.at("size")};
        if (type == "latency") {
            latency.insert(cell);
            EXPECT_EQ(j.at("round_trips"), 30);
            const std::uint64_t p50 = j.at("p50_ns"), p90 = j.at("p90_ns"), p99 = j.at("p99_ns"),
                                p999 = j.at("p999_ns"), max = j.at("max_ns"), min = j.at("min_ns");
            EXPECT_GT(min, 0u);
            EXPECT_LE(min, p50);
            EXPECT_LE(p50, p90);
            EXPECT_LE(p90, p99);
            EXPECT_LE(p99, p999);
            EXPECT_LE(p999, max);
            EXPECT_GE(j.at("mean_ns").get<double>(), static_cast<double>(min));
            EXPECT_LE(j.at("mean_ns").get<double>(), static_cast<double>(max));
            if (cell.first == "tcp") {
                EXPECT_EQ(j.at("p50_ratio_to_tcp"), 1.0);
            }
            EXPECT_TRUE(j.contains("p50_ratio_to_tcp")) << j.dump();
        } else if (type == "throughput") {
            throughput.insert(cell);
            EXPECT_GT(j.at("bytes").get<std::uint64_t>(), 0u);
            EXPECT_GT(j.at("messages").get<std::uint64_t>(), 0u);
            EXPECT_GE(j.at("seconds").get<double>(), 0.02);
            EXPECT_GT(j.at("mb_per_s").get<double>(), 0);
            EXPECT_GT(j.at("gbit_per_s").get<double>(), 0);
            EXPECT_GT(j.at("messages_per_s").get<double>(), 0);
            EXPECT_TRUE(j.contains("ratio_to_tcp")) << j.dump();
        } else {
            ASSERT_EQ(type, "skipped") << j.dump();
            skipped.insert(cell);
            EXPECT_THAT(j.at("reason").get<std::string>(), HasSubstr("carries at most"));
            const std::string mode = j.at("mode");
            EXPECT_TRUE(mode == "latency" || mode == "throughput") << mode;
        }
    }
    // Every cell is measured or skipped with a note; only UDP at 64 KiB
    // (more than 65507 / 65527 B) is skipped by default.
    const std::set<std::pair<std::string, std::uint64_t>> expected_skips{{"udp", 65536}, {"udp6", 65536}};
    EXPECT_EQ(skipped, expected_skips);
    for (const auto& t : transports)
        for (auto s : sizes) {
            const bool skip = expected_skips.count({t, s}) > 0;
            EXPECT_EQ(latency.count({t, s}), skip ? 0u : 1u) << t << " " << s;
            EXPECT_EQ(throughput.count({t, s}), skip ? 0u : 1u) << t << " " << s;
        }
}

TEST(BenchCommand, ListsSuffixesAndModeAreHonoured) {
    auto r = bench(std::string("--json --mode latency --transport unix,pipe --size 1k,2K,1k ") + kTiny);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    std::vector<std::pair<std::string, std::uint64_t>> cells;
    for (const auto& j : lines) {
        EXPECT_EQ(j.at("type"), "latency");
        EXPECT_FALSE(j.contains("p50_ratio_to_tcp")) << "no tcp cell to compare with";
        cells.emplace_back(j.at("transport"), j.at("size"));
    }
    const std::vector<std::pair<std::string, std::uint64_t>> want{
        {"unix", 1024}, {"unix", 2048}, {"pipe", 1024}, {"pipe", 2048}};
    EXPECT_EQ(cells, want);
}

TEST(BenchCommand, TableHasBothSectionsAndTheSkipNote) {
    auto r = bench(std::string("--transport tcp,udp --size 64,100K ") + kTiny);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Latency: ping-pong round trip"));
    EXPECT_THAT(r.out, HasSubstr("Throughput: one-way stream"));
    EXPECT_THAT(r.out, HasSubstr("skipped: udp carries at most 65507 B in one message"));
    EXPECT_THAT(r.out, HasSubstr("100 KiB"));
    EXPECT_THAT(r.out, HasSubstr("1.00x"));  // tcp against itself
    EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
}

TEST(BenchCommand, PinnedRunWorks) {
    auto r = bench(std::string("--json --mode latency --transport socketpair --size 64 --pin 0,0 ") + kTiny);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(json_lines(r.out).size(), 1u);
}

struct BadOption {
    const char* name;  // the test's name
    const char* args;
    const char* message;
};

void PrintTo(const BadOption& b, std::ostream* os) { *os << "bench " << b.args; }

class BenchBadOption : public ::testing::TestWithParam<BadOption> {};

TEST_P(BenchBadOption, OneClearLineAndNonZeroExit) {
    auto r = bench(GetParam().args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Bench, BenchBadOption,
    ::testing::Values(
        BadOption{"UnknownTransport", "--transport tcp,carrier-pigeon",
                  "tracepacket: error: --transport: unknown transport 'carrier-pigeon' (valid: tcp, "
                  "tcp6, udp, udp6, unix, unix-dgram, unix-seqpacket, pipe, socketpair)\n"},
        BadOption{"MalformedSize", "--size 64,12X", "tracepacket: error: --size: malformed size '12X'"},
        BadOption{"ZeroSize", "--size 0", "tracepacket: error: --size: size '0' out of range: use 1 B to 64 MiB"},
        BadOption{"SizeWithUnknownSuffix", "--size 1G", "malformed size '1G'"},
        BadOption{"PinWithOneCpu", "--pin 0", "tracepacket: error: malformed --pin '0': expected two CPU numbers"},
        BadOption{"PinToMissingCpu", "--pin 0,9999", "tracepacket: error: --pin: CPU 9999 is not available"},
        BadOption{"ZeroCount", "--count 0", "--count"},
        BadOption{"NegativeStreamTime", "--stream-time -1", "--stream-time"},
        BadOption{"UnknownMode", "--mode sideways", "--mode"},
        BadOption{"UnknownOption", "--frobnicate", "--frobnicate"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
