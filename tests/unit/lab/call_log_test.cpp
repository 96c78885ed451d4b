// The lab's user-space call log: each call becomes the syscall_enter and
// syscall_exit events the tracer would report, read back whole and in order.
#include "lab/call_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace tpk::lab {
namespace {

TEST(CallLog, ACallReadsBackAsItsEnterAndExit) {
    auto log = CallLog::create("tpk-test-log");
    ASSERT_TRUE(log.ok()) << log.error().message();
    TimedCall c;
    c.name = "sendto";
    c.fd = 5;
    c.size = 18;
    c.flags = 0x40;
    c.enter_ns = 100;
    c.exit_ns = 150;
    c.ret = 18;
    log->write_call(c);
    auto events = log->read_events();
    ASSERT_TRUE(events.ok()) << events.error().message();
    ASSERT_EQ(events->size(), 2u);
    const auto& enter = (*events)[0];
    const auto& exit = (*events)[1];
    EXPECT_EQ(enter.kind, model::EventKind::syscall_enter);
    EXPECT_EQ(exit.kind, model::EventKind::syscall_exit);
    EXPECT_EQ(enter.t_ns, 100u);
    EXPECT_EQ(exit.t_ns, 150u);
    EXPECT_EQ(exit.ret, 18);
    for (const auto& e : *events) {
        EXPECT_EQ(e.pid, static_cast<std::uint32_t>(::getpid()));
        EXPECT_EQ(e.tid, e.pid);
        EXPECT_EQ(e.syscall, "sendto");
        EXPECT_EQ(e.fd, 5);
        EXPECT_EQ(e.size, 18u);
        EXPECT_EQ(e.flags, 0x40u);
    }
}

TEST(CallLog, RecordsTheLabsCallsThenCallsAfter) {
    auto log = CallLog::create("tpk-test-log");
    ASSERT_TRUE(log.ok());
    int seen = 0;
    log->record_calls([&](const TimedCall& c) {
        ++seen;
        EXPECT_EQ(std::string(c.name), "getpid");
    });
    timed_call("getpid", -1, 0, [] { return static_cast<long>(::getpid()); });
    observe_calls({});
    timed_call("getpid", -1, 0, [] { return static_cast<long>(::getpid()); });  // not recorded
    EXPECT_EQ(seen, 1);
    auto events = log->read_events();
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->size(), 2u);
    // Read twice: the log rewinds.
    EXPECT_EQ(log->read_events()->size(), 2u);
}

}  // namespace
}  // namespace tpk::lab
