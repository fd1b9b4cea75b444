/* Several threads, one queue each, as the binding's backend drives them: nothing lost or mixed. */
#include <pthread.h>

#include "emu_test.h"

#define PER_THREAD 5000
#define THREADS 4

static struct doca_flow_port *port;
static struct doca_flow_pipe *pipe;
static int thread_errors;

static void *worker(void *arg)
{
	uint16_t q = (uint16_t)(uintptr_t)arg;
	struct doca_flow_fwd fwd = et_fwd_port(1);
	for (uint32_t i = 0; i < PER_THREAD; i++) {
		struct doca_flow_match m;
		struct doca_flow_pipe_entry *e;
		et_tuple4(&m, 0x0a000000u + q, 0x0a100000u + i, (uint16_t)i, 80, 6, 0);
		doca_error_t rc;
		while ((rc = et_add(q, pipe, &m, 0, NULL, NULL, &fwd, et_flag_no_wait(), (void *)(uintptr_t)(q + 1), &e)) ==
		       DOCA_ERROR_AGAIN)
			doca_flow_entries_process(port, q, 0, 0);
		if (rc != DOCA_SUCCESS)
			__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
	}
	doca_flow_entries_process(port, q, 0, 0);
	return NULL;
}

TEST(thread_queues_used_from_their_own_threads_lose_nothing)
{
	pthread_t t[THREADS];
	CHECK_EQ(et_init(THREADS, 64), DOCA_SUCCESS);
	port = et_port(0);
	pipe = et_pipe(port, DOCA_EMU_MATCH_5TUPLE, 1, NULL);
	thread_errors = 0;
	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(thread_errors, 0);
	CHECK_EQ(et_ndone, THREADS * PER_THREAD);
	CHECK_EQ(emu_live_entries(), THREADS * PER_THREAD);
	for (int i = 0; i < et_ndone; i++) {
		CHECK_EQ(et_done[i].status, DOCA_FLOW_ENTRY_STATUS_SUCCESS);
		CHECK(et_done[i].ctx == (void *)(uintptr_t)(et_done[i].queue + 1));
	}
}
