#include "netlink/netlink_socket.h"

#include <linux/netlink.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace tpk::netlink {
namespace {

// Large enough for a full dump batch: the kernel fills up to this much per
// recv (it sizes dump skbs from the reader's buffer, capped near 32 KiB).
constexpr std::size_t kReceiveBufferSize = 64 * 1024;

struct CallbackState {
    const MessageHandler* handler;
    Status status;
};

int on_data(const nlmsghdr* message, void* data) {
    auto* state = static_cast<CallbackState*>(data);
    Status s = (*state->handler)(message);
    if (!s) {
        state->status = std::move(s);
        return MNL_CB_ERROR;
    }
    return MNL_CB_OK;
}

}  // namespace

Result<NetlinkSocket> NetlinkSocket::open(int bus) {
    NetlinkSocket result;
    result.socket_.reset(mnl_socket_open2(bus, SOCK_CLOEXEC));
    if (!result.socket_) return errno_error("open netlink socket");
    if (mnl_socket_bind(result.socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error("bind netlink socket");
    result.port_id_ = mnl_socket_get_portid(result.socket_.get());
    // Replies are matched by sequence; start from the clock so two runs in a
    // row never share numbers (what iproute2 does too).
    result.sequence_ = static_cast<unsigned>(time(nullptr));
    return result;
}

nlmsghdr* NetlinkSocket::start_request(std::vector<char>& buffer, int type, int flags) {
    buffer.assign(MNL_SOCKET_BUFFER_SIZE, 0);
    nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
    header->nlmsg_type = static_cast<uint16_t>(type);
    header->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    header->nlmsg_seq = ++sequence_;
    return header;
}

Status NetlinkSocket::exchange(nlmsghdr* request, const MessageHandler& on_message) {
    if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0)
        return errno_error("send netlink request");
    std::vector<char> buffer(kReceiveBufferSize);
    CallbackState state{&on_message, {}};
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
        if (n < 0) return errno_error("receive netlink reply");
        int rc = mnl_cb_run(buffer.data(), static_cast<size_t>(n), request->nlmsg_seq, port_id_,
                            on_data, &state);
        if (rc == MNL_CB_ERROR) {
            if (!state.status) return std::move(state.status).take_error();
            return errno_error("netlink");  // NLMSG_ERROR from the kernel, errno set
        }
        if (rc == MNL_CB_STOP) return {};
    }
}

}  // namespace tpk::netlink
