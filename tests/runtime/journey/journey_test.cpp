// `tracepacket journey --json` and `tracepacket trace --json` as users run
// them, as root: real BPF, real capture on lo, real lab processes. Every
// check compares the journey with the capture of the same run or with facts
// of the protocol; none depends on timing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/json_lines.h"

namespace {

using nlohmann::json;

using Output = tpk::testing::JsonLinesOutput;

Output run_tracepacket(const std::string& args) {
    return tpk::testing::run_json_lines(std::string(TPK_BINARY) + " " + args);
}

bool is_root() { return geteuid() == 0; }

#define REQUIRE_ROOT() \
    if (!is_root()) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root"

// The first hop named `event` on the given side, or null.
const json* find_hop(const json& packet, const std::string& event, const std::string& side) {
    for (const auto& h : packet.at("hops"))
        if (h.at("event") == event && h.at("side") == side) return &h;
    return nullptr;
}

// The lab's UNIX socket files (/tmp/tracepacket-journey-<transport>-<pid>.sock)
// whose journey process is gone: leftovers. Files of journeys still running
// (another test's, in a parallel ctest) are theirs to remove.
std::vector<std::string> leftover_journey_sockets() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator("/tmp")) {
        std::string name = e.path().filename().string();
        if (name.rfind("tracepacket-journey-", 0) != 0) continue;
        auto dash = name.rfind('-'), dot = name.rfind(".sock");
        if (dash == std::string::npos || dot == std::string::npos || dot < dash) continue;
        pid_t pid = std::atoi(name.substr(dash + 1, dot - dash - 1).c_str());
        if (pid > 0 && ::kill(pid, 0) == 0) continue;
        out.push_back(e.path().string());
    }
    return out;
}

std::vector<std::string> state_changes(const Output& r, const std::string& role) {
    std::vector<std::string> out;
    for (const auto& s : r.of("state"))
        if (s.at("role") == role)
            out.push_back(s.at("old").get<std::string>() + ">" + s.at("new").get<std::string>());
    return out;
}

// want appears in have in this order (other changes may sit between).
bool in_order(const std::vector<std::string>& have, const std::vector<std::string>& want) {
    std::size_t k = 0;
    for (const auto& h : have)
        if (k < want.size() && h == want[k]) ++k;
    return k == want.size();
}

void expect_schema(const Output& r) {
    ASSERT_FALSE(r.records.empty()) << r.raw;
    for (const auto& rec : r.records) EXPECT_EQ(rec.at("schema_version"), 1) << rec.dump();
    EXPECT_EQ(r.summary().at("type"), "summary");
}

// Every packet matched one to one with a captured frame, in capture order,
// and the capture saw nothing else.
void expect_packets_equal_capture(const Output& r) {
    auto packets = r.of("packet");
    const auto& s = r.summary();
    EXPECT_EQ(packets.size(), s.at("frames").get<std::size_t>()) << r.raw;
    EXPECT_EQ(s.at("frames_matched").get<std::size_t>(), packets.size());
    EXPECT_TRUE(r.of("frame").empty()) << "captured frames that no traced packet explains";
    std::set<std::size_t> frames;
    long last = -1;
    for (const auto& p : packets) {
        ASSERT_FALSE(p.at("frame").is_null()) << p.dump();
        const auto& f = p.at("frame");
        auto index = f.at("index").get<long>();
        EXPECT_TRUE(frames.insert(static_cast<std::size_t>(index)).second);
        EXPECT_GT(index, last) << "journey order differs from capture order";
        last = index;
        EXPECT_EQ(f.at("payload_len"), p.at("payload_len"));
        EXPECT_EQ(f.at("seq"), p.at("seq"));
        EXPECT_EQ(f.at("ack"), p.at("ack"));
        EXPECT_EQ(f.at("flow").at("src"), p.at("flow").at("src"));
        EXPECT_EQ(f.at("flow").at("dst"), p.at("flow").at("dst"));
    }
}

// send syscall -> device transmit -> device receive -> TCP receive -> copy to
// user -> receive syscall, in non-decreasing time.
void expect_full_path(const json& p, const std::vector<std::pair<std::string, std::string>>& path) {
    std::uint64_t last = 0;
    for (const auto& [event, side] : path) {
        const json* h = find_hop(p, event, side);
        ASSERT_NE(h, nullptr) << "no " << side << " " << event << " in " << p.dump();
        auto t = h->at("t_ns").get<std::uint64_t>();
        EXPECT_GE(t, last) << event << " before the previous hop in " << p.dump();
        last = t;
    }
}

TEST(JourneyRuntime, DefaultTcpRunMatchesItsCaptureHopByHop) {
    REQUIRE_ROOT();
    auto r = run_tracepacket("journey --json");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    expect_schema(r);
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("partial"), false);
    expect_packets_equal_capture(r);

    auto packets = r.of("packet");
    ASSERT_GE(packets.size(), 7u);  // 3 handshake + 2 data + FINs (and ACKs)
    EXPECT_EQ(packets[0].at("flags"), "S");
    EXPECT_EQ(packets[1].at("flags"), "S.");
    EXPECT_EQ(packets[2].at("flags"), ".");
    std::size_t data = 0;
    for (const auto& p : packets) {
        if (p.at("kind") != "data") continue;
        ++data;
        EXPECT_EQ(p.at("cause"), "syscall");
        expect_full_path(p, {{"syscall_enter", "send"},
                             {"net_dev_start_xmit", "send"},
                             {"netif_receive_skb", "receive"},
                             {"skb_copy_datagram_iovec", "receive"},
                             {"syscall_exit", "receive"}});
        // TCP's receive: tcp_probe (tcp_rcv_established), or, for a segment
        // that reaches the server before its handshake completed (slow
        // machines), the state change tcp_rcv_state_process() makes instead.
        EXPECT_TRUE(find_hop(p, "tcp_probe", "receive") ||
                    find_hop(p, "inet_sock_set_state", "receive"))
            << p.dump();
    }
    EXPECT_EQ(data, 2u);  // the message and the reply

    EXPECT_TRUE(in_order(state_changes(r, "client"), {"CLOSE>SYN-SENT", "SYN-SENT>ESTABLISHED"}))
        << r.raw;
    EXPECT_TRUE(in_order(state_changes(r, "server"),
                         {"CLOSE>LISTEN", "LISTEN>SYN-RECV", "SYN-RECV>ESTABLISHED"}))
        << r.raw;
}

// Issue #14: a long lab run goes the way a long trace does. Its records are
// held raw while the lab runs (converting each as it came lost 192,442 of a
// 20,000-message run's events to a full ring), and the run is printed in
// parts: cut every second while it runs, and what is left at the end in
// slices (--finish-slice, here 20,000 events), so parts come whatever the
// timing. Nothing may be lost or shown twice: every number once, every
// message each way once, every frame matched.
TEST(JourneyRuntime, LongRunIsStreamedAndLosesNothing) {
    REQUIRE_ROOT();
    constexpr int kCount = 20000;
    auto r = run_tracepacket("journey --json --finish-slice 20000 --count " +
                             std::to_string(kCount));
    ASSERT_EQ(r.exit_code, 0) << r.raw.substr(0, 2000);
    ASSERT_FALSE(r.records.empty()) << r.raw.substr(0, 2000);
    const json& summary = r.summary();
    ASSERT_EQ(summary.at("type"), "summary");
    EXPECT_EQ(summary.at("lost_events"), 0) << summary.dump();
    EXPECT_EQ(summary.at("capture_dropped"), 0) << summary.dump();
    EXPECT_EQ(summary.at("frames_matched"), summary.at("packets")) << summary.dump();
    EXPECT_TRUE(summary.at("notes").empty()) << summary.dump();
    // Streamed: packets come before the connection record (correlated whole,
    // a journey starts with its connections), and a part's calls after the
    // packets of the part before.
    std::size_t first_packet = r.records.size(), connection = r.records.size();
    std::size_t parts = 1;
    std::set<std::uint64_t> numbers;
    std::uint64_t out = 0, back = 0;
    for (std::size_t i = 0; i < r.records.size(); ++i) {
        const auto& rec = r.records[i];
        const auto type = rec.at("type").get<std::string>();
        if (type == "connection" && connection == r.records.size()) connection = i;
        if (type == "syscall" && i > 0 && r.records[i - 1].at("type") == "packet") ++parts;
        if (type != "packet") continue;
        if (first_packet == r.records.size()) first_packet = i;
        EXPECT_TRUE(numbers.insert(rec.at("index").get<std::uint64_t>()).second)
            << "packet shown twice: " << rec.dump().substr(0, 300);
        if (rec.at("kind") != "data") continue;
        (rec.at("direction") == "client_to_server" ? out : back) += 1;
    }
    EXPECT_LT(first_packet, connection) << "correlated whole, not in parts";
    EXPECT_GE(parts, 3u);
    EXPECT_EQ(numbers.size(), summary.at("packets").get<std::size_t>());
    ASSERT_FALSE(numbers.empty());
    EXPECT_EQ(*numbers.rbegin() + 1, numbers.size()) << "numbered 0..N-1 without a gap";
    EXPECT_EQ(out, static_cast<std::uint64_t>(kCount));
    EXPECT_EQ(back, static_cast<std::uint64_t>(kCount));
    // The route as rtnetlink answered it, with the kernel's lookups, as
    // the whole journey has it.
    auto routes = r.of("route");
    ASSERT_EQ(routes.size(), 1u) << r.raw.substr(0, 2000);
    EXPECT_EQ(routes[0].at("answered"), true) << routes[0].dump().substr(0, 400);
    EXPECT_EQ(routes[0].at("destination"), "127.0.0.1");
    EXPECT_EQ(routes[0].at("dev"), "lo");
    EXPECT_FALSE(routes[0].at("lookups").empty());
}

TEST(JourneyRuntime, SyscallsOfBothSidesAndTheRoute) {
    REQUIRE_ROOT();
    auto r = run_tracepacket("journey --json --message ping --reply pong");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    std::map<std::string, std::vector<std::string>> calls;
    for (const auto& s : r.of("syscall"))
        calls[s.at("role").get<std::string>()].push_back(s.at("name").get<std::string>());
    auto has = [&](const std::string& role, const std::string& name) {
        const auto& v = calls[role];
        return std::find(v.begin(), v.end(), name) != v.end();
    };
    EXPECT_TRUE(has("server", "listen"));
    EXPECT_TRUE(has("server", "accept4") || has("server", "accept"));
    EXPECT_TRUE(has("client", "connect"));
    auto routes = r.of("route");
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(routes[0].at("destination"), "127.0.0.1");
    EXPECT_EQ(routes[0].at("dev"), "lo");
    // "ping" and "pong" travel framed: 4 + 4 bytes each way.
    for (const auto& p : r.of("packet"))
        if (p.at("kind") == "data") {
            EXPECT_EQ(p.at("payload_len"), 8);
        }
}

TEST(JourneyRuntime, UdpHasNoHandshakeAndNoStates) {
    REQUIRE_ROOT();
    auto r = run_tracepacket("journey --json --transport udp");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    expect_schema(r);
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    expect_packets_equal_capture(r);
    auto packets = r.of("packet");
    ASSERT_EQ(packets.size(), 2u);
    for (const auto& p : packets) {
        EXPECT_EQ(p.at("kind"), "datagram");
        EXPECT_EQ(p.at("flow").at("protocol"), "udp");
        expect_full_path(p, {{"syscall_enter", "send"},
                             {"net_dev_start_xmit", "send"},
                             {"netif_receive_skb", "receive"},
                             {"syscall_exit", "receive"}});
    }
    EXPECT_TRUE(r.of("state").empty());
}

TEST(JourneyRuntime, UnixHasNoIpOrDeviceHops) {
    REQUIRE_ROOT();
    for (const char* t : {"unix", "unix-dgram"}) {
        SCOPED_TRACE(t);
        auto r = run_tracepacket(std::string("journey --json --transport ") + t);
        ASSERT_EQ(r.exit_code, 0) << r.raw;
        expect_schema(r);
        EXPECT_EQ(r.summary().at("lost_events"), 0);
        auto packets = r.of("packet");
        ASSERT_EQ(packets.size(), 2u) << r.raw;
        for (const auto& p : packets) {
            EXPECT_EQ(p.at("kind"), "message");
            EXPECT_TRUE(p.at("frame").is_null());
            for (const auto& h : p.at("hops")) {
                EXPECT_NE(h.at("layer"), "network");
                EXPECT_NE(h.at("layer"), "device");
                EXPECT_NE(h.at("layer"), "receive");
                EXPECT_NE(h.at("layer"), "transport");
            }
            expect_full_path(p, {{"syscall_enter", "send"},
                                 {"skb_copy_datagram_iovec", "receive"},
                                 {"syscall_exit", "receive"}});
        }
        EXPECT_TRUE(r.of("route").empty());
        // The lab's socket file is gone.
        EXPECT_EQ(leftover_journey_sockets(), std::vector<std::string>{});
    }
}

// Without BPF privileges: say which capability is missing, then show what
// still works (user-space syscall times, a sock_diag snapshot, the route),
// marked partial - never an empty journey passed off as complete.
TEST(JourneyRuntime, UnprivilegedRunIsPartialAndSaysWhy) {
    REQUIRE_ROOT();  // to become an unprivileged user
    if (system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "needs setpriv";
    auto r = tpk::testing::run_json_lines(
        "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
        std::string(TPK_BINARY) + " journey --json");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    expect_schema(r);
    const auto& s = r.summary();
    EXPECT_EQ(s.at("partial"), true);
    std::string reasons = s.at("partial_reasons").dump();
    EXPECT_NE(reasons.find("CAP_BPF"), std::string::npos) << reasons;
    EXPECT_TRUE(r.of("packet").empty());
    std::set<std::string> calls;
    for (const auto& c : r.of("syscall"))
        calls.insert(c.at("role").get<std::string>() + "/" + c.at("name").get<std::string>());
    EXPECT_TRUE(calls.count("client/connect")) << r.raw;
    EXPECT_TRUE(calls.count("server/accept4")) << r.raw;
    EXPECT_TRUE(calls.count("client/sendto")) << r.raw;
    // The real lab server and client ran: its epoll loop and both closes.
    EXPECT_TRUE(calls.count("server/epoll_wait")) << r.raw;
    EXPECT_TRUE(calls.count("server/recvfrom")) << r.raw;
    EXPECT_TRUE(calls.count("server/close")) << r.raw;
    EXPECT_TRUE(calls.count("client/close")) << r.raw;
    std::set<std::string> states;
    for (const auto& v : r.of("socket"))
        states.insert(v.at("role").get<std::string>() + "/" + v.at("state").get<std::string>());
    EXPECT_TRUE(states.count("server/LISTEN")) << r.raw;
    EXPECT_TRUE(states.count("client/ESTABLISHED")) << r.raw;
    ASSERT_EQ(r.of("route").size(), 1u);
    EXPECT_EQ(r.of("route")[0].at("dev"), "lo");
}

// trace -p without BPF privileges: one sock_diag snapshot of the process's
// sockets (a listener, both ends of a connection to it) and their route,
// marked partial. Both run as nobody, so /proc/PID/fd names the owner.
TEST(JourneyRuntime, UnprivilegedTraceOfAPidShowsItsSockets) {
    REQUIRE_ROOT();  // to become an unprivileged user
    if (system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "needs setpriv";
    if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
    const std::string nobody =
        "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ";
    char ready[] = "/tmp/tpk-trace-p-XXXXXX";
    int fd = mkstemp(ready);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ::chmod(ready, 0666);
    ::unlink(ready);
    std::string script =
        "import os,socket,sys,time\n"
        "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n"
        "c=socket.create_connection(s.getsockname()); a=s.accept()\n"
        "open(sys.argv[1],'w').write(str(os.getpid())); time.sleep(30)\n";
    FILE* owner = popen((nobody + "/usr/bin/python3 -c \"" + script + "\" " + ready).c_str(), "r");
    ASSERT_NE(owner, nullptr);
    std::string pid;
    for (int i = 0; i < 100 && pid.empty(); ++i) {
        ::usleep(50 * 1000);
        FILE* f = fopen(ready, "r");
        if (!f) continue;
        char buf[32] = {};
        if (fgets(buf, sizeof buf, f)) pid = buf;
        fclose(f);
    }
    auto r = tpk::testing::run_json_lines(nobody + TPK_BINARY + " trace --json -p " + pid);
    if (!pid.empty()) ::kill(std::atoi(pid.c_str()), SIGTERM);
    pclose(owner);
    ::unlink(ready);
    ASSERT_FALSE(pid.empty()) << "the python process never said it was ready";
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    expect_schema(r);
    EXPECT_EQ(r.summary().at("partial"), true);
    EXPECT_TRUE(r.of("packet").empty());
    std::map<std::string, int> states;
    for (const auto& v : r.of("socket")) ++states[v.at("state").get<std::string>()];
    EXPECT_EQ(states["LISTEN"], 1) << r.raw;
    EXPECT_EQ(states["ESTABLISHED"], 2) << r.raw;
    ASSERT_EQ(r.of("route").size(), 1u) << r.raw;
    EXPECT_EQ(r.of("route")[0].at("dev"), "lo");
}

TEST(JourneyRuntime, CompareRunsEachTransport) {
    REQUIRE_ROOT();
    auto r = run_tracepacket("journey --json --compare tcp,unix");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    std::vector<std::string> transports;
    for (const auto& s : r.of("summary")) transports.push_back(s.at("transport"));
    EXPECT_EQ(transports, (std::vector<std::string>{"tcp", "unix"}));
    // 200 messages each by default (a comparison of cold starts said nothing
    // about the transports): 200 data packets each way.
    for (const auto& s : r.of("summary")) EXPECT_EQ(s.at("data_packets"), 400) << s.dump();
}

// The text: the median and spread without warm-up, the untraced figure
// beside it, and which is faster both ways, with the reason when they
// disagree. Which one is faster is a timing, so it is printed, not asserted
// (docs/performance.md, "journey --compare").
TEST(JourneyRuntime, CompareShowsSpreadWarmupAndTheUntracedDirection) {
    REQUIRE_ROOT();
    auto r = run_tracepacket("journey --compare tcp,unix --count 50");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    for (const char* row : {"one way µs (median)", "p25 - p75 µs", "untraced one way µs"})
        EXPECT_NE(r.raw.find(row), std::string::npos) << row << "\n" << r.raw;
    // 100 one-way samples each (50 each way), the first tenth left out.
    EXPECT_NE(r.raw.find("90 (10)"), std::string::npos) << r.raw;
    auto fastest = r.raw.find("fastest traced: ");
    ASSERT_NE(fastest, std::string::npos) << r.raw;
    const std::string line = r.raw.substr(fastest, r.raw.find('\n', fastest) - fastest);
    EXPECT_NE(line.find("untraced (a ping-pong as `tracepacket bench` runs it): "),
              std::string::npos) << line;
    const std::string traced = line.substr(16, line.find(';') - 16);
    const std::string untraced = line.substr(line.rfind(' ') + 1);
    if (traced != untraced)
        EXPECT_NE(r.raw.find("They disagree:"), std::string::npos) << r.raw;
    else
        EXPECT_EQ(r.raw.find("They disagree:"), std::string::npos) << r.raw;
}

// A port nobody listens on now, for the HTTP server.
int free_tcp_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

bool can_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

std::string fmt_args(pid_t server, int port) {
    return "trace --json -p " + std::to_string(server) +
           " -- curl -s -o /dev/null http://127.0.0.1:" + std::to_string(port) + "/";
}

// curl against `python3 -m http.server`: programs nobody here wrote, both
// traced, the request and the response followed end to end.
TEST(TraceRuntime, CurlAgainstPythonHttpServer) {
    REQUIRE_ROOT();
    if (system("command -v curl >/dev/null && command -v python3 >/dev/null") != 0)
        GTEST_SKIP() << "needs curl and python3 (scripts/install-deps)";
    int port = free_tcp_port();
    pid_t server = fork();
    if (server == 0) {
        freopen("/dev/null", "w", stderr);
        freopen("/dev/null", "w", stdout);
        execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1",
               std::to_string(port).c_str(), "--directory", "/usr/share/doc", nullptr);
        _exit(127);
    }
    // Bounded wait for the listener (each try is a real connect, not a sleep guess).
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = can_connect(port);
        if (!up) usleep(50 * 1000);
    }
    if (!up) {
        kill(server, SIGTERM);
        waitpid(server, nullptr, 0);
        FAIL() << "python3 -m http.server did not listen on " << port;
    }
    auto r = run_tracepacket(fmt_args(server, port));
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    expect_schema(r);
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    // Both programs, with their roles.
    std::set<std::string> comms;
    for (const auto& s : r.of("syscall")) comms.insert(s.at("comm").get<std::string>() + "/" +
                                                       s.at("role").get<std::string>());
    EXPECT_TRUE(comms.count("curl/client")) << r.raw;
    EXPECT_TRUE(comms.count("python3/server")) << r.raw;
    // The request: sent by curl, read by python; a response the other way.
    bool request = false, response = false;
    for (const auto& p : r.of("packet")) {
        if (p.at("kind") != "data") continue;
        if (p.at("direction") == "client_to_server") {
            request = true;
            expect_full_path(p, {{"syscall_enter", "send"},
                                 {"net_dev_start_xmit", "send"},
                                 {"netif_receive_skb", "receive"},
                                 {"tcp_probe", "receive"},
                                 {"skb_copy_datagram_iovec", "receive"},
                                 {"syscall_exit", "receive"}});
        } else {
            response = true;
        }
    }
    EXPECT_TRUE(request);
    EXPECT_TRUE(response);
}

// make bench's cost breakdown (trace's hidden --bench-floor): the programs
// stay attached and the command runs, but nothing is recorded; a wrong value
// is one clear error.
TEST(TraceRuntime, BenchFloorRecordsNothing) {
    REQUIRE_ROOT();
    const std::string exchange =
        " -- python3 -c \"import socket; a, b = socket.socketpair(); a.send(b'x'); b.recv(1)\"";
    auto normal = run_tracepacket("trace --json --no-capture" + exchange);
    ASSERT_EQ(normal.exit_code, 0) << normal.raw;
    EXPECT_FALSE(normal.of("syscall").empty()) << normal.raw;
    for (const char* floor : {"attach", "clock", "decide"}) {
        auto r = run_tracepacket(std::string("trace --json --no-capture --bench-floor ") + floor +
                                 exchange);
        ASSERT_EQ(r.exit_code, 0) << floor << ": " << r.raw;
        EXPECT_TRUE(r.of("syscall").empty()) << floor;
        EXPECT_TRUE(r.of("packet").empty()) << floor;
    }
    auto bad = run_tracepacket("trace --bench-floor sometimes -- true");
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.raw.find("expected attach, clock or decide"), std::string::npos) << bad.raw;
}

}  // namespace
