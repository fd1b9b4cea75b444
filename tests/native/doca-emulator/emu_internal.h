/* Emulator internals shared by the control-plane (emu_flow.c) and packet (emu_packet.c) halves. */
#ifndef OFFLOAD_DOCA_EMU_INTERNAL_H
#define OFFLOAD_DOCA_EMU_INTERNAL_H

#include "doca_emu.h"

#define EMU_MAX_PORTS 16
#define EMU_MAX_QUEUES 64
#define EMU_MAX_ACTIONS 8
#define EMU_DEFAULT_DEPTH 128
#define EMU_PIPE_MAGIC 0x50495045u
#define EMU_NO_INDEX (-1)

/* The tuple a pipe hashes on, already masked by the pipe's fields. */
struct emu_key {
	uint8_t ip_version;
	uint8_t l4_proto;
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t pad;
	uint32_t vni;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
};

enum emu_dir { EMU_ORIGIN = 0, EMU_REPLY = 1 };

struct emu_entry {
	uint32_t gen; /* bumped on free so stale handles are detected */
	uint8_t live;
	uint8_t is_ct;
	uint8_t status;
	uint8_t installed;    /* matches packets */
	uint8_t del_pending;  /* a DEL was submitted: any further use is a violation */
	uint8_t aged_reported;
	uint8_t ct_prepared;  /* CT: prepared, not yet added */
	uint8_t in_hash;      /* bit per direction */
	uint8_t has_counter;
	uint16_t queue;
	uint32_t pending_ops;
	int32_t next_free;
	int32_t chain[2]; /* hash chain links, encoded index * 2 + dir */
	struct doca_flow_pipe *pipe;
	void *usr_ctx;
	struct emu_key key[2];
	struct doca_flow_actions act[2];
	struct doca_flow_fwd fwd[2];
	struct doca_flow_monitor mon;
	uint32_t timeout_s;
	/* what a queued UPD installs when it completes */
	struct doca_flow_actions upd_act[2];
	struct doca_flow_fwd upd_fwd[2];
	struct doca_flow_monitor upd_mon;
	uint32_t upd_timeout_s;
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint64_t last_hit_ns;
};

struct doca_flow_pipe {
	uint32_t magic;
	uint8_t dead;
	uint8_t is_root;
	uint8_t has_monitor;
	enum doca_flow_pipe_type type;
	struct doca_flow_port *port;
	char name[64];
	uint32_t nr_entries;
	uint32_t fields;
	struct doca_flow_actions actions[EMU_MAX_ACTIONS];
	uint32_t nr_actions;
	struct doca_flow_monitor monitor;
	struct doca_flow_fwd fwd;
	struct doca_flow_fwd fwd_miss;
	uint32_t n_entries;
	int32_t *buckets;
	uint32_t nbuckets;
	uint32_t nlinks;
	struct doca_flow_pipe *next_all;
};

/* Packet half -> control half. */
void emu_lock(void);
void emu_unlock(void);
uint64_t emu_now_ns(void);
struct doca_flow_port *emu_port_by_id(uint16_t port_id);
int emu_port_usable(const struct doca_flow_port *port);
struct doca_flow_pipe *emu_port_root(const struct doca_flow_port *port);
int emu_pipe_alive(const struct doca_flow_pipe *pipe);
/* Finds the installed entry whose key (in either direction for CT) equals key; *dir says which. */
struct emu_entry *emu_lookup(struct doca_flow_pipe *pipe, const struct emu_key *key, int *dir);
void emu_key_from_tuple(const struct doca_flow_match *tuple, uint32_t fields, struct emu_key *key);
void emu_note_violation(const char *what);
/* Control half -> packet half: clears the drop counters (called from emu_reset, under the lock). */
void emu_packet_reset(void);

#endif
