/* The JSON renderer (docs/json.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/util.h"

json_t *sd_report_json_doc(const sd_report *r)
{
	json_t *doc;
	if (r->error) {
		doc = json_pack("{s:s, s:O}", "schema", SD_SCHEMA, "error",
		    r->error);
	} else {
		json_t *verdict = r->verdict ? json_incref(r->verdict) :
		    json_pack("{s:s, s:s, s:n, s:s, s:[], s:[]}", "status",
		        "inconclusive", "cause", "inconclusive", "category",
		        "summary", "no verdict was reached", "fix", "evidence");
		json_error_t jerr;
		char started[40];
		sd_report_started_at(r, started, sizeof started);
		doc = json_pack_ex(&jerr, 0,
		    "{s:s, s:s, s:s, s:s, s:o, s:O, s:O, s:O, s:I}",
		    "schema", SD_SCHEMA, "version", sd_version(), "command",
		    r->command, "started_at", started, "verdict", verdict, "findings", r->findings,
		    "facts", r->facts, "transcript", r->transcript,
		    "elapsed_ms", (json_int_t)r->elapsed_ms);
		if (!doc)
			fprintf(stderr, "smtpdoctor: JSON report: %s\n", jerr.text);
		const char *key;
		json_t *v;
		json_object_foreach(r->extra, key, v)
			json_object_set(doc, key, v);
	}
	return doc;
}


/*
 * The document as text, written here rather than by json_dumps(): the same
 * bytes as jansson's JSON_INDENT(2) | JSON_ENSURE_ASCII (members in the
 * order they were set), at a fifth of the instructions.  jansson formats
 * a string one code point at a time and keeps a table of the containers
 * it is inside (each keyed by its address printed with snprintf()), which
 * made printing the report a quarter of a whole `spf` process.
 */
typedef sd_buf jbuf;

static void put(jbuf *b, const char *s, size_t n)
{
	sd_buf_put(b, s, n, SIZE_MAX);
}

/* A line break and the indentation of depth (two spaces a level). */
static void put_indent(jbuf *b, size_t depth)
{
	static const char spaces[] = "                                ";
	put(b, "\n", 1);
	for (size_t n = depth * 2; n;) {
		size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
		put(b, spaces, k);
		n -= k;
	}
}

/* Bytes a JSON string carries as they are: printable ASCII but " and \. */
static int json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* One escape: a short form, or \uXXXX (a pair of them past the BMP). */
static void put_escape(jbuf *b, unsigned cp)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *shrt = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" :
	    cp == '\b' ? "\\b" : cp == '\f' ? "\\f" : cp == '\n' ? "\\n" :
	    cp == '\r' ? "\\r" : cp == '\t' ? "\\t" : NULL;
	if (shrt) {
		put(b, shrt, 2);
		return;
	}
	if (cp >= 0x10000) {
		cp -= 0x10000;
		put_escape(b, 0xd800 | (cp >> 10));
		cp = 0xdc00 | (cp & 0x3ff);
	}
	char u[6] = { '\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15],
	    hex[cp >> 4 & 15], hex[cp & 15] };
	put(b, u, sizeof u);
}

/* A string, runs of plain bytes copied at once.  jansson holds valid
 * UTF-8 only, so a lead byte's sequence is whole. */
static void put_string(jbuf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	put(b, "\"", 1);
	for (size_t i = 0; i < len;) {
		size_t run = i;
		while (run < len && json_plain(s[run]))
			run++;
		put(b, str + i, run - i);
		if (run == len)
			break;
		unsigned cp = s[run];
		size_t n = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
		if (n > len - run) {
			b->failed = 1;  /* not UTF-8: never in a json_t */
			return;
		}
		if (n > 1)
			cp &= 0x7fu >> n;
		for (size_t k = 1; k < n; k++)
			cp = cp << 6 | (s[run + k] & 0x3fu);
		put_escape(b, cp);
		i = run + n;
	}
	put(b, "\"", 1);
}

static void put_value(jbuf *b, const json_t *v, size_t depth);

static void put_object(jbuf *b, const json_t *o, size_t depth)
{
	void *it = json_object_iter((json_t *)o);
	put(b, "{", 1);
	for (void *first = it; it;
	    it = json_object_iter_next((json_t *)o, it)) {
		if (it != first)
			put(b, ",", 1);
		put_indent(b, depth + 1);
		put_string(b, json_object_iter_key(it),
		    json_object_iter_key_len(it));
		put(b, ": ", 2);
		put_value(b, json_object_iter_value(it), depth + 1);
	}
	if (json_object_size(o))
		put_indent(b, depth);
	put(b, "}", 1);
}

static void put_array(jbuf *b, const json_t *a, size_t depth)
{
	size_t n = json_array_size(a);
	put(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(b, ",", 1);
		put_indent(b, depth + 1);
		put_value(b, json_array_get(a, i), depth + 1);
	}
	if (n)
		put_indent(b, depth);
	put(b, "]", 1);
}

static void put_value(jbuf *b, const json_t *v, size_t depth)
{
	char num[32];
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put_object(b, v, depth);
		return;
	case JSON_ARRAY:
		put_array(b, v, depth);
		return;
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		put(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)));
		return;
	case JSON_TRUE:
		put(b, "true", 4);
		return;
	case JSON_FALSE:
		put(b, "false", 5);
		return;
	case JSON_NULL:
		put(b, "null", 4);
		return;
	case JSON_REAL: {
		/* jansson's own shortest form of a double */
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		if (s)
			put(b, s, strlen(s));
		else
			b->failed = 1;
		free(s);
		return;
	}
	}
}

char *sd_json_text(const json_t *v)
{
	jbuf b = { NULL, 0, 0, 0 };
	put_value(&b, v, 0);
	if (b.failed) {
		free(b.buf);
		return NULL;
	}
	return b.buf;
}

char *sd_report_to_json(const sd_report *r)
{
	json_t *doc = sd_report_json_doc(r);
	if (!doc)
		return NULL;
	/* facts may hold bytes from the network: jansson refuses invalid
	 * UTF-8 at creation, so what is here is valid */
	char *s = sd_json_text(doc);
	if (!s)
		fprintf(stderr, "smtpdoctor: could not render the JSON report\n");
	json_decref(doc);
	return s;
}
