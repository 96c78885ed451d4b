// SPDX-License-Identifier: GPL-2.0
/* tracepacket's kernel side: tp_btf programs on the send/receive path and on
 * raw_syscalls, filtered in the kernel to the traced conversation, writing
 * struct tpk_event records into one ring buffer. It records; user space
 * decides (ARCHITECTURE.md).
 *
 * One source, two objects (cmake/bpf.cmake), so that one binary loads on
 * Linux 5.10 through today's kernels (src/kernel/kernel_support.h picks one):
 *   - tracepacket.bpf.o, for kernels with the bpf_rdonly_cast() kfunc (6.2+):
 *     kernel memory reached from a pointer the verifier does not know as BTF
 *     (an fd's sock, a packet's headers) is read with plain loads through a
 *     read-only typed view; system calls keep their state in task storage and
 *     traced socks in socket storage;
 *   - tracepacket_compat.bpf.o (-DTPK_COMPAT), for 5.10 to 6.1: those reads
 *     go through bpf_probe_read_kernel() (BPF_CORE_READ), and LRU hash maps
 *     stand in for task storage, socket storage and bpf_get_current_task_btf()
 *     (tracing programs have them from 5.11/5.12).
 * Tracepoints differ between kernels: a program whose tracepoint is missing
 * is not loaded (user space decides, from the kernel's BTF), and arguments
 * that only newer kernels pass are read only when a .rodata knob says they
 * exist (the verifier then drops the other branch). Where a tracepoint is
 * missing but fentry/fexit is allowed, a program on the function behind it
 * gives the same hop (the "fallback" section at the end).
 *
 * What belongs to the traced conversation:
 *   - system calls of traced tgids (traced_tgids, children added at fork);
 *   - socks touched by those system calls or by those tasks' socket
 *     tracepoints (sock_infos, socket-local storage; traced_socks for the
 *     ones only a system call has seen), and their local ports (the
 *     traced_ports flags; user space may pre-seed the server's port so the
 *     handshake's first packets are caught before any sock is known);
 *   - a packet whose IP/TCP/UDP headers carry a traced port, or whose owning
 *     sock is traced (UNIX skbs have no headers: skb->sk is the sender).
 * The headers decide when present: an skb address alone is not trusted,
 * because skbs freed without a tracepoint (kfree_skb_partial() after TCP
 * coalescing, __kfree_skb() of acked write-queue skbs) leave stale addresses
 * that the slab hands out again at once. traced_skbs only bridges
 * net_dev_start_xmit -> net_dev_xmit on one CPU, where the skb may already
 * be on its way to the receiver and must not be read.
 *
 * Cost (docs/performance.md "Kernel probes"): every program decides from
 * locals and lock-free lookups first, and reserves its record in the ring
 * only for the conversation's events; a round trip of the 64 B ping-pong
 * fires ~30 of them, so each nanosecond here is ~30 per round trip.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/socket.h, if_ether.h, stat.h and tcp_states.h are macros or
 * enums vmlinux.h does not always carry. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define TPK_TCP_TIME_WAIT 6
#define TPK_TCP_NEW_SYN_RECV 12
#define TPK_PROTO_TCP 6
#define TPK_PROTO_UDP 17

#ifndef TPK_COMPAT
/* A read-only typed view of a kernel pointer (Linux 6.2+): its fields are
 * then read with plain loads, far cheaper than a bpf_probe_read_kernel() call
 * per field; the verifier turns the call itself into a move. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define TPK_CAST(type, p) \
	((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))
/* TPK_RD(p, a, b.c): p->a->b.c, plain loads (p is a BTF pointer or a view). */
#define TPK_RD(src, ...) (___arrow(src, __VA_ARGS__))
/* 16 bytes of a field into a 16-byte array. */
#define TPK_COPY16(dst, src, ...) copy16(dst, &___arrow(src, __VA_ARGS__))
#else
/* No views before 6.2: a cast is a plain pointer, every read a helper call
 * (CO-RE relocated, fault-safe). */
#define TPK_CAST(type, p) ((type *)(p))
#define TPK_RD(src, ...) BPF_CORE_READ(src, __VA_ARGS__)
#define TPK_COPY16(dst, src, ...) \
	bpf_probe_read_kernel(dst, 16, __builtin_preserve_access_index(&___arrow(src, __VA_ARGS__)))
#endif

/* Pointer fields are read through a view even where the pointer is a
 * trusted BTF one (a tracepoint argument, the current task): from about
 * 6.4 the verifier looks up <type>__safe_trusted/__safe_rcu by name (a
 * linear scan of the kernel's 125k BTF types) for every load of a pointer
 * field through a trusted pointer on every path it explores, which made
 * loading take 0.75 s on 6.18; through a view it is a move. The pointers a
 * helper must get as BTF ones (bpf_sk_storage_get()'s sock) stay loads. */

/* One byte, two and four from kernel memory reached through a view. */
#ifndef TPK_COMPAT
#define TPK_LOAD(type, p) (*(const type *)(p))
#else
#define TPK_LOAD(type, p)						\
	({								\
		type ___v = 0;						\
		bpf_probe_read_kernel(&___v, sizeof(___v), (const void *)(p)); \
		___v;							\
	})
#endif

/* Two 8-byte loads instead of a helper call: both arrays are 16 bytes. */
static __always_inline __attribute__((unused)) void copy16(void *dst, const void *src)
{
	((__u64 *)dst)[0] = ((const __u64 *)src)[0];
	((__u64 *)dst)[1] = ((const __u64 *)src)[1];
}

/* Knobs, set by user space before load. */
const volatile __u8 syscall_wanted[TPK_MAX_SYSCALLS] = {};
const volatile bool trace_syscalls = true;
/* Tracepoint arguments that older kernels do not pass (user space reads the
 * prototypes from the kernel's BTF): sched_process_exit's group_dead (6.18),
 * tcp_retransmit_skb's err (6.17), tcp_send_reset's reason (6.10),
 * kfree_skb's reason (5.17) and rx_sk (6.12). */
const volatile bool exit_has_group_dead = true;
const volatile bool retransmit_has_err = true;
const volatile bool send_reset_has_reason = true;
const volatile bool kfree_skb_has_reason = true;
const volatile bool kfree_skb_has_rx_sk = true;
/* Tests only (TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe): makes the
 * verifier refuse handle_tcp_probe, for the test of a run that loses one
 * program. The verifier drops the branch when it is false. */
const volatile bool test_refuse_tcp_probe = false;
/* For `make bench` only (hidden option --bench-floor of trace): what the
 * tracer's cost is made of. TPK_FLOOR_ATTACH: every program returns at once
 * (the cost of being attached); TPK_FLOOR_CLOCK: they read the clock once
 * and return (what a timestamp per hop adds); TPK_FLOOR_DECIDE: programs
 * decide what is traced but write nothing. 0 in real use: the verifier knows the value of a
 * frozen .rodata and drops the checks, so they cost nothing then. */
const volatile __u8 bench_floor = TPK_FLOOR_NONE;
__u64 bench_floor_clock;	/* TPK_FLOOR_CLOCK's reads go here: not optimized away */
#define TPK_PROG_START()						\
	do {								\
		if (bench_floor == TPK_FLOOR_ATTACH)			\
			return 0;					\
		if (bench_floor == TPK_FLOOR_CLOCK) {			\
			bench_floor_clock = bpf_ktime_get_ns();		\
			return 0;					\
		}							\
	} while (0)

/* Wake the reader only when this many bytes are waiting: a record that
 * finds the reader idle would otherwise wake it, and on this kind of VM that
 * is an irq_work self-IPI plus a cross-CPU wake-up, ~1 us of the traced
 * program's time each (docs/performance.md, "Tracing overhead"). The reader
 * polls with a timeout instead; this wake-up only keeps a fast producer from
 * filling the ring first. User space sets it to a quarter of the ring. */
const volatile __u64 wakeup_bytes = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by user space before load */
} events SEC(".maps");

/* Ring buffer reservations that failed: the events lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);	/* tgid */
	__type(value, __u8);
} traced_tgids SEC(".maps");

/* What a traced sock looked like while it was whole: a closing TCP sock
 * loses its local port (inet_put_port() runs before the last state changes)
 * and a closed UNIX sock its inode (sock_orphan() clears sk_socket) while its
 * skbs are still queued at the peer. */
struct sock_info {
	__u64 inode;
	__u64 peer_inode;
	__u16 lport;
	__u16 pad[3];
};

/* The traced socks, as socket-local storage: a lookup is a load from the
 * sock's own storage list, no hashing, and the kernel frees it with the
 * sock (bpf_sk_storage_free() in __sk_destruct()), so a new sock at a freed
 * one's address starts untraced. bpf_sk_storage_get() takes only a BTF
 * pointer, not the bpf_rdonly_cast() view that system calls get from their
 * fd: those learn socks into traced_socks below, and the first hop that
 * sees such a sock moves it here. The compat object has no socket storage
 * (tracing programs get it in 5.11): traced_socks alone holds its socks. */
#ifndef TPK_COMPAT
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_info);
} sock_infos SEC(".maps");
#endif

/* Socks learned by system calls, by address. Nothing removes an entry when
 * its sock dies (only the LRU does), and the slab soon puts a new sock at the
 * same address: a hit counts only if the sock still looks like the one
 * learned, by its socket inode and its local port (stale_entry()). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);	/* struct sock address */
	__type(value, struct sock_info);
} traced_socks SEC(".maps");

/* One flag per port: [TPK_PORT_TCP or TPK_PORT_UDP][port in host order].
 * A global array, not a hash map: a check is one load (every packet hop
 * without a traced sock asks it, on the whole machine), and user space sets
 * flags through the skeleton's mmapped .bss. 128 KiB. */
__u8 traced_ports[TPK_PORT_TABLES][TPK_PORTS];

/* The namespaces a port match must be in (bpf/events.h): set by user space
 * for each traced pid and here for each sock a traced task's system call
 * learns (a process may setns() after it was traced: ip netns exec). User
 * space takes slots by an atomic add of the count, so it may overshoot:
 * readers stop at TPK_MAX_NETNS. */
__u32 traced_netns[TPK_MAX_NETNS];
__u32 traced_netns_count;

/* The traced skbs between net_dev_start_xmit and net_dev_xmit on this CPU.
 * xmit_one() fires both around ndo_start_xmit() with bottom halves off, so
 * they pair up on one CPU; a small stack covers stacked devices (a tunnel's
 * xmit inside another's). A per-CPU array, not a hash: no hashing, no
 * locking on the hot path. */
#define TPK_XMIT_DEPTH 4
struct xmit_stack {
	__u64 skb[TPK_XMIT_DEPTH];
	__u32 depth;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmit_stack);
} traced_skbs SEC(".maps");

/* Bumped by user space after it adds a tgid to traced_tgids: a thread's
 * cached answer (syscall_start.traced) older than this is asked again. The
 * BPF side needs no bump: fork adds tgids for new threads (no cache yet)
 * and exit removes them for dead ones. Starts at 1: a fresh storage reads 0. */
__u32 traced_tgids_gen = 1;

/* Per-thread syscall in flight. Task storage instead of a tid-keyed hash:
 * no hashing on the hot path, and the kernel frees it with the task. The
 * compat object keys an LRU hash by tid (no task storage for tracing
 * programs before 5.12): dead threads' entries age out. */
#ifndef TPK_COMPAT
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tpk_syscall_start);
} syscall_starts SEC(".maps");
#else
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);	/* tid */
	__type(value, struct tpk_syscall_start);
} syscall_starts SEC(".maps");
#endif

/* The current thread's syscall_starts entry; create: make one if missing. */
static __always_inline struct tpk_syscall_start *current_start(bool create)
{
#ifndef TPK_COMPAT
	return bpf_task_storage_get(&syscall_starts, bpf_get_current_task_btf(), NULL,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
#else
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tpk_syscall_start *start = bpf_map_lookup_elem(&syscall_starts, &tid);

	if (start || !create)
		return start;
	{
		struct tpk_syscall_start fresh = {};

		bpf_map_update_elem(&syscall_starts, &tid, &fresh, BPF_NOEXIST);
	}
	return bpf_map_lookup_elem(&syscall_starts, &tid);
#endif
}

/* The current task's tgid, tid and comm, as the records carry them. With a
 * BTF task (6.x) they are plain loads (what bpf_get_current_pid_tgid() and
 * bpf_get_current_comm() read); 5.10 has no bpf_get_current_task_btf(). */
static __always_inline void current_ids(__u32 *pid, __u32 *tid, char comm[TPK_COMM_LEN])
{
#ifndef TPK_COMPAT
	struct task_struct *task = bpf_get_current_task_btf();

	*pid = task->tgid;
	*tid = task->pid;
	if (comm)
		copy16(comm, task->comm);
#else
	__u64 id = bpf_get_current_pid_tgid();

	*pid = id >> 32;
	*tid = (__u32)id;
	if (comm)
		bpf_get_current_comm(comm, TPK_COMM_LEN);
#endif
}

/* ---- events ---------------------------------------------------------- */

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += 1;
}


/* The kinds that use the fields past TPK_EVENT_SHORT_SIZE (bpf/events.h). */
static __always_inline bool is_long_kind(__u32 kind)
{
	return kind == TPK_EV_SYSCALL_ENTER || kind == TPK_EV_SYSCALL_EXIT ||
	       kind == TPK_EV_FIB_TABLE_LOOKUP || kind == TPK_EV_INET_SOCK_SET_STATE ||
	       kind == TPK_EV_KFREE_SKB || kind == TPK_EV_TCP_SEND_RESET;
}

/* Reserves the event in the ring buffer and fills its header. Call it only
 * once the event is known to belong to the conversation: untraced traffic
 * must cost as little as possible and never count as lost. The record is
 * written in place (no scratch copy); the ring's memory is not zeroed. kind
 * is a constant at every call site, so the size is too (the verifier then
 * refuses any write past a short record). */
static __always_inline struct tpk_event *new_event(__u32 kind)
{
	bool long_kind = is_long_kind(kind);
	struct tpk_event *e;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return NULL;
	/* Two literal sizes: clang expands memset() only for constants. */
	if (long_kind)
		e = bpf_ringbuf_reserve(&events, sizeof(struct tpk_event), 0);
	else
		e = bpf_ringbuf_reserve(&events, TPK_EVENT_SHORT_SIZE, 0);
	if (!e) {
		count_lost();
		return NULL;
	}
	if (long_kind)
		__builtin_memset(e, 0, sizeof(struct tpk_event));
	else
		__builtin_memset(e, 0, TPK_EVENT_SHORT_SIZE);
	e->kind = kind;
	e->t_ns = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	if (long_kind)
		e->syscall_nr = -1;
	current_ids(&e->pid, &e->tid, e->comm);
	return e;
}

/* The flags for committing a record of size bytes when before bytes were
 * waiting: no wake-up, unless this record makes the waiting data cross
 * wakeup_bytes (only one record does, so a reader that stays behind is not
 * woken over and over). */
static __always_inline __u64 wakeup_flags(__u64 before, __u64 size)
{
	return before < wakeup_bytes && before + size + 8 >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
									    BPF_RB_NO_WAKEUP;
}

/* Commits a reserved record of size bytes (it is counted as waiting). */
static __always_inline void submit_sized(void *record, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(record, wakeup_flags(avail > size + 8 ? avail - size - 8 : 0, size));
}

static __always_inline void submit(struct tpk_event *e)
{
	submit_sized(e, is_long_kind(e->kind) ? sizeof(*e) : TPK_EVENT_SHORT_SIZE);
}

/* ---- what is traced -------------------------------------------------- */

static __always_inline bool tgid_traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&traced_tgids, &tgid) != NULL;
}

/* The traced_ports table of a transport, or -1 (no ports). */
static __always_inline int port_table(__u8 protocol)
{
	if (protocol == TPK_PROTO_TCP)
		return TPK_PORT_TCP;
	if (protocol == TPK_PROTO_UDP)
		return TPK_PORT_UDP;
	return -1;
}

/* The index into traced_ports[table]. The mask is for verifiers before
 * 6.13 or so, which lose a port's bounds after bpf_ntohs() (a BPF_END) and
 * then refuse the map value arithmetic; barrier_var() keeps clang from
 * dropping a mask it knows to be redundant. */
static __always_inline __u32 port_index(__u16 port)
{
	__u32 index = port;

	barrier_var(index);
	return index & (TPK_PORTS - 1);
}

static __always_inline bool port_traced(__u8 protocol, __u16 port)
{
	int table = port_table(protocol);

	if (table < 0 || !port)
		return false;
	return traced_ports[table & 1][port_index(port)];
}

static __always_inline void learn_port(__u8 protocol, __u16 port)
{
	int table = port_table(protocol);

	if (table < 0 || !port)
		return;
	traced_ports[table & 1][port_index(port)] = 1;
}

/* Whether net is one of the traced namespaces. Asked only after a port
 * matched, so untraced traffic never pays for it; a traced conversation
 * pays two loads and a compare or two per port-matched hop. An unknown
 * namespace (NULL) is let through, as before namespaces were checked. */
static __always_inline bool netns_traced(struct net *net)
{
	__u32 n = *(volatile __u32 *)&traced_netns_count, inum, i;

	if (!n || !net)
		return true;
	inum = TPK_RD(net, ns.inum);
	for (i = 0; i < TPK_MAX_NETNS; i++) {
		if (i >= n)
			break;
		if (traced_netns[i] == inum)
			return true;
	}
	return false;
}

/* Adds net to the traced namespaces unless it is there already. */
static __always_inline void learn_netns(struct net *net)
{
	__u32 n = *(volatile __u32 *)&traced_netns_count, inum, i;

	if (!net)
		return;
	inum = TPK_RD(net, ns.inum);
	for (i = 0; i < TPK_MAX_NETNS; i++) {
		if (i >= n)
			break;
		if (traced_netns[i] == inum)
			return;
	}
	if (n >= TPK_MAX_NETNS)
		return;
	/* Plain stores: the fetching atomic add needs -mcpu=v3. Two first
	 * socks in two new namespaces at the same instant may claim the same
	 * slot; the one lost is still matched by its socks. */
	traced_netns[n] = inum;
	*(volatile __u32 *)&traced_netns_count = n + 1;
}

static __always_inline struct net *sock_net_of(struct sock *sk)
{
	return TPK_RD(TPK_CAST(struct sock, sk), __sk_common.skc_net.net);
}

/* A packet's namespace: its sock's, else its device's (the receive side of
 * loopback has no sock until demux). UDP's receive queue reuses skb->dev as
 * dev_scratch (udp_set_dev_scratch()), a value below the kernel's addresses:
 * the JIT's fault-guarded load reads 0 through it, so such a packet counts
 * as of an unknown namespace. */
static __always_inline struct net *skb_net_of(struct sk_buff *skb, struct sock *sk)
{
	struct net_device *dev;

	if (sk)
		return sock_net_of(sk);
	dev = TPK_RD(TPK_CAST(struct sk_buff, skb), dev);
	return dev ? TPK_RD(dev, nd_net.net) : NULL;
}

/* Request and time-wait socks are struct sock_common only: sk_protocol lies
 * beyond it, and both kinds exist for TCP alone. */
static __always_inline __u8 sock_protocol(struct sock *sk)
{
	__u8 state = TPK_RD(sk, __sk_common.skc_state);

	if (state == TPK_TCP_NEW_SYN_RECV || state == TPK_TCP_TIME_WAIT)
		return TPK_PROTO_TCP;
	return (__u8)TPK_RD(sk, sk_protocol);
}

static __always_inline bool is_inet(__u16 family)
{
	return family == AF_INET || family == AF_INET6;
}

static __always_inline struct sock *unix_peer_of(struct sock *sk)
{
	return TPK_RD(TPK_CAST(struct unix_sock, sk), peer);
}

static __always_inline __u64 unix_inode_of(struct sock *sk)
{
	/* SOCK_INODE(): struct socket is the first member of struct socket_alloc,
	 * followed by the inode sock_diag reports. */
	struct socket *sock = TPK_RD(TPK_CAST(struct sock, sk), sk_socket);

	if (!sock)
		return 0;
	return TPK_RD(TPK_CAST(struct socket_alloc, sock), vfs_inode.i_ino);
}

/* Records what sk looks like now in info, keeping what it has lost. */
static __always_inline void refresh_info(struct sock_info *info, struct sock *sk)
{
	__u16 family = TPK_RD(sk, __sk_common.skc_family);

	if (family == AF_UNIX) {
		struct sock *peer = unix_peer_of(sk);
		__u64 inode = unix_inode_of(sk), peer_inode = peer ? unix_inode_of(peer) : 0;

		if (inode)
			info->inode = inode;
		if (peer_inode)
			info->peer_inode = peer_inode;
	} else if (is_inet(family)) {
		__u16 lport = TPK_RD(sk, __sk_common.skc_num);

		/* The local port appears only at bind/connect/autobind; learning
		 * it on every sighting catches the SYN's port right after
		 * tcp_v4_connect(). */
		if (lport && lport != info->lport) {
			info->lport = lport;
			learn_port(sock_protocol(sk), lport);
		}
	}
}

/* Nothing left to learn: the port (inet) or both inodes (UNIX) are known. */
static __always_inline bool info_complete(const struct sock_info *info)
{
	return info->lport || (info->inode && info->peer_inode);
}

/* Whether a traced_socks entry belongs to a sock that died, its address now
 * another sock's: a different socket inode, or for inet a different local
 * port (an accepted sock has no socket yet, but has its listener's port).
 * What is unknown on either side (0) does not count: a closing sock loses
 * both. Request and time-wait socks are sock_common only: the port alone. */
static __always_inline bool stale_entry(const struct sock_info *info, struct sock *sk)
{
	__u8 state = TPK_RD(sk, __sk_common.skc_state);
	__u16 lport = TPK_RD(sk, __sk_common.skc_num);
	__u64 ino;

	if (is_inet(TPK_RD(sk, __sk_common.skc_family)) && info->lport && lport &&
	    lport != info->lport)
		return true;
	if (state == TPK_TCP_NEW_SYN_RECV || state == TPK_TCP_TIME_WAIT)
		return false;
	ino = unix_inode_of(sk);
	return info->inode && ino && ino != info->inode;
}

/* Adds sk (any pointer: system calls have only a bpf_rdonly_cast() view) to
 * traced_socks and refreshes what is known about it. Returns whether
 * nothing is left to learn about it. */
static __always_inline bool learn_sock_by_addr(struct sock *sk)
{
	struct sock_info fresh = {}, *info;
	__u64 key = (__u64)sk;

	if (!sk)
		return false;
	info = bpf_map_lookup_elem(&traced_socks, &key);
	if (info && stale_entry(info, sk)) {
		bpf_map_delete_elem(&traced_socks, &key);
		info = NULL;
	}
	if (!info) {
		fresh.inode = unix_inode_of(sk);	/* what stale_entry() compares */
		bpf_map_update_elem(&traced_socks, &key, &fresh, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&traced_socks, &key);
		if (!info)
			return false;
		/* Once per sock: the traced task's namespace, as it is now. */
		learn_netns(sock_net_of(sk));
	}
	refresh_info(info, sk);
	return info_complete(info);
}

/* What system calls learned about sk, for the fields it has lost. */
static __always_inline struct sock_info *info_by_addr(struct sock *sk)
{
	__u64 key = (__u64)sk;

	return bpf_map_lookup_elem(&traced_socks, &key);
}

/* Adds sk (a BTF pointer) to the traced socks. Request and time-wait socks
 * have no storage (not full socks): their info is NULL, their ports are
 * learned all the same. */
static __always_inline struct sock_info *learn_sock(struct sock *sk, struct sock_info *init)
{
	struct sock_info *info;

#ifndef TPK_COMPAT
	/* UNIX peers are found by address (see sock_traced()). */
	if (!init && TPK_RD(sk, __sk_common.skc_family) == AF_UNIX)
		learn_sock_by_addr(sk);
	info = bpf_sk_storage_get(&sock_infos, sk, init, BPF_SK_STORAGE_GET_F_CREATE);
#else
	/* traced_socks is the only home; request and time-wait socks stay
	 * out of it as they stay out of socket storage (their sk_socket is
	 * past the sock_common they have). */
	__u8 state = TPK_RD(sk, __sk_common.skc_state);

	info = NULL;
	if (state != TPK_TCP_NEW_SYN_RECV && state != TPK_TCP_TIME_WAIT) {
		learn_sock_by_addr(sk);
		info = info_by_addr(sk);
	}
#endif
	if (info)
		refresh_info(info, sk);
	else
		learn_port(sock_protocol(sk), TPK_RD(sk, __sk_common.skc_num));
	return info;
}

/* Whether sk (a BTF pointer) is traced; *infop: what is known about it
 * (NULL when nothing is). */
static __always_inline bool sock_traced(struct sock *sk, struct sock_info **infop)
{
	struct sock_info *info;
	__u64 key = (__u64)sk;
	__u16 family;
	__u8 protocol;

	*infop = NULL;
	if (!sk)
		return false;
#ifndef TPK_COMPAT
	info = bpf_sk_storage_get(&sock_infos, sk, NULL, 0);
	if (info) {
		/* Refresh only what is still missing (the port after connect,
		 * a UNIX peer after connect). */
		if (!info_complete(info))
			refresh_info(info, sk);
		*infop = info;
		return true;
	}
#endif
	info = bpf_map_lookup_elem(&traced_socks, &key);
	if (info && stale_entry(info, sk)) {
		bpf_map_delete_elem(&traced_socks, &key);
		info = NULL;
	}
	if (info) {
#ifndef TPK_COMPAT
		*infop = learn_sock(sk, info) ?: info;
#else
		if (!info_complete(info))
			refresh_info(info, sk);
		*infop = info;
#endif
		return true;
	}
	family = TPK_RD(sk, __sk_common.skc_family);
	if (family == AF_UNIX) {
		/* The peer of a traced UNIX socket belongs to the conversation:
		 * sk_data_ready fires on the receiver's sock. Traced UNIX socks
		 * are all in traced_socks too (learn_sock()): the peer is only a
		 * bpf_rdonly_cast() view here (bpf_skc_to_unix_sock() refuses
		 * the RCU pointer skb->sk is), so it is looked up by address. */
		struct sock *peer = unix_peer_of(sk);
		__u64 peer_key = (__u64)peer;
		struct sock_info *peer_info;

		peer_info = peer_key ? bpf_map_lookup_elem(&traced_socks, &peer_key) : NULL;
		if (peer_info && !stale_entry(peer_info, peer)) {
			*infop = learn_sock(sk, NULL);
			return true;
		}
		return false;
	}
	if (!is_inet(family))
		return false;
	protocol = sock_protocol(sk);
	if ((port_traced(protocol, TPK_RD(sk, __sk_common.skc_num)) ||
	     port_traced(protocol, bpf_ntohs(TPK_RD(sk, __sk_common.skc_dport)))) &&
	    netns_traced(sock_net_of(sk))) {
		*infop = learn_sock(sk, NULL);
		return true;
	}
	return false;
}

/* ---- flows ----------------------------------------------------------- */

/* Fills the flow from the sock. rx: the packet travels from the peer to sk,
 * so the peer is the source. What the sock has lost by now (see sock_info)
 * comes from what was learned while it was whole. */
static __always_inline void fill_sock_flow(struct tpk_event *e, struct sock *sk, bool rx,
					   struct sock_info *info)
{
	__u16 family, lport, rport;

	if (!sk)
		return;
	family = TPK_RD(sk, __sk_common.skc_family);
	e->family = family;
	e->flow_source = TPK_FLOW_SOCK;
	if (family == AF_UNIX) {
		struct sock *peer = unix_peer_of(sk);
		__u64 local = unix_inode_of(sk), remote = peer ? unix_inode_of(peer) : 0;

		if ((!local || !remote) && !info)
			info = info_by_addr(sk);
		if (!local && info)
			local = info->inode;
		if (!remote && info)
			remote = info->peer_inode;
		e->unix_inode = rx ? remote : local;
		e->unix_peer_inode = rx ? local : remote;
		return;
	}
	if (!is_inet(family))
		return;
	e->protocol = sock_protocol(sk);
	lport = TPK_RD(sk, __sk_common.skc_num);
	if (!lport && !info)
		info = info_by_addr(sk);
	if (!lport && info)
		lport = info->lport;
	rport = bpf_ntohs(TPK_RD(sk, __sk_common.skc_dport));
	e->sport = rx ? rport : lport;
	e->dport = rx ? lport : rport;
	if (family == AF_INET) {
		__be32 local = TPK_RD(sk, __sk_common.skc_rcv_saddr);
		__be32 remote = TPK_RD(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->saddr, rx ? &remote : &local, 4);
		__builtin_memcpy(e->daddr, rx ? &local : &remote, 4);
	} else if (rx) {
		TPK_COPY16(e->saddr, sk, __sk_common.skc_v6_daddr);
		TPK_COPY16(e->daddr, sk, __sk_common.skc_v6_rcv_saddr);
	} else {
		TPK_COPY16(e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		TPK_COPY16(e->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* Where a packet's transport header starts, from skb->head +
 * network_header. On transmit (net_dev_*) and on loopback receive (netif_*,
 * tcp_probe, copy to user) the header offsets stay valid: loopback hands
 * the same skb over. Returns the IP header (NULL for skbs without one: UNIX,
 * not yet built) and sets *family, *l4 and *th. The headers are read
 * through bpf_rdonly_cast() views: plain loads that the JIT guards against
 * faults, cheaper than a bpf_probe_read_kernel() call. */
static __always_inline void *locate_headers(struct sk_buff *skb, __u16 *family, __u8 *l4,
					    struct tcphdr **th)
{
	unsigned char *head = TPK_RD(skb, head);
	__u16 protocol = TPK_RD(skb, protocol);
	__u16 nh = TPK_RD(skb, network_header);

	if (!head || nh == (__u16)~0U)
		return NULL;
	if (protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = TPK_CAST(struct iphdr, head + nh);
		__u8 version_ihl = TPK_LOAD(__u8, ip);	/* version:4, ihl:4 */

		if ((version_ihl >> 4) != 4)
			return NULL;
		/* IP options push the transport header further. */
		*th = TPK_CAST(struct tcphdr, head + nh + (version_ihl & 0x0f) * 4);
		*l4 = TPK_RD(ip, protocol);
		*family = AF_INET;
		return ip;
	}
	if (protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = TPK_CAST(struct ipv6hdr, head + nh);

		if ((TPK_LOAD(__u8, ip6) >> 4) != 6)
			return NULL;
		/* Extension headers are not followed: ports stay 0 then. */
		*th = TPK_CAST(struct tcphdr, head + nh + sizeof(struct ipv6hdr));
		*l4 = TPK_RD(ip6, nexthdr);
		*family = AF_INET6;
		return ip6;
	}
	return NULL;
}

/* Whether the packet's TCP/UDP ports are traced (the decision for packets
 * whose sock is not: only the ports are read here). */
static __always_inline bool ports_traced(struct sk_buff *skb)
{
	struct tcphdr *th;	/* UDP's ports sit where TCP's do */
	__u16 family;
	__u8 l4;

	if (!locate_headers(skb, &family, &l4, &th))
		return false;
	if (l4 != TPK_PROTO_TCP && l4 != TPK_PROTO_UDP)
		return false;
	return port_traced(l4, bpf_ntohs(TPK_RD(th, source))) ||
	       port_traced(l4, bpf_ntohs(TPK_RD(th, dest)));
}

/* Fills e's flow from the packet's headers, read straight into the record
 * (e is zeroed). Returns false for skbs without IP headers. */
static __always_inline bool fill_header_flow(struct tpk_event *e, struct sk_buff *skb)
{
	struct tcphdr *th;
	struct udphdr *uh;
	__u32 l4_len, ihl;
	__u16 family;
	__u8 l4;
	void *l3 = locate_headers(skb, &family, &l4, &th);

	if (!l3)
		return false;
	if (family == AF_INET) {
		struct iphdr *ip = l3;

		ihl = (TPK_LOAD(__u8, ip) & 0x0f) * 4;
		l4_len = bpf_ntohs(TPK_RD(ip, tot_len));
		l4_len = l4_len > ihl ? l4_len - ihl : 0;
		*(__u32 *)e->saddr = TPK_RD(ip, saddr);
		*(__u32 *)e->daddr = TPK_RD(ip, daddr);
	} else {
		struct ipv6hdr *ip6 = l3;

		l4_len = bpf_ntohs(TPK_RD(ip6, payload_len));
		TPK_COPY16(e->saddr, ip6, saddr);
		TPK_COPY16(e->daddr, ip6, daddr);
	}
	e->family = family;
	e->protocol = l4;
	e->flow_source = TPK_FLOW_HEADERS;
	if (l4 == TPK_PROTO_TCP) {
		__u8 doff_byte = TPK_LOAD(__u8, (__u8 *)th + 12);	/* doff:4, res1:4 */
		__u32 doff = (doff_byte >> 4) * 4;

		e->sport = bpf_ntohs(TPK_RD(th, source));
		e->dport = bpf_ntohs(TPK_RD(th, dest));
		e->seq = bpf_ntohl(TPK_RD(th, seq));
		e->ack = bpf_ntohl(TPK_RD(th, ack_seq));
		e->tcp_flags = TPK_LOAD(__u8, (__u8 *)th + 13);
		e->payload_len = l4_len > doff ? l4_len - doff : 0;
	} else if (l4 == TPK_PROTO_UDP) {
		uh = (struct udphdr *)th;
		e->sport = bpf_ntohs(TPK_RD(uh, source));
		e->dport = bpf_ntohs(TPK_RD(uh, dest));
		l4_len = bpf_ntohs(TPK_RD(uh, len));
		e->payload_len = l4_len > sizeof(*uh) ? l4_len - sizeof(*uh) : 0;
	}
	return true;
}

/* What skb_traced() found out about a packet, to fill its event with. */
struct pkt {
	struct sk_buff *skb;
	struct sock *sk;	/* the sock the tracepoint names, else skb->sk */
	struct sock_info *info;	/* what is known about sk, or NULL */
};

/* Whether an skb belongs to the conversation, before any event is reserved
 * (untraced packets reserve nothing). A traced sock decides at once; else
 * the headers' ports. sk: the sock the tracepoint names, or NULL to use
 * skb->sk. */
static __always_inline bool skb_traced(struct pkt *p, struct sk_buff *skb, struct sock *sk)
{
	p->skb = skb;
	if (!sk)
		sk = TPK_RD(skb, sk);
	p->sk = sk;
	if (sock_traced(sk, &p->info))
		return true;
	return ports_traced(skb) && netns_traced(skb_net_of(skb, sk));
}

/* Fills a traced packet's event: its flow from the headers, or from the
 * sock for skbs without (UNIX skbs: skb->sk is the sender). */
static __always_inline void fill_pkt(struct tpk_event *e, const struct pkt *p)
{
	struct sk_buff *skb = p->skb;	/* TPK_RD() relocates every access */

	e->skb = (__u64)skb;
	e->skb_len = TPK_RD(skb, len);
	e->sk = (__u64)p->sk;
	if (!fill_header_flow(e, p->skb))
		fill_sock_flow(e, p->sk, false, p->info);
}

static __always_inline void fill_dev(struct tpk_event *e, struct net_device *dev)
{
	if (!dev)
		return;
	e->ifindex = TPK_RD(dev, ifindex);
	TPK_COPY16(e->dev, dev, name);	/* IFNAMSIZ bytes, NUL-padded */
}

/* ---- the packet stage (bpf/events.h, struct tpk_packet_record) -------- */

struct packet_stage {
	struct tpk_packet_record rec;
	struct tpk_event next;	/* the hop being decided, filled here first */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_stage);
} packet_stages SEC(".maps");

static __always_inline struct packet_stage *this_stage(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&packet_stages, &zero);
}

/* Sends the staged hops as one record and empties the stage. */
static __always_inline void flush_stage(struct tpk_packet_record *rec)
{
	__u32 n = rec->nhops;
	__u64 size;

	if (!n)
		return;
	if (n > TPK_PACKET_HOPS)
		n = TPK_PACKET_HOPS;
	size = offsetof(struct tpk_packet_record, hops) + n * sizeof(struct tpk_hop);
	if (bpf_ringbuf_output(&events, rec, size,
			       wakeup_flags(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA), size))) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

		if (lost)
			*lost += n;
	}
	rec->nhops = 0;
}

/* A CPU's stage is used by one program at a time: a program claims it by
 * setting busy, and one that runs nested on the same CPU meanwhile (a
 * softirq on top of a system call's hop, a hard interrupt) finds it busy and
 * sends its own record instead. Checking and setting busy need no atomic:
 * a program nested between the two runs to its end before the outer one
 * goes on, and the outer one reads the stage only after setting it. */
static __always_inline struct packet_stage *claim_stage(void)
{
	struct packet_stage *st = this_stage();

	if (!st || st->rec.busy)
		return NULL;
	st->rec.busy = 1;
	barrier();
	return st;
}

static __always_inline void release_stage(struct packet_stage *st)
{
	barrier();
	st->rec.busy = 0;
}

/* Sends what this CPU has staged (the end of a packet's way up, a traced
 * system call's exit). */
static __always_inline void flush_this_stage(void)
{
	struct packet_stage *st = this_stage();

	if (!st || !st->rec.nhops)
		return;
	st = claim_stage();
	if (!st)
		return;
	flush_stage(&st->rec);
	release_stage(st);
}

/* Whether the hop in next continues the staged packet: the same skb, thread,
 * headers (the flow, seq, ack, flags, length) and device. A device is told
 * by its name too: ifindex is per namespace, and a veth pair between two
 * new namespaces has the same ifindex at both ends (veth_xmit() hands the
 * same skb to the peer in the same thread). */
static __always_inline bool same_packet(const struct tpk_event *first,
					const struct tpk_event *next)
{
	const __u64 *a = (const __u64 *)first, *b = (const __u64 *)next;
	int i;

	if (first->skb != next->skb || first->tid != next->tid)
		return false;
	if (first->seq != next->seq || first->ack != next->ack ||
	    first->payload_len != next->payload_len)
		return false;
	/* msg_flags (0 in both) .. daddr: bytes 88 to 136 of struct tpk_event,
	 * family and both ports included. */
	for (i = 88 / 8; i < 136 / 8; i++)
		if (a[i] != b[i])
			return false;
	/* A first hop without a device (an IP hop) matches any. */
	if (next->ifindex && first->ifindex && (next->ifindex != first->ifindex ||
					       a[152 / 8] != b[152 / 8] || a[160 / 8] != b[160 / 8]))
		return false;
	return true;
}

/* Stages a traced packet's hop (p from skb_traced()) instead of sending a
 * record of its own; flush: send the packet's record after this hop (its
 * last one). Returns false when the hop must send its own record: the
 * stage is in use by a program this one interrupted. */
static __always_inline bool stage_hop(__u32 kind, const struct pkt *p, struct net_device *dev,
				      __u32 flags, bool flush)
{
	struct sk_buff *skb = p->skb;
	struct packet_stage *st;
	struct tpk_event *next;
	struct tpk_hop *hop;
	__u32 n;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return true;
	st = claim_stage();
	if (!st)
		return false;
	next = &st->next;
	__builtin_memset(next, 0, TPK_EVENT_SHORT_SIZE);
	fill_pkt(next, p);
	if (!(flags & TPK_HOP_NO_DEV))
		fill_dev(next, dev ? dev : TPK_RD(TPK_CAST(struct sk_buff, skb), dev));
	current_ids(&next->pid, &next->tid, NULL);
	n = st->rec.nhops;
	if (n && (n >= TPK_PACKET_HOPS || !same_packet(&st->rec.first, next))) {
		flush_stage(&st->rec);
		n = 0;
	}
	/* A stage opened by an IP hop (no device) takes the device of the
	 * packet's first device hop, so the packet stays one record. */
	if (n && !st->rec.first.ifindex && next->ifindex) {
		st->rec.first.ifindex = next->ifindex;
		__builtin_memcpy(st->rec.first.dev, next->dev, sizeof(next->dev));
	}
	if (!n) {
		__builtin_memcpy(&st->rec.first, next, TPK_EVENT_SHORT_SIZE);
		st->rec.first.kind = TPK_EV_PACKET;
		st->rec.first.cpu = bpf_get_smp_processor_id();
		current_ids(&st->rec.first.pid, &st->rec.first.tid, st->rec.first.comm);
	}
	barrier_var(n);	/* keep the mask: the verifier needs the bound */
	hop = &st->rec.hops[n & (TPK_PACKET_HOPS - 1)];
	hop->kind = kind;
	hop->flags = flags;
	hop->t_ns = bpf_ktime_get_ns();
	hop->sk = next->sk;
	hop->ret = 0;
	hop->skb_len = next->skb_len;
	hop->ifindex = next->ifindex;
	st->rec.nhops = n + 1;
	if (flush)
		flush_stage(&st->rec);
	release_stage(st);
	return true;
}

/* net_dev_xmit's hop (no flow: the skb is not read there) joins the staged
 * packet if it is the same skb of the same thread on the same device. */
static __always_inline bool stage_xmit(__u64 skb, __u32 skb_len, int rc, struct net_device *dev)
{
	struct packet_stage *st;
	struct tpk_hop *hop;
	__u32 n, pid, tid;
	__u64 name[2];
	bool same;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return true;
	if (!dev)
		return false;
	st = claim_stage();
	if (!st)
		return false;
	n = st->rec.nhops;
	current_ids(&pid, &tid, NULL);
	/* The device by its index and name (see same_packet()). */
	same = n && n < TPK_PACKET_HOPS && st->rec.first.skb == skb && st->rec.first.tid == tid &&
	       st->rec.first.ifindex == TPK_RD(dev, ifindex);
	if (same) {
		TPK_COPY16(name, dev, name);
		same = ((__u64 *)st->rec.first.dev)[0] == name[0] &&
		       ((__u64 *)st->rec.first.dev)[1] == name[1];
	}
	if (same) {
		barrier_var(n);	/* keep the mask: the verifier needs the bound */
		hop = &st->rec.hops[n & (TPK_PACKET_HOPS - 1)];
		hop->kind = TPK_EV_NET_DEV_XMIT;
		hop->flags = TPK_HOP_NO_FLOW;
		hop->t_ns = bpf_ktime_get_ns();
		hop->sk = 0;
		hop->ret = rc;
		hop->skb_len = skb_len;
		hop->ifindex = st->rec.first.ifindex;
		st->rec.nhops = n + 1;
	}
	release_stage(st);
	return same;
}

/* ---- processes ------------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	TPK_PROG_START();
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	struct tpk_event *e;
	__u8 one = 1;

	if (parent_tgid == child_tgid || !bpf_map_lookup_elem(&traced_tgids, &parent_tgid))
		return 0;
	bpf_map_update_elem(&traced_tgids, &child_tgid, &one, BPF_ANY);
	e = new_event(TPK_EV_PROCESS_FORK);
	if (!e)
		return 0;
	e->ret = child_tgid;
	submit(e);
	return 0;
}

/* group_dead is an argument from 6.18 on; before, do_exit() has set
 * signal->live to 0 by the time the tracepoint fires for the last thread. */
SEC("tp_btf/sched_process_exit")
int handle_sched_process_exit(__u64 *ctx)
{
	TPK_PROG_START();
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u32 tgid = task->tgid;
	struct tpk_event *e;
	bool group_dead;

	if (exit_has_group_dead)
		group_dead = (bool)ctx[1];
	else
		group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	if (!group_dead || !bpf_map_lookup_elem(&traced_tgids, &tgid))
		return 0;
	bpf_map_delete_elem(&traced_tgids, &tgid);
	e = new_event(TPK_EV_PROCESS_EXIT);
	if (!e)
		return 0;
	e->ret = task->exit_code;
	submit(e);
	return 0;
}

/* ---- system calls ---------------------------------------------------- */

static __always_inline struct sock *sock_of_fd(__s64 fd)
{
#ifndef TPK_COMPAT
	struct task_struct *task = bpf_get_current_task_btf();
#else
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
#endif
	struct fdtable *fdt = TPK_RD(TPK_CAST(struct task_struct, task), files, fdt);
	struct socket *sock;
	struct file **fds;
	struct file *file, *f;

	if (!fdt || fd < 0 || fd >= TPK_RD(fdt, max_fds))
		return NULL;
	/* A variable index into the fd array: a typed pointer refuses it and
	 * the untyped bpf_rdonly_cast(p, 0) view needs Linux 6.16, so this one
	 * read stays a helper call (everything else here is 6.2+). */
	fds = TPK_RD(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	f = TPK_CAST(struct file, file);
	if ((TPK_RD(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = TPK_CAST(struct socket, TPK_RD(f, private_data));
	return TPK_RD(sock, sk);
}

static __always_inline __u8 wanted(long id)
{
	if (!trace_syscalls || id < 0 || id >= TPK_MAX_SYSCALLS)
		return 0;
	return syscall_wanted[id];
}

/* Learns sk unless it is the sock this thread learned completely last. */
static __always_inline void learn_once(struct tpk_syscall_start *start, struct sock *sk)
{
	if (!sk || (__u64)sk == start->learned_sk)
		return;
	start->learned_sk = learn_sock_by_addr(sk) ? (__u64)sk : 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	TPK_PROG_START();
	struct tpk_syscall_start *start;
	struct sock *sk = NULL;
	struct tpk_event *e;
	__u32 gen;
	__u64 fd;
	__u8 want = wanted(id);

	if (!want)
		return 0;
	/* Is this thread traced? Its task storage remembers, so a traced
	 * thread does not hash its tgid per call; threads of untraced
	 * processes get no storage (they ask traced_tgids). */
	start = current_start(false);
	gen = *(volatile __u32 *)&traced_tgids_gen;
	if (!start || start->tgids_gen != gen) {
		if (!tgid_traced()) {
			if (start) {
				start->traced = 0;
				start->tgids_gen = gen;
			}
			return 0;
		}
		if (!start)
			start = current_start(true);
		if (!start)
			return 0;
		start->traced = 1;
		start->tgids_gen = gen;
	} else if (!start->traced) {
		return 0;
	}
	/* regs is the task's own pt_regs (a trusted tp_btf argument): plain
	 * loads, not the _CORE_ macros' bpf_probe_read_kernel() per register.
	 * x86_64 syscall arguments: di, si, dx, r10, r8, r9. */
	fd = regs->di;
	if (want & TPK_SC_FD_ARG0)
		sk = sock_of_fd((int)fd);
	if ((want & TPK_SC_SOCKET_ONLY) && !sk)
		return 0;
	start->args[0] = fd;
	start->args[1] = regs->si;
	start->args[2] = regs->dx;
	start->args[3] = regs->r10;
	start->args[4] = regs->r8;
	start->args[5] = regs->r9;
	start->nr = id;
	start->want = want;
	start->sk = (__u64)sk;
	start->fd_is_socket = sk != NULL;
	start->active = 1;
	learn_once(start, sk);
	if (want & TPK_SC_CLOSES)
		start->learned_sk = 0;	/* its address may come back as a new sock */
	/* A data call on a socket: the enter waits for the exit's record
	 * (bpf/events.h, struct tpk_syscall_record). */
	start->deferred = sk && (want & TPK_SC_DATA);
	start->nsubs = 0;
	if (start->deferred) {
		start->subs[0].kind = TPK_EV_SYSCALL_ENTER;
		start->subs[0].cpu = bpf_get_smp_processor_id();
		start->subs[0].t_ns = bpf_ktime_get_ns();
		start->nsubs = 1;
		return 0;
	}

	e = new_event(TPK_EV_SYSCALL_ENTER);
	if (!e)
		return 0;
	e->syscall_nr = id;
	__builtin_memcpy(e->args, start->args, sizeof(e->args));
	e->sk = (__u64)sk;
	e->fd_is_socket = start->fd_is_socket;
	fill_sock_flow(e, sk, want & TPK_SC_RX, NULL);
	submit(e);
	return 0;
}

/* The exit of a data call (start->deferred): one record with its enter and
 * the hops its thread added meanwhile (append_sub()). Only the subs in use
 * are written: the record's unused tail is never touched. */
static __always_inline void emit_syscall_record(struct tpk_syscall_start *start, struct sock *sk,
						long ret)
{
	struct tpk_syscall_record *r;
	__u32 i, n = start->nsubs;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

		if (lost)	/* the exit, the enter and the hops it held */
			*lost += 1 + (n < TPK_MAX_SUBS ? n : TPK_MAX_SUBS);
		return;
	}
	__builtin_memset(r, 0, offsetof(struct tpk_syscall_record, subs));
	r->exit.kind = TPK_EV_SYSCALL;
	r->exit.t_ns = bpf_ktime_get_ns();
	r->exit.cpu = bpf_get_smp_processor_id();
	current_ids(&r->exit.pid, &r->exit.tid, r->exit.comm);
	r->exit.syscall_nr = start->nr;
	__builtin_memcpy(r->exit.args, start->args, sizeof(r->exit.args));
	r->exit.ret = ret;
	r->exit.sk = (__u64)sk;
	r->exit.fd_is_socket = start->fd_is_socket;
	fill_sock_flow(&r->exit, sk, start->want & TPK_SC_RX, NULL);
	for (i = 0; i < TPK_MAX_SUBS; i++) {
		if (i >= n)
			break;
		r->subs[i] = start->subs[i];
	}
	r->nsubs = i;
	submit_sized(r, sizeof(*r));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	TPK_PROG_START();
	struct tpk_syscall_start *start;
	struct sock *sk;
	struct tpk_event *e;

	/* Cheap exits first: most syscalls of the machine are not ours. */
	if (!wanted(regs->orig_ax))
		return 0;
	start = current_start(false);
	if (!start || !start->active)
		return 0;
	start->active = 0;
	/* Hops the call's packets left staged on this CPU (a handshake's last
	 * segment has no tcp_probe) go out now, not at some later packet. */
	flush_this_stage();
	sk = TPK_CAST(struct sock, start->sk);
	if (start->deferred) {
		start->deferred = 0;
		emit_syscall_record(start, sk, ret);
		learn_once(start, sk);
		return 0;
	}
	if ((start->want & TPK_SC_RET_FD) && ret >= 0) {
		sk = sock_of_fd(ret);	/* the new socket of socket()/accept() */
		start->learned_sk = 0;
		learn_once(start, sk);
	}
	e = new_event(TPK_EV_SYSCALL_EXIT);
	if (!e)
		return 0;
	e->syscall_nr = start->nr;
	__builtin_memcpy(e->args, start->args, sizeof(e->args));
	e->ret = ret;
	e->sk = (__u64)sk;
	e->fd_is_socket = start->fd_is_socket;
	/* Read the sock again: connect() and bind() gave it its ports. */
	if (!(start->want & TPK_SC_CLOSES)) {
		fill_sock_flow(e, sk, start->want & TPK_SC_RX, NULL);
		learn_once(start, sk);
	}
	submit(e);
	return 0;
}

/* ---- socket ------------------------------------------------------------ */

/* A sock the current (traced) task works on joins the conversation. The
 * traced sock is asked first: one lookup on the hot path of a conversation
 * already known. */
static __always_inline bool sock_traced_or_learned(struct sock *sk, struct sock_info **infop)
{
	if (sock_traced(sk, infop))
		return true;
	if (!sk || !tgid_traced())
		return false;
	*infop = learn_sock(sk, NULL);
	return true;
}

/* A hop of the current thread's data call on its own sock, kept for the
 * call's record (bpf/events.h); NULL when the hop needs a record of its own:
 * no data call in flight, another sock or direction, or no room left. */
static __always_inline struct tpk_sub_event *append_sub(__u32 kind, struct sock *sk, bool rx)
{
	struct tpk_syscall_start *start;
	struct tpk_sub_event *sub;
	__u32 n;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return NULL;
	start = current_start(false);
	if (!start || !start->active || !start->deferred || start->sk != (__u64)sk ||
	    rx != !!(start->want & TPK_SC_RX))
		return NULL;
	n = start->nsubs;
	if (n >= TPK_MAX_SUBS)
		return NULL;
	start->nsubs = n + 1;
	sub = &start->subs[n];
	__builtin_memset(sub, 0, sizeof(*sub));
	sub->kind = kind;
	sub->cpu = bpf_get_smp_processor_id();
	sub->t_ns = bpf_ktime_get_ns();
	sub->sk = (__u64)sk;
	return sub;
}

/* Both run at the end of the send/recv syscall in the caller's task. */
static __always_inline int sock_length(__u32 kind, struct sock *sk, int ret, int flags, bool rx)
{
	struct tpk_sub_event *sub;
	struct sock_info *info;
	struct tpk_event *e;

	if (!sock_traced_or_learned(sk, &info))
		return 0;
	sub = append_sub(kind, sk, rx);
	if (sub) {
		sub->ret = ret;
		sub->msg_flags = flags;
		return 0;
	}
	e = new_event(kind);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	e->ret = ret;
	e->msg_flags = flags;
	fill_sock_flow(e, sk, rx, info);
	submit(e);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_sock_send_length, struct sock *sk, int ret, int flags)
{
	TPK_PROG_START();
	return sock_length(TPK_EV_SOCK_SEND_LENGTH, sk, ret, flags, false);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(handle_sock_recv_length, struct sock *sk, int ret, int flags)
{
	TPK_PROG_START();
	return sock_length(TPK_EV_SOCK_RECV_LENGTH, sk, ret, flags, true);
}

static __always_inline int data_ready(struct sock *sk)
{
	struct sock_info *info;
	struct tpk_event *e;

	if (!sock_traced(sk, &info))
		return 0;
	/* A datagram's way up ends here (UDP has no tcp_probe). */
	flush_this_stage();
	e = new_event(TPK_EV_SK_DATA_READY);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	fill_sock_flow(e, sk, true, info);
	submit(e);
	return 0;
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(handle_sk_data_ready, const struct sock *csk)
{
	TPK_PROG_START();
	return data_ready((struct sock *)csk);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *csk, const int oldstate,
	     const int newstate)
{
	TPK_PROG_START();
	struct sock *sk = (struct sock *)csk;
	struct sock_info *info;
	struct tpk_event *e;

	/* Not by task: state changes of others run in softirq in any task. */
	if (!sock_traced(sk, &info))
		return 0;
	e = new_event(TPK_EV_INET_SOCK_SET_STATE);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	e->old_state = oldstate;
	e->new_state = newstate;
	fill_sock_flow(e, sk, false, info);
	submit(e);
	return 0;
}

/* ---- transport --------------------------------------------------------- */

/* skb: the tracepoint's (6.18 passes the write queue's tail); NULL from
 * the fentry fallback. */
static __always_inline int sendmsg_locked(struct sock *sk, const struct msghdr *msg,
					  const struct sk_buff *skb)
{
	struct tpk_sub_event *sub;
	struct sock_info *info;
	struct tpk_event *e;

	if (!sock_traced_or_learned(sk, &info))
		return 0;
	sub = append_sub(TPK_EV_TCP_SENDMSG_LOCKED, sk, false);
	if (sub) {
		sub->skb = (__u64)skb;
		sub->skb_len = skb ? skb->len : 0;
		sub->size = msg->msg_iter.count;
		return 0;
	}
	e = new_event(TPK_EV_TCP_SENDMSG_LOCKED);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	e->skb = (__u64)skb;	/* usually NULL: the new skb does not exist yet */
	e->skb_len = skb ? skb->len : 0;
	e->size = msg->msg_iter.count;
	fill_sock_flow(e, sk, false, info);
	submit(e);
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(handle_tcp_sendmsg_locked, const struct sock *csk, const struct msghdr *msg,
	     const struct sk_buff *skb, int size_goal)
{
	TPK_PROG_START();
	return sendmsg_locked((struct sock *)csk, msg, skb);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(handle_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	TPK_PROG_START();
	struct tpk_event *e;
	struct pkt p;

	if (test_refuse_tcp_probe)
		return ((__u64 *)ctx)[15];	/* tcp_probe has two arguments */

	if (!skb_traced(&p, (struct sk_buff *)skb, sk))
		return 0;
	/* The last hop of a segment's way up: send its record. */
	if (stage_hop(TPK_EV_TCP_PROBE, &p, NULL, TPK_HOP_NO_DEV, true))
		return 0;
	e = new_event(TPK_EV_TCP_PROBE);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	submit(e);
	return 0;
}

/* The skb is the write-queue original, without built headers: its sequence
 * numbers live in TCP_SKB_CB(skb), in skb->cb. err (in ret; the tracepoint passes it since 6.17):
 * __tcp_retransmit_skb()'s result, non-zero when nothing was sent again. */
SEC("tp_btf/tcp_retransmit_skb")
int handle_tcp_retransmit_skb(__u64 *ctx)
{
	TPK_PROG_START();
	struct sock *sk = (struct sock *)ctx[0];
	const struct sk_buff *skb = (const struct sk_buff *)ctx[1];
	int err = retransmit_has_err ? (int)ctx[2] : 0;
	struct tcp_skb_cb *cb = (struct tcp_skb_cb *)&skb->cb[0];
	struct sock_info *info;
	struct tpk_event *e;
	__u32 end_seq;

	if (!sock_traced(sk, &info))
		return 0;
	e = new_event(TPK_EV_TCP_RETRANSMIT_SKB);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	e->skb = (__u64)skb;
	e->skb_len = skb->len;
	fill_sock_flow(e, sk, false, info);
	e->seq = BPF_CORE_READ(cb, seq);
	end_seq = BPF_CORE_READ(cb, end_seq);
	e->tcp_flags = (__u8)BPF_CORE_READ(cb, tcp_flags);
	e->payload_len = end_seq - e->seq;	/* SYN and FIN count one each */
	e->ret = err;
	submit(e);
	return 0;
}

/* skb is the packet that caused the reset (sk may be NULL): the flow is
 * turned around to show the reset's direction. reason (Linux 6.10+): why
 * the kernel resets, recorded in drop_reason (bpf/events.h). Resets are rare:
 * the long record costs nothing that matters. */
SEC("tp_btf/tcp_send_reset")
int handle_tcp_send_reset(__u64 *ctx)
{
	TPK_PROG_START();
	struct sock *sk = (struct sock *)ctx[0];
	const struct sk_buff *skb = (const struct sk_buff *)ctx[1];
	int reason = send_reset_has_reason ? (int)ctx[2] : 0;
	struct sock_info *info;
	struct tpk_event *e;
	struct pkt p;
	__u8 addr[16];
	__u16 port;

	if (!skb) {
		if (!sock_traced(sk, &info))
			return 0;
		e = new_event(TPK_EV_TCP_SEND_RESET);
		if (!e)
			return 0;
		e->sk = (__u64)sk;
		e->drop_reason = reason;
		fill_sock_flow(e, sk, false, info);
		submit(e);
		return 0;
	}
	if (!skb_traced(&p, (struct sk_buff *)skb, sk))
		return 0;
	e = new_event(TPK_EV_TCP_SEND_RESET);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	e->drop_reason = reason;
	if (e->flow_source == TPK_FLOW_HEADERS) {
		__builtin_memcpy(addr, e->saddr, 16);
		__builtin_memcpy(e->saddr, e->daddr, 16);
		__builtin_memcpy(e->daddr, addr, 16);
		port = e->sport;
		e->sport = e->dport;
		e->dport = port;
		/* RFC 793 as tcp_v4_send_reset()/tcp_v6_send_reset() build it:
		 * an answer to a segment with ACK takes its ack as seq; one
		 * without (a SYN to a closed port) is RST|ACK acknowledging
		 * everything it carried, SYN and FIN counting one each. */
		if (e->tcp_flags & 0x10) {	/* ACK */
			e->seq = e->ack;
			e->ack = 0;
			e->tcp_flags = 0x04;	/* RST */
		} else {
			e->ack = e->seq + e->payload_len + !!(e->tcp_flags & 0x02) +
				 !!(e->tcp_flags & 0x01);
			e->seq = 0;
			e->tcp_flags = 0x14;	/* RST|ACK */
		}
		e->payload_len = 0;
	}
	submit(e);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(handle_tcp_receive_reset, struct sock *sk)
{
	TPK_PROG_START();
	struct sock_info *info;
	struct tpk_event *e;

	if (!sock_traced(sk, &info))
		return 0;
	e = new_event(TPK_EV_TCP_RECEIVE_RESET);
	if (!e)
		return 0;
	e->sk = (__u64)sk;
	fill_sock_flow(e, sk, true, info);
	submit(e);
	return 0;
}

/* ---- network ----------------------------------------------------------- */

/* Route lookups run at bind/connect and for the handshake, in the task or in
 * softirq; data segments reuse the socket's cached route. A lookup belongs to
 * the conversation when its ports are traced, or when a traced task makes it
 * before its port exists (connect). The flowi4 carries no namespace and the
 * current task in softirq may be any (ksoftirqd is in the initial one), so a
 * port match here is not checked against traced_netns. */
SEC("tp_btf/fib_table_lookup")
int BPF_PROG(handle_fib_table_lookup, u32 tb_id, const struct flowi4 *flp,
	     const struct fib_nh_common *nhc, int err)
{
	TPK_PROG_START();
	struct tpk_event *e;
	__u8 protocol = flp->__fl_common.flowic_proto;
	__u16 sport = bpf_ntohs(flp->uli.ports.sport);
	__u16 dport = bpf_ntohs(flp->uli.ports.dport);
	__be32 saddr, daddr;

	if (!port_traced(protocol, sport) && !port_traced(protocol, dport) &&
	    !((sport == 0 || dport == 0) && tgid_traced()))
		return 0;
	e = new_event(TPK_EV_FIB_TABLE_LOOKUP);
	if (!e)
		return 0;
	saddr = flp->saddr;
	daddr = flp->daddr;
	e->family = AF_INET;
	e->protocol = protocol;
	e->sport = sport;
	e->dport = dport;
	__builtin_memcpy(e->saddr, &saddr, 4);
	__builtin_memcpy(e->daddr, &daddr, 4);
	e->flow_source = TPK_FLOW_ROUTE;
	e->table = tb_id;
	e->route_err = err;
	if (nhc) {
		if (nhc->nhc_gw_family == AF_INET) {
			__be32 gw = nhc->nhc_gw.ipv4;

			__builtin_memcpy(e->gateway, &gw, 4);
		} else if (nhc->nhc_gw_family == AF_INET6) {
			BPF_CORE_READ_INTO(&e->gateway, nhc, nhc_gw.ipv6);
		}
		fill_dev(e, TPK_RD(TPK_CAST(struct fib_nh_common, nhc), nhc_dev));
	}
	submit(e);
	return 0;
}

/* The IPv6 route lookup (::1, tcp6/udp6) reports as the same event kind with
 * an IPv6 flow; the tracepoint has no error code: no next hop means none. */
SEC("tp_btf/fib6_table_lookup")
int BPF_PROG(handle_fib6_table_lookup, const struct net *net, const struct fib6_result *res,
	     struct fib6_table *table, const struct flowi6 *flp)
{
	TPK_PROG_START();
	struct tpk_event *e;
	struct fib6_nh *nh;
	__u8 protocol = flp->__fl_common.flowic_proto;
	__u16 sport = bpf_ntohs(flp->uli.ports.sport);
	__u16 dport = bpf_ntohs(flp->uli.ports.dport);
	bool by_port = port_traced(protocol, sport) || port_traced(protocol, dport);

	/* This tracepoint names its namespace (fib_table_lookup's does not:
	 * IPv4 lookups matched by port are taken from any namespace). */
	if (!(by_port && netns_traced((struct net *)net)) &&
	    !((sport == 0 || dport == 0) && tgid_traced()))
		return 0;
	e = new_event(TPK_EV_FIB_TABLE_LOOKUP);
	if (!e)
		return 0;
	e->family = AF_INET6;
	e->protocol = protocol;
	e->sport = sport;
	e->dport = dport;
	bpf_probe_read_kernel(e->saddr, 16, &flp->saddr);
	bpf_probe_read_kernel(e->daddr, 16, &flp->daddr);
	e->flow_source = TPK_FLOW_ROUTE;
	e->table = table ? table->tb6_id : 0;
	nh = TPK_RD(TPK_CAST(struct fib6_result, res), nh);
	e->route_err = nh ? 0 : -101;	/* -ENETUNREACH */
	if (nh) {
		if (TPK_RD(nh, nh_common.nhc_gw_family) == AF_INET6)
			bpf_probe_read_kernel(e->gateway, 16, &nh->nh_common.nhc_gw.ipv6);
		fill_dev(e, TPK_RD(nh, nh_common.nhc_dev));
	}
	submit(e);
	return 0;
}

/* ---- device and receive -------------------------------------------------- */

static __always_inline int skb_event(__u32 kind, struct sk_buff *skb, struct net_device *dev)
{
	struct tpk_event *e;
	struct pkt p;

	if (!skb_traced(&p, skb, NULL))
		return 0;
	if (stage_hop(kind, &p, dev, 0, false))
		return 0;
	e = new_event(kind);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	fill_dev(e, dev ? dev : TPK_RD(TPK_CAST(struct sk_buff, skb), dev));
	submit(e);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(handle_net_dev_queue, struct sk_buff *skb)
{
	TPK_PROG_START();
	return skb_event(TPK_EV_NET_DEV_QUEUE, skb, NULL);
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(handle_net_dev_start_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	TPK_PROG_START();
	__u32 zero = 0, depth;
	struct xmit_stack *stack = bpf_map_lookup_elem(&traced_skbs, &zero);
	struct tpk_event *e;
	struct pkt p;
	bool traced;

	if (!stack)
		return 0;
	traced = skb_traced(&p, (struct sk_buff *)skb, NULL);
	/* Push every skb, traced or not (0), so the pops stay paired. Pushes
	 * without a pop (skbs that started before handle_net_dev_xmit was
	 * attached: programs attach one by one) leave the stack deeper than
	 * any real nesting; a push and its pop still meet at the same slot
	 * while it is not full, so start over only then. */
	depth = stack->depth;
	if (depth >= TPK_XMIT_DEPTH)
		depth = 0;
	stack->skb[depth & (TPK_XMIT_DEPTH - 1)] = traced ? (__u64)skb : 0;
	stack->depth = depth + 1;
	if (!traced)
		return 0;
	if (stage_hop(TPK_EV_NET_DEV_START_XMIT, &p, (struct net_device *)dev, 0, false))
		return 0;
	e = new_event(TPK_EV_NET_DEV_START_XMIT);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	fill_dev(e, (struct net_device *)dev);
	submit(e);
	return 0;
}

/* After the driver took the skb: loopback_xmit() has already passed it to
 * netif_rx(), and a real NIC may have freed it, so it is not read here; the
 * flow comes from start_xmit. */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(handle_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	TPK_PROG_START();
	__u32 zero = 0, depth;
	struct xmit_stack *stack = bpf_map_lookup_elem(&traced_skbs, &zero);
	struct tpk_event *e;
	__u64 key = (__u64)skb, top = 0;

	if (!stack || !stack->depth)
		return 0;
	depth = stack->depth - 1;
	stack->depth = depth;
	if (depth < TPK_XMIT_DEPTH)
		top = stack->skb[depth];
	if (!top || top != key)
		return 0;
	if (stage_xmit(key, skb_len, rc, dev))
		return 0;
	e = new_event(TPK_EV_NET_DEV_XMIT);
	if (!e)
		return 0;
	e->skb = key;
	e->skb_len = skb_len;
	e->ret = rc;
	fill_dev(e, dev);
	submit(e);
	return 0;
}

SEC("tp_btf/netif_rx")
int BPF_PROG(handle_netif_rx, struct sk_buff *skb)
{
	TPK_PROG_START();
	return skb_event(TPK_EV_NETIF_RX, skb, NULL);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(handle_netif_receive_skb, struct sk_buff *skb)
{
	TPK_PROG_START();
	return skb_event(TPK_EV_NETIF_RECEIVE_SKB, skb, NULL);
}

/* ---- copy to user and the end of the skb ---------------------------------- */

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(handle_skb_copy_datagram_iovec, const struct sk_buff *skb, int len)
{
	TPK_PROG_START();
	struct tpk_event *e;
	struct pkt p;

	if (!skb_traced(&p, (struct sk_buff *)skb, NULL))
		return 0;
	e = new_event(TPK_EV_SKB_COPY_DATAGRAM_IOVEC);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	e->size = len;	/* bytes copied */
	submit(e);
	return 0;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(handle_consume_skb, struct sk_buff *skb, void *location)
{
	TPK_PROG_START();
	struct tpk_event *e;
	struct pkt p;

	if (!skb_traced(&p, skb, NULL))
		return 0;
	e = new_event(TPK_EV_CONSUME_SKB);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	submit(e);
	return 0;
}

SEC("tp_btf/kfree_skb")
int handle_kfree_skb(__u64 *ctx)
{
	TPK_PROG_START();
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	int reason = kfree_skb_has_reason ? (int)ctx[2] : 0;
	struct sock *rx_sk = kfree_skb_has_rx_sk ? (struct sock *)ctx[3] : NULL;
	struct tpk_event *e;
	struct pkt p;

	/* rx_sk: the receiving sock, when the drop happened on its way in. */
	if (!skb_traced(&p, skb, rx_sk))
		return 0;
	e = new_event(TPK_EV_KFREE_SKB);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	e->drop_reason = reason;
	submit(e);
	return 0;
}

/* ---- fallbacks ------------------------------------------------------------
 * The functions behind tracepoints that older kernels lack, for kernels that
 * allow fentry/fexit (not loaded by default: user space turns one on only
 * where its tracepoint is missing, src/kernel/kernel_support.cpp). Each
 * gives the same event as the tracepoint would. */

/* sock:sock_send_length/sock_recv_length (6.3+) fire in sock_sendmsg()
 * and sock_recvmsg() once the protocol's sendmsg/recvmsg returned; send's
 * flags are 0 there too. sock_sendmsg() itself is no place to hook: 6.1
 * inlines it into __sys_sendto(), so its fexit misses sendto(). The
 * protocols' functions are reached by indirect calls (or, with retpolines,
 * INDIRECT_CALL_INET's direct calls into another file): never inlined. */
static __always_inline int sent(struct socket *sock, int ret)
{
	return sock_length(TPK_EV_SOCK_SEND_LENGTH, TPK_RD(sock, sk), ret, 0, false);
}

SEC("?fexit/inet_sendmsg")
int BPF_PROG(handle_fexit_inet_sendmsg, struct socket *sock, struct msghdr *msg, size_t size,
	     int ret)
{
	TPK_PROG_START();
	return sent(sock, ret);
}

SEC("?fexit/inet6_sendmsg")
int BPF_PROG(handle_fexit_inet6_sendmsg, struct socket *sock, struct msghdr *msg, size_t size,
	     int ret)
{
	TPK_PROG_START();
	return sent(sock, ret);
}

SEC("?fexit/unix_stream_sendmsg")
int BPF_PROG(handle_fexit_unix_stream_sendmsg, struct socket *sock, struct msghdr *msg,
	     size_t size, int ret)
{
	TPK_PROG_START();
	return sent(sock, ret);
}

/* unix_seqpacket_sendmsg() calls it too. */
SEC("?fexit/unix_dgram_sendmsg")
int BPF_PROG(handle_fexit_unix_dgram_sendmsg, struct socket *sock, struct msghdr *msg,
	     size_t size, int ret)
{
	TPK_PROG_START();
	return sent(sock, ret);
}

SEC("?fexit/sock_recvmsg")
int BPF_PROG(handle_fexit_sock_recvmsg, struct socket *sock, struct msghdr *msg, int flags,
	     int ret)
{
	TPK_PROG_START();
	return sock_length(TPK_EV_SOCK_RECV_LENGTH, TPK_RD(sock, sk), ret, flags, true);
}

/* sock:sk_data_ready (6.8+) fires in the sk->sk_data_ready callbacks; TCP,
 * UDP and UNIX sockets use sock_def_readable() for it. */
SEC("?fentry/sock_def_readable")
int BPF_PROG(handle_fentry_sock_def_readable, struct sock *sk)
{
	TPK_PROG_START();
	return data_ready(sk);
}

/* tcp:tcp_sendmsg_locked (6.18) fires at the start of tcp_sendmsg_locked(). */
SEC("?fentry/tcp_sendmsg_locked")
int BPF_PROG(handle_fentry_tcp_sendmsg_locked, struct sock *sk, struct msghdr *msg, size_t size)
{
	TPK_PROG_START();
	return sendmsg_locked(sk, msg, NULL);
}

/* ---- the IP layer (fentry only) ---------------------------------------------
 * No tracepoint marks a packet's way through IP: where fentry is allowed,
 * these give the IPv4/IPv6 output and receive hops (the netfilter hooks
 * POST_ROUTING, PRE_ROUTING and LOCAL_IN run inside them). Refused where
 * fentry is (the journey then says these hops need it). */
static __always_inline int ip_hop(__u32 kind, struct sk_buff *skb)
{
	struct tpk_event *e;
	struct pkt p;

	if (!skb_traced(&p, skb, NULL))
		return 0;
	if (stage_hop(kind, &p, NULL, TPK_HOP_NO_DEV, false))
		return 0;
	e = new_event(kind);
	if (!e)
		return 0;
	fill_pkt(e, &p);
	submit(e);
	return 0;
}

SEC("?fentry/ip_output")
int BPF_PROG(handle_fentry_ip_output, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_OUTPUT, skb);
}

SEC("?fentry/ip6_output")
int BPF_PROG(handle_fentry_ip6_output, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_OUTPUT, skb);
}

SEC("?fentry/ip_rcv")
int BPF_PROG(handle_fentry_ip_rcv, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_RCV, skb);
}

SEC("?fentry/ipv6_rcv")
int BPF_PROG(handle_fentry_ipv6_rcv, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_RCV, skb);
}

SEC("?fentry/ip_local_deliver")
int BPF_PROG(handle_fentry_ip_local_deliver, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_LOCAL_DELIVER, skb);
}

SEC("?fentry/ip6_input")
int BPF_PROG(handle_fentry_ip6_input, struct sk_buff *skb)
{
	TPK_PROG_START();
	return ip_hop(TPK_EV_IP_LOCAL_DELIVER, skb);
}
