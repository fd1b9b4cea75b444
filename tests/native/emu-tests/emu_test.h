/* The emulator's test runner: registration, checks and the fixtures every test shares. */
#ifndef OFFLOAD_EMU_TEST_H
#define OFFLOAD_EMU_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "doca_emu.h"

void et_register(const char *name, void (*fn)(void));
void et_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int et_failed(void);

#define TEST(name)                                                                                                     \
	static void name(void);                                                                                        \
	__attribute__((constructor)) static void reg_##name(void)                                                      \
	{                                                                                                              \
		et_register(#name, name);                                                                              \
	}                                                                                                              \
	static void name(void)

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			et_fail(__FILE__, __LINE__, "%s", #cond);                                                      \
			return;                                                                                        \
		}                                                                                                      \
	} while (0)

#define CHECK_EQ(a, b)                                                                                                 \
	do {                                                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                                                    \
		if (a_ != b_) {                                                                                        \
			et_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld", #a, #b, a_, b_);              \
			return;                                                                                        \
		}                                                                                                      \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                                             \
	do {                                                                                                           \
		if (et_memdiff((a), (b), (n), __FILE__, __LINE__))                                                     \
			return;                                                                                        \
	} while (0)

/* Returns nonzero (and fails the test) when the buffers differ; prints the first difference. */
int et_memdiff(const void *a, const void *b, size_t n, const char *file, int line);

/* ---- completions recorded by the cfg callback ---- */
struct et_completion {
	struct doca_flow_pipe_entry *entry;
	uint16_t queue;
	enum doca_flow_entry_status status;
	enum doca_flow_entry_op op;
	void *ctx;
};
#define ET_MAX_DONE 65536
extern struct et_completion et_done[ET_MAX_DONE];
extern int et_ndone;
/* Called from inside the callback after recording, when set. */
extern void (*et_on_completion)(const struct et_completion *c);

/* ---- fixtures ---- */
doca_error_t et_init(uint16_t queues, uint32_t depth);
doca_error_t et_init_ct(uint16_t queues, uint32_t depth, uint32_t ct_entries);
struct doca_flow_port *et_port(uint16_t id);
uint32_t et_flag_no_wait(void);
uint32_t et_flag_batch(void);
doca_error_t et_add(uint16_t q, struct doca_flow_pipe *pipe, const struct doca_flow_match *m, uint8_t action_idx,
		    struct doca_flow_actions *a, const struct doca_flow_monitor *mon, const struct doca_flow_fwd *fwd,
		    uint32_t flags, void *ctx, struct doca_flow_pipe_entry **e);
struct doca_flow_pipe *et_pipe(struct doca_flow_port *port, uint32_t fields, int is_root,
			       const struct doca_flow_fwd *fwd_miss);
void et_tuple4(struct doca_flow_match *m, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto,
	       uint32_t vni);
struct doca_flow_fwd et_fwd_port(uint16_t port);
struct doca_flow_fwd et_fwd_type(uint32_t type);
struct doca_flow_fwd et_fwd_pipe(struct doca_flow_pipe *p);
/* Adds and processes until the ADD completes; fails the test on any error. */
struct doca_flow_pipe_entry *et_add_ok(struct doca_flow_port *port, struct doca_flow_pipe *pipe,
				       const struct doca_flow_match *m, struct doca_flow_actions *a,
				       const struct doca_flow_monitor *mon, const struct doca_flow_fwd *fwd);

/* ---- frames ---- */
extern const uint8_t et_mac_a[6], et_mac_b[6], et_mac_c[6], et_mac_d[6];
void et_put_ip4(uint8_t *p, uint32_t ip);
/* Ethernet + IPv4 + TCP (20-byte header, SYN) or UDP, payload bytes 0,1,2,...; returns the length. */
uint32_t et_frame4(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint32_t dst, uint8_t proto,
		   uint16_t sport, uint16_t dport, uint32_t payload);
uint32_t et_frame6_udp(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, const uint8_t src[16],
		       const uint8_t dst[16], uint16_t sport, uint16_t dport, uint32_t payload);
uint32_t et_icmp4_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t ident);
/* Wraps inner (an Ethernet frame) in Ethernet/IPv4/UDP 4789/VXLAN. */
uint32_t et_vxlan4(uint8_t *buf, const uint8_t *inner, uint32_t inner_len, uint32_t src, uint32_t dst, uint32_t vni,
		   uint16_t sport);
/* Ethernet/IPv4/GRE(key); inner is an Ethernet frame (proto 0x6558) or a bare IPv4 packet (0x0800). */
uint32_t et_gre4(uint8_t *buf, const uint8_t *inner, uint32_t inner_len, uint16_t proto, uint32_t src, uint32_t dst,
		 uint32_t key);
/* Independent checksum checks over a frame whose IPv4/IPv6 header starts at l3. */
int et_ip4_csum_ok(const uint8_t *frame, uint32_t l3);
int et_l4_csum_ok(const uint8_t *frame, uint32_t l3);
uint16_t et_rd16(const uint8_t *p);
uint32_t et_rd32(const uint8_t *p);

#endif
