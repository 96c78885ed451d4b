// tracepacket sockets: which sockets exist, in which state, with what queued
// (ss-style), their tcp_info, the kernel's TCP queue counters, and state
// changes as they happen. Data from src/netlink/; this file only chooses and
// formats.
#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command.h"
#include "kernel/tracer.h"
#include "netlink/processes.h"
#include "netlink/sock_diag.h"
#include "netlink/tcp_counters.h"
#include "util/fd.h"

namespace tpk::commands {
namespace {

using netlink::SocketSnapshot;

struct SocketsOptions {
    bool tcp = false, udp = false, unix_sockets = false;
    bool listening = false, all = false, numeric = false;
    bool processes = false, tcp_info = false, json = false, extended = false;
    std::vector<std::string> states;
    std::optional<int> port;
    std::optional<int> pid;
    bool counters = false;
    bool watch = false;
    std::optional<double> interval;  // seconds
    std::optional<std::uint64_t> count;
    std::optional<double> duration;  // seconds
};

// ---- what to list ----------------------------------------------------------

Result<netlink::SocketQuery> make_query(const SocketsOptions& o) {
    netlink::SocketQuery q;
    bool any = o.tcp || o.udp || o.unix_sockets;
    q.tcp = !any || o.tcp;
    q.udp = !any || o.udp;
    q.unix_sockets = !any || o.unix_sockets;
    q.with_tcp_info = o.tcp_info;
    // ss: by default connected sockets without TIME-WAIT and SYN-RECV; -l
    // listening (and unconnected datagram) sockets; -a every state. --state
    // replaces all of that.
    if (!o.states.empty()) {
        q.states = 0;
        for (const auto& s : o.states) {
            auto mask = netlink::parse_state_filter(s);
            if (!mask) return wrap(std::move(mask).take_error(), "--state");
            q.states |= *mask;
        }
    } else if (o.all || o.watch) {
        q.states = netlink::kAllStates;
    } else if (o.listening) {
        q.states = netlink::kListeningStates;
    } else {
        q.states = netlink::kDefaultStates;
    }
    return q;
}

bool owned_by(const SocketSnapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return true;
    return false;
}

Result<std::vector<SocketSnapshot>> collect(const SocketsOptions& o,
                                            const netlink::SocketQuery& q) {
    auto sockets = netlink::list_sockets(q);
    if (!sockets) return std::move(sockets).take_error();
    if (o.processes || o.pid) netlink::attach_processes(*sockets, netlink::scan_socket_owners());
    std::erase_if(*sockets, [&](const SocketSnapshot& s) {
        if (o.port && (netlink::is_unix(s.kind) || (s.local.port != *o.port && s.peer.port != *o.port)))
            return true;
        return o.pid && !owned_by(s, *o.pid);
    });
    return sockets;
}

// ---- text ------------------------------------------------------------------

// Service names from /etc/services only (no DNS), as ss does without -n;
// looked up once per port and protocol (getservbyport_r reads the file).
class ServiceNames {
public:
    const std::string& port_text(std::uint16_t port, netlink::SocketKind kind) {
        bool tcp = kind == netlink::SocketKind::tcp;
        auto [it, added] = names_.try_emplace(static_cast<std::uint32_t>(port) << 1 | tcp);
        if (added) {
            servent entry{}, *found = nullptr;
            char buffer[1024];
            if (getservbyport_r(htons(port), tcp ? "tcp" : "udp", &entry, buffer, sizeof buffer,
                                &found) == 0 && found)
                it->second = found->s_name;
            else
                it->second = std::to_string(port);
        }
        return it->second;
    }

private:
    std::unordered_map<std::uint32_t, std::string> names_;
};

void append_endpoint(std::string& out, const SocketSnapshot& s, const netlink::InetEndpoint& e,
                     bool numeric, ServiceNames& services) {
    if (e.address.family == AF_INET6) out.append("[").append(e.address.to_string()).append("]");
    else out.append(e.address.to_string());
    out.push_back(':');
    if (e.port == 0) out.push_back('*');
    else if (numeric) out.append(std::to_string(e.port));
    else out.append(services.port_text(e.port, s.kind));
}

std::string processes_text(const SocketSnapshot& s) {
    std::string text;
    for (const auto& p : s.processes)
        text += fmt::format("{}{}(pid={},fd={})", text.empty() ? "" : ",", p.command, p.pid, p.fd);
    return text;
}

std::string inode_text(std::uint64_t inode) { return inode ? std::to_string(inode) : "-"; }

constexpr std::size_t kColumns = 10;  // Netid .. Process
constexpr std::array<std::string_view, kColumns> kHeader = {
    "Netid", "State", "Recv-Q", "Send-Q", "SynQ", "Local Address:Port", "Peer Address:Port",
    "Inode", "Peer-Inode", "Process"};

using Cells = std::array<std::string, kColumns>;

// One row's cells, written over the previous row's (their buffers are reused).
void fill_row(Cells& cells, const SocketSnapshot& s, const SocketsOptions& o, ServiceNames& services) {
    bool is_unix = netlink::is_unix(s.kind);
    for (auto& c : cells) c.clear();
    cells[0] = netlink::netid(s.kind);
    cells[1] = netlink::state_name(s.state);
    cells[2] = std::to_string(s.recv_q);
    cells[3] = std::to_string(s.send_q);
    cells[4] = s.syn_queue ? std::to_string(*s.syn_queue) : "-";
    if (is_unix) {
        cells[5] = s.local_text();
        cells[6] = "*";
    } else {
        append_endpoint(cells[5], s, s.local, o.numeric, services);
        append_endpoint(cells[6], s, s.peer, o.numeric, services);
    }
    cells[7] = inode_text(s.inode);
    // A UNIX socket without a peer: 0, as ss prints it (its UNIX_DIAG_PEER is absent).
    cells[8] = is_unix ? std::to_string(s.peer_inode) : "-";
    if (o.processes || o.pid) cells[9] = processes_text(s);
}

std::string rate_text(std::uint64_t bytes_per_second) {
    double bits = static_cast<double>(bytes_per_second) * 8;
    if (bits >= 1e9) return fmt::format("{:.1f}Gbps", bits / 1e9);
    if (bits >= 1e6) return fmt::format("{:.1f}Mbps", bits / 1e6);
    if (bits >= 1e3) return fmt::format("{:.1f}Kbps", bits / 1e3);
    return fmt::format("{:.0f}bps", bits);
}

std::string tcp_info_text(const netlink::TcpInfo& t) {
    return fmt::format(
        "    {} rtt:{:.3f}/{:.3f}ms mss:{} cwnd:{} ssthresh:{} retrans:{}/{} bytes_sent:{} "
        "bytes_acked:{} bytes_received:{} delivery_rate:{}{} lastsnd:{}ms lastrcv:{}ms "
        "lastack:{}ms",
        t.congestion.empty() ? "-" : t.congestion, t.rtt_us / 1000.0, t.rttvar_us / 1000.0,
        t.snd_mss, t.snd_cwnd,
        // The kernel reports "infinite" ssthresh (still in slow start) as
        // TCP_INFINITE_SSTHRESH; ss omits it, we print "-".
        t.snd_ssthresh >= 0x7fffffff ? std::string("-") : std::to_string(t.snd_ssthresh),
        t.retransmits, t.total_retrans, t.bytes_sent, t.bytes_acked, t.bytes_received,
        rate_text(t.delivery_rate), t.delivery_rate_app_limited ? " (app-limited)" : "",
        t.last_data_sent_ms, t.last_data_recv_ms, t.last_ack_recv_ms);
}

// Rows are formatted twice (once for the column widths, once to print)
// rather than held: on thousands of sockets, holding ten strings a row cost
// more in page faults than formatting again. Output goes out in 64 KiB
// writes, not a formatted print per cell (docs/performance.md).
void print_table(const std::vector<SocketSnapshot>& sockets, const SocketsOptions& o) {
    bool show_process = o.processes || o.pid;
    std::size_t columns = show_process ? kColumns : kColumns - 1;
    ServiceNames services;
    Cells cells;
    std::array<std::size_t, kColumns> width{};
    for (std::size_t c = 0; c < columns; ++c) width[c] = kHeader[c].size();
    for (const auto& s : sockets) {
        fill_row(cells, s, o, services);
        for (std::size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], cells[c].size());
    }

    constexpr std::size_t kChunk = 64 * 1024;
    std::string out;
    out.reserve(kChunk + 4096);
    auto flush = [&] {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
    };
    auto append_row = [&](auto cell) {
        for (std::size_t c = 0; c < columns; ++c) {
            std::string_view text = cell(c);
            std::size_t pad = width[c] - text.size();
            bool right = c >= 2 && c <= 4;  // the numbers
            if (right) out.append(pad, ' ');
            out.append(text);
            if (!right && c + 1 < columns) out.append(pad, ' ');
            if (c + 1 < columns) out.append("  ");
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out.push_back('\n');
        if (out.size() >= kChunk) flush();
    };
    append_row([&](std::size_t c) { return kHeader[c]; });
    bool any_listener = false;
    for (const auto& s : sockets) {
        fill_row(cells, s, o, services);
        append_row([&](std::size_t c) -> std::string_view { return cells[c]; });
        if (o.tcp_info && s.tcp_info && s.state != netlink::kListen)
            out.append(tcp_info_text(*s.tcp_info)).push_back('\n');
        any_listener |= s.state == netlink::kListen;
    }
    if (any_listener)
        out.append("\nLISTEN rows: Recv-Q = accept queue (handshakes completed, not yet "
                   "accept()ed), Send-Q = its limit (listen backlog), SynQ = SYN queue "
                   "(request sockets in SYN-RECV).\n");
    flush();
}

// ---- JSON ------------------------------------------------------------------

nlohmann::json endpoint_json(const netlink::InetEndpoint& e) {
    return {{"address", e.address.to_string()}, {"port", e.port}};
}

nlohmann::json tcp_info_json(const netlink::TcpInfo& t) {
    return {
        {"congestion", t.congestion}, {"ca_state", t.ca_state},
        {"rtt_us", t.rtt_us}, {"rttvar_us", t.rttvar_us}, {"min_rtt_us", t.min_rtt_us},
        {"rto_us", t.rto_us}, {"ato_us", t.ato_us},
        {"snd_mss", t.snd_mss}, {"rcv_mss", t.rcv_mss}, {"advmss", t.advmss}, {"pmtu", t.pmtu},
        {"snd_cwnd", t.snd_cwnd}, {"snd_ssthresh", t.snd_ssthresh},
        {"rcv_ssthresh", t.rcv_ssthresh}, {"rcv_space", t.rcv_space}, {"snd_wnd", t.snd_wnd},
        {"snd_wscale", t.snd_wscale}, {"rcv_wscale", t.rcv_wscale},
        {"retransmits", t.retransmits}, {"total_retrans", t.total_retrans},
        {"unacked", t.unacked}, {"sacked", t.sacked}, {"lost", t.lost}, {"retrans", t.retrans},
        {"bytes_sent", t.bytes_sent}, {"bytes_retrans", t.bytes_retrans},
        {"bytes_acked", t.bytes_acked}, {"bytes_received", t.bytes_received},
        {"segs_out", t.segs_out}, {"segs_in", t.segs_in},
        {"data_segs_out", t.data_segs_out}, {"data_segs_in", t.data_segs_in},
        {"notsent_bytes", t.notsent_bytes}, {"delivered", t.delivered},
        {"pacing_rate_Bps", t.pacing_rate}, {"delivery_rate_Bps", t.delivery_rate},
        {"delivery_rate_app_limited", t.delivery_rate_app_limited},
        {"last_data_sent_ms", t.last_data_sent_ms}, {"last_data_recv_ms", t.last_data_recv_ms},
        {"last_ack_recv_ms", t.last_ack_recv_ms}, {"busy_time_us", t.busy_time_us},
    };
}

nlohmann::json socket_json(const SocketSnapshot& s) {
    nlohmann::json j = {
        {"type", "socket"},
        {"netid", netlink::netid(s.kind)},
        {"family", s.family == AF_INET ? "inet" : s.family == AF_INET6 ? "inet6" : "unix"},
        {"state", netlink::state_name(s.state)},
        {"recv_q", s.recv_q},
        {"send_q", s.send_q},
        {"inode", s.inode},
        {"uid", s.uid},
        {"cookie", s.cookie},
    };
    if (s.syn_queue) j["syn_queue"] = *s.syn_queue;
    if (netlink::is_unix(s.kind)) {
        j["local"] = {{"path", s.unix_path}};
        j["peer_inode"] = s.peer_inode;
    } else {
        j["local"] = endpoint_json(s.local);
        j["peer"] = endpoint_json(s.peer);
    }
    nlohmann::json processes = nlohmann::json::array();
    for (const auto& p : s.processes)
        processes.push_back({{"pid", p.pid}, {"command", p.command}, {"fd", p.fd}});
    j["processes"] = processes;
    if (s.tcp_info) j["tcp_info"] = tcp_info_json(*s.tcp_info);
    return j;
}

// ---- waiting, stopped by Ctrl-C ---------------------------------------------

// SIGINT/SIGTERM read from a signalfd in the poll set (STYLE.md: no global
// flag), so a loop stops between two samples and exits 0 with nothing left.
class StopSignal {
public:
    static Result<StopSignal> open() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return errno_error("block SIGINT");
        StopSignal s;
        s.fd_.reset(signalfd(-1, &set, SFD_CLOEXEC));
        if (!s.fd_) return errno_error("signalfd");
        return s;
    }
    // Waits up to `timeout`; true when a stop signal arrived.
    bool wait(std::chrono::milliseconds timeout) {
        pollfd p{fd_.get(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
    }

private:
    UniqueFd fd_;
};

std::string wall_clock_text() {
    auto now = std::chrono::system_clock::now();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    localtime_r(&seconds, &tm);
    return fmt::format("{:02}:{:02}:{:02}.{:06}", tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

// ---- --counters --------------------------------------------------------------

void print_counters(const netlink::CounterTable& now, const netlink::CounterTable* before,
                    double interval, bool json) {
    if (json) {
        nlohmann::json values;
        for (const auto& c : netlink::queue_counters()) {
            auto it = now.find(std::string(c.key));
            if (it == now.end()) continue;
            std::int64_t v = it->second;
            if (before && c.key != "Tcp.CurrEstab") v -= before->at(std::string(c.key));
            values[std::string(c.key)] = v;
        }
        nlohmann::json j = {{"type", before ? "counter_deltas" : "counters"},
                            {"monotonic_ns", monotonic_ns()}, {"values", values}};
        if (before) j["interval_s"] = interval;
        fmt::print("{}\n", j.dump());
        std::fflush(stdout);
        return;
    }
    if (before)
        fmt::print("{} changes in the last {:g} s:\n", wall_clock_text(), interval);
    else
        fmt::print("{} TCP counters since boot (/proc/net/snmp, /proc/net/netstat):\n",
                   wall_clock_text());
    for (const auto& c : netlink::queue_counters()) {
        auto it = now.find(std::string(c.key));
        if (it == now.end()) continue;
        bool gauge = c.key == "Tcp.CurrEstab";
        std::int64_t v = before && !gauge ? it->second - before->at(std::string(c.key)) : it->second;
        fmt::print("  {:<28} {:>12}{}  {}\n", c.key, before && !gauge ? fmt::format("{:+}", v) : std::to_string(v),
                   "", c.meaning);
    }
    std::fflush(stdout);
}

Result<int> run_counters(const SocketsOptions& o) {
    auto first = netlink::read_tcp_counters();
    if (!first) return std::move(first).take_error();
    print_counters(*first, nullptr, 0, o.json);
    if (!o.interval) return 0;
    auto stop = StopSignal::open();
    if (!stop) return std::move(stop).take_error();
    netlink::CounterTable before = std::move(*first);
    for (std::uint64_t n = 0; !o.count || n < *o.count; ++n) {
        if (stop->wait(to_ms(*o.interval))) break;
        auto now = netlink::read_tcp_counters();
        if (!now) return std::move(now).take_error();
        print_counters(*now, &before, *o.interval, o.json);
        before = std::move(*now);
    }
    return 0;
}

// ---- --watch (polling) ---------------------------------------------------------

std::string watch_key(const SocketSnapshot& s) {
    if (netlink::is_unix(s.kind)) return fmt::format("{} {}", netlink::netid(s.kind), s.inode);
    return fmt::format("{} {} {}", netlink::netid(s.kind), s.local_text(), s.peer_text());
}

void print_change(const SocketSnapshot& s, std::string_view from, std::string_view to, bool json) {
    if (json) {
        nlohmann::json j = socket_json(s);
        j["type"] = "state_change";
        j["from"] = from;
        j["to"] = to;
        j["monotonic_ns"] = monotonic_ns();
        j["source"] = "poll";
        fmt::print("{}\n", j.dump());
    } else {
        std::string where = netlink::is_unix(s.kind)
                                ? fmt::format("{} inode {}", s.local_text(), s.inode)
                                : fmt::format("{} -> {}", s.local_text(), s.peer_text());
        fmt::print("{}  {:<5} {:<45} {} -> {}\n", wall_clock_text(), netlink::netid(s.kind), where,
                   from, to);
    }
    std::fflush(stdout);
}

// The first line of --watch: tests (and scripts) start their traffic after it.
void print_watch_started(std::optional<std::size_t> sockets, std::string_view source, bool json) {
    if (json) {
        nlohmann::json j = {{"type", "watch_started"}, {"source", source}};
        if (sockets) j["sockets"] = *sockets;
        fmt::print("{}\n", j.dump());
    } else if (sockets) {
        fmt::print("{}  watching {} sockets by polling; Ctrl-C to stop\n", wall_clock_text(), *sockets);
    } else {
        fmt::print("{}  watching TCP state changes from the sock:inet_sock_set_state tracepoint; "
                   "Ctrl-C to stop\n", wall_clock_text());
    }
    std::fflush(stdout);
}

// TCP_CLOSE is "UNCONN" in ss's table, but in a transition "CLOSE" says it.
std::string_view watch_state_name(netlink::SocketKind kind, int state) {
    if (kind == netlink::SocketKind::tcp && state == netlink::kClose) return "CLOSE";
    return netlink::state_name(state);
}

std::optional<std::chrono::steady_clock::time_point> watch_deadline(const SocketsOptions& o) {
    if (!o.duration) return std::nullopt;
    return std::chrono::steady_clock::now() + to_ms(*o.duration);
}

Result<int> run_watch_polling(const SocketsOptions& o, const netlink::SocketQuery& q,
                              StopSignal& stop, const std::string& why_not_bpf) {
    double interval = o.interval.value_or(0.1);
    // Said once, on stderr so --json stays clean.
    fmt::print(stderr,
               "tracepacket: watching by polling sock_diag every {:g} ms ({}): a state that lasts "
               "less than that (often SYN-SENT/SYN-RECV on loopback) may be missed\n",
               interval * 1000, why_not_bpf);
    std::map<std::string, SocketSnapshot> known;
    auto first = collect(o, q);
    if (!first) return std::move(first).take_error();
    for (auto& s : *first) known.emplace(watch_key(s), std::move(s));
    print_watch_started(known.size(), "poll", o.json);
    auto deadline = watch_deadline(o);
    while (!deadline || std::chrono::steady_clock::now() < *deadline) {
        if (stop.wait(to_ms(interval))) break;
        auto now = collect(o, q);
        if (!now) return std::move(now).take_error();
        std::map<std::string, SocketSnapshot> current;
        for (auto& s : *now) current.emplace(watch_key(s), std::move(s));
        for (const auto& [key, s] : current) {
            auto old = known.find(key);
            if (old == known.end())
                print_change(s, "(new)", watch_state_name(s.kind, s.state), o.json);
            else if (old->second.state != s.state)
                print_change(s, watch_state_name(s.kind, old->second.state),
                             watch_state_name(s.kind, s.state), o.json);
        }
        for (const auto& [key, s] : known)
            if (!current.count(key)) print_change(s, watch_state_name(s.kind, s.state), "(gone)", o.json);
        known = std::move(current);
    }
    return 0;
}

// ---- --watch from the sock:inet_sock_set_state tracepoint (src/kernel) ----------

netlink::InetEndpoint endpoint_of(const model::Endpoint& e) {
    netlink::InetEndpoint out;
    out.address.family = e.family;
    out.address.bytes = e.addr;
    out.port = e.port;
    return out;
}

// tcp_time_wait() hands a closing socket to a new TIME-WAIT mini-socket and
// closes the full one (tcp_done -> TCP_CLOSE); no state event names TIME-WAIT.
std::string_view time_wait_note(const model::Event& e) {
    bool closing = e.old_state == netlink::kFinWait1 || e.old_state == netlink::kFinWait2 ||
                   e.old_state == netlink::kClosing;
    return closing && e.new_state == netlink::kClose
               ? "usually now a TIME-WAIT socket, which the tracepoint does not report" : "";
}

// Every transition, even the microsecond-long ones, with the kernel's
// CLOCK_MONOTONIC timestamp (shown as wall-clock time).
void print_state_event(const model::Event& e, bool json) {
    SocketSnapshot s;
    s.kind = netlink::SocketKind::tcp;
    s.family = e.flow.src.family;
    s.state = e.new_state;
    s.local = endpoint_of(e.flow.src);
    s.peer = endpoint_of(e.flow.dst);
    auto from = watch_state_name(netlink::SocketKind::tcp, e.old_state);
    auto to = watch_state_name(netlink::SocketKind::tcp, e.new_state);
    if (json) {
        nlohmann::json j = {{"type", "state_change"}, {"source", "bpf"}, {"netid", "tcp"},
                            {"from", from}, {"to", to}, {"monotonic_ns", e.t_ns},
                            {"local", endpoint_json(s.local)}, {"peer", endpoint_json(s.peer)},
                            {"pid", e.pid}, {"comm", e.comm}};
        if (!time_wait_note(e).empty()) j["note"] = time_wait_note(e);
        fmt::print("{}\n", j.dump());
    } else {
        // The event's age, subtracted from the wall clock now.
        auto age_us = static_cast<long>((monotonic_ns() - e.t_ns) / 1000);
        auto when = std::chrono::system_clock::now() - std::chrono::microseconds(age_us);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
        std::time_t seconds = static_cast<std::time_t>(us / 1000000);
        std::tm tm{};
        localtime_r(&seconds, &tm);
        std::string note(time_wait_note(e));
        fmt::print("{:02}:{:02}:{:02}.{:06}  tcp   {:<45} {} -> {}{}\n", tm.tm_hour, tm.tm_min,
                   tm.tm_sec, us % 1000000, s.local_text() + " -> " + s.peer_text(), from, to,
                   note.empty() ? "" : "  (" + note + ")");
    }
}

Result<int> run_watch_bpf(const SocketsOptions& o, StopSignal& stop, kernel::Tracer& tracer) {
    print_watch_started(std::nullopt, "bpf", o.json);
    auto deadline = watch_deadline(o);
    auto sink = [&](model::Event&& e) {
        if (e.kind != model::EventKind::inet_sock_set_state) return;
        // The tracer also follows sockets it learned from the conversation
        // (the peers' ports); --port means this port only.
        if (o.port && e.flow.src.port != *o.port && e.flow.dst.port != *o.port) return;
        print_state_event(e, o.json);
    };
    while (!deadline || std::chrono::steady_clock::now() < *deadline) {
        if (stop.wait(std::chrono::milliseconds(0))) break;
        auto n = tracer.poll(100, sink);
        if (!n) return wrap(std::move(n).take_error(), "read BPF events");
        std::fflush(stdout);
    }
    if (auto rest = tracer.drain(sink); !rest) return wrap(std::move(rest).take_error(), "drain BPF events");
    if (tracer.lost_events())
        fmt::print(stderr, "tracepacket: {} events lost (ring buffer full)\n", tracer.lost_events());
    std::fflush(stdout);
    return 0;
}

// The tracepoint path follows the sockets of --port P or --pid PID (the
// tracer filters in the kernel by port and process; it has no "every
// socket" mode), and only TCP has inet_sock_set_state.
Result<kernel::Tracer> start_state_tracer(const SocketsOptions& o) {
    bool tcp_only = o.tcp && !o.udp && !o.unix_sockets;
    if (!tcp_only || (!o.port && !o.pid))
        return make_error("the tracepoint path needs -t with --port or --pid");
    Status features = kernel::probe_features();
    if (!features) return std::move(features).take_error();
    kernel::TracerOptions options;
    if (o.port) options.ports.push_back({IPPROTO_TCP, static_cast<std::uint16_t>(*o.port)});
    if (o.pid) options.pids.push_back(*o.pid);
    options.syscalls = o.pid.has_value();  // the tracer learns a process's sockets from its calls
    return kernel::Tracer::start(options);
}

Result<int> run_watch(const SocketsOptions& o, const netlink::SocketQuery& q) {
    auto stop = StopSignal::open();
    if (!stop) return std::move(stop).take_error();
    if (!o.interval) {
        auto tracer = start_state_tracer(o);
        if (tracer) return run_watch_bpf(o, *stop, *tracer);
        return run_watch_polling(o, q, *stop, "no BPF: " + tracer.error().message());
    }
    return run_watch_polling(o, q, *stop, "--interval asks for polling");
}

// ---- the command -------------------------------------------------------------

Status check_options(const SocketsOptions& o) {
    if (o.counters && o.watch)
        return make_error("--counters and --watch cannot be combined; run them separately");
    if (o.interval && !o.counters && !o.watch)
        return make_error("--interval needs --counters or --watch");
    if (o.count && !(o.counters && o.interval))
        return make_error("--count needs --counters --interval S");
    if (o.duration && !o.watch) return make_error("--duration needs --watch");
    if (o.pid) {
        struct stat st {};
        if (::stat(fmt::format("/proc/{}", *o.pid).c_str(), &st) != 0)
            return make_error(fmt::format("--pid {}: no such process", *o.pid));
    }
    return {};
}

Result<int> run_sockets(const SocketsOptions& o) {
    Status ok = check_options(o);
    if (!ok) return std::move(ok).take_error();
    if (o.counters) return run_counters(o);
    auto query = make_query(o);
    if (!query) return std::move(query).take_error();
    if (o.watch) return run_watch(o, *query);
    auto sockets = collect(o, *query);
    if (!sockets) return std::move(sockets).take_error();
    if (o.json) {
        for (const auto& s : *sockets) fmt::print("{}\n", socket_json(s).dump());
    } else {
        print_table(*sockets, o);
    }
    return 0;
}

}  // namespace

void register_sockets(CLI::App& app, Runner* run) {
    auto o = std::make_shared<SocketsOptions>();
    auto* cmd = app.add_subcommand(
        "sockets",
        "List sockets over NETLINK_SOCK_DIAG like ss: TCP and UDP (IPv4/IPv6), UNIX stream, "
        "dgram and seqpacket, with states, queues (for listeners: accept queue, backlog and "
        "SYN queue), inodes and owners. By default, as ss: connected sockets, without TIME-WAIT "
        "and SYN-RECV (-l listening, -a every state).");
    cmd->add_flag("-t,--tcp", o->tcp, "TCP sockets");
    cmd->add_flag("-u,--udp", o->udp, "UDP sockets");
    cmd->add_flag("-x,--unix", o->unix_sockets, "UNIX sockets");
    cmd->add_flag("-l,--listening", o->listening, "Only listening (and unconnected datagram) sockets");
    cmd->add_flag("-a,--all", o->all, "Listening and non-listening sockets");
    cmd->add_flag("-n,--numeric", o->numeric, "Numeric ports (no /etc/services names)");
    cmd->add_flag("-p,--processes", o->processes, "Owning processes (pid, command, fd) from /proc/*/fd");
    cmd->add_flag("-e,--extended", o->extended,
                  "Accepted for ss habits (ss -tuxanpe): inode and uid are always shown "
                  "(uid and cookie in --json)");
    cmd->add_flag("-i,--info", o->tcp_info,
                  "tcp_info: rtt/rttvar, cwnd, ssthresh, mss, retransmits, bytes, delivery rate, "
                  "last send/receive age");
    cmd->add_option("--state", o->states,
                    "Only this state (repeatable): established, syn-sent, syn-recv, fin-wait-1, "
                    "fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, "
                    "connected, synchronized, bucket (syn-recv and time-wait), big, all");
    cmd->add_option("--port", o->port, "Only sockets with this local or peer port")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--pid", o->pid, "Only sockets a file descriptor of this process holds (implies -p)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--counters", o->counters,
                  "Kernel TCP counters that explain queue trouble (ListenOverflows, ListenDrops, "
                  "syncookies, backlog drops, opens, resets)");
    cmd->add_flag("--watch", o->watch,
                  "Print socket state changes as they happen, with timestamps, until Ctrl-C: every TCP "
                  "transition from the sock:inet_sock_set_state tracepoint with -t and --port or "
                  "--pid (root/BPF), else by polling sock_diag (short states may be missed)");
    cmd->add_option("--interval", o->interval,
                    "Seconds between samples: --counters prints deltas; --watch polls at this interval "
                    "(default: the tracepoint where possible, else polling every 0.1)")
        ->check(CLI::Range(0.001, 3600.0));
    cmd->add_option("--count", o->count, "With --counters --interval: stop after N deltas")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1000000}));
    cmd->add_option("--duration", o->duration, "With --watch: stop after S seconds")
        ->check(CLI::Range(0.001, 86400.0));
    cmd->add_flag("--json", o->json, "One JSON object per line (type: socket, counters, "
                                     "counter_deltas or state_change)");
    cmd->callback([o, run] { *run = [o] { return run_sockets(*o); }; });
}

}  // namespace tpk::commands
