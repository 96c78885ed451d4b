#include "journey/stream.h"

#include <netinet/in.h>

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "journey/correlator_common.h"
#include "journey/correlator_events.h"
#include "journey/correlator_states.h"
#include "journey/explain.h"

namespace tpk::journey {
namespace {

using model::Event;
using model::EventKind;

constexpr std::int32_t kTcpTimeWait = 6;
constexpr std::int32_t kTcpClose = 7;
// Data packets each way a connection keeps in the context: a retransmit
// after the cut repeats one of the latest.
constexpr std::size_t kDataContext = 2;
// How long a connection in TIME-WAIT keeps its context (see carry_context).
constexpr std::uint64_t kTimeWaitContextNs = 2'000'000'000;


bool is_socket_setup(const std::string& name) {
    return name == "socket" || name == "bind" || name == "listen" || name == "connect" ||
           name == "accept" || name == "accept4";
}

// Still alive at the cut: its skb neither freed nor dropped (bytes waiting
// in a receive queue for a reader, a FIN before the reader saw EOF), or seen
// at or after busy_from (a cut while traffic flows: its next hops, its frame,
// may not have arrived yet). Shown once it ends, with its number kept from
// its first chunk.
bool unfinished(const Journey& j, std::size_t i, std::uint64_t busy_from) {
    const Packet& p = j.packets[i];
    if (busy_from && std::any_of(p.hops.begin(), p.hops.end(),
                                 [&](const Hop& h) { return h.t_ns >= busy_from; }))
        return true;
    if (p.dropped) {
        // What TCP does about a dropped segment (its retransmit) is part of
        // its story: it waits for it.
        const bool repeated = std::any_of(j.packets.begin(), j.packets.end(), [&](const Packet& q) {
            return q.retransmit_of == i;
        });
        const bool carries = p.payload_len || (p.tcp_flags & (model::kSyn | model::kFin));
        return p.flow.protocol == 6 && carries && !repeated;
    }
    const bool freed = std::any_of(p.hops.begin(), p.hops.end(), [](const Hop& h) {
        return h.event == EventKind::consume_skb || h.event == EventKind::kfree_skb;
    });
    // Bytes are done once a call that returned has read them (TCP frees a
    // read skb with __kfree_skb(), which has no tracepoint; a segment merged
    // into another is freed before its bytes are read), or once they were
    // thrown away with their socket's queue.
    if (p.payload_len) {
        const bool read = p.recv_syscall != kNone && j.syscalls[p.recv_syscall].exit_ns;
        return !read && !(freed && p.drop_reason == "QUEUE_PURGE");
    }
    if (freed) return false;
    // A segment without bytes is done once TCP took it on the receive side
    // (the kernel frees some, a SYN-ACK in tcp_rcv_synsent_state_process,
    // with __kfree_skb() as well).
    return std::none_of(p.hops.begin(), p.hops.end(), [](const Hop& h) {
        return h.receive_side &&
               (h.layer == model::Layer::transport || h.layer == model::Layer::socket);
    });
}

// A call on a socket that no connection claims yet (socket(), bind(),
// setsockopt() before the first packet): the whole journey lists it under
// the connection that socket later carries, so it waits for that.
bool waits_for_connection(const Syscall& s) {
    return s.connection == kNone && (s.sk || s.new_sk) &&
           (is_socket_setup(s.name) || s.name == "setsockopt" || s.name == "getsockopt" ||
            s.name == "getsockname" || s.name == "getpeername");
}

// The calls a packet names: they list it, so they wait while it does.
template <typename F>
void calls_of(const Packet& p, F&& f) {
    for (const auto& h : p.hops)
        if (h.syscall != kNone) f(h.syscall);
    for (auto i : {p.send_syscall, p.recv_syscall, p.error_syscall})
        if (i != kNone) f(i);
}

// A closed time range [from, to].
struct Span {
    std::uint64_t from, to;
};

// Sorted by start, overlapping ones joined: their ends are sorted too.
std::vector<Span> merged(std::vector<Span> spans) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.from < b.from; });
    std::vector<Span> out;
    for (const auto& s : spans) {
        if (!out.empty() && s.from <= out.back().to) out.back().to = std::max(out.back().to, s.to);
        else out.push_back(s);
    }
    return out;
}

// Whether [from, to] meets one of the merged spans.
bool overlaps(const std::vector<Span>& spans, std::uint64_t from, std::uint64_t to) {
    auto it = std::lower_bound(spans.begin(), spans.end(), from,
                               [](const Span& s, std::uint64_t t) { return s.to < t; });
    return it != spans.end() && it->from <= to;
}

bool is_data(const Packet& p) {
    return p.kind == PacketKind::data || p.kind == PacketKind::datagram ||
           p.kind == PacketKind::message;
}

// What identifies a packet when its events are correlated again: its first
// hop of its own skb (the calls, route lookups and socket events around it
// are attached from what else a chunk holds, and one chunk may lack the
// call that an earlier one had), that hop's skb, and its sequence number
// (the segments of one GSO skb share its first hops; a chunk that holds
// only the GSO skb's net_dev_queue has not seen the segments' skbs yet).
auto packet_key(const Packet& p) {
    auto own = std::find_if(p.hops.begin(), p.hops.end(),
                            [](const Hop& h) { return stages::is_skb_hop(h.event); });
    const Hop* h = own != p.hops.end() ? &*own : p.hops.empty() ? nullptr : &p.hops.front();
    return std::make_tuple(h ? h->t_ns : 0, h ? h->tid : 0u,
                           static_cast<std::uint16_t>(h ? h->event : EventKind::frame),
                           h ? h->skb : 0, p.seq);
}

// A syscall by its thread and enter (its exit when the enter was not seen).
std::pair<std::uint32_t, std::uint64_t> syscall_key(const Syscall& s) {
    return {s.tid, s.enter_ns ? s.enter_ns : s.exit_ns | (1ull << 63)};
}

}  // namespace

JourneyStream::JourneyStream(CorrelatorInput setup) : setup_(std::move(setup)) {
    setup_.events.clear();
    // The tracer's and the capture's counts are the whole run's: totals().
    setup_.lost_events = 0;
    setup_.capture_dropped = 0;
}

// The free of a packet already shown, held in a CPU's packet stage across
// the quiet time (bpf/packet_stage.bpf.h flushes at the next hop there).
bool JourneyStream::late_free(const model::Event& e) const {
    const bool free = e.kind == EventKind::consume_skb || e.kind == EventKind::kfree_skb;
    return free && e.t_ns <= last_cut_ns_ && shown_skbs_.count(e.skb);
}

void JourneyStream::add(model::Event e) {
    if (late_free(e)) {
        ++late_hops_;
        return;
    }
    pending_.push_back(std::move(e));
}

void JourneyStream::add(std::vector<model::Event>&& events) {
    // Hundreds of thousands at the end of a busy run: the vector is taken
    // over rather than its events moved one by one, unless the buffer the
    // last cut left (correlate_cut) is large enough already.
    const auto from = static_cast<std::ptrdiff_t>(pending_.size());
    if (pending_.empty() && pending_.capacity() < events.size()) {
        pending_ = std::move(events);
    } else {
        pending_.reserve(pending_.size() + events.size());
        std::move(events.begin(), events.end(), std::back_inserter(pending_));
    }
    events.clear();
    if (shown_skbs_.empty()) return;
    auto late = std::remove_if(pending_.begin() + from, pending_.end(),
                               [&](const model::Event& e) { return late_free(e); });
    late_hops_ += static_cast<std::uint64_t>(pending_.end() - late);
    pending_.erase(late, pending_.end());
}

void JourneyStream::add_route(Route r) {
    if (!routes_.count(r.destination)) {
        route_order_.push_back(r.destination);
        Route kept = r;
        kept.lookups.clear();
        routes_.emplace(r.destination, std::move(kept));
    }
    setup_.routes.push_back(std::move(r));
}

std::optional<Journey> JourneyStream::cut(bool last, std::uint64_t hold_ns) {
    auto j = correlate_cut(last, hold_ns);
    if (j) explain(*j);
    return j;
}

std::optional<Journey> JourneyStream::correlate_cut(bool last, std::uint64_t hold_ns) {
    if (pending_.size() == context_size_ && (!last || context_size_ == 0)) return std::nullopt;
    busy_from_ = 0;
    if (hold_ns && !last) {
        std::uint64_t newest = 0;
        for (auto e = pending_.begin() + static_cast<std::ptrdiff_t>(context_size_);
             e != pending_.end(); ++e)
            newest = std::max(newest, e->t_ns);
        busy_from_ = newest > hold_ns ? newest - hold_ns : 1;
    }
    CorrelatorInput in = setup_;
    in.events = std::move(pending_);   // the context first, then what came since
    pending_.clear();
    const std::size_t context_events = context_size_ - context_frames_;
    const std::size_t context_frames = context_frames_;

    std::size_t chunk_frames = 0;
    for (const auto& e : in.events) chunk_frames += e.kind == model::EventKind::frame;
    Journey j = correlate(in);
    // Ends that a SYN named a server's: they orient the later chunks'
    // connections whose SYN is gone (CorrelatorInput::earlier_server_ports).
    for (const auto& c : j.connections)
        if (c.client_isn && c.client_to_server.protocol == IPPROTO_TCP)
            setup_.earlier_server_ports.insert(c.client_to_server.dst.port);
    for (const auto& e : in.events) last_cut_ns_ = std::max(last_cut_ns_, e.t_ns);
    number_chunk(j, last);
    shown_skbs_.clear();
    for (std::size_t i = 0; i < j.packets.size(); ++i)
        if (j.shows_packet(i))
            for (auto skb : j.packets[i].skbs) shown_skbs_.insert(skb);
    frame_base_ += chunk_frames - context_frames;
    add_totals(j);
    stats_.frames -= std::min<std::uint64_t>(stats_.frames, context_frames);
    stats_.events += j.stats.events - std::min<std::uint64_t>(j.stats.events, context_events);
    carry_context(j, in.events, last);
    // The next cut's events go where these were, the context first: a busy
    // run's chunk is hundreds of MB, and fresh memory for each one cost a
    // page fault per 4 KiB.
    in.events.clear();
    pending_ = std::move(in.events);
    std::move(context_.begin(), context_.end(), std::back_inserter(pending_));
    context_size_ = context_.size();
    context_.clear();
    ++chunks_;
    return j;
}

void JourneyStream::cut_and_hand(bool last, std::uint64_t hold_ns, ChunkHandler on_chunk) {
    auto chunk = correlate_cut(last, hold_ns);
    wait_handed();
    if (!chunk) return;
    handing_ = std::async(std::launch::async,
                          [on_chunk = std::move(on_chunk), c = std::move(*chunk)]() mutable {
                              Journey j = std::move(c);
                              explain(j);
                              on_chunk(std::move(j));
                          });
}

void JourneyStream::wait_handed() {
    if (handing_.valid()) handing_.get();
}

void JourneyStream::finish(const ChunkHandler& on_chunk, std::size_t every) {
    // What came since the last cut, after the context at the front.
    std::vector<model::Event> rest = std::move(pending_);
    pending_.clear();
    pending_.reserve(context_size_ + std::min(rest.size(), every));
    const auto context_end = rest.begin() + static_cast<std::ptrdiff_t>(context_size_);
    std::move(rest.begin(), context_end, std::back_inserter(pending_));
    // Time order, as a live trace adds them: the ring's records come nearly
    // so, the capture's frames at the end. (time, position) pairs sort as a
    // stable sort of the events would, without moving an event per swap.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
    order.reserve(rest.size() - context_size_);
    for (std::size_t i = context_size_; i < rest.size(); ++i)
        order.emplace_back(rest[i].t_ns, static_cast<std::uint32_t>(i));
    std::sort(order.begin(), order.end());
    for (auto [t, i] : order) {
        if (pending_events() >= every) cut_and_hand(false, kFinishHoldNs, on_chunk);
        add(std::move(rest[i]));
    }
    cut_and_hand(true, 0, on_chunk);
    wait_handed();
}

std::optional<std::size_t> JourneyStream::shown_before(const Packet& p) const {
    std::optional<std::size_t> number;
    for (const auto& h : p.hops) {
        if (!stages::is_skb_hop(h.event)) continue;
        auto it = shown_hops_.find(hop_key(h));
        if (it == shown_hops_.end()) return std::nullopt;
        if (!number) number = it->second;
    }
    return number;
}

void JourneyStream::number_chunk(Journey& j, bool last) {
    auto& n = j.numbering;
    n.packets.resize(j.packets.size());
    n.packet_shown.assign(j.packets.size(), false);
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& p = j.packets[i];
        const auto key = packet_key(p);
        auto it = packet_numbers_.find(key);
        if (it == packet_numbers_.end()) {
            // A part of a packet shown whole before: its number, not shown.
            if (auto number = shown_before(p)) {
                n.packets[i] = *number;
                continue;
            }
            it = packet_numbers_.emplace(key, next_packet_++).first;
        }
        n.packets[i] = it->second;
        // Context was shown by an earlier chunk; an unfinished packet comes
        // again, whole, with the next one.
        if (!packets_shown_.count(key)) {
            if (!last && unfinished(j, i, busy_from_)) continue;
            n.packet_shown[i] = true;
            packets_shown_.insert(key);
        }
        if (!last)
            for (const auto& h : p.hops)
                if (stages::is_skb_hop(h.event)) shown_hops_.insert_or_assign(hop_key(h), it->second);
    }
    std::set<std::size_t> waiting;   // calls named by packets that wait
    if (!last)
        for (std::size_t i = 0; i < j.packets.size(); ++i)
            if (unfinished(j, i, busy_from_)) calls_of(j.packets[i], [&](std::size_t c) { waiting.insert(c); });
    n.syscalls.resize(j.syscalls.size());
    n.syscall_shown.assign(j.syscalls.size(), false);
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
        const auto& s = j.syscalls[i];
        auto key = syscall_key(s);
        auto it = syscall_numbers_.find(key);
        if (it == syscall_numbers_.end())
            it = syscall_numbers_.emplace(key, next_syscall_++).first;
        n.syscalls[i] = it->second;
        // A call still blocked is shown once it returns (or the run ends).
        const bool ready = last || (s.exit_ns && !waits_for_connection(s) && !waiting.count(i) &&
                                    (!busy_from_ || s.exit_ns < busy_from_));
        if (ready && !syscalls_shown_.count(key)) {
            n.syscall_shown[i] = true;
            syscalls_shown_.insert(key);
        }
    }
    n.connections.resize(j.connections.size());
    for (std::size_t c = 0; c < j.connections.size(); ++c) {
        const auto& conn = j.connections[c];
        // The same connection in an earlier chunk: the one with its
        // conversation and SYN (client ISN), whatever sockets this chunk gave
        // it; without its SYN here, a socket in common (the server's may be
        // unknown before its SYN-ACK), and the same transport, conversation
        // and SYN, since the kernel hands a freed socket's address to a later
        // connection (a busy server's thousands of connections a second soon
        // show it); the first such. The SYN first: a chunk's sockets can be
        // another connection's. Late packets of a closed connection, carried
        // without its SYN, join the handshake of an earlier connection on the
        // same port pair (the kernel reuses it from the server's TIME-WAIT)
        // and lend it their sockets; a socket found by its endpoints
        // (learn_sockets) may be one whose address an earlier connection of
        // that port pair had. Found by its sockets alone, such a connection
        // was numbered anew and printed twice, the second time without
        // packets (1 of 20,000 short connections).
        std::size_t number = kNone;
        const stages::ConversationKey conversation(conn.client_to_server);
        const SynKey syn{conversation, conn.client_isn};
        if (conn.client_isn)
            if (auto it = connections_by_syn_.find(syn); it != connections_by_syn_.end())
                number = it->second;
        auto earliest = [&](const auto& by_sk, std::uint64_t sk) {
            if (!sk) return;
            auto it = by_sk.find(sk);
            if (it == by_sk.end()) return;
            for (auto k : it->second) {
                const auto& seen = connections_[k];
                // On lo the kernel reuses a TIME-WAIT port pair at once
                // (tcp_tw_reuse): a new SYN, a new initial sequence number.
                const bool new_syn = seen.client_isn && conn.client_isn &&
                                     seen.client_isn != conn.client_isn;
                if (k < number && seen.transport == conn.transport && !new_syn &&
                    stages::ConversationKey(seen.client_to_server) == conversation)
                    number = k;
            }
        };
        if (number == kNone) {
            earliest(connections_by_client_sk_, conn.client_sk);
            earliest(connections_by_server_sk_, conn.server_sk);
        }
        if (number == kNone) {
            number = connections_.size();
            Connection kept = conn;
            kept.packets.clear();
            kept.states.clear();
            kept.syscalls.clear();
            if (kept.client_sk) connections_by_client_sk_[kept.client_sk].push_back(number);
            if (kept.server_sk) connections_by_server_sk_[kept.server_sk].push_back(number);
            if (kept.client_isn) connections_by_syn_.emplace(syn, number);
            connections_.push_back(std::move(kept));
        } else {
            // What a later chunk learned (the server's socket, its ISN).
            auto& seen = connections_[number];
            if (!seen.server_sk && conn.server_sk)
                connections_by_server_sk_[conn.server_sk].push_back(number);
            if (!seen.server_sk) seen.server_sk = conn.server_sk;
            if (!seen.listen_sk) seen.listen_sk = conn.listen_sk;
            if (!seen.server_isn) seen.server_isn = conn.server_isn;
            if (!seen.client_isn && conn.client_isn) {
                seen.client_isn = conn.client_isn;
                connections_by_syn_.emplace(syn, number);
            }
        }
        n.connections[c] = number;
    }

    // Frames: numbered among the whole run's captured frames. The carried
    // ones (of unfinished packets) keep their number and are older than
    // every new one, which follow the frames of the chunks before.
    auto frame_number = [&](Frame& f) {
        if (auto it = frame_numbers_.find(f.t_ns); it != frame_numbers_.end())
            f.index = it->second;
        else
            f.index = frame_base_ + f.index - context_frames_;
    };
    for (auto& p : j.packets)
        if (p.frame) frame_number(*p.frame);
    for (auto& f : j.unmatched_frames) frame_number(f);
    held_frames_.clear();
    if (busy_from_ && !last)
        std::erase_if(j.unmatched_frames, [&](const Frame& f) {
            if (f.t_ns < busy_from_) return false;
            held_frames_.emplace(f.t_ns, f.index);
            return true;
        });

    n.state_shown.assign(j.states.size(), false);
    for (std::size_t i = 0; i < j.states.size(); ++i) {
        const auto& s = j.states[i];
        // A busy cut's window comes again with the next chunk.
        if (busy_from_ && !last && s.t_ns >= busy_from_) continue;
        n.state_shown[i] = states_shown_.insert({s.sk, s.t_ns, s.new_state}).second;
    }
}

void JourneyStream::add_totals(const Journey& j) {
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        if (!j.shows_packet(i)) continue;
        const auto& p = j.packets[i];
        ++stats_.packets;
        if (samples_.add(j, p)) ++stats_.data_packets;
        if (!p.frame && p.flow.protocol) ++stats_.packets_without_frame;
        if (p.frame) ++stats_.frames_matched;
        if (p.retransmit) ++stats_.retransmits;
        if (p.kind == PacketKind::reset) ++stats_.resets;
        if (p.connection != kNone)
            connections_[j.connection_number(p.connection)].packets.push_back(j.packet_number(i));
    }
    for (std::size_t i = 0; i < j.syscalls.size(); ++i)
        if (j.shows_syscall(i) && j.syscalls[i].connection != kNone)
            connections_[j.connection_number(j.syscalls[i].connection)].syscalls.push_back(
                j.syscall_number(i));
    // Lost-event records of a recording are not carried: each chunk counts its own.
    stats_.lost_events += j.stats.lost_events;
    // Frames are never carried: each chunk counts its own.
    stats_.frames += j.stats.frames;
    stats_.frames_other += j.stats.frames_other;
    for (const auto& note : j.notes)
        if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(note);
    for (const auto& r : j.routes) {
        auto it = routes_.find(r.destination);
        if (it == routes_.end()) {
            // A route known only from the kernel's lookups (no rtnetlink
            // answer): its notes all come from the lookups, at the end.
            Route kept = r;
            kept.lookups.clear();
            kept.notes.clear();
            it = routes_.emplace(r.destination, std::move(kept)).first;
            route_order_.push_back(r.destination);
        }
        Route& kept = it->second;
        auto& seen = lookups_seen_[r.destination];
        for (FibLookup f : r.lookups) {
            // A lookup inside a context call was counted by its first chunk;
            // the packet it routed may be known only now (it waited then).
            auto [at, fresh] = seen.emplace(std::make_pair(f.t_ns, f.pid), kept.lookups.size());
            if (!fresh) {
                auto& counted = kept.lookups[at->second];
                if (counted.packet == kNone && f.packet != kNone && j.shows_packet(f.packet))
                    counted.packet = j.packet_number(f.packet);
                continue;
            }
            f.packet = j.packet_number(f.packet);
            f.during_syscall = j.syscall_number(f.during_syscall);
            kept.lookups.push_back(std::move(f));
        }
    }
}

void JourneyStream::carry_context(const Journey& j, std::vector<model::Event>& events,
                                  bool last) {
    if (last) {
        context_frames_ = 0;
        shown_hops_.clear();
        packet_numbers_.clear();
        packets_shown_.clear();
        syscall_numbers_.clear();
        syscalls_shown_.clear();
        return;
    }
    // Sockets whose TCP life ended: their connection needs no context.
    // TIME-WAIT lasts 60 s (TCP_TIMEWAIT_LEN), but what still comes then on
    // one machine is a FIN sent again because the last ACK was lost, after
    // the peer's RTO (200 ms at least, doubling: three of them within
    // 1.4 s). The context stays 2 s: a busy server closes thousands of
    // connections a second, and carrying each for 60 s made every chunk
    // correlate the last minute's handshakes again. A segment later than
    // that shows without its handshake (sequence numbers from its own).
    std::uint64_t now = 0;
    for (const auto& e : events) now = std::max(now, e.t_ns);
    for (const auto& s : j.states) {
        // A socket that enters TIME-WAIT is closed right after (tcp_done());
        // the timewait sock that stands in for it is what keeps the port.
        if (s.new_state == kTcpTimeWait) time_wait_since_.emplace(s.sk, s.t_ns);
        if (s.new_state == kTcpClose && !time_wait_since_.count(s.sk)) closed_sockets_.insert(s.sk);
        // Any other change: a socket lives at that address (again: the
        // kernel reuses a freed socket's memory for the next one).
        else if (s.new_state != kTcpTimeWait) closed_sockets_.erase(s.sk);
    }
    for (auto it = time_wait_since_.begin(); it != time_wait_since_.end();) {
        if (now > it->second + kTimeWaitContextNs) {
            closed_sockets_.insert(it->first);
            it = time_wait_since_.erase(it);
        } else {
            ++it;
        }
    }

    std::unordered_set<EventKey, EventKeyHash> keys;
    std::unordered_map<std::uint32_t, std::vector<Span>> windows;   // by thread
    std::set<std::size_t> named_syscalls;   // their numbers are asked for again
    auto keep_call_ends = [&](std::size_t i) {
        if (i == kNone || i >= j.syscalls.size()) return;
        named_syscalls.insert(i);
        const auto& s = j.syscalls[i];
        if (s.enter_ns) keys.insert({s.enter_ns, s.tid, static_cast<std::uint16_t>(EventKind::syscall_enter)});
        if (s.exit_ns) keys.insert({s.exit_ns, s.tid, static_cast<std::uint16_t>(EventKind::syscall_exit)});
    };
    // A packet and the ends of the calls it names (a call is whole or absent).
    auto keep_packet = [&](const Packet& p) {
        for (const auto& h : p.hops) {
            keys.insert({h.t_ns, h.tid, static_cast<std::uint16_t>(h.event)});
            keep_call_ends(h.syscall);
        }
        keep_call_ends(p.send_syscall);
        keep_call_ends(p.recv_syscall);
        keep_call_ends(p.error_syscall);
    };
    std::set<std::size_t> kept_packets, kept_syscalls;
    std::unordered_set<std::uint64_t> kept_frames;   // t_ns of the frames of unfinished packets
    auto keep_syscall = [&](std::size_t i) {
        const auto& s = j.syscalls[i];
        kept_syscalls.insert(i);
        windows[s.tid].push_back({s.enter_ns, s.exit_ns ? s.exit_ns : UINT64_MAX});
    };

    // Connections that keep their context, and their sockets: the calls
    // that set those sockets up come again too.
    std::set<std::size_t> open_connections;
    std::set<std::uint64_t> open_sockets;
    for (std::size_t c = 0; c < j.connections.size(); ++c) {
        const auto& conn = j.connections[c];
        const bool tcp = conn.transport.rfind("tcp", 0) == 0;
        // Closed once both its sockets were. Remembered by its number: a
        // connection carried as context may come again with only its
        // handshake, which names the listener as the server's socket.
        const std::size_t number = j.connection_number(c);
        const bool closed =
            tcp && (closed_connections_.count(number) ||
                    ((closed_sockets_.count(conn.client_sk) || !conn.client_sk) &&
                     (closed_sockets_.count(conn.server_sk) || !conn.server_sk)));
        if (closed) closed_connections_.insert(number);
        // A connection whose packets are not all done keeps its context.
        const bool waiting = std::any_of(conn.packets.begin(), conn.packets.end(),
                                         [&](std::size_t i) { return unfinished(j, i, busy_from_); });
        if (closed && !waiting) continue;
        std::size_t data_each_way[3] = {0, 0, 0};
        for (auto it = conn.packets.rbegin(); it != conn.packets.rend(); ++it) {
            const auto& p = j.packets[*it];
            const bool handshake = p.kind == PacketKind::handshake;
            auto& count = data_each_way[static_cast<int>(p.direction)];
            const bool recent = is_data(p) && count < kDataContext;
            if (recent) ++count;
            if (handshake || recent) {
                keep_packet(p);
                kept_packets.insert(*it);
            }
        }
        open_connections.insert(c);
        for (auto sk : {conn.client_sk, conn.server_sk, conn.listen_sk})
            if (sk) open_sockets.insert(sk);
    }
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
        const auto& s = j.syscalls[i];
        // A call the chunk gives to a connection is that connection's; one
        // by its socket's address only when it has none. The kernel gives a
        // closed socket's address to the next socket at once: a closed
        // connection's connect() kept because an open one now had its
        // socket's address brought its handshake back in every chunk (the
        // context grew with every connection served, and a handshake carried
        // seconds later met the next connection on its port pair).
        // An accept() is its connection's by the socket it returned, not by
        // the listener every accept() names: else a server's every accept()
        // so far would come again while any of its connections is open.
        const bool accept = s.name == "accept" || s.name == "accept4";
        const bool ours = s.connection != kNone
                              ? open_connections.count(s.connection) > 0
                              : (s.sk && !accept && open_sockets.count(s.sk)) ||
                                    (s.new_sk && open_sockets.count(s.new_sk));
        if (ours && is_socket_setup(s.name)) keep_syscall(i);
    }
    // Packets still alive come again, whole (their frame too), with the next
    // chunk; one cut off by a busy cut with the calls that ran meanwhile (a
    // poller it wakes: explain says how long it waited).
    std::vector<Span> cut_off;   // from first to last hop of those cut off
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        if (!unfinished(j, i, busy_from_)) continue;
        const Packet& p = j.packets[i];
        keep_packet(p);
        kept_packets.insert(i);
        if (p.frame) kept_frames.insert(p.frame->t_ns);
        // Only for a packet cut off by a busy cut: one alive since long
        // (bytes in a receive queue) already explained its wake-ups.
        if (p.hops.empty() || !busy_from_ || unfinished(j, i, 0)) continue;
        auto [first, last_hop] = std::minmax_element(
            p.hops.begin(), p.hops.end(), [](const Hop& a, const Hop& b) { return a.t_ns < b.t_ns; });
        cut_off.push_back({first->t_ns, last_hop->t_ns});
    }
    if (!cut_off.empty()) {
        const auto spans = merged(std::move(cut_off));
        for (std::size_t c = 0; c < j.syscalls.size(); ++c) {
            const auto& sc = j.syscalls[c];
            if (sc.enter_ns && overlaps(spans, sc.enter_ns, sc.exit_ns ? sc.exit_ns : UINT64_MAX))
                keep_syscall(c);
        }
    }
    // Calls still in progress, or waiting for their connection, come again,
    // whole, with the next chunk.
    for (std::size_t i = 0; i < j.syscalls.size(); ++i) {
        const auto& sc = j.syscalls[i];
        // socket() names its socket as the one it returned.
        const bool closed = closed_sockets_.count(sc.sk ? sc.sk : sc.new_sk) > 0;
        if (!sc.exit_ns || (waits_for_connection(sc) && !closed)) keep_syscall(i);
    }

    // A busy cut: what happened in the hold window comes again, all of it.
    if (busy_from_)
        for (std::size_t i = 0; i < j.syscalls.size(); ++i)
            if (j.syscalls[i].exit_ns >= busy_from_) keep_syscall(i);
    for (auto& [tid, spans] : windows) spans = merged(std::move(spans));
    context_frames_ = 0;
    frame_numbers_ = held_frames_;
    for (std::size_t i : kept_packets)
        if (const auto& f = j.packets[i].frame) frame_numbers_[f->t_ns] = f->index;
    const auto in_window = [&](const Event& e) { return busy_from_ && e.t_ns >= busy_from_; };
    const auto event_key = [](const Event& e) {
        return EventKey{e.t_ns, e.tid, static_cast<std::uint16_t>(e.kind)};
    };
    // The events that come again. A packet some of whose hops come again
    // (inside the window of a call that does: a connect() waiting for its
    // connection, a read still blocked) comes again whole, and keeps its
    // number; so do the calls it names, whose ends may be the first hops of
    // more packets: until nothing is added (two rounds, as a rule).
    std::unordered_set<EventKey, EventKeyHash> carried;
    std::vector<std::size_t> carried_events;   // positions in events
    for (bool added = true; added;) {
        carried_events.clear();
        context_frames_ = 0;
        carried.clear();
        for (std::size_t i = 0; i < events.size(); ++i) {
            const Event& e = events[i];
            if (e.kind == EventKind::frame) {
                if (kept_frames.count(e.t_ns) || in_window(e)) {
                    carried_events.push_back(i);
                    ++context_frames_;
                }
                continue;
            }
            if (e.kind == EventKind::lost_events) continue;
            bool keep = in_window(e) || keys.count(event_key(e)) > 0;
            if (!keep)
                if (auto w = windows.find(e.tid); w != windows.end())
                    keep = overlaps(w->second, e.t_ns, e.t_ns);
            if (keep) {
                carried_events.push_back(i);
                carried.insert(event_key(e));
            }
        }
        added = false;
        for (std::size_t i = 0; i < j.packets.size(); ++i) {
            if (kept_packets.count(i)) continue;
            const auto& hops = j.packets[i].hops;
            if (std::none_of(hops.begin(), hops.end(),
                             [&](const Hop& h) { return carried.count(hop_key(h)) > 0; }))
                continue;
            keep_packet(j.packets[i]);
            kept_packets.insert(i);
            added = true;
        }
    }
    // The chunk's events are not needed after this: moved, not copied.
    context_.clear();
    context_.reserve(carried_events.size());
    for (auto i : carried_events) context_.push_back(std::move(events[i]));

    // Forget the numbers, and the hops shown, that nothing carried can ask
    // for again.
    decltype(shown_hops_) hops_shown;
    for (const auto& e : context_)
        if (auto it = shown_hops_.find(event_key(e)); it != shown_hops_.end())
            hops_shown.insert(*it);
    shown_hops_ = std::move(hops_shown);
    decltype(packet_numbers_) packets;
    for (auto i : kept_packets) {
        auto key = packet_key(j.packets[i]);
        if (auto it = packet_numbers_.find(key); it != packet_numbers_.end()) packets.insert(*it);
    }
    packet_numbers_ = std::move(packets);
    decltype(packets_shown_) packets_shown;
    for (const auto& [key, number] : packet_numbers_)
        if (packets_shown_.count(key)) packets_shown.insert(key);
    packets_shown_ = std::move(packets_shown);
    decltype(syscall_numbers_) syscalls;
    decltype(syscalls_shown_) shown;
    for (auto i : named_syscalls) kept_syscalls.insert(i);
    for (auto i : kept_syscalls) {
        auto key = syscall_key(j.syscalls[i]);
        if (auto it = syscall_numbers_.find(key); it != syscall_numbers_.end()) syscalls.insert(*it);
        if (syscalls_shown_.count(key)) shown.insert(key);
    }
    syscall_numbers_ = std::move(syscalls);
    syscalls_shown_ = std::move(shown);
    decltype(states_shown_) states;
    for (const auto& e : context_)
        if (e.kind == EventKind::inet_sock_set_state)
            for (auto it = states_shown_.lower_bound({e.sk, e.t_ns, INT32_MIN});
                 it != states_shown_.end() && std::get<0>(*it) == e.sk && std::get<1>(*it) == e.t_ns;
                 ++it)
                states.insert(*it);
    states_shown_ = std::move(states);
}

Journey JourneyStream::totals(std::uint64_t lost_events, std::uint64_t capture_dropped) const {
    Journey j;
    j.transport = setup_.transport;
    if (j.transport.empty() && !connections_.empty()) j.transport = connections_.front().transport;
    j.processes = setup_.processes;
    j.connections = connections_;
    for (const auto& d : route_order_) {
        j.routes.push_back(routes_.at(d));
        stages::add_route_notes(j.routes.back(), stats_.packets > 0 || !connections_.empty());
    }
    for (auto& c : j.connections) std::sort(c.packets.begin(), c.packets.end());
    j.stats = stats_;
    j.stats.lost_events += lost_events;
    j.stats.capture_dropped = capture_dropped;
    j.layer_summary = samples_.medians();
    j.stats.median_one_way_ns = samples_.median_one_way_ns();
    j.notes = notes_;
    // The chunks' own lost-events notes counted their part; the whole run's replaces them.
    const std::string lost_tail = " kernel events were lost (ring buffer full): some packets may miss hops";
    std::erase_if(j.notes, [&](const std::string& n) {
        return n.size() > lost_tail.size() && n.compare(n.size() - lost_tail.size(), lost_tail.size(), lost_tail) == 0;
    });
    if (j.stats.lost_events)
        j.notes.insert(j.notes.begin(), fmt::format("{}{}", j.stats.lost_events, lost_tail));
    if (late_hops_)
        j.notes.push_back(fmt::format(
            "{} skb free(s) came after their packet was printed (held in a CPU's packet stage "
            "across a quiet time) and are not shown", late_hops_));
    return j;
}

}  // namespace tpk::journey
