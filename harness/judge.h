/*
 * Judging a replayed call against the reply captured from the agent's own
 * model (issue 17): does the candidate model say the same thing? The modes
 * (workloads/SCHEMA.md, "Replaying a capture"):
 *
 *   tools  the same set of tool calls: names equal and arguments JSON-equal
 *          (check_json_equal), order-insensitive (parallel calls); a
 *          reference without tool calls agrees with a reply without any
 *   json   the text parses as JSON (a ``` fence around it is dropped) and is
 *          JSON-equal to the reference's
 *   exact  the text equals the reference's after whitespace normalization
 *          (runs of white space become one space, the ends are trimmed)
 *   auto   tools where the reference called tools, json where its text was
 *          JSON, exact otherwise
 *
 * Pure functions on plain data: no I/O, no state.
 */
#ifndef AP_JUDGE_H
#define AP_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "check.h"

enum judge_mode { JUDGE_AUTO = 0, JUDGE_TOOLS, JUDGE_JSON, JUDGE_EXACT, JUDGE_COUNT };

/* What a reply is: the third part of a kind-of-call signature. */
enum reply_kind { REPLY_TEXT = 0, REPLY_JSON, REPLY_TOOLS, REPLY_KIND_COUNT };

const char *judge_mode_name(enum judge_mode m);
/* "tools", "json", "exact", "auto" -> mode; -EINVAL otherwise. */
int judge_mode_parse(const char *s);
const char *reply_kind_name(enum reply_kind k);

/* tools when there are calls; json when text (fence dropped) is a JSON object
 * or array; text otherwise. */
enum reply_kind reply_kind_of(const char *text, size_t n_calls);

/*
 * The reference, as the capture importer builds it: {"text": "...",
 * "tool_calls": [{"name": "...", "arguments": "<JSON text>"}, ...]}.
 * judge_resolve turns auto into the mode for this reference.
 */
enum judge_mode judge_resolve(enum judge_mode m, const cJSON *ref);

/* True when out agrees with ref under mode m (auto resolved here); else false
 * and a short reason in why. */
bool judge_eval(enum judge_mode m, const cJSON *ref, const struct episode_output *out, char *why,
		size_t whylen);

/* The text with runs of white space made one space and the ends trimmed (malloc'd). */
char *judge_normalize_ws(const char *s);

#endif
