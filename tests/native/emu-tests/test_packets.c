/* Packet injection: what the entries say really happens to the bytes. */
#include <string.h>

#include "emu_test.h"

#define ALL DOCA_EMU_MATCH_5TUPLE
#define A4 0x0a000001u
#define B4 0x0a000002u
#define UL_A 0xc0000201u
#define UL_B 0xc0000202u

static struct doca_flow_port *vm, *uplink;
static uint8_t f[2048], out[2048];
static uint32_t ol;
static uint16_t op;

static struct doca_flow_pipe *setup(uint32_t fields, const struct doca_flow_fwd *miss)
{
	if (et_init(1, 0) != DOCA_SUCCESS)
		return NULL;
	vm = et_port(0);
	uplink = et_port(1);
	et_port(2);
	ol = sizeof out;
	return et_pipe(vm, fields, 1, miss);
}

static int inject(uint16_t port, uint32_t n)
{
	ol = sizeof out;
	return emu_inject_packet(port, f, n, out, &ol, &op);
}

TEST(packet_forward_to_port_counts_packets_and_bytes)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_monitor mon = {.flags = DOCA_EMU_MONITOR_COUNT};
	struct doca_flow_resource_query q;
	CHECK(p != NULL);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(vm, p, &m, NULL, &mon, &fwd);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 100);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(inject(0, n), EMU_PKT_PORT);
		CHECK_EQ(op, 2);
		CHECK_EQ(ol, n);
		CHECK_MEM(out, f, n);
	}
	CHECK_EQ(doca_flow_resource_query_entry(e, &q), DOCA_SUCCESS);
	CHECK_EQ(q.total_pkts, 3);
	CHECK_EQ(q.total_bytes, 3ull * n);
}

TEST(packet_entry_without_counter_cannot_be_queried)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_resource_query q;
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(vm, p, &m, NULL, NULL, &fwd);
	CHECK_EQ(doca_flow_resource_query_entry(e, &q), DOCA_ERROR_NOT_SUPPORTED);
}

TEST(packet_drop_entry_drops)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd drop = et_fwd_type(DOCA_FLOW_FWD_DROP);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, NULL, NULL, &drop) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_DROP);
	n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1001, 80, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
}

TEST(packet_miss_takes_the_pipe_miss_fate)
{
	struct doca_flow_fwd miss = et_fwd_type(DOCA_FLOW_FWD_DROP);
	CHECK(setup(ALL, &miss) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1, 2, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_DROP);
}

TEST(packet_miss_returns_the_frame_unchanged_on_the_ingress_port)
{
	CHECK(setup(ALL, NULL) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1, 2, 5);
	CHECK_EQ(inject(1, n), EMU_PKT_MISS);
	CHECK_EQ(op, 1);
	CHECK_EQ(ol, n);
	CHECK_MEM(out, f, n);
}

TEST(packet_entry_matches_only_after_its_add_completes)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_pipe_entry *e;
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK_EQ(et_add(0, p, &m, 0, NULL, NULL, &fwd, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
	doca_flow_entries_process(vm, 0, 0, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
}

TEST(packet_dnat_rewrites_destination_and_fixes_checksums)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_SET_DST_IP | DOCA_EMU_ACTION_SET_DST_PORT |
					       DOCA_EMU_ACTION_SET_DST_MAC,
				      .dst_port = 8080};
	et_put_ip4(a.dst_ip, 0x0a000063);
	memcpy(a.dst_mac, et_mac_d, 6);
	et_tuple4(&m, A4, 0xc6336401, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, 0xc6336401, 6, 1000, 80, 33);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(ol, n);
	CHECK_MEM(out, et_mac_d, 6);
	CHECK_MEM(out + 6, f + 6, 18); /* src MAC .. IP flags/TTL/proto untouched */
	CHECK_EQ(et_rd32(out + 26), A4);
	CHECK_EQ(et_rd32(out + 30), 0x0a000063);
	CHECK_EQ(et_rd16(out + 34), 1000);
	CHECK_EQ(et_rd16(out + 36), 8080);
	CHECK_MEM(out + 38, f + 38, 12); /* seq, ack, offset, flags, window */
	CHECK_MEM(out + 54, f + 54, n - 54);
	CHECK(et_ip4_csum_ok(out, 14));
	CHECK(et_l4_csum_ok(out, 14));
	CHECK(et_rd16(out + 24) != et_rd16(f + 24));
}

TEST(packet_ipv6_udp_snat_fixes_the_udp_checksum)
{
	uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};
	uint8_t pub[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m = {.ip_version = 6, .l4_proto = 17, .src_port = 5353, .dst_port = 53};
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_SET_SRC_IP | DOCA_EMU_ACTION_SET_SRC_PORT,
				      .src_port = 61000};
	memcpy(m.src_ip, s6, 16);
	memcpy(m.dst_ip, d6, 16);
	memcpy(a.src_ip, pub, 16);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame6_udp(f, et_mac_b, et_mac_a, s6, d6, 5353, 53, 21);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_MEM(out + 22, pub, 16);
	CHECK_MEM(out + 38, d6, 16);
	CHECK_EQ(et_rd16(out + 54), 61000);
	CHECK(et_l4_csum_ok(out, 14));
	CHECK_MEM(out + 62, f + 62, 21);
}

TEST(packet_icmp_echo_matches_on_identifier)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	et_tuple4(&m, A4, B4, 0x4242, 8 << 8, 1, 0);
	CHECK(et_add_ok(vm, p, &m, NULL, NULL, &fwd) != NULL);
	uint32_t n = et_icmp4_echo(f, A4, B4, 0x4242);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	n = et_icmp4_echo(f, A4, B4, 0x4243);
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
}

static void expect_ip4_outer(const uint8_t *o, uint32_t inner_len, uint8_t proto, uint32_t hdr)
{
	uint8_t exp[34];
	memcpy(exp, et_mac_d, 6);
	memcpy(exp + 6, et_mac_c, 6);
	exp[12] = 0x08;
	exp[13] = 0x00;
	uint8_t ip[20] = {0x45, 0, (uint8_t)((hdr - 14 + inner_len) >> 8), (uint8_t)(hdr - 14 + inner_len), 0, 0, 0x40, 0,
			  64, proto, o[24], o[25]};
	et_put_ip4(ip + 12, UL_A);
	et_put_ip4(ip + 16, UL_B);
	memcpy(exp + 14, ip, 20);
	CHECK_MEM(o, exp, 34);
	CHECK(et_ip4_csum_ok(o, 14));
}

static struct doca_flow_actions encap_action(uint8_t tunnel)
{
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_ENCAP};
	a.encap.tunnel = tunnel;
	a.encap.ip_version = 4;
	a.encap.vni = 0x123456;
	a.encap.udp_src_port = 49999;
	memcpy(a.encap.src_mac, et_mac_c, 6);
	memcpy(a.encap.dst_mac, et_mac_d, 6);
	et_put_ip4(a.encap.src_ip, UL_A);
	et_put_ip4(a.encap.dst_ip, UL_B);
	return a;
}

TEST(packet_vxlan_encap_writes_the_outer_headers)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = encap_action(DOCA_EMU_TUNNEL_VXLAN);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 40);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(ol, n + 50);
	expect_ip4_outer(out, n, 17, 50);
	uint8_t udp_vxlan[16] = {0xc3, 0x4f, 0x12, 0xb5, (uint8_t)((n + 16) >> 8), (uint8_t)(n + 16), 0, 0,
				 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
	CHECK_MEM(out + 34, udp_vxlan, 16);
	CHECK_MEM(out + 50, f, n);
}

TEST(packet_gre_encap_writes_the_outer_headers)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = encap_action(DOCA_EMU_TUNNEL_GRE);
	et_tuple4(&m, A4, B4, 1000, 80, 17, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1000, 80, 7);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(ol, n + 42);
	expect_ip4_outer(out, n, 47, 42);
	uint8_t gre[8] = {0x20, 0, 0x65, 0x58, 0, 0x12, 0x34, 0x56};
	CHECK_MEM(out + 34, gre, 8);
	CHECK_MEM(out + 42, f, n);
}

TEST(packet_vxlan_encap_without_source_port_derives_one_from_the_flow)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = encap_action(DOCA_EMU_TUNNEL_VXLAN);
	a.encap.udp_src_port = 0;
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 0);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	uint16_t sport = et_rd16(out + 34);
	CHECK(sport >= 0xc000);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(et_rd16(out + 34), sport);
}

TEST(packet_vxlan_decap_matches_inner_tuple_and_vni)
{
	uint8_t inner[256];
	struct doca_flow_pipe *p;
	if (et_init(1, 0) != DOCA_SUCCESS)
		return;
	vm = et_port(0);
	uplink = et_port(1);
	p = et_pipe(uplink, ALL | DOCA_EMU_MATCH_VNI, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(0);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DECAP | DOCA_EMU_ACTION_SET_DST_MAC};
	memcpy(a.dst_mac, et_mac_c, 6);
	et_tuple4(&m, B4, A4, 80, 1000, 6, 5001);
	CHECK(et_add_ok(uplink, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 6, 80, 1000, 64);
	uint32_t n = et_vxlan4(f, inner, in, UL_B, UL_A, 5001, 51000);
	CHECK_EQ(inject(1, n), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_EQ(ol, in);
	CHECK_MEM(out, et_mac_c, 6);
	CHECK_MEM(out + 6, inner + 6, in - 6);
	n = et_vxlan4(f, inner, in, UL_B, UL_A, 5002, 51000);
	CHECK_EQ(inject(1, n), EMU_PKT_MISS);
}

TEST(packet_gre_decap_of_bare_ip_keeps_the_outer_ethernet_addresses)
{
	uint8_t inner[256];
	struct doca_flow_pipe *p;
	if (et_init(1, 0) != DOCA_SUCCESS)
		return;
	vm = et_port(0);
	uplink = et_port(1);
	p = et_pipe(uplink, ALL | DOCA_EMU_MATCH_VNI, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(0);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_DECAP};
	et_tuple4(&m, B4, A4, 53, 3000, 17, 77);
	CHECK(et_add_ok(uplink, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 17, 53, 3000, 9);
	uint32_t n = et_gre4(f, inner + 14, in - 14, 0x0800, UL_B, UL_A, 77);
	CHECK_EQ(inject(1, n), EMU_PKT_PORT);
	CHECK_EQ(ol, in);
	CHECK_MEM(out, f, 12);
	CHECK_EQ(et_rd16(out + 12), 0x0800);
	CHECK_MEM(out + 14, inner + 14, in - 14);
}

TEST(packet_root_chains_to_a_second_pipe)
{
	uint8_t inner[256];
	if (et_init(1, 0) != DOCA_SUCCESS)
		return;
	vm = et_port(0);
	uplink = et_port(1);
	struct doca_flow_pipe *second = et_pipe(uplink, ALL, 0, NULL);
	struct doca_flow_pipe *root = et_pipe(uplink, DOCA_EMU_MATCH_VNI, 1, NULL);
	CHECK(second != NULL && root != NULL);
	struct doca_flow_match by_vni = {.vni = 9}, m;
	struct doca_flow_fwd to_second = et_fwd_pipe(second), fwd = et_fwd_port(0);
	struct doca_flow_actions decap = {.flags = DOCA_EMU_ACTION_DECAP};
	CHECK(et_add_ok(uplink, root, &by_vni, &decap, NULL, &to_second) != NULL);
	et_tuple4(&m, B4, A4, 80, 1000, 6, 0);
	CHECK(et_add_ok(uplink, second, &m, NULL, NULL, &fwd) != NULL);
	uint32_t in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 6, 80, 1000, 3);
	uint32_t n = et_vxlan4(f, inner, in, UL_B, UL_A, 9, 51000);
	CHECK_EQ(inject(1, n), EMU_PKT_PORT);
	CHECK_EQ(op, 0);
	CHECK_MEM(out, inner, in);
	in = et_frame4(inner, et_mac_a, et_mac_b, B4, A4, 6, 81, 1000, 3);
	n = et_vxlan4(f, inner, in, UL_B, UL_A, 9, 51000);
	CHECK_EQ(inject(1, n), EMU_PKT_MISS);
}

TEST(packet_malformed_frames_miss_and_never_match)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, NULL, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 20);
	for (uint32_t cut = 0; cut < 54; cut++)
		CHECK_EQ(inject(0, cut), EMU_PKT_MISS);
	f[17] = (uint8_t)(f[17] + 1); /* IPv4 total length one past the frame */
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
	f[17] = (uint8_t)(f[17] - 1);
	f[14] = 0x44; /* IHL 4 */
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
	f[14] = 0x45;
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	CHECK_EQ(inject(0, n), EMU_PKT_MISS);
}

TEST(packet_bad_arguments_and_small_output_are_errors)
{
	CHECK(setup(ALL, NULL) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 20);
	ol = 10;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_ERR_SPACE);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, NULL, n, out, &ol, &op), EMU_PKT_ERR_ARGS);
	CHECK_EQ(emu_inject_packet(0, f, 100000, out, &ol, &op), EMU_PKT_ERR_ARGS);
	CHECK_EQ(emu_inject_packet(9, f, n, out, &ol, &op), EMU_PKT_ERR_DEVICE);
}

TEST(packet_vxlan_encap_over_ipv6_has_a_valid_udp_checksum)
{
	struct doca_flow_pipe *p = setup(ALL, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_actions a = encap_action(DOCA_EMU_TUNNEL_VXLAN);
	uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	a.encap.ip_version = 6;
	memcpy(a.encap.src_ip, s6, 16);
	memcpy(a.encap.dst_ip, d6, 16);
	et_tuple4(&m, A4, B4, 1000, 80, 6, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 6, 1000, 80, 13);
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(ol, n + 70);
	CHECK_EQ(et_rd16(out + 12), 0x86DD);
	CHECK_EQ(out[14] >> 4, 6);
	CHECK_EQ(et_rd16(out + 18), 8 + 8 + n);
	CHECK_EQ(out[20], 17);
	CHECK_MEM(out + 22, s6, 16);
	CHECK_MEM(out + 38, d6, 16);
	CHECK_EQ(et_rd16(out + 56), 4789);
	CHECK(et_rd16(out + 60) != 0);
	CHECK(et_l4_csum_ok(out, 14));
	CHECK_MEM(out + 70, f, n);
}

TEST(packet_non_first_fragment_matches_without_ports)
{
	struct doca_flow_pipe *p = setup(DOCA_EMU_MATCH_SRC_IP | DOCA_EMU_MATCH_DST_IP | DOCA_EMU_MATCH_L4_PROTO, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(2);
	struct doca_flow_actions a = {.flags = DOCA_EMU_ACTION_SET_DST_IP};
	et_put_ip4(a.dst_ip, 0x0a000063);
	et_tuple4(&m, A4, B4, 0, 0, 17, 0);
	CHECK(et_add_ok(vm, p, &m, &a, NULL, &fwd) != NULL);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, A4, B4, 17, 1000, 80, 16);
	f[20] = 0x00;
	f[21] = 0x03; /* fragment offset 24 bytes: no UDP header here */
	f[24] = f[25] = 0;
	CHECK_EQ(inject(0, n), EMU_PKT_PORT);
	CHECK_EQ(et_rd32(out + 30), 0x0a000063);
	CHECK(et_ip4_csum_ok(out, 14));
	CHECK_MEM(out + 34, f + 34, n - 34); /* payload bytes untouched: no L4 checksum fix on a fragment */
}
