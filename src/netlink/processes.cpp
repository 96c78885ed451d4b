#include "netlink/processes.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <string_view>

namespace tpk::netlink {
namespace {

bool is_number(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "socket:[12345]" -> 12345; anything else -> 0.
std::uint64_t socket_link_inode(std::string_view link) {
    constexpr std::string_view prefix = "socket:[";
    if (link.substr(0, prefix.size()) != prefix || link.back() != ']') return 0;
    std::string_view digits = link.substr(prefix.size(), link.size() - prefix.size() - 1);
    std::uint64_t inode = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
    return ec == std::errc{} && end == digits.data() + digits.size() ? inode : 0;
}

std::string read_comm(const std::string& pid_dir) {
    std::ifstream in(pid_dir + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

void scan_process(const std::string& pid_dir, int pid, SocketOwners& owners) {
    std::string fd_dir = pid_dir + "/fd";
    DIR* dir = opendir(fd_dir.c_str());
    if (!dir) return;  // gone, or not ours to read (EACCES without root)
    std::string comm;
    while (dirent* entry = readdir(dir)) {
        if (!is_number(entry->d_name)) continue;
        char link[64];
        std::string path = fd_dir + "/" + entry->d_name;
        ssize_t n = readlink(path.c_str(), link, sizeof link);
        if (n <= 0 || n == static_cast<ssize_t>(sizeof link)) continue;
        std::uint64_t inode = socket_link_inode(std::string_view(link, static_cast<std::size_t>(n)));
        if (inode == 0) continue;
        if (comm.empty()) comm = read_comm(pid_dir);
        owners[inode].push_back(ProcessRef{pid, comm, std::atoi(entry->d_name)});
    }
    closedir(dir);
}

}  // namespace

SocketOwners scan_socket_owners(const std::string& proc_root) {
    SocketOwners owners;
    DIR* proc = opendir(proc_root.c_str());
    if (!proc) return owners;
    while (dirent* entry = readdir(proc)) {
        if (!is_number(entry->d_name)) continue;
        scan_process(proc_root + "/" + entry->d_name, std::atoi(entry->d_name), owners);
    }
    closedir(proc);
    return owners;
}

void attach_processes(std::vector<SocketSnapshot>& sockets, const SocketOwners& owners) {
    for (auto& s : sockets) {
        if (s.inode == 0) continue;
        auto it = owners.find(s.inode);
        s.processes = it == owners.end() ? std::vector<ProcessRef>{} : it->second;
    }
}

}  // namespace tpk::netlink
