#include "netlink/processes.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "util/fd.h"

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

// /proc/PID/comm without its newline ("" when the process is gone).
std::string read_comm(int pid_dir) {
    UniqueFd fd(::openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC));
    char text[64];
    ssize_t n = fd ? ::read(fd.get(), text, sizeof text) : -1;
    if (n <= 0) return "";
    std::size_t length = static_cast<std::size_t>(n);
    if (text[length - 1] == '\n') --length;
    return std::string(text, length);
}

// Links are read relative to the process's fd directory (openat/readlinkat),
// so the kernel resolves "/proc/PID/fd" once per process, not once per fd.
void scan_process(int proc, const char* pid_name, int pid, SocketOwners& owners) {
    UniqueFd pid_dir(::openat(proc, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pid_dir) return;  // gone
    int fd_dir = ::openat(pid_dir.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_dir < 0) return;  // gone, or not ours to read (EACCES without root)
    DIR* dir = fdopendir(fd_dir);
    if (!dir) {
        ::close(fd_dir);
        return;
    }
    std::string comm;
    while (dirent* entry = readdir(dir)) {
        if (!is_number(entry->d_name)) continue;
        char link[64];
        ssize_t n = readlinkat(fd_dir, entry->d_name, link, sizeof link);
        if (n <= 0 || n == static_cast<ssize_t>(sizeof link)) continue;
        std::uint64_t inode = socket_link_inode(std::string_view(link, static_cast<std::size_t>(n)));
        if (inode == 0) continue;
        if (comm.empty()) comm = read_comm(pid_dir.get());
        owners[inode].push_back(ProcessRef{pid, comm, std::atoi(entry->d_name)});
    }
    closedir(dir);  // closes fd_dir
}

}  // namespace

SocketOwners scan_socket_owners(const std::string& proc_root) {
    SocketOwners owners;
    UniqueFd proc(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* dir = proc ? fdopendir(::dup(proc.get())) : nullptr;
    if (!dir) return owners;
    while (dirent* entry = readdir(dir)) {
        if (!is_number(entry->d_name)) continue;
        scan_process(proc.get(), entry->d_name, std::atoi(entry->d_name), owners);
    }
    closedir(dir);
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
