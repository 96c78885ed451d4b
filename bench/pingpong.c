/*
 * The smallest honest ping-pong: the reference `tracepacket bench` latency is
 * compared with (bench/harness-overhead.sh). Two processes (fork), blocking
 * sockets, one clock_gettime(CLOCK_MONOTONIC) pair per round trip, TCP_NODELAY
 * on TCP like `tracepacket bench` and sockperf. No framework, no options
 * parser, no error values: it either prints its figures or dies.
 *
 *   bench_pingpong tcp|unix SIZE COUNT WARMUP [CPU_NEAR CPU_FAR]
 *
 * prints one line: p50_ns=... p99_ns=... mean_ns=... n=...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) die("write");
        p += w;
        n -= (size_t)w;
    }
}

static int read_all(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* A listening socket on 127.0.0.1:0 or an abstract UNIX name. */
static int listen_on(int is_tcp, struct sockaddr_storage *addr, socklen_t *len) {
    int fd = socket(is_tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    memset(addr, 0, sizeof *addr);
    if (is_tcp) {
        struct sockaddr_in *sin = (struct sockaddr_in *)addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *sin;
    } else {
        struct sockaddr_un *sun = (struct sockaddr_un *)addr;
        sun->sun_family = AF_UNIX;
        int n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, "bench-pingpong-%d", getpid());
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    }
    if (bind(fd, (struct sockaddr *)addr, *len) != 0) die("bind");
    if (listen(fd, 1) != 0) die("listen");
    if (is_tcp && getsockname(fd, (struct sockaddr *)addr, len) != 0) die("getsockname");
    return fd;
}

static void no_delay(int fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank, like src/bench/percentile.cpp: the sample at ceil(n * p). */
static uint64_t rank(const uint64_t *sorted, size_t n, unsigned per_mille) {
    size_t r = (n * per_mille + 999) / 1000;
    return sorted[(r < 1 ? 1 : r) - 1];
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: %s tcp|unix SIZE COUNT WARMUP [CPU_NEAR CPU_FAR]\n", argv[0]);
        return 2;
    }
    int is_tcp = strcmp(argv[1], "tcp") == 0;
    if (!is_tcp && strcmp(argv[1], "unix") != 0) {
        fprintf(stderr, "transport must be tcp or unix\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10);
    size_t count = strtoul(argv[3], NULL, 10);
    size_t warmup = strtoul(argv[4], NULL, 10);
    int pinned = argc == 7;
    if (size == 0 || count == 0) {
        fprintf(stderr, "SIZE and COUNT must be positive\n");
        return 2;
    }

    struct sockaddr_storage addr;
    socklen_t len;
    int listener = listen_on(is_tcp, &addr, &len);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) die("fork");
    char *buf = malloc(size);
    if (!buf) die("malloc");
    memset(buf, 'p', size);

    if (child == 0) { /* echo side */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);
        if (pinned) pin(atoi(argv[6]));
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) die("accept");
        if (is_tcp) no_delay(fd);
        while (read_all(fd, buf, size) == 0) write_all(fd, buf, size);
        _exit(0);
    }

    if (pinned) pin(atoi(argv[5]));
    int fd = socket(is_tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&addr, len) != 0) die("connect");
    if (is_tcp) no_delay(fd);
    close(listener);

    uint64_t *samples = malloc(count * sizeof *samples);
    if (!samples) die("malloc");
    for (size_t i = 0; i < warmup + count; ++i) {
        uint64_t start = now_ns();
        write_all(fd, buf, size);
        if (read_all(fd, buf, size) != 0) die("read");
        uint64_t end = now_ns();
        if (i >= warmup) samples[i - warmup] = end - start;
    }
    close(fd); /* the echo side reads EOF and exits */
    waitpid(child, NULL, 0);

    qsort(samples, count, sizeof *samples, cmp_u64);
    long double sum = 0;
    for (size_t i = 0; i < count; ++i) sum += samples[i];
    printf("p50_ns=%llu p99_ns=%llu mean_ns=%.0Lf n=%zu\n",
           (unsigned long long)rank(samples, count, 500), (unsigned long long)rank(samples, count, 990),
           sum / count, count);
    return 0;
}
