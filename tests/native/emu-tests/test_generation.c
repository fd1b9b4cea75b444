/* Gen A and Gen B: exported names, version string, flag values, where the action index lives. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "emu_test.h"

TEST(gen_exports_exactly_one_add_entry_name)
{
	void *a = dlsym(RTLD_DEFAULT, "doca_flow_pipe_add_entry");
	void *b = dlsym(RTLD_DEFAULT, "doca_flow_pipe_basic_add_entry");
	if (emu_generation() == 'B') {
		CHECK(a == NULL);
		CHECK(b != NULL);
	} else {
		CHECK(a != NULL);
		CHECK(b == NULL);
	}
}

TEST(gen_version_string_matches_generation)
{
	const char *v = doca_version_runtime();
	CHECK(strcmp(v, emu_generation() == 'B' ? "3.3.0100" : "3.0.0058") == 0);
}

TEST(gen_flag_value_of_the_other_generation_is_rejected)
{
	struct doca_flow_match m;
	struct doca_flow_pipe_entry *e;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, DOCA_EMU_MATCH_5TUPLE, 1, NULL);
	et_tuple4(&m, 1, 2, 3, 4, 6, 0);
	uint32_t foreign = emu_generation() == 'B' ? 0u : 2u;
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, foreign, NULL, &e), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, foreign, e), DOCA_ERROR_INVALID_VALUE);
}

/* Two action templates; the entry gives no actions and picks one by index (A: in the struct, B: argument). */
TEST(gen_action_index_selects_the_pipe_template)
{
	struct doca_flow_actions t0 = {.flags = DOCA_EMU_ACTION_SET_DST_PORT, .dst_port = 8080};
	struct doca_flow_actions t1 = {.flags = DOCA_EMU_ACTION_SET_DST_PORT, .dst_port = 9090};
	struct doca_flow_actions *ts[2] = {&t0, &t1};
	struct doca_flow_match tmpl = {.fields = DOCA_EMU_MATCH_5TUPLE}, m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_pipe_cfg *pc;
	struct doca_flow_pipe *pipe;
	struct doca_flow_pipe_entry *e;
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	doca_flow_pipe_cfg_create(&pc, port);
	doca_flow_pipe_cfg_set_is_root(pc, true);
	doca_flow_pipe_cfg_set_match(pc, &tmpl, NULL);
	CHECK_EQ(doca_flow_pipe_cfg_set_actions(pc, ts, NULL, NULL, 2), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_create(pc, &fwd, NULL, &pipe), DOCA_SUCCESS);
	doca_flow_pipe_cfg_destroy(pc);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_actions sel = {0};
	CHECK_EQ(et_add(0, pipe, &m, 2, &sel, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_INVALID_VALUE);
	/* et_add puts the index in the struct for Gen A only; Gen B must take it from the argument. */
	sel.action_idx = 0;
	CHECK_EQ(et_add(0, pipe, &m, 1, &sel, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(sel.action_idx, emu_generation() == 'A' ? 1 : 0);
	doca_flow_entries_process(port, 0, 0, 0);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(op, 1);
	CHECK_EQ(et_rd16(out + 14 + 20 + 2), 9090);
	CHECK(et_l4_csum_ok(out, 14));
}

TEST(gen_error_names_and_descriptions)
{
	CHECK(strcmp(doca_error_get_name(DOCA_ERROR_AGAIN), "DOCA_ERROR_AGAIN") == 0);
	CHECK(strcmp(doca_error_get_name(DOCA_ERROR_DEVICE_FATAL_ERROR), "DOCA_ERROR_DEVICE_FATAL_ERROR") == 0);
	CHECK(strcmp(doca_error_get_name(DOCA_SUCCESS), "DOCA_SUCCESS") == 0);
	CHECK(strcmp(doca_error_get_name((doca_error_t)999), "DOCA_ERROR_UNKNOWN") == 0);
	CHECK(doca_error_get_descr(DOCA_ERROR_FULL)[0] != 0);
}
