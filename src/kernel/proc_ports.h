// The TCP/UDP ports a running process already owns, from /proc: a process
// followed with -p may sit in poll() on a listening socket it opened long ago,
// and the handshake of its next connection comes before any system call
// that would teach the kernel side its port (tests: KernelTracer.*Pid*).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "kernel/tracer.h"

namespace tpk::kernel {

// Socket inodes of /proc/PID/fd ("socket:[123]"); empty if it is gone.
std::set<std::uint64_t> socket_inodes_of(pid_t pid);
// Parses one /proc/net/{tcp,tcp6,udp,udp6} table: the local ports of the
// sockets whose inode is in `inodes`. Pure, for the unit tests.
std::vector<std::uint16_t> local_ports_in_table(const std::string& table,
                                                const std::set<std::uint64_t>& inodes);
// Both together for all four tables.
std::vector<TracedPort> ports_of_process(pid_t pid);

}  // namespace tpk::kernel
