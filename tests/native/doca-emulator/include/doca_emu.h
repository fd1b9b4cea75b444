/*
 * Offload DOCA Flow emulator: our own declarations of the DOCA Flow calls the project uses.
 *
 * Written from the facts in shared/spec/doca-notes.md (function names, argument order, enum
 * values); nothing here is taken from NVIDIA's headers. Scalar/handle calls follow the real
 * signatures so the C# binding can P/Invoke them unchanged. The structs passed by pointer
 * (match, actions, monitor, fwd, CT) have layouts of our own: in a real DOCA install they are
 * reached only through src/Offload.Doca/native (the shim), never from C#.
 *
 * Generation: the same header serves both API generations. Build the library with
 * -DDOCA_EMU_GEN_B for Gen B (3.3+: doca_flow_pipe_basic_add_entry, flags NO_WAIT=1,
 * WAIT_FOR_BATCH=2); without it the library is Gen A (doca_flow_pipe_add_entry, flags 0/1).
 */
#ifndef OFFLOAD_DOCA_EMU_H
#define OFFLOAD_DOCA_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOCA_EMU_EXPORT __attribute__((visibility("default")))

/* ---- libdoca_common ---------------------------------------------------------------------- */

typedef enum doca_error {
	DOCA_SUCCESS = 0,
	DOCA_ERROR_UNKNOWN = 1,
	DOCA_ERROR_NOT_PERMITTED = 2,
	DOCA_ERROR_IN_USE = 3,
	DOCA_ERROR_NOT_SUPPORTED = 4,
	DOCA_ERROR_AGAIN = 5,
	DOCA_ERROR_INVALID_VALUE = 6,
	DOCA_ERROR_NO_MEMORY = 7,
	DOCA_ERROR_INITIALIZATION = 8,
	DOCA_ERROR_TIME_OUT = 9,
	DOCA_ERROR_SHUTDOWN = 10,
	DOCA_ERROR_CONNECTION_RESET = 11,
	DOCA_ERROR_CONNECTION_ABORTED = 12,
	DOCA_ERROR_CONNECTION_INPROGRESS = 13,
	DOCA_ERROR_NOT_CONNECTED = 14,
	DOCA_ERROR_NO_LOCK = 15,
	DOCA_ERROR_NOT_FOUND = 16,
	DOCA_ERROR_IO_FAILED = 17,
	DOCA_ERROR_BAD_STATE = 18,
	DOCA_ERROR_UNSUPPORTED_VERSION = 19,
	DOCA_ERROR_OPERATING_SYSTEM = 20,
	DOCA_ERROR_DRIVER = 21,
	DOCA_ERROR_UNEXPECTED = 22,
	DOCA_ERROR_ALREADY_EXIST = 23,
	DOCA_ERROR_FULL = 24,
	DOCA_ERROR_EMPTY = 25,
	DOCA_ERROR_IN_PROGRESS = 26,
	DOCA_ERROR_TOO_BIG = 27,
	DOCA_ERROR_AUTHENTICATION = 28,
	DOCA_ERROR_BAD_CONFIG = 29,
	DOCA_ERROR_SKIPPED = 30,
	DOCA_ERROR_DEVICE_FATAL_ERROR = 31,
} doca_error_t;

DOCA_EMU_EXPORT const char *doca_error_get_name(doca_error_t error);
DOCA_EMU_EXPORT const char *doca_error_get_descr(doca_error_t error);
DOCA_EMU_EXPORT const char *doca_version_runtime(void);

/* ---- opaque handles ---------------------------------------------------------------------- */

struct doca_dev;
struct doca_flow_cfg;
struct doca_flow_port_cfg;
struct doca_flow_port;
struct doca_flow_pipe_cfg;
struct doca_flow_pipe;
struct doca_flow_pipe_entry;
struct doca_flow_ct_cfg;
struct doca_flow_action_descs; /* accepted and ignored by the emulator */

/* ---- enums with published values --------------------------------------------------------- */

enum doca_flow_entry_op {
	DOCA_FLOW_ENTRY_OP_ADD = 0,
	DOCA_FLOW_ENTRY_OP_DEL = 1,
	DOCA_FLOW_ENTRY_OP_UPD = 2,
	DOCA_FLOW_ENTRY_OP_AGED = 3,
};

enum doca_flow_entry_status {
	DOCA_FLOW_ENTRY_STATUS_IN_PROCESS = 0,
	DOCA_FLOW_ENTRY_STATUS_SUCCESS = 1,
	DOCA_FLOW_ENTRY_STATUS_ERROR = 2,
};

enum doca_flow_pipe_type {
	DOCA_FLOW_PIPE_BASIC = 0,
	DOCA_FLOW_PIPE_CONTROL = 1,
	DOCA_FLOW_PIPE_LPM = 2,
	DOCA_FLOW_PIPE_CT = 3,
	DOCA_FLOW_PIPE_ACL = 4,
	DOCA_FLOW_PIPE_ORDERED_LIST = 5,
	DOCA_FLOW_PIPE_HASH = 6,
};

/* Flag values changed between generations: callers map by generation, never by number. */
#define DOCA_EMU_GEN_A_NO_WAIT 0u
#define DOCA_EMU_GEN_A_WAIT_FOR_BATCH 1u
#define DOCA_EMU_GEN_B_NO_WAIT 1u
#define DOCA_EMU_GEN_B_WAIT_FOR_BATCH 2u

typedef void (*doca_flow_entry_process_cb)(struct doca_flow_pipe_entry *entry, uint16_t pipe_queue,
					   enum doca_flow_entry_status status, enum doca_flow_entry_op op,
					   void *user_ctx);

/* ---- emulator struct layouts (ours) ------------------------------------------------------ */

/* Which fields a pipe matches on (set in the pipe's match template or mask). */
#define DOCA_EMU_MATCH_SRC_IP (1u << 0)
#define DOCA_EMU_MATCH_DST_IP (1u << 1)
#define DOCA_EMU_MATCH_SRC_PORT (1u << 2)
#define DOCA_EMU_MATCH_DST_PORT (1u << 3)
#define DOCA_EMU_MATCH_L4_PROTO (1u << 4)
#define DOCA_EMU_MATCH_VNI (1u << 5)
#define DOCA_EMU_MATCH_5TUPLE 0x1fu

/*
 * A flow's tuple. For a VXLAN/GRE packet the tuple is the inner one and vni the tunnel's VNI
 * (GRE: key); for a plain packet vni is 0. Ports in host order; ICMP echo: src_port = identifier,
 * dst_port = (type << 8) | code. IPv4 addresses occupy the first four bytes (network order).
 */
struct doca_flow_match {
	uint32_t fields;    /* DOCA_EMU_MATCH_*; read from a pipe's template/mask only */
	uint8_t ip_version; /* 4 or 6 */
	uint8_t l4_proto;
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t reserved;
	uint32_t vni;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
};

#define DOCA_EMU_ACTION_DECAP (1u << 0)
#define DOCA_EMU_ACTION_SET_SRC_IP (1u << 1)
#define DOCA_EMU_ACTION_SET_DST_IP (1u << 2)
#define DOCA_EMU_ACTION_SET_SRC_PORT (1u << 3)
#define DOCA_EMU_ACTION_SET_DST_PORT (1u << 4)
#define DOCA_EMU_ACTION_SET_SRC_MAC (1u << 5)
#define DOCA_EMU_ACTION_SET_DST_MAC (1u << 6)
#define DOCA_EMU_ACTION_ENCAP (1u << 7)
/*
 * IPv4 TTL / IPv6 hop limit minus one, after NAT and before encap (so a tunnelled flow's inner
 * packet is the one decremented). A packet whose TTL is 0 or 1 is dropped and counted under
 * EMU_DROP_TTL_EXCEEDED, as Offload's software path does. Real DOCA Flow has no such flag in the
 * generations we target: see src/Offload.Doca/native/offload_doca_shim.c ("TTL decrement").
 */
#define DOCA_EMU_ACTION_DEC_TTL (1u << 8)

enum doca_emu_tunnel {
	DOCA_EMU_TUNNEL_NONE = 0,
	DOCA_EMU_TUNNEL_VXLAN = 1,
	DOCA_EMU_TUNNEL_GRE = 2,
};

struct doca_emu_encap {
	uint8_t tunnel;     /* enum doca_emu_tunnel */
	uint8_t ip_version; /* of the outer header: 4 or 6 */
	uint8_t ttl;        /* 0 = 64 */
	uint8_t reserved;
	uint32_t vni;
	uint16_t udp_src_port; /* VXLAN; 0 = derived from the inner tuple's hash */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint8_t reserved2[2];
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
};

/* Applied in this order: decap, NAT/MAC rewrites, TTL decrement, encap. */
struct doca_flow_actions {
	uint8_t action_idx; /* Gen A only: the pipe's action template; Gen B passes it as an argument */
	uint8_t reserved[3];
	uint32_t flags; /* DOCA_EMU_ACTION_* */
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	struct doca_emu_encap encap;
};

#define DOCA_EMU_MONITOR_COUNT (1u << 0)
#define DOCA_EMU_MONITOR_AGING (1u << 1)

struct doca_flow_monitor {
	uint32_t flags;     /* DOCA_EMU_MONITOR_* */
	uint32_t aging_sec; /* idle seconds before AGED is reported */
};

enum doca_flow_fwd_type {
	DOCA_FLOW_FWD_NONE = 0, /* to software: the packet injection reports MISS */
	DOCA_FLOW_FWD_RSS = 1,  /* to host queues: also MISS in the emulator */
	DOCA_FLOW_FWD_PORT = 2,
	DOCA_FLOW_FWD_PIPE = 3,
	DOCA_FLOW_FWD_DROP = 4,
};

struct doca_flow_fwd {
	uint32_t type; /* enum doca_flow_fwd_type */
	uint16_t port_id;
	uint16_t reserved;
	struct doca_flow_pipe *next_pipe;
};

/* Counter read-back; total_bytes first, as in the real query union's counter member. */
struct doca_flow_resource_query {
	uint64_t total_bytes;
	uint64_t total_pkts;
};

/* ---- libdoca_flow: global configuration --------------------------------------------------- */

DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_create(struct doca_flow_cfg **cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_destroy(struct doca_flow_cfg *cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_set_pipe_queues(struct doca_flow_cfg *cfg, uint16_t pipe_queues);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_set_nr_counters(struct doca_flow_cfg *cfg, uint32_t nr_counters);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_set_queue_depth(struct doca_flow_cfg *cfg, uint32_t queue_depth);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_set_mode_args(struct doca_flow_cfg *cfg, const char *mode_args);
DOCA_EMU_EXPORT doca_error_t doca_flow_cfg_set_cb_entry_process(struct doca_flow_cfg *cfg,
								 doca_flow_entry_process_cb cb);
DOCA_EMU_EXPORT doca_error_t doca_flow_init(const struct doca_flow_cfg *cfg);
DOCA_EMU_EXPORT void doca_flow_destroy(void);

/* ---- ports -------------------------------------------------------------------------------- */

DOCA_EMU_EXPORT doca_error_t doca_flow_port_cfg_create(struct doca_flow_port_cfg **cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_cfg_destroy(struct doca_flow_port_cfg *cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_cfg_set_devargs(struct doca_flow_port_cfg *cfg, const char *devargs);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_cfg_set_port_id(struct doca_flow_port_cfg *cfg, uint16_t port_id);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_cfg_set_dev(struct doca_flow_port_cfg *cfg, struct doca_dev *dev);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_start(const struct doca_flow_port_cfg *cfg, struct doca_flow_port **port);
DOCA_EMU_EXPORT doca_error_t doca_flow_port_stop(struct doca_flow_port *port);

/* ---- pipes -------------------------------------------------------------------------------- */

DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_create(struct doca_flow_pipe_cfg **cfg, struct doca_flow_port *port);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_destroy(struct doca_flow_pipe_cfg *cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_name(struct doca_flow_pipe_cfg *cfg, const char *name);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_type(struct doca_flow_pipe_cfg *cfg, enum doca_flow_pipe_type type);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_is_root(struct doca_flow_pipe_cfg *cfg, bool is_root);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_nr_entries(struct doca_flow_pipe_cfg *cfg, uint32_t nr_entries);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_domain(struct doca_flow_pipe_cfg *cfg, uint32_t domain);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_match(struct doca_flow_pipe_cfg *cfg, const struct doca_flow_match *match,
							  const struct doca_flow_match *match_mask);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_actions(struct doca_flow_pipe_cfg *cfg,
							    struct doca_flow_actions *const *actions,
							    struct doca_flow_actions *const *actions_masks,
							    struct doca_flow_action_descs *const *action_descs,
							    size_t nr_actions);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_cfg_set_monitor(struct doca_flow_pipe_cfg *cfg,
							    const struct doca_flow_monitor *monitor);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_create(const struct doca_flow_pipe_cfg *cfg, const struct doca_flow_fwd *fwd,
						   const struct doca_flow_fwd *fwd_miss, struct doca_flow_pipe **pipe);
DOCA_EMU_EXPORT void doca_flow_pipe_destroy(struct doca_flow_pipe *pipe);

/* ---- entries ------------------------------------------------------------------------------ */

/* Gen A only (the library built without DOCA_EMU_GEN_B exports it). */
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_add_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
						      const struct doca_flow_match *match,
						      const struct doca_flow_actions *actions,
						      const struct doca_flow_monitor *monitor,
						      const struct doca_flow_fwd *fwd, uint32_t flags, void *usr_ctx,
						      struct doca_flow_pipe_entry **entry);
/* Gen B only. */
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_basic_add_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
							    const struct doca_flow_match *match, uint8_t action_idx,
							    const struct doca_flow_actions *actions,
							    const struct doca_flow_monitor *monitor,
							    const struct doca_flow_fwd *fwd, uint32_t flags, void *usr_ctx,
							    struct doca_flow_pipe_entry **entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_update_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
							 const struct doca_flow_actions *actions,
							 const struct doca_flow_monitor *monitor,
							 const struct doca_flow_fwd *fwd, uint32_t flags,
							 struct doca_flow_pipe_entry *entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_pipe_remove_entry(uint16_t pipe_queue, uint32_t flags,
							 struct doca_flow_pipe_entry *entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_entries_process(struct doca_flow_port *port, uint16_t pipe_queue,
						       uint64_t timeout_us, uint32_t max_processed_entries);
DOCA_EMU_EXPORT enum doca_flow_entry_status doca_flow_pipe_entry_get_status(struct doca_flow_pipe_entry *entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_resource_query_entry(struct doca_flow_pipe_entry *entry,
							    struct doca_flow_resource_query *query_stats);
DOCA_EMU_EXPORT int doca_flow_aging_handle(struct doca_flow_port *port, uint16_t queue, uint64_t quota_us,
					   uint64_t max_entries);

/* ---- Flow CT (argument shapes are the emulator's own; see tests/native/README.md) ---------- */

DOCA_EMU_EXPORT doca_error_t doca_flow_ct_cfg_create(struct doca_flow_ct_cfg **cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_cfg_destroy(struct doca_flow_ct_cfg *cfg);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_cfg_set_nr_entries(struct doca_flow_ct_cfg *cfg, uint32_t nr_entries);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_init(const struct doca_flow_ct_cfg *cfg);
DOCA_EMU_EXPORT void doca_flow_ct_destroy(void);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_entry_prepare(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
							const struct doca_flow_match *match_origin, uint32_t hash_origin,
							const struct doca_flow_match *match_reply, uint32_t hash_reply,
							struct doca_flow_pipe_entry **entry, bool *conn_found);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_add_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
						    const struct doca_flow_match *match_origin,
						    const struct doca_flow_match *match_reply,
						    const struct doca_flow_actions *actions_origin,
						    const struct doca_flow_actions *actions_reply,
						    const struct doca_flow_fwd *fwd_origin, const struct doca_flow_fwd *fwd_reply,
						    uint32_t timeout_s, void *usr_ctx, struct doca_flow_pipe_entry *entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_update_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
						       struct doca_flow_pipe_entry *entry,
						       const struct doca_flow_actions *actions_origin,
						       const struct doca_flow_actions *actions_reply,
						       const struct doca_flow_fwd *fwd_origin, const struct doca_flow_fwd *fwd_reply,
						       uint32_t timeout_s);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_rm_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
						   struct doca_flow_pipe_entry *entry);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_query_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
						      struct doca_flow_pipe_entry *entry,
						      struct doca_flow_resource_query *stats_origin,
						      struct doca_flow_resource_query *stats_reply, uint64_t *last_hit_s);
DOCA_EMU_EXPORT doca_error_t doca_flow_ct_entries_process(struct doca_flow_port *port, uint16_t queue,
							  uint32_t min_processed_entries,
							  uint32_t max_processed_entries, uint32_t *processed);

/* ---- emulator controls (not DOCA API; exported by the emulator's libdoca_flow only) -------- */

/* Clears every object, fault and clock setting, as if the library had just been loaded. */
DOCA_EMU_EXPORT void emu_reset(void);
/* 'A' or 'B'. */
DOCA_EMU_EXPORT int emu_generation(void);
/* The clock: real CLOCK_MONOTONIC until emu_set_time_ns is called, then manual. */
DOCA_EMU_EXPORT void emu_set_time_ns(uint64_t now_ns);
DOCA_EMU_EXPORT void emu_advance_time_ns(uint64_t delta_ns);
DOCA_EMU_EXPORT uint64_t emu_get_time_ns(void);
/* Faults. */
DOCA_EMU_EXPORT void emu_fail_next_submits(uint32_t count, doca_error_t code);
DOCA_EMU_EXPORT void emu_set_completion_errors(uint32_t every_nth, uint32_t per_million, uint64_t seed);
DOCA_EMU_EXPORT void emu_set_enforce_pipe_capacity(int enforce);
DOCA_EMU_EXPORT void emu_set_queue_full_error(doca_error_t code);
DOCA_EMU_EXPORT void emu_set_device_fatal(uint16_t port_id, int fatal);
/* Observation. */
DOCA_EMU_EXPORT uint32_t emu_queue_pending(uint16_t port_id, uint16_t queue);
DOCA_EMU_EXPORT uint32_t emu_queue_staged(uint16_t port_id, uint16_t queue);
DOCA_EMU_EXPORT uint32_t emu_live_entries(void);
DOCA_EMU_EXPORT uint32_t emu_violation_count(void);
DOCA_EMU_EXPORT const char *emu_last_violation(void);

/* Why the packet model dropped a packet (emu_drop_count). */
enum emu_drop_reason {
	EMU_DROP_FATE = 0,         /* an entry's or a pipe miss's fate was DROP */
	EMU_DROP_TTL_EXCEEDED = 1, /* DEC_TTL on a packet with TTL / hop limit 0 or 1 */
	EMU_DROP_REASONS = 2,
};
/* Packets dropped for reason since load / emu_reset; 0 for an unknown reason. */
DOCA_EMU_EXPORT uint64_t emu_drop_count(int reason);

enum emu_packet_result {
	EMU_PKT_PORT = 1, /* forwarded: *out_port says where */
	EMU_PKT_DROP = 2,
	EMU_PKT_MISS = 3, /* to software; *out_port = ingress port */
	EMU_PKT_ERR_ARGS = -1,
	EMU_PKT_ERR_DEVICE = -2, /* the port is stopped or its device is fatal */
	EMU_PKT_ERR_LOOP = -3,   /* more than 16 pipe hops */
	EMU_PKT_ERR_SPACE = -4,  /* out_frame too small */
};

/* Walks the port's root pipe and its chain. *out_len: capacity in, length out. */
DOCA_EMU_EXPORT int emu_inject_packet(uint16_t port_id, const uint8_t *frame, uint32_t len, uint8_t *out_frame,
				      uint32_t *out_len, uint16_t *out_port);

#ifdef __cplusplus
}
#endif

#endif
