/*
 * Offload's DOCA shim: translates the flat ABI of offload_doca_shim.h into DOCA Flow calls.
 *
 * Compiled here against the emulator's clean-room header (tests/native/doca-emulator/include).
 * Where DOCA is installed, build with -DOFL_WITH_DOCA_HEADERS to take the real headers; the
 * translation functions for the real struct layouts (the to_doca_* block) must then be written
 * against that release's header — the rest of this file (ABI checks, generation handling, call
 * sequences) does not depend on the layouts.
 *
 * Generation: both add-entry names are bound weakly, so one shim binary works with whichever
 * libdoca_flow is loaded; the flag values are mapped per generation, never passed through.
 */
#include <stddef.h>
#include <string.h>

#include "offload_doca_shim.h"

#ifdef OFL_WITH_DOCA_HEADERS
#include <doca_flow.h>
#include <doca_flow_ct.h>
#error "translation for the real DOCA struct layouts is not written yet (no DOCA install to check it against)"
#else
#include "doca_emu.h"
#endif

#pragma weak doca_flow_pipe_add_entry
#pragma weak doca_flow_pipe_basic_add_entry

/* ---- ABI self-description ----------------------------------------------------------------- */

uint32_t ofl_shim_abi_version(void)
{
	return OFL_SHIM_ABI_VERSION;
}

int32_t ofl_shim_struct_sizes(uint32_t *sizes, int32_t capacity)
{
	const uint32_t all[] = {
		sizeof(struct ofl_tuple),      sizeof(struct ofl_encap),   sizeof(struct ofl_action),
		sizeof(struct ofl_entry_spec), sizeof(struct ofl_pipe_spec), sizeof(struct ofl_ct_spec),
		sizeof(struct ofl_ct_stats),
	};
	int32_t n = (int32_t)(sizeof all / sizeof all[0]);
	for (int32_t i = 0; sizes && i < n && i < capacity; i++)
		sizes[i] = all[i];
	return n;
}

/* The binding checks these in this order; append only (and bump the ABI version on any change). */
#define OFS(t, f) (uint32_t) offsetof(struct t, f)
int32_t ofl_shim_struct_offsets(uint32_t *offsets, int32_t capacity)
{
	const uint32_t all[] = {
		OFS(ofl_tuple, src_ip),        OFS(ofl_tuple, dst_ip),         OFS(ofl_tuple, src_port),
		OFS(ofl_tuple, dst_port),      OFS(ofl_tuple, ip_version),     OFS(ofl_tuple, l4_proto),
		OFS(ofl_tuple, vni),           OFS(ofl_encap, tunnel),         OFS(ofl_encap, ip_version),
		OFS(ofl_encap, ttl),           OFS(ofl_encap, vni),            OFS(ofl_encap, udp_src_port),
		OFS(ofl_encap, src_mac),       OFS(ofl_encap, dst_mac),        OFS(ofl_encap, src_ip),
		OFS(ofl_encap, dst_ip),        OFS(ofl_action, fate),          OFS(ofl_action, rewrites),
		OFS(ofl_action, port),         OFS(ofl_action, src_port),      OFS(ofl_action, dst_port),
		OFS(ofl_action, src_ip),       OFS(ofl_action, dst_ip),        OFS(ofl_action, src_mac),
		OFS(ofl_action, dst_mac),      OFS(ofl_action, encap),         OFS(ofl_action, next_pipe),
		OFS(ofl_entry_spec, match),    OFS(ofl_entry_spec, action),    OFS(ofl_entry_spec, monitor),
		OFS(ofl_entry_spec, aging_sec), OFS(ofl_pipe_spec, name),      OFS(ofl_pipe_spec, kind),
		OFS(ofl_pipe_spec, match_fields), OFS(ofl_pipe_spec, nr_entries), OFS(ofl_pipe_spec, is_root),
		OFS(ofl_pipe_spec, miss_fate), OFS(ofl_pipe_spec, miss_port),  OFS(ofl_pipe_spec, miss_next_pipe),
		OFS(ofl_ct_spec, origin),      OFS(ofl_ct_spec, reply),        OFS(ofl_ct_spec, origin_action),
		OFS(ofl_ct_spec, reply_action), OFS(ofl_ct_spec, timeout_s),   OFS(ofl_ct_stats, origin_pkts),
		OFS(ofl_ct_stats, origin_bytes), OFS(ofl_ct_stats, reply_pkts), OFS(ofl_ct_stats, reply_bytes),
		OFS(ofl_ct_stats, last_hit_s),
	};
	int32_t n = (int32_t)(sizeof all / sizeof all[0]);
	for (int32_t i = 0; offsets && i < n && i < capacity; i++)
		offsets[i] = all[i];
	return n;
}

_Static_assert(sizeof(struct ofl_tuple) == 48, "ofl_tuple layout");
_Static_assert(sizeof(struct ofl_encap) == 56, "ofl_encap layout");
_Static_assert(sizeof(struct ofl_action) == 128, "ofl_action layout");
_Static_assert(sizeof(struct ofl_entry_spec) == 184, "ofl_entry_spec layout");
_Static_assert(sizeof(struct ofl_pipe_spec) == 64, "ofl_pipe_spec layout");
_Static_assert(sizeof(struct ofl_ct_spec) == 360, "ofl_ct_spec layout");
_Static_assert(sizeof(struct ofl_ct_stats) == 40, "ofl_ct_stats layout");

/* ---- generation ---------------------------------------------------------------------------- */

int32_t ofl_shim_api_generation(void)
{
	if (doca_flow_pipe_basic_add_entry)
		return 2;
	if (doca_flow_pipe_add_entry)
		return 1;
	return 0;
}

static int map_flags(uint32_t submit_flags, uint32_t *out)
{
	int gen = ofl_shim_api_generation();
	if (submit_flags > OFL_SUBMIT_BATCH || gen == 0)
		return 0;
	if (gen == 2)
		*out = submit_flags == OFL_SUBMIT_BATCH ? DOCA_EMU_GEN_B_WAIT_FOR_BATCH : DOCA_EMU_GEN_B_NO_WAIT;
	else
		*out = submit_flags == OFL_SUBMIT_BATCH ? DOCA_EMU_GEN_A_WAIT_FOR_BATCH : DOCA_EMU_GEN_A_NO_WAIT;
	return 1;
}

/* ---- translation to the (emulator's) DOCA structs ----------------------------------------- */

static uint32_t to_doca_fields(uint32_t f)
{
	uint32_t d = 0;
	if (f & OFL_MATCH_SRC_IP)
		d |= DOCA_EMU_MATCH_SRC_IP;
	if (f & OFL_MATCH_DST_IP)
		d |= DOCA_EMU_MATCH_DST_IP;
	if (f & OFL_MATCH_SRC_PORT)
		d |= DOCA_EMU_MATCH_SRC_PORT;
	if (f & OFL_MATCH_DST_PORT)
		d |= DOCA_EMU_MATCH_DST_PORT;
	if (f & OFL_MATCH_L4_PROTO)
		d |= DOCA_EMU_MATCH_L4_PROTO;
	if (f & OFL_MATCH_VNI)
		d |= DOCA_EMU_MATCH_VNI;
	return d;
}

static int valid_tuple(const struct ofl_tuple *t)
{
	return t->ip_version == 4 || t->ip_version == 6;
}

static void to_doca_match(const struct ofl_tuple *t, struct doca_flow_match *m)
{
	memset(m, 0, sizeof *m);
	m->ip_version = t->ip_version;
	m->l4_proto = t->l4_proto;
	m->src_port = t->src_port;
	m->dst_port = t->dst_port;
	m->vni = t->vni;
	memcpy(m->src_ip, t->src_ip, 16);
	memcpy(m->dst_ip, t->dst_ip, 16);
}

static int to_doca_fwd(uint32_t fate, uint16_t port, uint64_t next_pipe, struct doca_flow_fwd *f)
{
	memset(f, 0, sizeof *f);
	switch (fate) {
	case OFL_FATE_PORT:
		f->type = DOCA_FLOW_FWD_PORT;
		f->port_id = port;
		return 1;
	case OFL_FATE_DROP:
		f->type = DOCA_FLOW_FWD_DROP;
		return 1;
	case 0:
	case OFL_FATE_SOFTWARE:
		f->type = DOCA_FLOW_FWD_NONE;
		return 1;
	case OFL_FATE_PIPE:
		if (!next_pipe)
			return 0;
		f->type = DOCA_FLOW_FWD_PIPE;
		f->next_pipe = (struct doca_flow_pipe *)(uintptr_t)next_pipe;
		return 1;
	default:
		return 0;
	}
}

/*
 * TTL decrement (OFL_RW_DEC_TTL) — DOCA Flow facts, in our words (public DOCA API docs and public
 * users of the API; to be checked against the installed header before the real build exists):
 *  - The oldest DOCA Flow releases (1.x) had a boolean "decrement TTL" member in the actions
 *    struct. Neither generation we target has it.
 *  - Gen A (2.9 … 3.2) and Gen B (3.3+) express it the same way: the pipe's actions template sets
 *    the TTL field (outer.ip4.ttl) to 0xff and the pipe's action descriptor for it is of type
 *    "add" (DOCA_FLOW_ACTION_ADD) with field string "outer.ipv4.ttl", width 8; adding 255 modulo
 *    256 is a decrement. IPv6 and the inner packet of a tunnel that is not decapsulated use the
 *    same scheme with the hop-limit / "inner." field strings (names not yet checked against a
 *    header: verify before the real build). The descriptors are given
 *    per actions template to doca_flow_pipe_cfg_set_actions, so on real DOCA the shim needs a
 *    template (action_idx) per address family that carries the add, chosen at entry add.
 *  - The add wraps: the device does not drop at 0. To behave like Offload's software executor
 *    (drop, reason ttl-exceeded, never forward TTL 0) the real pipeline must send packets whose
 *    TTL / hop limit is 0 or 1 elsewhere before the rewrite, e.g. a higher-priority match on the
 *    field in the root pipe that forwards to the host, where the software path drops them.
 *  - The emulator models the semantics directly (DOCA_EMU_ACTION_DEC_TTL: decrement after NAT,
 *    before encap; IPv4 checksum updated; 0/1 dropped and counted), which is what the binding and
 *    the contract tests rely on.
 */
static int to_doca_actions(const struct ofl_action *a, struct doca_flow_actions *d)
{
	static const uint32_t map[][2] = {
		{OFL_RW_DECAP, DOCA_EMU_ACTION_DECAP},     {OFL_RW_SRC_IP, DOCA_EMU_ACTION_SET_SRC_IP},
		{OFL_RW_DST_IP, DOCA_EMU_ACTION_SET_DST_IP}, {OFL_RW_SRC_PORT, DOCA_EMU_ACTION_SET_SRC_PORT},
		{OFL_RW_DST_PORT, DOCA_EMU_ACTION_SET_DST_PORT}, {OFL_RW_SRC_MAC, DOCA_EMU_ACTION_SET_SRC_MAC},
		{OFL_RW_DST_MAC, DOCA_EMU_ACTION_SET_DST_MAC}, {OFL_RW_ENCAP, DOCA_EMU_ACTION_ENCAP},
		{OFL_RW_DEC_TTL, DOCA_EMU_ACTION_DEC_TTL},
	};
	if (a->rewrites & ~OFL_RW_ALL)
		return 0;
	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (a->rewrites & map[i][0])
			d->flags |= map[i][1];
	d->src_port = a->src_port;
	d->dst_port = a->dst_port;
	memcpy(d->src_ip, a->src_ip, 16);
	memcpy(d->dst_ip, a->dst_ip, 16);
	memcpy(d->src_mac, a->src_mac, 6);
	memcpy(d->dst_mac, a->dst_mac, 6);
	if (a->rewrites & OFL_RW_ENCAP) {
		const struct ofl_encap *e = &a->encap;
		if ((e->tunnel != OFL_TUNNEL_VXLAN && e->tunnel != OFL_TUNNEL_GRE) ||
		    (e->ip_version != 4 && e->ip_version != 6))
			return 0;
		d->encap.tunnel = e->tunnel == OFL_TUNNEL_VXLAN ? DOCA_EMU_TUNNEL_VXLAN : DOCA_EMU_TUNNEL_GRE;
		d->encap.ip_version = e->ip_version;
		d->encap.ttl = e->ttl;
		d->encap.vni = e->vni;
		d->encap.udp_src_port = e->udp_src_port;
		memcpy(d->encap.src_mac, e->src_mac, 6);
		memcpy(d->encap.dst_mac, e->dst_mac, 6);
		memcpy(d->encap.src_ip, e->src_ip, 16);
		memcpy(d->encap.dst_ip, e->dst_ip, 16);
	}
	return 1;
}

static void to_doca_monitor(uint32_t monitor, uint32_t aging_sec, struct doca_flow_monitor *m)
{
	memset(m, 0, sizeof *m);
	if (monitor & OFL_MON_COUNT)
		m->flags |= DOCA_EMU_MONITOR_COUNT;
	if (monitor & OFL_MON_AGING) {
		m->flags |= DOCA_EMU_MONITOR_AGING;
		m->aging_sec = aging_sec;
	}
}

/* ---- pipes --------------------------------------------------------------------------------- */

int32_t ofl_pipe_create(struct doca_flow_port *port, const struct ofl_pipe_spec *spec, struct doca_flow_pipe **pipe)
{
	if (!port || !spec || !pipe || spec->kind > OFL_PIPE_CT || (spec->match_fields & ~0x3fu))
		return DOCA_ERROR_INVALID_VALUE;
	struct doca_flow_fwd miss;
	if (!to_doca_fwd(spec->miss_fate, spec->miss_port, spec->miss_next_pipe, &miss))
		return DOCA_ERROR_INVALID_VALUE;
	struct doca_flow_pipe_cfg *cfg = NULL;
	doca_error_t rc = doca_flow_pipe_cfg_create(&cfg, port);
	if (rc != DOCA_SUCCESS)
		return rc;
	char name[sizeof spec->name + 1];
	memcpy(name, spec->name, sizeof spec->name);
	name[sizeof spec->name] = 0;
	struct doca_flow_match match;
	memset(&match, 0, sizeof match);
	match.fields = to_doca_fields(spec->match_fields);
	if ((rc = doca_flow_pipe_cfg_set_name(cfg, name)) == DOCA_SUCCESS &&
	    (rc = doca_flow_pipe_cfg_set_type(cfg, spec->kind == OFL_PIPE_CT ? DOCA_FLOW_PIPE_CT
									   : DOCA_FLOW_PIPE_BASIC)) == DOCA_SUCCESS &&
	    (rc = doca_flow_pipe_cfg_set_is_root(cfg, spec->is_root != 0)) == DOCA_SUCCESS &&
	    (spec->nr_entries == 0 || (rc = doca_flow_pipe_cfg_set_nr_entries(cfg, spec->nr_entries)) == DOCA_SUCCESS) &&
	    (spec->kind == OFL_PIPE_CT || (rc = doca_flow_pipe_cfg_set_match(cfg, &match, &match)) == DOCA_SUCCESS))
		rc = doca_flow_pipe_create(cfg, NULL, &miss, pipe);
	doca_flow_pipe_cfg_destroy(cfg);
	return rc;
}

/* ---- entries ------------------------------------------------------------------------------- */

int32_t ofl_entry_add(struct doca_flow_pipe *pipe, uint16_t queue, const struct ofl_entry_spec *spec,
		      uint32_t submit_flags, void *usr_ctx, struct doca_flow_pipe_entry **entry)
{
	uint32_t flags;
	struct doca_flow_match match;
	struct doca_flow_actions actions;
	struct doca_flow_monitor monitor;
	struct doca_flow_fwd fwd;
	if (!pipe || !spec || !entry || !valid_tuple(&spec->match) || !map_flags(submit_flags, &flags) ||
	    !to_doca_actions(&spec->action, &actions) ||
	    !to_doca_fwd(spec->action.fate, spec->action.port, spec->action.next_pipe, &fwd))
		return DOCA_ERROR_INVALID_VALUE;
	to_doca_match(&spec->match, &match);
	to_doca_monitor(spec->monitor, spec->aging_sec, &monitor);
	/* The pipes the shim creates have no action templates: the entry's actions are index 0. */
	if (doca_flow_pipe_basic_add_entry)
		return doca_flow_pipe_basic_add_entry(queue, pipe, &match, 0, &actions, &monitor, &fwd, flags, usr_ctx,
						      entry);
	actions.action_idx = 0;
	return doca_flow_pipe_add_entry(queue, pipe, &match, &actions, &monitor, &fwd, flags, usr_ctx, entry);
}

int32_t ofl_entry_update(struct doca_flow_pipe *pipe, uint16_t queue, struct doca_flow_pipe_entry *entry,
			 const struct ofl_entry_spec *spec, uint32_t submit_flags)
{
	uint32_t flags;
	struct doca_flow_actions actions;
	struct doca_flow_monitor monitor;
	struct doca_flow_fwd fwd;
	if (!pipe || !spec || !entry || !map_flags(submit_flags, &flags) || !to_doca_actions(&spec->action, &actions) ||
	    !to_doca_fwd(spec->action.fate, spec->action.port, spec->action.next_pipe, &fwd))
		return DOCA_ERROR_INVALID_VALUE;
	to_doca_monitor(spec->monitor, spec->aging_sec, &monitor);
	return doca_flow_pipe_update_entry(queue, pipe, &actions, &monitor, &fwd, flags, entry);
}

int32_t ofl_entry_remove(uint16_t queue, struct doca_flow_pipe_entry *entry, uint32_t submit_flags)
{
	uint32_t flags;
	if (!entry || !map_flags(submit_flags, &flags))
		return DOCA_ERROR_INVALID_VALUE;
	return doca_flow_pipe_remove_entry(queue, flags, entry);
}

/* ---- Flow CT ------------------------------------------------------------------------------- */

static int ct_translate(const struct ofl_ct_spec *spec, struct doca_flow_actions act[2], struct doca_flow_fwd fwd[2])
{
	return to_doca_actions(&spec->origin_action, &act[0]) && to_doca_actions(&spec->reply_action, &act[1]) &&
	       to_doca_fwd(spec->origin_action.fate, spec->origin_action.port, spec->origin_action.next_pipe, &fwd[0]) &&
	       to_doca_fwd(spec->reply_action.fate, spec->reply_action.port, spec->reply_action.next_pipe, &fwd[1]);
}

int32_t ofl_ct_entry_add(struct doca_flow_pipe *pipe, uint16_t queue, const struct ofl_ct_spec *spec, void *usr_ctx,
			 struct doca_flow_pipe_entry **entry)
{
	struct doca_flow_match mo, mr;
	struct doca_flow_actions act[2];
	struct doca_flow_fwd fwd[2];
	if (!pipe || !spec || !entry || !valid_tuple(&spec->origin) || !valid_tuple(&spec->reply) ||
	    !ct_translate(spec, act, fwd))
		return DOCA_ERROR_INVALID_VALUE;
	to_doca_match(&spec->origin, &mo);
	to_doca_match(&spec->reply, &mr);
	struct doca_flow_pipe_entry *e = NULL;
	bool found = false;
	doca_error_t rc = doca_flow_ct_entry_prepare(queue, pipe, 0, &mo, 0, &mr, 0, &e, &found);
	if (rc != DOCA_SUCCESS)
		return rc;
	rc = doca_flow_ct_add_entry(queue, pipe, 0, &mo, &mr, &act[0], &act[1], &fwd[0], &fwd[1], spec->timeout_s,
				    usr_ctx, e);
	if (rc != DOCA_SUCCESS) {
		/* A prepared slot that was never submitted is released without a completion. */
		doca_flow_ct_rm_entry(queue, pipe, 0, e);
		return rc;
	}
	*entry = e;
	return DOCA_SUCCESS;
}

int32_t ofl_ct_entry_update(struct doca_flow_pipe *pipe, uint16_t queue, struct doca_flow_pipe_entry *entry,
			    const struct ofl_ct_spec *spec)
{
	struct doca_flow_actions act[2];
	struct doca_flow_fwd fwd[2];
	if (!pipe || !spec || !entry || !ct_translate(spec, act, fwd))
		return DOCA_ERROR_INVALID_VALUE;
	return doca_flow_ct_update_entry(queue, pipe, 0, entry, &act[0], &act[1], &fwd[0], &fwd[1], spec->timeout_s);
}

int32_t ofl_ct_entry_remove(struct doca_flow_pipe *pipe, uint16_t queue, struct doca_flow_pipe_entry *entry)
{
	if (!pipe || !entry)
		return DOCA_ERROR_INVALID_VALUE;
	return doca_flow_ct_rm_entry(queue, pipe, 0, entry);
}

int32_t ofl_ct_entry_query(struct doca_flow_pipe *pipe, uint16_t queue, struct doca_flow_pipe_entry *entry,
			   struct ofl_ct_stats *stats)
{
	struct doca_flow_resource_query o, r;
	uint64_t last = 0;
	if (!pipe || !entry || !stats)
		return DOCA_ERROR_INVALID_VALUE;
	doca_error_t rc = doca_flow_ct_query_entry(queue, pipe, 0, entry, &o, &r, &last);
	if (rc != DOCA_SUCCESS)
		return rc;
	stats->origin_pkts = o.total_pkts;
	stats->origin_bytes = o.total_bytes;
	stats->reply_pkts = r.total_pkts;
	stats->reply_bytes = r.total_bytes;
	stats->last_hit_s = last;
	return DOCA_SUCCESS;
}
