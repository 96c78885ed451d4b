// Hand-made flows for the correlator's stage tests.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "model/event.h"

namespace tpk::testing {

// 127.0.0.1:from -> 127.0.0.1:to over TCP.
inline model::Flow loopback_tcp_flow(std::uint16_t from, std::uint16_t to) {
    model::Flow f;
    f.protocol = IPPROTO_TCP;
    f.src.family = f.dst.family = AF_INET;
    f.src.addr[0] = f.dst.addr[0] = 127;
    f.src.addr[3] = f.dst.addr[3] = 1;
    f.src.port = from;
    f.dst.port = to;
    return f;
}

}  // namespace tpk::testing
