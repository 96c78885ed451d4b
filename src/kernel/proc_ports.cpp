#include "kernel/proc_ports.h"

#include <netinet/in.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tpk::kernel {

std::set<std::uint64_t> socket_inodes_of(pid_t pid) {
    std::set<std::uint64_t> inodes;
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        auto target = std::filesystem::read_symlink(it->path(), ec);
        if (ec) { ec.clear(); continue; }
        std::string s = target.string();
        if (s.rfind("socket:[", 0) == 0 && s.back() == ']')
            inodes.insert(std::stoull(s.substr(8, s.size() - 9)));
    }
    return inodes;
}

// "  0: 0100007F:4959 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 123 ..."
// fields: sl, local, remote, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
std::vector<std::uint16_t> local_ports_in_table(const std::string& table,
                                                const std::set<std::uint64_t>& inodes) {
    std::vector<std::uint16_t> ports;
    std::istringstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, st, queues, timer, retr, uid, timeout;
        std::uint64_t inode = 0;
        if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode))
            continue;
        auto colon = local.rfind(':');
        if (colon == std::string::npos || !inodes.count(inode)) continue;
        ports.push_back(static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16)));
    }
    return ports;
}

std::vector<TracedPort> ports_of_process(pid_t pid) {
    std::vector<TracedPort> ports;
    auto inodes = socket_inodes_of(pid);
    if (inodes.empty()) return ports;
    const std::pair<const char*, std::uint8_t> tables[] = {
        {"/proc/net/tcp", IPPROTO_TCP}, {"/proc/net/tcp6", IPPROTO_TCP},
        {"/proc/net/udp", IPPROTO_UDP}, {"/proc/net/udp6", IPPROTO_UDP}};
    for (const auto& [path, protocol] : tables) {
        std::ifstream f(path);
        std::stringstream text;
        text << f.rdbuf();
        for (auto port : local_ports_in_table(text.str(), inodes))
            if (port) ports.push_back({protocol, port});
    }
    return ports;
}

}  // namespace tpk::kernel
