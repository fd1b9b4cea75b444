/* TTL / hop-limit decrement in the packet model and through the shim: the software executor's rules. */
#include <string.h>

#include "emu_test.h"
#include "offload_doca_shim.h"

#define ALL DOCA_EMU_MATCH_5TUPLE
#define A4 0x0a000001u
#define B4 0x0a000002u
#define UL_A 0xc0000201u
#define UL_B 0xc0000202u

static struct doca_flow_port *vm, *uplink;
static uint8_t f[2048], out[2048];
static uint32_t ol;
static uint16_t op;

static struct doca_flow_pipe *setup(void)
{
	if (et_init(1, 0) != DOCA_SUCCESS)
		return NULL;
	vm = et_port(0);
	uplink = et_port(1);
	et_port(2);
	return et_pipe(vm, ALL, 1, NULL);
}

static int inject(uint16_t port, const uint8_t *frame, uint32_t n)
{
	ol = sizeof out;
	return emu_inject_packet(port, frame, n, out, &ol, &op);
}

/* The IPv4 header checksum computed from scratch (the field taken as zero), independently of the emulator. */
static uint16_t full_ip4_csum(const uint8_t *ip)
{
	uint32_t s = 0;
	uint32_t n = (uint32_t)(ip[0] & 15) * 4;
	for (uint32_t i = 0; i < n; i += 2)
		if (i != 10)
			s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)~s;
}

static void set_ttl4(uint8_t *ip, uint8_t ttl, uint16_t id)
{
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[8] = ttl;
	uint16_t c = full_ip4_csum(ip);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

static struct doca_flow_pipe_entry *add_ttl_entry(struct doca_flow_pipe *p, uint32_t extra_flags)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_monitor mon = {.flags = DOCA_EMU_MONITOR_COUNT};
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DEC_TTL | extra_flags, .dst_port = 8080};
	et_put_ip4(a.dst_ip, 0x0a000063);
	et_tuple4(&m, A4, B4, 1000, 80, 17, 0);
	return et_add_ok(vm, p, &m, &a, &mon, &fwd);
}

TEST(ttl_ipv4_decrement_equals_a_full_checksum_recomputation)
{
	struct doca_flow_pipe *p = setup();
	CHECK(p != NULL);
	CHECK(add_ttl_entry(p, 0) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1000, 80, 12);
	/* Every TTL that survives, with identifiers that move the checksum through its carries. */
	for (uint32_t ttl = 2; ttl <= 255; ttl++) {
		for (uint32_t id = 0; id < 0x10000; id += 0x3f01) {
			set_ttl4(f + 14, (uint8_t)ttl, (uint16_t)id);
			CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
			CHECK_EQ(ol, n);
			CHECK_EQ(out[14 + 8], ttl - 1);
			CHECK_EQ(et_rd16(out + 24), full_ip4_csum(out + 14));
			CHECK(et_ip4_csum_ok(out, 14));
			CHECK_MEM(out, f, 22);
			CHECK_MEM(out + 23, f + 23, 1);
			CHECK_MEM(out + 26, f + 26, n - 26);
		}
	}
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 0);
}

TEST(ttl_ipv4_one_and_zero_are_dropped_and_counted_as_ttl_exceeded)
{
	struct doca_flow_pipe *p = setup();
	struct doca_flow_resource_query q;
	CHECK(p != NULL);
	struct doca_flow_pipe_entry *e = add_ttl_entry(p, 0);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1000, 80, 4);
	set_ttl4(f + 14, 1, 7);
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	set_ttl4(f + 14, 0, 7);
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 2);
	CHECK_EQ(emu_drop_count(EMU_DROP_FATE), 0);
	set_ttl4(f + 14, 2, 7);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(out[22], 1);
	/* The entry matched all three: the device counts what hit it, dropped or not. */
	CHECK_EQ(doca_flow_resource_query_entry(e, &q), DOCA_SUCCESS);
	CHECK_EQ(q.total_pkts, 3);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 2);
	CHECK_EQ(emu_drop_count(7), 0);
	emu_reset();
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 0);
}

TEST(ttl_fate_drop_is_counted_under_its_own_reason)
{
	struct doca_flow_fwd miss = et_fwd_type(DOCA_FLOW_FWD_DROP);
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	CHECK(et_pipe(vm, ALL, 1, &miss) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1, 2, 0);
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	CHECK_EQ(emu_drop_count(EMU_DROP_FATE), 1);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 0);
}

TEST(ttl_after_nat_the_header_checksum_still_verifies)
{
	struct doca_flow_pipe *p = setup();
	CHECK(p != NULL);
	CHECK(add_ttl_entry(p, DOCA_EMU_ACTION_SET_DST_IP | DOCA_EMU_ACTION_SET_DST_PORT) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1000, 80, 30);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(out[22], 63);
	CHECK_EQ(et_rd32(out + 30), 0x0a000063);
	CHECK_EQ(et_rd16(out + 36), 8080);
	CHECK_EQ(et_rd16(out + 24), full_ip4_csum(out + 14));
	CHECK(et_l4_csum_ok(out, 14));
}

TEST(ttl_ipv6_hop_limit_decrements_and_one_drops)
{
	uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t d6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	struct doca_flow_pipe *p = setup();
	CHECK(p != NULL);
	struct doca_flow_match m = {.ip_version = 6, .l4_proto = 17, .src_port = 5353, .dst_port = 53};
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DEC_TTL};
	memcpy(m.src_ip, s6, 16);
	memcpy(m.dst_ip, d6, 16);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame6_udp(f, et_mac_b, et_mac_a, s6, d6, 5353, 53, 9);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(out[14 + 7], 63);
	CHECK_MEM(out, f, 21);
	CHECK_MEM(out + 22, f + 22, n - 22);
	CHECK(et_l4_csum_ok(out, 14)); /* the hop limit is outside the pseudo-header */
	f[14 + 7] = 1;
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	f[14 + 7] = 0;
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 2);
}

TEST(ttl_with_encap_decrements_the_inner_packet_before_encapsulating)
{
	struct doca_flow_pipe *p = setup();
	CHECK(p != NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_ENCAP | DOCA_EMU_ACTION_DEC_TTL};
	a.encap.tunnel = DOCA_EMU_TUNNEL_VXLAN;
	a.encap.ip_version = 4;
	a.encap.vni = 77;
	a.encap.ttl = 10;
	memcpy(a.encap.src_mac, et_mac_c, 6);
	memcpy(a.encap.dst_mac, et_mac_d, 6);
	et_put_ip4(a.encap.src_ip, UL_A);
	et_put_ip4(a.encap.dst_ip, UL_B);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 20);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(ol, n + 50);
	CHECK_EQ(out[22], 10); /* the outer TTL is the template's, not decremented */
	CHECK(et_ip4_csum_ok(out, 14));
	const uint8_t *inner = out + 50;
	CHECK_EQ(inner[22], 63);
	CHECK_EQ(et_rd16(inner + 24), full_ip4_csum(inner + 14));
	CHECK(et_l4_csum_ok(inner, 14));
	/* An inner TTL of 1 never gets a tunnel header: it is dropped first. */
	set_ttl4(f + 14, 1, 0x1234);
	CHECK_EQ(inject(0, f, n), EMU_PKT_DROP);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 1);
}

TEST(ttl_with_decap_decrements_the_decapsulated_packet_not_the_outer_one)
{
	uint8_t inner[256];
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	uplink = et_port(1);
	struct doca_flow_pipe *p = et_pipe(uplink, ALL | DOCA_EMU_MATCH_VNI, 1, NULL);
	CHECK(p != NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(0);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DECAP | DOCA_EMU_ACTION_DEC_TTL};
	et_tuple4(&m, B4, A4, 80, 1000, 6, 5001);
	CHECK(et_add_ok(uplink, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 6, 80, 1000, 16);
	uint32_t n = et_vxlan4(f, inner, in, UL_B, UL_A, 5001, 51000);
	f[22] = 1; /* the outer TTL is not looked at */
	CHECK_EQ(inject(1, f, n), EMU_PKT_PORT);
	CHECK_EQ(ol, in);
	CHECK_EQ(out[22], 63);
	CHECK_EQ(et_rd16(out + 24), full_ip4_csum(out + 14));
	CHECK_MEM(out + 26, inner + 26, in - 26);
}

TEST(ttl_tunnel_kept_decrements_the_inner_packet_it_is_keyed_on)
{
	uint8_t inner[256];
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	uplink = et_port(1);
	struct doca_flow_pipe *p = et_pipe(uplink, ALL | DOCA_EMU_MATCH_VNI, 1, NULL);
	CHECK(p != NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(0);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DEC_TTL};
	et_tuple4(&m, B4, A4, 80, 1000, 17, 42);
	CHECK(et_add_ok(uplink, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 17, 80, 1000, 5);
	uint32_t n = et_gre4(f, inner, in, 0x6558, UL_B, UL_A, 42);
	CHECK_EQ(inject(1, f, n), EMU_PKT_PORT);
	CHECK_EQ(ol, n);
	CHECK_EQ(out[22], 64); /* outer untouched */
	CHECK_EQ(out[42 + 22], 63);
	CHECK_EQ(et_rd16(out + 42 + 24), full_ip4_csum(out + 42 + 14));
}

/* ---- through the shim ---- */

static void shim_tuple(struct ofl_tuple *t, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint8_t proto)
{
	memset(t, 0, sizeof *t);
	et_put_ip4(t->src_ip, src);
	et_put_ip4(t->dst_ip, dst);
	t->src_port = sp;
	t->dst_port = dp;
	t->ip_version = 4;
	t->l4_proto = proto;
}

TEST(ttl_shim_maps_dec_ttl_and_rejects_unknown_rewrite_bits)
{
	struct doca_flow_pipe_entry *e;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	vm = et_port(0);
	et_port(1);
	struct ofl_pipe_spec ps = {.match_fields = 0x1f, .nr_entries = 16, .is_root = 1};
	struct doca_flow_pipe *p = NULL;
	CHECK_EQ(ofl_pipe_create(vm, &ps, &p), DOCA_SUCCESS);
	struct ofl_entry_spec s;
	memset(&s, 0, sizeof s);
	shim_tuple(&s.match, A4, B4, 1000, 80, 6);
	s.action.fate = OFL_FATE_PORT;
	s.action.port = 1;
	s.action.rewrites = OFL_RW_DEC_TTL | (1u << 9);
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(emu_live_entries(), 0);
	s.action.rewrites = OFL_RW_DEC_TTL;
	CHECK_EQ(ofl_entry_add(p, 0, &s, OFL_SUBMIT_NO_WAIT, NULL, &e), DOCA_SUCCESS);
	doca_flow_entries_process(vm, 0, 0, 0);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 8);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(out[22], 63);
	CHECK(et_ip4_csum_ok(out, 14));
	/* An update can take the decrement away again. */
	s.action.rewrites = 0;
	CHECK_EQ(ofl_entry_update(p, 0, e, &s, OFL_SUBMIT_NO_WAIT), DOCA_SUCCESS);
	doca_flow_entries_process(vm, 0, 0, 0);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(out[22], 64);
}

TEST(ttl_shim_ct_entry_decrements_both_directions_with_nat)
{
	struct doca_flow_pipe_entry *e;
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
	shim_tuple(&s.origin, A4, 0x08080808, 1000, 53, 17);
	shim_tuple(&s.reply, 0x08080808, 0xcb007105, 53, 40000, 17);
	s.origin_action.fate = OFL_FATE_PORT;
	s.origin_action.port = 1;
	s.origin_action.rewrites = OFL_RW_SRC_IP | OFL_RW_SRC_PORT | OFL_RW_DEC_TTL;
	et_put_ip4(s.origin_action.src_ip, 0xcb007105);
	s.origin_action.src_port = 40000;
	s.reply_action.fate = OFL_FATE_PORT;
	s.reply_action.port = 0;
	s.reply_action.rewrites = OFL_RW_DST_IP | OFL_RW_DST_PORT | OFL_RW_DEC_TTL;
	et_put_ip4(s.reply_action.dst_ip, A4);
	s.reply_action.dst_port = 1000;
	CHECK_EQ(ofl_ct_entry_add(ct, 0, &s, NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_ct_entries_process(vm, 0, 0, 0, NULL), DOCA_SUCCESS);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, 0x08080808, 17, 1000, 53, 3);
	CHECK_EQ(inject(0, f, n), EMU_PKT_PORT);
	CHECK_EQ(out[22], 63);
	CHECK_EQ(et_rd16(out + 24), full_ip4_csum(out + 14));
	CHECK(et_l4_csum_ok(out, 14));
	n = et_frame4(f, et_mac_a, et_mac_b, 0x08080808, 0xcb007105, 17, 53, 40000, 3);
	set_ttl4(f + 14, 50, 1);
	CHECK_EQ(inject(1, f, n), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_EQ(out[22], 49);
	CHECK_EQ(et_rd16(out + 24), full_ip4_csum(out + 14));
	set_ttl4(f + 14, 1, 1);
	CHECK_EQ(inject(1, f, n), EMU_PKT_DROP);
	CHECK_EQ(emu_drop_count(EMU_DROP_TTL_EXCEEDED), 1);
}
