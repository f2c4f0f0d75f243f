/*
 * Prometheus text format parser (see prom.h). One copy of the text is
 * parsed in place: names are terminated and escaped strings unescaped
 * inside their own line, so every pointer handed out stays inside the copy.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "measure/prom.h"

static const char *const type_names[] = {
	[PROM_UNTYPED] = "untyped",	[PROM_COUNTER] = "counter", [PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram", [PROM_SUMMARY] = "summary",
};

const char *prom_type_name(enum prom_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

/* strtod in the C locale whatever the program set (a metric value is never "1,5"). */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

struct parser {
	size_t line;
	struct prom_error *err;
	/* the family of the last HELP/TYPE line */
	const char *fam;
	enum prom_type fam_type;
	const char *fam_help;
};

static int fail(struct parser *p, const char *fmt, ...)
{
	if (p->err) {
		va_list ap;
		va_start(ap, fmt);
		p->err->line = p->line;
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_ws(char *s)
{
	while (is_ws(*s))
		s++;
	return s;
}

static bool name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool name_char(char c, bool colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Returns the end of a metric (colon) or label name at s, s itself when none. */
static char *scan_name(char *s, bool colon)
{
	if (!name_start(*s, colon))
		return s;
	while (name_char(*s, colon))
		s++;
	return s;
}

/* Go's ParseFloat specials (any case, optional sign), else a full strtod. */
static int parse_value(const char *tok, double *out)
{
	const char *s = tok;
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!strcasecmp(s, "inf") || !strcasecmp(s, "infinity")) {
		*out = sign * INFINITY;
		return 0;
	}
	if (!strcasecmp(s, "nan")) {
		*out = NAN;
		return 0;
	}
	if (!*tok)
		return -EINVAL;
	pthread_once(&c_locale_once, c_locale_init);
	char *end;
	errno = 0;
	double v = c_locale ? strtod_l(tok, &end, c_locale) : strtod(tok, &end);
	/* Overflow to +-HUGE_VAL is what Prometheus does too; only junk is an error. */
	if (end == tok || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_ts(const char *tok, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(tok, &end, 10);
	if (end == tok || *end || errno)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* Unescapes HELP text in place: \\ and \n; any other backslash is kept. */
static void unescape_help(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\\' && (r[1] == '\\' || r[1] == 'n')) {
			*w++ = r[1] == 'n' ? '\n' : '\\';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static int comment_line(struct parser *p, char *s)
{
	s = skip_ws(s + 1);
	bool help = !strncmp(s, "HELP", 4) && is_ws(s[4]);
	bool type = !strncmp(s, "TYPE", 4) && is_ws(s[4]);
	if (!help && !type)
		return 0; /* a plain comment */
	char *name = skip_ws(s + 4);
	char *end = scan_name(name, true);
	if (end == name)
		return fail(p, "%s without a metric name", help ? "HELP" : "TYPE");
	if (*end && !is_ws(*end))
		return fail(p, "bad character '%c' in the metric name of %s", *end,
			    help ? "HELP" : "TYPE");
	char *rest = *end ? skip_ws(end + 1) : end;
	*end = '\0';
	bool same = p->fam && !strcmp(p->fam, name);
	if (!same) {
		p->fam = name;
		p->fam_type = PROM_UNTYPED;
		p->fam_help = "";
	}
	if (help) {
		unescape_help(rest);
		p->fam_help = rest;
		return 0;
	}
	/* TYPE: one word, trailing blanks allowed */
	char *te = rest;
	while (*te && !is_ws(*te))
		te++;
	if (*skip_ws(te))
		return fail(p, "TYPE %s: more than one word after the name", name);
	*te = '\0';
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(rest, type_names[i])) {
			p->fam_type = (enum prom_type)i;
			return 0;
		}
	return fail(p, "TYPE %s: unknown type '%.40s'", name, rest);
}

/* Does sample `name` belong to the current family? */
static bool in_family(const struct parser *p, const char *name)
{
	if (!p->fam)
		return false;
	size_t fl = strlen(p->fam);
	if (strncmp(name, p->fam, fl))
		return false;
	const char *suf = name + fl;
	if (!*suf)
		return true;
	switch (p->fam_type) {
	case PROM_HISTOGRAM:
		if (!strcmp(suf, "_bucket"))
			return true;
		/* fallthrough */
	case PROM_SUMMARY:
		return !strcmp(suf, "_sum") || !strcmp(suf, "_count") || !strcmp(suf, "_created");
	case PROM_COUNTER:
		return !strcmp(suf, "_total") || !strcmp(suf, "_created");
	default:
		return false;
	}
}

static int sample_line(struct parser *p, char *s, prom_sample_fn fn, void *ud)
{
	struct prom_sample m = { .line = p->line };
	char *end = scan_name(s, true);
	if (end == s)
		return fail(p, "expected a metric name, got '%.20s'", s);
	char c = *end;
	*end = '\0';
	m.name = s;
	s = end + (c ? 1 : 0);
	if (c && c != '{' && !is_ws(c))
		return fail(p, "%s: bad character '%c' after the metric name", m.name, c);
	if (is_ws(c)) {
		s = skip_ws(s);
		if (*s == '{') {
			c = '{';
			s++;
		}
	}
	if (c == '{') {
		for (;;) {
			s = skip_ws(s);
			if (*s == '}') {
				s++;
				break;
			}
			char *ln = s, *le = scan_name(s, false);
			if (le == ln)
				return fail(p, "%s: expected a label name, got '%.20s'", m.name, s);
			s = skip_ws(le);
			if (*s != '=')
				return fail(p, "%s: label %.*s: expected '='", m.name, (int)(le - ln), ln);
			*le = '\0';
			s = skip_ws(s + 1);
			if (*s != '"')
				return fail(p, "%s: label %s: expected a quoted value", m.name, ln);
			char *val = ++s, *w = val;
			for (;;) {
				if (!*s)
					return fail(p, "%s: label %s: unterminated value", m.name, ln);
				if (*s == '"')
					break;
				if (*s == '\\') {
					char e = s[1];
					if (e == '\\' || e == '"')
						*w++ = e;
					else if (e == 'n')
						*w++ = '\n';
					else
						return fail(p, "%s: label %s: bad escape '\\%c'", m.name, ln,
							    e ? e : '0');
					s += 2;
					continue;
				}
				*w++ = *s++;
			}
			s++; /* the closing quote; w <= its place */
			*w = '\0';
			if (m.n_labels == PROM_MAX_LABELS)
				return fail(p, "%s: more than %d labels", m.name, PROM_MAX_LABELS);
			for (size_t i = 0; i < m.n_labels; i++)
				if (!strcmp(m.labels[i].name, ln))
					return fail(p, "%s: label %s given twice", m.name, ln);
			m.labels[m.n_labels].name = ln;
			m.labels[m.n_labels].value = val;
			m.n_labels++;
			s = skip_ws(s);
			if (*s == ',') {
				s++;
				continue;
			}
			if (*s == '}') {
				s++;
				break;
			}
			return fail(p, "%s: expected ',' or '}' after label %s", m.name, ln);
		}
		if (*s && !is_ws(*s))
			return fail(p, "%s: expected a blank before the value", m.name);
	}
	s = skip_ws(s);
	char *vt = s;
	while (*s && !is_ws(*s))
		s++;
	if (s == vt)
		return fail(p, "%s: no value", m.name);
	char *tt = NULL;
	if (*s) {
		*s++ = '\0';
		s = skip_ws(s);
		if (*s) {
			tt = s;
			while (*s && !is_ws(*s))
				s++;
			if (*s) {
				*s++ = '\0';
				if (*skip_ws(s))
					return fail(p, "%s: junk after the timestamp", m.name);
			}
		}
	}
	if (parse_value(vt, &m.value))
		return fail(p, "%s: bad value '%.40s'", m.name, vt);
	if (tt) {
		if (parse_ts(tt, &m.ts_ms))
			return fail(p, "%s: bad timestamp '%.40s'", m.name, tt);
		m.has_ts = true;
	}
	if (in_family(p, m.name)) {
		m.family = p->fam;
		m.type = p->fam_type;
		m.help = p->fam_help;
	} else {
		m.family = m.name;
		m.type = PROM_UNTYPED;
		m.help = "";
	}
	return fn ? fn(&m, ud) : 0;
}

int prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ud, struct prom_error *err)
{
	struct parser p = { .err = err };
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		p.line = 1;
		for (const char *q = text; q < nul; q++)
			p.line += *q == '\n';
		return fail(&p, "NUL byte in the text");
	}
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\0';
	int rc = 0;
	char *s = buf;
	while (*s) {
		p.line++;
		char *nl = strchr(s, '\n');
		char *next = nl ? nl + 1 : s + strlen(s);
		if (nl) {
			*nl = '\0';
			if (nl > s && nl[-1] == '\r')
				nl[-1] = '\0';
		}
		char *l = skip_ws(s);
		if (*l == '#')
			rc = comment_line(&p, l);
		else if (*l)
			rc = sample_line(&p, l, fn, ud);
		if (rc)
			break;
		s = next;
	}
	free(buf);
	return rc;
}
