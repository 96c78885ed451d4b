#include "journey/correlator_summary.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

// Hops that report the end of something that already happened (the send
// returning after loopback ran the whole receive path, transmit done after
// netif_rx, the skb freed): shown, but they do not start a layer on the
// packet's path.
bool is_completion_hop(K k) {
    switch (k) {
        case K::sock_send_length:
        case K::net_dev_xmit:
        case K::consume_skb:
        case K::kfree_skb:
        case K::sock_recv_length:
        case K::inet_sock_set_state:
        case K::tcp_retransmit_skb:
        case K::tcp_send_reset:
            return true;
        default:
            // tcp_receive_reset is TCP processing the RST (tcp_reset(), where
            // a SYN-SENT socket has no tcp_probe): it starts receive transport.
            return false;
    }
}

// A hop's place on the path: the layer it starts, send side then receive side.
// The copy to user starts the receiving application's part.
int stage_of(const Hop& h, Layer* layer, bool* receive_side) {
    *receive_side = h.receive_side;
    *layer = h.layer;
    if (h.event == K::skb_copy_datagram_iovec) *layer = Layer::application;
    static constexpr Layer kSend[] = {Layer::application, Layer::socket, Layer::transport,
                                      Layer::network, Layer::device};
    static constexpr Layer kRecv[] = {Layer::receive, Layer::network, Layer::transport,
                                      Layer::socket, Layer::application};
    const Layer* order = *receive_side ? kRecv : kSend;
    for (int i = 0; i < 5; ++i)
        if (order[i] == *layer) return (*receive_side ? 5 : 0) + i;
    return -1;
}

std::uint64_t median(std::vector<std::uint64_t> v) {
    if (v.empty()) return 0;
    auto middle = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), middle, v.end());
    return *middle;
}

}  // namespace

std::vector<LayerSpan> layer_spans(const Packet& p) {
    std::array<std::optional<LayerSpan>, 10> starts;  // by stage_of()
    std::uint64_t end = 0;
    const Hop* device = first_send_device_hop(p);
    for (const Hop& h : p.hops) {
        // tcp_v4_send_reset() reports a reset before building it: there it
        // starts the RST's way down (an active reset reports after sending).
        bool reset_starts = h.event == K::tcp_send_reset && !h.receive_side && device &&
                            h.t_ns < device->t_ns;
        if (is_completion_hop(h.event) && !reset_starts) continue;
        Layer layer;
        bool rx;
        int stage = stage_of(h, &layer, &rx);
        if (stage < 0) continue;
        end = std::max(end, h.t_ns);
        auto& start = starts[static_cast<std::size_t>(stage)];
        if (!start || h.t_ns < start->start_ns) start = LayerSpan{layer, rx, h.t_ns, 0};
    }
    std::vector<LayerSpan> spans;
    for (const auto& span : starts)
        if (span) spans.push_back(*span);
    for (std::size_t i = 0; i < spans.size(); ++i) {
        std::uint64_t next = i + 1 < spans.size() ? spans[i + 1].start_ns : end;
        spans[i].duration_ns = next > spans[i].start_ns ? next - spans[i].start_ns : 0;
    }
    return spans;
}

std::vector<Packet> order_packets(std::vector<PacketState> packets,
                                  std::vector<StateChange>& states, std::vector<Route>& routes) {
    std::vector<Packet> out;
    // Packets in wire order (wire_time), the order a capture shows. Ordering
    // by the first hop would not do: when both ends close at once, the FIN
    // whose close() started first can reach the wire second.
    std::vector<std::size_t> order = wire_order(packets);
    out.reserve(order.size());
    std::vector<std::size_t> where(packets.size());
    for (std::size_t k = 0; k < order.size(); ++k) where[order[k]] = k;
    auto remap = [&](std::size_t i) { return i == kNone ? kNone : where[i]; };
    for (std::size_t k : order) {
        Packet p = std::move(packets[k].p);
        p.reply_to = remap(p.reply_to);
        p.retransmit_of = remap(p.retransmit_of);
        p.layers = layer_spans(p);
        out.push_back(std::move(p));
    }
    for (auto& s : states) s.packet = remap(s.packet);
    for (auto& r : routes)
        for (auto& f : r.lookups) f.packet = remap(f.packet);
    return out;
}

bool LayerSamples::add(const Journey& j, const Packet& p) {
    const bool is_data = p.kind == PacketKind::data || p.kind == PacketKind::datagram ||
                         p.kind == PacketKind::message;
    if (!is_data) return false;
    for (const auto& span : p.layers) {
        int order_key = span.receive_side ? 10 - static_cast<int>(span.layer)
                                          : static_cast<int>(span.layer);
        by_layer_[{span.receive_side, order_key}].push_back(span.duration_ns);
    }
    if (p.send_syscall != kNone && p.recv_syscall != kNone) {
        const auto& s = j.syscalls[p.send_syscall];
        const auto& r = j.syscalls[p.recv_syscall];
        if (r.exit_ns > s.enter_ns) one_way_.push_back(r.exit_ns - s.enter_ns);
    }
    return true;
}

std::vector<LayerSummary> LayerSamples::medians() const {
    std::vector<LayerSummary> out;
    for (const auto& [key, values] : by_layer_) {
        LayerSummary l;
        l.receive_side = key.first;
        l.layer = static_cast<Layer>(key.first ? 10 - key.second : key.second);
        l.samples = values.size();
        l.median_ns = median(values);
        out.push_back(l);
    }
    return out;
}

std::uint64_t LayerSamples::median_one_way_ns() const { return median(one_way_); }

void summarize(Journey& j, const CorrelatorInput& in, std::size_t frame_events,
               const SocketMap& sockets, const ServerPorts& server_ports) {
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        auto& p = j.packets[i];
        if (p.connection != kNone) j.connections[p.connection].packets.push_back(i);
        if (p.send_syscall != kNone) j.syscalls[p.send_syscall].packets.push_back(i);
        if (p.recv_syscall != kNone && p.recv_syscall != p.send_syscall)
            j.syscalls[p.recv_syscall].packets.push_back(i);
        // The reset behind a call's error (a refused connect() also sent the SYN).
        if (p.error_syscall != kNone && p.error_syscall != p.send_syscall) {
            auto& listed = j.syscalls[p.error_syscall].packets;
            if (std::find(listed.begin(), listed.end(), i) == listed.end()) listed.push_back(i);
        }
        ++j.stats.packets;
        if (!p.frame && p.flow.protocol) ++j.stats.packets_without_frame;
        if (p.retransmit) ++j.stats.retransmits;
        if (p.kind == PacketKind::reset) ++j.stats.resets;
    }
    for (std::size_t i = 0; i < j.states.size(); ++i)
        if (j.states[i].connection != kNone)
            j.connections[j.states[i].connection].states.push_back(i);

    // Syscalls: socket, role, connection, stream ranges.
    std::map<std::uint64_t, std::uint64_t> sent, received;
    const ConnectionIndex index(j.connections);
    // accept(): the connection it returned, by the accepted socket. The
    // kernel reuses socket addresses: of the connections with that server
    // socket, the last one whose first packet came before the call returned.
    const std::vector<std::uint64_t> starts = connection_starts(j.packets, j.connections.size());
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> by_server_sk;
    for (std::size_t c = 0; c < j.connections.size(); ++c)
        if (j.connections[c].server_sk) by_server_sk[j.connections[c].server_sk].push_back(c);
    auto accepted = [&](const Syscall& s) {
        std::size_t found = kNone;
        if (auto it = by_server_sk.find(s.new_sk); s.new_sk && it != by_server_sk.end())
            for (auto c : it->second)
                if (found == kNone || starts[c] <= (s.exit_ns ? s.exit_ns : UINT64_MAX)) found = c;
        return found;
    };
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
        auto& s = j.syscalls[i];
        if (s.role == Role::unknown)
            s.role = role_of_sk(s.sk, index, sockets, server_ports);
        // The connection of the packets it sent or read, else of its socket
        // (the kernel reuses a closed socket's address: its last connection).
        if (!s.packets.empty() && j.packets[s.packets.front()].connection != kNone)
            s.connection = j.packets[s.packets.front()].connection;
        else if (std::size_t c = accepted(s); c != kNone)
            s.connection = c;
        else if (std::size_t c = s.sk ? index.last_with_socket(s.sk) : kNone; c != kNone)
            s.connection = c;
        if (s.connection != kNone) j.connections[s.connection].syscalls.push_back(i);
        if (s.ret > 0 && s.sk) {
            auto& counter = is_send_syscall(s.name) ? sent : is_recv_syscall(s.name) ? received
                                                                                      : sent;
            if (is_send_syscall(s.name) || is_recv_syscall(s.name)) {
                s.stream_begin = counter[s.sk];
                counter[s.sk] += static_cast<std::uint64_t>(s.ret);
                s.stream_end = counter[s.sk];
            }
        }
    }
    // Processes: the given ones, then every pid seen in a syscall.
    j.processes = in.processes;
    for (const auto& s : j.syscalls) {
        bool known = std::any_of(j.processes.begin(), j.processes.end(),
                                 [&](const Process& p) { return p.pid == s.pid; });
        if (!known) j.processes.push_back(Process{s.pid, s.comm, s.role});
    }
    // A process the caller did not name takes the role most of its calls
    // have: a forked child first closes the listener it inherited (a server
    // socket) and then connects as the client.
    for (auto& p : j.processes) {
        bool given = std::any_of(in.processes.begin(), in.processes.end(),
                                 [&](const Process& q) { return q.pid == p.pid; });
        if (given && p.role != Role::unknown) continue;
        std::size_t client = 0, server = 0;
        for (const auto& s : j.syscalls) {
            if (s.pid != p.pid) continue;
            client += s.role == Role::client;
            server += s.role == Role::server;
        }
        if (client != server) p.role = client > server ? Role::client : Role::server;
    }

    // Per-layer summary of the data packets.
    LayerSamples samples;
    for (const auto& p : j.packets)
        if (samples.add(j, p)) ++j.stats.data_packets;
    j.layer_summary = samples.medians();
    j.stats.median_one_way_ns = samples.median_one_way_ns();
    // Live runs count lost events in the input; `record-events` files carry
    // the count as a last lost_events record.
    j.stats.lost_events = in.lost_events;
    for (const auto& e : in.events)
        if (e.kind == K::lost_events) j.stats.lost_events += e.size;
    j.stats.capture_dropped = in.capture_dropped;
    j.stats.events = in.events.size() - frame_events;
    j.transport = in.transport;
    if (j.transport.empty() && !j.connections.empty())
        j.transport = j.connections.front().transport;
    if (j.stats.lost_events)
        j.notes.push_back(fmt::format(
            "{} kernel events were lost (ring buffer full): some packets may miss hops",
            j.stats.lost_events));
}

}  // namespace tpk::journey::stages
