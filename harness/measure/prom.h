/*
 * A parser of the Prometheus text exposition format (version 0.0.4, what
 * llama-server --metrics, vLLM, SGLang and TGI serve on /metrics):
 *
 *   # HELP name text            (text escapes: \\ and \n)
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   # any other comment
 *   name{label="value",...} value [timestamp_ms]
 *
 * Label values unescape \\, \" and \n; a trailing comma inside the braces is
 * allowed; values are floats including NaN, +Inf, -Inf (any case, as Go's
 * ParseFloat takes them); blank lines and a CR before the LF are ignored.
 * A sample's type comes from the TYPE line of its family (the samples of a
 * family follow their TYPE line; histogram and summary samples are
 * name_bucket/_sum/_count/_created of the family), otherwise untyped.
 *
 * The parser does not allocate per sample: it copies the text once and
 * hands each sample to a callback, whose pointers are valid only during
 * the call. Errors name the line and what was wrong.
 */
#ifndef AP_PROM_H
#define AP_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_LABELS 32

enum prom_type {
	PROM_UNTYPED = 0,
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY,
};
const char *prom_type_name(enum prom_type t);

struct prom_label {
	const char *name;
	const char *value; /* unescaped */
};

struct prom_sample {
	const char *name;   /* metric name as written, e.g. llamacpp:prompt_tokens_total */
	const char *family; /* the TYPE line's name it belongs to, or name */
	enum prom_type type;
	const char *help;   /* the family's HELP text (unescaped), "" when none */
	size_t n_labels;
	struct prom_label labels[PROM_MAX_LABELS];
	double value;
	bool has_ts;
	int64_t ts_ms;
	size_t line;        /* 1-based */
};

/* Returns 0 to go on, anything else stops the parse and is returned. */
typedef int (*prom_sample_fn)(const struct prom_sample *s, void *ud);

struct prom_error {
	size_t line;
	char msg[160];
};

/*
 * Parses text[0..len) (NUL bytes are an error). Returns 0, the callback's
 * non-zero return, -EPROTO with *err filled (err may be NULL), or -ENOMEM.
 */
int prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ud, struct prom_error *err);

#endif
