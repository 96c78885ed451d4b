/* Packets: where an skb's IP and TCP/UDP headers are, whether a packet
 * belongs to the conversation (its sock, else its ports), filling a record's
 * flow and device from it, and the traced skbs between net_dev_start_xmit and
 * net_dev_xmit on one CPU.
 *
 * The map is defined here: only bpf/tracepacket.bpf.c includes this header.
 */
#ifndef TPK_PACKETS_BPF_H
#define TPK_PACKETS_BPF_H

#include "kernel.bpf.h"
#include "traced.bpf.h"

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

#endif /* TPK_PACKETS_BPF_H */
