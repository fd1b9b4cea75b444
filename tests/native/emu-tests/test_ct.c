/* Flow CT: prepare/add with both directions, per-direction actions (NAT), query, rm, aging. */
#include <string.h>

#include "emu_test.h"

#define VM 0x0a000001u
#define DNS 0x08080808u
#define PUB 0xcb007105u

static struct doca_flow_port *vm_port, *uplink;
static struct doca_flow_pipe *ct;

static int setup(uint32_t capacity)
{
	if (et_init_ct(1, 0, capacity) != DOCA_SUCCESS)
		return 0;
	vm_port = et_port(0);
	uplink = et_port(1);
	struct doca_flow_pipe_cfg *pc;
	doca_flow_pipe_cfg_create(&pc, vm_port);
	doca_flow_pipe_cfg_set_type(pc, DOCA_FLOW_PIPE_CT);
	doca_flow_pipe_cfg_set_is_root(pc, true);
	if (doca_flow_pipe_create(pc, NULL, NULL, &ct) != DOCA_SUCCESS)
		return 0;
	doca_flow_pipe_cfg_destroy(pc);
	/* The uplink's root sends everything to the same CT table. */
	struct doca_flow_fwd to_ct = et_fwd_pipe(ct);
	return et_pipe(uplink, 0, 1, &to_ct) != NULL;
}

static doca_error_t snat_entry(uint16_t vm_sport, uint32_t timeout, struct doca_flow_pipe_entry **out)
{
	struct doca_flow_match o, r;
	struct doca_flow_actions ao = {.flags = DOCA_EMU_ACTION_SET_SRC_IP | DOCA_EMU_ACTION_SET_SRC_PORT,
				       .src_port = 40000};
	struct doca_flow_actions ar = {.flags = DOCA_EMU_ACTION_SET_DST_IP | DOCA_EMU_ACTION_SET_DST_PORT,
				       .dst_port = vm_sport};
	struct doca_flow_fwd fo = et_fwd_port(1), fr = et_fwd_port(0);
	struct doca_flow_pipe_entry *e;
	bool found = true;
	et_put_ip4(ao.src_ip, PUB);
	et_put_ip4(ar.dst_ip, VM);
	et_tuple4(&o, VM, DNS, vm_sport, 53, 17, 0);
	et_tuple4(&r, DNS, PUB, 53, 40000, 17, 0);
	doca_error_t rc = doca_flow_ct_entry_prepare(0, ct, 0, &o, 0, &r, 0, &e, &found);
	if (rc != DOCA_SUCCESS)
		return rc;
	if (found)
		return DOCA_ERROR_UNEXPECTED;
	rc = doca_flow_ct_add_entry(0, ct, 0, &o, &r, &ao, &ar, &fo, &fr, timeout, (void *)0xC7, e);
	*out = e;
	return rc;
}

TEST(ct_completions_come_only_from_ct_entries_process)
{
	struct doca_flow_pipe_entry *e;
	uint32_t processed = 99;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(vm_port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 0);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_IN_PROCESS);
	CHECK_EQ(doca_flow_ct_entries_process(vm_port, 0, 0, 0, &processed), DOCA_SUCCESS);
	CHECK_EQ(processed, 1);
	CHECK_EQ(et_ndone, 1);
	CHECK(et_done[0].ctx == (void *)0xC7);
	CHECK_EQ(et_done[0].op, DOCA_FLOW_ENTRY_OP_ADD);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_SUCCESS);
}

TEST(ct_snat_origin_and_reply_are_translated_both_ways)
{
	struct doca_flow_pipe_entry *e;
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL), DOCA_SUCCESS);

	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, VM, DNS, 17, 1000, 53, 12);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(ol, n);
	CHECK_EQ(et_rd32(out + 26), PUB);
	CHECK_EQ(et_rd32(out + 30), DNS);
	CHECK_EQ(et_rd16(out + 34), 40000);
	CHECK_EQ(et_rd16(out + 36), 53);
	CHECK(et_ip4_csum_ok(out, 14));
	CHECK(et_l4_csum_ok(out, 14));
	CHECK_MEM(out + 42, f + 42, n - 42);

	n = et_frame4(f, et_mac_a, et_mac_b, DNS, PUB, 17, 53, 40000, 30);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_EQ(et_rd32(out + 26), DNS);
	CHECK_EQ(et_rd32(out + 30), VM);
	CHECK_EQ(et_rd16(out + 36), 1000);
	CHECK(et_ip4_csum_ok(out, 14));
	CHECK(et_l4_csum_ok(out, 14));

	struct doca_flow_resource_query so, sr;
	uint64_t last;
	CHECK_EQ(doca_flow_ct_query_entry(0, ct, 0, e, &so, &sr, &last), DOCA_SUCCESS);
	CHECK_EQ(so.total_pkts, 1);
	CHECK_EQ(so.total_bytes, 14 + 20 + 8 + 12);
	CHECK_EQ(sr.total_pkts, 1);
	CHECK_EQ(sr.total_bytes, 14 + 20 + 8 + 30);
}

TEST(ct_unknown_connection_misses_to_software)
{
	struct doca_flow_pipe_entry *e;
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, VM, DNS, 17, 1001, 53, 12);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
	CHECK_EQ(op, 0);
	CHECK_MEM(out, f, n);
}

TEST(ct_tunnelled_packet_is_not_tracked)
{
	struct doca_flow_pipe_entry *e;
	uint8_t inner[256], f[512], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	uint32_t in = et_frame4(inner, et_mac_b, et_mac_a, VM, DNS, 17, 1000, 53, 12);
	uint32_t n = et_vxlan4(f, inner, in, 0xc0000201, 0xc0000202, 7, 50000);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
}

TEST(ct_prepare_is_full_at_capacity)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(2));
	CHECK_EQ(snat_entry(1, 0, &e), DOCA_SUCCESS);
	CHECK_EQ(snat_entry(2, 0, &e), DOCA_ERROR_ALREADY_EXIST); /* same reply tuple */
	struct doca_flow_match o, r;
	bool found;
	et_tuple4(&o, VM, DNS, 2, 53, 17, 0);
	et_tuple4(&r, DNS, PUB, 53, 40002, 17, 0);
	CHECK_EQ(doca_flow_ct_entry_prepare(0, ct, 0, &o, 0, &r, 0, &e, &found), DOCA_SUCCESS);
	et_tuple4(&o, VM, DNS, 3, 53, 17, 0);
	et_tuple4(&r, DNS, PUB, 53, 40003, 17, 0);
	CHECK_EQ(doca_flow_ct_entry_prepare(0, ct, 0, &o, 0, &r, 0, &e, &found), DOCA_ERROR_FULL);
}

TEST(ct_update_changes_the_reply_action)
{
	struct doca_flow_pipe_entry *e;
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	struct doca_flow_actions ar = {.flags = DOCA_EMU_ACTION_SET_DST_IP | DOCA_EMU_ACTION_SET_DST_PORT,
				       .dst_port = 2000};
	et_put_ip4(ar.dst_ip, 0x0a000009);
	CHECK_EQ(doca_flow_ct_update_entry(0, ct, 0, e, NULL, &ar, NULL, NULL, 0), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	CHECK_EQ(et_done[et_ndone - 1].op, DOCA_FLOW_ENTRY_OP_UPD);
	uint32_t n = et_frame4(f, et_mac_a, et_mac_b, DNS, PUB, 17, 53, 40000, 4);
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(et_rd32(out + 30), 0x0a000009);
	CHECK_EQ(et_rd16(out + 36), 2000);
}

TEST(ct_update_changes_a_directions_fwd_and_null_keeps_the_other)
{
	struct doca_flow_pipe_entry *e;
	uint8_t f[256], out[512];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	struct doca_flow_fwd to_host = {.type = DOCA_FLOW_FWD_NONE};
	struct doca_flow_fwd bad = {.type = 99};
	CHECK_EQ(doca_flow_ct_update_entry(0, ct, 0, e, NULL, NULL, NULL, &bad, 0), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(doca_flow_ct_update_entry(0, ct, 0, e, NULL, NULL, NULL, &to_host, 0), DOCA_SUCCESS);
	uint32_t n = et_frame4(f, et_mac_a, et_mac_b, DNS, PUB, 17, 53, 40000, 4);
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_PORT); /* an update takes effect at its completion */
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_MISS);
	n = et_frame4(f, et_mac_b, et_mac_a, VM, DNS, 17, 1000, 53, 4);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
}

TEST(ct_aged_connection_is_reported_through_aging_handle)
{
	struct doca_flow_pipe_entry *e;
	emu_set_time_ns(0);
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 30, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	emu_advance_time_ns(29ull * 1000000000ull);
	CHECK_EQ(doca_flow_aging_handle(vm_port, 0, 100, 0), -1);
	emu_advance_time_ns(1ull * 1000000000ull);
	CHECK_EQ(doca_flow_aging_handle(vm_port, 0, 100, 0), 1);
	CHECK_EQ(et_done[et_ndone - 1].op, DOCA_FLOW_ENTRY_OP_AGED);
	CHECK(et_done[et_ndone - 1].ctx == (void *)0xC7);
}

TEST(lifecycle_ct_entry_used_after_rm_is_not_found)
{
	struct doca_flow_pipe_entry *e;
	struct doca_flow_resource_query so, sr;
	CHECK(setup(16));
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	CHECK_EQ(doca_flow_ct_rm_entry(0, ct, 0, e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_ct_rm_entry(0, ct, 0, e), DOCA_ERROR_BAD_STATE);
	doca_flow_ct_entries_process(vm_port, 0, 0, 0, NULL);
	CHECK_EQ(et_done[et_ndone - 1].op, DOCA_FLOW_ENTRY_OP_DEL);
	CHECK_EQ(doca_flow_ct_query_entry(0, ct, 0, e, &so, &sr, NULL), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(doca_flow_ct_rm_entry(0, ct, 0, e), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(emu_live_entries(), 0);
	/* the same tuples can be tracked again */
	CHECK_EQ(snat_entry(1000, 0, &e), DOCA_SUCCESS);
}
