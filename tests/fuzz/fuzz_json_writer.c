/*
 * libFuzzer target, differential: agentperf's JSON writer (jv_print_to)
 * against cJSON's own printer on whatever cJSON parses, and a task's OpenAI
 * request written directly (the backend's build_body) against the print of
 * the cJSON object that the replay path builds, with the input as the
 * conversation (an array) or as the sampling settings (an object). The two
 * must agree byte for byte, and fail together.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "jsonv.h"

static void same(const char *want, const struct sbuf *got, int rc)
{
	if (!want) {
		if (!rc)
			abort(); /* cJSON failed to print, the writer did not */
		return;
	}
	if (rc || strcmp(want, got->s) || got->len != strlen(want))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct backend *b;
	static cJSON *empty; /* the conversation when the input is the sampling */
	if (!b) {
		struct ap_error err = { { 0 } };
		if (backend_parse(&b, "openai:model=m", &err) || !(empty = cJSON_CreateArray()))
			abort();
	}
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	if (!j)
		return 0;
	struct sbuf out = { 0 };
	char *want = cJSON_PrintUnformatted(j);
	same(want, &out, jv_print_to(j, &out));
	cJSON_free(want);
	cJSON *msgs = cJSON_IsArray(j) ? j : NULL;
	cJSON *sampling = cJSON_IsObject(j) ? j : NULL;
	for (int mask = 0; mask < 8 && (msgs || sampling); mask++) {
		struct call_input in = { .messages = msgs ? msgs : empty,
					 .sampling = sampling,
					 .max_tokens = mask & 1 ? 7 : 0 };
		b->cache_cold = mask & 4;
		cJSON *tree = openai_body_tree(b, &in, mask & 2);
		if (!tree)
			abort();
		want = cJSON_PrintUnformatted(tree);
		same(want, &out, b->ops->build_body(b, &in, mask & 2, &out));
		cJSON_free(want);
		cJSON_Delete(tree);
	}
	sbuf_free(&out);
	cJSON_Delete(j);
	return 0;
}
