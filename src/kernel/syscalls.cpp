#include "kernel/syscalls.h"

#include <string>

#include <linux/types.h>

#include "events.h"

namespace tpk::kernel {
namespace {

// arch/x86/entry/syscalls/syscall_64.tbl. send()/recv() have no x86_64
// number: libc turns them into sendto()/recvfrom().
constexpr std::uint8_t kFd = TPK_SC_TRACE | TPK_SC_FD_ARG0;
constexpr std::uint8_t kSocketFd = kFd | TPK_SC_SOCKET_ONLY;
constexpr std::uint8_t kRx = TPK_SC_RX;
constexpr std::uint8_t kData = TPK_SC_DATA;   // one record per call (bpf/events.h)

constexpr SyscallInfo kSyscalls[] = {
    {0, "read", kSocketFd | kRx | kData, 0, 2, kNoArg},
    {1, "write", kSocketFd | kData, 0, 2, kNoArg},
    {3, "close", kSocketFd | TPK_SC_CLOSES, 0, kNoArg, kNoArg},
    {7, "poll", TPK_SC_TRACE, kNoArg, 1, kNoArg},
    {19, "readv", kSocketFd | kRx | kData, 0, kNoArg, kNoArg},
    {20, "writev", kSocketFd | kData, 0, kNoArg, kNoArg},
    {40, "sendfile", kSocketFd | kData, 0, 3, kNoArg},
    {41, "socket", TPK_SC_TRACE | TPK_SC_RET_FD, kNoArg, kNoArg, 1},
    {42, "connect", kFd, 0, kNoArg, kNoArg},
    {43, "accept", kFd | TPK_SC_RET_FD, 0, kNoArg, kNoArg},
    {44, "sendto", kFd | kData, 0, 2, 3},
    {45, "recvfrom", kFd | kRx | kData, 0, 2, 3},
    {46, "sendmsg", kFd | kData, 0, kNoArg, 2},
    {47, "recvmsg", kFd | kRx | kData, 0, kNoArg, 2},
    {48, "shutdown", kFd, 0, kNoArg, 1},
    {49, "bind", kFd, 0, kNoArg, kNoArg},
    {50, "listen", kFd, 0, 1, kNoArg},
    {54, "setsockopt", kFd, 0, 4, 2},
    {232, "epoll_wait", TPK_SC_TRACE, 0, 2, kNoArg},
    {271, "ppoll", TPK_SC_TRACE, kNoArg, 1, kNoArg},
    {281, "epoll_pwait", TPK_SC_TRACE, 0, 2, kNoArg},
    {288, "accept4", kFd | TPK_SC_RET_FD, 0, kNoArg, 3},
    {299, "recvmmsg", kFd | kRx | kData, 0, 2, 3},
    {307, "sendmmsg", kFd | kData, 0, 2, 3},
    {441, "epoll_pwait2", TPK_SC_TRACE, 0, 2, kNoArg},
};

static_assert(sizeof(kSyscalls) / sizeof(kSyscalls[0]) > 0);

}  // namespace

std::span<const SyscallInfo> traced_syscalls() { return kSyscalls; }

const SyscallInfo* find_syscall(int nr) {
    for (const auto& s : kSyscalls)
        if (s.nr == nr) return &s;
    return nullptr;
}

std::string syscall_name(int nr) {
    if (const auto* s = find_syscall(nr)) return std::string(s->name);
    return "syscall_" + std::to_string(nr);
}

}  // namespace tpk::kernel
