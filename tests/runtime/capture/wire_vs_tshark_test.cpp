// Captures real traffic this test makes in a network namespace of its own
// (so nobody else's packets mix in), then checks for every captured packet
// that our decoder's addresses, ports, protocol, TCP flags, raw seq/ack,
// window, payload length, MSS, wscale, timestamps and SACK blocks equal what
// `tshark -T fields` reports for the same file.
//
// Traffic: TCP over 127.0.0.1 (handshake, data, a SACK provoked by injecting
// an out-of-order segment through a raw socket, FIN) and a connection reset
// (SO_LINGER 0); UDP; ICMP echo over a raw socket; TCP, UDP and ICMPv6 echo
// over ::1; ARP (and ICMP port unreachable) across a veth pair into a second
// namespace. Two captures: lo (Ethernet frames) and `any` (Linux cooked v2).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "capture/pcapng_writer.h"
#include "capture/session.h"
#include "capture/source.h"
#include "decode/packet.h"
#include "decode/text.h"
#include "util/fd.h"

namespace fs = std::filesystem;
using namespace tpk;

namespace {

// ---------------------------------------------------------------------------
// Small process and socket helpers (test plumbing, errors become strings).

std::string run_output(const std::string& command, int* status = nullptr) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return out;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    if (status) *status = st;
    return out;
}

bool have_tool(const std::string& name) {
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

bool sh(const std::string& command, std::string* error) {
    int status = 0;
    const std::string out = run_output(command + " 2>&1", &status);
    if (status != 0 && error->empty()) *error = "`" + command + "` failed: " + out;
    return status == 0;
}

void set_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

sockaddr_storage loopback(int family, std::uint16_t port) {
    sockaddr_storage ss{};
    if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
    }
    return ss;
}

socklen_t sa_len(int family) { return family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6); }

void read_exactly(int fd, std::size_t n) {
    std::vector<char> buf(n);
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd, buf.data() + got, n - got, 0);
        if (r <= 0) return;
        got += static_cast<std::size_t>(r);
    }
}

struct TcpPair {
    UniqueFd client;
    UniqueFd server;
};

TcpPair tcp_pair(int family) {
    UniqueFd listener(::socket(family, SOCK_STREAM, 0));
    auto addr = loopback(family, 0);
    ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sa_len(family));
    ::listen(listener.get(), 4);
    addr = loopback(family, bound_port(listener.get()));
    TcpPair p;
    p.client.reset(::socket(family, SOCK_STREAM, 0));
    ::connect(p.client.get(), reinterpret_cast<sockaddr*>(&addr), sa_len(family));
    p.server.reset(::accept(listener.get(), nullptr, nullptr));
    set_timeout(p.client.get(), 3);
    set_timeout(p.server.get(), 3);
    return p;
}

// ---------------------------------------------------------------------------
// SACK: the receiver reports a SACK block when a segment arrives beyond a
// hole. We read the client's next sequence number with TCP_REPAIR (root)
// and inject a segment 100 bytes ahead of it through a raw socket.

std::uint16_t checksum(const std::vector<std::uint8_t>& bytes, std::uint32_t sum) {
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    if (bytes.size() % 2) sum += bytes.back() << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

bool queue_seq(int fd, int queue, std::uint32_t* seq) {
    socklen_t len = sizeof *seq;
    return ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue) == 0 &&
           ::getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len) == 0;
}

bool inject_out_of_order(int client, std::string* error) {
    std::uint32_t snd = 0, rcv = 0, tsval = 0;
    int on = 1, off_no_probe = TCP_REPAIR_OFF_NO_WP;
    socklen_t len = sizeof tsval;
    if (::setsockopt(client, IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) != 0 ||
        !queue_seq(client, TCP_SEND_QUEUE, &snd) || !queue_seq(client, TCP_RECV_QUEUE, &rcv) ||
        ::getsockopt(client, IPPROTO_TCP, TCP_TIMESTAMP, &tsval, &len) != 0) {
        *error = std::string("TCP_REPAIR: ") + std::strerror(errno);
        ::setsockopt(client, IPPROTO_TCP, TCP_REPAIR, &off_no_probe, sizeof off_no_probe);
        return false;
    }
    ::setsockopt(client, IPPROTO_TCP, TCP_REPAIR, &off_no_probe, sizeof off_no_probe);
    sockaddr_in local{}, peer{};
    socklen_t alen = sizeof local;
    ::getsockname(client, reinterpret_cast<sockaddr*>(&local), &alen);
    alen = sizeof peer;
    ::getpeername(client, reinterpret_cast<sockaddr*>(&peer), &alen);

    std::vector<std::uint8_t> seg(32 + 50, 'z');
    auto put16 = [&](std::size_t o, std::uint16_t v) { seg[o] = v >> 8; seg[o + 1] = v & 0xff; };
    auto put32 = [&](std::size_t o, std::uint32_t v) { put16(o, v >> 16); put16(o + 2, v & 0xffff); };
    put16(0, ntohs(local.sin_port));
    put16(2, ntohs(peer.sin_port));
    put32(4, snd + 100);
    put32(8, rcv);
    seg[12] = 8 << 4;  // 32-byte header: nop, nop, timestamps
    seg[13] = decode::tcp_ack | decode::tcp_psh;
    put16(14, 512);
    put16(16, 0);
    put16(18, 0);
    seg[20] = 1; seg[21] = 1; seg[22] = 8; seg[23] = 10;
    put32(24, tsval);  // the client's clock: passes the receiver's PAWS check
    put32(28, 0);
    std::vector<std::uint8_t> pseudo(seg);
    std::uint32_t sum = 0;
    const std::uint32_t s = ntohl(local.sin_addr.s_addr), d = ntohl(peer.sin_addr.s_addr);
    sum += (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + IPPROTO_TCP + seg.size();
    put16(16, checksum(seg, sum));
    UniqueFd raw(::socket(AF_INET, SOCK_RAW, IPPROTO_TCP));
    if (!raw || ::sendto(raw.get(), seg.data(), seg.size(), 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer) < 0) {
        *error = std::string("raw TCP send: ") + std::strerror(errno);
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------
// Traffic

void tcp_exchange(int family, bool provoke_sack, std::string* error) {
    TcpPair p = tcp_pair(family);
    const std::string request(1000, 'q'), reply(500, 'r');
    ::send(p.client.get(), request.data(), request.size(), 0);
    read_exactly(p.server.get(), request.size());
    ::send(p.server.get(), reply.data(), reply.size(), 0);
    read_exactly(p.client.get(), reply.size());
    if (provoke_sack && inject_out_of_order(p.client.get(), error)) {
        // The hole is filled by the client's next 300 bytes; the server then
        // holds 300 in-order bytes (its copy of 100..150 came from us).
        const std::string more(300, 'm');
        ::send(p.client.get(), more.data(), more.size(), 0);
        read_exactly(p.server.get(), more.size());
    }
    ::shutdown(p.client.get(), SHUT_WR);  // FIN
    char c;
    (void)::recv(p.server.get(), &c, 1, 0);  // sees EOF
    p.server.reset();                        // FIN back
    (void)::recv(p.client.get(), &c, 1, 0);
}

void tcp_reset(int family) {
    TcpPair p = tcp_pair(family);
    ::send(p.client.get(), "abc", 3, 0);
    read_exactly(p.server.get(), 3);
    linger l{1, 0};  // close with SO_LINGER 0 sends RST (tcp_disconnect)
    ::setsockopt(p.client.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    p.client.reset();
    char c;
    (void)::recv(p.server.get(), &c, 1, 0);  // ECONNRESET: the RST arrived
}

void udp_exchange(int family) {
    UniqueFd rx(::socket(family, SOCK_DGRAM, 0)), tx(::socket(family, SOCK_DGRAM, 0));
    auto addr = loopback(family, 0);
    ::bind(rx.get(), reinterpret_cast<sockaddr*>(&addr), sa_len(family));
    addr = loopback(family, bound_port(rx.get()));
    set_timeout(rx.get(), 3);
    ::sendto(tx.get(), "datagram", 8, 0, reinterpret_cast<sockaddr*>(&addr), sa_len(family));
    char buf[64];
    (void)::recv(rx.get(), buf, sizeof buf, 0);
}

void icmp_echo(int family) {
    const int proto = family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
    UniqueFd s(::socket(family, SOCK_RAW, proto));
    set_timeout(s.get(), 2);
    std::vector<std::uint8_t> msg(8 + 32, 0x61);
    msg[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
    msg[1] = 0;
    msg[2] = msg[3] = 0;
    msg[4] = 0x12; msg[5] = 0x34;  // id
    msg[6] = 0; msg[7] = 1;        // seq
    if (family == AF_INET) {  // the kernel fills the ICMPv6 checksum itself (RFC 3542)
        const std::uint16_t c = checksum(msg, 0);
        msg[2] = c >> 8; msg[3] = c & 0xff;
    }
    auto addr = loopback(family, 0);
    ::sendto(s.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&addr), sa_len(family));
    char buf[256];
    for (int i = 0; i < 3; ++i) {  // our own request may come back first
        const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        const int off = family == AF_INET ? (buf[0] & 0x0f) * 4 : 0;
        const auto type = static_cast<std::uint8_t>(buf[off]);
        if (type == ICMP_ECHOREPLY || type == ICMP6_ECHO_REPLY) break;
    }
}

// UDP to the far end of the veth pair: ARP request/reply first, then the
// peer's ICMP port unreachable, which recv reports as ECONNREFUSED.
void arp_round_trip(std::string* error) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM, 0));
    set_timeout(s.get(), 3);
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(9);
    inet_pton(AF_INET, "10.213.0.2", &peer.sin_addr);
    ::connect(s.get(), reinterpret_cast<sockaddr*>(&peer), sizeof peer);
    ::send(s.get(), "who", 3, 0);
    char c;
    if (::recv(s.get(), &c, 1, 0) >= 0 || errno != ECONNREFUSED)
        *error = std::string("no ICMP port unreachable from 10.213.0.2: ") + std::strerror(errno);
}

// ---------------------------------------------------------------------------
// Capturing into pcapng files with our writer.

class PcapngSink : public capture::FrameSink {
public:
    explicit PcapngSink(capture::PcapngWriter w) : w_(std::move(w)) {}
    Status on_frame(const capture::RawFrame& f) override { return w_.write_packet(f.sec, f.nsec, f.data, f.wire_length); }
    Status close() { return w_.close(); }

private:
    capture::PcapngWriter w_;
};

struct LiveCapture {
    std::optional<capture::Source> source;
    std::string path;
};

bool open_capture(const std::string& iface, const std::string& path, LiveCapture* out, std::string* error) {
    capture::LiveOptions o;
    o.interface = iface;
    if (iface == "any") o.link_type = "LINUX_SLL2";  // libpcap 1.10 defaults to v1 (covered by a fixture)
    // Immediate mode uses TPACKET_V2, one ring slot per packet sized for lo's
    // 64 KiB MTU: 32 MiB holds ~500 packets, several times what we send
    // before draining.
    o.buffer_bytes = 32 << 20;
    auto s = capture::Source::open_live(o);
    if (!s) {
        *error = s.error().message();
        return false;
    }
    out->source.emplace(std::move(*s));
    out->path = path;
    return true;
}

// Everything sent has already been delivered into the ring (lo and veth
// receive in the sender's softirq), so drain it once with the stop fd set.
bool drain(LiveCapture& c, int stop_fd, std::string* error) {
    capture::PcapngInterface iface;
    iface.link_type = c.source->link_type();
    iface.name = c.source->name();
    auto w = capture::PcapngWriter::create(c.path, iface);
    if (!w) {
        *error = w.error().message();
        return false;
    }
    PcapngSink sink(std::move(*w));
    Status s = c.source->run(sink, 0, stop_fd);
    Status closed = sink.close();
    if (!s || !closed) {
        *error = !s ? s.error().message() : closed.error().message();
        return false;
    }
    auto st = c.source->stats();
    if (st.ok() && st->dropped_by_kernel != 0) {
        *error = fmt::format("capture on {} dropped {} packets", c.source->name(), st->dropped_by_kernel);
        return false;
    }
    return true;
}

// The whole scenario runs on one thread that moved into a new network
// namespace; the peer namespace is an `unshare -n` shell it talks to.
struct ScenarioResult {
    std::string error;
    std::string sack_error;
};

ScenarioResult run_scenario(const std::string& lo_file, const std::string& any_file) {
    ScenarioResult r;
    std::thread t([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            r.error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        if (!sh("ip link set lo up", &r.error)) return;
        int to_peer[2], from_peer[2];
        if (::pipe(to_peer) != 0 || ::pipe(from_peer) != 0) {
            r.error = "pipe failed";
            return;
        }
        const pid_t peer = ::fork();
        if (peer == 0) {
            ::dup2(to_peer[0], 0);
            ::dup2(from_peer[1], 1);
            ::close(to_peer[1]);
            ::close(from_peer[0]);
            ::execlp("unshare", "unshare", "-n", "sh", "-c",
                     "read go; ip link set lo up && ip addr add 10.213.0.2/24 dev tpkv1 && "
                     "ip link set tpkv1 up && echo ready; read done",
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(to_peer[0]);
        ::close(from_peer[1]);
        UniqueFd tell(to_peer[1]), hear(from_peer[0]);
        auto finish_peer = [&] {
            tell.reset();  // EOF ends `read done`; the peer namespace dies with it
            ::waitpid(peer, nullptr, 0);
        };
        // The peer has unshared once it reads "go"; give the link to its pid.
        bool ok = sh("for i in $(seq 50); do [ \"$(readlink /proc/" + std::to_string(peer) +
                         "/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ] && exit 0; sleep 0.1; done; exit 1",
                     &r.error) &&
                  sh("ip link add tpkv0 type veth peer name tpkv1 netns " + std::to_string(peer), &r.error) &&
                  sh("ip addr add 10.213.0.1/24 dev tpkv0 && ip link set tpkv0 up", &r.error);
        if (ok) {
            (void)!::write(tell.get(), "go\n", 3);
            char buf[16] = {};
            ok = ::read(hear.get(), buf, sizeof buf) > 0 && std::string(buf).starts_with("ready");
            if (!ok && r.error.empty()) r.error = "peer namespace did not configure tpkv1";
        }
        LiveCapture lo, any;
        if (ok) ok = open_capture("lo", lo_file, &lo, &r.error) && open_capture("any", any_file, &any, &r.error);
        if (ok) {
            tcp_exchange(AF_INET, true, &r.sack_error);
            tcp_reset(AF_INET);
            udp_exchange(AF_INET);
            icmp_echo(AF_INET);
            tcp_exchange(AF_INET6, false, &r.sack_error);
            udp_exchange(AF_INET6);
            icmp_echo(AF_INET6);
            arp_round_trip(&r.error);
            UniqueFd stop(::eventfd(1, 0));
            ok = drain(lo, stop.get(), &r.error) && drain(any, stop.get(), &r.error);
        }
        finish_peer();
    });
    t.join();
    return r;
}

// ---------------------------------------------------------------------------
// The comparison

const std::vector<std::string> kFields = {
    "frame.time_epoch",          "ip.src",
    "ip.dst",                    "ip.proto",
    "ipv6.src",                  "ipv6.dst",
    "ipv6.nxt",                  "tcp.srcport",
    "tcp.dstport",               "tcp.flags",
    "tcp.seq_raw",               "tcp.ack_raw",
    "tcp.window_size_value",     "tcp.len",
    "tcp.options.mss_val",       "tcp.options.wscale.shift",
    "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
    "tcp.options.sack_le",       "tcp.options.sack_re",
    "udp.srcport",               "udp.dstport",
    "udp.length",                "icmp.type",
    "icmp.code",                 "icmp.ident",
    "icmp.seq",                  "icmpv6.type",
    "icmpv6.code",               "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number", "arp.opcode",
    "arp.src.proto_ipv4",        "arp.dst.proto_ipv4",
    "arp.src.hw_mac",
};

using Row = std::map<std::string, std::string>;

std::string address_text(const decode::IpAddress& a) {
    fmt::memory_buffer b;
    decode::append_address(a, b);
    return fmt::to_string(b);
}

// Numbers tshark prints in hex (tcp.flags 0x0012, icmp.ident 0x1234) as decimal.
std::string normalise(const std::string& field, const std::string& v) {
    if (v.starts_with("0x")) return std::to_string(std::stoul(v, nullptr, 16));
    (void)field;
    return v;
}

Row our_row(const decode::Packet& p, const capture::RawFrame& f) {
    using decode::Transport;
    Row r;
    r["frame.time_epoch"] = fmt::format("{}.{:09}", f.sec, f.nsec);
    if (p.network == decode::Network::ipv4) {
        r["ip.src"] = address_text(p.src);
        r["ip.dst"] = address_text(p.dst);
        r["ip.proto"] = std::to_string(p.ipv4.protocol);
    } else if (p.network == decode::Network::ipv6) {
        r["ipv6.src"] = address_text(p.src);
        r["ipv6.dst"] = address_text(p.dst);
        r["ipv6.nxt"] = std::to_string(p.ipv6.next_header);
    } else if (p.network == decode::Network::arp) {
        r["arp.opcode"] = std::to_string(p.arp.operation);
        r["arp.src.proto_ipv4"] = address_text(p.src);
        r["arp.dst.proto_ipv4"] = address_text(p.dst);
        fmt::memory_buffer mac;
        decode::append_mac(p.arp.sender_mac, mac);
        r["arp.src.hw_mac"] = fmt::to_string(mac);
    }
    if (p.transport == Transport::tcp) {
        const auto& t = p.tcp;
        r["tcp.srcport"] = std::to_string(t.src_port);
        r["tcp.dstport"] = std::to_string(t.dst_port);
        r["tcp.flags"] = std::to_string(t.flags);
        r["tcp.seq_raw"] = std::to_string(t.seq);
        r["tcp.ack_raw"] = std::to_string(t.ack);
        r["tcp.window_size_value"] = std::to_string(t.window);
        r["tcp.len"] = std::to_string(p.payload_length);
        if (t.has_mss) r["tcp.options.mss_val"] = std::to_string(t.mss);
        if (t.has_wscale) r["tcp.options.wscale.shift"] = std::to_string(t.wscale);
        if (t.has_timestamps) {
            r["tcp.options.timestamp.tsval"] = std::to_string(t.ts_val);
            r["tcp.options.timestamp.tsecr"] = std::to_string(t.ts_ecr);
        }
        if (t.sack_count) {
            r["tcp.options.sack_le"] = std::to_string(t.sack[0].left);
            r["tcp.options.sack_re"] = std::to_string(t.sack[0].right);
        }
    } else if (p.transport == Transport::udp) {
        r["udp.srcport"] = std::to_string(p.udp.src_port);
        r["udp.dstport"] = std::to_string(p.udp.dst_port);
        r["udp.length"] = std::to_string(p.udp.length);
    } else if (p.transport == Transport::icmp) {
        r["icmp.type"] = std::to_string(p.icmp.type);
        r["icmp.code"] = std::to_string(p.icmp.code);
        if (p.icmp.is_echo) {
            r["icmp.ident"] = std::to_string(p.icmp.id);
            r["icmp.seq"] = std::to_string(p.icmp.seq);
        }
    } else if (p.transport == Transport::icmpv6) {
        r["icmpv6.type"] = std::to_string(p.icmp.type);
        r["icmpv6.code"] = std::to_string(p.icmp.code);
        if (p.icmp.is_echo) {
            r["icmpv6.echo.identifier"] = std::to_string(p.icmp.id);
            r["icmpv6.echo.sequence_number"] = std::to_string(p.icmp.seq);
        }
    }
    return r;
}

class RowSink : public capture::FrameSink {
public:
    explicit RowSink(int link) : link_(link) {}
    Status on_frame(const capture::RawFrame& f) override {
        decode::decode_frame(link_, f.data, f.wire_length, packet_);
        rows.push_back(our_row(packet_, f));
        if (packet_.has_malformed) malformed.push_back(rows.size());
        if (packet_.transport == decode::Transport::tcp) {
            tcp_flags.push_back(packet_.tcp.flags);
            if (packet_.tcp.sack_count) ++sack_segments;
            if (packet_.src.family == decode::Family::ipv6) ++tcp6;
        }
        if (packet_.network == decode::Network::arp) arp_ops.push_back(packet_.arp.operation);
        if (packet_.transport == decode::Transport::udp) ++(packet_.src.family == decode::Family::ipv4 ? udp4 : udp6);
        if (packet_.transport == decode::Transport::icmp) icmp_types.push_back(packet_.icmp.type);
        if (packet_.transport == decode::Transport::icmpv6) icmp6_types.push_back(packet_.icmp.type);
        return {};
    }
    std::vector<Row> rows;
    std::vector<std::size_t> malformed;
    std::vector<std::uint8_t> tcp_flags, icmp_types, icmp6_types;
    std::vector<std::uint16_t> arp_ops;
    int sack_segments = 0, tcp6 = 0, udp4 = 0, udp6 = 0;

private:
    int link_;
    decode::Packet packet_;
};

std::vector<Row> tshark_rows(const std::string& file) {
    std::string cmd = "tshark -r " + file +
                      " -o tcp.relative_sequence_numbers:FALSE -T fields -E occurrence=f -E separator=/t";
    for (const auto& f : kFields) cmd += " -e " + f;
    const std::string out = run_output(cmd + " 2>/dev/null");
    std::vector<Row> rows;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        Row r;
        std::size_t start = 0;
        for (std::size_t i = 0; i < kFields.size(); ++i) {
            const std::size_t tab = line.find('\t', start);
            const std::string v = line.substr(start, tab == std::string::npos ? std::string::npos : tab - start);
            if (!v.empty()) r[kFields[i]] = normalise(kFields[i], v);
            start = tab == std::string::npos ? line.size() : tab + 1;
        }
        // An ICMP error quotes the offending datagram; tshark then reports the
        // quoted header's ports, which are not the packet's own transport.
        if (r.count("icmp.type") || r.count("icmpv6.type")) {
            for (auto it = r.begin(); it != r.end();)
                it = it->first.starts_with("tcp.") || it->first.starts_with("udp.") ? r.erase(it) : std::next(it);
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

RowSink decode_file(const std::string& path) {
    auto source = capture::Source::open_file(path);
    EXPECT_TRUE(source.ok()) << (source.ok() ? "" : source.error().message());
    RowSink sink(source.ok() ? source->link_type() : 1);
    if (source.ok()) {
        Status s = source->run(sink, 0, -1);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
    }
    return sink;
}

void expect_same_as_tshark(const std::string& file, const RowSink& ours) {
    const std::vector<Row> theirs = tshark_rows(file);
    ASSERT_EQ(ours.rows.size(), theirs.size()) << file << ": packet count differs from tshark";
    int mismatches = 0;
    for (std::size_t i = 0; i < theirs.size() && mismatches < 20; ++i) {
        for (const auto& field : kFields) {
            const auto o = ours.rows[i].find(field);
            const auto t = theirs[i].find(field);
            const std::string ov = o == ours.rows[i].end() ? "(none)" : o->second;
            const std::string tv = t == theirs[i].end() ? "(none)" : t->second;
            if (ov != tv) {
                ++mismatches;
                ADD_FAILURE() << file << " packet " << i + 1 << " " << field << ": ours " << ov << ", tshark " << tv;
            }
        }
    }
    EXPECT_TRUE(ours.malformed.empty()) << file << ": packet " << ours.malformed.front() << " decoded as malformed";
}

// Our -nn text for the whole file, as `tracepacket capture -r` prints it.
std::string our_text(const std::string& file) {
    capture::SessionOptions o;
    o.read_path = file;
    o.text.utc = true;
    char* data = nullptr;
    std::size_t size = 0;
    std::FILE* out = open_memstream(&data, &size);
    auto r = capture::run_session(o, out, -1);
    std::fclose(out);
    std::string text(data, size);
    std::free(data);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return text;
}

void expect_same_text_as_tcpdump(const std::string& file) {
    if (!have_tool("tcpdump")) return;
    const std::string theirs = run_output("TZ=UTC tcpdump -nn -r " + file + " 2>/dev/null");
    EXPECT_EQ(our_text(file), theirs) << file << ": our -nn text differs from tcpdump's";
}

bool contains(const std::vector<std::uint8_t>& v, std::uint8_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

class WireVsTshark : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN); run as root";
        if (!have_tool("tshark") || !have_tool("ip") || !have_tool("unshare"))
            GTEST_SKIP() << "needs tshark, ip and unshare; run scripts/install-deps";
        dir_ = fs::temp_directory_path() / ("tpk-capture-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    fs::path dir_;
};

TEST_F(WireVsTshark, EveryPacketMatchesTsharkFields) {
    const std::string lo_file = (dir_ / "lo.pcapng").string();
    const std::string any_file = (dir_ / "any.pcapng").string();
    const ScenarioResult r = run_scenario(lo_file, any_file);
    ASSERT_TRUE(r.error.empty()) << r.error;

    const RowSink lo = decode_file(lo_file);
    expect_same_as_tshark(lo_file, lo);
    expect_same_text_as_tcpdump(lo_file);
    // The traffic we made is all there (a capture that lost it would compare equal too).
    EXPECT_TRUE(contains(lo.tcp_flags, decode::tcp_syn)) << "no SYN captured";
    EXPECT_TRUE(contains(lo.tcp_flags, decode::tcp_syn | decode::tcp_ack)) << "no SYN-ACK captured";
    EXPECT_TRUE(contains(lo.tcp_flags, decode::tcp_rst) || contains(lo.tcp_flags, decode::tcp_rst | decode::tcp_ack))
        << "no RST captured";
    EXPECT_TRUE(contains(lo.tcp_flags, decode::tcp_fin | decode::tcp_ack)) << "no FIN captured";
    EXPECT_TRUE(r.sack_error.empty()) << "could not provoke SACK: " << r.sack_error;
    EXPECT_GE(lo.sack_segments, 1) << "no SACK block captured";
    EXPECT_GE(lo.tcp6, 6) << "TCP over ::1 missing";
    EXPECT_GE(lo.udp4, 1);
    EXPECT_GE(lo.udp6, 1);
    EXPECT_TRUE(contains(lo.icmp_types, ICMP_ECHO) && contains(lo.icmp_types, ICMP_ECHOREPLY));
    EXPECT_TRUE(contains(lo.icmp6_types, ICMP6_ECHO_REQUEST) && contains(lo.icmp6_types, ICMP6_ECHO_REPLY));

    const RowSink any = decode_file(any_file);
    expect_same_text_as_tcpdump(any_file);
    std::printf("compared with tshark: %zu packets on lo, %zu on any\n", lo.rows.size(), any.rows.size());
    // TPK_RECORD_FIXTURES=DIR keeps the two captures (how tests/fixtures/captures/ was made).
    if (const char* keep = std::getenv("TPK_RECORD_FIXTURES")) {
        fs::copy_file(lo_file, fs::path(keep) / "lo-mixed.pcapng", fs::copy_options::overwrite_existing);
        fs::copy_file(any_file, fs::path(keep) / "any-sll2-veth-arp.pcapng", fs::copy_options::overwrite_existing);
    }
    expect_same_as_tshark(any_file, any);
    EXPECT_NE(std::find(any.arp_ops.begin(), any.arp_ops.end(), 1), any.arp_ops.end()) << "no ARP request";
    EXPECT_NE(std::find(any.arp_ops.begin(), any.arp_ops.end(), 2), any.arp_ops.end()) << "no ARP reply";
    EXPECT_TRUE(contains(any.icmp_types, ICMP_DEST_UNREACH)) << "no ICMP port unreachable";
}

}  // namespace
