// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test fixture, not product code: a marking element for the CE test. On egress it sets ECN CE
 * on every UDP packet to ms_marker_port (IPv4 and IPv6) and counts what it marked, so the
 * receiver's sampler can be checked against an independent count.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct marker_counts {
	__u64 v4_bytes;
	__u64 v4_packets;
	__u64 v6_bytes;
	__u64 v6_packets;
};

/* Key 0: the UDP destination port to mark (host order). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ms_marker_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct marker_counts);
} ms_marker_counts SEC(".maps");

SEC("tc")
int ms_test_ce_marker(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u32 *port = bpf_map_lookup_elem(&ms_marker_port, &k);
	struct marker_counts *c = bpf_map_lookup_elem(&ms_marker_counts, &k);

	if (!port || !c || !*port)
		return TC_ACT_UNSPEC;
	if (bpf_skb_pull_data(skb, 14 + 40 + 8))
		return TC_ACT_UNSPEC;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_UNSPEC;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_UDP)
			return TC_ACT_UNSPEC;
		struct udphdr *uh = (void *)(iph + 1);

		if ((void *)(uh + 1) > data_end || bpf_ntohs(uh->dest) != *port)
			return TC_ACT_UNSPEC;
		__u8 old_tos = iph->tos;
		__u8 new_tos = old_tos | 3;

		if (old_tos != new_tos) {
			__u16 old_word = bpf_htons(((__u16)iph->version << 12) | ((__u16)iph->ihl << 8) | old_tos);
			__u16 new_word = bpf_htons(((__u16)iph->version << 12) | ((__u16)iph->ihl << 8) | new_tos);

			bpf_l3_csum_replace(skb, 14 + offsetof(struct iphdr, check), old_word, new_word, 2);
			bpf_skb_store_bytes(skb, 14 + offsetof(struct iphdr, tos), &new_tos, 1, 0);
		}
		c->v4_bytes += skb->len;
		c->v4_packets++;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return TC_ACT_UNSPEC;
		struct udphdr *uh = (void *)(ip6 + 1);

		if ((void *)(uh + 1) > data_end || bpf_ntohs(uh->dest) != *port)
			return TC_ACT_UNSPEC;
		/* The traffic class straddles the first two bytes; ECN is bits 4-5 of byte 1. */
		__u8 b1 = ((__u8 *)ip6)[1] | 0x30;

		bpf_skb_store_bytes(skb, 14 + 1, &b1, 1, 0);
		c->v6_bytes += skb->len;
		c->v6_packets++;
	}
	return TC_ACT_UNSPEC;
}
