#include "netlink/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>

#include "netlink/netlink_socket.h"
#include "netlink/processes.h"
#include "util/fd.h"

namespace tpk::netlink {
namespace {

struct StateName {
    int state;
    std::string_view name;
};
constexpr StateName kStateNames[] = {
    {kEstablished, "ESTAB"},     {kSynSent, "SYN-SENT"},      {kSynRecv, "SYN-RECV"},
    {kFinWait1, "FIN-WAIT-1"},   {kFinWait2, "FIN-WAIT-2"},   {kTimeWait, "TIME-WAIT"},
    {kClose, "UNCONN"},          {kCloseWait, "CLOSE-WAIT"},  {kLastAck, "LAST-ACK"},
    {kListen, "LISTEN"},         {kClosing, "CLOSING"},       {kNewSynRecv, "NEW-SYN-RECV"},
    {kBoundInactive, "BOUND-INACTIVE"},
};

struct StateFilterName {
    std::string_view name;
    std::uint32_t mask;
};
constexpr StateFilterName kStateFilters[] = {
    {"established", 1u << kEstablished}, {"syn-sent", 1u << kSynSent},
    {"syn-recv", 1u << kSynRecv},        {"fin-wait-1", 1u << kFinWait1},
    {"fin-wait-2", 1u << kFinWait2},     {"time-wait", 1u << kTimeWait},
    {"closed", 1u << kClose},            {"unconnected", 1u << kClose},
    {"close-wait", 1u << kCloseWait},    {"last-ack", 1u << kLastAck},
    {"listening", 1u << kListen},        {"listen", 1u << kListen},
    {"closing", 1u << kClosing},         {"all", kAllStates},
    {"connected", kConnectedStates},
    {"synchronized", kConnectedStates & ~(1u << kSynSent)},
    {"bucket", kMiniSocketStates},       {"big", kAllStates & ~kMiniSocketStates},
};

std::string endpoint_text(const InetEndpoint& e) {
    // Appends rather than operator+ chains: GCC 12 warns falsely on those (-Wrestrict, PR105329).
    std::string text;
    if (e.address.family == AF_INET6)
        text.append("[").append(e.address.to_string()).append("]");
    else
        text.append(e.address.to_string());
    text.append(":").append(e.port == 0 ? std::string("*") : std::to_string(e.port));
    return text;
}

// ---- inet_diag ---------------------------------------------------------

void read_tcp_info(const nlattr* attr, TcpInfo& out) {
    tcp_info raw{};
    std::memcpy(&raw, mnl_attr_get_payload(attr),
                std::min<std::size_t>(mnl_attr_get_payload_len(attr), sizeof raw));
    out.ca_state = raw.tcpi_ca_state;
    out.retransmits = raw.tcpi_retransmits;
    out.backoff = raw.tcpi_backoff;
    out.snd_wscale = raw.tcpi_snd_wscale;
    out.rcv_wscale = raw.tcpi_rcv_wscale;
    out.delivery_rate_app_limited = raw.tcpi_delivery_rate_app_limited;
    out.rto_us = raw.tcpi_rto;
    out.ato_us = raw.tcpi_ato;
    out.snd_mss = raw.tcpi_snd_mss;
    out.rcv_mss = raw.tcpi_rcv_mss;
    out.unacked = raw.tcpi_unacked;
    out.sacked = raw.tcpi_sacked;
    out.lost = raw.tcpi_lost;
    out.retrans = raw.tcpi_retrans;
    out.last_data_sent_ms = raw.tcpi_last_data_sent;
    out.last_data_recv_ms = raw.tcpi_last_data_recv;
    out.last_ack_recv_ms = raw.tcpi_last_ack_recv;
    out.pmtu = raw.tcpi_pmtu;
    out.rcv_ssthresh = raw.tcpi_rcv_ssthresh;
    out.rtt_us = raw.tcpi_rtt;
    out.rttvar_us = raw.tcpi_rttvar;
    out.min_rtt_us = raw.tcpi_min_rtt;
    out.snd_ssthresh = raw.tcpi_snd_ssthresh;
    out.snd_cwnd = raw.tcpi_snd_cwnd;
    out.advmss = raw.tcpi_advmss;
    out.reordering = raw.tcpi_reordering;
    out.rcv_rtt_us = raw.tcpi_rcv_rtt;
    out.rcv_space = raw.tcpi_rcv_space;
    out.total_retrans = raw.tcpi_total_retrans;
    out.pacing_rate = raw.tcpi_pacing_rate;
    out.delivery_rate = raw.tcpi_delivery_rate;
    out.bytes_sent = raw.tcpi_bytes_sent;
    out.bytes_retrans = raw.tcpi_bytes_retrans;
    out.bytes_acked = raw.tcpi_bytes_acked;
    out.bytes_received = raw.tcpi_bytes_received;
    out.segs_out = raw.tcpi_segs_out;
    out.segs_in = raw.tcpi_segs_in;
    out.data_segs_out = raw.tcpi_data_segs_out;
    out.data_segs_in = raw.tcpi_data_segs_in;
    out.notsent_bytes = raw.tcpi_notsent_bytes;
    out.delivered = raw.tcpi_delivered;
    out.snd_wnd = raw.tcpi_snd_wnd;
    out.busy_time_us = raw.tcpi_busy_time;
}

SocketSnapshot read_inet_message(const nlmsghdr* message, SocketKind kind) {
    const auto* msg = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(message));
    SocketSnapshot s;
    s.kind = kind;
    s.family = msg->idiag_family;
    s.state = msg->idiag_state;
    s.recv_q = msg->idiag_rqueue;
    s.send_q = msg->idiag_wqueue;
    s.local.address = IpAddress::from_bytes(msg->idiag_family, msg->id.idiag_src);
    s.local.port = ntohs(msg->id.idiag_sport);
    s.peer.address = IpAddress::from_bytes(msg->idiag_family, msg->id.idiag_dst);
    s.peer.port = ntohs(msg->id.idiag_dport);
    s.inode = msg->idiag_inode;
    s.uid = msg->idiag_uid;
    s.interface = msg->id.idiag_if;
    s.cookie = static_cast<std::uint64_t>(msg->id.idiag_cookie[1]) << 32 | msg->id.idiag_cookie[0];

    std::shared_ptr<TcpInfo> info;
    for_each_attribute(message, sizeof(inet_diag_msg), [&](const nlattr* attr) {
        switch (mnl_attr_get_type(attr)) {
        case INET_DIAG_INFO:
            if (kind == SocketKind::tcp) {
                if (!info) info = std::make_shared<TcpInfo>();
                read_tcp_info(attr, *info);
            }
            break;
        case INET_DIAG_CONG:
            if (!info) info = std::make_shared<TcpInfo>();
            info->congestion.assign(
                static_cast<const char*>(mnl_attr_get_payload(attr)),
                strnlen(static_cast<const char*>(mnl_attr_get_payload(attr)),
                        mnl_attr_get_payload_len(attr)));
            break;
        default:
            break;
        }
    });
    s.tcp_info = std::move(info);
    return s;
}

Status dump_inet(NetlinkSocket& socket, int family, int protocol, std::uint32_t states,
                 bool with_tcp_info, std::vector<SocketSnapshot>& out) {
    std::vector<char> buffer;
    nlmsghdr* request = socket.start_request(buffer, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
    auto* req = static_cast<inet_diag_req_v2*>(
        mnl_nlmsg_put_extra_header(request, sizeof(inet_diag_req_v2)));
    req->sdiag_family = static_cast<std::uint8_t>(family);
    req->sdiag_protocol = static_cast<std::uint8_t>(protocol);
    req->idiag_states = states;
    if (with_tcp_info && protocol == IPPROTO_TCP)
        req->idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1));
    SocketKind kind = protocol == IPPROTO_TCP ? SocketKind::tcp : SocketKind::udp;
    Status s = socket.exchange(request, [&](const nlmsghdr* message) -> Status {
        if (message->nlmsg_type == SOCK_DIAG_BY_FAMILY)
            out.push_back(read_inet_message(message, kind));
        return {};
    });
    // A kernel without IPv6 (or without udp_diag loaded) has no handler for
    // that family/protocol: inet_diag answers ENOENT. Nothing to list then.
    if (!s && s.error().code == ENOENT) return {};
    if (!s) {
        return wrap(std::move(s).take_error(),
                    std::string("sock_diag dump of ") + (family == AF_INET ? "IPv4 " : "IPv6 ") +
                        (protocol == IPPROTO_TCP ? "TCP" : "UDP"));
    }
    return {};
}

// The SYN queue of a listener: request sockets (inode 0, SYN-RECV) on its
// port and address. inet_diag reports them as TCP_SYN_RECV although the
// kernel keeps them as TCP_NEW_SYN_RECV (inet_diag_fill_req). A request for
// IPv4 on a dual-stack [::] listener is an AF_INET request sock, so the two
// families are counted together. SO_REUSEPORT listeners on one port share
// the count: netlink does not say which listener a request belongs to.
void count_syn_queues(std::vector<SocketSnapshot>& sockets) {
    for (auto& listener : sockets) {
        if (listener.kind != SocketKind::tcp || listener.state != kListen) continue;
        std::uint32_t count = 0;
        for (const auto& r : sockets) {
            if (r.kind != SocketKind::tcp || r.state != kSynRecv || r.inode != 0) continue;
            if (r.local.port != listener.local.port) continue;
            bool address_matches = listener.local.address.is_unspecified()
                                       ? (listener.family == AF_INET6 || r.family == AF_INET)
                                       : r.local.address == listener.local.address;
            if (address_matches) ++count;
        }
        listener.syn_queue = count;
    }
}

// ---- unix_diag ---------------------------------------------------------

SocketKind unix_kind(int type) {
    if (type == SOCK_DGRAM) return SocketKind::unix_dgram;
    if (type == SOCK_SEQPACKET) return SocketKind::unix_seqpacket;
    return SocketKind::unix_stream;
}

SocketSnapshot read_unix_message(const nlmsghdr* message) {
    const auto* msg = static_cast<const unix_diag_msg*>(mnl_nlmsg_get_payload(message));
    SocketSnapshot s;
    s.kind = unix_kind(msg->udiag_type);
    s.family = AF_UNIX;
    s.state = msg->udiag_state;
    s.inode = msg->udiag_ino;
    s.cookie = static_cast<std::uint64_t>(msg->udiag_cookie[1]) << 32 | msg->udiag_cookie[0];
    for_each_attribute(message, sizeof(unix_diag_msg), [&](const nlattr* attr) {
        switch (mnl_attr_get_type(attr)) {
        case UNIX_DIAG_NAME: {
            const char* name = static_cast<const char*>(mnl_attr_get_payload(attr));
            std::size_t length = mnl_attr_get_payload_len(attr);
            // An abstract name starts with a NUL byte (unix(7)); print it "@name".
            if (length > 0 && name[0] == '\0') {
                s.unix_path.assign(name, length);  // keeps embedded NULs of abstract names
                s.unix_path[0] = '@';
            } else {
                s.unix_path.assign(name, strnlen(name, length));
            }
            break;
        }
        case UNIX_DIAG_PEER:
            s.peer_inode = mnl_attr_get_u32(attr);
            break;
        case UNIX_DIAG_RQLEN: {
            unix_diag_rqlen rq{};
            std::memcpy(&rq, mnl_attr_get_payload(attr),
                        std::min<std::size_t>(mnl_attr_get_payload_len(attr), sizeof rq));
            s.recv_q = rq.udiag_rqueue;
            s.send_q = rq.udiag_wqueue;
            break;
        }
        case UNIX_DIAG_UID:
            s.uid = mnl_attr_get_u32(attr);
            break;
        default:
            break;
        }
    });
    return s;
}

Status dump_unix(NetlinkSocket& socket, std::uint32_t states, std::vector<SocketSnapshot>& out) {
    std::vector<char> buffer;
    nlmsghdr* request = socket.start_request(buffer, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
    auto* req = static_cast<unix_diag_req*>(
        mnl_nlmsg_put_extra_header(request, sizeof(unix_diag_req)));
    req->sdiag_family = AF_UNIX;
    req->udiag_states = states;
    req->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    Status s = socket.exchange(request, [&](const nlmsghdr* message) -> Status {
        if (message->nlmsg_type == SOCK_DIAG_BY_FAMILY) out.push_back(read_unix_message(message));
        return {};
    });
    if (!s) return wrap(std::move(s).take_error(), "sock_diag dump of UNIX sockets");
    return {};
}

// How many sockets a full listing may hold, from /proc/net/sockstat (this
// network namespace's counts): "sockets: used" (every socket with a file)
// plus "TCP: tw". Reserving that up front means the snapshots are written
// once into one block instead of being moved through ever larger ones:
// memory never touched costs nothing, so a generous guess is free, and a
// short one only means the vector grows as before.
std::size_t expected_sockets() {
    UniqueFd fd(::open("/proc/net/sockstat", O_RDONLY | O_CLOEXEC));
    char text[1024];
    ssize_t n = fd ? ::read(fd.get(), text, sizeof text - 1) : -1;
    if (n <= 0) return 0;
    std::string_view stat(text, static_cast<std::size_t>(n));
    auto number_after = [&](std::string_view key) -> std::size_t {
        auto at = stat.find(key);
        if (at == std::string_view::npos) return 0;
        std::size_t value = 0;
        const char* start = stat.data() + at + key.size();
        std::from_chars(start, stat.data() + stat.size(), value);
        return value;
    };
    return std::min<std::size_t>(number_after("sockets: used ") + number_after(" tw "), 1u << 22);
}

}  // namespace

std::string_view netid(SocketKind kind) {
    switch (kind) {
    case SocketKind::tcp: return "tcp";
    case SocketKind::udp: return "udp";
    case SocketKind::unix_stream: return "u_str";
    case SocketKind::unix_dgram: return "u_dgr";
    case SocketKind::unix_seqpacket: return "u_seq";
    }
    return "?";
}

bool is_unix(SocketKind kind) {
    return kind == SocketKind::unix_stream || kind == SocketKind::unix_dgram ||
           kind == SocketKind::unix_seqpacket;
}

std::string_view state_name(int state) {
    for (const auto& s : kStateNames)
        if (s.state == state) return s.name;
    return "UNKNOWN";
}

Result<std::uint32_t> parse_state_filter(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    for (const auto& f : kStateFilters)
        if (f.name == lower) return f.mask;
    std::string valid;
    for (const auto& f : kStateFilters) valid += (valid.empty() ? "" : ", ") + std::string(f.name);
    return make_error("unknown socket state '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string SocketSnapshot::local_text() const {
    if (family == AF_UNIX) return unix_path.empty() ? "*" : unix_path;
    return endpoint_text(local);
}

std::string SocketSnapshot::peer_text() const {
    if (family == AF_UNIX) return "*";
    return endpoint_text(peer);
}

Result<std::vector<SocketSnapshot>> list_sockets(const SocketQuery& query) {
    auto socket = NetlinkSocket::open(NETLINK_SOCK_DIAG);
    if (!socket) return wrap(std::move(socket).take_error(), "sock_diag");
    std::vector<SocketSnapshot> sockets;
    sockets.reserve(expected_sockets());
    // Listeners need their request sockets to count the SYN queue.
    std::uint32_t tcp_states = query.states;
    if (tcp_states & (1u << kListen)) tcp_states |= 1u << kSynRecv;
    for (int family : {AF_INET, AF_INET6}) {
        if (query.tcp) {
            Status s = dump_inet(*socket, family, IPPROTO_TCP, tcp_states, query.with_tcp_info,
                                 sockets);
            if (!s) return std::move(s).take_error();
        }
    }
    count_syn_queues(sockets);
    std::erase_if(sockets, [&](const SocketSnapshot& s) {
        return !(query.states & (1u << s.state));
    });
    for (int family : {AF_INET, AF_INET6}) {
        if (query.udp) {
            Status s = dump_inet(*socket, family, IPPROTO_UDP, query.states, false, sockets);
            if (!s) return std::move(s).take_error();
        }
    }
    if (query.unix_sockets) {
        Status s = dump_unix(*socket, query.states, sockets);
        if (!s) return std::move(s).take_error();
    }
    return sockets;
}

Result<std::vector<SocketSnapshot>> snapshot_sockets(std::span<const std::uint64_t> inodes) {
    SocketQuery query;
    query.with_tcp_info = true;
    auto all = list_sockets(query);
    if (!all) return std::move(all).take_error();
    std::vector<SocketSnapshot> found;
    for (auto& s : *all)
        if (std::find(inodes.begin(), inodes.end(), s.inode) != inodes.end())
            found.push_back(std::move(s));
    attach_processes(found, scan_socket_owners());
    return found;
}

namespace {

bool same_endpoint(const InetEndpoint& a, const model::Endpoint& b) {
    return a.port == b.port && a.address.family == b.family &&
           std::equal(b.addr.begin(), b.addr.begin() + a.address.size(), a.address.bytes.begin());
}

bool on_flow(const SocketSnapshot& s, const model::Flow& f) {
    if (f.protocol == 0)
        return s.inode != 0 && (s.inode == f.unix_inode || s.inode == f.unix_peer_inode);
    bool protocol = (f.protocol == IPPROTO_TCP) == (s.kind == SocketKind::tcp);
    return protocol && ((same_endpoint(s.local, f.src) && same_endpoint(s.peer, f.dst)) ||
                        (same_endpoint(s.local, f.dst) && same_endpoint(s.peer, f.src)));
}

}  // namespace

Result<std::vector<SocketSnapshot>> snapshot_flow(const model::Flow& flow) {
    SocketQuery query;
    query.with_tcp_info = true;
    query.tcp = flow.protocol == IPPROTO_TCP;
    query.udp = flow.protocol == IPPROTO_UDP;
    query.unix_sockets = flow.protocol == 0;
    auto all = list_sockets(query);
    if (!all) return std::move(all).take_error();
    std::erase_if(*all, [&](const SocketSnapshot& s) { return !on_flow(s, flow); });
    attach_processes(*all, scan_socket_owners());
    return all;
}

Result<std::uint64_t> socket_inode(int fd) {
    struct stat st {};
    if (fstat(fd, &st) < 0) return errno_error("fstat socket fd " + std::to_string(fd));
    if (!S_ISSOCK(st.st_mode)) return make_error("fd " + std::to_string(fd) + " is not a socket");
    return static_cast<std::uint64_t>(st.st_ino);
}

}  // namespace tpk::netlink
