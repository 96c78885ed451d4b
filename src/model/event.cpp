#include "model/event.h"

#include <cassert>

namespace tpk::model {
namespace {

struct KindInfo {
    EventKind kind;
    std::string_view name;
    Layer layer;
};

constexpr KindInfo kKinds[] = {
    {EventKind::syscall_enter, "syscall_enter", Layer::application},
    {EventKind::syscall_exit, "syscall_exit", Layer::application},
    {EventKind::sock_send_length, "sock_send_length", Layer::socket},
    {EventKind::sock_recv_length, "sock_recv_length", Layer::socket},
    {EventKind::tcp_sendmsg_locked, "tcp_sendmsg_locked", Layer::transport},
    {EventKind::fib_table_lookup, "fib_table_lookup", Layer::network},
    {EventKind::net_dev_queue, "net_dev_queue", Layer::device},
    {EventKind::net_dev_start_xmit, "net_dev_start_xmit", Layer::device},
    {EventKind::net_dev_xmit, "net_dev_xmit", Layer::device},
    {EventKind::netif_rx, "netif_rx", Layer::receive},
    {EventKind::netif_receive_skb, "netif_receive_skb", Layer::receive},
    {EventKind::tcp_probe, "tcp_probe", Layer::transport},
    {EventKind::inet_sock_set_state, "inet_sock_set_state", Layer::transport},
    {EventKind::sk_data_ready, "sk_data_ready", Layer::socket},
    {EventKind::skb_copy_datagram_iovec, "skb_copy_datagram_iovec", Layer::socket},
    {EventKind::consume_skb, "consume_skb", Layer::socket},
    {EventKind::kfree_skb, "kfree_skb", Layer::socket},
    {EventKind::tcp_retransmit_skb, "tcp_retransmit_skb", Layer::transport},
    {EventKind::tcp_send_reset, "tcp_send_reset", Layer::transport},
    {EventKind::tcp_receive_reset, "tcp_receive_reset", Layer::transport},
    {EventKind::frame, "frame", Layer::capture},
    {EventKind::socket_snapshot, "socket_snapshot", Layer::socket},
    {EventKind::process_fork, "process_fork", Layer::application},
    {EventKind::process_exit, "process_exit", Layer::application},
    {EventKind::lost_events, "lost_events", Layer::application},
    {EventKind::ip_output, "ip_output", Layer::network},
    {EventKind::ip_rcv, "ip_rcv", Layer::network},
    {EventKind::ip_local_deliver, "ip_local_deliver", Layer::network},
};

const KindInfo& info(EventKind kind) {
    for (const auto& k : kKinds)
        if (k.kind == kind) return k;
    assert(false && "every EventKind has an entry in kKinds");
    return kKinds[0];
}

}  // namespace

std::string_view event_name(EventKind kind) { return info(kind).name; }
Layer layer_of(EventKind kind) { return info(kind).layer; }

std::optional<EventKind> event_kind_from_name(std::string_view name) {
    for (const auto& k : kKinds)
        if (k.name == name) return k.kind;
    return std::nullopt;
}

std::string_view layer_name(Layer layer) {
    switch (layer) {
        case Layer::application: return "application";
        case Layer::socket: return "socket";
        case Layer::transport: return "transport";
        case Layer::network: return "network";
        case Layer::device: return "device";
        case Layer::receive: return "receive";
        case Layer::capture: return "capture";
    }
    return "unknown";
}

std::string_view tcp_state_name(int state) {
    // include/net/tcp_states.h
    static constexpr std::string_view kNames[] = {
        "UNKNOWN",   "ESTABLISHED", "SYN-SENT",   "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
        "TIME-WAIT", "CLOSE",       "CLOSE-WAIT", "LAST-ACK", "LISTEN",     "CLOSING",
        "NEW-SYN-RECV",
    };
    if (state < 0 || state >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
    return kNames[state];
}

}  // namespace tpk::model
