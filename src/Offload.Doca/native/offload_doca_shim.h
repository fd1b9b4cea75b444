/*
 * Offload's DOCA shim: a flat, versioned ABI over the DOCA Flow calls that pass DOCA's
 * version-dependent structs. C# sees only these structs (fixed layout, no bools, no unions,
 * explicit padding, addresses in network byte order, ports and VNI in host order) and the
 * handles DOCA itself returns (ports, pipes, entries), which it also uses with the scalar DOCA
 * calls it P/Invokes directly.
 *
 * Every function returns a doca_error_t value as int32_t.
 * Change any layout or the meaning of any field => bump OFL_SHIM_ABI_VERSION; the binding refuses a
 * version it does not know and checks ofl_shim_struct_sizes / ofl_shim_struct_offsets against its
 * own definitions.
 *
 * ABI versions:
 *   1  the first.
 *   2  OFL_RW_DEC_TTL (bit 8 of ofl_action.rewrites); no layout change. A version-1 shim rejects
 *      the bit with INVALID_VALUE, so the version is bumped to make a mismatch fail at load time.
 */
#ifndef OFFLOAD_DOCA_SHIM_H
#define OFFLOAD_DOCA_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OFL_SHIM_EXPORT __attribute__((visibility("default")))
#define OFL_SHIM_ABI_VERSION 2u

struct doca_flow_port;
struct doca_flow_pipe;
struct doca_flow_pipe_entry;

/* Which fields a pipe matches on. */
#define OFL_MATCH_SRC_IP (1u << 0)
#define OFL_MATCH_DST_IP (1u << 1)
#define OFL_MATCH_SRC_PORT (1u << 2)
#define OFL_MATCH_DST_PORT (1u << 3)
#define OFL_MATCH_L4_PROTO (1u << 4)
#define OFL_MATCH_VNI (1u << 5)

/* 48 bytes. IPv4 addresses in the first four bytes of the 16. */
struct ofl_tuple {
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t ip_version; /* 4 or 6 */
	uint8_t l4_proto;
	uint16_t reserved0;
	uint32_t vni; /* 0 for a packet outside any tunnel */
	uint32_t reserved1;
};

enum ofl_tunnel { OFL_TUNNEL_NONE = 0, OFL_TUNNEL_VXLAN = 1, OFL_TUNNEL_GRE = 2 };

/* 56 bytes. */
struct ofl_encap {
	uint8_t tunnel;     /* enum ofl_tunnel */
	uint8_t ip_version; /* outer: 4 or 6 */
	uint8_t ttl;        /* 0 = 64 */
	uint8_t reserved0;
	uint32_t vni;
	uint16_t udp_src_port; /* VXLAN; 0 = from the inner tuple's hash */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint16_t reserved1;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
};

/* Where a matched packet goes. */
enum ofl_fate {
	OFL_FATE_PORT = 1,
	OFL_FATE_DROP = 2,
	OFL_FATE_SOFTWARE = 3, /* up to the host: the slow path */
	OFL_FATE_PIPE = 4,
};

/* Header rewrites, applied in this order: decap, NAT and MAC, TTL decrement, encap. */
#define OFL_RW_DECAP (1u << 0)
#define OFL_RW_SRC_IP (1u << 1)
#define OFL_RW_DST_IP (1u << 2)
#define OFL_RW_SRC_PORT (1u << 3)
#define OFL_RW_DST_PORT (1u << 4)
#define OFL_RW_SRC_MAC (1u << 5)
#define OFL_RW_DST_MAC (1u << 6)
#define OFL_RW_ENCAP (1u << 7)
/* IPv4 TTL / IPv6 hop limit minus one on the flow's own (inner, for a tunnel) packet; a packet
 * arriving with 0 or 1 is dropped, never forwarded with 0 (ABI 2). */
#define OFL_RW_DEC_TTL (1u << 8)
#define OFL_RW_ALL 0x1ffu

/* 128 bytes. */
struct ofl_action {
	uint32_t fate;     /* enum ofl_fate */
	uint32_t rewrites; /* OFL_RW_* */
	uint16_t port;     /* OFL_FATE_PORT */
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t reserved0;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint32_t reserved1;
	struct ofl_encap encap;
	uint64_t next_pipe; /* OFL_FATE_PIPE: a doca_flow_pipe handle */
};

#define OFL_MON_COUNT (1u << 0)
#define OFL_MON_AGING (1u << 1)

/* 184 bytes. */
struct ofl_entry_spec {
	struct ofl_tuple match;
	struct ofl_action action;
	uint32_t monitor;   /* OFL_MON_* */
	uint32_t aging_sec; /* idle seconds before AGED, with OFL_MON_AGING */
};

enum ofl_pipe_kind { OFL_PIPE_BASIC = 0, OFL_PIPE_CT = 1 };

/* 64 bytes. */
struct ofl_pipe_spec {
	char name[32];
	uint32_t kind;         /* enum ofl_pipe_kind */
	uint32_t match_fields; /* OFL_MATCH_*; ignored for CT pipes (always the 5-tuple) */
	uint32_t nr_entries;
	uint32_t is_root;
	uint32_t miss_fate; /* enum ofl_fate; 0 = software */
	uint16_t miss_port;
	uint16_t reserved0;
	uint64_t miss_next_pipe;
};

/* 360 bytes: both directions of a connection, NAT expressed as per-direction rewrites. */
struct ofl_ct_spec {
	struct ofl_tuple origin;
	struct ofl_tuple reply;
	struct ofl_action origin_action;
	struct ofl_action reply_action;
	uint32_t timeout_s; /* 0 = never ages */
	uint32_t reserved0;
};

/* 40 bytes. */
struct ofl_ct_stats {
	uint64_t origin_pkts;
	uint64_t origin_bytes;
	uint64_t reply_pkts;
	uint64_t reply_bytes;
	uint64_t last_hit_s;
};

/* Submission flags in our terms; the shim maps them to the loaded generation's values. */
#define OFL_SUBMIT_NO_WAIT 0u
#define OFL_SUBMIT_BATCH 1u

OFL_SHIM_EXPORT uint32_t ofl_shim_abi_version(void);
/* Writes sizeof of: tuple, encap, action, entry_spec, pipe_spec, ct_spec, ct_stats. Returns 7. */
OFL_SHIM_EXPORT int32_t ofl_shim_struct_sizes(uint32_t *sizes, int32_t capacity);
/* Writes the offsets listed in offload_doca_shim.c (offsets_table). Returns how many exist. */
OFL_SHIM_EXPORT int32_t ofl_shim_struct_offsets(uint32_t *offsets, int32_t capacity);
/* 1 = Gen A (doca_flow_pipe_add_entry), 2 = Gen B (doca_flow_pipe_basic_add_entry), 0 = neither. */
OFL_SHIM_EXPORT int32_t ofl_shim_api_generation(void);

/* Entries carry their own fate; a packet no entry matches takes the spec's miss fate. */
OFL_SHIM_EXPORT int32_t ofl_pipe_create(struct doca_flow_port *port, const struct ofl_pipe_spec *spec,
					struct doca_flow_pipe **pipe);
OFL_SHIM_EXPORT int32_t ofl_entry_add(struct doca_flow_pipe *pipe, uint16_t queue, const struct ofl_entry_spec *spec,
				      uint32_t submit_flags, void *usr_ctx, struct doca_flow_pipe_entry **entry);
OFL_SHIM_EXPORT int32_t ofl_entry_update(struct doca_flow_pipe *pipe, uint16_t queue,
					 struct doca_flow_pipe_entry *entry, const struct ofl_entry_spec *spec,
					 uint32_t submit_flags);
OFL_SHIM_EXPORT int32_t ofl_entry_remove(uint16_t queue, struct doca_flow_pipe_entry *entry, uint32_t submit_flags);

OFL_SHIM_EXPORT int32_t ofl_ct_entry_add(struct doca_flow_pipe *pipe, uint16_t queue, const struct ofl_ct_spec *spec,
					 void *usr_ctx, struct doca_flow_pipe_entry **entry);
OFL_SHIM_EXPORT int32_t ofl_ct_entry_update(struct doca_flow_pipe *pipe, uint16_t queue,
					    struct doca_flow_pipe_entry *entry, const struct ofl_ct_spec *spec);
OFL_SHIM_EXPORT int32_t ofl_ct_entry_remove(struct doca_flow_pipe *pipe, uint16_t queue,
					    struct doca_flow_pipe_entry *entry);
OFL_SHIM_EXPORT int32_t ofl_ct_entry_query(struct doca_flow_pipe *pipe, uint16_t queue,
					   struct doca_flow_pipe_entry *entry, struct ofl_ct_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
