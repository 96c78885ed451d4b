// The writers on journeys the correlator makes of real recordings
// (tests/fixtures/events/6.18-x86_64/, recorded with journey --record-raw):
// whatever a real run holds, every format keeps its structure.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/recordings.h"
#include "report/html.h"
#include "report/mermaid.h"
#include "report/pcapng_writer.h"
#include "report/perfetto.h"
#include "unit/report/trace_checks.h"

namespace tpk::report {
namespace {

using tpk::testing::replay;

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

// Comments of the Enhanced Packet Blocks, in file order.
std::vector<std::string> pcapng_comments(const std::string& bytes) {
    std::vector<std::string> out;
    std::size_t off = 0;
    while (off + 12 <= bytes.size()) {
        std::uint32_t type, len;
        std::memcpy(&type, bytes.data() + off, 4);
        std::memcpy(&len, bytes.data() + off + 4, 4);
        if (len < 12 || off + len > bytes.size()) break;
        if (type == 6) {
            std::uint32_t caplen;
            std::memcpy(&caplen, bytes.data() + off + 20, 4);
            std::size_t opt = off + 28 + ((caplen + 3u) & ~3u);
            std::string comment;
            while (opt + 4 <= off + len - 4) {
                std::uint16_t code, olen;
                std::memcpy(&code, bytes.data() + opt, 2);
                std::memcpy(&olen, bytes.data() + opt + 2, 2);
                if (code == 0) break;
                if (code == 1) comment = bytes.substr(opt + 4, olen);
                opt += 4 + ((olen + 3u) & ~3u);
            }
            out.push_back(comment);
        }
        off += len;
    }
    return out;
}

class RecordedJourney : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedJourney, EveryFormatKeepsItsShape) {
    const auto j = replay(GetParam());
    ASSERT_FALSE(j.packets.empty()) << "the correlator found no packets in " << GetParam();

    // Perfetto: well formed, a flow per packet of two hops or more.
    const auto trace = nlohmann::json::parse(render_perfetto(std::vector<tpk::journey::Journey>{j}));
    const auto problems = testing::trace_problems(trace);
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
    std::size_t multi_hop = 0, begun = 0;
    for (const auto& p : j.packets) multi_hop += p.hops.size() >= 2;
    for (const auto& e : trace["traceEvents"]) begun += e["ph"] == "s";
    EXPECT_EQ(begun, multi_hop);

    // HTML: one arrow and one table row per packet.
    const std::string html = render_journeys_html(std::vector<tpk::journey::Journey>{j});
    EXPECT_EQ(count(html, "class=\"packet-arrow"), j.packets.size());
    EXPECT_EQ(count(html, "<tr class=\"packet-row"), j.packets.size());
    EXPECT_EQ(html.find("<script"), std::string::npos);

    // Mermaid: one message per packet.
    const std::string m = render_mermaid_sequence(j);
    EXPECT_EQ(count(m, "->>") + count(m, "-x"), j.packets.size());

    // pcapng: every frame, each matched one with all its hops in the comment.
    char tmpl[] = "/tmp/tpk-report-fixture-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/j.pcapng";
    std::size_t frames = j.unmatched_frames.size();
    for (const auto& p : j.packets) frames += p.frame.has_value();
    auto st = write_pcapng(j, path);
    if (frames == 0) {
        EXPECT_FALSE(st) << "no frames must be an error";
    } else {
        ASSERT_TRUE(st) << st.error().message();
        std::ifstream in(path, std::ios::binary);
        std::stringstream bytes;
        bytes << in.rdbuf();
        const auto comments = pcapng_comments(bytes.str());
        EXPECT_EQ(comments.size(), frames);
        for (std::size_t i = 0; i < j.packets.size(); ++i) {
            if (!j.packets[i].frame) continue;
            const std::string title = packet_comment(j, i);
            bool found = false;
            for (const auto& c : comments) found = found || c == title;
            EXPECT_TRUE(found) << "packet " << i + 1 << " comment missing";
            for (const auto& h : j.packets[i].hops)
                EXPECT_NE(title.find(std::string(model::event_name(h.event))), std::string::npos);
        }
    }
    std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RecordedJourney,
                         ::testing::Values("journey-tcp.jsonl", "journey-tcp6.jsonl",
                                           "journey-udp.jsonl", "journey-unix.jsonl",
                                           "journey-unix-dgram.jsonl", "journey-tcp-lost.jsonl"),
                         [](const auto& info) {
                             std::string n = info.param;
                             n = n.substr(8, n.find('.') - 8);
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

TEST(RecordedJourney, TcpHasHandshakeAndTeardownShaded) {
    const std::string html = render_journeys_html(std::vector<tpk::journey::Journey>{replay("journey-tcp.jsonl")});
    EXPECT_GE(count(html, "class=\"phase phase-handshake\""), 1u);
    EXPECT_GE(count(html, "class=\"phase phase-teardown\""), 1u);
}

}  // namespace
}  // namespace tpk::report
