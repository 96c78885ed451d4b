// Text and JSON Lines of journeys replayed from recorded runs
// (tests/fixtures/events/6.18-x86_64/journey-*.jsonl): text fits 100 columns
// and has no colour unless asked; every JSON record is versioned, the summary
// is last and carries lost_events.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "journey/text.h"
#include "report/json_lines.h"
#include "report/text.h"
#include "support/recordings.h"

namespace tpk::report {
namespace {

using journey::tcp_flags_text;

using testing::replay;

// Columns of a UTF-8 line (µ is two bytes, one column).
std::size_t columns(const std::string& line) {
    std::size_t n = 0;
    for (unsigned char c : line) n += (c & 0xC0) != 0x80;
    return n;
}

class JourneyOutput : public ::testing::TestWithParam<const char*> {};

TEST_P(JourneyOutput, TextFitsOneHundredColumnsWithoutColour) {
    auto j = replay(GetParam());
    std::string text = render_journey_text(j, TextStyle{false, 100});
    std::istringstream in(text);
    std::string line;
    std::size_t lines = 0;
    while (std::getline(in, line)) {
        ++lines;
        EXPECT_LE(columns(line), 100u) << line;
        EXPECT_EQ(line.find('\x1b'), std::string::npos) << "colour without a tty: " << line;
    }
    EXPECT_GT(lines, 20u);
    EXPECT_NE(text.find("lost events: "), std::string::npos);
}

TEST_P(JourneyOutput, ColourOnlyWhenAsked) {
    auto j = replay(GetParam());
    EXPECT_NE(render_journey_text(j, TextStyle{true, 100}).find("\x1b["), std::string::npos);
}

TEST_P(JourneyOutput, JsonLinesAreVersionedWithTheSummaryLast) {
    auto j = replay(GetParam());
    std::ostringstream out;
    write_journey_json(j, out);
    std::istringstream in(out.str());
    std::string line;
    std::vector<nlohmann::json> records;
    while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
    ASSERT_FALSE(records.empty());
    std::size_t packets = 0;
    for (const auto& r : records) {
        EXPECT_EQ(r.at("schema_version"), 1);
        if (r.at("type") == "packet") {
            ++packets;
            for (const char* key : {"flow", "flags", "seq", "ack", "payload_len", "frame", "hops"})
                EXPECT_TRUE(r.contains(key)) << key;
            for (const auto& h : r.at("hops"))
                for (const char* key : {"layer", "event", "t_ns"}) EXPECT_TRUE(h.contains(key));
        }
    }
    EXPECT_EQ(packets, j.packets.size());
    EXPECT_EQ(records.back().at("type"), "summary");
    EXPECT_EQ(records.back().at("lost_events"), j.stats.lost_events);
}

INSTANTIATE_TEST_SUITE_P(Recordings, JourneyOutput,
                         ::testing::Values("journey-tcp.jsonl", "journey-tcp6.jsonl",
                                           "journey-udp.jsonl", "journey-unix.jsonl",
                                           "journey-unix-dgram.jsonl", "journey-tcp-lost.jsonl"));

TEST(JourneyOutputText, WrittenToAStreamAsItIsRenderedTheSameBytes) {
    // write_journey_text() hands the text over every ~64 KiB, between calls
    // and between packets: the pieces must join into what render gives.
    for (const char* name : {"journey-tcp-200k.jsonl", "trace-tcp-30-connections.jsonl"}) {
        auto j = replay(name);
        for (bool color : {false, true}) {
            const std::string whole = render_journey_text(j, TextStyle{color, 100, true});
            std::ostringstream os;
            write_journey_text(j, TextStyle{color, 100, true}, os);
            EXPECT_GT(whole.size(), std::size_t{1} << 17) << name << ": too short to be flushed";
            EXPECT_EQ(os.str(), whole) << name << (color ? " in colour" : "");
        }
    }
}

TEST(JourneyOutputText, UnixSaysWhatItSkips) {
    auto text = render_journey_text(replay("journey-unix.jsonl"), TextStyle{});
    EXPECT_NE(text.find("no IP, no device"), std::string::npos);
    EXPECT_NE(text.find("never reach IP"), std::string::npos);
}

TEST(JourneyOutputText, LostEventsAreShouted) {
    auto text = render_journey_text(replay("journey-tcp-lost.jsonl"), TextStyle{});
    EXPECT_NE(text.find("lost events: 755  (ring buffer full"), std::string::npos);
}

TEST(JourneyOutputText, FlagsAsTcpdumpPrintsThem) {
    EXPECT_EQ(tcp_flags_text(model::kSyn), "S");
    EXPECT_EQ(tcp_flags_text(model::kSyn | model::kAck), "S.");
    EXPECT_EQ(tcp_flags_text(model::kPsh | model::kAck), "P.");
    EXPECT_EQ(tcp_flags_text(model::kFin | model::kAck), "F.");
    EXPECT_EQ(tcp_flags_text(model::kAck), ".");
}

}  // namespace
}  // namespace tpk::report
