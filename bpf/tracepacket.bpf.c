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
 *
 * The parts, one header each (its top comment says what it owns):
 *   kernel.bpf.h        vmlinux.h and libbpf, the kernel's constants that
 *                       vmlinux.h lacks, reading kernel memory in either
 *                       object (TPK_RD() and co.), the current task's ids;
 *   knobs.bpf.h         the .rodata user space sets before load;
 *   records.bpf.h       the ring buffer, lost records, new_event()/submit();
 *   traced.bpf.h        what is traced: tgids, ports, namespaces, socks;
 *   packets.bpf.h       a packet's headers, whether it is traced, its flow;
 *   syscalls.bpf.h      a thread's system call in flight and its record;
 *   packet_stage.bpf.h  a CPU's hops of one packet, sent as one record;
 * and this file, the programs: processes, system calls, socket, transport,
 * network, device and receive, copy and free, fallbacks, the IP layer.
 * Only this file includes the headers, so their maps and globals are
 * defined there, in the order included here: the order of the skeleton's
 * maps and of its rodata, bss and data members (user space finds them by
 * name; the order only keeps the object as it was before the split).
 */
#include "kernel.bpf.h"
#include "knobs.bpf.h"
#include "records.bpf.h"
#include "traced.bpf.h"
#include "packets.bpf.h"
#include "syscalls.bpf.h"
#include "packet_stage.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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
	/* A closing sock may have lost its port already (sock_info). */
	if (newstate == TPK_TCP_CLOSE)
		forget_port(TPK_PROTO_TCP, info && info->lport ? info->lport
							: TPK_RD(sk, __sk_common.skc_num));
	else if (newstate == TPK_TCP_LISTEN)
		pin_port(TPK_PROTO_TCP, TPK_RD(sk, __sk_common.skc_num));
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
