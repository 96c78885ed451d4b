// Why a packet left and which call read it, on real programs (issue #12):
// `tracepacket trace` follows python3 scripts whose client exits without
// close() (its FIN is the exit's, not a timer's) and whose server reads two
// segments with one call (both have the copy that moved their bytes). Each
// check is a fact of the run itself (pids, bytes, the call's return value);
// none depends on how long anything took.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/json_lines.h"

namespace {

using nlohmann::json;
using Output = tpk::testing::JsonLinesOutput;

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
        char name[] = "/tmp/tpk-causes-XXXXXX";
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

std::string trace(const Script& s, bool json_lines) {
    return std::string(json_lines ? "" : "NO_COLOR=1 ") + "timeout 60 " + TPK_BINARY +
           " trace " + (json_lines ? "--json " : "") + "-- " + python() + " " + s.path();
}

std::vector<const json*> hops_of(const json& packet, const std::string& event) {
    std::vector<const json*> out;
    for (const auto& h : packet.at("hops"))
        if (h.at("event") == event) out.push_back(&h);
    return out;
}

// A server and its forked client: "hello" one way, "ok" back, then the
// client leaves with os._exit(0) and never closes its socket. The server
// reads the end of the stream (the client's FIN) and closes.
constexpr const char* kExitWithoutClose = R"(
import os, socket, sys
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
port = ls.getsockname()[1]
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"hello")
    c.recv(100)
    os._exit(0)
ls.settimeout(10)
conn, _ = ls.accept(); conn.settimeout(10)
conn.recv(100); conn.sendall(b"ok")
end = conn.recv(100)
conn.close(); os.waitpid(pid, 0)
sys.exit(0 if end == b"" else 1)
)";

// The client sends 358 B and 155 B as two segments (TCP_NODELAY) while the
// server waits until both are queued (FIONREAD, no sleep decides it), then
// takes them with one recv(): TCP merges the second into the first's skb in
// the receive queue, and one copy moves both.
constexpr const char* kTwoSegmentsOneRead = R"(
import fcntl, os, select, socket, struct, sys, termios, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
port = ls.getsockname()[1]
pid = os.fork()
if pid == 0:
    ls.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.send(b"a" * 358); c.send(b"b" * 155)
    c.recv(100); c.close(); os._exit(0)
ls.settimeout(10)
conn, _ = ls.accept(); conn.settimeout(10)
for _ in range(10000):
    select.select([conn], [], [], 10)
    if struct.unpack("i", fcntl.ioctl(conn, termios.FIONREAD, b"\0\0\0\0"))[0] >= 513:
        break
    time.sleep(0.001)
got = conn.recv(4096)
conn.sendall(b"ok"); conn.recv(100); conn.close(); os.waitpid(pid, 0)
sys.exit(0 if len(got) == 513 else 1)
)";

TEST(TraceCauses, AFinSentByTheExitOfAProgramThatNeverClosedSaysSo) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kExitWithoutClose);
    auto r = tpk::testing::run_json_lines(trace(script, true));
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);

    std::optional<json> client_fin, server_fin;
    for (const auto& p : r.of("packet")) {
        if (p.at("flags").get<std::string>().find('F') == std::string::npos) continue;
        (p.at("direction") == "client_to_server" ? client_fin : server_fin) = p;
    }
    ASSERT_TRUE(client_fin) << r.raw;
    ASSERT_TRUE(server_fin) << r.raw;
    // The client's FIN: no syscall sent it, its transmit ran in the exiting
    // client's own task, and the journey names that program and pid.
    EXPECT_EQ(client_fin->at("cause"), "exit") << client_fin->dump();
    EXPECT_TRUE(client_fin->at("send_syscall").is_null());
    const auto& first = client_fin->at("hops").at(0);
    EXPECT_EQ(first.at("event"), "net_dev_queue") << client_fin->dump();
    std::string want = "exit of client " + first.at("comm").get<std::string>() + " pid " +
                       std::to_string(first.at("pid").get<int>()) + " ";
    EXPECT_EQ(client_fin->at("sent_by").get<std::string>().rfind(want, 0), 0u)
        << client_fin->at("sent_by") << " vs " << want;
    EXPECT_NE(client_fin->value("explain", "").find("exited without close()"), std::string::npos)
        << client_fin->dump();
    // That pid is the client's: the one whose calls sent "hello".
    bool client_pid = false;
    for (const auto& s : r.of("syscall"))
        client_pid |= s.at("pid") == first.at("pid") && s.at("name") == "connect";
    EXPECT_TRUE(client_pid) << "the FIN's task is not the client that connected";
    // The server closes with close(): a syscall, as before.
    EXPECT_EQ(server_fin->at("cause"), "syscall") << server_fin->dump();

    // The text says the same.
    auto text = tpk::testing::run_json_lines(trace(script, false));
    ASSERT_EQ(text.exit_code, 0) << text.raw;
    EXPECT_NE(text.raw.find("sent by: exit of client " + first.at("comm").get<std::string>() +
                            " pid "),
              std::string::npos)
        << text.raw;
    EXPECT_EQ(text.raw.find("sent by: timer (softirq, no syscall)\n"), std::string::npos)
        << text.raw;
}

// The client leaves "ok" unread in its receive queue and exits without
// close(): the kernel closes its socket with a reset (TCP_ABORT_ON_CLOSE),
// and the server's next recv() fails with ECONNRESET.
constexpr const char* kExitWithBytesUnread = R"(
import os, socket, sys
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
port = ls.getsockname()[1]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    ls.close(); os.close(w)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"hello")
    os.read(r, 1)
    os._exit(0)
os.close(r)
ls.settimeout(10)
conn, _ = ls.accept(); conn.settimeout(10)
conn.recv(100); conn.sendall(b"ok")
os.write(w, b"x")
try:
    end = conn.recv(100)
except ConnectionResetError:
    end = b"reset"
conn.close(); os.waitpid(pid, 0)
sys.exit(0 if end == b"reset" else 1)
)";

TEST(TraceCauses, AResetSentByTheExitWithBytesUnreadSaysSo) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kExitWithBytesUnread);
    auto r = tpk::testing::run_json_lines(trace(script, true));
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the server's recv() raised ConnectionResetError
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);
    std::optional<json> rst;
    for (const auto& p : r.of("packet"))
        if (p.at("kind") == "reset") rst = p;
    ASSERT_TRUE(rst) << r.raw;
    EXPECT_EQ(rst->at("direction"), "client_to_server");
    EXPECT_EQ(rst->at("cause"), "exit") << rst->dump();
    EXPECT_NE(rst->at("sent_by").get<std::string>().find("with bytes unread"), std::string::npos)
        << rst->dump();
    EXPECT_NE(rst->at("trouble").value("reset", "").find("exited without close()"),
              std::string::npos)
        << rst->dump();
    // tcp_send_reset's reason (6.10+): close with bytes unread.
    std::string reason = rst->value("reset_reason", "");
    if (!reason.empty()) {
        EXPECT_EQ(reason, "TCP_ABORT_ON_CLOSE");
    }
    ASSERT_FALSE(rst->at("error_syscall").is_null()) << rst->dump();
    const auto syscalls = r.of("syscall");
    const auto& told = syscalls.at(rst->at("error_syscall").get<std::size_t>());
    EXPECT_EQ(told.at("ret"), -104);  // ECONNRESET
    EXPECT_EQ(told.at("role"), "server");
}

TEST(TraceCauses, TwoSegmentsReadByOneCallBothHaveTheirCopy) {
    REQUIRE_ROOT_AND_PYTHON();
    Script script(kTwoSegmentsOneRead);
    auto r = tpk::testing::run_json_lines(trace(script, true));
    ASSERT_EQ(r.exit_code, 0) << r.raw;  // the one recv() returned all 513 B
    ASSERT_FALSE(r.records.empty()) << r.raw;
    EXPECT_EQ(r.summary().at("lost_events"), 0);

    auto syscalls = r.of("syscall");
    std::vector<json> data;
    for (const auto& p : r.of("packet"))
        if (p.at("direction") == "client_to_server" && p.at("payload_len").get<int>() > 0)
            data.push_back(p);
    ASSERT_EQ(data.size(), 2u) << r.raw;
    EXPECT_EQ(data[0].at("payload_len"), 358);
    EXPECT_EQ(data[1].at("payload_len"), 155);
    for (const auto& p : data) {
        SCOPED_TRACE(p.dump());
        // Read by the server's one recvfrom() that returned both.
        ASSERT_FALSE(p.at("recv_syscall").is_null());
        const auto& read = syscalls.at(p.at("recv_syscall").get<std::size_t>());
        EXPECT_EQ(read.at("ret"), 513);
        EXPECT_EQ(read.at("role"), "server");
        // And the copy that moved its bytes, in that call's thread.
        auto copies = hops_of(p, "skb_copy_datagram_iovec");
        ASSERT_EQ(copies.size(), 1u);
        EXPECT_EQ(copies[0]->at("side"), "receive");
        EXPECT_EQ(copies[0]->at("tid"), read.at("tid"));
    }
    EXPECT_EQ(data[0].at("recv_syscall"), data[1].at("recv_syscall"));
    // Merged (one skb, one copy): the second shares the first's copy, which
    // says how many of its bytes were merged in; else each has its own.
    const auto& c0 = *hops_of(data[0], "skb_copy_datagram_iovec")[0];
    const auto& c1 = *hops_of(data[1], "skb_copy_datagram_iovec")[0];
    if (c0.at("skb") == c1.at("skb")) {
        EXPECT_EQ(c0.at("t_ns"), c1.at("t_ns"));
        EXPECT_EQ(c0.value("detail", ""), "513 B (155 B merged in)");
        EXPECT_EQ(c1.value("detail", ""), "155 B of 513 B (merged)");
    } else {
        EXPECT_EQ(c0.value("detail", ""), "358 B");
        EXPECT_EQ(c1.value("detail", ""), "155 B");
    }
}

}  // namespace
