// The report formats of a real run, opened by the programs people use:
// `tracepacket journey --pcapng F --perfetto P --html H --json` traced in the
// kernel, then tcpdump and tshark read F (tshark shows each frame's hops as
// its comment), P passes the trace-event structure checks, and headless
// Chromium opens H with no console message, one SVG arrow per packet and a
// screenshot that is not blank. Needs root (BPF, capture on lo).
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "report/labels.h"
#include "unit/report/trace_checks.h"

namespace {

namespace fs = std::filesystem;

struct CommandRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs a shell command line; stdout is returned, stderr kept apart.
CommandRun run(const std::string& command, const std::string& err_file) {
    CommandRun r;
    FILE* p = ::popen((command + " 2>" + err_file).c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err_file);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    return r;
}

bool have(const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

// One journey for the whole suite: it takes a second and needs the kernel.
class ReportRuntime : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (::geteuid() != 0) return;
        char tmpl[] = "/tmp/tpk-report-runtime-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        // A cache of our own, so `stack` reads this run and no one else's.
        const std::string env = "XDG_CACHE_HOME=" + dir_ + "/cache NO_COLOR=1 ";
        journey_ = run(env + TPK_BINARY + std::string(" journey --json --pcapng ") + file("j.pcapng") +
                           " --perfetto " + file("j.json") + " --html " + file("j.html"),
                       file("journey.err"));
        for (const auto& line : lines_of(journey_.out)) {
            auto record = nlohmann::json::parse(line, nullptr, false);
            if (!record.is_discarded() && record.value("type", "") == "packet") ++packets_;
        }
    }
    static void TearDownTestSuite() {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root";
        ASSERT_EQ(journey_.exit_code, 0) << journey_.err;
        ASSERT_GT(packets_, 0u) << "the journey printed no packet records";
    }
    static std::string file(const std::string& name) { return dir_ + "/" + name; }
    static std::string chromium(const std::string& args) {
        // A fresh profile per run; no network (every host unresolvable), so a
        // fetch would show up as a console error.
        const std::string profile = file("profile-" + std::to_string(++profiles_));
        return "timeout 120 chromium --headless --no-sandbox --disable-gpu "
               "--disable-background-networking --disable-component-update --disable-sync "
               "--no-first-run --host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir=" + profile +
               " --enable-logging=stderr --v=0 " + args;
    }

    static inline std::string dir_;
    static inline CommandRun journey_;
    static inline std::size_t packets_ = 0;
    static inline int profiles_ = 0;
};

TEST_F(ReportRuntime, TcpdumpAndTsharkOpenThePcapng) {
    ASSERT_TRUE(have("tcpdump") && have("tshark")) << "needs tcpdump and tshark (scripts/install-deps)";
    const auto dump = run("tcpdump -nn -r " + file("j.pcapng"), file("tcpdump.err"));
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    const auto frames = lines_of(dump.out);
    ASSERT_GE(frames.size(), 3u) << dump.out;  // at least the handshake
    EXPECT_NE(dump.err.find("EN10MB"), std::string::npos) << dump.err;  // lo is Ethernet

    const auto comments = run("tshark -r " + file("j.pcapng") + " -T fields -e frame.comment",
                              file("tshark.err"));
    ASSERT_EQ(comments.exit_code, 0) << comments.err;
    const auto per_frame = lines_of(comments.out);
    ASSERT_EQ(per_frame.size(), frames.size());
    std::size_t with_hops = 0;
    for (const auto& c : per_frame) {
        EXPECT_NE(c.find("tracepacket"), std::string::npos) << c;
        with_hops += c.find("net_dev_queue") != std::string::npos &&
                     c.find("netif_receive_skb") != std::string::npos;
    }
    // Every frame on lo went through the device: matched frames list those hops.
    EXPECT_GT(with_hops, 0u) << comments.out;
    EXPECT_NE(comments.out.find("syscall_enter"), std::string::npos);

    const auto names = run("tshark -r " + file("j.pcapng") + " -T fields -e frame.interface_name",
                           file("tshark2.err"));
    EXPECT_NE(names.out.find("lo"), std::string::npos) << names.out << names.err;
}

TEST_F(ReportRuntime, PerfettoTraceIsWellFormed) {
    std::ifstream in(file("j.json"));
    ASSERT_TRUE(in);
    const auto trace = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(trace.is_discarded()) << "not JSON";
    const auto problems = tpk::report::testing::trace_problems(trace);
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
    std::size_t flows = 0, slices = 0;
    std::set<std::string> tracks;
    for (const auto& e : trace["traceEvents"]) {
        flows += e["ph"] == "s";
        slices += e["ph"] == "X";
        if (e["ph"] == "M" && e["name"] == "thread_name") tracks.insert(e["args"]["name"]);
    }
    EXPECT_GT(flows, 0u);
    EXPECT_LE(flows, packets_);
    EXPECT_GT(slices, packets_);
    EXPECT_TRUE(tracks.count("device")) << "no device track";
}

TEST_F(ReportRuntime, ChromiumCatchesConsoleErrors) {
    // The negative control: the check below must see a console message.
    ASSERT_TRUE(have("chromium")) << "needs chromium (scripts/install-deps)";
    std::ofstream(file("bad.html")) << "<!DOCTYPE html><html><body><script>console.error('tpk-"
                                       "control')</script><img src=\"http://example.invalid/x.png\">"
                                       "</body></html>";
    const auto r = run(chromium("--dump-dom file://" + file("bad.html")), file("bad.err"));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.err.find("CONSOLE"), std::string::npos) << r.err;
}

TEST_F(ReportRuntime, ChromiumOpensTheHtmlCleanly) {
    ASSERT_TRUE(have("chromium")) << "needs chromium (scripts/install-deps)";
    const auto dom = run(chromium("--dump-dom file://" + file("j.html")), file("dom.err"));
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    EXPECT_EQ(count(dom.err, ":CONSOLE"), 0u) << dom.err;
    EXPECT_EQ(count(dom.out, "<svg class=\"sequence\""), 1u);
    EXPECT_EQ(count(dom.out, "class=\"packet-arrow"), packets_);
    EXPECT_EQ(count(dom.out, "<tr class=\"packet-row"), packets_);
    EXPECT_NE(dom.out.find("phase-handshake"), std::string::npos);
}

// Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) and
// returns its distinct colours and the share of non-white pixels.
struct PngStats {
    std::size_t colors = 0;
    double non_white = 0;
    std::string error;
};

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

PngStats png_stats(const std::string& bytes) {
    PngStats s;
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() < 33 || std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0) return {0, 0, "not a PNG"};
    std::uint32_t width = 0, height = 0;
    int channels = 0;
    std::string idat;
    for (std::size_t off = 8; off + 12 <= bytes.size();) {
        const std::uint32_t len = be32(b + off);
        const std::string type(bytes, off + 4, 4);
        if (off + 12 + len > bytes.size()) return {0, 0, "truncated chunk"};
        const unsigned char* data = b + off + 8;
        if (type == "IHDR") {
            width = be32(data);
            height = be32(data + 4);
            if (data[8] != 8 || data[12] != 0) return {0, 0, "not 8-bit non-interlaced"};
            channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0;
            if (!channels) return {0, 0, "colour type not RGB(A)"};
        } else if (type == "IDAT") {
            idat.append(reinterpret_cast<const char*>(data), len);
        }
        off += 12 + len;
    }
    const std::size_t stride = std::size_t{width} * channels;
    std::vector<unsigned char> raw((stride + 1) * height);
    uLongf raw_len = raw.size();
    if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
        raw_len != raw.size())
        return {0, 0, "bad image data"};
    // Undo the per-row filters (PNG spec, section 9).
    std::vector<unsigned char> prev(stride, 0), row(stride);
    std::set<std::uint32_t> colors;
    std::size_t non_white = 0;
    for (std::uint32_t y = 0; y < height; ++y) {
        const unsigned char filter = raw[y * (stride + 1)];
        const unsigned char* in = &raw[y * (stride + 1) + 1];
        for (std::size_t x = 0; x < stride; ++x) {
            const int a = x >= static_cast<std::size_t>(channels) ? row[x - channels] : 0;
            const int up = prev[x];
            const int c = x >= static_cast<std::size_t>(channels) ? prev[x - channels] : 0;
            int pred = 0;
            switch (filter) {
                case 1: pred = a; break;
                case 2: pred = up; break;
                case 3: pred = (a + up) / 2; break;
                case 4: {
                    const int p = a + up - c, pa = std::abs(p - a), pb = std::abs(p - up), pc = std::abs(p - c);
                    pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
                    break;
                }
                default: break;
            }
            row[x] = static_cast<unsigned char>(in[x] + pred);
        }
        for (std::uint32_t x = 0; x < width; ++x) {
            const unsigned char* px = &row[std::size_t{x} * channels];
            colors.insert((std::uint32_t{px[0]} << 16) | (std::uint32_t{px[1]} << 8) | px[2]);
            non_white += !(px[0] > 245 && px[1] > 245 && px[2] > 245);
        }
        prev = row;
    }
    s.colors = colors.size();
    s.non_white = width && height ? static_cast<double>(non_white) / (double{1} * width * height) : 0;
    return s;
}

TEST_F(ReportRuntime, ScreenshotIsNotBlank) {
    ASSERT_TRUE(have("chromium")) << "needs chromium (scripts/install-deps)";
    const std::string shot = file("j.png");
    const auto r = run(chromium("--window-size=1200,900 --screenshot=" + shot + " file://" + file("j.html")),
                       file("shot.err"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(shot, std::ios::binary);
    ASSERT_TRUE(in) << "no screenshot written: " << r.err;
    std::stringstream bytes;
    bytes << in.rdbuf();
    const auto stats = png_stats(bytes.str());
    ASSERT_TRUE(stats.error.empty()) << stats.error;
    // Text, lanes, shaded phases and coloured arrows: many colours, and a
    // real share of the page that is not background.
    EXPECT_GE(stats.colors, 16u);
    EXPECT_GT(stats.non_white, 0.02);
    // Kept for people to look at when the test runs by hand.
    if (const char* keep = std::getenv("TPK_KEEP_SCREENSHOT")) fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
}

TEST_F(ReportRuntime, StackShowsTheLastJourneysTimes) {
    const std::string env = "XDG_CACHE_HOME=" + dir_ + "/cache NO_COLOR=1 ";
    const auto text = run(env + TPK_BINARY + " stack", file("stack.err"));
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("last journey"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(" µs"), std::string::npos) << text.out;
    const auto graph = run(env + TPK_BINARY + " stack --mermaid", file("stack2.err"));
    EXPECT_EQ(graph.out.rfind("graph TD", 0), 0u) << graph.out;

    const std::string empty_env = "XDG_CACHE_HOME=" + dir_ + "/no-cache ";
    const auto bare = run(empty_env + TPK_BINARY + " stack", file("stack3.err"));
    EXPECT_EQ(bare.exit_code, 0);
    EXPECT_NE(bare.out.find("run `tracepacket journey` first"), std::string::npos) << bare.out;
}

TEST_F(ReportRuntime, MermaidSequenceOnStdout) {
    const std::string env = "XDG_CACHE_HOME=" + dir_ + "/cache ";
    const auto r = run(env + TPK_BINARY + " journey --json --mermaid", file("mermaid.err"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto at = r.out.find("sequenceDiagram\n");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::size_t packets = 0;
    for (const auto& line : lines_of(r.out.substr(0, at))) {
        auto record = nlohmann::json::parse(line, nullptr, false);
        if (!record.is_discarded() && record.value("type", "") == "packet") ++packets;
    }
    const std::string diagram = r.out.substr(at);
    EXPECT_EQ(count(diagram, "->>") + count(diagram, "-x"), packets);
}

TEST_F(ReportRuntime, CompareHtmlHasABarPerTransport) {
    ASSERT_TRUE(have("chromium")) << "needs chromium (scripts/install-deps)";
    const std::string env = "XDG_CACHE_HOME=" + dir_ + "/cache ";
    const auto r = run(env + TPK_BINARY + " journey --json --compare tcp,unix --html " + file("cmp.html"),
                       file("cmp.err"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::size_t packets = 0;
    for (const auto& line : lines_of(r.out)) {
        auto record = nlohmann::json::parse(line, nullptr, false);
        if (!record.is_discarded() && record.value("type", "") == "packet") ++packets;
    }
    const auto dom = run(chromium("--dump-dom file://" + file("cmp.html")), file("cmp-dom.err"));
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    EXPECT_EQ(count(dom.err, ":CONSOLE"), 0u) << dom.err;
    EXPECT_EQ(count(dom.out, "class=\"chart-bar\""), 2u);
    EXPECT_EQ(count(dom.out, "<svg class=\"sequence\""), 2u);
    EXPECT_EQ(count(dom.out, "class=\"packet-arrow"), packets);
}

TEST_F(ReportRuntime, BenchHtmlHasItsBars) {
    ASSERT_TRUE(have("chromium")) << "needs chromium (scripts/install-deps)";
    const auto r = run(std::string(TPK_BINARY) + " bench -t tcp,unix -s 64 --latency-time 0.05 "
                       "--stream-time 0.05 --html " + file("bench.html"),
                       file("bench.err"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto dom = run(chromium("--dump-dom file://" + file("bench.html")), file("bench-dom.err"));
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    EXPECT_EQ(count(dom.err, ":CONSOLE"), 0u) << dom.err;
    // Two transports in three charts: latency p50 and p99, throughput.
    EXPECT_EQ(count(dom.out, "class=\"chart-bar\""), 6u);
}

}  // namespace

namespace {

// Every hop explanation of the journey's JSON, for the first data packet
// (the one a reader looks at first).
std::vector<std::string> first_data_packet_explanations(const std::string& json_lines) {
    std::vector<std::string> out;
    for (const auto& line : lines_of(json_lines)) {
        auto r = nlohmann::json::parse(line, nullptr, false);
        if (r.is_discarded() || r.value("type", "") != "packet" || r.value("kind", "") != "data")
            continue;
        for (const auto& h : r.at("hops"))
            if (h.contains("explain")) out.push_back(h.at("explain").get<std::string>());
        break;
    }
    return out;
}

}  // namespace

// The same explanation of a hop in every format: the JSON (what the text
// prints too), the pcapng frame comments, the HTML page and the Perfetto args.
TEST_F(ReportRuntime, EveryFormatCarriesTheSameExplanations) {
    const auto explanations = first_data_packet_explanations(journey_.out);
    ASSERT_GE(explanations.size(), 6u) << journey_.out;
    ASSERT_TRUE(have("tshark")) << "needs tshark (scripts/install-deps)";
    const auto comments = run("tshark -r " + file("j.pcapng") + " -T fields -e frame.comment",
                              file("tshark-explain.err"));
    ASSERT_EQ(comments.exit_code, 0) << comments.err;
    std::ifstream html_file(file("j.html")), perfetto_file(file("j.json"));
    std::stringstream html, perfetto;
    html << html_file.rdbuf();
    perfetto << perfetto_file.rdbuf();
    for (const auto& e : explanations) {
        EXPECT_NE(comments.out.find(e), std::string::npos) << "pcapng lacks: " << e;
        EXPECT_NE(html.str().find(tpk::report::html_escape(e)), std::string::npos)
            << "HTML lacks: " << e;
        EXPECT_NE(perfetto.str().find(nlohmann::json(e).dump()), std::string::npos)
            << "Perfetto lacks: " << e;
    }
}
