/*
 * libdoca_flow of the emulator: configuration, ports, pipes, the per-(port, queue) operation
 * FIFOs, entries, counters, aging, Flow CT and the fault-injection controls.
 *
 * Every call takes one recursive lock: completion and aging callbacks run inside
 * doca_flow_entries_process / doca_flow_aging_handle on the caller's thread and may submit or
 * remove entries from there, as a real application does.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_internal.h"

#ifdef DOCA_EMU_GEN_B
#define GEN_NO_WAIT DOCA_EMU_GEN_B_NO_WAIT
#define GEN_WAIT_FOR_BATCH DOCA_EMU_GEN_B_WAIT_FOR_BATCH
#define GEN_FATAL DOCA_ERROR_DEVICE_FATAL_ERROR
#define GEN_LETTER 'B'
#else
#define GEN_NO_WAIT DOCA_EMU_GEN_A_NO_WAIT
#define GEN_WAIT_FOR_BATCH DOCA_EMU_GEN_A_WAIT_FOR_BATCH
/* DEVICE_FATAL_ERROR is newer than the Gen A releases; they report a dead device as DRIVER. */
#define GEN_FATAL DOCA_ERROR_DRIVER
#define GEN_LETTER 'A'
#endif

struct doca_flow_cfg {
	uint16_t queues;
	uint32_t nr_counters;
	uint32_t depth;
	doca_flow_entry_process_cb cb;
	char mode[64];
};

struct doca_flow_port_cfg {
	int has_id;
	uint16_t port_id;
	char devargs[128];
	struct doca_dev *dev;
};

struct doca_flow_ct_cfg {
	uint32_t nr_entries;
};

struct doca_flow_pipe_cfg {
	struct doca_flow_port *port;
	char name[64];
	enum doca_flow_pipe_type type;
	uint8_t is_root;
	uint8_t has_monitor;
	uint32_t nr_entries;
	uint32_t fields;
	struct doca_flow_actions actions[EMU_MAX_ACTIONS];
	uint32_t nr_actions;
	struct doca_flow_monitor monitor;
};

enum { OPK_FLOW = 0, OPK_CT = 1 };

struct emu_op {
	int32_t idx;
	uint32_t gen;
	uint8_t op;
};

struct emu_queue {
	struct emu_op *ring;
	uint32_t head;
	uint32_t count;
	uint32_t staged;
	uint32_t aging_cursor;
};

struct doca_flow_port {
	uint16_t id;
	uint8_t started;
	uint8_t fatal;
	struct doca_flow_pipe *root;
	struct emu_queue *q[2]; /* [OPK_FLOW], [OPK_CT]: one ring per queue id */
};

static struct {
	pthread_mutex_t lock;
	int inited;
	int ct_inited;
	int any_port_started;
	struct doca_flow_cfg cfg;
	uint32_t ct_capacity;
	uint32_t ct_in_use;
	uint32_t counters_used;
	struct doca_flow_port ports[EMU_MAX_PORTS];
	struct doca_flow_pipe *pipes;
	struct emu_entry *slots;
	uint32_t nslots;
	uint32_t cap;
	int32_t free_head;
	uint32_t live;
	/* clock */
	int manual_clock;
	uint64_t now_ns;
	/* faults */
	uint32_t fail_submits;
	doca_error_t fail_code;
	uint32_t err_every_nth;
	uint32_t err_per_million;
	uint64_t rng;
	uint64_t completions;
	int enforce_capacity;
	doca_error_t queue_full_code;
	/* observation */
	uint32_t violations;
	char last_violation[160];
} g;

static pthread_once_t lock_once = PTHREAD_ONCE_INIT;

static void init_lock(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&g.lock, &a);
	pthread_mutexattr_destroy(&a);
	g.queue_full_code = DOCA_ERROR_AGAIN;
	g.free_head = EMU_NO_INDEX;
}

void emu_lock(void)
{
	pthread_once(&lock_once, init_lock);
	pthread_mutex_lock(&g.lock);
}

void emu_unlock(void)
{
	pthread_mutex_unlock(&g.lock);
}

#define LOCKED(expr)                                                                                                   \
	do {                                                                                                           \
		emu_lock();                                                                                            \
		__typeof__(expr) r_ = (expr);                                                                          \
		emu_unlock();                                                                                          \
		return r_;                                                                                             \
	} while (0)

uint64_t emu_now_ns(void)
{
	if (g.manual_clock)
		return g.now_ns;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void emu_note_violation(const char *what)
{
	g.violations++;
	snprintf(g.last_violation, sizeof g.last_violation, "%s", what);
}

/* ---- entry slots and handles -------------------------------------------------------------- */

static struct doca_flow_pipe_entry *handle_of(int32_t idx)
{
	uint64_t h = ((uint64_t)g.slots[idx].gen << 32) | (uint64_t)(uint32_t)(idx + 1);
	return (struct doca_flow_pipe_entry *)(uintptr_t)h;
}

/* Handles are (generation, slot) pairs so a freed entry can never be mistaken for a new one. */
static struct emu_entry *entry_of(struct doca_flow_pipe_entry *handle, int32_t *idx_out)
{
	uint64_t h = (uint64_t)(uintptr_t)handle;
	uint32_t idx1 = (uint32_t)h, gen = (uint32_t)(h >> 32);
	if (idx1 == 0 || idx1 > g.nslots)
		return NULL;
	struct emu_entry *e = &g.slots[idx1 - 1];
	if (!e->live || e->gen != gen)
		return NULL;
	if (idx_out)
		*idx_out = (int32_t)(idx1 - 1);
	return e;
}

static int32_t alloc_slot(void)
{
	int32_t idx;
	if (g.free_head != EMU_NO_INDEX) {
		idx = g.free_head;
		g.free_head = g.slots[idx].next_free;
	} else {
		if (g.nslots == g.cap) {
			uint32_t ncap = g.cap ? g.cap * 2 : 1024;
			struct emu_entry *n = realloc(g.slots, (size_t)ncap * sizeof *n);
			if (!n)
				return EMU_NO_INDEX;
			g.slots = n;
			g.cap = ncap;
		}
		idx = (int32_t)g.nslots++;
		g.slots[idx].gen = 0;
	}
	struct emu_entry *e = &g.slots[idx];
	uint32_t gen = e->gen + 1;
	if (gen == 0)
		gen = 1;
	memset(e, 0, sizeof *e);
	e->gen = gen;
	e->live = 1;
	e->chain[0] = e->chain[1] = EMU_NO_INDEX;
	g.live++;
	return idx;
}

/* ---- per-pipe hash of keys ---------------------------------------------------------------- */

static uint32_t key_hash(const struct emu_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof *k; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void emu_key_from_tuple(const struct doca_flow_match *t, uint32_t fields, struct emu_key *k)
{
	memset(k, 0, sizeof *k);
	if (fields & (DOCA_EMU_MATCH_SRC_IP | DOCA_EMU_MATCH_DST_IP))
		k->ip_version = t->ip_version;
	if (fields & DOCA_EMU_MATCH_L4_PROTO)
		k->l4_proto = t->l4_proto;
	if (fields & DOCA_EMU_MATCH_SRC_PORT)
		k->src_port = t->src_port;
	if (fields & DOCA_EMU_MATCH_DST_PORT)
		k->dst_port = t->dst_port;
	if (fields & DOCA_EMU_MATCH_VNI)
		k->vni = t->vni;
	size_t n = t->ip_version == 4 ? 4 : 16;
	if (fields & DOCA_EMU_MATCH_SRC_IP)
		memcpy(k->src_ip, t->src_ip, n);
	if (fields & DOCA_EMU_MATCH_DST_IP)
		memcpy(k->dst_ip, t->dst_ip, n);
}

static void hash_insert(struct doca_flow_pipe *p, int32_t idx, int dir);

static void hash_grow(struct doca_flow_pipe *p)
{
	uint32_t old = p->nbuckets;
	int32_t *ob = p->buckets;
	p->nbuckets = old ? old * 2 : 256;
	p->buckets = malloc(p->nbuckets * sizeof *p->buckets);
	for (uint32_t i = 0; i < p->nbuckets; i++)
		p->buckets[i] = EMU_NO_INDEX;
	p->nlinks = 0;
	for (uint32_t b = 0; b < old; b++) {
		int32_t link = ob[b];
		while (link != EMU_NO_INDEX) {
			struct emu_entry *e = &g.slots[link >> 1];
			int dir = link & 1;
			int32_t next = e->chain[dir];
			hash_insert(p, link >> 1, dir);
			link = next;
		}
	}
	free(ob);
}

static void hash_insert(struct doca_flow_pipe *p, int32_t idx, int dir)
{
	if (p->nlinks + 1 > p->nbuckets)
		hash_grow(p);
	struct emu_entry *e = &g.slots[idx];
	uint32_t b = key_hash(&e->key[dir]) & (p->nbuckets - 1);
	e->chain[dir] = p->buckets[b];
	p->buckets[b] = idx * 2 + dir;
	e->in_hash |= (uint8_t)(1u << dir);
	p->nlinks++;
}

static void hash_remove(struct doca_flow_pipe *p, int32_t idx, int dir)
{
	struct emu_entry *e = &g.slots[idx];
	if (!(e->in_hash & (1u << dir)) || !p->nbuckets)
		return;
	uint32_t b = key_hash(&e->key[dir]) & (p->nbuckets - 1);
	int32_t *link = &p->buckets[b];
	while (*link != EMU_NO_INDEX) {
		if (*link == idx * 2 + dir) {
			*link = e->chain[dir];
			break;
		}
		link = &g.slots[*link >> 1].chain[*link & 1];
	}
	e->in_hash &= (uint8_t)~(1u << dir);
	p->nlinks--;
}

/* Finds a live entry with this key; installed_only skips entries whose ADD has not completed. */
static struct emu_entry *hash_find(struct doca_flow_pipe *p, const struct emu_key *k, int installed_only, int *dir)
{
	if (!p->nbuckets)
		return NULL;
	uint32_t b = key_hash(k) & (p->nbuckets - 1);
	struct emu_entry *fallback = NULL;
	int fdir = 0;
	for (int32_t link = p->buckets[b]; link != EMU_NO_INDEX;) {
		struct emu_entry *e = &g.slots[link >> 1];
		int d = link & 1;
		if (memcmp(&e->key[d], k, sizeof *k) == 0 && (!installed_only || e->installed)) {
			if (!e->del_pending) {
				if (dir)
					*dir = d;
				return e;
			}
			fallback = e;
			fdir = d;
		}
		link = e->chain[d];
	}
	if (fallback && installed_only && dir)
		*dir = fdir;
	return installed_only ? fallback : NULL;
}

struct emu_entry *emu_lookup(struct doca_flow_pipe *pipe, const struct emu_key *key, int *dir)
{
	return hash_find(pipe, key, 1, dir);
}

static void free_entry(int32_t idx)
{
	struct emu_entry *e = &g.slots[idx];
	struct doca_flow_pipe *p = e->pipe;
	for (int d = 0; d < 2; d++)
		hash_remove(p, idx, d);
	if (e->has_counter && g.counters_used)
		g.counters_used--;
	if (e->is_ct && g.ct_in_use)
		g.ct_in_use--;
	if (p->n_entries)
		p->n_entries--;
	e->live = 0;
	e->gen++;
	if (e->gen == 0)
		e->gen = 1;
	e->next_free = g.free_head;
	g.free_head = idx;
	g.live--;
}

/* ---- time, faults, observation ------------------------------------------------------------- */

void emu_set_time_ns(uint64_t now_ns)
{
	emu_lock();
	g.manual_clock = 1;
	g.now_ns = now_ns;
	emu_unlock();
}

void emu_advance_time_ns(uint64_t delta_ns)
{
	emu_lock();
	if (!g.manual_clock) {
		g.now_ns = emu_now_ns();
		g.manual_clock = 1;
	}
	g.now_ns += delta_ns;
	emu_unlock();
}

uint64_t emu_get_time_ns(void)
{
	LOCKED(emu_now_ns());
}

int emu_generation(void)
{
	return GEN_LETTER;
}

void emu_fail_next_submits(uint32_t count, doca_error_t code)
{
	emu_lock();
	g.fail_submits = count;
	g.fail_code = code;
	emu_unlock();
}

void emu_set_completion_errors(uint32_t every_nth, uint32_t per_million, uint64_t seed)
{
	emu_lock();
	g.err_every_nth = every_nth;
	g.err_per_million = per_million;
	g.rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	g.completions = 0;
	emu_unlock();
}

void emu_set_enforce_pipe_capacity(int enforce)
{
	emu_lock();
	g.enforce_capacity = enforce;
	emu_unlock();
}

void emu_set_queue_full_error(doca_error_t code)
{
	emu_lock();
	g.queue_full_code = code;
	emu_unlock();
}

static void flush_port(struct doca_flow_port *port)
{
	for (uint32_t i = 0; i < g.nslots; i++)
		if (g.slots[i].live && g.slots[i].pipe->port == port)
			free_entry((int32_t)i);
	for (int k = 0; k < 2; k++)
		if (port->q[k])
			for (uint16_t q = 0; q < g.cfg.queues; q++) {
				port->q[k][q].count = 0;
				port->q[k][q].staged = 0;
				port->q[k][q].aging_cursor = 0;
			}
}

/* A fatal device loses everything it held; recovery gives back empty pipes. */
void emu_set_device_fatal(uint16_t port_id, int fatal)
{
	emu_lock();
	if (port_id < EMU_MAX_PORTS && g.ports[port_id].started) {
		struct doca_flow_port *port = &g.ports[port_id];
		if (fatal && !port->fatal)
			flush_port(port);
		port->fatal = fatal ? 1 : 0;
	}
	emu_unlock();
}

static struct emu_queue *queue_of(struct doca_flow_port *port, int kind, uint16_t q)
{
	if (!port || !port->started || q >= g.cfg.queues || !port->q[kind])
		return NULL;
	return &port->q[kind][q];
}

uint32_t emu_queue_pending(uint16_t port_id, uint16_t queue)
{
	emu_lock();
	uint32_t n = 0;
	if (port_id < EMU_MAX_PORTS)
		for (int k = 0; k < 2; k++) {
			struct emu_queue *q = queue_of(&g.ports[port_id], k, queue);
			if (q)
				n += q->count;
		}
	emu_unlock();
	return n;
}

uint32_t emu_queue_staged(uint16_t port_id, uint16_t queue)
{
	emu_lock();
	uint32_t n = 0;
	if (port_id < EMU_MAX_PORTS)
		for (int k = 0; k < 2; k++) {
			struct emu_queue *q = queue_of(&g.ports[port_id], k, queue);
			if (q)
				n += q->staged;
		}
	emu_unlock();
	return n;
}

uint32_t emu_live_entries(void)
{
	LOCKED(g.live);
}

uint32_t emu_violation_count(void)
{
	LOCKED(g.violations);
}

const char *emu_last_violation(void)
{
	return g.last_violation;
}

/* ---- global configuration ----------------------------------------------------------------- */

doca_error_t doca_flow_cfg_create(struct doca_flow_cfg **cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	*cfg = calloc(1, sizeof **cfg);
	if (!*cfg)
		return DOCA_ERROR_NO_MEMORY;
	(*cfg)->queues = 1;
	(*cfg)->depth = EMU_DEFAULT_DEPTH;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_destroy(struct doca_flow_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	free(cfg);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_set_pipe_queues(struct doca_flow_cfg *cfg, uint16_t pipe_queues)
{
	if (!cfg || pipe_queues == 0 || pipe_queues > EMU_MAX_QUEUES)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->queues = pipe_queues;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_set_nr_counters(struct doca_flow_cfg *cfg, uint32_t nr_counters)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->nr_counters = nr_counters;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_set_queue_depth(struct doca_flow_cfg *cfg, uint32_t queue_depth)
{
	if (!cfg || queue_depth > 65536)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->depth = queue_depth ? queue_depth : EMU_DEFAULT_DEPTH;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_set_mode_args(struct doca_flow_cfg *cfg, const char *mode_args)
{
	if (!cfg || !mode_args)
		return DOCA_ERROR_INVALID_VALUE;
	snprintf(cfg->mode, sizeof cfg->mode, "%s", mode_args);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_cfg_set_cb_entry_process(struct doca_flow_cfg *cfg, doca_flow_entry_process_cb cb)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->cb = cb;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_init(const struct doca_flow_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (g.inited) {
		emu_note_violation("doca_flow_init called twice");
		rc = DOCA_ERROR_BAD_STATE;
	} else {
		g.cfg = *cfg;
		g.inited = 1;
		g.any_port_started = 0;
	}
	emu_unlock();
	return rc;
}

static void destroy_all(void)
{
	for (int i = 0; i < EMU_MAX_PORTS; i++) {
		struct doca_flow_port *p = &g.ports[i];
		for (int k = 0; k < 2; k++)
			free(p->q[k] ? p->q[k][0].ring : NULL), free(p->q[k]);
		memset(p, 0, sizeof *p);
	}
	while (g.pipes) {
		struct doca_flow_pipe *n = g.pipes->next_all;
		free(g.pipes->buckets);
		free(g.pipes);
		g.pipes = n;
	}
	/* Keep the slot array so generations survive: a handle from before destroy stays stale. */
	for (uint32_t i = 0; i < g.nslots; i++)
		if (g.slots[i].live) {
			g.slots[i].live = 0;
			g.slots[i].gen++;
			g.slots[i].next_free = g.free_head;
			g.free_head = (int32_t)i;
		}
	g.live = 0;
	g.inited = g.ct_inited = g.any_port_started = 0;
	g.ct_capacity = g.ct_in_use = g.counters_used = 0;
}

void doca_flow_destroy(void)
{
	emu_lock();
	if (!g.inited)
		emu_note_violation("doca_flow_destroy without doca_flow_init");
	destroy_all();
	emu_unlock();
}

void emu_reset(void)
{
	emu_lock();
	destroy_all();
	free(g.slots);
	g.slots = NULL;
	g.nslots = g.cap = 0;
	g.free_head = EMU_NO_INDEX;
	g.manual_clock = 0;
	g.now_ns = 0;
	g.fail_submits = 0;
	g.err_every_nth = g.err_per_million = 0;
	g.completions = 0;
	g.enforce_capacity = 0;
	g.queue_full_code = DOCA_ERROR_AGAIN;
	g.violations = 0;
	g.last_violation[0] = 0;
	emu_packet_reset();
	emu_unlock();
}

/* ---- ports -------------------------------------------------------------------------------- */

doca_error_t doca_flow_port_cfg_create(struct doca_flow_port_cfg **cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	*cfg = calloc(1, sizeof **cfg);
	return *cfg ? DOCA_SUCCESS : DOCA_ERROR_NO_MEMORY;
}

doca_error_t doca_flow_port_cfg_destroy(struct doca_flow_port_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	free(cfg);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_port_cfg_set_devargs(struct doca_flow_port_cfg *cfg, const char *devargs)
{
	if (!cfg || !devargs)
		return DOCA_ERROR_INVALID_VALUE;
	snprintf(cfg->devargs, sizeof cfg->devargs, "%s", devargs);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_port_cfg_set_port_id(struct doca_flow_port_cfg *cfg, uint16_t port_id)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->has_id = 1;
	cfg->port_id = port_id;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_port_cfg_set_dev(struct doca_flow_port_cfg *cfg, struct doca_dev *dev)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->dev = dev;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_port_start(const struct doca_flow_port_cfg *cfg, struct doca_flow_port **port)
{
	if (!cfg || !port)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (!g.inited) {
		emu_note_violation("doca_flow_port_start before doca_flow_init");
		rc = DOCA_ERROR_BAD_STATE;
	} else if (!cfg->has_id || cfg->port_id >= EMU_MAX_PORTS) {
		rc = DOCA_ERROR_INVALID_VALUE; /* port_id is mandatory from 3.0 */
	} else if (g.ports[cfg->port_id].started) {
		rc = DOCA_ERROR_ALREADY_EXIST;
	} else {
		struct doca_flow_port *p = &g.ports[cfg->port_id];
		memset(p, 0, sizeof *p);
		p->id = cfg->port_id;
		for (int k = 0; k < 2; k++) {
			p->q[k] = calloc(g.cfg.queues, sizeof *p->q[k]);
			struct emu_op *rings = calloc((size_t)g.cfg.queues * g.cfg.depth, sizeof *rings);
			for (uint16_t q = 0; q < g.cfg.queues; q++)
				p->q[k][q].ring = rings + (size_t)q * g.cfg.depth;
		}
		p->started = 1;
		g.any_port_started = 1;
		*port = p;
	}
	emu_unlock();
	return rc;
}

static int port_valid(const struct doca_flow_port *port)
{
	return port && port >= &g.ports[0] && port < &g.ports[EMU_MAX_PORTS] && port->started;
}

doca_error_t doca_flow_port_stop(struct doca_flow_port *port)
{
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (!port_valid(port)) {
		emu_note_violation("doca_flow_port_stop on a port that is not started");
		rc = DOCA_ERROR_BAD_STATE;
	} else {
		flush_port(port);
		for (struct doca_flow_pipe *p = g.pipes; p; p = p->next_all)
			if (p->port == port)
				p->dead = 1;
		for (int k = 0; k < 2; k++) {
			free(port->q[k][0].ring);
			free(port->q[k]);
			port->q[k] = NULL;
		}
		port->started = 0;
		port->root = NULL;
	}
	emu_unlock();
	return rc;
}

struct doca_flow_port *emu_port_by_id(uint16_t port_id)
{
	return port_id < EMU_MAX_PORTS && g.ports[port_id].started ? &g.ports[port_id] : NULL;
}

int emu_port_usable(const struct doca_flow_port *port)
{
	return port_valid(port) && !port->fatal;
}

struct doca_flow_pipe *emu_port_root(const struct doca_flow_port *port)
{
	return port->root;
}

/* ---- pipes -------------------------------------------------------------------------------- */

int emu_pipe_alive(const struct doca_flow_pipe *pipe)
{
	if (!pipe)
		return 0;
	for (struct doca_flow_pipe *p = g.pipes; p; p = p->next_all)
		if (p == pipe)
			return !p->dead && p->magic == EMU_PIPE_MAGIC;
	return 0;
}

doca_error_t doca_flow_pipe_cfg_create(struct doca_flow_pipe_cfg **cfg, struct doca_flow_port *port)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (!port_valid(port)) {
		rc = DOCA_ERROR_INVALID_VALUE;
	} else if (!(*cfg = calloc(1, sizeof **cfg))) {
		rc = DOCA_ERROR_NO_MEMORY;
	} else {
		(*cfg)->port = port;
	}
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_pipe_cfg_destroy(struct doca_flow_pipe_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	free(cfg);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_name(struct doca_flow_pipe_cfg *cfg, const char *name)
{
	if (!cfg || !name)
		return DOCA_ERROR_INVALID_VALUE;
	snprintf(cfg->name, sizeof cfg->name, "%s", name);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_type(struct doca_flow_pipe_cfg *cfg, enum doca_flow_pipe_type type)
{
	if (!cfg || (unsigned)type > DOCA_FLOW_PIPE_HASH)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->type = type;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_is_root(struct doca_flow_pipe_cfg *cfg, bool is_root)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->is_root = is_root;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_nr_entries(struct doca_flow_pipe_cfg *cfg, uint32_t nr_entries)
{
	if (!cfg || nr_entries == 0)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->nr_entries = nr_entries;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_domain(struct doca_flow_pipe_cfg *cfg, uint32_t domain)
{
	(void)domain;
	return cfg ? DOCA_SUCCESS : DOCA_ERROR_INVALID_VALUE;
}

doca_error_t doca_flow_pipe_cfg_set_match(struct doca_flow_pipe_cfg *cfg, const struct doca_flow_match *match,
					  const struct doca_flow_match *match_mask)
{
	if (!cfg || (!match && !match_mask))
		return DOCA_ERROR_INVALID_VALUE;
	uint32_t fields = match_mask ? match_mask->fields : match->fields;
	if (fields & ~(DOCA_EMU_MATCH_5TUPLE | DOCA_EMU_MATCH_VNI))
		return DOCA_ERROR_NOT_SUPPORTED;
	cfg->fields = fields;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_actions(struct doca_flow_pipe_cfg *cfg, struct doca_flow_actions *const *actions,
					    struct doca_flow_actions *const *actions_masks,
					    struct doca_flow_action_descs *const *action_descs, size_t nr_actions)
{
	(void)actions_masks;
	(void)action_descs;
	if (!cfg || !actions || nr_actions == 0 || nr_actions > EMU_MAX_ACTIONS)
		return DOCA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < nr_actions; i++) {
		if (!actions[i])
			return DOCA_ERROR_INVALID_VALUE;
		cfg->actions[i] = *actions[i];
	}
	cfg->nr_actions = (uint32_t)nr_actions;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_cfg_set_monitor(struct doca_flow_pipe_cfg *cfg, const struct doca_flow_monitor *monitor)
{
	if (!cfg || !monitor)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->monitor = *monitor;
	cfg->has_monitor = 1;
	return DOCA_SUCCESS;
}

static int fwd_valid(const struct doca_flow_fwd *f, const struct doca_flow_port *port)
{
	switch (f->type) {
	case DOCA_FLOW_FWD_NONE:
	case DOCA_FLOW_FWD_RSS:
	case DOCA_FLOW_FWD_DROP:
		return 1;
	case DOCA_FLOW_FWD_PORT:
		return f->port_id < EMU_MAX_PORTS;
	case DOCA_FLOW_FWD_PIPE:
		/* Any port's pipe: the emulator models one switch domain, as a switch-mode device has. */
		(void)port;
		return emu_pipe_alive(f->next_pipe);
	default:
		return 0;
	}
}

doca_error_t doca_flow_pipe_create(const struct doca_flow_pipe_cfg *cfg, const struct doca_flow_fwd *fwd,
				   const struct doca_flow_fwd *fwd_miss, struct doca_flow_pipe **pipe)
{
	if (!cfg || !pipe)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	struct doca_flow_port *port = cfg->port;
	if (!port_valid(port)) {
		rc = DOCA_ERROR_BAD_STATE;
	} else if (port->fatal) {
		rc = GEN_FATAL;
	} else if (cfg->type != DOCA_FLOW_PIPE_BASIC && cfg->type != DOCA_FLOW_PIPE_CT) {
		rc = DOCA_ERROR_NOT_SUPPORTED;
	} else if (cfg->type == DOCA_FLOW_PIPE_CT && !g.ct_inited) {
		emu_note_violation("CT pipe created before doca_flow_ct_init");
		rc = DOCA_ERROR_BAD_STATE;
	} else if (cfg->is_root && port->root) {
		rc = DOCA_ERROR_ALREADY_EXIST; /* the emulator keeps one root pipe per port */
	} else if ((fwd && !fwd_valid(fwd, port)) || (fwd_miss && !fwd_valid(fwd_miss, port))) {
		rc = DOCA_ERROR_INVALID_VALUE;
	} else {
		struct doca_flow_pipe *p = calloc(1, sizeof *p);
		if (!p) {
			rc = DOCA_ERROR_NO_MEMORY;
		} else {
			p->magic = EMU_PIPE_MAGIC;
			p->type = cfg->type;
			p->port = port;
			p->is_root = cfg->is_root;
			memcpy(p->name, cfg->name, sizeof p->name);
			p->nr_entries = cfg->nr_entries ? cfg->nr_entries : 1024;
			p->fields = cfg->type == DOCA_FLOW_PIPE_CT ? DOCA_EMU_MATCH_5TUPLE
								  : cfg->fields;
			memcpy(p->actions, cfg->actions, sizeof p->actions);
			p->nr_actions = cfg->nr_actions;
			p->monitor = cfg->monitor;
			p->has_monitor = cfg->has_monitor;
			if (fwd)
				p->fwd = *fwd;
			if (fwd_miss)
				p->fwd_miss = *fwd_miss;
			p->next_all = g.pipes;
			g.pipes = p;
			if (p->is_root)
				port->root = p;
			*pipe = p;
		}
	}
	emu_unlock();
	return rc;
}

void doca_flow_pipe_destroy(struct doca_flow_pipe *pipe)
{
	emu_lock();
	if (!emu_pipe_alive(pipe)) {
		emu_note_violation("doca_flow_pipe_destroy on a destroyed or unknown pipe");
	} else {
		for (uint32_t i = 0; i < g.nslots; i++)
			if (g.slots[i].live && g.slots[i].pipe == pipe)
				free_entry((int32_t)i);
		pipe->dead = 1; /* kept allocated so a late use is reported, not a crash */
		if (pipe->port->root == pipe)
			pipe->port->root = NULL;
	}
	emu_unlock();
}

/* ---- submissions -------------------------------------------------------------------------- */

static doca_error_t check_flags(uint32_t flags, int *batch)
{
	if (flags == GEN_NO_WAIT) {
		*batch = 0;
		return DOCA_SUCCESS;
	}
	if (flags == GEN_WAIT_FOR_BATCH) {
		*batch = 1;
		return DOCA_SUCCESS;
	}
	return DOCA_ERROR_INVALID_VALUE;
}

/* Shared tail of every submission: injected failure, queue space, then the FIFO. */
static doca_error_t take_fault(void)
{
	if (g.fail_submits) {
		g.fail_submits--;
		return g.fail_code;
	}
	return DOCA_SUCCESS;
}

static doca_error_t enqueue(struct emu_queue *q, int32_t idx, uint8_t op, int batch)
{
	if (q->count == g.cfg.depth)
		return g.queue_full_code;
	uint32_t tail = (q->head + q->count) % g.cfg.depth;
	q->ring[tail].idx = idx;
	q->ring[tail].gen = g.slots[idx].gen;
	q->ring[tail].op = op;
	q->count++;
	if (batch)
		q->staged++;
	else
		q->staged = 0; /* a NO_WAIT submission pushes everything staged before it */
	g.slots[idx].pending_ops++;
	return DOCA_SUCCESS;
}

static int queue_has_room(const struct emu_queue *q)
{
	return q->count < g.cfg.depth;
}

static doca_error_t add_entry(uint16_t queue, struct doca_flow_pipe *pipe, const struct doca_flow_match *match,
			      uint8_t action_idx, const struct doca_flow_actions *actions,
			      const struct doca_flow_monitor *monitor, const struct doca_flow_fwd *fwd, uint32_t flags,
			      void *usr_ctx, struct doca_flow_pipe_entry **entry)
{
	int batch;
	if (!match || !entry)
		return DOCA_ERROR_INVALID_VALUE;
	if (check_flags(flags, &batch) != DOCA_SUCCESS)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	struct emu_queue *q;
	struct emu_key key;
	if (!emu_pipe_alive(pipe)) {
		emu_note_violation("entry added to a destroyed or unknown pipe");
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (pipe->type != DOCA_FLOW_PIPE_BASIC) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (pipe->port->fatal) {
		rc = GEN_FATAL;
		goto out;
	}
	if (!(q = queue_of(pipe->port, OPK_FLOW, queue))) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (pipe->nr_actions && action_idx >= pipe->nr_actions) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (fwd && !fwd_valid(fwd, pipe->port)) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if ((rc = take_fault()) != DOCA_SUCCESS)
		goto out;
	if (!queue_has_room(q)) {
		rc = g.queue_full_code;
		goto out;
	}
	if (g.enforce_capacity && pipe->n_entries >= pipe->nr_entries) {
		rc = DOCA_ERROR_FULL;
		goto out;
	}
	emu_key_from_tuple(match, pipe->fields, &key);
	if (hash_find(pipe, &key, 0, NULL)) {
		rc = DOCA_ERROR_ALREADY_EXIST;
		goto out;
	}
	const struct doca_flow_monitor *mon = monitor ? monitor : (pipe->has_monitor ? &pipe->monitor : NULL);
	int wants_counter = mon && (mon->flags & DOCA_EMU_MONITOR_COUNT);
	if (wants_counter && g.cfg.nr_counters && g.counters_used >= g.cfg.nr_counters) {
		rc = DOCA_ERROR_FULL;
		goto out;
	}
	int32_t idx = alloc_slot();
	if (idx == EMU_NO_INDEX) {
		rc = DOCA_ERROR_NO_MEMORY;
		goto out;
	}
	struct emu_entry *e = &g.slots[idx];
	e->pipe = pipe;
	e->queue = queue;
	e->usr_ctx = usr_ctx;
	e->key[0] = key;
	/* An entry without rewrites of its own takes the pipe's action template at action_idx. */
	if (actions && (actions->flags || !pipe->nr_actions))
		e->act[0] = *actions;
	else if (pipe->nr_actions)
		e->act[0] = pipe->actions[action_idx];
	e->fwd[0] = fwd ? *fwd : pipe->fwd;
	if (mon)
		e->mon = *mon;
	e->has_counter = (uint8_t)wants_counter;
	if (wants_counter)
		g.counters_used++;
	pipe->n_entries++;
	hash_insert(pipe, idx, 0);
	enqueue(q, idx, DOCA_FLOW_ENTRY_OP_ADD, batch);
	*entry = handle_of(idx);
out:
	emu_unlock();
	return rc;
}

#ifdef DOCA_EMU_GEN_B
doca_error_t doca_flow_pipe_basic_add_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
					    const struct doca_flow_match *match, uint8_t action_idx,
					    const struct doca_flow_actions *actions, const struct doca_flow_monitor *monitor,
					    const struct doca_flow_fwd *fwd, uint32_t flags, void *usr_ctx,
					    struct doca_flow_pipe_entry **entry)
{
	return add_entry(pipe_queue, pipe, match, action_idx, actions, monitor, fwd, flags, usr_ctx, entry);
}
#else
doca_error_t doca_flow_pipe_add_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
				      const struct doca_flow_match *match, const struct doca_flow_actions *actions,
				      const struct doca_flow_monitor *monitor, const struct doca_flow_fwd *fwd,
				      uint32_t flags, void *usr_ctx, struct doca_flow_pipe_entry **entry)
{
	return add_entry(pipe_queue, pipe, match, actions ? actions->action_idx : 0, actions, monitor, fwd, flags,
			 usr_ctx, entry);
}
#endif

/* Resolves an entry handle for a new operation; reports the misuse the strict checks exist for. */
static doca_error_t usable_entry(struct doca_flow_pipe_entry *handle, int want_ct, int32_t *idx,
				 struct emu_entry **out)
{
	struct emu_entry *e = entry_of(handle, idx);
	if (!e) {
		emu_note_violation("use of an entry after its DEL completed (or an unknown handle)");
		return DOCA_ERROR_NOT_FOUND;
	}
	if (e->del_pending) {
		emu_note_violation("use of an entry after its DEL was submitted");
		return DOCA_ERROR_BAD_STATE;
	}
	if (e->is_ct != want_ct)
		return DOCA_ERROR_INVALID_VALUE;
	if (e->pipe->port->fatal)
		return GEN_FATAL;
	*out = e;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_pipe_update_entry(uint16_t pipe_queue, struct doca_flow_pipe *pipe,
					 const struct doca_flow_actions *actions, const struct doca_flow_monitor *monitor,
					 const struct doca_flow_fwd *fwd, uint32_t flags,
					 struct doca_flow_pipe_entry *entry)
{
	int batch;
	if (check_flags(flags, &batch) != DOCA_SUCCESS)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	int32_t idx;
	struct emu_entry *e;
	struct emu_queue *q;
	doca_error_t rc = usable_entry(entry, 0, &idx, &e);
	if (rc != DOCA_SUCCESS)
		goto out;
	if (pipe && pipe != e->pipe) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (!(q = queue_of(e->pipe->port, OPK_FLOW, pipe_queue)) || (fwd && !fwd_valid(fwd, e->pipe->port))) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if ((rc = take_fault()) != DOCA_SUCCESS)
		goto out;
	if (!queue_has_room(q)) {
		rc = g.queue_full_code;
		goto out;
	}
	e->upd_act[0] = actions ? *actions : e->act[0];
	e->upd_fwd[0] = fwd ? *fwd : e->fwd[0];
	e->upd_mon = monitor ? *monitor : e->mon;
	enqueue(q, idx, DOCA_FLOW_ENTRY_OP_UPD, batch);
out:
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_pipe_remove_entry(uint16_t pipe_queue, uint32_t flags, struct doca_flow_pipe_entry *entry)
{
	int batch;
	if (check_flags(flags, &batch) != DOCA_SUCCESS)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	int32_t idx;
	struct emu_entry *e;
	struct emu_queue *q;
	doca_error_t rc = usable_entry(entry, 0, &idx, &e);
	if (rc != DOCA_SUCCESS)
		goto out;
	if (!(q = queue_of(e->pipe->port, OPK_FLOW, pipe_queue))) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if ((rc = take_fault()) != DOCA_SUCCESS)
		goto out;
	if (!queue_has_room(q)) {
		rc = g.queue_full_code;
		goto out;
	}
	e->del_pending = 1;
	enqueue(q, idx, DOCA_FLOW_ENTRY_OP_DEL, batch);
out:
	emu_unlock();
	return rc;
}

/* ---- completions -------------------------------------------------------------------------- */

static int completion_fails(void)
{
	g.completions++;
	if (g.err_every_nth && g.completions % g.err_every_nth == 0)
		return 1;
	if (g.err_per_million) {
		g.rng ^= g.rng << 13;
		g.rng ^= g.rng >> 7;
		g.rng ^= g.rng << 17;
		return (g.rng % 1000000u) < g.err_per_million;
	}
	return 0;
}

static void complete(int32_t idx, uint8_t op, uint16_t queue)
{
	struct emu_entry *e = &g.slots[idx];
	int failed = completion_fails();
	int free_after = 0;
	e->pending_ops--;
	switch (op) {
	case DOCA_FLOW_ENTRY_OP_ADD:
		if (failed) {
			for (int d = 0; d < 2; d++)
				hash_remove(e->pipe, idx, d);
			e->installed = 0;
		} else {
			e->installed = 1;
			e->last_hit_ns = emu_now_ns();
		}
		break;
	case DOCA_FLOW_ENTRY_OP_UPD:
		if (!failed) {
			e->act[0] = e->upd_act[0];
			e->act[1] = e->upd_act[1];
			e->fwd[0] = e->upd_fwd[0];
			e->fwd[1] = e->upd_fwd[1];
			e->mon = e->upd_mon;
			if (e->is_ct)
				e->timeout_s = e->upd_timeout_s;
		}
		break;
	case DOCA_FLOW_ENTRY_OP_DEL:
		if (failed)
			e->del_pending = 0; /* still installed; the application may remove it again */
		else
			free_after = 1;
		break;
	}
	e->status = failed ? DOCA_FLOW_ENTRY_STATUS_ERROR : DOCA_FLOW_ENTRY_STATUS_SUCCESS;
	struct doca_flow_pipe_entry *h = handle_of(idx);
	void *ctx = e->usr_ctx;
	if (free_after) {
		/* The handle dies before the callback so a use from inside the callback is caught too. */
		for (int d = 0; d < 2; d++)
			hash_remove(e->pipe, idx, d);
		free_entry(idx);
	}
	if (g.cfg.cb)
		g.cfg.cb(h, queue, failed ? DOCA_FLOW_ENTRY_STATUS_ERROR : DOCA_FLOW_ENTRY_STATUS_SUCCESS,
			 (enum doca_flow_entry_op)op, ctx);
}

static uint32_t drain(struct doca_flow_port *port, int kind, uint16_t queue, uint32_t max)
{
	struct emu_queue *q = queue_of(port, kind, queue);
	uint32_t done = 0;
	if (!q)
		return 0;
	q->staged = 0;
	while (q->count && (max == 0 || done < max)) {
		struct emu_op op = q->ring[q->head];
		q->head = (q->head + 1) % g.cfg.depth;
		q->count--;
		struct emu_entry *e = &g.slots[op.idx];
		if (!e->live || e->gen != op.gen)
			continue; /* its pipe or port went away meanwhile */
		complete(op.idx, op.op, queue);
		done++;
		if (!port->started || port->fatal)
			break; /* the callback stopped the port */
	}
	return done;
}

doca_error_t doca_flow_entries_process(struct doca_flow_port *port, uint16_t pipe_queue, uint64_t timeout_us,
				       uint32_t max_processed_entries)
{
	(void)timeout_us;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (!port_valid(port))
		rc = DOCA_ERROR_INVALID_VALUE;
	else if (port->fatal)
		rc = GEN_FATAL;
	else if (pipe_queue >= g.cfg.queues)
		rc = DOCA_ERROR_INVALID_VALUE;
	else
		drain(port, OPK_FLOW, pipe_queue, max_processed_entries);
	emu_unlock();
	return rc;
}

enum doca_flow_entry_status doca_flow_pipe_entry_get_status(struct doca_flow_pipe_entry *entry)
{
	emu_lock();
	enum doca_flow_entry_status s;
	struct emu_entry *e = entry_of(entry, NULL);
	if (!e) {
		emu_note_violation("status of an entry after its DEL completed (or an unknown handle)");
		s = DOCA_FLOW_ENTRY_STATUS_ERROR;
	} else {
		s = e->pending_ops ? DOCA_FLOW_ENTRY_STATUS_IN_PROCESS : (enum doca_flow_entry_status)e->status;
	}
	emu_unlock();
	return s;
}

doca_error_t doca_flow_resource_query_entry(struct doca_flow_pipe_entry *entry,
					    struct doca_flow_resource_query *query_stats)
{
	if (!query_stats)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	struct emu_entry *e = entry_of(entry, NULL);
	if (!e) {
		emu_note_violation("query of an entry after its DEL completed (or an unknown handle)");
		rc = DOCA_ERROR_NOT_FOUND;
	} else if (e->pipe->port->fatal) {
		rc = GEN_FATAL;
	} else if (!e->has_counter && !e->is_ct) {
		rc = DOCA_ERROR_NOT_SUPPORTED;
	} else {
		query_stats->total_pkts = e->pkts[0] + e->pkts[1];
		query_stats->total_bytes = e->bytes[0] + e->bytes[1];
	}
	emu_unlock();
	return rc;
}

static uint64_t idle_limit_ns(const struct emu_entry *e)
{
	if (e->is_ct)
		return (uint64_t)e->timeout_s * 1000000000ull;
	if ((e->mon.flags & DOCA_EMU_MONITOR_AGING) && e->mon.aging_sec)
		return (uint64_t)e->mon.aging_sec * 1000000000ull;
	return 0;
}

/* >0: entries reported; -1: a full pass over the port's entries ended with nothing to report. */
int doca_flow_aging_handle(struct doca_flow_port *port, uint16_t queue, uint64_t quota_us, uint64_t max_entries)
{
	emu_lock();
	int reported = 0;
	struct emu_queue *q = queue_of(port, OPK_FLOW, queue);
	if (!q || port->fatal || quota_us == 0) {
		emu_unlock();
		return 0;
	}
	uint64_t now = emu_now_ns();
	uint32_t i = q->aging_cursor;
	for (; i < g.nslots; i++) {
		if (max_entries && (uint64_t)reported >= max_entries)
			break;
		struct emu_entry *e = &g.slots[i];
		if (!e->live || !e->installed || e->del_pending || e->aged_reported || e->queue != queue ||
		    e->pipe->port != port)
			continue;
		uint64_t limit = idle_limit_ns(e);
		if (!limit || now - e->last_hit_ns < limit)
			continue;
		e->aged_reported = 1;
		reported++;
		if (g.cfg.cb)
			g.cfg.cb(handle_of((int32_t)i), queue, DOCA_FLOW_ENTRY_STATUS_SUCCESS, DOCA_FLOW_ENTRY_OP_AGED,
				 e->usr_ctx);
	}
	if (i >= g.nslots) {
		q->aging_cursor = 0;
		emu_unlock();
		return reported ? reported : -1;
	}
	q->aging_cursor = i;
	emu_unlock();
	return reported;
}

/* ---- Flow CT ------------------------------------------------------------------------------ */

doca_error_t doca_flow_ct_cfg_create(struct doca_flow_ct_cfg **cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	*cfg = calloc(1, sizeof **cfg);
	if (!*cfg)
		return DOCA_ERROR_NO_MEMORY;
	(*cfg)->nr_entries = 65536;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_ct_cfg_destroy(struct doca_flow_ct_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	free(cfg);
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_ct_cfg_set_nr_entries(struct doca_flow_ct_cfg *cfg, uint32_t nr_entries)
{
	if (!cfg || nr_entries == 0)
		return DOCA_ERROR_INVALID_VALUE;
	cfg->nr_entries = nr_entries;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_ct_init(const struct doca_flow_ct_cfg *cfg)
{
	if (!cfg)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	if (!g.inited) {
		emu_note_violation("doca_flow_ct_init before doca_flow_init");
		rc = DOCA_ERROR_BAD_STATE;
	} else if (g.any_port_started) {
		emu_note_violation("doca_flow_ct_init after a port started");
		rc = DOCA_ERROR_BAD_STATE;
	} else if (g.ct_inited) {
		emu_note_violation("doca_flow_ct_init called twice");
		rc = DOCA_ERROR_BAD_STATE;
	} else {
		g.ct_inited = 1;
		g.ct_capacity = cfg->nr_entries;
	}
	emu_unlock();
	return rc;
}

void doca_flow_ct_destroy(void)
{
	emu_lock();
	g.ct_inited = 0;
	emu_unlock();
}

static doca_error_t ct_pipe_ok(struct doca_flow_pipe *pipe, uint16_t queue, struct emu_queue **q)
{
	if (!g.ct_inited)
		return DOCA_ERROR_BAD_STATE;
	if (!emu_pipe_alive(pipe) || pipe->type != DOCA_FLOW_PIPE_CT)
		return DOCA_ERROR_INVALID_VALUE;
	if (pipe->port->fatal)
		return GEN_FATAL;
	if (!(*q = queue_of(pipe->port, OPK_CT, queue)))
		return DOCA_ERROR_INVALID_VALUE;
	return DOCA_SUCCESS;
}

doca_error_t doca_flow_ct_entry_prepare(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
					const struct doca_flow_match *match_origin, uint32_t hash_origin,
					const struct doca_flow_match *match_reply, uint32_t hash_reply,
					struct doca_flow_pipe_entry **entry, bool *conn_found)
{
	(void)flags;
	(void)hash_origin;
	(void)hash_reply;
	if (!match_origin || !match_reply || !entry)
		return DOCA_ERROR_INVALID_VALUE;
	emu_lock();
	struct emu_queue *q;
	struct emu_key ko, kr;
	doca_error_t rc = ct_pipe_ok(pipe, queue, &q);
	if (rc != DOCA_SUCCESS)
		goto out;
	emu_key_from_tuple(match_origin, pipe->fields, &ko);
	emu_key_from_tuple(match_reply, pipe->fields, &kr);
	if (conn_found)
		*conn_found = hash_find(pipe, &ko, 0, NULL) != NULL;
	if (hash_find(pipe, &ko, 0, NULL) || hash_find(pipe, &kr, 0, NULL)) {
		rc = DOCA_ERROR_ALREADY_EXIST;
		goto out;
	}
	if (g.ct_in_use >= g.ct_capacity ||
	    (g.enforce_capacity && pipe->n_entries >= pipe->nr_entries)) {
		rc = DOCA_ERROR_FULL;
		goto out;
	}
	int32_t idx = alloc_slot();
	if (idx == EMU_NO_INDEX) {
		rc = DOCA_ERROR_NO_MEMORY;
		goto out;
	}
	struct emu_entry *e = &g.slots[idx];
	e->is_ct = 1;
	e->ct_prepared = 1;
	e->pipe = pipe;
	e->queue = queue;
	e->key[0] = ko;
	e->key[1] = kr;
	g.ct_in_use++;
	pipe->n_entries++;
	*entry = handle_of(idx);
out:
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_ct_add_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
				    const struct doca_flow_match *match_origin, const struct doca_flow_match *match_reply,
				    const struct doca_flow_actions *actions_origin,
				    const struct doca_flow_actions *actions_reply, const struct doca_flow_fwd *fwd_origin,
				    const struct doca_flow_fwd *fwd_reply, uint32_t timeout_s, void *usr_ctx,
				    struct doca_flow_pipe_entry *entry)
{
	(void)flags;
	emu_lock();
	struct emu_queue *q;
	int32_t idx;
	struct emu_entry *e;
	doca_error_t rc = ct_pipe_ok(pipe, queue, &q);
	if (rc != DOCA_SUCCESS)
		goto out;
	if ((rc = usable_entry(entry, 1, &idx, &e)) != DOCA_SUCCESS)
		goto out;
	if (!e->ct_prepared || e->pipe != pipe) {
		rc = DOCA_ERROR_BAD_STATE;
		goto out;
	}
	if ((fwd_origin && !fwd_valid(fwd_origin, pipe->port)) || (fwd_reply && !fwd_valid(fwd_reply, pipe->port))) {
		rc = DOCA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (match_origin)
		emu_key_from_tuple(match_origin, pipe->fields, &e->key[0]);
	if (match_reply)
		emu_key_from_tuple(match_reply, pipe->fields, &e->key[1]);
	if ((rc = take_fault()) != DOCA_SUCCESS)
		goto out;
	if (!queue_has_room(q)) {
		rc = g.queue_full_code;
		goto out;
	}
	e->ct_prepared = 0;
	e->usr_ctx = usr_ctx;
	e->timeout_s = timeout_s;
	if (actions_origin)
		e->act[0] = *actions_origin;
	if (actions_reply)
		e->act[1] = *actions_reply;
	e->fwd[0] = fwd_origin ? *fwd_origin : pipe->fwd;
	e->fwd[1] = fwd_reply ? *fwd_reply : pipe->fwd;
	hash_insert(pipe, idx, 0);
	hash_insert(pipe, idx, 1);
	enqueue(q, idx, DOCA_FLOW_ENTRY_OP_ADD, 0);
out:
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_ct_update_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
				       struct doca_flow_pipe_entry *entry, const struct doca_flow_actions *actions_origin,
				       const struct doca_flow_actions *actions_reply, const struct doca_flow_fwd *fwd_origin,
				       const struct doca_flow_fwd *fwd_reply, uint32_t timeout_s)
{
	(void)flags;
	emu_lock();
	struct emu_queue *q;
	int32_t idx;
	struct emu_entry *e;
	doca_error_t rc = ct_pipe_ok(pipe, queue, &q);
	if (rc == DOCA_SUCCESS)
		rc = usable_entry(entry, 1, &idx, &e);
	if (rc == DOCA_SUCCESS && (e->ct_prepared || e->pipe != pipe))
		rc = DOCA_ERROR_BAD_STATE;
	if (rc == DOCA_SUCCESS && ((fwd_origin && !fwd_valid(fwd_origin, pipe->port)) ||
				   (fwd_reply && !fwd_valid(fwd_reply, pipe->port))))
		rc = DOCA_ERROR_INVALID_VALUE;
	if (rc == DOCA_SUCCESS)
		rc = take_fault();
	if (rc == DOCA_SUCCESS && !queue_has_room(q))
		rc = g.queue_full_code;
	if (rc == DOCA_SUCCESS) {
		e->upd_act[0] = actions_origin ? *actions_origin : e->act[0];
		e->upd_act[1] = actions_reply ? *actions_reply : e->act[1];
		/* A NULL fwd keeps the direction's current one. */
		e->upd_fwd[0] = fwd_origin ? *fwd_origin : e->fwd[0];
		e->upd_fwd[1] = fwd_reply ? *fwd_reply : e->fwd[1];
		e->upd_mon = e->mon;
		e->upd_timeout_s = timeout_s;
		enqueue(q, idx, DOCA_FLOW_ENTRY_OP_UPD, 0);
	}
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_ct_rm_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
				   struct doca_flow_pipe_entry *entry)
{
	(void)flags;
	emu_lock();
	struct emu_queue *q;
	int32_t idx;
	struct emu_entry *e;
	doca_error_t rc = ct_pipe_ok(pipe, queue, &q);
	if (rc == DOCA_SUCCESS)
		rc = usable_entry(entry, 1, &idx, &e);
	if (rc == DOCA_SUCCESS && e->pipe != pipe)
		rc = DOCA_ERROR_INVALID_VALUE;
	if (rc == DOCA_SUCCESS && e->ct_prepared) {
		free_entry(idx); /* never submitted: releasing a prepared slot needs no completion */
		goto out;
	}
	if (rc == DOCA_SUCCESS)
		rc = take_fault();
	if (rc == DOCA_SUCCESS && !queue_has_room(q))
		rc = g.queue_full_code;
	if (rc == DOCA_SUCCESS) {
		e->del_pending = 1;
		enqueue(q, idx, DOCA_FLOW_ENTRY_OP_DEL, 0);
	}
out:
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_ct_query_entry(uint16_t queue, struct doca_flow_pipe *pipe, uint32_t flags,
				      struct doca_flow_pipe_entry *entry, struct doca_flow_resource_query *stats_origin,
				      struct doca_flow_resource_query *stats_reply, uint64_t *last_hit_s)
{
	(void)flags;
	(void)queue;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	struct emu_entry *e = entry_of(entry, NULL);
	if (!e) {
		emu_note_violation("CT query of an entry after its DEL completed (or an unknown handle)");
		rc = DOCA_ERROR_NOT_FOUND;
	} else if (!e->is_ct || e->pipe != pipe) {
		rc = DOCA_ERROR_INVALID_VALUE;
	} else if (pipe->port->fatal) {
		rc = GEN_FATAL;
	} else {
		if (stats_origin) {
			stats_origin->total_pkts = e->pkts[0];
			stats_origin->total_bytes = e->bytes[0];
		}
		if (stats_reply) {
			stats_reply->total_pkts = e->pkts[1];
			stats_reply->total_bytes = e->bytes[1];
		}
		if (last_hit_s)
			*last_hit_s = e->last_hit_ns / 1000000000ull;
	}
	emu_unlock();
	return rc;
}

doca_error_t doca_flow_ct_entries_process(struct doca_flow_port *port, uint16_t queue, uint32_t min_processed_entries,
					  uint32_t max_processed_entries, uint32_t *processed)
{
	(void)min_processed_entries;
	emu_lock();
	doca_error_t rc = DOCA_SUCCESS;
	uint32_t n = 0;
	if (!g.ct_inited)
		rc = DOCA_ERROR_BAD_STATE;
	else if (!port_valid(port) || queue >= g.cfg.queues)
		rc = DOCA_ERROR_INVALID_VALUE;
	else if (port->fatal)
		rc = GEN_FATAL;
	else
		n = drain(port, OPK_CT, queue, max_processed_entries);
	if (processed)
		*processed = n;
	emu_unlock();
	return rc;
}
