#include "journey/journey.h"

namespace tpk::journey {

std::string_view role_name(Role r) {
    switch (r) {
        case Role::client: return "client";
        case Role::server: return "server";
        case Role::unknown: break;
    }
    return "unknown";
}

std::string_view packet_kind_name(PacketKind k) {
    switch (k) {
        case PacketKind::handshake: return "handshake";
        case PacketKind::data: return "data";
        case PacketKind::ack: return "ack";
        case PacketKind::teardown: return "teardown";
        case PacketKind::reset: return "reset";
        case PacketKind::datagram: return "datagram";
        case PacketKind::message: return "message";
    }
    return "unknown";
}

std::string_view cause_name(Cause c) {
    switch (c) {
        case Cause::syscall: return "syscall";
        case Cause::reply: return "reply";
        case Cause::timer: return "timer";
        case Cause::exit: return "exit";
        case Cause::unknown: break;
    }
    return "unknown";
}

std::string_view direction_name(Direction d) {
    switch (d) {
        case Direction::client_to_server: return "c->s";
        case Direction::server_to_client: return "s->c";
        case Direction::unknown: break;
    }
    return "?";
}

}  // namespace tpk::journey
