// Plain-socket traffic for the kernel runtime tests, run inside traced
// children: no gtest here, every function returns 0 on success.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace tpk::kernel::testing {

inline constexpr char kMessage[] = "hello tracepacket!";   // 18 bytes
inline constexpr std::size_t kMessageLen = sizeof(kMessage) - 1;
static_assert(kMessageLen == 18);

inline void report(int fd, const std::string& text) { (void)!write(fd, text.data(), text.size()); }

inline bool read_exactly(int fd, char* buf, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

// A socket bound to 127.0.0.1 on an ephemeral port; returns fd, sets *port.
inline int bound_socket(int type, std::uint16_t* port) {
    int fd = socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

inline int connect_tcp(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    return fd;
}

// Client (a forked child) sends kMessage, server echoes it, client closes.
// `messages` > 1 repeats the round trip (used to overflow a tiny ring buffer).
inline int tcp_client(std::uint16_t port, int messages) {
    int fd = connect_tcp(port);
    if (fd < 0) return 10;
    char buf[kMessageLen];
    for (int i = 0; i < messages; ++i) {
        if (send(fd, kMessage, kMessageLen, 0) != static_cast<ssize_t>(kMessageLen)) return 11;
        if (!read_exactly(fd, buf, kMessageLen)) return 12;
    }
    close(fd);
    return 0;
}

inline int tcp_serve_one(int listener, int messages) {
    int conn = accept(listener, nullptr, nullptr);
    if (conn < 0) return 20;
    char buf[kMessageLen];
    for (int i = 0; i < messages; ++i) {
        if (!read_exactly(conn, buf, kMessageLen)) return 21;
        if (send(conn, buf, kMessageLen, 0) != static_cast<ssize_t>(kMessageLen)) return 22;
    }
    char end;
    if (recv(conn, &end, 1, 0) != 0) return 23;   // the client's FIN
    close(conn);
    return 0;
}

inline int wait_child(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 30;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 31;
}

// Server in this process, client in a forked child; reports "PORT".
inline int tcp_exchange(int report_fd, int messages = 1) {
    std::uint16_t port = 0;
    int listener = bound_socket(SOCK_STREAM, &port);
    if (listener < 0 || listen(listener, 8) != 0) return 1;
    report(report_fd, std::to_string(port));
    pid_t client = fork();
    if (client == 0) _exit(tcp_client(port, messages));
    int rc = tcp_serve_one(listener, messages);
    close(listener);
    int crc = wait_child(client);
    return rc ? rc : crc;
}

// TCP over ::1: the client (a forked child) sends kMessage once; reports "PORT".
inline int tcp6_exchange(int report_fd) {
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    socklen_t len = sizeof a;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listener, 8) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 1;
    report(report_fd, std::to_string(ntohs(a.sin6_port)));
    pid_t client = fork();
    if (client == 0) {
        int fd = socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) _exit(2);
        _exit(send(fd, kMessage, kMessageLen, 0) == static_cast<ssize_t>(kMessageLen) ? 0 : 3);
    }
    int conn = accept(listener, nullptr, nullptr);
    char buf[kMessageLen];
    if (conn < 0 || !read_exactly(conn, buf, kMessageLen)) return 4;
    close(conn);
    close(listener);
    return wait_child(client);
}

// One datagram there and back; reports "PORT" (the server's).
inline int udp_exchange(int report_fd) {
    std::uint16_t server_port = 0, client_port = 0;
    int server = bound_socket(SOCK_DGRAM, &server_port);
    int client = bound_socket(SOCK_DGRAM, &client_port);
    if (server < 0 || client < 0) return 1;
    report(report_fd, std::to_string(server_port));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(server_port);
    if (sendto(client, kMessage, kMessageLen, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) !=
        static_cast<ssize_t>(kMessageLen))
        return 2;
    char buf[64];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n != static_cast<ssize_t>(kMessageLen)) return 3;
    if (sendto(server, buf, n, 0, reinterpret_cast<sockaddr*>(&from), len) != n) return 4;
    if (recv(client, buf, sizeof buf, 0) != n) return 5;
    close(client);
    close(server);
    return 0;
}

// A UNIX stream pair: a forked child writes kMessage on one end, this
// process reads it on the other. Reports "SENDER_INODE RECEIVER_INODE".
inline int unix_stream_exchange(int report_fd) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    struct stat a {}, b {};
    fstat(sv[0], &a);
    fstat(sv[1], &b);
    report(report_fd, std::to_string(a.st_ino) + " " + std::to_string(b.st_ino));
    pid_t writer = fork();
    if (writer == 0) {
        close(sv[1]);
        _exit(write(sv[0], kMessage, kMessageLen) == static_cast<ssize_t>(kMessageLen) ? 0 : 2);
    }
    close(sv[0]);
    char buf[kMessageLen];
    if (!read_exactly(sv[1], buf, kMessageLen)) return 3;
    close(sv[1]);
    return wait_child(writer);
}

}  // namespace tpk::kernel::testing
