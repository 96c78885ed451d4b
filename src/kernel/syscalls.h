// The system calls the tracer records, with x86_64 numbers and which
// argument is the fd, the length and the flags. User space owns this table:
// the BPF program only gets a per-number knob (TPK_SC_* in bpf/events.h).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tpk::kernel {

inline constexpr int kNoArg = -1;

struct SyscallInfo {
    int nr;                  // x86_64 number
    std::string_view name;   // "sendto"
    std::uint8_t knobs;      // TPK_SC_* bits for the BPF program
    int fd_arg;              // index of the fd argument, or kNoArg
    int size_arg;            // index of the length (or count) argument, or kNoArg
    int flags_arg;           // index of the flags argument (MSG_*, SOCK_*, how), or kNoArg
};

// Every traced system call, ordered by number.
std::span<const SyscallInfo> traced_syscalls();
// nullptr when nr is not traced.
const SyscallInfo* find_syscall(int nr);
// "sendto", or "syscall_<nr>" for numbers outside the table.
std::string syscall_name(int nr);

}  // namespace tpk::kernel
