/* Judging a replayed call against its captured reply (judge.h). */
#include "judge.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[JUDGE_COUNT] = {
	[JUDGE_AUTO] = "auto", [JUDGE_TOOLS] = "tools", [JUDGE_JSON] = "json", [JUDGE_EXACT] = "exact"
};
static const char *const kind_names[REPLY_KIND_COUNT] = {
	[REPLY_TEXT] = "text", [REPLY_JSON] = "json", [REPLY_TOOLS] = "tool"
};

const char *judge_mode_name(enum judge_mode m)
{
	return (unsigned)m < JUDGE_COUNT ? mode_names[m] : "unknown";
}

int judge_mode_parse(const char *s)
{
	for (int i = 0; i < JUDGE_COUNT; i++)
		if (!strcmp(s, mode_names[i]))
			return i;
	return -EINVAL;
}

const char *reply_kind_name(enum reply_kind k)
{
	return (unsigned)k < REPLY_KIND_COUNT ? kind_names[k] : "unknown";
}

/* The JSON of a reply's text: the whole text, or inside one ``` fence. NULL if none. */
static cJSON *text_json(const char *text)
{
	if (!text)
		return NULL;
	while (isspace((unsigned char)*text))
		text++;
	cJSON *j = NULL;
	if (!strncmp(text, "```", 3)) {
		const char *b = strchr(text, '\n');
		const char *e = b ? strstr(b, "```") : NULL;
		if (e)
			j = cJSON_ParseWithLength(b + 1, (size_t)(e - b - 1));
	} else {
		j = cJSON_Parse(text);
	}
	if (j && !cJSON_IsObject(j) && !cJSON_IsArray(j)) {
		/* A bare number or string is text that happens to parse. */
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

enum reply_kind reply_kind_of(const char *text, size_t n_calls)
{
	if (n_calls)
		return REPLY_TOOLS;
	cJSON *j = text_json(text);
	cJSON_Delete(j);
	return j ? REPLY_JSON : REPLY_TEXT;
}

static const char *ref_text(const cJSON *ref)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ref, "text");
	return cJSON_IsString(t) ? t->valuestring : "";
}

enum judge_mode judge_resolve(enum judge_mode m, const cJSON *ref)
{
	if (m != JUDGE_AUTO)
		return m;
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ref, "tool_calls"));
	switch (reply_kind_of(ref_text(ref), (size_t)n)) {
	case REPLY_TOOLS: return JUDGE_TOOLS;
	case REPLY_JSON: return JUDGE_JSON;
	default: return JUDGE_EXACT;
	}
}

char *judge_normalize_ws(const char *s)
{
	size_t n = strlen(s ? s : "");
	char *o = malloc(n + 1), *w = o;
	if (!o)
		return NULL;
	bool space = false;
	for (const char *p = s ? s : ""; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = w != o;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *p;
	}
	*w = '\0';
	return o;
}

/* Arguments as JSON when they parse, else as a JSON string of the text. */
static cJSON *args_json(const char *a)
{
	cJSON *j = cJSON_Parse(a && *a ? a : "{}");
	return j ? j : cJSON_CreateString(a ? a : "");
}

static bool judge_tools(const cJSON *ref, const struct episode_output *o, char *why, size_t n)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(ref, "tool_calls");
	size_t nr = (size_t)cJSON_GetArraySize(rc);
	if (nr != o->n_calls) {
		snprintf(why, n, "%zu tool calls, the reference made %zu", o->n_calls, nr);
		return false;
	}
	if (!nr)
		return true;
	/* Order-insensitive: each reference call takes one unused equal call. */
	bool *used = calloc(nr, sizeof(*used));
	if (!used) {
		snprintf(why, n, "out of memory");
		return false;
	}
	bool ok = true;
	const cJSON *c;
	cJSON_ArrayForEach(c, rc)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *ar = cJSON_GetObjectItemCaseSensitive(c, "arguments");
		const char *name = cJSON_IsString(nm) ? nm->valuestring : "";
		cJSON *want = args_json(cJSON_IsString(ar) ? ar->valuestring : "");
		bool found = false, named = false;
		for (size_t i = 0; i < nr && !found; i++) {
			if (used[i] || strcmp(o->calls[i].name ? o->calls[i].name : "", name))
				continue;
			named = true;
			cJSON *got = args_json(o->calls[i].arguments);
			if (want && got && check_json_equal(want, got))
				found = used[i] = true;
			cJSON_Delete(got);
		}
		cJSON_Delete(want);
		if (!found) {
			snprintf(why, n, named ? "%s called with other arguments than the reference's"
					       : "no call of %s, which the reference made",
				 name);
			ok = false;
			break;
		}
	}
	free(used);
	return ok;
}

static bool judge_json(const cJSON *ref, const struct episode_output *o, char *why, size_t n)
{
	cJSON *want = text_json(ref_text(ref));
	cJSON *got = text_json(o->text);
	bool ok = want && got && check_json_equal(want, got);
	if (!ok)
		snprintf(why, n, !want ? "the reference's text is not JSON"
				 : !got ? "the reply is not JSON"
					: "the reply's JSON differs from the reference's");
	cJSON_Delete(want);
	cJSON_Delete(got);
	return ok;
}

static bool judge_exact(const cJSON *ref, const struct episode_output *o, char *why, size_t n)
{
	char *a = judge_normalize_ws(ref_text(ref)), *b = judge_normalize_ws(o->text);
	bool ok = a && b && !strcmp(a, b);
	if (!ok)
		snprintf(why, n, "text differs from the reference's (%zu vs %zu characters)",
			 b ? strlen(b) : 0, a ? strlen(a) : 0);
	free(a);
	free(b);
	return ok;
}

bool judge_eval(enum judge_mode m, const cJSON *ref, const struct episode_output *out, char *why,
		size_t whylen)
{
	why[0] = '\0';
	switch (judge_resolve(m, ref)) {
	case JUDGE_TOOLS: return judge_tools(ref, out, why, whylen);
	case JUDGE_JSON: return judge_json(ref, out, why, whylen);
	default: return judge_exact(ref, out, why, whylen);
	}
}

/* The checks' reference kind (check.h's check_reference_eval). */
static bool judge_reference_eval(const struct check *c, const struct episode_output *o, char *why,
				 size_t whylen)
{
	char r[256];
	if (judge_eval((enum judge_mode)c->judge, c->expect, o, r, sizeof(r)))
		return true;
	snprintf(why, whylen, "judge %s: %s",
		 judge_mode_name(judge_resolve((enum judge_mode)c->judge, c->expect)), r);
	return false;
}

__attribute__((constructor)) static void judge_register(void)
{
	check_reference_eval = judge_reference_eval;
}
