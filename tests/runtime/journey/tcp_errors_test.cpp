// Resets and retransmits on real traffic (issue #6): `tracepacket trace`
// follows python3 programs that are refused, that abort a connection, and
// whose first data segment a network namespace of the test drops once with
// nftables. Each check compares the journey with the capture of the same run
// or with facts of TCP; none depends on how long anything took.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/json_lines.h"
#include "support/netns.h"

namespace {

using nlohmann::json;

using Output = tpk::testing::JsonLinesOutput;

Output run(const std::string& command_line) { return tpk::testing::run_json_lines(command_line); }

bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// The distribution's interpreter when there is one: a version manager's shim
// is a shell script whose helper processes would be traced too.
std::string python() {
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

#define REQUIRE_ROOT_AND_PYTHON()                                                              \
    if (geteuid() != 0)                                                                        \
        GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root";         \
    if (!have("python3")) GTEST_SKIP() << "needs python3 (scripts/install-deps)"

// A python program in a temporary file, removed with this object.
class Script {
public:
    explicit Script(const std::string& text) {
        char name[] = "/tmp/tpk-tcp-errors-XXXXXX";
        int fd = mkstemp(name);
        if (fd < 0) return;
        close(fd);
        path_ = name;
        std::ofstream(path_) << text;
    }
    ~Script() {
        if (!path_.empty()) unlink(path_.c_str());
    }
    Script(const Script&) = delete;
    Script& operator=(const Script&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// A namespace of this test's own: tpk-errors-<pid>.
struct Netns : tpk::testing::Netns {
    Netns() : tpk::testing::Netns("errors") {}
};

const json* find_hop(const json& packet, const std::string& event, const std::string& side) {
    for (const auto& h : packet.at("hops"))
        if (h.at("event") == event && h.at("side") == side) return &h;
    return nullptr;
}

// Every packet matched one to one with a captured frame with the same
// headers, and the capture saw nothing no packet explains.
void expect_packets_equal_capture(const Output& r) {
    auto packets = r.of("packet");
    EXPECT_EQ(r.summary().at("frames").get<std::size_t>(), packets.size()) << r.raw;
    EXPECT_EQ(r.summary().at("frames_matched").get<std::size_t>(), packets.size()) << r.raw;
    EXPECT_TRUE(r.of("frame").empty()) << "captured frames that no traced packet explains";
    std::set<long> frames;
    for (const auto& p : packets) {
        ASSERT_FALSE(p.at("frame").is_null()) << p.dump();
        const auto& f = p.at("frame");
        EXPECT_TRUE(frames.insert(f.at("index").get<long>()).second) << "frame used twice";
        EXPECT_EQ(f.at("flags"), p.at("flags"));
        EXPECT_EQ(f.at("seq"), p.at("seq"));
        EXPECT_EQ(f.at("ack"), p.at("ack"));
        EXPECT_EQ(f.at("payload_len"), p.at("payload_len"));
        EXPECT_EQ(f.at("flow").at("src"), p.at("flow").at("src"));
        EXPECT_EQ(f.at("flow").at("dst"), p.at("flow").at("dst"));
    }
}

bool is_reset(const json& p) { return p.at("flags") == "R." || p.at("flags") == "R"; }

// connect() to 127.0.0.1:PORT, where a socket is bound but nobody listens:
// the kernel answers the SYN with a reset.
constexpr const char* kRefused = R"(
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
)";

// A server and its forked client: "hello" one way, "ok" back, then the client
// closes with SO_LINGER {on, 0 s}, which sends RST instead of FIN; the
// server's next recv() fails with ECONNRESET.
constexpr const char* kAbort = R"(
import os, socket, struct, sys
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"hello")
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    os._exit(0)
ls.settimeout(10)
conn, _ = ls.accept()
conn.settimeout(10)
conn.recv(100)
conn.sendall(b"ok")
try:
    conn.recv(100)
    code = 1
except ConnectionResetError:
    code = 0
conn.close()
os.waitpid(pid, 0)
sys.exit(code)
)";

// The server accepts and closes at once; after its FIN the client still
// sends: the server's socket is gone, so its kernel answers the data with a
// reset (tcp_rcv_state_process: data after RCV_SHUTDOWN, TCP_ABORT_ON_DATA).
// The client's recv() still returns 0 (the FIN came first); its next send()
// fails with the reset's error.
constexpr const char* kLateData = R"(
import os, socket, sys
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    ls.close()
    os.close(w)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    os.read(r, 1)
    if c.recv(100) != b"":
        os._exit(2)
    c.sendall(b"too late")
    if c.recv(100) != b"":
        os._exit(3)
    # The peer's reset is processed in softirq, on a loaded machine maybe in
    # ksoftirqd after this returns: give it time before the send that must fail.
    import time
    time.sleep(0.2)
    try:
        c.send(b"x")
        os._exit(4)
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)
os.close(r)
ls.settimeout(10)
conn, _ = ls.accept()
conn.close()
os.write(w, b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
)";

// The same exchange on port argv[1] (in the test's namespace), then an
// orderly close. The 20-byte message is what the namespace drops once.
constexpr const char* kExchange = R"(
import os, socket, sys
port = int(sys.argv[1])
ls = socket.socket()
ls.bind(("127.0.0.1", port))
ls.listen(1)
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"hello, retransmit me")
    c.recv(100)
    c.close()
    os._exit(0)
ls.settimeout(10)
conn, _ = ls.accept()
conn.settimeout(10)
got = b""
while len(got) < 20:
    part = conn.recv(100)
    if not part:
        break
    got += part
conn.sendall(b"ok")
conn.recv(100)
conn.close()
os.waitpid(pid, 0)
sys.exit(0 if got == b"hello, retransmit me" else 1)
)";

// Six 20-byte segments in a row (TCP_NODELAY: one segment per send), the
// second beginning with "01"; then "ok" back and an orderly close.
constexpr const char* kBurst = R"(
import os, socket, sys, time
port = int(sys.argv[1])
ls = socket.socket(); ls.bind(("127.0.0.1", port)); ls.listen(1)
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(6):
        c.send(b"%02d-segment-of-twenty" % i)
    c.recv(100); c.close(); os._exit(0)
ls.settimeout(10)
conn, _ = ls.accept(); conn.settimeout(10)
got = b""
while len(got) < 6 * 20:
    got += conn.recv(1000)
conn.sendall(b"ok"); conn.recv(100); conn.close(); os.waitpid(pid, 0)
sys.exit(0 if len(got) == 120 else 1)
)";

// What to drop: the first segment with payload (a pure ACK with timestamps
// is 52 bytes of IP; meta length > 60 leaves handshake and ACKs), or the SYN.
constexpr const char* kFirstData = "tcp flags & (syn|fin|rst) == 0 meta length > 60";
constexpr const char* kTheSyn = "tcp flags & (syn|ack) == syn";
constexpr const char* kSecondSegment = "@ih,0,16 0x3031";  // payload starting "01"

// Drops the first TCP segment to PORT that `what` matches once, on the way
// out of the sender (hook output) or into the receiver (hook input): its
// source port goes into a set, and later segments from that port pass.
std::string drop_once_rules(const std::string& hook, int port, const std::string& what) {
    std::string p = std::to_string(port);
    return "table inet tpk_drop {\n"
           "  set dropped { type inet_service; flags dynamic; }\n"
           "  chain " + hook + " {\n"
           "    type filter hook " + hook + " priority 0;\n"
           "    tcp dport " + p + " tcp sport @dropped accept\n"
           "    tcp dport " + p + " " + what + " add @dropped { tcp sport } drop\n"
           "  }\n"
           "}\n";
}

std::string tracepacket() { return std::string("timeout 60 ") + TPK_BINARY; }

TEST(TraceReset, RefusedConnectIsSynThenRstAndEconnrefused) {
    REQUIRE_ROOT_AND_PYTHON();
    // A bound socket that does not listen: nobody takes a SYN to its port.
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len), 0);
    int port = ntohs(a.sin_port);
    Script script(kRefused);
    auto r = run(tracepacket() + " trace --json -- " + python() + " " + script.path() + " " +
                 std::to_string(port));
    close(holder);
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the script saw ConnectionRefusedError
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("resets"), 1);
    expect_packets_equal_capture(r);

    auto packets = r.of("packet");
    ASSERT_EQ(packets.size(), 2u) << r.raw;  // the SYN and the RST, nothing else
    const auto& syn = packets[0];
    const auto& rst = packets[1];
    EXPECT_EQ(syn.at("flags"), "S");
    EXPECT_EQ(syn.at("dropped"), true);
    EXPECT_EQ(syn.at("drop_reason"), "NO_SOCKET");
    EXPECT_NE(find_hop(syn, "kfree_skb", "receive"), nullptr) << syn.dump();
    EXPECT_NE(find_hop(syn, "tcp_send_reset", "receive"), nullptr) << syn.dump();

    EXPECT_TRUE(is_reset(rst)) << rst.dump();
    EXPECT_EQ(rst.at("kind"), "reset");
    EXPECT_EQ(rst.at("direction"), "server_to_client");
    EXPECT_EQ(rst.at("cause"), "reply");
    EXPECT_EQ(rst.at("reply_to"), 0);
    // RFC 793: the reset of a SYN acknowledges it (ack = its seq + 1).
    EXPECT_EQ(rst.at("ack").get<std::uint32_t>(), syn.at("seq").get<std::uint32_t>() + 1);
    EXPECT_EQ(rst.at("flow").at("src"), syn.at("flow").at("dst"));
    EXPECT_NE(find_hop(rst, "tcp_send_reset", "send"), nullptr) << rst.dump();
    EXPECT_NE(find_hop(rst, "tcp_receive_reset", "receive"), nullptr) << rst.dump();
    // tcp_v4_rcv(): no socket, sk_rst_convert_drop_reason(NO_SOCKET).
    EXPECT_EQ(rst.value("reset_reason", ""), "NO_SOCKET") << rst.dump();

    // connect() returned -ECONNREFUSED, and the journey says the RST did it.
    auto syscalls = r.of("syscall");
    ASSERT_FALSE(rst.at("error_syscall").is_null()) << rst.dump();
    const auto& connect = syscalls.at(rst.at("error_syscall").get<std::size_t>());
    EXPECT_EQ(connect.at("name"), "connect");
    EXPECT_EQ(connect.at("ret"), -ECONNREFUSED);
    EXPECT_EQ(connect.at("role"), "client");
}

TEST(TraceReset, TextSaysWhyTheResetCameAndWhoWasTold) {
    REQUIRE_ROOT_AND_PYTHON();
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len), 0);
    std::string port = std::to_string(ntohs(a.sin_port));
    Script script(kRefused);
    auto r = run("NO_COLOR=1 " + tracepacket() + " trace -- " + python() + " " + script.path() +
                 " " + port);
    close(holder);
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    EXPECT_NE(r.raw.find("DROPPED: NO_SOCKET in tcp (receive side)"), std::string::npos) << r.raw;
    EXPECT_NE(r.raw.find("RESET    the kernel answered packet #1 with it: no socket takes "
                         "127.0.0.1:" + port),
              std::string::npos)
        << r.raw;
    EXPECT_NE(r.raw.find("as connect(fd="), std::string::npos) << r.raw;
    EXPECT_NE(r.raw.find(") = -1 ECONNREFUSED"), std::string::npos) << r.raw;
    EXPECT_NE(r.raw.find("retransmits: 0, resets: 1"), std::string::npos) << r.raw;
}

TEST(TraceReset, AbortiveCloseResetsTheEstablishedConnection) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kAbort);
    auto r = run(tracepacket() + " trace --json -- " + python() + " " + script.path());
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the server's recv() raised ConnectionResetError
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("resets"), 1);
    expect_packets_equal_capture(r);

    auto syscalls = r.of("syscall");
    auto packets = r.of("packet");
    const json* rst = nullptr;
    for (const auto& p : packets) {
        // close() with linger 0 sends no FIN: the connection ends in the RST.
        EXPECT_EQ(p.at("flags").get<std::string>().find('F'), std::string::npos) << p.dump();
        if (p.at("kind") == "reset") rst = &p;
    }
    ASSERT_NE(rst, nullptr) << r.raw;
    EXPECT_EQ(rst->at("flags"), "R.");  // tcp_send_active_reset: RST|ACK
    EXPECT_EQ(rst->at("direction"), "client_to_server");
    EXPECT_EQ(rst->at("cause"), "syscall");
    const auto& close_call = syscalls.at(rst->at("send_syscall").get<std::size_t>());
    EXPECT_EQ(close_call.at("name"), "close");
    EXPECT_EQ(close_call.at("role"), "client");
    EXPECT_NE(find_hop(*rst, "tcp_send_reset", "send"), nullptr) << rst->dump();
    EXPECT_NE(find_hop(*rst, "tcp_receive_reset", "receive"), nullptr) << rst->dump();
    // __tcp_close(): SO_LINGER with a zero timeout calls tcp_disconnect(),
    // whose reset carries SK_RST_REASON_TCP_STATE (6.18).
    EXPECT_EQ(rst->value("reset_reason", ""), "TCP_STATE") << rst->dump();
    if (const json* h = find_hop(*rst, "tcp_send_reset", "send")) {
        EXPECT_NE(h->value("detail", "").find("TCP_STATE"), std::string::npos) << h->dump();
    }
    // The reset goes on from where the data left off: seq = the client's next byte.
    EXPECT_EQ(rst->at("rel_seq"), 1 + 5);  // SYN + "hello"
    EXPECT_EQ(rst->at("rel_ack"), 1 + 2);  // SYN + "ok"

    ASSERT_FALSE(rst->at("error_syscall").is_null()) << rst->dump();
    const auto& told = syscalls.at(rst->at("error_syscall").get<std::size_t>());
    EXPECT_EQ(told.at("role"), "server");
    EXPECT_EQ(told.at("ret"), -ECONNRESET);
    EXPECT_EQ(told.at("name").get<std::string>().rfind("recv", 0), 0u) << told.dump();

    // Both sockets go straight from ESTABLISHED to CLOSE.
    std::set<std::string> closed;
    for (const auto& s : r.of("state"))
        if (s.at("old") == "ESTABLISHED" && s.at("new") == "CLOSE")
            closed.insert(s.at("role").get<std::string>());
    EXPECT_EQ(closed, (std::set<std::string>{"client", "server"})) << r.raw;
}

// The text names the kernel's reset reason (tcp_send_reset, 6.10+): which of
// close()'s two abortive cases it was.
TEST(TraceReset, TextNamesTheAbortiveCloseReason) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kAbort);
    auto r = run("NO_COLOR=1 " + tracepacket() + " trace -- " + python() + " " + script.path());
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    EXPECT_NE(r.raw.find("abortive close"), std::string::npos) << r.raw;
    EXPECT_NE(r.raw.find("kernel reason TCP_STATE)"), std::string::npos) << r.raw;
    EXPECT_EQ(r.raw.find("bytes still unread"), std::string::npos)
        << "the reason tells which of the two cases it was\n" << r.raw;
}

TEST(TraceReset, DataForAClosedSocketIsAnsweredWithRst) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kLateData);
    auto r = run(tracepacket() + " trace --json -- " + python() + " " + script.path());
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // recv() 0 twice, then send() failed
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("resets"), 1);
    expect_packets_equal_capture(r);
    auto packets = r.of("packet");
    auto syscalls = r.of("syscall");
    std::size_t late = packets.size(), rst = packets.size();
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (packets[i].at("payload_len") == 8) late = i;
        if (packets[i].at("kind") == "reset") rst = i;
    }
    ASSERT_LT(late, packets.size()) << r.raw;
    ASSERT_LT(rst, packets.size()) << r.raw;
    EXPECT_LT(late, rst);
    // The server's kernel took the data in, then threw it away with a reason:
    // TCP_ABORT_ON_DATA from the closed socket itself, or NOT_SPECIFIED when
    // the client's ACK of the FIN came first (delayed) and a TIME-WAIT sock
    // had replaced it (tcp_timewait_state_process: TCP_TW_RST).
    EXPECT_EQ(packets[late].at("direction"), "client_to_server");
    ASSERT_EQ(packets[late].at("dropped"), true) << packets[late].dump();
    EXPECT_TRUE(packets[late].at("drop_reason") == "TCP_ABORT_ON_DATA" ||
                packets[late].at("drop_reason") == "NOT_SPECIFIED")
        << packets[late].dump();
    EXPECT_NE(find_hop(packets[late], "tcp_send_reset", "receive"), nullptr);
    // The answer: a bare RST (the data's ACK field gives its seq), sent while
    // receiving the data, closing the client's CLOSE-WAIT socket.
    const auto& reset = packets[rst];
    EXPECT_EQ(reset.at("flags"), "R");
    EXPECT_EQ(reset.at("direction"), "server_to_client");
    EXPECT_EQ(reset.at("cause"), "reply");
    EXPECT_EQ(reset.at("reply_to"), late);
    EXPECT_EQ(reset.at("seq"), packets[late].at("ack"));
    EXPECT_NE(find_hop(reset, "tcp_receive_reset", "receive"), nullptr);
    bool closed = false;
    for (const auto& st : r.of("state"))
        closed |= st.at("role") == "client" && st.at("old") == "CLOSE-WAIT" &&
                  st.at("new") == "CLOSE" && st.at("packet") == rst;
    EXPECT_TRUE(closed) << r.raw;
    // The client's send() after it is the call that reported it.
    ASSERT_FALSE(reset.at("error_syscall").is_null()) << reset.dump();
    const auto& told = syscalls.at(reset.at("error_syscall").get<std::size_t>());
    EXPECT_EQ(told.at("role"), "client");
    EXPECT_TRUE(told.at("ret") == -EPIPE || told.at("ret") == -ECONNRESET) << told.dump();
    EXPECT_EQ(told.at("name").get<std::string>().rfind("send", 0), 0u) << told.dump();
}

// The exchange traced in a namespace whose nftables drop its 20-byte message
// (or its SYN) once at `hook`.
Output exchange_with_one_drop(const std::string& hook, const char* what = kFirstData,
                              const char* program = kExchange) {
    Netns ns;
    if (!ns.ok()) return Output{};
    // Nobody else is in the test's namespace, but the kernel probes are global
    // and follow ports: a port of its own keeps a concurrent test's namespace
    // out of this journey.
    const int kPort = 20000 + static_cast<int>(getpid() % 40000);
    {
        Script rules(drop_once_rules(hook, kPort, what));
        if (std::system((ns.exec() + "nft -f " + rules.path()).c_str()) != 0) return Output{};
    }
    Script script(program);
    // The capture and the probes run in the namespace: its lo carries only this.
    return run(ns.exec() + tracepacket() + " trace --json -- " + python() + " " + script.path() +
               " " + std::to_string(kPort));
}

// The message's two copies (client -> server, 20 bytes), in wire order.
std::vector<std::size_t> message_copies(const std::vector<json>& packets) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < packets.size(); ++i)
        if (packets[i].at("direction") == "client_to_server" && packets[i].at("payload_len") == 20)
            out.push_back(i);
    return out;
}

// The copy that got through: the same bytes, marked, read once by the server,
// written by the client's one send().
void expect_resent_and_read_once(const Output& r, const std::vector<json>& packets,
                                 std::size_t lost_index, std::size_t again_index) {
    const auto& lost = packets[lost_index];
    const auto& again = packets[again_index];
    EXPECT_EQ(lost.at("dropped"), true) << lost.dump();
    EXPECT_EQ(lost.at("drop_reason"), "NETFILTER_DROP");
    EXPECT_TRUE(lost.at("recv_syscall").is_null()) << "a dropped segment delivers nothing";
    EXPECT_EQ(lost.at("retransmit"), false);

    EXPECT_EQ(again.at("seq"), lost.at("seq"));
    EXPECT_EQ(again.at("dropped"), false);
    EXPECT_EQ(again.at("retransmit"), true) << again.dump();
    EXPECT_EQ(again.at("retransmit_of"), lost_index);
    EXPECT_NE(again.at("cause"), "syscall") << "resent by the kernel, not by a send()";
    ASSERT_FALSE(again.at("frame").is_null()) << again.dump();
    ASSERT_FALSE(again.at("recv_syscall").is_null()) << again.dump();
    auto syscalls = r.of("syscall");
    const auto& read = syscalls.at(again.at("recv_syscall").get<std::size_t>());
    EXPECT_EQ(read.at("role"), "server");
    EXPECT_EQ(read.at("ret"), 20);
    ASSERT_FALSE(again.at("send_syscall").is_null());
    EXPECT_EQ(again.at("send_syscall"), lost.at("send_syscall"));
    EXPECT_EQ(syscalls.at(lost.at("send_syscall").get<std::size_t>()).at("role"), "client");

    long server_bytes = 0;
    for (const auto& s : syscalls)
        if (s.at("role") == "server" && s.at("name").get<std::string>().rfind("recv", 0) == 0 &&
            s.at("ret").get<long>() > 0)
            server_bytes += s.at("ret").get<long>();
    EXPECT_EQ(server_bytes, 20) << "delivered once";
}

#define REQUIRE_NETNS_AND_NFT()                                                                \
    if (!have("ip") || !have("nft"))                                                           \
    GTEST_SKIP() << "needs ip and nft (iproute2, nftables: scripts/install-deps)"

TEST(TraceRetransmit, SegmentDroppedOnArrivalIsResentAfterTheTimeout) {
    REQUIRE_ROOT_AND_PYTHON();
    REQUIRE_NETNS_AND_NFT();
    auto r = exchange_with_one_drop("input");
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the server got the 20 bytes
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("retransmits"), 1);
    // Both copies reached lo, so the capture saw both.
    expect_packets_equal_capture(r);

    auto packets = r.of("packet");
    auto copies = message_copies(packets);
    ASSERT_EQ(copies.size(), 2u) << "the message should travel twice: " << r.raw;
    const auto& lost = packets[copies[0]];
    const auto& again = packets[copies[1]];
    // The first copy died in netfilter on the receive path: TCP never saw it.
    const json* freed = find_hop(lost, "kfree_skb", "receive");
    ASSERT_NE(freed, nullptr) << lost.dump();
    EXPECT_EQ(freed->at("layer"), "network");
    EXPECT_NE(find_hop(lost, "netif_receive_skb", "receive"), nullptr);
    EXPECT_EQ(find_hop(lost, "tcp_probe", "receive"), nullptr) << "TCP never saw it";
    // The kernel resent it from the write queue and said so.
    EXPECT_NE(find_hop(again, "tcp_retransmit_skb", "send"), nullptr) << again.dump();
    EXPECT_GT(again.at("frame").at("index").get<long>(), lost.at("frame").at("index").get<long>());
    expect_resent_and_read_once(r, packets, copies[0], copies[1]);
}

TEST(TraceRetransmit, SegmentDroppedOnItsWayOutIsSentAgainAndCapturedOnce) {
    REQUIRE_ROOT_AND_PYTHON();
    REQUIRE_NETNS_AND_NFT();
    auto r = exchange_with_one_drop("output");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("retransmits"), 1);
    auto packets = r.of("packet");
    auto copies = message_copies(packets);
    ASSERT_EQ(copies.size(), 2u) << "the message should travel twice: " << r.raw;
    const auto& lost = packets[copies[0]];
    const auto& again = packets[copies[1]];
    // Dropped before the device: no device hop, no frame, a send-side drop.
    EXPECT_EQ(find_hop(lost, "net_dev_queue", "send"), nullptr) << lost.dump();
    const json* freed = find_hop(lost, "kfree_skb", "send");
    ASSERT_NE(freed, nullptr) << lost.dump();
    EXPECT_EQ(freed->at("layer"), "network");
    EXPECT_TRUE(lost.at("frame").is_null()) << "the capture cannot have seen it";
    // Every other packet has its frame; the one frame of the message is the
    // second copy's.
    EXPECT_EQ(r.summary().at("frames").get<std::size_t>(), packets.size() - 1) << r.raw;
    EXPECT_EQ(r.summary().at("frames_matched").get<std::size_t>(), packets.size() - 1);
    EXPECT_TRUE(r.of("frame").empty());
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (i == copies[0]) continue;
        EXPECT_FALSE(packets[i].at("frame").is_null()) << packets[i].dump();
    }
    EXPECT_EQ(again.at("frame").at("seq"), again.at("seq"));
    expect_resent_and_read_once(r, packets, copies[0], copies[1]);
}

// A lost SYN: connect() waits for the SYN retransmit timer (1 s on a
// connection without an RTT sample, TCP_TIMEOUT_INIT), then all goes on.
TEST(TraceRetransmit, LostSynIsResentAndTheConnectionGoesOn) {
    REQUIRE_ROOT_AND_PYTHON();
    REQUIRE_NETNS_AND_NFT();
    auto r = exchange_with_one_drop("input", kTheSyn);
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("retransmits"), 1);
    expect_packets_equal_capture(r);
    auto packets = r.of("packet");
    ASSERT_GE(packets.size(), 3u) << r.raw;
    const auto& lost = packets[0];
    const auto& again = packets[1];
    EXPECT_EQ(lost.at("flags"), "S");
    EXPECT_EQ(lost.at("dropped"), true);
    EXPECT_EQ(lost.at("drop_reason"), "NETFILTER_DROP");
    EXPECT_EQ(again.at("flags"), "S");
    EXPECT_EQ(again.at("seq"), lost.at("seq"));
    EXPECT_EQ(again.at("retransmit"), true);
    EXPECT_EQ(again.at("retransmit_of"), 0);
    EXPECT_NE(find_hop(again, "tcp_retransmit_skb", "send"), nullptr) << again.dump();
    EXPECT_NE(again.at("cause"), "syscall") << "resent by the timer, not by connect()";
    EXPECT_EQ(packets[2].at("flags"), "S.");
    EXPECT_EQ(packets[2].at("reply_to"), 1) << "the SYN-ACK answers the second SYN";
    // connect() sent the first SYN (python's timeout makes the socket
    // non-blocking: -EINPROGRESS, then it polls) and the handshake completed.
    auto syscalls = r.of("syscall");
    const auto& connect = syscalls.at(lost.at("send_syscall").get<std::size_t>());
    EXPECT_EQ(connect.at("name"), "connect");
    EXPECT_EQ(connect.at("ret"), -EINPROGRESS);
    bool established = false;
    for (const auto& st : r.of("state"))
        established |= st.at("role") == "client" && st.at("old") == "SYN-SENT" &&
                       st.at("new") == "ESTABLISHED" && st.at("packet") == 2;
    EXPECT_TRUE(established) << "the SYN-ACK establishes the client: " << r.raw;
    // Only the SYN was resent; the message travelled once.
    EXPECT_EQ(message_copies(packets).size(), 1u);
}

// One segment of six lost on arrival: the next ones are SACKed, and the
// sender resends the hole while it processes that ACK (RACK), long before any
// timeout. On loopback the ACK is processed inside the sender's own send().
TEST(TraceRetransmit, HoleInABurstIsFastRetransmittedOnTheAck) {
    REQUIRE_ROOT_AND_PYTHON();
    REQUIRE_NETNS_AND_NFT();
    auto r = exchange_with_one_drop("input", kSecondSegment, kBurst);
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the server got all 120 bytes
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    EXPECT_EQ(r.summary().at("retransmits"), 1);
    expect_packets_equal_capture(r);
    auto packets = r.of("packet");
    std::vector<std::size_t> hole;  // the second segment: relative seq 21
    for (std::size_t i = 0; i < packets.size(); ++i)
        if (packets[i].at("direction") == "client_to_server" && packets[i].at("rel_seq") == 21 &&
            packets[i].at("payload_len") == 20)
            hole.push_back(i);
    ASSERT_EQ(hole.size(), 2u) << r.raw;
    const auto& lost = packets[hole[0]];
    const auto& again = packets[hole[1]];
    EXPECT_EQ(lost.at("dropped"), true);
    EXPECT_EQ(again.at("retransmit"), true);
    EXPECT_EQ(again.at("retransmit_of"), hole[0]);
    EXPECT_NE(find_hop(again, "tcp_retransmit_skb", "send"), nullptr) << again.dump();
    // Resent on an ACK from the server, not by the client's send() it ran in.
    ASSERT_EQ(again.at("cause"), "reply") << again.dump();
    const auto& ack = packets.at(again.at("reply_to").get<std::size_t>());
    EXPECT_EQ(ack.at("direction"), "server_to_client");
    EXPECT_EQ(ack.at("rel_ack"), 21) << "the ACK still asks for the hole";
    EXPECT_NE(ack.at("frame").at("summary").get<std::string>().find("sack"), std::string::npos)
        << ack.dump();
    ASSERT_FALSE(again.at("recv_syscall").is_null());
    EXPECT_EQ(r.of("syscall").at(again.at("recv_syscall").get<std::size_t>()).at("role"),
              "server");
}

}  // namespace
