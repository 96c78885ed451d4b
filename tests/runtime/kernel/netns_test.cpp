// Ports are per network namespace: the same port in another namespace is
// another conversation. Two namespaces of this test's own run the same TCP
// exchange on the same fixed port; only the process in the first is traced.
// Needs root (namespaces, BPF); skips with the reason otherwise.
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel/tracer.h"
#include "runtime/kernel/traced_run.h"
#include "runtime/kernel/traffic.h"
#include "support/netns.h"

namespace tpk::kernel::testing {
namespace {

using model::Event;
using model::EventKind;

// Fixed on purpose (the point is the same port twice); it lives only in this
// test's namespaces, so it cannot clash with other tests.
constexpr std::uint16_t kPort = 47913;

// Namespaces named tpk-kernel-<tag>-<pid>.
struct Netns : ::tpk::testing::Netns {
    explicit Netns(const std::string& tag) : ::tpk::testing::Netns("kernel-" + tag) {}
};

bool enter(const Netns& ns) {
    int fd = open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

// Server on 127.0.0.1:kPort, client in a forked child, `messages` round trips.
int fixed_port_exchange(int messages) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(kPort);
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listener, 8) != 0)
        return 1;
    pid_t client = fork();
    if (client == 0) _exit(tcp_client(kPort, messages));
    int rc = tcp_serve_one(listener, messages);
    close(listener);
    int crc = wait_child(client);
    return rc ? rc : crc;
}

// Forks a child that enters ns, says so on a pipe, waits for the go byte
// (when `go` is a pipe) and runs the exchange.
pid_t spawn_in(const Netns& ns, int messages, int ready_fd, int go_fd) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (!enter(ns)) _exit(120);
    char c = 1;
    if (write(ready_fd, &c, 1) != 1) _exit(121);
    if (go_fd >= 0 && read(go_fd, &c, 1) != 1) _exit(122);
    _exit(fixed_port_exchange(messages));
}

// Polls until every pid has exited (bounded); returns their exit codes.
std::vector<int> collect_until_exit(Tracer& tracer, std::vector<pid_t> pids,
                                    std::vector<Event>& events) {
    auto sink = [&](Event&& e) { events.push_back(std::move(e)); };
    std::vector<int> codes(pids.size(), -1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::size_t left = pids.size();
    while (left > 0) {
        for (std::size_t i = 0; i < pids.size(); ++i) {
            int status = 0;
            if (pids[i] <= 0 || waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
            codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 200;
            pids[i] = 0;
            --left;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            for (pid_t pid : pids)
                if (pid > 0) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
            ADD_FAILURE() << "children did not finish within the bound";
            break;
        }
        (void)tracer.poll(50, sink);
    }
    (void)tracer.drain(sink);
    (void)tracer.drain_staged(sink);   // the children are done
    return codes;
}

std::size_t queued_on_port(const std::vector<Event>& events, bool data_only) {
    std::size_t n = 0;
    for (const auto& e : events)
        if (e.kind == EventKind::net_dev_queue && has_port(e, kPort) &&
            (!data_only || e.payload_len == kMessageLen))
            ++n;
    return n;
}

TEST(KernelNetns, SamePortInAnUntracedNamespaceIsNotReported) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces; run as root";
    TPK_SKIP_WITHOUT_BPF();
    Netns ns_a("a"), ns_b("b");
    ASSERT_TRUE(ns_a.ok() && ns_b.ok()) << "could not create the test's network namespaces";
    auto tracer = Tracer::start({});
    ASSERT_TRUE(tracer) << tracer.error().message();
    // Pre-seeded, the port alone would match B's packets (as a traced
    // server's port does): only the namespace tells them apart.
    ASSERT_TRUE(tracer->add_port({IPPROTO_TCP, kPort}));

    int ready[2], go[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(go), 0);
    // A enters its namespace first, so add_pid records A's namespace.
    pid_t a = spawn_in(ns_a, 1, ready[1], go[0]);
    ASSERT_GT(a, 0);
    close(go[0]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "A could not enter its namespace";
    ASSERT_TRUE(tracer->add_pid(a));

    // B alone, untraced, before A starts.
    std::vector<Event> b_alone;
    pid_t b = spawn_in(ns_b, 3, ready[1], -1);
    ASSERT_GT(b, 0);
    auto b_codes = collect_until_exit(*tracer, {b}, b_alone);
    EXPECT_EQ(b_codes[0], 0) << "B's exchange failed";
    EXPECT_EQ(queued_on_port(b_alone, false), 0u) << kinds_of(b_alone);

    // A and B at once: A does one round trip (two data segments), B five.
    std::vector<Event> both;
    pid_t b2 = spawn_in(ns_b, 5, ready[1], -1);
    ASSERT_GT(b2, 0);
    (void)!write(go[1], &c, 1);
    close(go[1]);
    auto codes = collect_until_exit(*tracer, {a, b2}, both);
    close(ready[0]);
    close(ready[1]);
    EXPECT_EQ(codes[0], 0) << "A's exchange failed";
    EXPECT_EQ(codes[1], 0) << "B's exchange failed";
    EXPECT_EQ(queued_on_port(both, true), 2u) << "A's message and its echo, none of B's";
    EXPECT_GE(queued_on_port(both, false), 5u) << "A's handshake, data and close";
}

// A veth pair between two new namespaces: both ends get ifindex 2 there
// (ifindex is per namespace), and veth_xmit() hands the sender's skb to the
// peer in the sender's thread. Each hop must still name its own end: the
// BPF side gathers a packet's hops per CPU and tells devices apart by
// index and name (same_packet(), stage_xmit()).
TEST(KernelNetns, VethHopsNameTheirOwnEnd) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces; run as root";
    TPK_SKIP_WITHOUT_BPF();
    Netns ns_a("veth-a"), ns_b("veth-b");
    ASSERT_TRUE(ns_a.ok() && ns_b.ok()) << "could not create the test's network namespaces";
    const std::string b_name = ns_b.path().substr(ns_b.path().rfind('/') + 1);
    ASSERT_EQ(std::system((ns_a.exec() + "ip link add tpkva type veth peer name tpkvb netns " +
                           b_name + " && " + ns_a.exec() + "ip addr add 10.77.0.1/24 dev tpkva && " +
                           ns_a.exec() + "ip link set tpkva up && " + ns_b.exec() +
                           "ip addr add 10.77.0.2/24 dev tpkvb && " + ns_b.exec() +
                           "ip link set tpkvb up")
                              .c_str()),
              0);
    TracerOptions options;
    options.ports.push_back({IPPROTO_TCP, kPort});
    auto tracer = Tracer::start(options);
    ASSERT_TRUE(tracer) << tracer.error().message();

    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t server = fork();
    if (server == 0) {
        if (!enter(ns_b)) _exit(120);
        int listener = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(kPort);
        if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listener, 1))
            _exit(121);
        char c = 1;
        if (write(ready[1], &c, 1) != 1) _exit(122);
        _exit(tcp_serve_one(listener, 1));
    }
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the server could not listen in its namespace";
    pid_t client = fork();
    if (client == 0) {
        if (!enter(ns_a)) _exit(130);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(kPort);
        a.sin_addr.s_addr = htonl(0x0a4d0002);   // 10.77.0.2
        char buf[kMessageLen];
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) _exit(131);
        if (send(fd, kMessage, kMessageLen, 0) != static_cast<ssize_t>(kMessageLen)) _exit(132);
        if (!read_exactly(fd, buf, kMessageLen)) _exit(133);
        close(fd);
        _exit(0);
    }
    std::vector<Event> ev;
    auto codes = collect_until_exit(*tracer, {server, client}, ev);
    close(ready[0]);
    close(ready[1]);
    ASSERT_EQ(codes[0], 0) << "server";
    ASSERT_EQ(codes[1], 0) << "client";
    // The request, client (tpkva) -> server (tpkvb).
    std::size_t checked = 0;
    const Event* request_start = nullptr;
    for (const auto& e : ev) {
        if (e.payload_len != kMessageLen || e.flow.dst.port != kPort) continue;
        if (e.kind == EventKind::net_dev_queue || e.kind == EventKind::net_dev_start_xmit) {
            EXPECT_EQ(e.dev, "tpkva") << model::event_name(e.kind);
            if (e.kind == EventKind::net_dev_start_xmit) request_start = &e;
            ++checked;
        }
        if (e.kind == EventKind::netif_rx || e.kind == EventKind::netif_receive_skb) {
            EXPECT_EQ(e.dev, "tpkvb") << model::event_name(e.kind);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 4u) << "the request's queue, start_xmit, netif_rx and receive";
    ASSERT_NE(request_start, nullptr) << "the request's net_dev_start_xmit";
    // The first net_dev_xmit of that skb on that CPU after its start: the
    // slab hands a freed skb's address out again at once, and the echo
    // leaving tpkvb often gets the request's, so a later one is not it.
    const Event* xmit = nullptr;
    for (const auto& e : ev)
        if (e.kind == EventKind::net_dev_xmit && e.skb == request_start->skb &&
            e.cpu == request_start->cpu && e.t_ns >= request_start->t_ns &&
            (!xmit || e.t_ns < xmit->t_ns))
            xmit = &e;
    ASSERT_NE(xmit, nullptr) << "the request's net_dev_xmit";
    EXPECT_EQ(xmit->dev, "tpkva") << "transmit done on the sending end";
}

}  // namespace
}  // namespace tpk::kernel::testing
