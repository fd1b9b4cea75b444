/* PERF.md P7 baseline: entry add/remove into the emulator from C, through the same shim calls the
 * C# binding makes (ofl_entry_add / ofl_entry_remove with WAIT_FOR_BATCH, doca_flow_entries_process).
 * Usage: p7_entries [entries] [rounds] [warmup]; prints the best measured round's operations per second (an add and
 * a remove are two) after [warmup] unmeasured rounds (default 0). The benchmark quick mode's P7 runs it once per
 * round with 1 1, alternating with the binding's rounds in its own process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "doca_emu.h"
#include "offload_doca_shim.h"

static unsigned long completed;

static void on_entry(struct doca_flow_pipe_entry *entry, uint16_t queue, enum doca_flow_entry_status status,
		     enum doca_flow_entry_op op, void *ctx)
{
	(void)entry; (void)queue; (void)status; (void)op; (void)ctx;
	completed++;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CHECK(x) do { int rc_ = (x); if (rc_ != 0) { fprintf(stderr, "%s failed: %d\n", #x, rc_); return 1; } } while (0)

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 65536;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	int warmup = argc > 3 ? atoi(argv[3]) : 0;
	const uint32_t depth = 1024, batch = 32;
	struct doca_flow_cfg *cfg;
	CHECK(doca_flow_cfg_create(&cfg));
	CHECK(doca_flow_cfg_set_pipe_queues(cfg, 1));
	CHECK(doca_flow_cfg_set_queue_depth(cfg, depth));
	CHECK(doca_flow_cfg_set_mode_args(cfg, "vnf,hws"));
	CHECK(doca_flow_cfg_set_cb_entry_process(cfg, on_entry));
	CHECK(doca_flow_init(cfg));
	doca_flow_cfg_destroy(cfg);
	struct doca_flow_port_cfg *pcfg;
	struct doca_flow_port *port;
	CHECK(doca_flow_port_cfg_create(&pcfg));
	CHECK(doca_flow_port_cfg_set_port_id(pcfg, 0));
	CHECK(doca_flow_port_start(pcfg, &port));
	doca_flow_port_cfg_destroy(pcfg);
	struct ofl_pipe_spec ps;
	memset(&ps, 0, sizeof ps);
	strcpy(ps.name, "p7");
	ps.match_fields = OFL_MATCH_SRC_IP | OFL_MATCH_DST_IP | OFL_MATCH_SRC_PORT | OFL_MATCH_DST_PORT | OFL_MATCH_L4_PROTO | OFL_MATCH_VNI;
	ps.nr_entries = n;
	ps.is_root = 1;
	ps.miss_fate = OFL_FATE_SOFTWARE;
	struct doca_flow_pipe *pipe;
	CHECK(ofl_pipe_create(port, &ps, &pipe));
	struct doca_flow_pipe_entry **entries = calloc(n, sizeof *entries);
	double best = 0;
	for (int r = 0; r < warmup + rounds; r++) {
		completed = 0;
		double t0 = now_s();
		for (uint32_t i = 0; i < n; i++) {
			struct ofl_entry_spec s;
			memset(&s, 0, sizeof s);
			s.match.ip_version = 4;
			s.match.l4_proto = 6;
			/* IPv4 addresses sit in the first four bytes, network order (as the binding writes them). */
			s.match.src_ip[0] = 10; s.match.src_ip[2] = (uint8_t)(i >> 8); s.match.src_ip[3] = (uint8_t)i;
			s.match.dst_ip[0] = 10; s.match.dst_ip[3] = 2;
			s.match.src_port = (uint16_t)(1024 + (i >> 16));
			s.match.dst_port = 80;
			s.match.vni = 100;
			s.action.fate = OFL_FATE_PORT;
			s.action.port = 1;
			s.monitor = OFL_MON_COUNT;
			int rc;
			while ((rc = ofl_entry_add(pipe, 0, &s, (i % batch) == batch - 1 ? OFL_SUBMIT_NO_WAIT : OFL_SUBMIT_BATCH, NULL, &entries[i])) == DOCA_ERROR_AGAIN)
				doca_flow_entries_process(port, 0, 0, 0);
			CHECK(rc);
		}
		for (uint32_t i = 0; i < n; i++) {
			int rc;
			while ((rc = ofl_entry_remove(0, entries[i], (i % batch) == batch - 1 ? OFL_SUBMIT_NO_WAIT : OFL_SUBMIT_BATCH)) == DOCA_ERROR_AGAIN)
				doca_flow_entries_process(port, 0, 0, 0);
			CHECK(rc);
		}
		while (completed < 2ul * n)
			doca_flow_entries_process(port, 0, 0, 0);
		double rate = 2.0 * n / (now_s() - t0);
		if (r >= warmup && rate > best)
			best = rate;
	}
	printf("c %u entries: best %.0f ops/s (add+remove, %d rounds)\n", n, best, rounds);
	free(entries);
	doca_flow_pipe_destroy(pipe);
	doca_flow_port_stop(port);
	doca_flow_destroy();
	return 0;
}
