// Which processes hold which sockets: /proc/PID/fd/N links read as
// "socket:[INODE]", as ss -p does. Processes we may not inspect are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "netlink/sock_diag.h"

namespace tpk::netlink {

using SocketOwners = std::unordered_map<std::uint64_t, std::vector<ProcessRef>>;

// Scans /proc once (proc_root is a parameter so tests can point elsewhere).
SocketOwners scan_socket_owners(const std::string& proc_root = "/proc");

// Fills SocketSnapshot::processes from one scan.
void attach_processes(std::vector<SocketSnapshot>& sockets, const SocketOwners& owners);

}  // namespace tpk::netlink
