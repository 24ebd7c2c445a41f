// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Millisampler tc programs: per time bin and per CPU, count bytes, packets, ECN-CE bytes,
 * retransmitted TCP bytes, cross-region bytes and a distinct-flow sketch, on ingress and
 * egress of the watched interfaces.
 *
 * Every program returns TC_ACT_UNSPEC (== TCX_NEXT): the packet's fate is left to whatever
 * runs after us on the hook.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "millisampler.h"

#define MS_CONTINUE TC_ACT_UNSPEC /* -1, the same value as TCX_NEXT */
#define MS_RTT_REFRESH_NS (10ULL * 1000 * 1000)
#define MS_MAX_IPV6_EXT 4

#ifndef MS_MAX_BINS
#define MS_MAX_BINS 2000
#endif
#ifndef MS_MAX_FLOWS
#define MS_MAX_FLOWS 32768
#endif

/*
 * Benchmarks only (bpf/Makefile builds out/stages/): below 4, the armed path stops after a stage,
 * so what each stage costs can be measured, live and under BPF_PROG_TEST_RUN, against the whole.
 * 1: clock, run bin and ring slot, bytes and packets; 2: + parsing and CE; 3: + the flow lookup;
 * 4 (the product): + sequence tracking, region and sketches.
 */
#ifndef MS_STAGES
#define MS_STAGES 4
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";


struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_config);
} ms_config SEC(".maps");

/* The agent may resize max_entries before load (bins per run). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_BINS);
	__type(key, __u32);
	__type(value, struct ms_bin);
} ms_bins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MS_MAX_BINS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ms_sketch);
} ms_sketch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MS_MAX_FLOWS);
	__type(key, struct ms_flow_key);
	__type(value, struct ms_flow);
} ms_flows SEC(".maps");

/* IPv4 flows, the same state under the 16-byte key (the kernel hashes every key byte per lookup). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MS_MAX_FLOWS);
	__type(key, struct ms_flow_key4);
	__type(value, struct ms_flow);
} ms_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ms_prefix_key);
	__type(value, struct ms_prefix_value);
} ms_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_stats);
} ms_stats SEC(".maps");


/* ---- Look-back ring: maps and helpers (docs/sampler.md, "Look-back ring") ---- */

/* Set by the agent before load; the verifier sees the values as constants. */
const volatile struct ms_ring_params ms_ring SEC(".rodata.ring") = { .width_ns = 1000000, .depth = 4096, .on = 0 };

/* depth slots per CPU, CPU c's slice first at c*depth; the agent sizes it and maps it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ms_ring_bin);
} ms_ring_bins SEC(".maps");

/* depth slots shared by all CPUs; the agent sizes it and maps it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ms_ring_sketch);
} ms_ring_sketch SEC(".maps");

static __always_inline void ms_ring_sketch_claim(struct ms_ring_sketch *s, __u64 seen, __u64 bin)
{
	/* One CPU wins the slot and clears it; the tag goes first so a reader can tell. */
	if (__sync_val_compare_and_swap(&s->bin, seen, bin) != seen)
		return;
#pragma unroll
	for (int i = 0; i < MS_SKETCH_WORDS; i++) {
		s->in[i] = 0;
		s->out[i] = 0;
	}
}

/*
 * Clears the shared sketch slot of the bin after `bin` ahead of time, so that when that bin
 * starts its bits are set into a clean slot and no CPU clears under another's writes. Called
 * once per CPU per bin (when the CPU resets its own counters slot).
 */
static __always_inline void ms_ring_sketch_prepare(__u64 bin)
{
	__u32 slot = (__u32)(bin + 1) & (ms_ring.depth - 1);
	struct ms_ring_sketch *s = bpf_map_lookup_elem(&ms_ring_sketch, &slot);

	if (s) {
		__u64 seen = s->bin;

		if (seen != bin + 1)
			ms_ring_sketch_claim(s, seen, bin + 1);
	}
}

/*
 * This CPU's slot for the bin holding `now` (TAI): reset first when it still holds an older
 * bin. Only this CPU writes its slice, and our programs never interleave on one CPU.
 */
static __always_inline struct ms_ring_bin *ms_ring_slot(__u64 now, __u64 *abs)
{
	__u64 bin = now / ms_ring.width_ns;
	__u32 idx = bpf_get_smp_processor_id() * ms_ring.depth + ((__u32)bin & (ms_ring.depth - 1));
	struct ms_ring_bin *r = bpf_map_lookup_elem(&ms_ring_bins, &idx);

	if (!r)
		return NULL;
	if (r->bin != bin) {
		r->bin = bin;
		asm volatile("" ::: "memory"); /* the tag before the counters, for readers */
		r->in_bytes = 0;
		r->out_bytes = 0;
		r->in_packets = 0;
		r->out_packets = 0;
		r->in_ce_bytes = 0;
		r->in_rxmit_bytes = 0;
		r->out_rxmit_bytes = 0;
		r->in_xregion_bytes = 0;
		r->out_xregion_bytes = 0;
		ms_ring_sketch_prepare(bin);
	}
	*abs = bin;
	return r;
}

/* Sets a flow's bit in the ring's shared sketch of `bin` (test before set, like the runs). */
static __always_inline void ms_ring_sketch_set(__u64 bin, __u32 sketch_bit, bool ingress)
{
	__u32 slot = (__u32)bin & (ms_ring.depth - 1);
	struct ms_ring_sketch *s = bpf_map_lookup_elem(&ms_ring_sketch, &slot);

	if (!s)
		return;
	__u64 seen = s->bin;

	if (seen != bin) {
		/* Nobody prepared it (no packet in the bin before): claim it now. */
		ms_ring_sketch_claim(s, seen, bin);
		if (s->bin != bin)
			return;
	}
	__u32 bit = sketch_bit & (MS_SKETCH_BITS - 1);
	__u64 mask = 1ULL << (bit & 63);
	__u64 *word = ingress ? &s->in[bit >> 6] : &s->out[bit >> 6];

	if (!(*word & mask))
		__sync_fetch_and_or(word, mask);
}

/* What one packet adds, to the run's bin and to the ring's slot. */
#define MS_ADD(b, r, field, v)                 \
	do {                                   \
		if (b)                         \
			(b)->field += (v);     \
		if (r)                         \
			(r)->field += (__u32)(v); \
	} while (0)

/*
 * What the parser learned about one packet. The hot path does not clear it: the parser writes every
 * field that is read later (the TCP fields only when is_tcp is set, key only for IPv6, remote[0]
 * only for IPv4).
 */
struct ms_pkt {
	struct ms_flow_key key;  /* family and proto always; the rest for IPv6 flows only */
	struct ms_flow_key4 key4; /* IPv4 flows: the canonical key, built straight from the headers */
	__u8 dir;        /* 0 when the packet goes lo->hi in the canonical key */
	__u8 ce;
	__u8 is_tcp;
	__u8 tcp_flags;  /* bit 0: SYN, bit 1: FIN */
	__u32 seq;
	__u32 payload;   /* TCP payload bytes */
	__u32 hdr_len;   /* L2 to end of the last header parsed: what every GSO segment repeats */
	__u16 ip_id;     /* IPv4 identification of the (first) segment; 0 for IPv6 */
	__u32 remote[4]; /* the peer's address (source on ingress, destination on egress) */
};

static __always_inline __u32 ms_zero_key(void) { return 0; }

static __always_inline void ms_stat_not_parsed(void)
{
	__u32 k = ms_zero_key();
	struct ms_stats *s = bpf_map_lookup_elem(&ms_stats, &k);

	if (s)
		s->not_parsed++;
}

/*
 * Header parsing, one small helper per header. Each takes the cursor, checks that its header
 * lies in the linear area, fills what it learns and moves the cursor past it. A helper returns
 * the protocol of the next header, or MS_PARSE_FAIL when its own header is out of reach or
 * malformed; nothing after a failure is read.
 */
#define MS_PARSE_FAIL (-1)
/* Largest header offset we follow (4 extension headers of up to 2 KB fit easily). */
#define MS_MAX_HDR_OFF 0x3fff

/* Where the next header starts, as an offset from data kept small and bounded for the verifier. */
struct ms_cursor {
	void *data;
	void *end;
	__u32 off;
};

/* The next len bytes at the cursor, or NULL when they are not all in the linear area. */
static __always_inline void *ms_cursor_header(const struct ms_cursor *c, __u32 len)
{
	void *h = c->data + c->off;

	if (c->off > MS_MAX_HDR_OFF || h + len > c->end)
		return NULL;
	return h;
}

struct ms_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* Ethernet and at most one VLAN tag; returns the EtherType (network order). */
static __always_inline int ms_parse_eth(struct ms_cursor *c)
{
	struct ethhdr *eth = ms_cursor_header(c, sizeof(*eth));
	__be16 proto;

	if (!eth)
		return MS_PARSE_FAIL;
	c->off += sizeof(*eth);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct ms_vlan_hdr *vh = ms_cursor_header(c, sizeof(*vh));

		if (!vh)
			return MS_PARSE_FAIL;
		c->off += sizeof(*vh);
		proto = vh->encap_proto;
	}
	return proto;
}

/*
 * The end of the IP packet as an offset from data. The frame may be a GSO/GRO super-packet: the
 * IP length field then covers one segment (or is 0), so the frame's length wins when shorter.
 */
static __always_inline __u64 ms_ip_end(__u32 l3_off, __u64 ip_len, __u64 frame_len)
{
	return (ip_len && l3_off + ip_len < frame_len) ? l3_off + ip_len : frame_len;
}

/*
 * IPv4: fills the family, protocol, CE mark and IP ID, and the addresses (as they sit in the header).
 * Returns the protocol whose header follows, or IPPROTO_NONE for a later fragment (only the first
 * carries the transport header).
 */
static __always_inline int ms_parse_ipv4(struct ms_cursor *c, struct ms_pkt *p, __u32 *src, __u32 *dst,
					 __u64 frame_len, __u64 *ip_end)
{
	struct iphdr *iph = ms_cursor_header(c, sizeof(*iph));

	if (!iph)
		return MS_PARSE_FAIL;
	__u32 ihl = iph->ihl * 4;

	if (ihl < sizeof(*iph))
		return MS_PARSE_FAIL;
	p->ce = (iph->tos & 3) == 3;
	p->key.family = 4;
	p->key.proto = iph->protocol;
	p->ip_id = bpf_ntohs(iph->id);
	*src = iph->saddr;
	*dst = iph->daddr;
	*ip_end = ms_ip_end(c->off, bpf_ntohs(iph->tot_len), frame_len);
	c->off += ihl;
	if (iph->frag_off & bpf_htons(0x1fff))
		return IPPROTO_NONE;
	return iph->protocol;
}

/* The fixed IPv6 header: fills the addresses, family, CE mark and protocol; returns its next header. */
static __always_inline int ms_parse_ipv6(struct ms_cursor *c, struct ms_pkt *p, __u32 *src, __u32 *dst,
					 __u64 frame_len, __u64 *ip_end)
{
	struct ipv6hdr *ip6 = ms_cursor_header(c, sizeof(*ip6));

	if (!ip6)
		return MS_PARSE_FAIL;
	p->ce = ((bpf_ntohl(*(__be32 *)ip6) >> 20) & 3) == 3;
	p->key.family = 6;
	p->ip_id = 0;
	p->key.proto = ip6->nexthdr;
	__builtin_memcpy(src, &ip6->saddr, 16);
	__builtin_memcpy(dst, &ip6->daddr, 16);
	*ip_end = ms_ip_end(c->off, sizeof(*ip6) + bpf_ntohs(ip6->payload_len), frame_len);
	c->off += sizeof(*ip6);
	return ip6->nexthdr;
}

struct ms_ipv6_ext {
	__u8 nexthdr;
	__u8 len;       /* 8-byte units beyond the first 8 (not in a fragment header) */
	__be16 frag;    /* fragment header only: offset (13 bits) and flags */
};

/*
 * Walks up to MS_MAX_IPV6_EXT extension headers from next. Returns the header after them
 * (IPPROTO_NONE for a later fragment), or MS_PARSE_FAIL when one is out of reach; either way
 * *proto holds the last next-header value known, the flow's protocol.
 */
static __always_inline int ms_skip_ipv6_ext(struct ms_cursor *c, int next, __u8 *proto)
{
#pragma unroll
	for (int i = 0; i < MS_MAX_IPV6_EXT; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS && next != IPPROTO_FRAGMENT)
			break;
		struct ms_ipv6_ext *ext = ms_cursor_header(c, sizeof(*ext));

		if (!ext)
			return MS_PARSE_FAIL;
		if (next == IPPROTO_FRAGMENT) {
			next = (ext->frag & bpf_htons(0xfff8)) ? IPPROTO_NONE : ext->nexthdr;
			c->off += 8;
		} else {
			next = ext->nexthdr;
			c->off += (ext->len + 1) * 8;
		}
		*proto = next;
	}
	return next;
}

/* TCP: ports, sequence, flags and payload length (the IP packet ends at ip_end). */
static __always_inline int ms_parse_tcp(struct ms_cursor *c, struct ms_pkt *p, __u64 ip_end,
					__u16 *sport, __u16 *dport)
{
	struct tcphdr *th = ms_cursor_header(c, sizeof(*th));

	if (!th)
		return MS_PARSE_FAIL;
	__u32 hlen = th->doff * 4;

	if (hlen < sizeof(*th))
		return MS_PARSE_FAIL;
	__u64 l4_len = ip_end > c->off ? ip_end - c->off : 0;

	*sport = bpf_ntohs(th->source);
	*dport = bpf_ntohs(th->dest);
	p->is_tcp = 1;
	p->seq = bpf_ntohl(th->seq);
	p->payload = l4_len > hlen ? (__u32)(l4_len - hlen) : 0;
	p->tcp_flags = (th->syn ? 1 : 0) | (th->fin ? 2 : 0);
	c->off += hlen;
	return IPPROTO_NONE;
}

static __always_inline int ms_parse_udp(struct ms_cursor *c, __u16 *sport, __u16 *dport)
{
	struct udphdr *uh = ms_cursor_header(c, sizeof(*uh));

	if (!uh)
		return MS_PARSE_FAIL;
	*sport = bpf_ntohs(uh->source);
	*dport = bpf_ntohs(uh->dest);
	c->off += sizeof(*uh);
	return IPPROTO_NONE;
}

/* What ms_parse found. Only MS_PARSED packets have a flow; every packet counts its bytes. */
enum ms_parse_result {
	MS_NOT_IP,      /* neither IPv4 nor IPv6 */
	MS_NOT_PARSED,  /* the IP header is out of reach or malformed (ms_stats.not_parsed) */
	MS_PARSED,      /* addresses known; ports too unless a later header was cut off */
};

/* Compares (a, pa) with (b, pb); negative when a sorts first. */
static __always_inline int ms_cmp_endpoint(const __u32 *a, __u16 pa, const __u32 *b, __u16 pb)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return 0;
}

static __always_inline void ms_canonicalize(struct ms_pkt *p, const __u32 *src, __u16 sport,
					    const __u32 *dst, __u16 dport)
{
	if (ms_cmp_endpoint(src, sport, dst, dport) <= 0) {
		__builtin_memcpy(p->key.addr_lo, src, 16);
		__builtin_memcpy(p->key.addr_hi, dst, 16);
		p->key.port_lo = sport;
		p->key.port_hi = dport;
		p->dir = 0;
	} else {
		__builtin_memcpy(p->key.addr_lo, dst, 16);
		__builtin_memcpy(p->key.addr_hi, src, 16);
		p->key.port_lo = dport;
		p->key.port_hi = sport;
		p->dir = 1;
	}
}

/*
 * TCP or UDP after the IP header (and IPv6's extension headers): ports, and for TCP its sequence
 * fields. A header cut off counts in ms_stats.not_parsed; the flow is then keyed without ports.
 */
static __always_inline void ms_parse_l4(struct ms_cursor *c, struct ms_pkt *p, int next, __u64 ip_end,
					__u16 *sport, __u16 *dport)
{
	if (next == IPPROTO_TCP && c->off < ip_end)
		next = ms_parse_tcp(c, p, ip_end, sport, dport);
	else if (next == IPPROTO_UDP && c->off < ip_end)
		next = ms_parse_udp(c, sport, dport);
	if (next == MS_PARSE_FAIL)
		ms_stat_not_parsed();
	p->hdr_len = c->off;
}

/* IPv4 after Ethernet: the 16-byte canonical key straight from the header words, no wide key. */
static __always_inline enum ms_parse_result ms_parse_v4(struct ms_cursor *c, struct ms_pkt *p, bool ingress,
							__u64 frame_len)
{
	__u32 src = 0, dst = 0;
	__u16 sport = 0, dport = 0;
	__u64 ip_end = 0;
	int next = ms_parse_ipv4(c, p, &src, &dst, frame_len, &ip_end);

	if (next == MS_PARSE_FAIL) {
		ms_stat_not_parsed();
		return MS_NOT_PARSED;
	}
	ms_parse_l4(c, p, next, ip_end, &sport, &dport);

	/* The order ms_canonicalize gives a wide key, compared on one word per address. */
	bool src_first = src < dst || (src == dst && sport <= dport);

	p->key4.addr_lo = src_first ? src : dst;
	p->key4.addr_hi = src_first ? dst : src;
	p->key4.port_lo = src_first ? sport : dport;
	p->key4.port_hi = src_first ? dport : sport;
	p->key4.proto = p->key.proto;
	p->key4.pad[0] = 0;
	p->key4.pad[1] = 0;
	p->key4.pad[2] = 0;
	p->dir = src_first ? 0 : 1;
	p->remote[0] = ingress ? src : dst;
	return MS_PARSED;
}

/* IPv6 after Ethernet: the extension headers, then the 40-byte canonical key. */
static __always_inline enum ms_parse_result ms_parse_v6(struct ms_cursor *c, struct ms_pkt *p, bool ingress,
							__u64 frame_len)
{
	__u32 src[4] = {}, dst[4] = {};
	__u16 sport = 0, dport = 0;
	__u64 ip_end = 0;
	int next = ms_parse_ipv6(c, p, src, dst, frame_len, &ip_end);

	if (next == MS_PARSE_FAIL) {
		ms_stat_not_parsed();
		return MS_NOT_PARSED;
	}
	next = ms_skip_ipv6_ext(c, next, &p->key.proto);
	ms_parse_l4(c, p, next, ip_end, &sport, &dport);
	p->key.pad[0] = 0;
	p->key.pad[1] = 0;
	__builtin_memcpy(p->remote, ingress ? src : dst, 16);
	ms_canonicalize(p, src, sport, dst, dport);
	return MS_PARSED;
}

/*
 * Parses Ethernet (one VLAN tag at most), IPv4 or IPv6 with its extension headers, and TCP or
 * UDP. Once the IP header is read the packet has its flow: when a later header (an IPv6
 * extension header, TCP, UDP) is cut off, the flow is keyed on the addresses and the last
 * protocol known, without ports, and ms_stats.not_parsed counts it.
 */
static __always_inline enum ms_parse_result ms_parse(struct __sk_buff *skb, bool ingress, struct ms_pkt *p)
{
	struct ms_cursor c = {
		.data = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	int eth_proto = ms_parse_eth(&c);

	p->is_tcp = 0;
	if (eth_proto == bpf_htons(ETH_P_IP))
		return ms_parse_v4(&c, p, ingress, skb->len);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return ms_parse_v6(&c, p, ingress, skb->len);
	return MS_NOT_IP;
}

/* A 64-bit mix of the canonical key, for the flow's sketch bit. */
static __always_inline __u32 ms_flow_hash(const struct ms_flow_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u64 h = 0x9e3779b97f4a7c15ULL;

#pragma unroll
	for (int i = 0; i < sizeof(*k) / 4; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return (__u32)h;
}

/* Region from the override list, looked up on the peer's address. */
static __always_inline int ms_prefix_region(const struct ms_pkt *p, __u32 *region)
{
	struct ms_prefix_key pk = { .prefixlen = 128 };
	struct ms_prefix_value *v;

	if (p->key.family == 4) {
		pk.addr[10] = 0xff;
		pk.addr[11] = 0xff;
		__builtin_memcpy(&pk.addr[12], &p->remote[0], 4);
	} else {
		__builtin_memcpy(pk.addr, p->remote, 16);
	}
	v = bpf_map_lookup_elem(&ms_prefixes, &pk);
	if (!v)
		return 0;
	*region = v->region;
	return 1;
}

static __always_inline void ms_classify_prefix(struct ms_flow *f, const struct ms_pkt *p,
					       const struct ms_config *cfg)
{
	__u32 region;

	f->prefix_gen = cfg->prefix_gen;
	if (ms_prefix_region(p, &region)) {
		f->region = region;
		f->region_src = MS_REGION_SRC_PREFIX;
	} else if (f->region_src == MS_REGION_SRC_PREFIX) {
		f->region = MS_REGION_LOCAL;
		f->region_src = MS_REGION_SRC_NONE;
	}
}

/* The flow's entry: IPv4 flows in ms_flows4 under the short key, IPv6 in ms_flows. */
static __always_inline struct ms_flow *ms_flow_lookup(const struct ms_pkt *p, const struct ms_flow_key4 *k4)
{
	if (p->key.family == 4)
		return bpf_map_lookup_elem(&ms_flows4, k4);
	return bpf_map_lookup_elem(&ms_flows, &p->key);
}

static __always_inline struct ms_flow *ms_flow_get(struct ms_pkt *p, const struct ms_config *cfg)
{
	const struct ms_flow_key4 *k4 = &p->key4;
	struct ms_flow *f = ms_flow_lookup(p, k4);

	if (f) {
		if (f->prefix_gen != cfg->prefix_gen)
			ms_classify_prefix(f, p, cfg);
		return f;
	}

	struct ms_flow nf = {};

	/*
	 * The sketch bit comes from the full canonical key whatever table holds the flow: an IPv4
	 * flow's is its short key widened (the other address words are zero), built only here.
	 */
	if (p->key.family == 4) {
		struct ms_flow_key wide = {
			.addr_lo = { k4->addr_lo },
			.addr_hi = { k4->addr_hi },
			.port_lo = k4->port_lo,
			.port_hi = k4->port_hi,
			.family = 4,
			.proto = k4->proto,
		};

		nf.sketch_bit = ms_flow_hash(&wide) & (MS_SKETCH_BITS - 1);
	} else {
		nf.sketch_bit = ms_flow_hash(&p->key) & (MS_SKETCH_BITS - 1);
	}
	nf.prefix_gen = cfg->prefix_gen;
	__u32 region;

	if (ms_prefix_region(p, &region)) {
		nf.region = region;
		nf.region_src = MS_REGION_SRC_PREFIX;
	}
	long err = p->key.family == 4 ? bpf_map_update_elem(&ms_flows4, k4, &nf, BPF_NOEXIST)
				      : bpf_map_update_elem(&ms_flows, &p->key, &nf, BPF_NOEXIST);

	f = ms_flow_lookup(p, k4);
	if (err && !f) {
		__u32 k = ms_zero_key();
		struct ms_stats *s = bpf_map_lookup_elem(&ms_stats, &k);

		if (s)
			s->flow_insert_fail++;
	}
	return f;
}

/* Refreshes a flow's class from the sending socket's smoothed RTT (egress only). */
static __always_inline void ms_classify_rtt(struct __sk_buff *skb, struct ms_flow *f,
					    const struct ms_config *cfg, __u64 now)
{
	if (f->region_src == MS_REGION_SRC_PREFIX)
		return;
	if (f->region_src == MS_REGION_SRC_RTT && now - f->rtt_checked_ns < MS_RTT_REFRESH_NS)
		return;

	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);

	if (!tp || !tp->srtt_us)
		return;
	f->rtt_checked_ns = now;
	/* srtt_us holds the smoothed RTT in microseconds, shifted left by 3. */
	f->region = (tp->srtt_us >> 3) > cfg->rtt_threshold_us ? MS_REGION_REMOTE : MS_REGION_LOCAL;
	f->region_src = MS_REGION_SRC_RTT;
}

/*
 * Sequence tracking: a TCP segment carrying payload that starts below the highest sequence end
 * already seen in its direction repeats data, so its overlapping payload is counted as
 * retransmitted. On ingress an IPv4 segment can also be a late original overtaken on the way
 * (reordering): Linux and most stacks number a connection's packets from a counter, so a late
 * original carries an older IP ID than the newest seen while a retransmission carries a newer
 * one. IPv6 has no such number; there reordering counts as retransmission (docs/sampler.md).
 * Returns the retransmitted payload bytes.
 */
static __always_inline __u32 ms_track_seq(struct ms_flow *f, const struct ms_pkt *p, bool ingress, __u32 segs)
{
	__u32 d = p->dir & 1;
	__u32 end = p->seq + p->payload + (p->tcp_flags & 1) + ((p->tcp_flags >> 1) & 1);
	__u16 id_last = p->ip_id + (__u16)(segs - 1);
	bool v4 = p->key.family == 4;
	__u32 rx = 0;

	if (f->seq_valid[d]) {
		__u32 seen = f->seq_end[d];

		if (p->payload && (__s32)(p->seq - seen) < 0) {
			bool late_original = ingress && v4 && (__s16)(p->ip_id - f->ip_id_max[d]) < 0;

			if (!late_original) {
				__u32 overlap = seen - p->seq;

				rx = overlap < p->payload ? overlap : p->payload;
			}
		}
		if ((__s32)(end - seen) > 0)
			f->seq_end[d] = end;
		if (v4 && (__s16)(id_last - f->ip_id_max[d]) > 0)
			f->ip_id_max[d] = id_last;
	} else {
		f->seq_end[d] = end;
		f->ip_id_max[d] = id_last;
		f->seq_valid[d] = 1;
	}
	return rx;
}

/* The run's bin for `now`, or NULL (disarmed, before the start, after the last bin). */
static __always_inline struct ms_bin *ms_run_bin(struct ms_config *cfg, __u64 now, __u32 *binp)
{
	__u32 k = ms_zero_key();
	__u64 start = cfg->start_ns;

	if (now < start || cfg->bin_width_ns == 0) {
		struct ms_stats *s = bpf_map_lookup_elem(&ms_stats, &k);

		if (s)
			s->armed_early++;
		return NULL;
	}
	__u32 bin = (now - start) / cfg->bin_width_ns;

	if (bin >= cfg->nbins) {
		struct ms_stats *s = bpf_map_lookup_elem(&ms_stats, &k);

		if (s)
			s->armed_late++;
		return NULL;
	}
	*binp = bin;
	return bpf_map_lookup_elem(&ms_bins, &bin);
}

static __always_inline int ms_handle(struct __sk_buff *skb, bool ingress, bool tai)
{
	__u32 k = ms_zero_key();
	struct ms_config *cfg = bpf_map_lookup_elem(&ms_config, &k);
	/* A load-time constant: with the ring off the verifier removes every ring branch. */
	bool ring = tai && ms_ring.on;

	/* The disarmed path: one inlined array lookup and a load. */
	if (!cfg || (!cfg->armed && !ring))
		return MS_CONTINUE;

	__u64 now = tai ? bpf_ktime_get_tai_ns() : bpf_ktime_get_ns();
	__u32 bin = 0;
	__u64 ring_bin = 0;

	/*
	 * Per-CPU values need no atomics: tc programs run with bottom halves disabled (egress) or
	 * in softirq (ingress), so two of our programs never interleave on one CPU.
	 */
	struct ms_bin *b = cfg->armed ? ms_run_bin(cfg, now, &bin) : NULL;
	struct ms_ring_bin *r = ring ? ms_ring_slot(now, &ring_bin) : NULL;

	if (!b && !r)
		return MS_CONTINUE;

	/*
	 * A GSO/GRO super-packet counts as its segments, and its bytes as the segments' bytes on the
	 * wire: every segment repeats the headers, which the device adds (TSO) or the stack adds
	 * after this hook (software GSO), and which the NIC received (GRO).
	 */
	__u32 segs = skb->gso_size ? (skb->gso_segs ? skb->gso_segs : 1) : 1;
	__u64 len = skb->len;

	struct ms_pkt p;
	bool parsed = MS_STAGES > 1 && ms_parse(skb, ingress, &p) == MS_PARSED;

	if (segs > 1 && parsed)
		len += (__u64)(segs - 1) * p.hdr_len;

	if (ingress) {
		MS_ADD(b, r, in_bytes, len);
		MS_ADD(b, r, in_packets, segs);
	} else {
		MS_ADD(b, r, out_bytes, len);
		MS_ADD(b, r, out_packets, segs);
	}
	if (!parsed) /* stage 1 stops here */
		return MS_CONTINUE;
	if (ingress && p.ce)
		MS_ADD(b, r, in_ce_bytes, len);
	if (MS_STAGES == 2) {
		/* Keeps clang from merging the two NULL tests above into pointer arithmetic the verifier refuses. */
		asm volatile("" ::: "memory");
		return MS_CONTINUE;
	}

	struct ms_flow *f = ms_flow_get(&p, cfg);

	if (!f || MS_STAGES == 3)
		return MS_CONTINUE;

	if (p.is_tcp) {
		__u32 rx = ms_track_seq(f, &p, ingress, segs);

		if (rx) {
			if (ingress)
				MS_ADD(b, r, in_rxmit_bytes, rx);
			else
				MS_ADD(b, r, out_rxmit_bytes, rx);
		}
		if (!ingress)
			ms_classify_rtt(skb, f, cfg, now);
	}
	if (f->region == MS_REGION_REMOTE) {
		if (ingress)
			MS_ADD(b, r, in_xregion_bytes, len);
		else
			MS_ADD(b, r, out_xregion_bytes, len);
	}

	/*
	 * The sketch is shared by all CPUs: test before set, so a flow writes its bit once per bin
	 * and later packets only read the cache line.
	 */
	if (b) {
		struct ms_sketch *sk = bpf_map_lookup_elem(&ms_sketch, &bin);

		if (sk) {
			__u32 bit = f->sketch_bit & (MS_SKETCH_BITS - 1);
			__u64 mask = 1ULL << (bit & 63);
			__u64 *word = ingress ? &sk->in[bit >> 6] : &sk->out[bit >> 6];

			if (!(*word & mask))
				__sync_fetch_and_or(word, mask);
		}
	}
	if (r)
		ms_ring_sketch_set(ring_bin, f->sketch_bit, ingress);
	return MS_CONTINUE;
}

SEC("tc")
int ms_ingress(struct __sk_buff *skb) { return ms_handle(skb, true, true); }

SEC("tc")
int ms_egress(struct __sk_buff *skb) { return ms_handle(skb, false, true); }

/* The same programs reading CLOCK_MONOTONIC, for kernels without bpf_ktime_get_tai_ns (< 6.1). */
SEC("tc")
int ms_ingress_mono(struct __sk_buff *skb) { return ms_handle(skb, true, false); }

SEC("tc")
int ms_egress_mono(struct __sk_buff *skb) { return ms_handle(skb, false, false); }

/* An empty program, attached nowhere: the baseline that benchmarks subtract. */
SEC("tc")
int ms_empty(struct __sk_buff *skb) { return MS_CONTINUE; }
