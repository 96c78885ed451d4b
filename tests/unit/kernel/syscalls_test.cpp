#include "kernel/syscalls.h"

#include <linux/types.h>
#include <sys/syscall.h>

#include <set>

#include <gtest/gtest.h>

#include "events.h"

namespace tpk::kernel {
namespace {

// The table's numbers are checked against the C library's <sys/syscall.h>,
// which is generated from the kernel's syscall_64.tbl.
TEST(Syscalls, NumbersMatchTheCLibrary) {
    struct Expected { int nr; const char* name; } expected[] = {
        {SYS_read, "read"},         {SYS_write, "write"},       {SYS_close, "close"},
        {SYS_poll, "poll"},         {SYS_readv, "readv"},       {SYS_writev, "writev"},
        {SYS_sendfile, "sendfile"}, {SYS_socket, "socket"},     {SYS_connect, "connect"},
        {SYS_accept, "accept"},     {SYS_sendto, "sendto"},     {SYS_recvfrom, "recvfrom"},
        {SYS_sendmsg, "sendmsg"},   {SYS_recvmsg, "recvmsg"},   {SYS_shutdown, "shutdown"},
        {SYS_bind, "bind"},         {SYS_listen, "listen"},     {SYS_setsockopt, "setsockopt"},
        {SYS_epoll_wait, "epoll_wait"}, {SYS_ppoll, "ppoll"},   {SYS_epoll_pwait, "epoll_pwait"},
        {SYS_accept4, "accept4"},   {SYS_recvmmsg, "recvmmsg"}, {SYS_sendmmsg, "sendmmsg"},
        {SYS_epoll_pwait2, "epoll_pwait2"},
    };
    for (const auto& e : expected) EXPECT_EQ(syscall_name(e.nr), e.name) << e.nr;
    EXPECT_EQ(traced_syscalls().size(), std::size(expected));
}

TEST(Syscalls, UnknownNumbersGetAPlaceholderName) {
    EXPECT_EQ(syscall_name(SYS_getpid), "syscall_" + std::to_string(SYS_getpid));
    EXPECT_EQ(find_syscall(SYS_getpid), nullptr);
}

TEST(Syscalls, EveryEntryFitsTheBpfKnobArray) {
    std::set<int> seen;
    for (const auto& s : traced_syscalls()) {
        EXPECT_GE(s.nr, 0);
        EXPECT_LT(s.nr, TPK_MAX_SYSCALLS);
        EXPECT_TRUE(seen.insert(s.nr).second) << "duplicate " << s.name;
        EXPECT_TRUE(s.knobs & TPK_SC_TRACE) << s.name;
        // Knobs that look at args[0] need args[0] to be the fd.
        if (s.knobs & (TPK_SC_SOCKET_ONLY | TPK_SC_FD_ARG0)) {
            EXPECT_EQ(s.fd_arg, 0) << s.name;
        }
    }
}

TEST(Syscalls, ReceivesAreMarkedRx) {
    for (int nr : {SYS_read, SYS_readv, SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg})
        EXPECT_TRUE(find_syscall(nr)->knobs & TPK_SC_RX) << syscall_name(nr);
    for (int nr : {SYS_write, SYS_writev, SYS_sendto, SYS_sendmsg, SYS_connect})
        EXPECT_FALSE(find_syscall(nr)->knobs & TPK_SC_RX) << syscall_name(nr);
    // read/write/close of files are not the conversation: sockets only.
    for (int nr : {SYS_read, SYS_write, SYS_close})
        EXPECT_TRUE(find_syscall(nr)->knobs & TPK_SC_SOCKET_ONLY) << syscall_name(nr);
}

}  // namespace
}  // namespace tpk::kernel
