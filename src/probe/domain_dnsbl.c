/* DNS blocklist zones and return codes, from data/dnsbl.def. */
#include "probe/domain_dnsbl.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/strtab.h"
#include "util/util.h"

enum { IP = 0, DOMAIN = 1 };
enum { LISTED = SD_DNSBL_LISTED, POLICY = SD_DNSBL_POLICY,
    ERROR = SD_DNSBL_ERROR };

/* The strings of data/dnsbl.def, and its rows as offsets into them (a
 * table the loader need not write: util/strtab.h). */
static const struct dnsbl_strs {
#define DNSBL_ZONE(z, k, v6, b) SD_STRTAB_FIELD(zz_, z)
#define DNSBL_CODE(z, f, l, c, m) SD_STRTAB_FIELD(cz_, z) \
	SD_STRTAB_FIELD(cf_, f) SD_STRTAB_FIELD(cl_, l) SD_STRTAB_FIELD(cm_, m)
#define DNSBL_BIT(z, b, m) SD_STRTAB_FIELD(bz_, z) SD_STRTAB_FIELD(bm_, m)
#include "../../data/dnsbl.def"
#undef DNSBL_ZONE
#undef DNSBL_CODE
#undef DNSBL_BIT
} strs = {
#define DNSBL_ZONE(z, k, v6, b) z,
#define DNSBL_CODE(z, f, l, c, m) z, f, l, m,
#define DNSBL_BIT(z, b, m) z, m,
#include "../../data/dnsbl.def"
#undef DNSBL_ZONE
#undef DNSBL_CODE
#undef DNSBL_BIT
};
#define STR(off) sd_strtab_str(&strs, off)

typedef struct zone_row {
	sd_stroff zone;
	int kind, ipv6, builtin;
} zone_row;

typedef struct code_row {
	sd_stroff zone, first, last;
	sd_dnsbl_class cls;
	sd_stroff meaning;
} code_row;

typedef struct bit_row {
	sd_stroff zone;
	unsigned bit;
	sd_stroff meaning;
} bit_row;

static const zone_row zones[] = {
#define DNSBL_ZONE(z, k, v6, b) { SD_STRTAB_AT(dnsbl_strs, zz_, z), k, v6, b },
#define DNSBL_CODE(z, f, l, c, m)
#define DNSBL_BIT(z, b, m)
#include "../../data/dnsbl.def"
#undef DNSBL_ZONE
#undef DNSBL_CODE
#undef DNSBL_BIT
};

static const code_row codes[] = {
#define DNSBL_ZONE(z, k, v6, b)
#define DNSBL_CODE(z, f, l, c, m) { SD_STRTAB_AT(dnsbl_strs, cz_, z), \
	SD_STRTAB_AT(dnsbl_strs, cf_, f), SD_STRTAB_AT(dnsbl_strs, cl_, l), \
	(sd_dnsbl_class)c, SD_STRTAB_AT(dnsbl_strs, cm_, m) },
#define DNSBL_BIT(z, b, m)
#include "../../data/dnsbl.def"
#undef DNSBL_ZONE
#undef DNSBL_CODE
#undef DNSBL_BIT
};

static const bit_row bits[] = {
#define DNSBL_ZONE(z, k, v6, b)
#define DNSBL_CODE(z, f, l, c, m)
#define DNSBL_BIT(z, b, m) { SD_STRTAB_AT(dnsbl_strs, bz_, z), b, \
	SD_STRTAB_AT(dnsbl_strs, bm_, m) },
#include "../../data/dnsbl.def"
#undef DNSBL_ZONE
#undef DNSBL_CODE
#undef DNSBL_BIT
};

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

const char *sd_dnsbl_class_name(sd_dnsbl_class c)
{
	switch (c) {
	case SD_DNSBL_LISTED: return "listed";
	case SD_DNSBL_POLICY: return "policy";
	case SD_DNSBL_ERROR: return "error";
	}
	return "error";
}

static int parse_v4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return 0;
	*out = ntohl(a.s_addr);
	return 1;
}

static void say(char *meaning, size_t len, const char *fmt, const char *arg)
{
	if (meaning && len)
		snprintf(meaning, len, fmt, arg);
}

sd_dnsbl_class sd_dnsbl_classify(const char *zone, const char *answer,
    char *meaning, size_t meaning_len)
{
	uint32_t a;
	if (!parse_v4(answer, &a)) {
		say(meaning, meaning_len, "error: '%s' is not an IPv4 list "
		    "answer", answer);
		return SD_DNSBL_ERROR;
	}
	for (size_t i = 0; i < N_OF(codes); i++) {
		uint32_t lo, hi;
		if (!sd_name_eq(STR(codes[i].zone), zone) ||
		    !parse_v4(STR(codes[i].first), &lo) ||
		    !parse_v4(STR(codes[i].last), &hi))
			continue;
		if (a >= lo && a <= hi) {
			say(meaning, meaning_len, "%s", STR(codes[i].meaning));
			return codes[i].cls;
		}
	}
	/* bitmask lists: name every bit set in the last octet */
	int bitmask = 0;
	char buf[SD_DNSBL_MEANING_MAX] = "";
	for (size_t i = 0; i < N_OF(bits); i++) {
		if (!sd_name_eq(STR(bits[i].zone), zone))
			continue;
		bitmask = 1;
		if ((a >> 8) == 0x7f0000 && (a & 0xff & bits[i].bit)) {
			size_t o = strlen(buf);
			snprintf(buf + o, sizeof buf - o, "%s%s",
			    o ? ", " : "", STR(bits[i].meaning));
		}
	}
	if (bitmask && buf[0]) {
		say(meaning, meaning_len, "%s", buf);
		return SD_DNSBL_LISTED;
	}
	if ((a >> 8) == 0x7fffff) {
		say(meaning, meaning_len, "error: %s is an error code (the list "
		    "refused the query: public resolver, over quota or "
		    "unregistered)", answer);
		return SD_DNSBL_ERROR;
	}
	if (a == 0x7f000001) {
		say(meaning, meaning_len, "error: 127.0.0.1 is not a listing "
		    "(lists answer it to queries they refuse)%s", "");
		return SD_DNSBL_ERROR;
	}
	if ((a >> 24) == 127) {
		say(meaning, meaning_len, "listed (return code %s)", answer);
		return SD_DNSBL_LISTED;
	}
	say(meaning, meaning_len, "error: %s is outside 127.0.0.0/8, not a "
	    "list answer (a resolver that rewrites NXDOMAIN?)", answer);
	return SD_DNSBL_ERROR;
}

size_t sd_dnsbl_defaults(int domain_list, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < N_OF(zones) && n < max; i++)
		if (zones[i].builtin && zones[i].kind == (domain_list ?
		    DOMAIN : IP))
			out[n++] = STR(zones[i].zone);
	return n;
}

int sd_dnsbl_zone_ipv6(const char *zone)
{
	for (size_t i = 0; i < N_OF(zones); i++)
		if (sd_name_eq(STR(zones[i].zone), zone))
			return zones[i].ipv6;
	return 1;
}
