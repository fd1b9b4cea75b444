/* Strict lifecycle: the misuse a real DOCA would punish (or silently corrupt on) is an error here. */
#include <string.h>

#include "emu_test.h"

#define ALL DOCA_EMU_MATCH_5TUPLE

TEST(lifecycle_init_twice_is_bad_state)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	CHECK_EQ(et_init(1, 0), DOCA_ERROR_BAD_STATE);
	CHECK_EQ(emu_violation_count(), 1);
}

TEST(lifecycle_init_again_after_destroy_succeeds)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	doca_flow_destroy();
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	CHECK_EQ(emu_violation_count(), 0);
}

TEST(lifecycle_port_start_before_init_is_bad_state)
{
	struct doca_flow_port_cfg *pc;
	struct doca_flow_port *port = NULL;
	CHECK_EQ(doca_flow_port_cfg_create(&pc), DOCA_SUCCESS);
	doca_flow_port_cfg_set_port_id(pc, 0);
	CHECK_EQ(doca_flow_port_start(pc, &port), DOCA_ERROR_BAD_STATE);
	doca_flow_port_cfg_destroy(pc);
	CHECK(port == NULL);
}

TEST(lifecycle_port_start_without_port_id_is_invalid)
{
	struct doca_flow_port_cfg *pc;
	struct doca_flow_port *port = NULL;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	doca_flow_port_cfg_create(&pc);
	doca_flow_port_cfg_set_devargs(pc, "emu");
	CHECK_EQ(doca_flow_port_start(pc, &port), DOCA_ERROR_INVALID_VALUE);
	doca_flow_port_cfg_destroy(pc);
}

TEST(lifecycle_port_started_twice_already_exists)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	CHECK(et_port(3) != NULL);
	CHECK(et_port(3) == NULL);
}

TEST(lifecycle_ct_init_before_flow_init_is_bad_state)
{
	struct doca_flow_ct_cfg *ct;
	doca_flow_ct_cfg_create(&ct);
	CHECK_EQ(doca_flow_ct_init(ct), DOCA_ERROR_BAD_STATE);
	doca_flow_ct_cfg_destroy(ct);
	CHECK_EQ(emu_violation_count(), 1);
}

TEST(lifecycle_ct_init_after_port_start_is_bad_state)
{
	struct doca_flow_ct_cfg *ct;
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	CHECK(et_port(0) != NULL);
	doca_flow_ct_cfg_create(&ct);
	CHECK_EQ(doca_flow_ct_init(ct), DOCA_ERROR_BAD_STATE);
	doca_flow_ct_cfg_destroy(ct);
	CHECK(strstr(emu_last_violation(), "after a port started") != NULL);
}

TEST(lifecycle_ct_pipe_without_ct_init_is_bad_state)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe_cfg *pc;
	struct doca_flow_pipe *pipe = NULL;
	CHECK_EQ(doca_flow_pipe_cfg_create(&pc, port), DOCA_SUCCESS);
	doca_flow_pipe_cfg_set_type(pc, DOCA_FLOW_PIPE_CT);
	CHECK_EQ(doca_flow_pipe_create(pc, NULL, NULL, &pipe), DOCA_ERROR_BAD_STATE);
	doca_flow_pipe_cfg_destroy(pc);
}

TEST(lifecycle_second_root_pipe_on_a_port_already_exists)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	CHECK(et_pipe(port, ALL, 1, NULL) != NULL);
	CHECK(et_pipe(port, ALL, 1, NULL) == NULL);
	CHECK(et_pipe(port, ALL, 0, NULL) != NULL);
}

TEST(lifecycle_entry_used_after_del_completed_is_not_found)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_monitor mon = {.flags = DOCA_EMU_MONITOR_COUNT};
	struct doca_flow_actions a = {0};
	struct doca_flow_resource_query q;
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(port, pipe, &m, &a, &mon, &fwd);
	CHECK(e != NULL);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_entries_process(port, 0, 0, 0), DOCA_SUCCESS);
	CHECK_EQ(et_done[et_ndone - 1].op, DOCA_FLOW_ENTRY_OP_DEL);
	CHECK_EQ(emu_violation_count(), 0);

	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(doca_flow_pipe_update_entry(0, pipe, &a, NULL, &fwd, et_flag_no_wait(), e), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(doca_flow_resource_query_entry(e, &q), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_ERROR);
	CHECK_EQ(emu_violation_count(), 4);
}

TEST(lifecycle_entry_used_after_del_submitted_is_bad_state)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_ERROR_BAD_STATE);
	CHECK_EQ(emu_violation_count(), 1);
}

TEST(lifecycle_slot_reused_after_del_keeps_old_handle_stale)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *old = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), old), DOCA_SUCCESS);
	doca_flow_entries_process(port, 0, 0, 0);
	struct doca_flow_pipe_entry *fresh = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	CHECK(fresh != NULL && fresh != old);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), old), DOCA_ERROR_NOT_FOUND);
	CHECK_EQ(doca_flow_pipe_entry_get_status(fresh), DOCA_FLOW_ENTRY_STATUS_SUCCESS);
}

TEST(lifecycle_pipe_destroy_invalidates_its_entries)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	CHECK_EQ(emu_live_entries(), 1);
	doca_flow_pipe_destroy(pipe);
	CHECK_EQ(emu_live_entries(), 0);
	CHECK_EQ(doca_flow_pipe_remove_entry(0, et_flag_no_wait(), e), DOCA_ERROR_NOT_FOUND);
	doca_flow_pipe_destroy(pipe);
	CHECK_EQ(emu_violation_count(), 2);
}

TEST(lifecycle_handle_from_before_destroy_is_stale_after_reinit)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	et_tuple4(&m, 0x0a000001, 0x0a000002, 1000, 80, 6, 0);
	struct doca_flow_pipe_entry *e = et_add_ok(port, pipe, &m, NULL, NULL, &fwd);
	doca_flow_destroy();
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_ERROR);
}

TEST(strict_queue_id_out_of_range_is_invalid)
{
	CHECK_EQ(et_init(2, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_pipe_entry *e;
	et_tuple4(&m, 1, 2, 3, 4, 17, 0);
	CHECK_EQ(et_add(2, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(doca_flow_entries_process(port, 2, 0, 0), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(et_add(1, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
}

TEST(strict_port_stop_invalidates_pipes_and_entries)
{
	CHECK_EQ(et_init(1, 0), DOCA_SUCCESS);
	struct doca_flow_port *port = et_port(0);
	struct doca_flow_pipe *pipe = et_pipe(port, ALL, 1, NULL);
	struct doca_flow_match m;
	struct doca_flow_pipe_entry *e;
	et_tuple4(&m, 1, 2, 3, 4, 17, 0);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_SUCCESS);
	CHECK_EQ(doca_flow_port_stop(port), DOCA_SUCCESS);
	CHECK_EQ(emu_live_entries(), 0);
	CHECK_EQ(et_add(0, pipe, &m, 0, NULL, NULL, NULL, et_flag_no_wait(), NULL, &e), DOCA_ERROR_INVALID_VALUE);
	CHECK_EQ(doca_flow_port_stop(port), DOCA_ERROR_BAD_STATE);
}
