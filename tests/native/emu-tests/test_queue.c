/* Per-(port, queue) FIFOs: IN_PROCESS until entries_process, AGAIN when full, FIFO order, max. */
#include "emu_test.h"

#define ALL DOCA_EMU_MATCH_5TUPLE

static struct doca_flow_port *port;
static struct doca_flow_pipe *pipe;

static int setup(uint16_t queues, uint32_t depth)
{
	if (et_init(queues, depth) != DOCA_SUCCESS)
		return 0;
	port = et_port(0);
	pipe = et_pipe(port, ALL, 1, NULL);
	return pipe != NULL;
}

static doca_error_t add_n(uint16_t q, uint16_t sport, void *ctx, struct doca_flow_pipe_entry **e)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, sport, 80, 6, 0);
	return et_add(q, pipe, &m, 0, NULL, NULL, &fwd, et_flag_no_wait(), ctx, e);
}

TEST(queue_add_is_in_process_until_entries_process)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 0));
	CHECK_EQ(add_n(0, 1, (void *)0x77, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_IN_PROCESS);
	CHECK_EQ(et_ndone, 0);
	CHECK_EQ(emu_queue_pending(0, 0), 1);
	CHECK_EQ(doca_flow_entries_process(port, 0, 1000, 0), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 1);
	CHECK(et_done[0].entry == e);
	CHECK(et_done[0].ctx == (void *)0x77);
	CHECK_EQ(et_done[0].op, DOCA_FLOW_ENTRY_OP_ADD);
	CHECK_EQ(et_done[0].status, DOCA_FLOW_ENTRY_STATUS_SUCCESS);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_SUCCESS);
}

TEST(queue_full_returns_again_and_frees_after_processing)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 8));
	for (uint16_t i = 0; i < 8; i++)
		CHECK_EQ(add_n(0, (uint16_t)(100 + i), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 200, NULL, &e), DOCA_ERROR_AGAIN);
	CHECK_EQ(emu_live_entries(), 8);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 3), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 200, NULL, &e), DOCA_SUCCESS);
}

TEST(queue_default_depth_is_128)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 0));
	for (uint16_t i = 0; i < 128; i++)
		CHECK_EQ(add_n(0, (uint16_t)(1000 + i), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 5000, NULL, &e), DOCA_ERROR_AGAIN);
}

TEST(queue_full_error_code_is_configurable)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 1));
	emu_set_queue_full_error(DOCA_ERROR_FULL);
	CHECK_EQ(add_n(0, 1, NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 2, NULL, &e), DOCA_ERROR_FULL);
}

TEST(queue_completions_are_fifo_and_bounded_by_max)
{
	struct doca_flow_pipe_entry *e[10];
	CHECK(setup(1, 0));
	for (uint16_t i = 0; i < 10; i++)
		CHECK_EQ(add_n(0, (uint16_t)(10 + i), (void *)(uintptr_t)(i + 1), &e[i]), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e[2]), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 4), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 4);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e[4]), DOCA_FLOW_ENTRY_STATUS_IN_PROCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 11);
	for (int i = 0; i < 10; i++)
		CHECK(et_done[i].ctx == (void *)(uintptr_t)(i + 1));
	CHECK_EQ(et_done[10].op, DOCA_FLOW_ENTRY_OP_DEL);
	CHECK(et_done[10].ctx == (void *)3);
}

TEST(queue_each_queue_completes_independently)
{
	struct doca_flow_pipe_entry *a, *b;
	CHECK(setup(2, 0));
	CHECK_EQ(add_n(0, 1, NULL, &a), DOCA_SUCCESS);
	CHECK_EQ(add_n(1, 2, NULL, &b), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 1, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 1);
	CHECK_EQ(et_done[0].queue, 1);
	CHECK_EQ(doca_flow_pipe_entry_get_status(a), DOCA_FLOW_ENTRY_STATUS_IN_PROCESS);
	CHECK_EQ(doca_flow_pipe_entry_get_status(b), DOCA_FLOW_ENTRY_STATUS_SUCCESS);
}

static void remove_from_callback(const struct et_completion *c)
{
	if (c->op == DOCA_FLOW_ENTRY_OP_ADD)
		doca_flow_pipe_remove_entry(c->queue, et_flag_no_wait(), c->entry);
}

TEST(queue_callback_may_submit_from_inside_entries_process)
{
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 0));
	et_on_completion = remove_from_callback;
	CHECK_EQ(add_n(0, 1, NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_ndone, 2);
	CHECK_EQ(et_done[1].op, DOCA_FLOW_ENTRY_OP_DEL);
	CHECK_EQ(emu_live_entries(), 0);
}

TEST(queue_wait_for_batch_stages_until_a_no_wait_submission)
{
	struct doca_flow_match m;
	struct doca_flow_pipe_entry *e;
	CHECK(setup(1, 0));
	for (uint16_t i = 0; i < 3; i++) {
		et_tuple4(&m, 1, 2, i, 80, 6, 0);
		CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_batch(), NULL, &e), DOCA_SUCCESS);
	}
	CHECK_EQ(emu_queue_staged(0, 0), 3);
	et_tuple4(&m, 1, 2, 9, 80, 6, 0);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(emu_queue_staged(0, 0), 0);
	CHECK_EQ(emu_queue_pending(0, 0), 4);
}

TEST(queue_duplicate_key_already_exists_until_its_del_is_submitted)
{
	struct doca_flow_pipe_entry *e, *dup;
	CHECK(setup(1, 0));
	CHECK_EQ(add_n(0, 1, NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 1, NULL, &dup), DOCA_ERROR_ALREADY_EXIST);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	CHECK_EQ(add_n(0, 1, NULL, &dup), DOCA_SUCCESS);
}

TEST(queue_update_applies_on_completion)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1), drop = et_fwd_type(DOCA_FLOW_FWD_DROP);
	uint8_t f[256], out[512];
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 10), ol = sizeof out;
	uint16_t op;
	CHECK(setup(1, 0));
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	CHECK_EQ(doca_flow_pipe_update_entry(0, pipe, NULL, NULL, &drop, et_flag_no_wait(), e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_IN_PROCESS);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_done[et_ndone - 1].op, DOCA_FLOW_ENTRY_OP_UPD);
	ol = sizeof out;
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_DROP);
}

TEST(queue_counter_limit_from_cfg_is_full)
{
	struct doca_flow_cfg *cfg;
	struct doca_flow_match m;
	struct doca_flow_monitor mon = {.flags = DOCA_EMU_MONITOR_COUNT};
	struct doca_flow_pipe_entry *e;
	doca_flow_cfg_create(&cfg);
	doca_flow_cfg_set_nr_counters(cfg, 2);
	CHECK_EQ(doca_flow_init(cfg), DOCA_SUCCESS);
	doca_flow_cfg_destroy(cfg);
	port = et_port(0);
	pipe = et_pipe(port, ALL, 1, NULL);
	for (uint16_t i = 0; i < 2; i++) {
		et_tuple4(&m, 1, 2, i, 80, 6, 0);
		CHECK_EQ(et_add(0, pipe, &m, 0, NULL, &mon, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	}
	et_tuple4(&m, 1, 2, 7, 80, 6, 0);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, &mon, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_FULL);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
}
