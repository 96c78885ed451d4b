#include "report/text.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "journey/text.h"
#include "report/paint.h"

namespace tpk::report {
namespace {

using journey::duration_text;
using journey::endpoint_text;
using journey::flow_text;
using journey::Hop;
using journey::Journey;
using journey::layer_short;
using journey::socket_state_name;
using journey::syscall_text;
using journey::tcp_flags_text;
using journey::kNone;
using journey::Packet;
using journey::Role;
using model::EventKind;
using model::Layer;

// Text on its way to a stream: written every ~64 KiB as the records are
// rendered (a busy trace's chunk is hundreds of MB of text; built whole, the
// string's growth cost a page fault per 4 KiB and a copy per doubling), or
// kept whole when to is null (render_*_text()).
void flush_some(std::string& out, std::ostream* to) {
    if (!to || out.size() < (std::size_t{1} << 16)) return;
    to->write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
}

// The client's lines in cyan, the server's in magenta.
std::string role_paint(const Paint& paint, Role r, const std::string& s) {
    return paint.wrap(r == Role::client ? "36" : r == Role::server ? "35" : "0", s);
}

std::string fit(std::string s, std::size_t width) {
    if (s.size() <= width) return s;
    if (width < 4) return s.substr(0, width);
    return s.substr(0, width - 3) + "...";
}

// fit(), appended to out.
void append_fit(std::string& out, std::string_view s, std::size_t width) {
    if (s.size() <= width) out += s;
    else if (width < 4) out += s.substr(0, width);
    else out.append(s.substr(0, width - 3)).append("...");
}

// s and a space, padded with spaces to width + 1: fmt's "{:<width} " for
// ASCII names, without fmt measuring each one's display width (a trace's
// hop lines are hundreds of thousands).
void append_padded(fmt::memory_buffer& out, std::string_view s, std::size_t width) {
    out.append(s);
    for (std::size_t n = s.size(); n < width; ++n) out.push_back(' ');
    out.push_back(' ');
}

// Breaks text into lines of at most width, each after the first indented,
// and appends them to out (the packets' explanations are most of a long
// trace's text: no string per word or line).
void append_wrapped(std::string& out, std::string_view prefix, std::string_view text,
                    std::size_t width = 100) {
    std::size_t line_start = out.size();
    out += prefix;
    bool empty = true;
    for (std::size_t pos = 0; pos <= text.size();) {
        const std::size_t space = std::min(text.find(' ', pos), text.size());
        if (space > pos) {
            const std::string_view w = text.substr(pos, space - pos);
            if (!empty && out.size() - line_start + 1 + w.size() > width) {
                out += '\n';
                line_start = out.size();
                out.append(prefix.size(), ' ');
                empty = true;
            }
            if (!empty) out += ' ';
            append_fit(out, w, w.size() + prefix.size() > width ? width - prefix.size() : w.size());
            empty = false;
        }
        pos = space + 1;
    }
    out += '\n';
}

std::string wrap_text(const std::string& prefix, const std::string& text,
                      std::size_t width = 100) {
    std::string out;
    append_wrapped(out, prefix, text, width);
    return out;
}

std::string us(std::int64_t ns) { return fmt::format("{:.1f}", static_cast<double>(ns) / 1000.0); }

std::uint64_t journey_start(const Journey& j) {
    std::uint64_t t0 = UINT64_MAX;
    for (const auto& s : j.syscalls)
        if (s.enter_ns) t0 = std::min(t0, s.enter_ns);
    for (const auto& p : j.packets)
        if (!p.hops.empty()) t0 = std::min(t0, p.hops.front().t_ns);
    for (const auto& s : j.states) t0 = std::min(t0, s.t_ns);
    for (const auto& v : j.sockets) t0 = std::min(t0, v.t_ns);
    return t0 == UINT64_MAX ? 0 : t0;
}

std::string rel(std::uint64_t t, std::uint64_t t0) {
    return t >= t0 ? us(static_cast<std::int64_t>(t - t0)) : "-" + us(static_cast<std::int64_t>(t0 - t));
}

std::string role_label(Role r) { return std::string(journey::role_name(r)); }

bool is_udp(const Journey& j) { return j.transport.rfind("udp", 0) == 0; }
bool is_unix(const Journey& j) { return j.transport.rfind("unix", 0) == 0; }

std::string connection_title(const Journey& j) {
    if (j.connections.empty()) return j.transport.empty() ? "no connection seen" : j.transport;
    const auto& c = j.connections.front();
    if (c.client_to_server.protocol == 0)
        return fmt::format("{}: client sk {:#x} <-> server sk {:#x}", c.transport,
                           c.client_sk, c.server_sk);
    return fmt::format("{}: client {} -> server {}", c.transport,
                       endpoint_text(c.client_to_server.src), endpoint_text(c.client_to_server.dst));
}

void render_syscalls(const Journey& j, std::uint64_t t0, const Paint& paint, std::string& out,
                     std::ostream* flush_to = nullptr) {
    out += paint.head("SYSTEM CALLS") + "\n";
    if (j.syscalls.empty()) out += "  none traced\n";
    for (const auto& proc : j.processes) {
        bool any = false;
        for (std::size_t i = 0; i < j.syscalls.size() && !any; ++i)
            any = j.syscalls[i].pid == proc.pid && j.shows_syscall(i);
        if (!any) continue;
        out += "  " + role_paint(paint, proc.role, fmt::format("{} (pid {}, {})", role_label(proc.role),
                                                       proc.pid, proc.comm)) + "\n";
        out += paint.dim(fmt::format("    {:>12}  {:>10}  {}", "start µs", "took µs", "call")) + "\n";
        for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
            const auto& s = j.syscalls[i];
            if (s.pid != proc.pid || !j.shows_syscall(i)) continue;
            std::string took = s.exit_ns ? us(static_cast<std::int64_t>(s.exit_ns - s.enter_ns)) : "-";
            std::string pk;
            if (!s.packets.empty()) {
                pk = " -> packet";
                if (s.packets.size() > 1) pk += "s";
                for (std::size_t k = 0; k < s.packets.size() && k < 4; ++k)
                    pk += fmt::format(" #{}", j.packet_number(s.packets[k]) + 1);
                if (s.packets.size() > 4) pk += " ...";
            }
            out += fit(fmt::format("    {:>12}  {:>10}  {}{}", rel(s.enter_ns, t0), took,
                                   syscall_text(s), pk), 100) + "\n";
            flush_some(out, flush_to);
        }
    }
    out += "\n";
}

void render_route(const Journey& j, std::uint64_t t0, const Paint& paint, std::string& out) {
    if (is_unix(j)) {
        out += paint.head("ROUTE") + "\n";
        out += "  none: UNIX domain sockets never reach IP; there is no route lookup.\n\n";
        return;
    }
    for (const auto& r : j.routes) {
        out += paint.head("ROUTE to " + (r.destination.empty() ? std::string("?") : r.destination)) + "\n";
        if (r.has_answer) {
            out += fmt::format("  rtnetlink (ip route get): type {}, table {}, dev {}{}{}\n", r.type,
                               r.table, r.dev, r.source.empty() ? "" : ", src " + r.source,
                               r.gateway.empty() ? "" : ", via " + r.gateway);
        }
        if (j.partial)
            out += "  kernel route lookups: not traced (no kernel side)\n";
        else
            out += fmt::format("  kernel route lookups traced: {}\n", r.lookups.size());
        for (const auto& f : r.lookups) {
            std::string during =
                f.during_syscall != kNone ? f.during_call + "()" : std::string("softirq");
            std::string pkt = f.packet != kNone
                                  ? fmt::format(", for packet #{}", j.packet_number(f.packet) + 1)
                                  : "";
            out += fmt::format("    {:>12} µs  fib_table_lookup table {}{} by {} pid {} in {}{}\n",
                               rel(f.t_ns, t0), f.table, f.err ? fmt::format(" err {}", f.err) : "",
                               f.comm, f.pid, during, pkt);
        }
        for (const auto& n : r.notes) out += wrap_text("  note: ", n);
    }
    if (j.routes.empty()) out += paint.head("ROUTE") + "\n  not known\n";
    out += "\n";
}

void render_sockets(const Journey& j, std::uint64_t t0, const Paint& paint, std::string& out) {
    out += paint.head("SOCKETS (sock_diag snapshot)") + "\n";
    out += paint.dim(fmt::format("  {:>12}  {:<7} {:<12} {:>6} {:>6}  {}", "t µs", "side", "state",
                                 "recv-q", "send-q", "local -> peer")) + "\n";
    for (const auto& v : j.sockets) {
        std::string who = role_paint(paint, v.role, fmt::format("{:<7}", role_label(v.role)));
        out += fit(fmt::format("  {:>12}  {} {:<12} {:>6} {:>6}  {}", rel(v.t_ns, t0), who,
                               socket_state_name(v), v.recv_q, v.send_q, flow_text(v.flow)),
                   100 + (who.size() - 7)) + "\n";
    }
    out += "\n";
}

void render_states(const Journey& j, std::uint64_t t0, const Paint& paint, std::string& out) {
    if (j.states.empty() && !j.sockets.empty()) return render_sockets(j, t0, paint, out);
    out += paint.head("SOCKET STATES") + "\n";
    if (j.states.empty()) {
        out += is_unix(j) || is_udp(j)
                   ? "  none: only TCP sockets have a state machine (inet_sock_set_state).\n\n"
                   : "  none traced\n\n";
        return;
    }
    out += paint.dim(fmt::format("  {:>12}  {:<7} {:<28} {}", "t µs", "side", "change", "while")) + "\n";
    for (std::size_t i = 0; i < j.states.size(); ++i) {
        const auto& s = j.states[i];
        if (!j.shows_state(i)) continue;
        std::string change = fmt::format("{} -> {}", model::tcp_state_name(s.old_state),
                                         model::tcp_state_name(s.new_state));
        std::string why;
        if (s.packet != kNone) why = fmt::format("receiving packet #{}", j.packet_number(s.packet) + 1);
        if (s.syscall != kNone)
            why += fmt::format("{}its {}() ({} pid {})", why.empty() ? "" : ", in ",
                               j.syscalls[s.syscall].name,
                               role_label(j.syscalls[s.syscall].role), j.syscalls[s.syscall].pid);
        if (why.empty())
            why = fmt::format("socket {:#x}", s.sk);
        std::string who = role_paint(paint, s.role, fmt::format("{:<7}", role_label(s.role)));
        out += fit(fmt::format("  {:>12}  {} {:<28} {}", rel(s.t_ns, t0), who, change, why),
                   100 + (who.size() - 7)) + "\n";
    }
    out += "\n";
}

std::string packet_title(const Journey& j, const Packet& p, std::size_t index) {
    std::string dir = p.direction == journey::Direction::client_to_server   ? "client -> server"
                      : p.direction == journey::Direction::server_to_client ? "server -> client"
                                                                            : "? -> ?";
    std::string what;
    if (p.flow.protocol == IPPROTO_TCP) {
        std::string flags = tcp_flags_text(p.tcp_flags);
        what = fmt::format("[{}] seq {}", flags.empty() ? "none" : flags, p.rel_seq);
        if (p.payload_len) what += fmt::format(":{}", p.rel_seq + p.payload_len);
        if (p.tcp_flags & model::kAck) what += fmt::format(" ack {}", p.rel_ack);
        what += fmt::format(" len {}", p.payload_len);
    } else {
        what = fmt::format("len {}", p.payload_len);
    }
    return fmt::format("#{:<3} {:<9} {}  {}", j.packet_number(index) + 1,
                       journey::packet_kind_name(p.kind), dir, what);
}

std::string layers_line(const Journey& j, const Packet& p) {
    std::string send, recv;
    for (const auto& l : p.layers) {
        std::string item = fmt::format("{} {}", layer_short(l.layer, is_udp(j)),
                                       us(static_cast<std::int64_t>(l.duration_ns)));
        std::string& side = l.receive_side ? recv : send;
        if (!side.empty()) side += " > ";
        side += item;
    }
    if (send.empty() && recv.empty()) return "";
    return fmt::format("per layer (µs): send {} | receive {}", send.empty() ? "-" : send,
                       recv.empty() ? "-" : recv);
}

// "     LABEL    text ..." wrapped at 100 columns, the label in warning colour.
std::string labelled(const Paint& paint, const std::string& label, const std::string& text) {
    std::string prefix = fmt::format("     {:<8} ", label);
    std::string lines = wrap_text(prefix, text);
    return "     " + paint.warn(label) + lines.substr(5 + label.size());
}

// What went wrong with a packet and how TCP answered (journey/explain.h,
// Packet::trouble): a drop, a retransmit, a reset and who learned of it.
void render_packet_trouble(const Packet& p, const Paint& paint, std::string& out) {
    const auto& t = p.trouble;
    if (!t.dropped.empty()) out += paint.warn("     DROPPED: " + t.dropped) + t.dropped_then + "\n";
    if (!t.retransmit.empty()) out += labelled(paint, "RETRANSMIT", t.retransmit);
    if (t.reset.empty()) return;
    out += labelled(paint, "RESET", t.reset);
    if (!t.reset_reported.empty()) out += fit("     " + t.reset_reported, 100) + "\n";
    else if (!t.reset_received.empty()) out += wrap_text("     received: ", t.reset_received);
}

void render_packets(const Journey& j, const Paint& paint, bool explain, std::string& out,
                    std::ostream* flush_to = nullptr) {
    out += paint.head(fmt::format("PACKETS ({} followed in the kernel, {} frames captured, {} matched)",
                                  j.packets.size(), j.stats.frames, j.stats.frames_matched)) + "\n";
    if (j.partial)
        out += "  not followed: that needs the kernel side (see PARTIAL above).\n";
    if (is_unix(j))
        out += "  UNIX domain: syscall -> socket -> peer's receive queue -> copy to user. No TCP,\n"
               "  no IP, no device: the sender's kernel queues the skb on the peer directly.\n";
    if (is_udp(j))
        out += "  UDP: no handshake, no ACKs, no states. udp_recvmsg copies a linear datagram with\n"
               "  copy_linear_skb(), which has no tracepoint: its read shows as the recv syscall.\n";
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        if (!j.shows_packet(i)) continue;
        const auto& p = j.packets[i];
        Role sender = p.direction == journey::Direction::client_to_server   ? Role::client
                      : p.direction == journey::Direction::server_to_client ? Role::server
                                                                            : Role::unknown;
        out += '\n';
        out += role_paint(paint, sender, fit(packet_title(j, p, i), 100));
        out += '\n';
        append_wrapped(out, "     sent by: ", p.sent_by);
        if (explain && !p.explain.empty()) append_wrapped(out, "     what:    ", p.explain);
        if (p.recv_syscall != kNone) {
            const auto& r = j.syscalls[p.recv_syscall];
            out += fit(fmt::format("     read by: {} ({})", r.name, journey::caller_text(r)), 100) +
                   "\n";
        }
        if (p.frame)
            append_wrapped(out, "     wire:    ", p.frame->summary);
        else if (p.flow.protocol)
            out += paint.warn("     wire:    no captured frame matched") + "\n";
        render_packet_trouble(p, paint, out);
        out += paint.dim(fmt::format("     {:>12}  {:<8} {:<12} {:<24} {}", "+µs", "side", "layer",
                                     "event", "detail / task")) + "\n";
        fmt::memory_buffer line;   // one hop's line, before fit()
        for (const Hop& h : p.hops) {
            // "+µs side layer event [dev] [detail] [comm tid]"
            line.clear();
            fmt::format_to(std::back_inserter(line), "     {:>12.1f}  ",
                           static_cast<double>(h.since_cause_ns) / 1000.0);
            append_padded(line, h.receive_side ? "receive" : "send", 8);
            append_padded(line, model::layer_name(h.layer), 12);
            append_padded(line, model::event_name(h.event), 24);
            if (!h.dev.empty()) fmt::format_to(std::back_inserter(line), "{} ", h.dev);
            if (!h.detail.empty()) fmt::format_to(std::back_inserter(line), "{} ", h.detail);
            if (!h.comm.empty()) fmt::format_to(std::back_inserter(line), "[{} {}]", h.comm, h.tid);
            append_fit(out, std::string_view(line.data(), line.size()), 100);
            out += '\n';
            // Under the hop, from the side column on: what the kernel did there.
            if (explain && !h.explain.empty()) {
                if (paint.on) out += paint.dim(wrap_text(std::string(19, ' '), h.explain));
                else append_wrapped(out, "                   ", h.explain);
            }
        }
        if (auto l = layers_line(j, p); !l.empty()) out += wrap_text("     ", l);
        flush_some(out, flush_to);
    }
    if (!j.unmatched_frames.empty()) {
        out += "\n" + paint.warn(fmt::format("{} captured frame(s) matched no traced packet:",
                                             j.unmatched_frames.size())) + "\n";
        for (const auto& f : j.unmatched_frames) out += fit("     " + f.summary, 100) + "\n";
    }
    out += "\n";
}

std::string side_layer(const journey::LayerSummary& l, bool udp) {
    std::string name = layer_short(l.layer, udp);
    // Receive socket: from the wake-up to the copy, i.e. waiting for the reader.
    if (l.receive_side && l.layer == Layer::socket) name += " (queued)";
    return fmt::format("{:<8} {}", l.receive_side ? "receive" : "send", name);
}

// The kernel's gaps, once per journey (nothing for a replayed recording).
void render_kernel(const journey::KernelView& k, const Paint& paint, std::string& out) {
    if (k.release.empty()) return;
    bool complete = k.gaps.empty();
    out += fmt::format("kernel: {} ({} BPF object){}\n", k.release, k.bpf_object,
                       complete ? ", every hop available" : "");
    for (const auto& g : k.gaps) {
        std::string line = (g.missing ? "missing hop " : "limited hop ") + g.hop + ": " + g.why;
        out += g.missing ? paint.warn(wrap_text("  ", line)) : wrap_text("  ", line);
    }
    for (const auto& f : k.fallbacks) out += wrap_text("  ", f);
}

void render_summary(const Journey& j, const Paint& paint, std::string& out) {
    out += paint.head(fmt::format("TIME PER LAYER (median over {} data packet(s))",
                                  j.stats.data_packets)) + "\n";
    if (j.layer_summary.empty()) out += "  no data packets\n";
    for (const auto& l : j.layer_summary)
        out += fmt::format("  {:<25} {:>10} µs\n", side_layer(l, is_udp(j)),
                           us(static_cast<std::int64_t>(l.median_ns)));
    if (j.stats.median_one_way_ns)
        out += fmt::format("  {:<25} {:>10} µs   (send() entered -> recv() returned)\n", "one way",
                           us(static_cast<std::int64_t>(j.stats.median_one_way_ns)));
    out += "\n";
    if (j.stats.retransmits || j.stats.resets)
        out += paint.warn(fmt::format("retransmits: {}, resets: {}", j.stats.retransmits,
                                      j.stats.resets)) + "\n";
    std::string lost = fmt::format("lost events: {}", j.stats.lost_events);
    out += (j.stats.lost_events ? paint.warn(lost + "  (ring buffer full: some hops are missing)")
                                : lost) + "\n";
    if (j.stats.capture_dropped)
        out += paint.warn(fmt::format("capture dropped: {} frame(s)", j.stats.capture_dropped)) + "\n";
    for (const auto& n : j.notes) out += wrap_text("note: ", n);
    if (!j.cut_short.empty()) out += paint.warn("cut short:") + "\n" + wrap_text("  ", j.cut_short);
    render_kernel(j.kernel, paint, out);
}

}  // namespace

TextStyle terminal_style() {
    TextStyle s;
    s.color = stdout_wants_color();
    return s;
}

namespace {

// The whole journey's text into out, written to flush_to as it grows if given.
void journey_text(const Journey& j, const TextStyle& style, std::string& out,
                  std::ostream* flush_to) {
    Paint paint{style.color};
    std::uint64_t t0 = journey_start(j);
    out += paint.head("tracepacket " + j.command) + " - " +
           fit(j.traced.empty() ? connection_title(j) : j.traced, 78) + "\n";
    if (j.partial) {
        out += paint.warn("PARTIAL:") + " the kernel side did not run, so there are no packet hops.\n";
        for (const auto& r : j.partial_reasons) out += wrap_text("  - ", r);
        out += "  Shown below: what still works (system call times measured in user space,\n"
               "  socket states from sock_diag, the route from rtnetlink";
        out += j.stats.frames ? ", the captured frames).\n" : ").\n";
    }
    out += paint.dim("times in µs from the first traced event; hops in µs since the packet's cause") + "\n\n";
    render_syscalls(j, t0, paint, out, flush_to);
    render_route(j, t0, paint, out);
    render_states(j, t0, paint, out);
    render_packets(j, paint, style.explain, out, flush_to);
    render_summary(j, paint, out);
}

}  // namespace

std::string render_journey_text(const Journey& j, const TextStyle& style) {
    std::string out;
    journey_text(j, style, out, nullptr);
    return out;
}

void write_journey_text(const Journey& j, const TextStyle& style, std::ostream& to) {
    std::string out;
    journey_text(j, style, out, &to);
    to.write(out.data(), static_cast<std::streamsize>(out.size()));
}

std::string render_stream_head_text(const Journey& first, const TextStyle& style) {
    Paint paint{style.color};
    std::string out = paint.head("tracepacket " + first.command) + " - " +
                      fit(first.traced.empty() ? connection_title(first) : first.traced, 78) + "\n";
    out += paint.dim("streamed: printed in parts while tracing goes on, each once its traffic has "
                     "settled (packets numbered over the whole run; the route and the summary "
                     "come last)") + "\n";
    out += paint.dim("times in µs from the first traced event; hops in µs since the packet's cause") +
           "\n\n";
    return out;
}

void write_stream_chunk_text(const Journey& chunk, std::uint64_t t0, const TextStyle& style,
                             std::ostream& to) {
    Paint paint{style.color};
    std::string out;
    render_syscalls(chunk, t0, paint, out, &to);
    render_states(chunk, t0, paint, out);
    render_packets(chunk, paint, style.explain, out, &to);
    out += "\n";
    to.write(out.data(), static_cast<std::streamsize>(out.size()));
}

std::string render_stream_tail_text(const Journey& totals, std::uint64_t t0,
                                    const TextStyle& style) {
    Paint paint{style.color};
    std::string out;
    render_route(totals, t0, paint, out);
    render_summary(totals, paint, out);
    return out;
}

std::uint64_t text_start_ns(const Journey& j) { return journey_start(j); }

OneWaySpread one_way_spread(const Journey& j) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> by_send;  // (send enter, one way)
    for (const auto& p : j.packets) {
        const bool data = p.kind == journey::PacketKind::data ||
                          p.kind == journey::PacketKind::datagram ||
                          p.kind == journey::PacketKind::message;
        if (!data || p.send_syscall == journey::kNone || p.recv_syscall == journey::kNone) continue;
        const auto& s = j.syscalls[p.send_syscall];
        const auto& r = j.syscalls[p.recv_syscall];
        if (r.exit_ns > s.enter_ns) by_send.push_back({s.enter_ns, r.exit_ns - s.enter_ns});
    }
    OneWaySpread w;
    if (by_send.empty()) return w;
    std::sort(by_send.begin(), by_send.end());
    w.warmup = by_send.size() >= 10 ? by_send.size() / 10 : 0;
    std::vector<std::uint64_t> v;
    for (std::size_t i = w.warmup; i < by_send.size(); ++i) v.push_back(by_send[i].second);
    std::sort(v.begin(), v.end());
    w.samples = v.size();
    auto at = [&](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
    w.p25_ns = at(0.25);
    w.p50_ns = at(0.50);
    w.p75_ns = at(0.75);
    return w;
}

std::string render_compare_text(const std::vector<Journey>& journeys, const TextStyle& style,
                                const std::vector<std::uint64_t>& untraced_one_way_ns) {
    Paint paint{style.color};
    std::string out = paint.head("TRANSPORTS SIDE BY SIDE") +
                      " (median over the data packets of each run)\n";
    constexpr int kLabel = 22, kCol = 14;
    std::string header = fmt::format("  {:<{}}", "", kLabel);
    for (const auto& j : journeys) header += fmt::format("{:>{}}", j.transport, kCol);
    out += paint.dim(header) + "\n";
    auto row = [&](const std::string& label, auto value) {
        std::string line = fmt::format("  {:<{}}", label, kLabel);
        for (const auto& j : journeys) line += fmt::format("{:>{}}", value(j), kCol);
        out += line + "\n";
    };
    row("packets", [](const Journey& j) { return std::to_string(j.packets.size()); });
    row("data packets", [](const Journey& j) { return std::to_string(j.stats.data_packets); });
    row("hops per data packet", [](const Journey& j) {
        for (const auto& p : j.packets)
            if (p.kind == journey::PacketKind::data || p.kind == journey::PacketKind::datagram ||
                p.kind == journey::PacketKind::message)
                return std::to_string(p.hops.size());
        return std::string("-");
    });
    // Every (side, layer) any journey has, in path order.
    std::vector<std::pair<bool, Layer>> keys;
    for (int side = 0; side < 2; ++side) {
        static constexpr Layer kSend[] = {Layer::application, Layer::socket, Layer::transport,
                                          Layer::network, Layer::device};
        static constexpr Layer kRecv[] = {Layer::receive, Layer::network, Layer::transport,
                                          Layer::socket, Layer::application};
        for (Layer l : side ? std::span<const Layer>(kRecv) : std::span<const Layer>(kSend)) {
            bool any = false;
            for (const auto& j : journeys)
                for (const auto& s : j.layer_summary)
                    any |= s.layer == l && s.receive_side == (side == 1);
            if (any) keys.push_back({side == 1, l});
        }
    }
    for (const auto& [rx, layer] : keys) {
        std::string label = fmt::format("{} {}", rx ? "receive" : "send", model::layer_name(layer));
        row(label + " µs", [&, rx = rx, layer = layer](const Journey& j) {
            for (const auto& s : j.layer_summary)
                if (s.layer == layer && s.receive_side == rx)
                    return us(static_cast<std::int64_t>(s.median_ns));
            return std::string("-");
        });
    }
    std::vector<OneWaySpread> spreads;
    for (const auto& j : journeys) spreads.push_back(one_way_spread(j));
    auto spread_row = [&](const std::string& label, auto value) {
        std::string line = fmt::format("  {:<{}}", label, kLabel);
        for (const auto& w : spreads) line += fmt::format("{:>{}}", w.samples ? value(w) : "-", kCol);
        out += line + "\n";
    };
    spread_row("one way µs (median)", [](const OneWaySpread& w) {
        return us(static_cast<std::int64_t>(w.p50_ns));
    });
    spread_row("  p25 - p75 µs", [](const OneWaySpread& w) {
        return us(static_cast<std::int64_t>(w.p25_ns)) + "-" +
               us(static_cast<std::int64_t>(w.p75_ns));
    });
    spread_row("  messages (warm-up)", [](const OneWaySpread& w) {
        return fmt::format("{} ({})", w.samples, w.warmup);
    });
    const bool untraced = untraced_one_way_ns.size() == journeys.size();
    if (untraced) {
        std::string line = fmt::format("  {:<{}}", "untraced one way µs", kLabel);
        for (auto ns : untraced_one_way_ns)
            line += fmt::format("{:>{}}", ns ? us(static_cast<std::int64_t>(ns)) : "-", kCol);
        out += line + "\n";
    }
    row("lost events", [](const Journey& j) { return std::to_string(j.stats.lost_events); });

    // Which is faster, traced and untraced: the tracer's cost grows with the
    // hops a message crosses, so it can reorder transports whose own times are close.
    auto fastest = [&](auto value) {
        std::size_t best = journeys.size();
        for (std::size_t i = 0; i < journeys.size(); ++i)
            if (value(i) && (best == journeys.size() || value(i) < value(best))) best = i;
        return best;
    };
    const std::size_t traced_best = fastest([&](std::size_t i) { return spreads[i].p50_ns; });
    if (traced_best < journeys.size()) {
        out += fmt::format("\nfastest traced: {}", journeys[traced_best].transport);
        if (untraced) {
            const std::size_t bench_best =
                fastest([&](std::size_t i) { return untraced_one_way_ns[i]; });
            if (bench_best < journeys.size()) {
                out += fmt::format("; untraced (a ping-pong as `tracepacket bench` runs it): {}",
                                   journeys[bench_best].transport);
                if (bench_best != traced_best)
                    out += ".\n" + paint.warn("They disagree:") +
                           " tracing costs time at every hop, and the transports cross different "
                           "numbers of hops (the \"hops per data packet\" row); the untraced row is "
                           "the transports' own figure";
            }
        }
        out += "\n";
    }
    return out;
}

}  // namespace tpk::report
