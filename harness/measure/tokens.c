/* Token provenance and the chunk cross-check (tokens.h). */
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "measure/tokens.h"

long tokens_bytes_rule(unsigned long bytes)
{
	return (long)((bytes + 3) / 4);
}

static unsigned long content_bytes(const cJSON *msgs)
{
	unsigned long n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (cJSON_IsString(c)) {
			n += strlen(c->valuestring);
		} else if (c && !cJSON_IsNull(c)) {
			/* content parts, or tool calls: their JSON */
			char *t = cJSON_PrintUnformatted(c);
			n += t ? strlen(t) : 0;
			cJSON_free(t);
		}
		const cJSON *tc = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
		if (tc) {
			char *t = cJSON_PrintUnformatted(tc);
			n += t ? strlen(t) : 0;
			cJSON_free(t);
		}
	}
	return n;
}

static unsigned long json_bytes(const cJSON *j)
{
	if (!j || (cJSON_IsArray(j) && !cJSON_GetArraySize(j)))
		return 0;
	char *t = cJSON_PrintUnformatted(j);
	unsigned long n = t ? strlen(t) : 0;
	cJSON_free(t);
	return n;
}

void tokens_provenance(struct call_rec *c, const struct call_result *r,
		       const struct call_input *in, bool streamed)
{
	/* -1: not streamed, no chunks to set against the count (empty in calls.csv) */
	c->n_chunks = streamed ? (long)r->n_chunks : -1;
	if (r->usage_reported) {
		ap_scopy(c->tok_src, sizeof(c->tok_src), TOKENS_SRC_SERVER);
		return;
	}
	ap_scopy(c->tok_src, sizeof(c->tok_src), TOKENS_SRC_BYTES);
	if (c->status != CALL_OK)
		return; /* nothing came back to count */
	const cJSON *msgs = in->raw ? cJSON_GetObjectItemCaseSensitive(in->raw, "messages")
				    : in->messages;
	const cJSON *tools = in->raw ? cJSON_GetObjectItemCaseSensitive(in->raw, "tools") : in->tools;
	c->prompt_tokens = tokens_bytes_rule(content_bytes(msgs) + json_bytes(tools));
	unsigned long out = r->text.len;
	for (size_t i = 0; i < r->n_calls; i++) {
		out += r->calls[i].name ? strlen(r->calls[i].name) : 0;
		out += r->calls[i].arguments ? strlen(r->calls[i].arguments) : 0;
	}
	c->completion_tokens = tokens_bytes_rule(out);
	c->cached_tokens = 0;
}
