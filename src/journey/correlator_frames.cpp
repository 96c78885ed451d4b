#include "journey/correlator_frames.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <map>
#include <span>
#include <tuple>

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
    // n-th packet with a key takes the n-th frame with it.
    using Key = std::tuple<std::uint8_t, std::uint16_t, std::uint16_t, std::array<std::uint8_t, 16>,
                           std::array<std::uint8_t, 16>, std::uint8_t, std::uint32_t, std::uint32_t,
                           std::uint32_t>;
    auto key = [](const Flow& f, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                  std::uint32_t len) {
        bool tcp = f.protocol == IPPROTO_TCP;
        return Key{f.protocol, f.src.port, f.dst.port, f.src.addr, f.dst.addr,
                   tcp ? flags : std::uint8_t{0}, tcp ? seq : 0u, tcp ? ack : 0u, len};
    };
    std::map<Key, std::vector<std::size_t>> by_key;
    for (std::size_t f = 0; f < frames.size(); ++f) {
        const auto& fr = frames[f];
        by_key[key(fr.flow, fr.tcp_flags, fr.seq, fr.ack, fr.payload_len)].push_back(f);
    }
    std::map<Key, std::size_t> next;
    std::vector<bool> used(frames.size(), false);
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        // Dropped before any device: no capture can have seen it (a
        // retransmit with the same headers takes the frame).
        if (p.dropped && !ps.has_device) continue;
        Key k = key(p.flow, p.tcp_flags, p.seq, p.ack, p.payload_len);
        auto it = by_key.find(k);
        if (it == by_key.end()) continue;
        std::size_t& n = next[k];
        if (n >= it->second.size()) continue;
        std::size_t f = it->second[n++];
        if (!frame_matches(frames[f], p)) continue;
        used[f] = true;
        p.frame = frames[f];
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
