/* Success checks: decide whether an episode's output solved the task. */
#ifndef AP_CHECK_H
#define AP_CHECK_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

enum check_kind {
	CHECK_NONE = 0,   /* no check: a completed call with no error counts as success */
	CHECK_EXACT,      /* final text equals value (after trimming whitespace) */
	CHECK_CONTAINS,   /* final text contains value */
	CHECK_REGEX,      /* final text matches the PCRE2 regex value (bounded matching) */
	CHECK_JSON_FIELD, /* final text (or its first {...} block) is JSON; field at path equals expect */
	CHECK_NUMERIC,    /* first number in final text (or at path) within tolerance of number */
	CHECK_TOOL_CALL,  /* some tool call of the episode has name tool and acceptable args */
	CHECK_ALL,        /* every sub-check passes */
	CHECK_ANY,        /* at least one sub-check passes */
	CHECK_REFERENCE,  /* agrees with a captured reply (expect), judged by judge.h's mode
			   * `judge`; built by the capture importer only, never parsed */
	CHECK_CALL_COUNT, /* the episode made between min and max tool calls (BFCL relevance) */
};

struct check {
	enum check_kind kind;
	char *value;      /* exact, contains, regex */
	bool ignore_case; /* exact, contains, regex */
	char *path;       /* json_field, numeric (optional): dotted path, e.g. "a.b[0].c" */
	cJSON *expect;    /* json_field */
	double number, tolerance; /* numeric: |x - number| <= tolerance */
	char *tool;       /* tool_call: function name */
	cJSON *args;      /* tool_call: object arg -> array of acceptable values; "" = may be omitted */
	bool strict_args; /* tool_call: arguments not named in args make it fail */
	bool bfcl;        /* tool_call: BFCL value matching (strings normalized, nested
			   * objects hold per-key acceptable lists), see SCHEMA.md */
	cJSON *bfcl_params; /* tool_call with bfcl: the function's BFCL "parameters":
			     * judged by BFCL's AST checker (bfcl_match.h), types too */
	int bfcl_lang;    /* enum bfcl_lang: Python, or Java/JavaScript string literals */
	int min_calls, max_calls; /* call_count; max_calls -1: no upper bound */
	bool last;        /* numeric: take the last number in the text, not the first */
	bool exact_calls; /* all: the tool_call sub-checks match distinct calls, one
			   * each, and the episode made no other tool call */
	int judge;        /* reference: enum judge_mode */
	bool runtime;     /* any kind: the workload marks this check runtime-verifiable (a
			   * deployed system could run it), so its failure is visible */
	struct check *sub;
	size_t n_sub;
	pcre2_code *re;   /* compiled regex when kind == CHECK_REGEX */
	pcre2_match_context *re_limits;
};

/* One tool call the model made (OpenAI shape: arguments is JSON text). */
struct tool_call {
	char *id;
	char *name;
	char *arguments;
};

/* What an episode produced, as the check sees it. */
struct episode_output {
	const char *text; /* final assistant text, "" if none */
	const struct tool_call *calls; /* every tool call of the episode, in order */
	size_t n_calls;
};

/*
 * Parses a check object ({"kind": ..., ...}). On error fills err with
 * file:line: field and returns -EINVAL. field_prefix names where the check
 * sits (e.g. "check" or "decomposed[2].check").
 */
int check_parse(struct check *c, const cJSON *j, const char *file, size_t line,
		const char *field_prefix, struct ap_error *err);
void check_free(struct check *c);

/*
 * Evaluates the check. Returns true on success; on failure writes a short
 * human-readable reason to why (used as the repair message).
 */
bool check_eval(const struct check *c, const struct episode_output *out, char *why,
		size_t whylen);

const char *check_kind_name(enum check_kind k);

/*
 * For a failed check: whether a deployed system, which has no expected
 * answer, could still see the failure: an empty answer, a call to a tool
 * not in tools (NULL: not checked), unparseable output where the check wants
 * JSON or a number, or a check marked "runtime": true. Transport failures
 * and exhausted steps are the caller's to add.
 */
bool check_failure_visible(const struct check *c, const struct episode_output *out,
			   const cJSON *tools);

/*
 * The reference kind is the capture judge's (judge.c): it sets this to its
 * evaluation, so the checks need nothing from the module above them (judge.c
 * is linked wherever a reference check can be built: the capture importer
 * calls it). True when the output agrees; else why says "judge MODE: reason".
 */
extern bool (*check_reference_eval)(const struct check *c, const struct episode_output *o,
				    char *why, size_t whylen);

/* check_json_equal lives in match.h, the layer under the checks and the judge. */
#include "match.h"

#endif
