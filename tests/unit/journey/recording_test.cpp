// Recordings: the comment lines on top of a recording carry the correlator's
// input that is not an event, a whole recording reads back as that input, and
// a file written by --record-raw reads back as `journey --replay` reads it.
#include "journey/recording.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "model/event_io.h"
#include "support/recordings.h"

namespace tpk::journey {
namespace {

TEST(RecordingHeader, RoundTrips) {
    CorrelatorInput in;
    in.lost_events = 7;
    in.capture_dropped = 2;
    in.transport = "udp6";
    in.server_port = 4242;
    in.processes = {{10, "srv", Role::server}, {11, "cli", Role::client}};
    CorrelatorInput out;
    read_recording_header(recording_header(in), out);
    EXPECT_EQ(out.lost_events, 7u);
    EXPECT_EQ(out.capture_dropped, 2u);
    EXPECT_EQ(out.transport, "udp6");
    EXPECT_EQ(out.server_port, 4242);
    ASSERT_EQ(out.processes.size(), 2u);
    EXPECT_EQ(out.processes[1].pid, 11u);
    EXPECT_EQ(out.processes[1].role, Role::client);
    EXPECT_EQ(out.processes[0].comm, "srv");
}

TEST(RecordedCounter, ZeroWhenAbsent) {
    EXPECT_EQ(recorded_counter("# lost_events 12\n", "lost_events"), 12u);
    EXPECT_EQ(recorded_counter("# lost_events 12\n", "capture_dropped"), 0u);
}

TEST(ParseRecording, HeaderThenEvents) {
    model::Event e;
    e.kind = model::EventKind::syscall_enter;
    e.pid = 10;
    e.syscall = "sendto";
    CorrelatorInput in;
    in.transport = "tcp";
    in.lost_events = 3;
    auto parsed = parse_recording(recording_header(in) + model::event_to_json_line(e) + "\n");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed->transport, "tcp");
    EXPECT_EQ(parsed->lost_events, 3u);
    ASSERT_EQ(parsed->events.size(), 1u);
    EXPECT_EQ(parsed->events[0].syscall, "sendto");
    EXPECT_FALSE(parse_recording("not json\n").ok());
}

// `journey --replay FILE` reads a recording as the tests do, marked as a
// kernel-traced run; a missing or broken file is one error naming it.
TEST(JourneyReplay, ReadsTheRecordingAsTheTestsDo) {
    auto rec = read_recording(testing::kRecordings + "journey-tcp.jsonl");
    ASSERT_TRUE(rec.ok()) << rec.error().message();
    EXPECT_TRUE(rec->kernel_traced);
    EXPECT_EQ(rec->realtime_offset_ns, 0);
    EXPECT_EQ(rec->input.events.size(), testing::recording("journey-tcp.jsonl").events.size());
    EXPECT_FALSE(rec->input.events.empty());
    auto missing = read_recording("/nonexistent/recording.jsonl");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("/nonexistent/recording.jsonl"), std::string::npos);
}

// What --record-raw writes reads back: the header, every event, frames cut
// to their first 256 bytes with the wire length kept.
TEST(WriteRecording, ReadsBackWithFramesCut) {
    Recording r;
    r.input.transport = "udp";
    r.input.server_port = 9000;
    r.input.lost_events = 1;
    model::Event frame;
    frame.kind = model::EventKind::frame;
    frame.link_type = 1;
    frame.frame.assign(1000, 0xab);
    model::Event small = frame;
    small.frame.assign(60, 0xcd);
    small.skb_len = 60;
    r.input.events = {frame, small};
    const std::string path = ::testing::TempDir() + "tpk-recording-" +
                             std::to_string(::getpid()) + ".jsonl";
    ASSERT_TRUE(write_recording(r, path).ok());
    auto back = read_recording(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->input.transport, "udp");
    EXPECT_EQ(back->input.server_port, 9000);
    EXPECT_EQ(back->input.lost_events, 1u);
    ASSERT_EQ(back->input.events.size(), 2u);
    EXPECT_EQ(back->input.events[0].frame.size(), 256u);
    EXPECT_EQ(back->input.events[0].skb_len, 1000u);
    EXPECT_EQ(back->input.events[1].frame, small.frame);
    EXPECT_EQ(back->input.events[1].skb_len, 60u);
    EXPECT_FALSE(write_recording(r, "/nonexistent/dir/x.jsonl").ok());
}

}  // namespace
}  // namespace tpk::journey
