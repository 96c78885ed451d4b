/* The one record the BPF programs write into the ring buffer and user space
 * reads (STYLE.md "One header for kernel/user structs"). Includes nothing:
 * __u8..__u64 come from vmlinux.h in BPF and <linux/types.h> in C++.
 *
 * Byte order: saddr/daddr/gateway are in network byte order, as on the wire;
 * every other field (ports too) is in host byte order.
 * The layout is checked by static_asserts in tests/unit/kernel/events_layout_test.cpp.
 */
#ifndef TPK_EVENTS_H
#define TPK_EVENTS_H

#define TPK_COMM_LEN 16
#define TPK_IFNAME_LEN 16
#define TPK_SYSCALL_ARGS 6
/* x86_64 syscall numbers stay below this (the last one is ~460 in 6.18). */
#define TPK_MAX_SYSCALLS 512

/* What fired. User space maps these to tpk::model::EventKind (src/kernel/convert.cpp). */
enum tpk_event_kind {
	TPK_EV_SYSCALL_ENTER = 1,
	TPK_EV_SYSCALL_EXIT = 2,
	TPK_EV_SOCK_SEND_LENGTH = 3,
	TPK_EV_SOCK_RECV_LENGTH = 4,
	TPK_EV_TCP_SENDMSG_LOCKED = 5,
	TPK_EV_FIB_TABLE_LOOKUP = 6,
	TPK_EV_NET_DEV_QUEUE = 7,
	TPK_EV_NET_DEV_START_XMIT = 8,
	TPK_EV_NET_DEV_XMIT = 9,
	TPK_EV_NETIF_RX = 10,
	TPK_EV_NETIF_RECEIVE_SKB = 11,
	TPK_EV_TCP_PROBE = 12,
	TPK_EV_INET_SOCK_SET_STATE = 13,
	TPK_EV_SK_DATA_READY = 14,
	TPK_EV_SKB_COPY_DATAGRAM_IOVEC = 15,
	TPK_EV_CONSUME_SKB = 16,
	TPK_EV_KFREE_SKB = 17,
	TPK_EV_TCP_RETRANSMIT_SKB = 18,
	TPK_EV_TCP_SEND_RESET = 19,
	TPK_EV_TCP_RECEIVE_RESET = 20,
	TPK_EV_PROCESS_FORK = 21,	/* a traced process forked: pid = parent, ret = child tgid */
	TPK_EV_PROCESS_EXIT = 22,	/* a traced process's last thread exited */
	/* The IP layer, where fentry is allowed (no tracepoints there): */
	TPK_EV_IP_OUTPUT = 23,		/* ip_output()/ip6_output(): headers built, to POST_ROUTING */
	TPK_EV_IP_RCV = 24,		/* ip_rcv()/ipv6_rcv(): IP receive, PRE_ROUTING */
	TPK_EV_IP_LOCAL_DELIVER = 25,	/* ip_local_deliver()/ip6_input(): LOCAL_IN, to L4 */
	TPK_EV_KIND_END = 26,
	/* Not an event: a record holding a data system call's events, enter to
	 * exit (struct tpk_syscall_record). */
	TPK_EV_SYSCALL = 64,
	/* Not an event: a record holding one packet's hops on one CPU while
	 * bottom halves were off (struct tpk_packet_record). */
	TPK_EV_PACKET = 65,
};

/* Where the flow fields (addresses, ports, protocol, inodes) were read. */
enum tpk_flow_source {
	TPK_FLOW_NONE = 0,
	TPK_FLOW_HEADERS = 1,	/* the packet's IP and TCP/UDP headers: s* is the sender */
	TPK_FLOW_SOCK = 2,	/* the struct sock: s* is the local end, d* the peer */
	TPK_FLOW_ROUTE = 3,	/* the route lookup's flowi4: s* is the local end */
};

/* One record per event. The fields most events use come first and end at
 * TPK_EVENT_SHORT_SIZE: packet and socket hops (the hot path, ~11 records
 * per message) send only that prefix, so less ring memory is written and
 * read per event; the kinds that need the rest (system calls, route lookups,
 * state changes, drops, resets) send the whole record. User space zero-fills what a
 * short record leaves out. */
struct tpk_event {
	__u32 kind;		/* enum tpk_event_kind */
	__u32 cpu;
	__u64 t_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skb;		/* struct sk_buff address, 0 when none */
	__u64 sk;		/* struct sock address, 0 when none */
	__u64 unix_inode;	/* UNIX sockets: inode of the sock ... */
	__u64 unix_peer_inode;	/* ... and of its peer (as sock_diag reports them) */
	__s64 ret;		/* syscall return value; bytes for sock_*_length;
				 * net_dev_xmit: NETDEV_TX_*; fork: child tgid; exit: code;
				 * tcp_retransmit_skb: its err (0 or -errno) */
	__u32 pid;		/* tgid of the current task */
	__u32 tid;
	__u32 seq;		/* TCP sequence number (host order) */
	__u32 ack;
	__u32 payload_len;	/* transport payload bytes from the headers */
	__u32 skb_len;		/* skb->len */
	__s32 ifindex;
	__u32 size;		/* tcp_sendmsg_locked: bytes left in the msghdr;
				 * skb_copy_datagram_iovec: bytes copied */
	__u32 msg_flags;	/* sock_*_length: MSG_* flags */
	__u16 family;		/* AF_INET, AF_INET6, AF_UNIX or 0 */
	__u16 sport;
	__u16 dport;
	__u8 protocol;		/* IPPROTO_TCP, IPPROTO_UDP, 0 */
	__u8 tcp_flags;		/* the TCP header's flags byte */
	__u8 flow_source;	/* enum tpk_flow_source */
	__u8 fd_is_socket;	/* syscalls: args[0] is a socket fd and sk is its sock */
	__u8 pad[2];
	__u8 saddr[16];		/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[TPK_COMM_LEN];
	char dev[TPK_IFNAME_LEN];
	/* ---- TPK_EVENT_SHORT_SIZE: short records end here ---- */
	__s32 syscall_nr;	/* -1 when not a syscall */
	__s32 old_state;	/* inet_sock_set_state */
	__s32 new_state;
	__u32 table;		/* fib_table_lookup table id */
	__s32 route_err;	/* fib_table_lookup result */
	__s32 drop_reason;	/* kfree_skb: enum skb_drop_reason;
				 * tcp_send_reset: enum sk_rst_reason (another enum) */
	__u8 gateway[16];	/* fib_table_lookup next hop gateway, 0 when direct */
	__u64 args[TPK_SYSCALL_ARGS];	/* syscall arguments as passed (enter and exit) */
};

/* The size of a short record: offsetof(struct tpk_event, syscall_nr). */
#define TPK_EVENT_SHORT_SIZE 168

/* Per-syscall knobs in the .rodata array syscall_wanted[nr], set by user
 * space from its syscall table (src/kernel/syscalls.cpp). */
#define TPK_SC_TRACE		0x01	/* record enter and exit */
#define TPK_SC_FD_ARG0		0x02	/* args[0] is an fd: attach its sock */
#define TPK_SC_SOCKET_ONLY	0x04	/* skip unless args[0] is a socket (read, write, close) */
#define TPK_SC_RET_FD		0x08	/* the return value is a new socket fd (socket, accept) */
#define TPK_SC_RX		0x10	/* receives: the flow runs from the peer to us */
#define TPK_SC_CLOSES		0x20	/* the sock may be gone at exit: do not read it again */
#define TPK_SC_DATA		0x40	/* moves data (read, write, send*, recv*): on a socket,
					 * one TPK_EV_SYSCALL record at exit instead of an enter
					 * and an exit record */

/* A ring buffer record costs the traced program more than anything else
 * the tracer does (~40 ns to reserve and commit, ~20 ns per 64-byte line
 * written to ring memory that is cold in the cache: docs/performance.md,
 * "Tracing overhead"). So a data system call on a socket sends one record at
 * its exit: the exit event, then its enter and the socket hops its own thread
 * made on the same sock meanwhile (sock_*_length, tcp_sendmsg_locked), each
 * as a tpk_sub_event that shares the exit's flow, pid, tid and comm. User
 * space expands it into the events the separate records would have been
 * (src/kernel/convert.cpp, expand_record()). */
struct tpk_sub_event {
	__u32 kind;		/* enum tpk_event_kind */
	__u32 cpu;
	__u64 t_ns;
	__u64 sk;
	__u64 skb;
	__s64 ret;		/* as in struct tpk_event */
	__u32 size;
	__u32 skb_len;
	__u32 msg_flags;
	__u32 pad;
};

/* subs[0] is the enter; the rest hops, in the order they happened. */
#define TPK_MAX_SUBS 4

struct tpk_syscall_record {
	struct tpk_event exit;	/* kind TPK_EV_SYSCALL; otherwise the exit event */
	__u32 nsubs;
	__u32 pad;
	struct tpk_sub_event subs[TPK_MAX_SUBS];
};

/* The same idea for the hops of a packet on its way through the device and
 * up the receive path: on loopback net_dev_queue, start_xmit, netif_rx and
 * net_dev_xmit run in the sender's dev_queue_xmit(), then netif_receive_skb
 * and tcp_probe in the NET_RX softirq on the same CPU. Each CPU gathers a
 * packet's hops in a stage and sends them as one record at tcp_probe (or
 * sk_data_ready, the next packet, a traced system call's exit, the end of
 * tracing): the first hop's event (flow, skb, device, pid/tid/comm, CPU) and
 * each hop's own fields. User space expands it (convert.cpp,
 * expand_record()). */
#define TPK_HOP_NO_FLOW 0x1	/* the hop's own record has no flow (net_dev_xmit) */
#define TPK_HOP_NO_DEV 0x2	/* ... and no device (tcp_probe) */

struct tpk_hop {
	__u32 kind;		/* enum tpk_event_kind */
	__u32 flags;		/* TPK_HOP_* */
	__u64 t_ns;
	__u64 sk;
	__s64 ret;
	__u32 skb_len;
	__s32 ifindex;
};

#define TPK_PACKET_HOPS 8

struct tpk_packet_record {
	struct tpk_event first;	/* kind TPK_EV_PACKET; the short part only */
	__u32 nhops;
	__u32 busy;		/* BPF side only: a program on this CPU is using the
				 * stage (claim_stage() in bpf/packet_stage.bpf.h) */
	struct tpk_hop hops[TPK_PACKET_HOPS];
};

/* A traced thread's system call in flight, in task storage (one per
 * thread). User space reads it once tracing ends, for the data calls still
 * blocked then: their enter would otherwise never be reported (see
 * Tracer::unfinished_syscalls()). */
struct tpk_syscall_start {
	__u64 args[TPK_SYSCALL_ARGS];
	__u64 sk;
	/* The last sock this thread's system calls learned completely
	 * (learn_sock_by_addr()): the next call on it skips the lookup. */
	__u64 learned_sk;
	__s32 nr;
	__u8 want;
	__u8 fd_is_socket;
	__u8 active;	/* an enter is waiting for its exit */
	__u8 traced;	/* traced_tgids holds this thread's tgid, as of ... */
	__u32 tgids_gen;	/* ... this traced_tgids_gen */
	__u8 deferred;	/* a data call: the enter waits in subs[0] for the exit */
	__u8 nsubs;
	__u8 pad[2];
	struct tpk_sub_event subs[TPK_MAX_SUBS];
};

/* bench_floor in bpf/knobs.bpf.h (make bench only). */
#define TPK_FLOOR_NONE 0
#define TPK_FLOOR_ATTACH 1	/* programs attached, returning at once */
#define TPK_FLOOR_DECIDE 2	/* programs filter, but write no record */
#define TPK_FLOOR_CLOCK 3	/* programs read the clock once and return */

/* Ports pre-seeded or learned as part of the traced conversation: the BPF
 * object's global __u8 traced_ports[TPK_PORT_TABLES][TPK_PORTS], a flag per
 * port in host byte order, one table per transport: 0, or LEARNED (a traced
 * sock's local port, forgotten when that sock closes), or PINNED (user
 * space's ports and traced listeners': kept while tracing runs). */
#define TPK_PORT_LEARNED 1
#define TPK_PORT_PINNED 2
#define TPK_PORT_TCP 0
#define TPK_PORT_UDP 1
#define TPK_PORT_TABLES 2
#define TPK_PORTS 65536

/* The network namespaces of the traced processes, as the inode number of
 * /proc/PID/ns/net (struct net's ns.inum): the BPF object's globals
 * __u32 traced_netns[TPK_MAX_NETNS] and traced_netns_count. A packet or sock
 * matched only by its port must be in one of them (ports are per namespace);
 * no namespace recorded means any. */
#define TPK_MAX_NETNS 8

#endif /* TPK_EVENTS_H */
