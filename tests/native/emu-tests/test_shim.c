/* The shim over the emulator: flat specs in, the same packets out, in either generation. */
#include <string.h>

#include "emu_test.h"
#include "offload_doca_shim.h"

static struct doca_flow_port *vm, *uplink;

static void tuple(struct ofl_tuple *t, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint8_t proto,
		  uint32_t vni)
{
	memset(t, 0, sizeof *t);
	et_put_ip4(t->src_ip, src);
	et_put_ip4(t->dst_ip, dst);
	t->src_port = sp;
	t->dst_port = dp;
	t->ip_version = 4;
	t->l4_proto = proto;
	t->vni = vni;
}

static struct doca_flow_pipe *root_pipe(struct doca_flow_port *port, uint32_t fields)
{
	struct ofl_pipe_spec s = {.match_fields = fields, .nr_entries = 64, .is_root = 1};
	struct doca_flow_pipe *p = NULL;
	strcpy(s.name, "shim-root");
	return ofl_pipe_create(port, &s, &p) == DOCA_SUCCESS ? p : NULL;
}

TEST(shim_abi_version_sizes_and_generation)
{
	uint32_t sizes[16];
	uint32_t offs[128];
	CHECK_EQ(ofl_shim_abi_version(), 2);
	CHECK_EQ(ofl_shim_struct_sizes(sizes, 16), 7);
	CHECK_EQ(sizes[0], 48);
	CHECK_EQ(sizes[2], 128);
	CHECK_EQ(sizes[5], 360);
	int n = ofl_shim_struct_offsets(offs, 128);
	CHECK(n > 40);
	CHECK_EQ(offs[0], 0);
	CHECK_EQ(ofl_shim_api_generation(), emu_generation() == 'B' ? 2 : 1);
}

TEST(shim_entry_forwards_with_nat_and_counts)
{
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	struct doca_flow_resource_query q;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	et_port(1);
	struct doca_flow_pipe *p = root_pipe(vm, 0x1f);
	CHECK(p != NULL);
	struct ofl_entry_spec s;
	memset(&s, 0, sizeof s);
	tuple(&s.match, 0x0a000001, 0xcb007101, 1000, 80, 6, 0);
	s.action.fate = OFL_FATE_PORT;
	s.action.port = 1;
	s.action.rewrites = OFL_RW_DST_IP | OFL_RW_DST_PORT;
	et_put_ip4(s.action.dst_ip, 0x0a000063);
	s.action.dst_port = 8080;
	s.monitor = OFL_MON_COUNT;
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_BATCH, (void *)5, &e), DOCA_SUCCESS);
	CHECK_EQ(emu_queue_staged(0, 0), 1);
	CHECK_EQ(doca_flow_entries_process(vm, 0, 0, 0), DOCA_SUCCESS);
	CHECK(et_done[0].ctx == (void *)5);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0xcb007101, 6, 1000, 80, 10);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(et_rd32(out + 30), 0x0a000063);
	CHECK_EQ(et_rd16(out + 36), 8080);
	CHECK(et_l4_csum_ok(out, 14));
	CHECK_EQ(doca_flow_resource_query_entry(e, &q), DOCA_SUCCESS);
	CHECK_EQ(q.total_pkts, 1);

	s.action.fate = OFL_FATE_DROP;
	CHECK_EQ(ofl_entry_update(p, 0, e, &s, OFL_SUBMIT_NO_WAIT), DOCA_SUCCESS);
	doca_flow_entries_process(vm, 0, 0, 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_DROP);

	CHECK_EQ(ofl_entry_remove(0, e, OFL_SUBMIT_NO_WAIT), DOCA_SUCCESS);
	doca_flow_entries_process(vm, 0, 0, 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
}

TEST(shim_encap_then_decap_round_trips_the_inner_frame)
{
	uint8_t f[256], out[512], back[512];
	uint32_t ol = sizeof out, bl = sizeof back;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	uplink = et_port(1);
	struct doca_flow_pipe *tx = root_pipe(vm, 0x1f), *rx = root_pipe(uplink, 0x3f);
	CHECK(tx != NULL && rx != NULL);
	struct ofl_entry_spec s;
	memset(&s, 0, sizeof s);
	tuple(&s.match, 0x0a000001, 0x0a000002, 1000, 80, 17, 0);
	s.action.fate = OFL_FATE_PORT;
	s.action.port = 1;
	s.action.rewrites = OFL_RW_ENCAP;
	s.action.encap.tunnel = OFL_TUNNEL_GRE;
	s.action.encap.ip_version = 4;
	s.action.encap.vni = 4242;
	et_put_ip4(s.action.encap.src_ip, 0xc0000201);
	et_put_ip4(s.action.encap.dst_ip, 0xc0000202);
	CHECK_EQ(ofl_entry_add(tx, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_SUCCESS);
	memset(&s, 0, sizeof s);
	tuple(&s.match, 0x0a000001, 0x0a000002, 1000, 80, 17, 4242);
	s.action.fate = OFL_FATE_PORT;
	s.action.port = 0;
	s.action.rewrites = OFL_RW_DECAP;
	CHECK_EQ(ofl_entry_add(rx, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_SUCCESS);
	doca_flow_entries_process(vm, 0, 0, 0);
	doca_flow_entries_process(uplink, 0, 0, 0);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 17, 1000, 80, 31);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(ol, n + 42);
	CHECK_EQ(emu_inject_packet(1, out, ol, back, &bl, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_EQ(bl, n);
	CHECK_MEM(back, f, n);
}

TEST(shim_rejects_bad_specs_without_calling_doca)
{
	struct doca_flow_pipe_entry *e;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	struct doca_flow_pipe *p = root_pipe(vm, 0x1f);
	struct ofl_entry_spec s;
	memset(&s, 0, sizeof s);
	tuple(&s.match, 1, 2, 3, 4, 6, 0);
	s.action.fate = 9;
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	s.action.fate = OFL_FATE_PORT;
	s.match.ip_version = 5;
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	s.match.ip_version = 4;
	CHECK_EQ(ofl_entry_add(p, 0, &s, 7, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	s.action.rewrites = OFL_RW_ENCAP; /* no tunnel type */
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(emu_live_entries(), 0);
}

TEST(shim_ct_entry_translates_both_directions)
{
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	struct ofl_ct_stats st;
	CHECK_EQ(et_init_ct(1, 0, 64), DOCA_SUCCESS);
	vm = et_port(0);
	uplink = et_port(1);
	struct ofl_pipe_spec ps = {.kind = OFL_PIPE_CT, .is_root = 1};
	struct doca_flow_pipe *ct = NULL;
	CHECK_EQ(ofl_pipe_create(vm, &ps, &ct), DOCA_SUCCESS);
	struct ofl_pipe_spec up = {.is_root = 1, .miss_fate = OFL_FATE_PIPE, .miss_next_pipe = (uint64_t)(uintptr_t)ct};
	struct doca_flow_pipe *upr = NULL;
	CHECK_EQ(ofl_pipe_create(uplink, &up, &upr), DOCA_SUCCESS);
	struct ofl_ct_spec s;
	memset(&s, 0, sizeof s);
	tuple(&s.origin, 0x0a000001, 0x08080808, 1000, 53, 17, 0);
	tuple(&s.reply, 0x08080808, 0xcb007105, 53, 40000, 17, 0);
	s.origin_action.fate = OFL_FATE_PORT;
	s.origin_action.port = 1;
	s.origin_action.rewrites = OFL_RW_SRC_IP | OFL_RW_SRC_PORT;
	et_put_ip4(s.origin_action.src_ip, 0xcb007105);
	s.origin_action.src_port = 40000;
	s.reply_action.fate = OFL_FATE_PORT;
	s.reply_action.port = 0;
	s.reply_action.rewrites = OFL_RW_DST_IP | OFL_RW_DST_PORT;
	et_put_ip4(s.reply_action.dst_ip, 0x0a000001);
	s.reply_action.dst_port = 1000;
	s.timeout_s = 60;
	CHECK_EQ(ofl_ct_entry_add(ct, 0, &s, (void *)9, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_ct_entries_process(vm, 0, 0, 0, NULL), DOCA_SUCCESS);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x08080808, 17, 1000, 53, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(et_rd32(out + 26), 0xcb007105);
	n = et_frame4(f, et_mac_a, et_mac_b, 0x08080808, 0xcb007105, 17, 53, 40000, 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_EQ(et_rd16(out + 36), 1000);
	CHECK_EQ(ofl_ct_entry_query(ct, 0, e, &st), DOCA_SUCCESS);
	CHECK_EQ(st.origin_pkts, 1);
	CHECK_EQ(st.reply_pkts, 1);
	CHECK_EQ(ofl_ct_entry_remove(ct, 0, e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm, 0, 0, 0, NULL);
	CHECK_EQ(emu_live_entries(), 0);
}

TEST(shim_ct_add_failure_releases_the_prepared_slot)
{
	struct doca_flow_pipe_entry *e = NULL;
	CHECK_EQ(et_init_ct(1, 0, 64), DOCA_SUCCESS);
	vm = et_port(0);
	struct ofl_pipe_spec ps = {.kind = OFL_PIPE_CT, .is_root = 1};
	struct doca_flow_pipe *ct = NULL;
	CHECK_EQ(ofl_pipe_create(vm, &ps, &ct), DOCA_SUCCESS);
	struct ofl_ct_spec s;
	memset(&s, 0, sizeof s);
	tuple(&s.origin, 1, 2, 3, 4, 6, 0);
	tuple(&s.reply, 2, 1, 4, 3, 6, 0);
	s.origin_action.fate = OFL_FATE_SOFTWARE;
	s.reply_action.fate = OFL_FATE_SOFTWARE;
	emu_fail_next_submits(1, DOCA_ERROR_AGAIN);
	CHECK_EQ(ofl_ct_entry_add(ct, 0, &s, NULL, &e), DOCA_ERROR_AGAIN);
	CHECK(e == NULL);
	CHECK_EQ(emu_live_entries(), 0);
	CHECK_EQ(ofl_ct_entry_add(ct, 0, &s, NULL, &e), DOCA_SUCCESS);
}
