#include "bench/transport.h"

namespace tpk::bench {

std::string_view transport_name(const Transport& t) {
    switch (t.kind) {
        case Transport::Kind::pipe: return "pipe";
        case Transport::Kind::socketpair: return "socketpair";
        case Transport::Kind::socket: break;
    }
    return lab::transport_name(t.socket);
}

std::vector<Transport> all_transports() {
    std::vector<Transport> out;
    for (auto t : lab::kAllTransports) out.push_back(Transport::of(t));
    out.push_back(Transport::pipe());
    out.push_back(Transport::socketpair());
    return out;
}

std::string transport_names() { return lab::transport_names() + ", pipe, socketpair"; }

Result<Transport> parse_transport(std::string_view name) {
    if (name == "pipe") return Transport::pipe();
    if (name == "socketpair") return Transport::socketpair();
    auto t = lab::parse_transport(name);
    if (!t) return make_error("unknown transport '" + std::string(name) + "' (valid: " +
                              transport_names() + ")");
    return Transport::of(*t);
}

bool keeps_boundaries(const Transport& t) {
    return t.kind == Transport::Kind::socket && !lab::is_byte_stream(t.socket);
}

bool is_tcp(const Transport& t) {
    return t.kind == Transport::Kind::socket &&
           (t.socket == lab::Transport::tcp || t.socket == lab::Transport::tcp6);
}

}  // namespace tpk::bench
