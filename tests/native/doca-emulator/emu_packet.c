/*
 * The emulator's packet model: parse a frame, walk the port's root pipe and its chain, apply
 * what the matching entries say (decap, NAT and MAC rewrites, TTL decrement, VXLAN/GRE encap),
 * count, and say where the frame went (drops are counted by reason). The rig uses it to check that what was offloaded really forwards.
 */
#include <string.h>

#include "emu_internal.h"

#define WORK_SIZE 4096
#define HEADROOM 256
#define MAX_HOPS 16
#define VXLAN_PORT 4789

struct l3 {
	int ok;
	int32_t eth_off; /* -1: bare IP (GRE without an inner Ethernet header) */
	uint32_t l3_off;
	uint32_t l4_off;
	uint32_t l3_end;
	uint8_t ipver;
	uint8_t proto;
	uint8_t fragment; /* any fragment: L4 checksums are not ours to fix */
	uint8_t nonfirst; /* no L4 header */
	uint16_t sport;
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
};

struct pkt {
	struct l3 outer;
	int tunnel;
	uint32_t vni;
	struct l3 inner;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* Guarded by emu_lock. */
static uint64_t drops[EMU_DROP_REASONS];

void emu_packet_reset(void)
{
	memset(drops, 0, sizeof drops);
}

uint64_t emu_drop_count(int reason)
{
	if (reason < 0 || reason >= EMU_DROP_REASONS)
		return 0;
	emu_lock();
	uint64_t n = drops[reason];
	emu_unlock();
	return n;
}

static void parse_l4(const uint8_t *b, uint32_t len, struct l3 *r)
{
	if (r->nonfirst)
		return;
	const uint8_t *l4 = b + r->l4_off;
	uint32_t avail = r->l3_end - r->l4_off;
	switch (r->proto) {
	case 6:
	case 17:
		if (avail >= 4 && r->l4_off + 4 <= len) {
			r->sport = rd16(l4);
			r->dport = rd16(l4 + 2);
		}
		break;
	case 1:
	case 58:
		if (avail >= 8 && r->l4_off + 8 <= len) {
			uint8_t type = l4[0];
			int echo = r->proto == 1 ? (type == 8 || type == 0) : (type == 128 || type == 129);
			r->sport = echo ? rd16(l4 + 4) : 0;
			r->dport = (uint16_t)(type << 8 | l4[1]);
		}
		break;
	}
}

static void parse_ip(const uint8_t *b, uint32_t len, uint32_t off, uint16_t ethertype, struct l3 *r)
{
	r->ok = 0;
	r->l3_off = off;
	if (ethertype == 0x0800) {
		if (off + 20 > len || (b[off] >> 4) != 4)
			return;
		uint32_t ihl = (uint32_t)(b[off] & 15) * 4, total = rd16(b + off + 2);
		if (ihl < 20 || total < ihl || off + total > len)
			return;
		uint16_t frag = rd16(b + off + 6);
		r->ipver = 4;
		r->proto = b[off + 9];
		memcpy(r->src, b + off + 12, 4);
		memcpy(r->dst, b + off + 16, 4);
		r->l4_off = off + ihl;
		r->l3_end = off + total;
		r->fragment = (frag & 0x3fff) != 0;
		r->nonfirst = (frag & 0x1fff) != 0;
	} else if (ethertype == 0x86DD) {
		if (off + 40 > len || (b[off] >> 4) != 6)
			return;
		uint32_t plen = rd16(b + off + 4);
		if (off + 40 + plen > len)
			return;
		r->ipver = 6;
		r->proto = b[off + 6]; /* extension headers are not walked: such a packet matches on them */
		memcpy(r->src, b + off + 8, 16);
		memcpy(r->dst, b + off + 24, 16);
		r->l4_off = off + 40;
		r->l3_end = off + 40 + plen;
	} else {
		return;
	}
	r->ok = 1;
	parse_l4(b, len, r);
}

static void parse_eth(const uint8_t *b, uint32_t len, uint32_t off, struct l3 *r)
{
	memset(r, 0, sizeof *r);
	r->eth_off = (int32_t)off;
	uint32_t p = off + 12;
	if (p + 2 > len)
		return;
	uint16_t type = rd16(b + p);
	for (int tags = 0; (type == 0x8100 || type == 0x88A8) && tags < 2; tags++) {
		p += 4;
		if (p + 2 > len)
			return;
		type = rd16(b + p);
	}
	parse_ip(b, len, p + 2, type, r);
}

static void parse(const uint8_t *b, uint32_t len, struct pkt *k)
{
	memset(k, 0, sizeof *k);
	parse_eth(b, len, 0, &k->outer);
	const struct l3 *o = &k->outer;
	if (!o->ok || o->nonfirst)
		return;
	if (o->proto == 17 && o->dport == VXLAN_PORT && o->l4_off + 16 <= o->l3_end && (b[o->l4_off + 8] & 0x08)) {
		k->tunnel = DOCA_EMU_TUNNEL_VXLAN;
		k->vni = rd32(b + o->l4_off + 12) >> 8;
		parse_eth(b, o->l3_end, o->l4_off + 16, &k->inner);
	} else if (o->proto == 47 && o->l4_off + 4 <= o->l3_end) {
		uint16_t flags = rd16(b + o->l4_off), proto = rd16(b + o->l4_off + 2);
		if ((flags & 7) != 0)
			return;
		uint32_t h = o->l4_off + 4;
		if (flags & 0x8000)
			h += 4;
		if (flags & 0x2000) {
			if (h + 4 > o->l3_end)
				return;
			k->vni = rd32(b + h);
			h += 4;
		}
		if (flags & 0x1000)
			h += 4;
		if (h > o->l3_end)
			return;
		k->tunnel = DOCA_EMU_TUNNEL_GRE;
		if (proto == 0x6558) {
			parse_eth(b, o->l3_end, h, &k->inner);
		} else {
			memset(&k->inner, 0, sizeof k->inner);
			k->inner.eth_off = -1;
			parse_ip(b, o->l3_end, h, proto, &k->inner);
		}
	}
}

/* The layer the flow is keyed on: the inner packet of a tunnel, else the outer one. */
static struct l3 *key_layer(struct pkt *k)
{
	return k->tunnel ? &k->inner : &k->outer;
}

static void tuple_of(struct pkt *k, struct doca_flow_match *t)
{
	const struct l3 *l = key_layer(k);
	memset(t, 0, sizeof *t);
	if (!l->ok)
		return;
	t->ip_version = l->ipver;
	t->l4_proto = l->proto;
	t->src_port = l->sport;
	t->dst_port = l->dport;
	t->vni = k->tunnel ? k->vni : 0;
	memcpy(t->src_ip, l->src, l->ipver == 4 ? 4 : 16);
	memcpy(t->dst_ip, l->dst, l->ipver == 4 ? 4 : 16);
}

/* ---- checksums ---------------------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, uint32_t n, uint32_t s)
{
	uint32_t i = 0;
	for (; i + 1 < n; i += 2)
		s += rd16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t pseudo(const uint8_t *b, const struct l3 *l, uint32_t l4len, uint8_t proto)
{
	uint32_t s = 0;
	if (l->ipver == 4) {
		s = sum16(b + l->l3_off + 12, 8, 0);
	} else {
		s = sum16(b + l->l3_off + 8, 32, 0);
		s += l4len >> 16;
	}
	return s + (l4len & 0xffff) + proto;
}

static void fix_checksums(uint8_t *b, const struct l3 *l)
{
	if (l->ipver == 4) {
		uint8_t *ip = b + l->l3_off;
		wr16(ip + 10, 0);
		wr16(ip + 10, fold(sum16(ip, (uint32_t)(ip[0] & 15) * 4, 0)));
	}
	if (l->fragment)
		return;
	uint8_t *l4 = b + l->l4_off;
	uint32_t n = l->l3_end - l->l4_off;
	uint32_t at;
	int use_pseudo = 1;
	if (l->proto == 6 && n >= 20)
		at = 16;
	else if (l->proto == 17 && n >= 8)
		at = 6;
	else if (l->proto == 58 && n >= 8)
		at = 2;
	else if (l->proto == 1 && n >= 8)
		at = 2, use_pseudo = 0;
	else
		return;
	if (l->proto == 17 && l->ipver == 4 && rd16(l4 + 6) == 0)
		return; /* IPv4 UDP without a checksum stays without one */
	wr16(l4 + at, 0);
	uint16_t c = fold(sum16(l4, n, use_pseudo ? pseudo(b, l, n, l->proto) : 0));
	if (l->proto == 17 && c == 0)
		c = 0xffff;
	wr16(l4 + at, c);
}

/* ---- actions ------------------------------------------------------------------------------ */

struct frame {
	uint8_t buf[WORK_SIZE];
	uint32_t start;
	uint32_t len;
};

static void decap(struct frame *f, struct pkt *k)
{
	uint8_t *b = f->buf + f->start;
	if (!k->tunnel || !k->inner.ok)
		return;
	if (k->inner.eth_off >= 0) {
		uint32_t off = (uint32_t)k->inner.eth_off;
		f->start += off;
		f->len = k->inner.l3_end - off;
		return;
	}
	/* GRE carrying bare IP: the outer Ethernet addresses are kept around the inner packet. */
	uint8_t macs[12];
	memcpy(macs, b, 12);
	uint32_t l3 = k->inner.l3_off;
	uint32_t nstart = f->start + l3 - 14;
	memcpy(f->buf + nstart, macs, 12);
	wr16(f->buf + nstart + 12, k->inner.ipver == 4 ? 0x0800 : 0x86DD);
	f->len = k->inner.l3_end - l3 + 14;
	f->start = nstart;
}

static void rewrite(struct frame *f, struct pkt *k, const struct doca_flow_actions *a)
{
	uint8_t *b = f->buf + f->start;
	struct l3 *l = key_layer(k);
	uint32_t changed = 0;
	if (l->ok) {
		uint32_t n = l->ipver == 4 ? 4 : 16;
		uint32_t so = l->l3_off + (l->ipver == 4 ? 12 : 8), dof = l->l3_off + (l->ipver == 4 ? 16 : 24);
		if (a->flags & DOCA_EMU_ACTION_SET_SRC_IP)
			memcpy(b + so, a->src_ip, n), changed = 1;
		if (a->flags & DOCA_EMU_ACTION_SET_DST_IP)
			memcpy(b + dof, a->dst_ip, n), changed = 1;
		if (!l->nonfirst && (l->proto == 6 || l->proto == 17)) {
			if (a->flags & DOCA_EMU_ACTION_SET_SRC_PORT)
				wr16(b + l->l4_off, a->src_port), changed = 1;
			if (a->flags & DOCA_EMU_ACTION_SET_DST_PORT)
				wr16(b + l->l4_off + 2, a->dst_port), changed = 1;
		} else if (!l->nonfirst && (l->proto == 1 || l->proto == 58) && l->sport &&
			   (a->flags & DOCA_EMU_ACTION_SET_SRC_PORT)) {
			wr16(b + l->l4_off + 4, a->src_port), changed = 1; /* echo identifier */
		}
		if (changed)
			fix_checksums(b, l);
	}
	int32_t eth = l->eth_off >= 0 ? l->eth_off : 0;
	if (a->flags & DOCA_EMU_ACTION_SET_DST_MAC)
		memcpy(b + eth, a->dst_mac, 6);
	if (a->flags & DOCA_EMU_ACTION_SET_SRC_MAC)
		memcpy(b + eth + 6, a->src_mac, 6);
}

/*
 * Decrements the TTL / hop limit of the layer the flow is keyed on. Returns 0 when the packet
 * must be dropped (the value would reach 0), as the software path's executor does. The IPv4
 * header checksum is updated incrementally (RFC 1624, eqn. 3) over the 16-bit word holding TTL
 * and protocol, so a header that arrived with a wrong checksum stays wrong by the same amount
 * instead of being silently repaired; IPv6 has no header checksum, and no L4 checksum covers
 * either field.
 */
static int dec_ttl(struct frame *f, struct pkt *k)
{
	uint8_t *b = f->buf + f->start;
	struct l3 *l = key_layer(k);
	if (!l->ok)
		return 1;
	uint8_t *ip = b + l->l3_off;
	if (l->ipver == 6) {
		if (ip[7] <= 1)
			return 0;
		ip[7]--;
		return 1;
	}
	if (ip[8] <= 1)
		return 0;
	uint16_t old = rd16(ip + 8);
	ip[8]--;
	uint16_t now = rd16(ip + 8);
	uint32_t s = (uint16_t)~rd16(ip + 10);
	s += (uint16_t)~old;
	s += now;
	wr16(ip + 10, fold(s));
	return 1;
}

static int encap(struct frame *f, struct pkt *k, const struct doca_emu_encap *e)
{
	int v6 = e->ip_version == 6;
	int vx = e->tunnel == DOCA_EMU_TUNNEL_VXLAN;
	if (!vx && e->tunnel != DOCA_EMU_TUNNEL_GRE)
		return 0;
	uint32_t iplen = v6 ? 40 : 20, tun = vx ? 16 : 8;
	uint32_t hdr = 14 + iplen + tun;
	if (f->start < hdr)
		return -1;
	uint32_t payload = f->len;
	f->start -= hdr;
	f->len += hdr;
	uint8_t *b = f->buf + f->start;
	memcpy(b, e->dst_mac, 6);
	memcpy(b + 6, e->src_mac, 6);
	wr16(b + 12, v6 ? 0x86DD : 0x0800);
	uint8_t *ip = b + 14;
	uint8_t proto = vx ? 17 : 47;
	uint8_t ttl = e->ttl ? e->ttl : 64;
	memset(ip, 0, iplen);
	if (v6) {
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(tun + payload));
		ip[6] = proto;
		ip[7] = ttl;
		memcpy(ip + 8, e->src_ip, 16);
		memcpy(ip + 24, e->dst_ip, 16);
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(iplen + tun + payload));
		wr16(ip + 6, 0x4000);
		ip[8] = ttl;
		ip[9] = proto;
		memcpy(ip + 12, e->src_ip, 4);
		memcpy(ip + 16, e->dst_ip, 4);
		wr16(ip + 10, fold(sum16(ip, 20, 0)));
	}
	uint8_t *t = ip + iplen;
	if (vx) {
		uint16_t sport = e->udp_src_port;
		if (!sport) {
			/* Entropy from the inner tuple, as VXLAN senders do, kept in the dynamic range. */
			struct doca_flow_match tup;
			tuple_of(k, &tup);
			uint32_t h = 2166136261u;
			const uint8_t *p = (const uint8_t *)&tup;
			for (size_t i = 0; i < sizeof tup; i++)
				h = (h ^ p[i]) * 16777619u;
			sport = (uint16_t)(0xC000 | (h & 0x3FFF));
		}
		wr16(t, sport);
		wr16(t + 2, VXLAN_PORT);
		wr16(t + 4, (uint16_t)(tun + payload));
		wr16(t + 6, 0);
		wr32(t + 8, 0x08000000u);
		wr32(t + 12, e->vni << 8);
		if (v6) {
			struct l3 o = {.ipver = 6, .l3_off = 14};
			uint32_t n = tun + payload;
			uint16_t c = fold(sum16(t, n, pseudo(b, &o, n, 17)));
			wr16(t + 6, c ? c : 0xffff);
		}
	} else {
		wr16(t, 0x2000); /* key present */
		wr16(t + 2, 0x6558);
		wr32(t + 4, e->vni);
	}
	return 0;
}

/* Returns 0 when the packet is dropped on the way (TTL exceeded). */
static int apply(struct frame *f, struct pkt *k, const struct doca_flow_actions *a, int *reparse)
{
	if ((a->flags & DOCA_EMU_ACTION_DECAP) && k->tunnel) {
		decap(f, k);
		parse(f->buf + f->start, f->len, k);
	}
	rewrite(f, k, a);
	if ((a->flags & DOCA_EMU_ACTION_DEC_TTL) && !dec_ttl(f, k)) {
		drops[EMU_DROP_TTL_EXCEEDED]++;
		return 0;
	}
	if (a->flags & DOCA_EMU_ACTION_ENCAP)
		encap(f, k, &a->encap);
	*reparse = 1;
	return 1;
}

/* ---- the walk ----------------------------------------------------------------------------- */

int emu_inject_packet(uint16_t port_id, const uint8_t *frame, uint32_t len, uint8_t *out_frame, uint32_t *out_len,
		      uint16_t *out_port)
{
	static __thread struct frame f;
	if (!frame || !out_frame || !out_len || !out_port || len > WORK_SIZE - HEADROOM)
		return EMU_PKT_ERR_ARGS;
	emu_lock();
	int result;
	struct doca_flow_port *port = emu_port_by_id(port_id);
	if (!port || !emu_port_usable(port)) {
		emu_unlock();
		return EMU_PKT_ERR_DEVICE;
	}
	f.start = HEADROOM;
	f.len = len;
	memcpy(f.buf + f.start, frame, len);
	*out_port = port_id;
	struct doca_flow_pipe *pipe = emu_port_root(port);
	struct pkt k;
	parse(f.buf + f.start, f.len, &k);
	result = EMU_PKT_MISS;
	int hops = 0;
	while (pipe) {
		if (++hops > MAX_HOPS) {
			result = EMU_PKT_ERR_LOOP;
			break;
		}
		if (!emu_pipe_alive(pipe)) {
			emu_note_violation("packet walked into a destroyed pipe");
			result = EMU_PKT_DROP;
			break;
		}
		struct doca_flow_match tup;
		struct emu_key key;
		struct emu_entry *e = NULL;
		int dir = 0;
		tuple_of(&k, &tup);
		if (key_layer(&k)->ok && !(pipe->type == DOCA_FLOW_PIPE_CT && k.tunnel)) {
			emu_key_from_tuple(&tup, pipe->fields, &key);
			e = emu_lookup(pipe, &key, &dir);
		}
		const struct doca_flow_fwd *fwd;
		if (e) {
			e->pkts[dir]++;
			e->bytes[dir] += f.len;
			e->last_hit_ns = emu_now_ns();
			e->aged_reported = 0;
			int reparse = 0;
			if (!apply(&f, &k, &e->act[dir], &reparse)) {
				result = EMU_PKT_DROP;
				break;
			}
			if (reparse)
				parse(f.buf + f.start, f.len, &k);
			fwd = &e->fwd[dir];
		} else {
			fwd = &pipe->fwd_miss;
		}
		pipe = NULL;
		switch (fwd->type) {
		case DOCA_FLOW_FWD_PORT:
			*out_port = fwd->port_id;
			result = EMU_PKT_PORT;
			break;
		case DOCA_FLOW_FWD_DROP:
			drops[EMU_DROP_FATE]++;
			result = EMU_PKT_DROP;
			break;
		case DOCA_FLOW_FWD_PIPE:
			pipe = fwd->next_pipe;
			break;
		default:
			result = EMU_PKT_MISS;
			break;
		}
	}
	if (result > 0) {
		if (f.len > *out_len) {
			result = EMU_PKT_ERR_SPACE;
		} else {
			memcpy(out_frame, f.buf + f.start, f.len);
			*out_len = f.len;
		}
	}
	emu_unlock();
	return result;
}
