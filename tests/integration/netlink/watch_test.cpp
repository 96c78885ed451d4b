// `sockets --watch` by polling (forced with --interval): it reports the
// connection appearing established and the closing side leaving ESTAB, and
// stops cleanly on Ctrl-C. Polling cannot promise the short states
// (SYN-SENT, FIN-WAIT-*), so the test does not ask for them.
#include <gtest/gtest.h>

#include "integration/netlink/watch_scenario.h"

namespace tpk::test {
namespace {

TEST(WatchPolling, SeesTheConnectionComeAndTheClientClose) {
    WatchRun run = run_watch_scenario({"--interval", "0.02"});
    ASSERT_EQ(run.source, "poll");
    EXPECT_TRUE(run.saw_established) << "no ESTAB change for the client port " << run.client_port;
    EXPECT_TRUE(run.saw_close) << "no closing change for the client port " << run.client_port;
    bool new_established = false;
    for (const auto& c : run.changes) {
        EXPECT_EQ(c["source"], "poll");
        new_established |= c["local"]["port"] == run.client_port && c["from"] == "(new)" &&
                           c["to"] == "ESTAB";
    }
    EXPECT_TRUE(new_established);
    EXPECT_EQ(run.exit_code, 0) << "Ctrl-C ends --watch with status 0";
}

}  // namespace
}  // namespace tpk::test
