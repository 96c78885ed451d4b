// A network namespace of the lab's own: anonymous (no /var/run/netns name),
// held by one file descriptor, so it disappears when its owner closes the fd
// or the process ends however it ends (SIGKILL included) and nothing is left
// for `ip netns list` to show. Its lo is up; nothing else exists in it, so a
// lab there never touches the host's sockets, routes or sysctls.
//
//     auto ns = NetNamespace::create();
//     auto inside = ns->enter();      // this thread (and threads it starts) now runs in it
//     ...                             // sockets, sock_diag, /proc/thread-self/net/*
//     // ~EnteredNetns: back to the namespace the thread came from
#pragma once

#include <cstdint>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

class EnteredNetns;

class NetNamespace {
public:
    // unshare(CLONE_NEWNET) in a short-lived thread (the caller's own
    // namespace never changes), lo brought up there. Needs CAP_SYS_ADMIN.
    static Result<NetNamespace> create();

    NetNamespace(NetNamespace&&) noexcept = default;
    NetNamespace& operator=(NetNamespace&&) noexcept = default;

    int fd() const { return fd_.get(); }
    // The namespace's inode number (what /proc/PID/ns/net links to, and what
    // the BPF side compares): net:[inode].
    std::uint64_t inode() const { return inode_; }

    // Moves the calling thread into the namespace until the returned guard dies.
    Result<EnteredNetns> enter() const;

private:
    NetNamespace() = default;
    UniqueFd fd_;
    std::uint64_t inode_ = 0;
};

// The calling thread's stay in a namespace; its destructor returns the thread
// to the namespace it was in (setns on the saved fd).
class EnteredNetns {
public:
    EnteredNetns(EnteredNetns&&) noexcept = default;
    EnteredNetns& operator=(EnteredNetns&&) = delete;
    EnteredNetns(const EnteredNetns&) = delete;
    ~EnteredNetns();

private:
    friend class NetNamespace;
    EnteredNetns() = default;
    UniqueFd previous_;
};

// The calling thread's network namespace inode.
Result<std::uint64_t> current_netns_inode();

// Reads / writes a sysctl of the calling thread's network namespace, by its
// /proc/sys path below net/ ("ipv4/tcp_syncookies"): the kernel resolves
// /proc/sys/net against the opening thread's namespace, so inside a lab this
// never reaches the host's value.
Result<std::string> read_net_sysctl(const std::string& name);
Status write_net_sysctl(const std::string& name, const std::string& value);

// Sets IFF_UP on a device of the calling thread's namespace (ioctl
// SIOCSIFFLAGS: the one flag a fresh namespace's lo needs).
Status set_link_up(const std::string& device);

}  // namespace tpk::lab
