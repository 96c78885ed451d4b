// One owner for a libmnl netlink socket and the request/reply loop every
// netlink query here uses (sock_diag dumps, rtnetlink route get and dumps).
#pragma once

#include <libmnl/libmnl.h>

#include <functional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::netlink {

namespace detail {
inline void close_mnl(mnl_socket* s) { mnl_socket_close(s); }
}  // namespace detail

// Calls visit(attr) for each attribute after the family header of `message`
// (libmnl's mnl_attr_for_each macro is C: it assigns from void*).
template <class Visit>
void for_each_attribute(const nlmsghdr* message, std::size_t header_size, Visit&& visit) {
    const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(message));
    for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(message, header_size));
         mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
         attr = static_cast<const nlattr*>(mnl_attr_next(attr)))
        visit(attr);
}

// Called for each reply message; an Error stops the loop and is returned.
using MessageHandler = std::function<Status(const nlmsghdr*)>;

class NetlinkSocket {
public:
    // bus: NETLINK_SOCK_DIAG or NETLINK_ROUTE.
    static Result<NetlinkSocket> open(int bus);

    // Builds a request of `type` with `flags` (NLM_F_REQUEST is added) in a
    // buffer the caller fills through the returned header.
    nlmsghdr* start_request(std::vector<char>& buffer, int type, int flags);

    // Sends the request and runs on_message for each reply until the dump
    // ends (NLMSG_DONE) or the single reply / ACK arrived. A kernel NLMSG_ERROR
    // becomes an Error carrying its errno.
    Status exchange(nlmsghdr* request, const MessageHandler& on_message);

private:
    ScopedHandle<mnl_socket, detail::close_mnl> socket_;
    unsigned port_id_ = 0;
    unsigned sequence_ = 0;
};

}  // namespace tpk::netlink
