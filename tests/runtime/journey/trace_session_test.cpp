// `tracepacket trace` as a session a user runs (issue #12, items 1, 4, 5, 7):
// the packets that come after the traced command exits are still traced (or
// the cut is said), its own output stays apart from the command's, and a
// signal sent to tracepacket alone stops tracing but not the command.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/command_run.h"
#include "support/tool_process.h"

namespace tpk::testing {
namespace {

using nlohmann::json;
using namespace tpk::testing::tool;

#define TPK_SKIP_UNLESS_ROOT() \
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root"

std::vector<json> parse_lines(const std::string& text, std::string* error = nullptr) {
    std::vector<json> records;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        try {
            records.push_back(json::parse(line));
        } catch (const json::exception&) {
            if (error) *error = line;
            return {};
        }
    }
    return records;
}

// A server that answers each connection once and closes 5 ms after its
// client's FIN (as redis-server does), and a client that exits without
// close(): its FIN goes out while it exits, the server's FIN after that.
constexpr const char* kServer = R"(import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    a, _ = s.accept(); a.recv(10); a.send(b"pong"); a.recv(10); time.sleep(0.005); a.close()
)";
constexpr const char* kClient = R"(import socket, sys, os
c = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); c.send(b"ping"); c.recv(10)
os._exit(0)
)";

TEST(TraceSession, SigintToTracepacketAloneStopsTracingAndLeavesTheCommandRunning) {
    TPK_SKIP_UNLESS_ROOT();
    TempDir dir;
    pid_t tool = start_binary({"trace", "--json", "--ready-file", dir.path / "ready", "--",
                               "sleep", "30"},
                              dir.path);
    auto ready = wait_ready(dir.path / "ready", tool);
    ASSERT_TRUE(ready) << slurp(dir.path / "stderr");
    ASSERT_GT(ready->command, 0);
    ASSERT_EQ(kill(tool, SIGINT), 0);
    EXPECT_EQ(wait_exit(tool), 128 + SIGINT) << slurp(dir.path / "stderr");
    // The command runs on, untraced; tracepacket's programs are gone.
    EXPECT_EQ(kill(ready->command, 0), 0) << "the command did not outlive the detach";
    kill(ready->command, SIGKILL);
    expect_programs_gone(ready->programs);
    std::string bad;
    auto records = parse_lines(slurp(dir.path / "stdout"), &bad);
    ASSERT_FALSE(records.empty()) << "not JSON Lines: " << bad;
    const json& summary = records.back();
    ASSERT_EQ(summary.at("type"), "summary");
    ASSERT_TRUE(summary.contains("cut_short")) << summary.dump();
    const std::string cut = summary.at("cut_short");
    EXPECT_NE(cut.find("SIGINT"), std::string::npos) << cut;
    EXPECT_NE(cut.find("left running"), std::string::npos) << cut;
    EXPECT_NE(cut.find(std::to_string(ready->command)), std::string::npos) << cut;
}

TEST(TraceSession, JsonOnStdoutStaysJsonWhileTheCommandPrints) {
    TPK_SKIP_UNLESS_ROOT();
    auto r = run_command(std::string(TPK_BINARY) +
                         " trace --json -- sh -c 'echo command-says-hello; "
                         "python3 -c \"import socket; s=socket.socket(); s.bind((\\\"127.0.0.1\\\",0)); "
                         "s.listen(); c=socket.create_connection(s.getsockname()); "
                         "a,_=s.accept(); c.send(b\\\"x\\\"); a.recv(1)\"'");
    ASSERT_EQ(r.status, 0) << r.err;
    std::string bad;
    auto records = parse_lines(r.out, &bad);
    ASSERT_FALSE(records.empty()) << "a line of stdout is not JSON: " << bad;
    EXPECT_EQ(records.back().at("type"), "summary");
    EXPECT_GE(records.back().at("packets").get<int>(), 4);
    EXPECT_EQ(r.out.find("command-says-hello"), std::string::npos);
    EXPECT_NE(r.err.find("command-says-hello"), std::string::npos)
        << "the command's stdout should reach stderr: " << r.err;
}

TEST(TraceSession, OutputFileTakesTheJourneyAndStdoutStaysTheCommands) {
    TPK_SKIP_UNLESS_ROOT();
    TempDir dir;
    const auto file = dir.path / "journey.txt";
    auto r = run_command(std::string(TPK_BINARY) + " trace -o " + file.string() +
                         " -- echo command-says-hello");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "command-says-hello\n");
    const std::string text = slurp(file);
    // The header names the command and what was traced.
    EXPECT_EQ(text.rfind("tracepacket trace - echo command-says-hello (pid ", 0), 0) << text;
    EXPECT_NE(text.find("lost events: 0"), std::string::npos) << text;

    auto bad = run_command(std::string(TPK_BINARY) + " trace -o /nonexistent/dir/j.txt -- true");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("/nonexistent/dir/j.txt"), std::string::npos) << bad.err;
}

TEST(TraceSession, PacketsAfterTheCommandExitsAreTracedOrTheCutIsSaid) {
    TPK_SKIP_UNLESS_ROOT();
    TempDir dir;
    std::ofstream(dir.path / "server.py") << kServer;
    std::ofstream(dir.path / "client.py") << kClient;
    pid_t server = fork();
    if (server == 0) {
        execlp("python3", "python3", (dir.path / "server.py").c_str(),
               (dir.path / "port").c_str(), nullptr);
        _exit(127);
    }
    for (int i = 0; i < 100 && !fs::exists(dir.path / "port"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string port = slurp(dir.path / "port");
    if (port.empty()) {
        kill(server, SIGKILL);
        waitpid(server, nullptr, 0);
        FAIL() << "the python server did not start";
    }
    const std::string trace =
        std::string(TPK_BINARY) + " trace --json -p " + std::to_string(server) + " ";
    const std::string client = " -- python3 " + (dir.path / "client.py").string() + " " + port;
    // With the default linger: the whole conversation, both FINs and the
    // last ACK, nothing cut. Repeated: without the linger the server's FIN
    // was lost about 1 run in 10.
    for (int run = 0; run < 15; ++run) {
        auto r = run_command(trace + client);
        ASSERT_EQ(r.status, 0) << r.err;
        auto records = parse_lines(r.out);
        ASSERT_FALSE(records.empty()) << r.out;
        const json& summary = records.back();
        int fins = 0, packets = 0;
        for (const auto& p : records) {
            if (p.at("type") != "packet") continue;
            ++packets;
            if (p.at("tcp_flags").get<int>() & 0x01) ++fins;
        }
        EXPECT_EQ(fins, 2) << "run " << run << ": " << r.out;
        EXPECT_EQ(packets, 10) << "run " << run << ": " << r.out;
        EXPECT_EQ(summary.at("frames_matched"), summary.at("packets")) << summary.dump();
        EXPECT_FALSE(summary.contains("cut_short")) << summary.dump();
    }
    // --linger 0 stops at the client's exit, while its FIN's events still
    // arrive: the output says so.
    auto r = run_command(trace + "--linger 0" + client);
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
    ASSERT_EQ(r.status, 0) << r.err;
    auto records = parse_lines(r.out);
    ASSERT_FALSE(records.empty()) << r.out;
    ASSERT_TRUE(records.back().contains("cut_short")) << records.back().dump();
    EXPECT_NE(records.back().at("cut_short").get<std::string>().find("--linger"),
              std::string::npos);
}

// Issue #14: a journey streams. The command sends one message, sleeps three
// seconds and exits; its first packet is on tracepacket's stdout before the
// command wakes up (it leaves a file behind as it does), in text and JSON.
constexpr const char* kSendThenSleep = R"(import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.send(b"one message"); a.recv(100)
time.sleep(3)
open(sys.argv[1], "w").write("awake")
)";

TEST(TraceSession, FirstPacketIsOnStdoutBeforeTheCommandExits) {
    TPK_SKIP_UNLESS_ROOT();
    for (const std::string format : {"--json", "--brief"}) {  // --brief: text
        TempDir dir;
        std::ofstream(dir.path / "client.py") << kSendThenSleep;
        const auto awake = dir.path / "awake";
        pid_t tool = start_binary({"trace", format, "--", "python3",
                                   (dir.path / "client.py").string(), awake.string()},
                                  dir.path);
        // The first packet's line, in JSON a "packet" record, in text the
        // numbered packet heading ("#1 ").
        const std::string first_packet = format == "--json" ? "\"type\":\"packet\"" : "\n#1 ";
        bool seen = false, awake_when_seen = false;
        for (int i = 0; i < 200 && !seen; ++i) {
            if (slurp(dir.path / "stdout").find(first_packet) != std::string::npos) {
                seen = true;
                awake_when_seen = fs::exists(awake);
                break;
            }
            int status = 0;
            if (waitpid(tool, &status, WNOHANG) == tool) {
                tool = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (tool > 0) {
            EXPECT_EQ(wait_exit(tool), 0) << slurp(dir.path / "stderr");
        }
        const std::string out = slurp(dir.path / "stdout");
        EXPECT_TRUE(seen) << format << ": no packet on stdout within 10 s:\n" << out
                          << slurp(dir.path / "stderr");
        EXPECT_FALSE(awake_when_seen)
            << format << ": the first packet came out only after the command's sleep";
        EXPECT_TRUE(fs::exists(awake)) << "the command did not finish";
        if (format == "--json") {
            auto records = parse_lines(out);
            ASSERT_FALSE(records.empty()) << out;
            EXPECT_EQ(records.back().at("type"), "summary");
            EXPECT_EQ(records.back().at("frames_matched"), records.back().at("packets"));
        }
    }
}

// --max-held: records beyond the cap are dropped, and the output says how
// many (a bounded memory, not a silent loss); a cap below 1000 is refused.
// One process, 2000 one-byte round trips over TCP on lo, as fast as Python
// goes: 8000 packets, no pause for a quiet cut.
constexpr const char* kPingPong2000 =
    "python3 -c 'import socket\n"
    "s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen()\n"
    "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
    "for i in range(2000):\n"
    "    c.send(b\"x\"); a.recv(1); a.send(b\"y\"); c.recv(1)\n'";

TEST(TraceSession, MaxHeldDropsBeyondTheCapAndSaysSo) {
    TPK_SKIP_UNLESS_ROOT();
    auto r = run_command(std::string(TPK_BINARY) + " trace --json --no-stream --max-held 1000 -- " +
                         kPingPong2000);
    ASSERT_EQ(r.status, 0) << r.err;
    auto records = parse_lines(r.out);
    ASSERT_FALSE(records.empty()) << r.out;
    const json& summary = records.back();
    std::string note;
    for (const auto& n : summary.at("notes"))
        if (n.get<std::string>().find("--max-held") != std::string::npos) note = n;
    ASSERT_FALSE(note.empty()) << summary.dump();
    EXPECT_GT(std::stoull(note), 0u) << note;   // "N kernel records were dropped: ..."
    // Fewer packets than the 8000 the conversation had: the dropped ones.
    EXPECT_LT(summary.at("packets").get<int>(), 8000);

    auto bad = run_command(std::string(TPK_BINARY) + " trace --max-held 5 -- true");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("--max-held"), std::string::npos) << bad.err;
}

// Records still held when tracing ends (the traffic left no quiet time to
// cut, nor a second) are converted and correlated in slices
// (--finish-slice: here 3000 events, 500,000 by default), each written while
// the next is correlated. No packet may be lost or shown twice: every
// number once, every byte of the 2000 each way once, every frame matched.
TEST(TraceSession, RecordsHeldAtTheEndAreCorrelatedInSlicesNoneLostOrShownTwice) {
    TPK_SKIP_UNLESS_ROOT();
    auto r = run_command(std::string(TPK_BINARY) + " trace --json --finish-slice 3000 -- " +
                         kPingPong2000);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string bad_line;
    auto records = parse_lines(r.out, &bad_line);
    ASSERT_FALSE(records.empty()) << "not JSON Lines: " << bad_line;
    // Streamed: packets come before the connection record (correlated whole,
    // a journey starts with its connections).
    std::size_t first_packet = records.size(), connection = records.size();
    std::set<std::uint64_t> numbers;
    std::uint64_t packets = 0, bytes_out = 0, bytes_back = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& rec = records[i];
        const auto type = rec.at("type").get<std::string>();
        if (type == "connection" && connection == records.size()) connection = i;
        if (type != "packet") continue;
        if (first_packet == records.size()) first_packet = i;
        ++packets;
        EXPECT_TRUE(numbers.insert(rec.at("index").get<std::uint64_t>()).second)
            << "packet shown twice: " << rec.dump().substr(0, 300);
        EXPECT_FALSE(rec.at("frame").is_null()) << rec.dump().substr(0, 300);
        const auto len = rec.at("payload_len").get<std::uint64_t>();
        (rec.at("direction") == "client_to_server" ? bytes_out : bytes_back) += len;
    }
    EXPECT_LT(first_packet, connection) << "correlated whole, not in slices";
    const json& summary = records.back();
    ASSERT_EQ(summary.at("type"), "summary");
    EXPECT_EQ(summary.at("lost_events"), 0) << summary.dump();
    EXPECT_EQ(summary.at("packets").get<std::uint64_t>(), packets);
    EXPECT_EQ(numbers.size(), packets);
    if (!numbers.empty()) {
        EXPECT_EQ(*numbers.rbegin(), packets - 1);
    }
    EXPECT_EQ(bytes_out, 2000u);
    EXPECT_EQ(bytes_back, 2000u);
}

}  // namespace
}  // namespace tpk::testing
