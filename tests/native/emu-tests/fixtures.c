/* Shared fixtures: initialisation, generation-aware entry submission, frame builders. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "emu_test.h"

struct et_completion et_done[ET_MAX_DONE];
int et_ndone;
void (*et_on_completion)(const struct et_completion *c);

static void record(struct doca_flow_pipe_entry *entry, uint16_t queue, enum doca_flow_entry_status status,
		   enum doca_flow_entry_op op, void *ctx)
{
	if (et_ndone >= ET_MAX_DONE)
		return;
	struct et_completion *c = &et_done[et_ndone++];
	c->entry = entry;
	c->queue = queue;
	c->status = status;
	c->op = op;
	c->ctx = ctx;
	if (et_on_completion)
		et_on_completion(c);
}

doca_error_t et_init(uint16_t queues, uint32_t depth)
{
	struct doca_flow_cfg *cfg;
	doca_error_t rc = doca_flow_cfg_create(&cfg);
	if (rc)
		return rc;
	doca_flow_cfg_set_pipe_queues(cfg, queues);
	doca_flow_cfg_set_queue_depth(cfg, depth);
	doca_flow_cfg_set_mode_args(cfg, "vnf,hws");
	doca_flow_cfg_set_cb_entry_process(cfg, record);
	rc = doca_flow_init(cfg);
	doca_flow_cfg_destroy(cfg);
	return rc;
}

doca_error_t et_init_ct(uint16_t queues, uint32_t depth, uint32_t ct_entries)
{
	doca_error_t rc = et_init(queues, depth);
	if (rc)
		return rc;
	struct doca_flow_ct_cfg *ct;
	doca_flow_ct_cfg_create(&ct);
	doca_flow_ct_cfg_set_nr_entries(ct, ct_entries);
	rc = doca_flow_ct_init(ct);
	doca_flow_ct_cfg_destroy(ct);
	return rc;
}

struct doca_flow_port *et_port(uint16_t id)
{
	struct doca_flow_port_cfg *pc;
	struct doca_flow_port *port = NULL;
	doca_flow_port_cfg_create(&pc);
	doca_flow_port_cfg_set_port_id(pc, id);
	doca_flow_port_cfg_set_devargs(pc, "emu");
	if (doca_flow_port_start(pc, &port) != DOCA_SUCCESS)
		port = NULL;
	doca_flow_port_cfg_destroy(pc);
	return port;
}

uint32_t et_flag_no_wait(void)
{
	return emu_generation() == 'B' ? DOCA_EMU_GEN_B_NO_WAIT : DOCA_EMU_GEN_A_NO_WAIT;
}

uint32_t et_flag_batch(void)
{
	return emu_generation() == 'B' ? DOCA_EMU_GEN_B_WAIT_FOR_BATCH : DOCA_EMU_GEN_A_WAIT_FOR_BATCH;
}

typedef doca_error_t (*add_a_fn)(uint16_t, struct doca_flow_pipe *, const struct doca_flow_match *,
				 const struct doca_flow_actions *, const struct doca_flow_monitor *,
				 const struct doca_flow_fwd *, uint32_t, void *, struct doca_flow_pipe_entry **);
typedef doca_error_t (*add_b_fn)(uint16_t, struct doca_flow_pipe *, const struct doca_flow_match *, uint8_t,
				 const struct doca_flow_actions *, const struct doca_flow_monitor *,
				 const struct doca_flow_fwd *, uint32_t, void *, struct doca_flow_pipe_entry **);

/* Found by name, as the C# binding does, so one runner binary serves both generations. */
doca_error_t et_add(uint16_t q, struct doca_flow_pipe *pipe, const struct doca_flow_match *m, uint8_t action_idx,
		    struct doca_flow_actions *a, const struct doca_flow_monitor *mon, const struct doca_flow_fwd *fwd,
		    uint32_t flags, void *ctx, struct doca_flow_pipe_entry **e)
{
	add_b_fn b = (add_b_fn)dlsym(RTLD_DEFAULT, "doca_flow_pipe_basic_add_entry");
	if (b)
		return b(q, pipe, m, action_idx, a, mon, fwd, flags, ctx, e);
	add_a_fn fa = (add_a_fn)dlsym(RTLD_DEFAULT, "doca_flow_pipe_add_entry");
	if (a)
		a->action_idx = action_idx;
	return fa(q, pipe, m, a, mon, fwd, flags, ctx, e);
}

struct doca_flow_pipe *et_pipe(struct doca_flow_port *port, uint32_t fields, int is_root,
			       const struct doca_flow_fwd *fwd_miss)
{
	struct doca_flow_pipe_cfg *pc;
	struct doca_flow_pipe *pipe = NULL;
	struct doca_flow_match m = {.fields = fields};
	if (doca_flow_pipe_cfg_create(&pc, port) != DOCA_SUCCESS)
		return NULL;
	doca_flow_pipe_cfg_set_name(pc, "test");
	doca_flow_pipe_cfg_set_type(pc, DOCA_FLOW_PIPE_BASIC);
	doca_flow_pipe_cfg_set_is_root(pc, is_root);
	doca_flow_pipe_cfg_set_nr_entries(pc, 1024);
	doca_flow_pipe_cfg_set_match(pc, &m, &m);
	if (doca_flow_pipe_create(pc, NULL, fwd_miss, &pipe) != DOCA_SUCCESS)
		pipe = NULL;
	doca_flow_pipe_cfg_destroy(pc);
	return pipe;
}

void et_put_ip4(uint8_t *p, uint32_t ip)
{
	p[0] = (uint8_t)(ip >> 24);
	p[1] = (uint8_t)(ip >> 16);
	p[2] = (uint8_t)(ip >> 8);
	p[3] = (uint8_t)ip;
}

void et_tuple4(struct doca_flow_match *m, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto,
	       uint32_t vni)
{
	memset(m, 0, sizeof *m);
	m->ip_version = 4;
	m->l4_proto = proto;
	m->src_port = sport;
	m->dst_port = dport;
	m->vni = vni;
	et_put_ip4(m->src_ip, src);
	et_put_ip4(m->dst_ip, dst);
}

struct doca_flow_fwd et_fwd_port(uint16_t port)
{
	struct doca_flow_fwd f = {.type = DOCA_FLOW_FWD_PORT, .port_id = port};
	return f;
}

struct doca_flow_fwd et_fwd_type(uint32_t type)
{
	struct doca_flow_fwd f = {.type = type};
	return f;
}

struct doca_flow_fwd et_fwd_pipe(struct doca_flow_pipe *p)
{
	struct doca_flow_fwd f = {.type = DOCA_FLOW_FWD_PIPE, .next_pipe = p};
	return f;
}

struct doca_flow_pipe_entry *et_add_ok(struct doca_flow_port *port, struct doca_flow_pipe *pipe,
				       const struct doca_flow_match *m, struct doca_flow_actions *a,
				       const struct doca_flow_monitor *mon, const struct doca_flow_fwd *fwd)
{
	struct doca_flow_pipe_entry *e = NULL;
	doca_error_t rc = et_add(0, pipe, m, 0, a, mon, fwd, et_flag_no_wait(), NULL, &e);
	if (rc != DOCA_SUCCESS) {
		et_fail(__FILE__, __LINE__, "add entry: %s", doca_error_get_name(rc));
		return NULL;
	}
	rc = doca_flow_entries_process(port, 0, 0, 0);
	if (rc != DOCA_SUCCESS || doca_flow_pipe_entry_get_status(e) != DOCA_FLOW_ENTRY_STATUS_SUCCESS) {
		et_fail(__FILE__, __LINE__, "entry did not complete: %s", doca_error_get_name(rc));
		return NULL;
	}
	return e;
}

const uint8_t et_mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
const uint8_t et_mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
const uint8_t et_mac_c[6] = {0x02, 0, 0, 0, 0, 0x0c};
const uint8_t et_mac_d[6] = {0x02, 0, 0, 0, 0, 0x0d};

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t et_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t et_rd32(const uint8_t *p)
{
	return (uint32_t)et_rd16(p) << 16 | et_rd16(p + 2);
}

/* Ones' complement sum, written independently of the emulator's. */
static uint32_t add_words(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t finish(uint32_t s)
{
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)(~s & 0xffff);
}

static uint32_t pseudo_sum(const uint8_t *ip, uint32_t l4len, uint8_t proto)
{
	if ((ip[0] >> 4) == 4)
		return add_words(ip + 12, 8) + proto + l4len;
	return add_words(ip + 8, 32) + proto + (l4len & 0xffff) + (l4len >> 16);
}

static void set_l4_csum(uint8_t *ip, uint8_t *l4, uint32_t l4len, uint8_t proto)
{
	uint32_t at = proto == 6 ? 16 : (proto == 17 ? 6 : 2);
	w16(l4 + at, 0);
	uint32_t s = add_words(l4, l4len) + (proto == 1 ? 0 : pseudo_sum(ip, l4len, proto));
	uint16_t c = finish(s);
	if (proto == 17 && c == 0)
		c = 0xffff;
	w16(l4 + at, c);
}

static uint32_t eth(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, uint16_t type)
{
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	w16(b + 12, type);
	return 14;
}

static void ip4_header(uint8_t *ip, uint32_t total, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	w16(ip + 2, (uint16_t)total);
	w16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	et_put_ip4(ip + 12, src);
	et_put_ip4(ip + 16, dst);
	w16(ip + 10, finish(add_words(ip, 20)));
}

uint32_t et_frame4(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint32_t dst, uint8_t proto,
		   uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t l4h = proto == 6 ? 20 : 8;
	uint32_t off = eth(buf, dmac, smac, 0x0800);
	uint8_t *ip = buf + off, *l4 = ip + 20;
	memset(l4, 0, l4h);
	w16(l4, sport);
	w16(l4 + 2, dport);
	if (proto == 6) {
		l4[12] = 0x50;
		l4[13] = 0x02;
		w16(l4 + 14, 65535);
	} else {
		w16(l4 + 4, (uint16_t)(8 + payload));
	}
	for (uint32_t i = 0; i < payload; i++)
		l4[l4h + i] = (uint8_t)i;
	ip4_header(ip, 20 + l4h + payload, proto, src, dst);
	set_l4_csum(ip, l4, l4h + payload, proto);
	return off + 20 + l4h + payload;
}

uint32_t et_frame6_udp(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, const uint8_t src[16],
		       const uint8_t dst[16], uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t off = eth(buf, dmac, smac, 0x86DD);
	uint8_t *ip = buf + off, *l4 = ip + 40;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	w16(ip + 4, (uint16_t)(8 + payload));
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	w16(l4, sport);
	w16(l4 + 2, dport);
	w16(l4 + 4, (uint16_t)(8 + payload));
	for (uint32_t i = 0; i < payload; i++)
		l4[8 + i] = (uint8_t)(i * 3);
	set_l4_csum(ip, l4, 8 + payload, 17);
	return off + 40 + 8 + payload;
}

uint32_t et_icmp4_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t ident)
{
	uint32_t off = eth(buf, et_mac_b, et_mac_a, 0x0800);
	uint8_t *ip = buf + off, *l4 = ip + 20;
	memset(l4, 0, 16);
	l4[0] = 8;
	w16(l4 + 4, ident);
	w16(l4 + 6, 1);
	ip4_header(ip, 20 + 16, 1, src, dst);
	set_l4_csum(ip, l4, 16, 1);
	return off + 36;
}

uint32_t et_vxlan4(uint8_t *buf, const uint8_t *inner, uint32_t inner_len, uint32_t src, uint32_t dst, uint32_t vni,
		   uint16_t sport)
{
	uint32_t off = eth(buf, et_mac_d, et_mac_c, 0x0800);
	uint8_t *ip = buf + off, *udp = ip + 20;
	w16(udp, sport);
	w16(udp + 2, 4789);
	w16(udp + 4, (uint16_t)(16 + inner_len));
	w16(udp + 6, 0);
	memset(udp + 8, 0, 8);
	udp[8] = 0x08;
	udp[12] = (uint8_t)(vni >> 16);
	udp[13] = (uint8_t)(vni >> 8);
	udp[14] = (uint8_t)vni;
	memcpy(udp + 16, inner, inner_len);
	ip4_header(ip, 20 + 16 + inner_len, 17, src, dst);
	return off + 20 + 16 + inner_len;
}

uint32_t et_gre4(uint8_t *buf, const uint8_t *inner, uint32_t inner_len, uint16_t proto, uint32_t src, uint32_t dst,
		 uint32_t key)
{
	uint32_t off = eth(buf, et_mac_d, et_mac_c, 0x0800);
	uint8_t *ip = buf + off, *gre = ip + 20;
	w16(gre, 0x2000);
	w16(gre + 2, proto);
	et_put_ip4(gre + 4, key);
	memcpy(gre + 8, inner, inner_len);
	ip4_header(ip, 20 + 8 + inner_len, 47, src, dst);
	return off + 20 + 8 + inner_len;
}

int et_ip4_csum_ok(const uint8_t *frame, uint32_t l3)
{
	return finish(add_words(frame + l3, (uint32_t)(frame[l3] & 15) * 4)) == 0;
}

int et_l4_csum_ok(const uint8_t *frame, uint32_t l3)
{
	const uint8_t *ip = frame + l3;
	uint32_t l4off, l4len;
	uint8_t proto;
	if ((ip[0] >> 4) == 4) {
		l4off = (uint32_t)(ip[0] & 15) * 4;
		l4len = et_rd16(ip + 2) - l4off;
		proto = ip[9];
	} else {
		l4off = 40;
		l4len = et_rd16(ip + 4);
		proto = ip[6];
	}
	const uint8_t *l4 = ip + l4off;
	if (proto == 17 && (ip[0] >> 4) == 4 && et_rd16(l4 + 6) == 0)
		return 1;
	uint32_t s = add_words(l4, l4len) + (proto == 1 ? 0 : pseudo_sum(ip, l4len, proto));
	return finish(s) == 0;
}
