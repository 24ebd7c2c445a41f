/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by the kernel program and the agent. Every struct here is mirrored in
 * src/Agent/Bpf/Native/SharedTypes.cs with [StructLayout(LayoutKind.Sequential)], and so is every
 * constant below. LoaderTests checks the sizes the loaded object reports; SharedLayoutTests compiles
 * this header and checks every field offset and constant against the C# side.
 */
#ifndef MILLISAMPLER_H
#define MILLISAMPLER_H

#include <linux/types.h>


/* Connection sketch: bits per direction per bin (linear counting, see docs/sampler.md). */
#define MS_SKETCH_WORDS 64
#define MS_SKETCH_BITS (MS_SKETCH_WORDS * 64)

/* Cross-region classes of a flow. */
#define MS_REGION_LOCAL 0
#define MS_REGION_REMOTE 1

/* Where a flow's class came from. */
#define MS_REGION_SRC_NONE 0
#define MS_REGION_SRC_RTT 1
#define MS_REGION_SRC_PREFIX 2

/* Written by the agent to arm or disarm a run; read by every packet. */
struct ms_config {
	__u64 start_ns;         /* start of bin 0 on the clock the program reads */
	__u64 bin_width_ns;     /* > 0 whenever armed */
	__u32 nbins;            /* bins in this run, <= max_entries of ms_bins */
	__u32 armed;            /* 0: count nothing */
	__u32 rtt_threshold_us; /* flows with a smoothed RTT above this are cross-region */
	__u32 prefix_gen;       /* bumped when ms_prefixes changes, so cached classes are redone */
};

/* Counters of one bin on one CPU. */
struct ms_bin {
	__u64 in_bytes;
	__u64 out_bytes;
	__u64 in_packets;
	__u64 out_packets;
	__u64 in_ce_bytes;
	__u64 in_rxmit_bytes;   /* TCP payload bytes below the highest sequence seen */
	__u64 out_rxmit_bytes;
	__u64 in_xregion_bytes;
	__u64 out_xregion_bytes;
};

/* Distinct-flow bitmaps of one bin, shared by all CPUs. */
struct ms_sketch {
	__u64 in[MS_SKETCH_WORDS];
	__u64 out[MS_SKETCH_WORDS];
};

/*
 * A flow in canonical order (the lower address/port pair first), so both directions of a
 * connection find the same entry. IPv4 addresses sit in word 0, the other words are zero.
 */
struct ms_flow_key {
	__u32 addr_lo[4];
	__u32 addr_hi[4];
	__u16 port_lo;
	__u16 port_hi;
	__u8 family;  /* 4 or 6 */
	__u8 proto;   /* IPPROTO_* */
	__u8 pad[2];
};

/*
 * The key of an IPv4 flow (canonical order, as ms_flow_key): 16 bytes, so the flow table's hash
 * of it reads 4 words, not 10. IPv6 flows keep ms_flow_key.
 */
struct ms_flow_key4 {
	__u32 addr_lo;
	__u32 addr_hi;
	__u16 port_lo;
	__u16 port_hi;
	__u8 proto;   /* IPPROTO_* */
	__u8 pad[3];
};

/* Per-flow state: retransmission tracking and the region class, one lookup per packet. */
struct ms_flow {
	__u32 seq_end[2];       /* highest sequence end seen, per direction (0: lo->hi, 1: hi->lo) */
	__u32 sketch_bit;       /* this flow's bit in the sketches */
	__u32 prefix_gen;       /* ms_config.prefix_gen when the class was decided */
	__u64 rtt_checked_ns;   /* last time the class was refreshed from the socket's RTT */
	__u8 seq_valid[2];
	__u8 region;            /* MS_REGION_* */
	__u8 region_src;        /* MS_REGION_SRC_* */
	__u16 ip_id_max[2];     /* newest IPv4 ID seen per direction (ingress reordering test) */
};

/* Longest-prefix-match key for the region override list; IPv4 as ::ffff:a.b.c.d. */
struct ms_prefix_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct ms_prefix_value {
	__u32 region; /* MS_REGION_* */
};

/*
 * Look-back ring (docs/sampler.md, "Look-back ring"): the newest `depth` bins of one width on
 * the absolute TAI grid, bin n covering [n*width, (n+1)*width). Load-time constants, set by
 * the agent in .rodata before load: with on == 0 the verifier drops the ring code entirely.
 */
struct ms_ring_params {
	__u64 width_ns;  /* > 0 */
	__u32 depth;     /* slots per CPU, a power of two */
	__u32 on;        /* 0: no ring (the maps keep one entry) */
};

/*
 * One ring slot of one CPU. ms_ring_bins holds depth slots per CPU, CPU c's slice at
 * [c*depth, (c+1)*depth): a CPU writes only its own slice. 32-bit counters keep the ring in
 * budget: 2^32 bytes in one 1 ms bin on one CPU is 34 Tbit/s.
 */
struct ms_ring_bin {
	__u64 bin;              /* absolute bin these counters belong to; other values: stale */
	__u32 in_bytes;
	__u32 out_bytes;
	__u32 in_packets;
	__u32 out_packets;
	__u32 in_ce_bytes;
	__u32 in_rxmit_bytes;
	__u32 out_rxmit_bytes;
	__u32 in_xregion_bytes;
	__u32 out_xregion_bytes;
	__u32 pad;
};

/* One ring slot's distinct-flow bitmaps, shared by all CPUs (depth slots). */
struct ms_ring_sketch {
	__u64 bin;              /* absolute bin the bitmaps belong to */
	__u64 in[MS_SKETCH_WORDS];
	__u64 out[MS_SKETCH_WORDS];
};

/* Per-CPU diagnostics. */
struct ms_stats {
	__u64 armed_early;      /* packets while armed but before the start instant */
	__u64 armed_late;       /* packets while armed but after the last bin */
	__u64 not_parsed;       /* IP packets with a header cut off (not in the linear area) or malformed */
	__u64 flow_insert_fail; /* flow table insert failures */
};

#endif
