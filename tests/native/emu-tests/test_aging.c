/* Aging with the injectable clock: reported once through the callback, never removed by itself. */
#include "emu_test.h"

#define ALL DOCA_EMU_MATCH_5TUPLE
#define SEC 1000000000ull

static struct doca_flow_port *port;
static struct doca_flow_pipe *pipe;

static struct doca_flow_pipe_entry *aging_entry(uint16_t sport, uint32_t secs)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	struct doca_flow_monitor mon = {.flags = DOCA_EMU_MONITOR_AGING | DOCA_EMU_MONITOR_COUNT, .aging_sec = secs};
	et_tuple4(&m, 0x0a000001, 0x0a000002, sport, 80, 6, 0);
	return et_add_ok(port, pipe, &m, NULL, &mon, &fwd);
}

static int count_aged(void)
{
	int n = 0;
	for (int i = 0; i < et_ndone; i++)
		n += et_done[i].op == DOCA_FLOW_ENTRY_OP_AGED;
	return n;
}

static int setup(void)
{
	emu_set_time_ns(1000 * SEC);
	if (et_init(1, 0) != DOCA_SUCCESS)
		return 0;
	port = et_port(0);
	pipe = et_pipe(port, ALL, 1, NULL);
	return pipe != NULL;
}

TEST(aging_idle_entry_reported_once_after_its_timeout)
{
	CHECK(setup());
	struct doca_flow_pipe_entry *e = aging_entry(1, 10);
	CHECK(e != NULL);
	emu_advance_time_ns(9 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), -1);
	CHECK_EQ(count_aged(), 0);
	emu_advance_time_ns(1 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), 1);
	CHECK_EQ(count_aged(), 1);
	CHECK(et_done[et_ndone - 1].entry == e);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), -1);
	CHECK_EQ(count_aged(), 1);
	/* Reported, not removed: the application removes it. */
	CHECK_EQ(doca_flow_pipe_entry_get_status(e), DOCA_FLOW_ENTRY_STATUS_SUCCESS);
	CHECK_EQ(emu_live_entries(), 1);
}

TEST(aging_packet_hit_restarts_the_idle_time)
{
	uint8_t f[128], out[256];
	uint32_t ol = sizeof out;
	uint16_t op;
	CHECK(setup());
	CHECK(aging_entry(1000, 10) != NULL);
	emu_advance_time_ns(8 * SEC);
	uint32_t n = et_frame4(f, et_mac_b, et_mac_a, 0x0a000001, 0x0a000002, 6, 1000, 80, 0);
	CHECK_EQ(emu_inject_packet(0, f, n, out, &ol, &op), EMU_PKT_PORT);
	emu_advance_time_ns(8 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), -1);
	emu_advance_time_ns(2 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), 1);
}

TEST(aging_max_entries_bounds_one_call_and_the_rest_follow)
{
	CHECK(setup());
	for (uint16_t i = 0; i < 5; i++)
		CHECK(aging_entry(i, 1) != NULL);
	emu_advance_time_ns(2 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 2), 2);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 2), 2);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 2), 1);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 2), -1);
	CHECK_EQ(count_aged(), 5);
}

TEST(aging_entry_without_aging_monitor_never_ages)
{
	struct doca_flow_match m;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	CHECK(setup());
	et_tuple4(&m, 1, 2, 3, 4, 17, 0);
	CHECK(et_add_ok(port, pipe, &m, NULL, NULL, &fwd) != NULL);
	emu_advance_time_ns(100000 * SEC);
	CHECK_EQ(doca_flow_aging_handle(port, 0, 1000, 0), -1);
	CHECK_EQ(count_aged(), 0);
}

TEST(aging_clock_is_manual_once_set)
{
	emu_set_time_ns(5);
	CHECK_EQ(emu_get_time_ns(), 5);
	emu_advance_time_ns(7);
	CHECK_EQ(emu_get_time_ns(), 12);
}
