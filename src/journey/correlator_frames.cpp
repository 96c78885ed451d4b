#include "journey/correlator_frames.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

#include "decode/packet.h"
#include "decode/text.h"

namespace tpk::journey::stages {
namespace {

model::Endpoint endpoint_of(const decode::IpAddress& a, std::uint16_t port) {
    model::Endpoint e;
    e.family = a.family == decode::Family::ipv4 ? AF_INET
             : a.family == decode::Family::ipv6 ? AF_INET6 : 0;
    e.port = port;
    std::memcpy(e.addr.data(), a.bytes.data(), 16);
    if (a.family == decode::Family::ipv4) std::fill(e.addr.begin() + 4, e.addr.end(), 0);
    return e;
}

Frame frame_from(const Event& e, std::size_t index, decode::TextRenderer& text) {
    Frame f;
    f.index = index;
    f.t_ns = e.t_ns;
    f.captured_len = static_cast<std::uint32_t>(e.frame.size());
    f.wire_len = e.skb_len ? e.skb_len : f.captured_len;
    f.link_type = e.link_type;
    f.bytes = e.frame;
    decode::Packet p;
    auto bytes = std::as_bytes(std::span<const std::uint8_t>(e.frame));
    decode::decode_frame(e.link_type, bytes, f.wire_len, p);
    if (p.transport == decode::Transport::tcp || p.transport == decode::Transport::udp) {
        f.flow.protocol = p.protocol;
        f.flow.src = endpoint_of(p.src, p.src_port());
        f.flow.dst = endpoint_of(p.dst, p.dst_port());
        f.payload_len = p.payload_length;
        if (p.transport == decode::Transport::tcp) {
            f.tcp_flags = p.tcp.flags;
            f.seq = p.tcp.seq;
            f.ack = p.tcp.ack;
        }
    }
    fmt::memory_buffer out;
    text.render_body(p, out);
    f.summary = fmt::to_string(out);
    return f;
}

bool frame_matches(const Frame& f, const Packet& p) {
    if (f.flow.protocol != p.flow.protocol || f.flow.src != p.flow.src || f.flow.dst != p.flow.dst)
        return false;
    if (f.payload_len != p.payload_len) return false;
    if (p.flow.protocol == IPPROTO_TCP)
        return f.tcp_flags == p.tcp_flags && f.seq == p.seq && f.ack == p.ack;
    return true;
}

// What a frame and its packet share: the flow and, for TCP, flags, seq and ack;
// and the payload length.
struct FrameKey {
    std::uint8_t protocol = 0, tcp_flags = 0;
    std::uint16_t sport = 0, dport = 0;
    std::array<std::uint8_t, 16> saddr{}, daddr{};
    std::uint32_t seq = 0, ack = 0, len = 0;
    bool operator==(const FrameKey&) const = default;
};

FrameKey frame_key(const Flow& f, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                   std::uint32_t len) {
    FrameKey k;
    k.protocol = f.protocol;
    k.sport = f.src.port;
    k.dport = f.dst.port;
    k.saddr = f.src.addr;
    k.daddr = f.dst.addr;
    k.len = len;
    if (f.protocol == IPPROTO_TCP) {
        k.tcp_flags = flags;
        k.seq = seq;
        k.ack = ack;
    }
    return k;
}

struct FrameKeyHash {
    std::size_t operator()(const FrameKey& k) const {
        std::uint64_t words[4];
        std::memcpy(words, k.saddr.data(), 16);
        std::memcpy(words + 2, k.daddr.data(), 16);
        std::uint64_t h = (std::uint64_t{k.seq} << 32 | k.ack) * 0x9E3779B97F4A7C15ull;
        h ^= (std::uint64_t{k.sport} << 48 | std::uint64_t{k.dport} << 32 | k.len) +
             (std::uint64_t{k.protocol} << 8 | k.tcp_flags);
        for (auto w : words) h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        return h ^ (h >> 31);
    }
};

}  // namespace

std::vector<Frame> decode_frames(const std::vector<const Event*>& frames) {
    std::vector<Frame> out;
    decode::TextRenderer text({.absolute_seq = true});
    for (std::size_t i = 0; i < frames.size(); ++i) out.push_back(frame_from(*frames[i], i, text));
    return out;
}

FrameMatch match_frames(std::vector<Frame> frames, std::vector<PacketState>& packets,
                        const std::vector<Connection>& connections) {
    // Frames by their header key, each key's frames in capture order; the
    // n-th packet with a key takes the n-th frame with it (next). Hashed: a
    // busy run has a key per frame, and ordered keys of two 16-byte
    // addresses cost a memcmp per step.
    struct Frames {
        std::vector<std::size_t> in_order;
        std::size_t next = 0;
    };
    std::unordered_map<FrameKey, Frames, FrameKeyHash> by_key;
    by_key.reserve(frames.size());
    for (std::size_t f = 0; f < frames.size(); ++f) {
        const auto& fr = frames[f];
        auto& with_key = by_key[frame_key(fr.flow, fr.tcp_flags, fr.seq, fr.ack, fr.payload_len)];
        with_key.in_order.push_back(f);
    }
    std::vector<bool> used(frames.size(), false);
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        // Dropped before any device: no capture can have seen it (a
        // retransmit with the same headers takes the frame).
        if (p.dropped && !ps.has_device) continue;
        auto it = by_key.find(frame_key(p.flow, p.tcp_flags, p.seq, p.ack, p.payload_len));
        if (it == by_key.end()) continue;
        Frames& with_key = it->second;
        if (with_key.next >= with_key.in_order.size()) continue;
        std::size_t f = with_key.in_order[with_key.next++];
        if (!frame_matches(frames[f], p)) continue;
        used[f] = true;
        p.frame = std::move(frames[f]);   // only frames not used are read again
    }
    // Frames of other conversations (a capture of all of lo while tracing
    // some programs) are counted, not shown.
    std::vector<Frame> rest;
    std::uint64_t other = 0;
    const ConnectionIndex index(connections);
    for (std::size_t f = 0; f < used.size(); ++f) {
        if (used[f]) continue;
        // Without kernel packets (no privileges) every frame is the run's.
        if (!packets.empty() && index.of_flow(frames[f].flow) == kNone) ++other;
        else rest.push_back(std::move(frames[f]));
    }
    FrameMatch out;
    out.matched = used.size() - rest.size() - other;
    out.frames = used.size() - other;
    out.other = other;
    out.unmatched = std::move(rest);
    return out;
}

}  // namespace tpk::journey::stages
