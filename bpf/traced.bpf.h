/* What belongs to the traced conversation (bpf/tracepacket.bpf.c, top
 * comment): the traced tgids, the traced_ports flags, the traced namespaces
 * and the traced socks (socket storage and traced_socks); how a sock is
 * learned and asked about, and the flow a sock gives a record.
 *
 * The maps and globals are defined here: only bpf/tracepacket.bpf.c includes
 * this header. traced_ports, traced_netns and traced_netns_count are the
 * skeleton's bss members user space writes while tracing.
 */
#ifndef TPK_TRACED_BPF_H
#define TPK_TRACED_BPF_H

#include "kernel.bpf.h"

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

/* A port's flag in its transport's table, or NULL (no table, or port 0). */
static __always_inline __u8 *port_flag(__u8 protocol, __u16 port)
{
	int table = port_table(protocol);

	if (table < 0 || !port)
		return NULL;
	return &traced_ports[table & 1][port_index(port)];
}

static __always_inline bool port_traced(__u8 protocol, __u16 port)
{
	__u8 *flag = port_flag(protocol, port);

	return flag && *flag;
}

static __always_inline void learn_port(__u8 protocol, __u16 port)
{
	__u8 *flag = port_flag(protocol, port);

	if (flag && !*flag)
		*flag = TPK_PORT_LEARNED;
}

/* A traced listener's port stays the conversation's: every connection to
 * it is (as user space's ports are). */
static __always_inline void pin_port(__u8 protocol, __u16 port)
{
	__u8 *flag = port_flag(protocol, port);

	if (flag)
		*flag = TPK_PORT_PINNED;
}

/* A traced TCP sock closed: its port is nobody's now. Kept, an untraced
 * program that got the same port number later was traced as if it were the
 * conversation, and the ports of its peers learned from it: over 20,000
 * short connections most of the ephemeral range was learned, and other
 * programs' connections on the machine came out in the journey. */
static __always_inline void forget_port(__u8 protocol, __u16 port)
{
	__u8 *flag = port_flag(protocol, port);

	if (flag && *flag == TPK_PORT_LEARNED)
		*flag = 0;
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
 * both. A request or time-wait sock is always another sock: entries come
 * from system calls, which see full socks only, and those two are objects
 * of their own. Judged by the port alone, one found at the address of an
 * entry that knew no port (a UNIX sock, a socket never bound) was taken for
 * traced and its port learned: an untraced listener's, whose every
 * connection was then traced (KernelTracer.NewSockAtADeadTracedSocks-
 * AddressIsNotTraced failed about one run in ten). */
static __always_inline bool stale_entry(const struct sock_info *info, struct sock *sk)
{
	__u8 state = TPK_RD(sk, __sk_common.skc_state);
	__u16 lport = TPK_RD(sk, __sk_common.skc_num);
	__u64 ino;

	if (is_inet(TPK_RD(sk, __sk_common.skc_family)) && info->lport && lport &&
	    lport != info->lport)
		return true;
	if (state == TPK_TCP_NEW_SYN_RECV || state == TPK_TCP_TIME_WAIT)
		return true;
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

#endif /* TPK_TRACED_BPF_H */
