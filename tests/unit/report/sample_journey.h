// A fixed, hand-built TCP journey for the writers' golden tests: the
// handshake, one request and its reply, a delayed ACK from a timer, the
// teardown, and one frame the correlator could not match. Hop orders and
// lengths follow what ARCHITECTURE.md records for kernel 6.18 on lo.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "journey/journey.h"

namespace tpk::report::testing {

using namespace tpk::journey;
using model::EventKind;
using model::Layer;

inline model::Endpoint v4(const char* ip, std::uint16_t port) {
    model::Endpoint e;
    e.family = AF_INET;
    e.port = port;
    inet_pton(AF_INET, ip, e.addr.data());
    return e;
}

inline constexpr std::uint32_t kClientPid = 4100, kServerPid = 4101;
inline constexpr std::uint64_t kT0 = 5'000'000'000;  // CLOCK_MONOTONIC of the first syscall

class JourneyBuilder {
public:
    JourneyBuilder() {
        j.transport = "tcp";
        j.processes = {{kClientPid, "tracepacket", Role::client}, {kServerPid, "tracepacket", Role::server}};
        Connection c;
        c.transport = "tcp";
        c.client_to_server.protocol = IPPROTO_TCP;
        c.client_to_server.src = v4("127.0.0.1", 41234);
        c.client_to_server.dst = v4("127.0.0.1", 8080);
        c.client_sk = 0xffff888001000000;
        c.server_sk = 0xffff888002000000;
        c.client_isn = 1000;
        c.server_isn = 9000;
        j.connections.push_back(c);
        j.realtime_offset_ns = 1'700'000'000'000'000'000;
        Route r;
        r.destination = "127.0.0.1";
        r.has_answer = true;
        r.type = "local";
        r.table = "local";
        r.dev = "lo";
        r.source = "127.0.0.1";
        r.notes = {"data segments reuse the socket's cached route: no lookup per packet"};
        j.routes.push_back(r);
    }

    std::size_t syscall(const char* name, bool client, std::uint64_t enter, std::uint64_t exit,
                        std::int64_t ret, std::uint64_t size = 0) {
        Syscall s;
        s.name = name;
        s.pid = s.tid = client ? kClientPid : kServerPid;
        s.comm = "tracepacket";
        s.role = client ? Role::client : Role::server;
        s.fd = 3;
        s.size = size;
        s.ret = ret;
        s.enter_ns = kT0 + enter;
        s.exit_ns = kT0 + exit;
        s.sk = client ? j.connections[0].client_sk : j.connections[0].server_sk;
        s.connection = 0;
        j.syscalls.push_back(s);
        return j.syscalls.size() - 1;
    }

    // Starts a packet; hops follow with hop().
    Packet& packet(Direction d, PacketKind kind, std::uint8_t flags, std::uint32_t rel_seq,
                   std::uint32_t rel_ack, std::uint32_t len, Cause cause, std::string sent_by,
                   std::uint64_t cause_t) {
        Packet p;
        p.connection = 0;
        p.direction = d;
        p.kind = kind;
        const auto& c = j.connections[0].client_to_server;
        p.flow = c;
        if (d == Direction::server_to_client) std::swap(p.flow.src, p.flow.dst);
        p.tcp_flags = flags;
        p.rel_seq = rel_seq;
        p.rel_ack = rel_ack;
        const bool to_server = d == Direction::client_to_server;
        p.seq = rel_seq + (to_server ? 1000 : 9000);
        p.ack = rel_ack + (to_server ? 9000 : 1000);
        p.payload_len = len;
        p.skbs = {0xffff888100000000 + j.packets.size() * 0x100};
        p.sender_sk = to_server ? j.connections[0].client_sk : j.connections[0].server_sk;
        p.receiver_sk = to_server ? j.connections[0].server_sk : j.connections[0].client_sk;
        p.cause = cause;
        p.sent_by = std::move(sent_by);
        p.cause_ns = kT0 + cause_t;
        j.packets.push_back(p);
        j.connections[0].packets.push_back(j.packets.size() - 1);
        return j.packets.back();
    }

    void hop(EventKind ev, Layer layer, bool receive, std::uint64_t t, std::uint32_t pid,
             std::string detail = {}, std::uint32_t len = 0, std::size_t sc = kNone) {
        Packet& p = j.packets.back();
        Hop h;
        h.event = ev;
        h.layer = layer;
        h.receive_side = receive;
        h.t_ns = kT0 + t;
        h.since_cause_ns = static_cast<std::int64_t>(h.t_ns - p.cause_ns);
        h.pid = h.tid = pid;
        h.cpu = pid == 0 ? 1 : 0;
        h.comm = pid == 0 ? "swapper/1" : "tracepacket";
        const bool kernel_skb = layer != Layer::application && ev != EventKind::tcp_sendmsg_locked;
        h.skb = kernel_skb ? p.skbs[0] : 0;
        h.sk = (receive ? p.receiver_sk : p.sender_sk);
        h.len = len;
        if (layer == Layer::device || layer == Layer::receive) h.dev = "lo";
        h.detail = std::move(detail);
        h.syscall = sc;
        p.hops.push_back(h);
        if (sc != kNone) j.syscalls[sc].packets.push_back(j.packets.size() - 1);
    }

    // The loopback part every TCP packet shares: queue, transmit, receive.
    void wire_hops(std::uint64_t t, std::uint32_t len, std::uint32_t pid) {
        hop(EventKind::net_dev_queue, Layer::device, false, t, pid, {}, len + 14);
        hop(EventKind::net_dev_start_xmit, Layer::device, false, t + 600, pid, {}, len + 14);
        hop(EventKind::netif_rx, Layer::receive, true, t + 1200, pid, {}, len);
        hop(EventKind::net_dev_xmit, Layer::device, false, t + 1500, pid, {}, len + 14);
        hop(EventKind::netif_receive_skb, Layer::receive, true, t + 2900, pid, {}, len);
        hop(EventKind::tcp_probe, Layer::transport, true, t + 4100, pid, {}, len);
    }

    void frame(std::uint64_t t, std::uint32_t ip_len, std::string summary) {
        Packet& p = j.packets.back();
        Frame f;
        f.index = frames_++;
        f.t_ns = kT0 + t;
        f.wire_len = f.captured_len = ip_len + 14;
        f.link_type = 1;
        f.flow = p.flow;
        f.tcp_flags = p.tcp_flags;
        f.seq = p.seq;
        f.ack = p.ack;
        f.payload_len = p.payload_len;
        f.summary = std::move(summary);
        f.bytes = ethernet_ipv4_tcp(p, ip_len);
        p.frame = f;
        ++j.stats.frames;
        ++j.stats.frames_matched;
    }

    // A real Ethernet + IPv4 + TCP frame for the packet, so tshark can decode
    // what the golden pcapng holds.
    static std::vector<std::uint8_t> ethernet_ipv4_tcp(const Packet& p, std::uint32_t ip_len) {
        std::vector<std::uint8_t> b(14 + ip_len, 0);
        b[12] = 0x08;  // ethertype IPv4
        std::uint8_t* ip = b.data() + 14;
        ip[0] = 0x45;
        ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
        ip[3] = static_cast<std::uint8_t>(ip_len);
        ip[6] = 0x40;  // DF
        ip[8] = 64;
        ip[9] = IPPROTO_TCP;
        std::memcpy(ip + 12, p.flow.src.addr.data(), 4);
        std::memcpy(ip + 16, p.flow.dst.addr.data(), 4);
        std::uint32_t sum = 0;
        for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        ip[10] = static_cast<std::uint8_t>(~sum >> 8);
        ip[11] = static_cast<std::uint8_t>(~sum);
        std::uint8_t* tcp = ip + 20;
        const std::uint32_t seq = htonl(p.seq), ack = htonl(p.ack);
        tcp[0] = static_cast<std::uint8_t>(p.flow.src.port >> 8);
        tcp[1] = static_cast<std::uint8_t>(p.flow.src.port);
        tcp[2] = static_cast<std::uint8_t>(p.flow.dst.port >> 8);
        tcp[3] = static_cast<std::uint8_t>(p.flow.dst.port);
        std::memcpy(tcp + 4, &seq, 4);
        std::memcpy(tcp + 8, &ack, 4);
        tcp[12] = 0x50;
        tcp[13] = p.tcp_flags;
        tcp[14] = 0xff;
        tcp[15] = 0xff;
        for (std::uint32_t i = 0; i < p.payload_len; ++i) tcp[20 + i] = 'a' + i % 26;
        return b;
    }

    Journey j;
    std::size_t frames_ = 0;
};

inline Journey sample_tcp_journey() {
    JourneyBuilder b;
    using D = Direction;
    using K = PacketKind;
    const std::uint8_t S = model::kSyn, A = model::kAck, P = model::kPsh, F = model::kFin;
    const auto connect = b.syscall("connect", true, 0, 40'000, 0);
    const auto accept = b.syscall("accept4", false, 20'000, 60'000, 5);
    const auto send = b.syscall("sendto", true, 100'000, 112'000, 18, 18);
    const auto recv = b.syscall("recvfrom", false, 61'000, 131'000, 18, 4096);
    const auto reply = b.syscall("sendto", false, 140'000, 151'000, 18, 18);
    const auto crecv = b.syscall("recvfrom", true, 113'000, 170'000, 18, 4096);
    const auto close_c = b.syscall("close", true, 300'000, 320'000, 0);
    const auto close_s = b.syscall("close", false, 330'000, 345'000, 0);
    (void)accept;

    b.packet(D::client_to_server, K::handshake, S, 0, 0, 0, Cause::syscall,
             "connect (client pid 4100 tid 4100)", 0);
    b.hop(EventKind::syscall_enter, Layer::application, false, 0, kClientPid, "connect enter", 0, connect);
    b.hop(EventKind::fib_table_lookup, Layer::network, false, 2'000, kClientPid, "table 254");
    b.wire_hops(5'000, 60, kClientPid);
    b.hop(EventKind::inet_sock_set_state, Layer::transport, true, 9'800, kClientPid,
          "LISTEN -> NEW-SYN-RECV");
    b.frame(6'200, 60, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [S], seq 1000, length 0");

    b.packet(D::server_to_client, K::handshake, S | A, 0, 1, 0, Cause::reply,
             "reply to #1 (SYN)", 10'000);
    b.wire_hops(11'000, 60, kClientPid);
    b.hop(EventKind::inet_sock_set_state, Layer::transport, true, 15'500, kClientPid,
          "SYN-SENT -> ESTABLISHED");
    b.frame(12'200, 60, "IP 127.0.0.1.8080 > 127.0.0.1.41234: Flags [S.], seq 9000, ack 1001, length 0");

    b.packet(D::client_to_server, K::handshake, A, 1, 1, 0, Cause::reply, "reply to #2 (SYN-ACK)", 16'000);
    b.wire_hops(16'500, 52, kClientPid);
    b.hop(EventKind::syscall_exit, Layer::application, false, 40'000, kClientPid, "connect exit = 0", 0, connect);
    b.frame(17'700, 52, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [.], ack 1, length 0");

    b.packet(D::client_to_server, K::data, P | A, 1, 1, 18, Cause::syscall,
             "sendto (client pid 4100 tid 4100)", 100'000);
    b.hop(EventKind::syscall_enter, Layer::application, false, 100'000, kClientPid, "sendto enter", 0, send);
    b.hop(EventKind::tcp_sendmsg_locked, Layer::transport, false, 101'500, kClientPid, {}, 18);
    b.wire_hops(104'000, 70, kClientPid);
    b.hop(EventKind::sk_data_ready, Layer::socket, true, 110'100, kClientPid, {}, 18);
    b.hop(EventKind::syscall_exit, Layer::application, false, 112'000, kClientPid, "sendto exit = 18", 0, send);
    b.hop(EventKind::skb_copy_datagram_iovec, Layer::socket, true, 130'000, kServerPid, {}, 18);
    b.hop(EventKind::consume_skb, Layer::socket, true, 130'400, kServerPid);
    b.hop(EventKind::syscall_exit, Layer::application, true, 131'000, kServerPid, "recvfrom exit = 18", 0, recv);
    b.frame(105'200, 70, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [P.], seq 1:19, ack 1, length 18");
    b.j.packets.back().recv_syscall = recv;
    b.j.packets.back().send_syscall = send;

    b.packet(D::server_to_client, K::data, P | A, 1, 19, 18, Cause::syscall,
             "sendto (server pid 4101 tid 4101)", 140'000);
    b.hop(EventKind::syscall_enter, Layer::application, false, 140'000, kServerPid, "sendto enter", 0, reply);
    b.hop(EventKind::tcp_sendmsg_locked, Layer::transport, false, 141'200, kServerPid, {}, 18);
    b.wire_hops(143'000, 70, kServerPid);
    b.hop(EventKind::sk_data_ready, Layer::socket, true, 148'900, kServerPid, {}, 18);
    b.hop(EventKind::syscall_exit, Layer::application, false, 151'000, kServerPid, "sendto exit = 18", 0, reply);
    b.hop(EventKind::skb_copy_datagram_iovec, Layer::socket, true, 168'000, kClientPid, {}, 18);
    b.hop(EventKind::consume_skb, Layer::socket, true, 168'500, kClientPid);
    b.hop(EventKind::syscall_exit, Layer::application, true, 170'000, kClientPid, "recvfrom exit = 18", 0, crecv);
    b.frame(144'200, 70, "IP 127.0.0.1.8080 > 127.0.0.1.41234: Flags [P.], seq 1:19, ack 19, length 18");

    b.packet(D::client_to_server, K::ack, A, 19, 19, 0, Cause::timer, "delayed-ACK timer", 210'000);
    b.wire_hops(210'000, 52, 0);
    b.frame(211'200, 52, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [.], ack 19, length 0");

    b.packet(D::client_to_server, K::teardown, F | A, 19, 19, 0, Cause::syscall,
             "close (client pid 4100 tid 4100)", 300'000);
    b.hop(EventKind::syscall_enter, Layer::application, false, 300'000, kClientPid, "close enter", 0, close_c);
    b.hop(EventKind::inet_sock_set_state, Layer::transport, false, 301'000, kClientPid,
          "ESTABLISHED -> FIN-WAIT-1");
    b.wire_hops(303'000, 52, kClientPid);
    b.frame(304'200, 52, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [F.], seq 19, ack 19, length 0");

    b.packet(D::server_to_client, K::teardown, A, 19, 20, 0, Cause::reply, "reply to #7 (FIN)", 307'200);
    b.wire_hops(307'500, 52, kClientPid);
    b.frame(308'700, 52, "IP 127.0.0.1.8080 > 127.0.0.1.41234: Flags [.], ack 20, length 0");

    b.packet(D::server_to_client, K::teardown, F | A, 19, 20, 0, Cause::syscall,
             "close (server pid 4101 tid 4101)", 330'000);
    b.hop(EventKind::syscall_enter, Layer::application, false, 330'000, kServerPid, "close enter", 0, close_s);
    b.wire_hops(332'000, 52, kServerPid);
    b.frame(333'200, 52, "IP 127.0.0.1.8080 > 127.0.0.1.41234: Flags [F.], seq 19, ack 20, length 0");

    b.packet(D::client_to_server, K::teardown, A, 20, 20, 0, Cause::reply, "reply to #9 (FIN)", 336'500);
    b.wire_hops(336'800, 52, kServerPid);
    b.frame(338'000, 52, "IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [.], ack 20, length 0");

    // A frame nobody traced (another program's traffic on lo).
    Frame stray;
    stray.index = b.frames_++;
    stray.t_ns = kT0 + 250'000;
    stray.link_type = 1;
    Packet tmp;
    tmp.flow.protocol = IPPROTO_TCP;
    tmp.flow.src = v4("127.0.0.1", 5555);
    tmp.flow.dst = v4("127.0.0.1", 6666);
    tmp.tcp_flags = S;
    stray.bytes = JourneyBuilder::ethernet_ipv4_tcp(tmp, 40);
    stray.wire_len = stray.captured_len = 54;
    stray.summary = "IP 127.0.0.1.5555 > 127.0.0.1.6666: Flags [S], seq 0, length 0";
    b.j.unmatched_frames.push_back(stray);
    b.j.stats.frames++;

    b.j.layer_summary = {
        {Layer::application, false, 1'500, 2},  {Layer::transport, false, 2'500, 2},
        {Layer::device, false, 1'200, 2},       {Layer::receive, true, 2'900, 2},
        {Layer::transport, true, 6'000, 2},     {Layer::socket, true, 19'900, 2},
        {Layer::application, true, 600, 2},
    };
    b.j.stats.events = 123;
    b.j.stats.data_packets = 2;
    b.j.stats.median_one_way_ns = 30'500;
    b.j.stats.packets_without_frame = 0;
    return b.j;
}

}  // namespace tpk::report::testing
