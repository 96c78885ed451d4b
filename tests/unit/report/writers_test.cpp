// The writers on a fixed journey: golden files plus the structure each
// format's readers need (pcapng blocks and comments, trace-event flows and
// tracks, one SVG arrow per packet, a page that fetches nothing).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "report/html.h"
#include "report/labels.h"
#include "report/mermaid.h"
#include "report/pcapng_writer.h"
#include "report/perfetto.h"
#include "unit/report/golden.h"
#include "unit/report/sample_journey.h"
#include "unit/report/trace_checks.h"

namespace tpk::report {
namespace {

using testing::expect_golden;
using testing::read_text;
using testing::sample_tcp_journey;

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/tpk-report-test-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

TEST(Labels, DurationsReadLikeLatencies) {
    const std::pair<std::int64_t, const char*> cases[] = {
        {0, "0 ns"},          {812, "812 ns"},        {1'234, "1.23 µs"},  {12'345, "12.3 µs"},
        {123'456, "123 µs"},  {999'999, "1.00 ms"},   {1'234'567, "1.23 ms"},
        {2'500'000'000, "2.50 s"}, {-1'500, "-1.50 µs"},
    };
    for (const auto& [ns, text] : cases) EXPECT_EQ(duration_text(ns), text) << ns;
}

TEST(Labels, TcpFlagsInTcpdumpOrder) {
    EXPECT_EQ(tcp_flags_text(model::kSyn), "S");
    EXPECT_EQ(tcp_flags_text(model::kSyn | model::kAck), "S.");
    EXPECT_EQ(tcp_flags_text(model::kFin | model::kPsh | model::kAck), "FP.");
    EXPECT_EQ(tcp_flags_text(model::kRst | model::kAck), "R.");
    EXPECT_EQ(tcp_flags_text(0), "");
}

TEST(Labels, LanesMirrorTheTwoStacks) {
    const auto j = sample_tcp_journey();
    const auto& request = j.packets[3];  // client -> server data
    EXPECT_EQ(lane_of(request, request.hops.front()), 0);   // sendto enter: client
    EXPECT_EQ(lane_of(request, request.hops[1]), 2);        // tcp_sendmsg_locked: client TCP
    EXPECT_EQ(lane_of(request, request.hops[2]), 4);        // net_dev_queue: lo
    EXPECT_EQ(lane_of(request, request.hops.back()), 8);    // recvfrom exit: server
    const auto& reply = j.packets[4];
    EXPECT_EQ(lane_of(reply, reply.hops.front()), 8);
    EXPECT_EQ(lane_of(reply, reply.hops.back()), 0);
}

TEST(Pcapng, CommentListsEveryHop) {
    const auto j = sample_tcp_journey();
    const std::string c = packet_comment(j, 3);
    for (const auto& h : j.packets[3].hops)
        EXPECT_NE(c.find(std::string(model::event_name(h.event))), std::string::npos)
            << model::event_name(h.event);
    expect_golden("request.comment", c);
}

struct Block {
    std::uint32_t type;
    std::string body;
};

std::vector<Block> read_blocks(const std::string& bytes) {
    std::vector<Block> out;
    std::size_t off = 0;
    while (off + 12 <= bytes.size()) {
        std::uint32_t type, len, trailer;
        std::memcpy(&type, bytes.data() + off, 4);
        std::memcpy(&len, bytes.data() + off + 4, 4);
        if (len < 12 || len % 4 || off + len > bytes.size()) break;
        std::memcpy(&trailer, bytes.data() + off + len - 4, 4);
        EXPECT_EQ(trailer, len);
        out.push_back({type, bytes.substr(off + 8, len - 12)});
        off += len;
    }
    EXPECT_EQ(off, bytes.size()) << "trailing bytes";
    return out;
}

// Option code -> value of a block's options starting at `from`.
std::map<int, std::string> options(const std::string& body, std::size_t from) {
    std::map<int, std::string> out;
    while (from + 4 <= body.size()) {
        std::uint16_t code, len;
        std::memcpy(&code, body.data() + from, 2);
        std::memcpy(&len, body.data() + from + 2, 2);
        if (code == 0) break;
        out[code] = body.substr(from + 4, len);
        from += 4 + ((len + 3u) & ~3u);
    }
    return out;
}

TEST(Pcapng, EveryFrameWithItsJourney) {
    const auto j = sample_tcp_journey();
    TempDir dir;
    const auto path = dir.file("j.pcapng");
    ASSERT_TRUE(write_pcapng(j, path));
    const auto blocks = read_blocks(read_text(path));
    ASSERT_GE(blocks.size(), 2u);
    EXPECT_EQ(blocks[0].type, 0x0A0D0D0Au);
    ASSERT_EQ(blocks[1].type, 1u);  // interface description
    std::uint16_t link_type;
    std::memcpy(&link_type, blocks[1].body.data(), 2);
    EXPECT_EQ(link_type, 1);
    EXPECT_EQ(options(blocks[1].body, 8)[2], "lo");  // if_name

    std::size_t matched = 0, unmatched = 0;
    std::uint64_t previous = 0;
    for (std::size_t i = 2; i < blocks.size(); ++i) {
        ASSERT_EQ(blocks[i].type, 6u);  // enhanced packet
        const auto& b = blocks[i].body;
        std::uint32_t hi, lo, caplen;
        std::memcpy(&hi, b.data() + 4, 4);
        std::memcpy(&lo, b.data() + 8, 4);
        std::memcpy(&caplen, b.data() + 12, 4);
        const std::uint64_t ts = (std::uint64_t{hi} << 32) | lo;
        EXPECT_GT(ts, static_cast<std::uint64_t>(j.realtime_offset_ns)) << "wall-clock stamps";
        EXPECT_GE(ts, previous);
        previous = ts;
        const std::string comment = options(b, 20 + ((caplen + 3u) & ~3u))[1];
        if (comment.find("tracepacket #") == 0) ++matched;
        if (comment.find("no kernel journey matched") != std::string::npos) ++unmatched;
    }
    EXPECT_EQ(matched, j.packets.size());
    EXPECT_EQ(unmatched, j.unmatched_frames.size());
}

TEST(Pcapng, NoFramesIsOneClearError) {
    auto j = sample_tcp_journey();
    j.transport = "unix";
    for (auto& p : j.packets) p.frame.reset();
    j.unmatched_frames.clear();
    TempDir dir;
    auto st = write_pcapng(j, dir.file("none.pcapng"));
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("UNIX domain sockets never reach a network device"),
              std::string::npos)
        << st.error().message();
    EXPECT_FALSE(std::filesystem::exists(dir.file("none.pcapng")));
}

TEST(Perfetto, GoldenAndWellFormed) {
    const auto j = sample_tcp_journey();
    const std::string text = render_perfetto(std::vector<tpk::journey::Journey>{j});
    expect_golden("journey.perfetto.json", text);
    const auto trace = nlohmann::json::parse(text);
    const auto problems = testing::trace_problems(trace);
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);

    // One flow per packet with two or more hops, one slice per hop.
    std::size_t flows = 0, hop_slices = 0, hops = 0;
    for (const auto& p : j.packets) {
        flows += p.hops.size() >= 2;
        hops += p.hops.size();
    }
    std::set<unsigned long long> ids;
    for (const auto& e : trace["traceEvents"]) {
        if (e["ph"] == "s") ids.insert(e["id"].get<unsigned long long>());
        if (e["ph"] == "X" && e["cat"] != "syscall") ++hop_slices;
    }
    EXPECT_EQ(ids.size(), flows);
    EXPECT_EQ(hop_slices, hops);
}

TEST(Perfetto, TracksNamedPerProcessAndLayer) {
    const auto trace = nlohmann::json::parse(render_perfetto(std::vector<tpk::journey::Journey>{sample_tcp_journey()}));
    std::set<std::string> names;
    for (const auto& e : trace["traceEvents"])
        if (e["ph"] == "M" && (e["name"] == "process_name" || e["name"] == "thread_name"))
            names.insert(e["args"]["name"].get<std::string>());
    for (const char* want : {"client: tracepacket (pid 4100)", "server: tracepacket (pid 4101)",
                             "kernel: TCP over lo", "device", "receive path", "transport (send)",
                             "transport (receive)", "socket (receive)", "network (send)"})
        EXPECT_TRUE(names.count(want)) << want;
}

TEST(Perfetto, CompareKeepsJourneysApart) {
    auto a = sample_tcp_journey();
    auto b = sample_tcp_journey();
    b.transport = "tcp6";
    const auto trace = nlohmann::json::parse(render_perfetto(std::vector<tpk::journey::Journey>{a, b}));
    EXPECT_TRUE(testing::trace_problems(trace).empty());
    std::set<long long> pids;
    for (const auto& e : trace["traceEvents"]) pids.insert(e["pid"].get<long long>());
    EXPECT_EQ(pids.size(), 6u);  // client, server, kernel, twice
}

TEST(Html, GoldenOneArrowPerPacketNothingFetched) {
    const auto j = sample_tcp_journey();
    const std::string html = render_journeys_html(std::vector<tpk::journey::Journey>{j});
    expect_golden("journey.html", html);
    EXPECT_EQ(count(html, "class=\"packet-arrow"), j.packets.size());
    EXPECT_EQ(count(html, "class=\"phase phase-handshake\""), 1u);
    EXPECT_EQ(count(html, "class=\"phase phase-teardown\""), 1u);
    EXPECT_EQ(count(html, "<tr class=\"packet-row"), j.packets.size());
    // Self-contained: no scripts, no external resources (the SVG namespace
    // is a name, not a fetch).
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=)")));
    EXPECT_EQ(count(html, "http"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
    for (const auto& level : kStackLevels)
        EXPECT_NE(html.find(std::string(">") + std::string(level.name) + "<"), std::string::npos);
}

TEST(Html, CompareDrawsABarPerJourney) {
    auto a = sample_tcp_journey();
    auto b = sample_tcp_journey();
    b.transport = "unix";
    b.stats.median_one_way_ns = 9'000;
    const std::string html = render_journeys_html(std::vector<tpk::journey::Journey>{a, b});
    EXPECT_EQ(count(html, "class=\"chart-bar\""), 2u);
    EXPECT_EQ(count(html, "<svg class=\"sequence\""), 2u);
    EXPECT_NE(html.find("9.00 µs"), std::string::npos);
    // Marker ids stay unique across the two diagrams.
    std::set<std::string> ids;
    std::regex id_re("marker id=\"([^\"]+)\"");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), id_re); it != std::sregex_iterator(); ++it)
        EXPECT_TRUE(ids.insert((*it)[1]).second) << (*it)[1];
}

TEST(Html, EscapesWhatTheJourneyHolds) {
    auto j = sample_tcp_journey();
    j.notes.push_back("<script>alert(1)</script>");
    const std::string html = render_journeys_html(std::vector<tpk::journey::Journey>{j});
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
}

TEST(Mermaid, SequenceGolden) {
    const auto j = sample_tcp_journey();
    const std::string m = render_mermaid_sequence(j);
    expect_golden("journey.mermaid", m);
    EXPECT_EQ(m.rfind("sequenceDiagram\n", 0), 0u);
    EXPECT_EQ(count(m, "->>") + count(m, "-x"), j.packets.size());
    EXPECT_EQ(count(m, "    rect "), count(m, "    end\n"));
    // Mermaid ends a message at ';' and reads '#' as an entity.
    for (auto line_start = m.find("->>"); line_start != std::string::npos; line_start = m.find("->>", line_start + 1)) {
        const auto end = m.find('\n', line_start);
        const auto line = m.substr(line_start, end - line_start);
        EXPECT_EQ(line.find_first_of(";#"), std::string::npos) << line;
    }
}

TEST(Mermaid, StackGolden) {
    const auto j = sample_tcp_journey();
    expect_golden("stack.mermaid", render_mermaid_stack(layer_times(j), "TCP", "lo", "last journey: tcp"));
}

}  // namespace
}  // namespace tpk::report
