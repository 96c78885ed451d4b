// Recordings: the comment lines on top of a recording carry the correlator's
// input that is not an event, and a whole recording reads back as that input.
#include "journey/recording.h"

#include <gtest/gtest.h>

#include <string>

#include "model/event_io.h"

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

}  // namespace
}  // namespace tpk::journey
