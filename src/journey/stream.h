// A trace correlated in chunks while it runs (issue #14), so that output
// starts while the traced programs still run and memory does not grow with
// the length of the trace.
//
// The session adds events as they arrive. Each time the traced programs'
// traffic has been quiet for a while (every packet delivered or freed, as
// the session judges from the records that stopped arriving), it cuts: what
// came since the last cut is correlated together with the context it needs
// from before, explained, numbered over the whole run, and handed out as a
// chunk (a Journey whose numbering says what to show); its events are freed.
//
// The context carried from one chunk to the next, and correlated again but
// not shown again:
//   - connections still open: their handshake packets and the calls that made
//     their sockets (socket, bind, listen, connect, accept), so roles, ISNs
//     and relative sequence numbers come out as in one whole journey;
//   - their last data packets each way, so a retransmit after the cut still
//     finds the packet it repeats;
//   - calls still in progress (a read blocked across the quiet time): their
//     enter and what ran inside them so far; shown once they return.
// What the summary and the connection records need is kept as totals
// (integers, not records): see totals().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "journey/correlator.h"
#include "journey/correlator_common.h"
#include "journey/correlator_summary.h"
#include "journey/journey.h"
#include "model/event.h"

namespace tpk::journey {

class JourneyStream {
public:
    // setup: what the session knows before any event (processes, transport,
    // server_port; routes are added with add_route). Its events are ignored.
    explicit JourneyStream(CorrelatorInput setup);

    void add(model::Event e);
    void add(std::vector<model::Event>&& events);   // the same, for each in order
    // Every event added since the last cut, handed back (a run that never
    // cut is correlated whole instead).
    std::vector<model::Event> take_pending() { return std::move(pending_); }
    // The route to a destination the traced programs talked to (rtnetlink's
    // answer): every later chunk attaches its kernel lookups to it.
    void add_route(Route r);
    std::size_t pending_events() const { return pending_.size() - context_size_; }
    std::size_t chunks() const { return chunks_; }

    // Correlates the events added since the last cut with their context;
    // nullopt when none were added. last: the run is over (calls still
    // blocked are shown as they are, nothing is carried). hold_ns: a cut
    // while traffic still flows; packets seen within hold_ns of the newest
    // event wait for the next cut (their later hops and frames may still be
    // on their way), as packets still alive do.
    std::optional<Journey> cut(bool last = false, std::uint64_t hold_ns = 0);

    // cut(), with the chunk explained and handed to on_chunk on a thread of
    // its own while the caller goes on (correlating the next one): one
    // hand-off at a time, in order, the chunk freed there. Once tracing has
    // ended this keeps both CPUs at work. wait_handed() returns once the
    // last on_chunk has returned.
    using ChunkHandler = std::function<void(Journey&&)>;
    void cut_and_hand(bool last, std::uint64_t hold_ns, ChunkHandler on_chunk);
    void wait_handed();

    // The rest of the run, once tracing has ended: what was added since the
    // last cut, in time order, cut every `every` events as a busy trace is
    // (kFinishHoldNs), then the last cut, each through cut_and_hand(). After
    // a busy run hundreds of thousands of packets wait here; one cut of them
    // all would hold every one in memory at once and write nothing until the
    // end. Returns once the last on_chunk has returned.
    static constexpr std::size_t kFinishEvery = 250'000;
    // The hold of those cuts: every event is there by now, in time order, so
    // the hold need not wait for late ones as a live cut's does; the
    // recordings' tests cut so (tests/unit/report/stream_test.cpp).
    static constexpr std::uint64_t kFinishHoldNs = 20'000'000;
    void finish(const ChunkHandler& on_chunk, std::size_t every = kFinishEvery);

    // The whole run after the last cut, for the summary and the connection
    // and route records: connections with every packet's number, routes with
    // every lookup, the stats, the layer medians, the notes. Its packets and
    // syscalls are empty; stats.packets counts them.
    Journey totals(std::uint64_t lost_events, std::uint64_t capture_dropped) const;

private:
    using EventKey = std::tuple<std::uint64_t, std::uint32_t, std::uint16_t>;  // t_ns, tid, kind
    // A packet's first hop of its own skb, that skb, its sequence number: a
    // GSO skb's net_dev_queue is the first hop of each segment it became.
    using PacketKey =
        std::tuple<std::uint64_t, std::uint32_t, std::uint16_t, std::uint64_t, std::uint32_t>;
    struct EventKeyHash {
        std::size_t operator()(const EventKey& k) const {
            const std::uint64_t tid_kind = std::uint64_t{std::get<1>(k)} << 16 | std::get<2>(k);
            return std::hash<std::uint64_t>{}(std::get<0>(k) * 0x9E3779B97F4A7C15ull ^ tid_kind);
        }
    };
    static EventKey hop_key(const Hop& h) {
        return EventKey{h.t_ns, h.tid, static_cast<std::uint16_t>(h.event)};
    }
    // The number of the packet shown before that had all of p's skb hops.
    std::optional<std::size_t> shown_before(const Packet& p) const;
    bool late_free(const model::Event& e) const;
    std::optional<Journey> correlate_cut(bool last, std::uint64_t hold_ns);   // cut(), unexplained
    void number_chunk(Journey& j, bool last);
    // Moves what the next cut needs again out of events (the chunk's own,
    // not needed afterwards) into context_.
    void carry_context(const Journey& j, std::vector<model::Event>& events, bool last);
    void add_totals(const Journey& j);

    CorrelatorInput setup_;
    // The events of the next cut: those carried from the last cut (its
    // context, context_size_ of them, context_frames_ of those frames of
    // unfinished packets), then those added since.
    std::vector<model::Event> pending_;
    std::size_t context_size_ = 0;
    std::size_t context_frames_ = 0;
    std::vector<model::Event> context_;   // carry_context() gathers it here
    // cut_and_hand()'s last hand-off; a future of std::async, so the
    // stream's destruction waits for it.
    std::future<void> handing_;
    std::size_t frame_base_ = 0;          // frames of the chunks before (not carried)
    std::map<std::uint64_t, std::size_t> frame_numbers_;   // carried frames: t_ns -> number
    std::map<std::uint64_t, std::size_t> held_frames_;     // unmatched, in a busy cut's window
    std::size_t chunks_ = 0;
    std::uint64_t busy_from_ = 0;   // this cut's: packets seen from then on wait (cut())

    // Numbers over the whole run, by a key that survives being correlated
    // again: a packet's first hop, a syscall's (tid, enter), a connection's
    // sockets. Pruned to what the context still holds.
    std::map<PacketKey, std::size_t> packet_numbers_;
    std::set<PacketKey> packets_shown_;
    // The skb hops of the packets shown, while their events are carried. A
    // packet's events correlated again with less around them can come out
    // split (a bulk segment's net_dev_queue, on the skb TCP cloned, apart
    // from its later hops): a new first hop, a new key, and the packet was
    // shown a second time, without its frame. A packet whose skb hops were
    // all shown is not shown again. Each with its packet's number.
    std::unordered_map<EventKey, std::size_t, EventKeyHash> shown_hops_;
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> syscall_numbers_;
    std::set<std::pair<std::uint32_t, std::uint64_t>> syscalls_shown_;
    std::set<std::tuple<std::uint64_t, std::uint64_t, std::int32_t>> states_shown_;
    std::size_t next_packet_ = 0, next_syscall_ = 0;
    std::set<std::uint64_t> closed_sockets_;   // TCP sockets whose life ended
    std::set<std::size_t> closed_connections_;   // by number
    std::map<std::uint64_t, std::uint64_t> time_wait_since_;   // sk -> t_ns it entered TIME-WAIT

    // Frees that come after their packet was shown (see add()).
    std::uint64_t last_cut_ns_ = 0;
    std::set<std::uint64_t> shown_skbs_;   // of the last chunk's shown packets
    std::uint64_t late_hops_ = 0;

    // Totals.
    std::vector<Connection> connections_;  // by number
    // Their numbers by client and server socket (an address the kernel may
    // reuse for a later connection: each list in the order they were seen).
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> connections_by_client_sk_,
        connections_by_server_sk_;
    // Their numbers by conversation and client ISN, for those whose SYN was
    // seen: what a chunk holding the SYN finds them by (number_chunk).
    struct SynKey {
        stages::ConversationKey conversation;
        std::uint32_t client_isn;
        bool operator==(const SynKey&) const = default;
    };
    struct SynKeyHash {
        std::size_t operator()(const SynKey& k) const {
            return stages::ConversationKeyHash{}(k.conversation) * 0x9E3779B97F4A7C15ull ^
                   k.client_isn;
        }
    };
    std::unordered_map<SynKey, std::size_t, SynKeyHash> connections_by_syn_;
    std::map<std::string, Route> routes_;  // by destination, lookups renumbered
    // Per destination, the lookups counted so far: (t_ns, pid) -> position.
    std::map<std::string, std::map<std::pair<std::uint64_t, std::uint32_t>, std::size_t>>
        lookups_seen_;
    std::vector<std::string> route_order_;
    stages::LayerSamples samples_;
    Stats stats_;
    std::vector<std::string> notes_;
};

}  // namespace tpk::journey
