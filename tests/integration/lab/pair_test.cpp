// run_pair: server and client in two forked processes, synced on a pipe,
// both reaped, failures reported by side, nothing left running.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "lab/client.h"
#include "lab/pair.h"
#include "lab/server.h"
#include "lab/signals.h"

namespace tpk::lab {
namespace {

// A tcp server on a free port; count 0 serves until SIGTERM.
ServerMain tcp_server(std::uint64_t count) {
    return [count](const ReadyCallback& ready) -> Result<int> {
        auto stop = SignalStop::open();
        if (!stop) return stop.error();
        ServerOptions opts;
        opts.address = *parse_address(Transport::tcp, "0");
        opts.count = count;
        ServerEvents events;
        events.on_listening = ready;
        auto summary = run_server(opts, stop->fd(), events);
        if (!summary) return summary.error();
        // Exit code 10 + messages: lets the test see what the server did.
        return 10 + static_cast<int>(summary->messages);
    };
}

Result<int> hello_client(const Address& server) {
    ClientOptions opts;
    opts.address = server;
    auto summary = run_client(opts);
    if (!summary) return summary.error();
    return 0;
}

TEST(RunPair, ServerAnswersTheClientInAnotherProcess) {
    auto r = run_pair(tcp_server(1), hello_client);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, 11);  // the server answered exactly one message
}

TEST(RunPair, ClientGetsTheBoundAddressAndItsOwnPid) {
    int parent = ::getpid();
    PairPids seen;
    PairHooks hooks;
    hooks.on_started = [&](const PairPids& p) {
        seen = p;
        return Status{};
    };
    auto r = run_pair(tcp_server(1),
                      [parent](const Address& a) -> Result<int> {
                          if (::getpid() == parent) return make_error("client ran in the parent");
                          if (a.to_string().rfind("127.0.0.1:", 0) != 0 ||
                              a.to_string() == "127.0.0.1:0")
                              return make_error("got address " + a.to_string());
                          return hello_client(a);
                      },
                      hooks);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_GT(seen.server, 0);
    EXPECT_GT(seen.client, 0);
    EXPECT_NE(seen.server, seen.client);
    EXPECT_NE(seen.server, parent);
}

// on_started runs while both children are still held: neither has run its
// main yet (the journey starts its tracer's threads there and needs the
// children's first system call traced).
TEST(RunPair, ChildrenWaitForOnStarted) {
    char dir_template[] = "/tmp/tpk-pair-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    auto mark = [&](const std::string& name) {
        return ::close(::open((dir + "/" + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    };
    auto exists = [&](const std::string& name) {
        return ::access((dir + "/" + name).c_str(), F_OK) == 0;
    };
    bool server_ran_early = true, client_ran_early = true;
    PairHooks hooks;
    hooks.on_started = [&](const PairPids&) {
        ::usleep(100 * 1000);  // room for a child that did not wait to get going
        server_ran_early = exists("server");
        client_ran_early = exists("client");
        return Status{};
    };
    auto server = tcp_server(1);
    auto r = run_pair(
        [&](const ReadyCallback& ready) -> Result<int> {
            mark("server");
            return server(ready);
        },
        [&](const Address& a) -> Result<int> {
            mark("client");
            return hello_client(a);
        },
        hooks);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_FALSE(server_ran_early);
    EXPECT_FALSE(client_ran_early);
    EXPECT_TRUE(exists("server"));
    EXPECT_TRUE(exists("client"));
    std::filesystem::remove_all(dir);
}

TEST(RunPair, OnStartedFailingEndsBothChildren) {
    PairPids seen;
    PairHooks hooks;
    hooks.on_started = [&](const PairPids& p) -> Status {
        seen = p;
        return make_error("tracer refused");
    };
    auto r = run_pair(tcp_server(0), [](const Address&) -> Result<int> { return 0; }, hooks);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "tracer refused");
    // Both reaped: neither pid is a child of ours any more.
    EXPECT_EQ(::waitpid(seen.server, nullptr, WNOHANG), -1);
    EXPECT_EQ(::waitpid(seen.client, nullptr, WNOHANG), -1);
}

TEST(RunPair, ServerFailingBeforeReadyIsReported) {
    auto r = run_pair([](const ReadyCallback&) -> Result<int> { return make_error("boom"); },
                      [](const Address&) -> Result<int> { return 0; });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "server: boom");
}

TEST(RunPair, FailedClientStopsTheServer) {
    // The server would run forever (count 0); the client's failure must end it.
    auto r = run_pair(tcp_server(0),
                      [](const Address&) -> Result<int> { return make_error("no luck"); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "client: no luck");
}

TEST(RunPair, ExitCodeIsTheLargerOfTheTwo) {
    auto r = run_pair(tcp_server(1), [](const Address& a) -> Result<int> {
        auto code = hello_client(a);
        if (!code) return code;
        return 42;
    });
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, 42);
}

}  // namespace
}  // namespace tpk::lab
