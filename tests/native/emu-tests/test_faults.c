/* Fault injection: failed submissions, ERROR completions, a full pipe, a fatal device. */
#include "emu_test.h"

#define ALL DOCA_EMU_MATCH_5TUPLE

static struct doca_flow_port *port;
static struct doca_flow_pipe *pipe;

static int setup(void)
{
	if (et_init(1, 1024) != DOCA_SUCCESS)
		return 0;
	port = et_port(0);
	pipe = et_pipe(port, ALL, 1, NULL);
	return pipe != NULL;
}

static doca_error_t add_n(uint16_t sport, struct doca_flow_pipe_entry **e)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, sport, 80, 6, 0);
	return et_add(0, pipe, &m, 0, NULL, NULL, &fwd, et_flag_no_wait(), NULL, e);
}

TEST(fault_next_submits_fail_with_the_given_code_then_recover)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	emu_fail_next_submits(2, DOCA_ERROR_NO_LOCK);
	CHECK_EQ(add_n(1, &e), DOCA_ERROR_NO_LOCK);
	CHECK_EQ(add_n(1, &e), DOCA_ERROR_NO_LOCK);
	CHECK_EQ(emu_live_entries(), 0);
	CHECK_EQ(add_n(1, &e), DOCA_SUCCESS);
}

TEST(fault_every_nth_completion_is_error)
{
	struct doca_flow_pipe_entry *e[9];
	CHECK(setup());
	emu_set_completion_errors(3, 0, 1);
	for (uint16_t i = 0; i < 9; i++)
		CHECK_EQ(add_n(i, &e[i]), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	for (int i = 0; i < 9; i++) {
		int expect_error = (i + 1) % 3 == 0;
		CHECK_EQ(et_done[i].status,
			 expect_error ? DOCA_FLOW_ENTRY_STATUS_ERROR : DOCA_FLOW_ENTRY_STATUS_SUCCESS);
		CHECK_EQ(doca_flow_pipe_entry_get_status(e[i]), et_done[i].status);
	}
}

TEST(fault_completion_error_probability_is_honoured)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	emu_set_completion_errors(0, 100000, 42); /* 10 % */
	int errors = 0;
	for (int round = 0; round < 10; round++) {
		for (uint16_t i = 0; i < 1000; i++)
			CHECK_EQ(add_n((uint16_t)(round * 1000 + i), &e), DOCA_SUCCESS);
		CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	}
	for (int i = 0; i < et_ndone; i++)
		errors += et_done[i].status == DOCA_FLOW_ENTRY_STATUS_ERROR;
	CHECK_EQ(et_ndone, 10000);
	CHECK(errors > 800 && errors < 1200);
}

TEST(fault_failed_add_is_not_installed_and_can_be_removed)
{
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	emu_set_completion_errors(1, 0, 1);
	CHECK_EQ(add_n(1000, &e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_ERROR);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
	emu_set_completion_errors(0, 0, 0);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	CHECK_EQ(emu_live_entries(), 0);
}

TEST(fault_failed_del_keeps_the_entry_forwarding)
{
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	CHECK_EQ(add_n(1000, &e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	emu_set_completion_errors(1, 0, 1);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_ERROR);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	emu_set_completion_errors(0, 0, 0);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
}

TEST(fault_pipe_full_past_nr_entries_when_enforced)
{
	struct doca_flow_pipe_cfg *pc;
	struct doca_flow_pipe *small;
	struct doca_flow_match tmpl = {.fields = ALL}, m;
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	doca_flow_pipe_cfg_create(&pc, port);
	doca_flow_pipe_cfg_set_nr_entries(pc, 4);
	doca_flow_pipe_cfg_set_match(pc, &tmpl, NULL);
	CHECK_EQ(doca_flow_pipe_create(pc, NULL, NULL, &small), DOCA_SUCCESS);
	doca_flow_pipe_cfg_destroy(pc);
	for (uint16_t i = 0; i < 5; i++) {
		et_tuple4(&m, 1, 2, i, 80, 6, 0);
		CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	}
	emu_set_enforce_pipe_capacity(1);
	et_tuple4(&m, 1, 2, 99, 80, 6, 0);
	CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_FULL);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_FULL);
	et_tuple4(&m, 1, 2, 100, 80, 6, 0);
	emu_set_enforce_pipe_capacity(0);
}

TEST(fault_pipe_full_frees_room_after_a_del)
{
	struct doca_flow_pipe_cfg *pc;
	struct doca_flow_pipe *small;
	struct doca_flow_match tmpl = {.fields = ALL}, m;
	struct doca_flow_pipe_entry *e[2], *x;
	CHECK(setup());
	emu_set_enforce_pipe_capacity(1);
	doca_flow_pipe_cfg_create(&pc, port);
	doca_flow_pipe_cfg_set_nr_entries(pc, 2);
	doca_flow_pipe_cfg_set_match(pc, &tmpl, NULL);
	CHECK_EQ(doca_flow_pipe_create(pc, NULL, NULL, &small), DOCA_SUCCESS);
	doca_flow_pipe_cfg_destroy(pc);
	for (uint16_t i = 0; i < 2; i++) {
		et_tuple4(&m, 1, 2, i, 80, 6, 0);
		CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e[i]), DOCA_SUCCESS);
	}
	et_tuple4(&m, 1, 2, 9, 80, 6, 0);
	CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &x), DOCA_ERROR_FULL);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e[0]), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_add(0, small, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &x), DOCA_SUCCESS);
}

TEST(fault_device_fatal_fails_every_call_and_recovers_empty)
{
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e, *pending;
	doca_error_t fatal = emu_generation() == 'B' ? DOCA_ERROR_DEVICE_FATAL_ERROR : DOCA_ERROR_DRIVER;
	CHECK(setup());
	CHECK_EQ(add_n(1000, &e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	CHECK_EQ(add_n(2000, &pending), DOCA_SUCCESS);
	int before = et_ndone;
	emu_set_device_fatal(0, 1);
	CHECK_EQ(add_n(3000, &e), fatal);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), fatal);
	CHECK_EQ(et_ndone, before); /* the pending ADD is lost, not completed */
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_ERR_DEVICE);
	emu_set_device_fatal(0, 0);
	CHECK_EQ(emu_live_entries(), 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_MISS);
	CHECK_EQ(add_n(1000, &e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
}

TEST(fault_device_fatal_on_one_port_keeps_the_other_ports_entries)
{
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	struct doca_flow_pipe_entry *e;
	CHECK(setup());
	struct doca_flow_port *other = et_port(1);
	struct doca_flow_pipe *other_pipe = et_pipe(other, ALL, 1, NULL);
	CHECK(other_pipe != NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(0);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	CHECK(et_add_ok(other, other_pipe, &m, NULL, NULL, &fwd) != NULL);
	CHECK_EQ(add_n(1000, &e), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	CHECK_EQ(emu_live_entries(), 2);
	emu_set_device_fatal(0, 1);
	CHECK_EQ(emu_live_entries(), 1);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_ERR_DEVICE);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(1, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(doca_flow_entries_process(other, 0, 0, 0), DOCA_SUCCESS);
	emu_set_device_fatal(0, 0);
	CHECK_EQ(emu_live_entries(), 1);
}
