/*
 * libFuzzer target: the native workload loader (header line, tasks, checks,
 * tool tables, decomposed forms, placeholders). The input is written to a
 * file because the loader streams from one, as it does for users.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"
#include "fuzzutil.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char forced[80];
	if (fuzz_to_file(data, size, "workload", "native", path, sizeof(path), forced, sizeof(forced)))
		return 0;
	struct workload *wl = NULL;
	struct ap_error err = { { 0 } };
	if (!workload_open(&wl, forced, NULL, &err)) {
		struct task *t;
		struct sbuf out = { 0 };
		struct task_ref_iter it = { 0 };
		struct task_ref ref;
		for (int i = 0; i < 64 && workload_next(wl, &t, &err) == 0; i++) {
			/* The open's index names the same task as the stream. */
			if (workload_ref_next(wl, &it, &ref, &err) || strcmp(ref.id, t->id) ||
			    strcmp(ref.category ? ref.category : "", t->category ? t->category : "") ||
			    ref.decomposed != (t->n_subs > 0))
				abort();
			/* Exercise what the runner does with a task: messages, sub-call prompts, tool table. */
			cJSON_Delete(task_messages(t));
			const char *outs[8] = { "a", "{{x}}", "", NULL, "b", "c", "d", "e" };
			for (size_t s = 0; s < t->n_subs && s < 8; s++) {
				sbuf_reset(&out);
				subcall_render(t, s, outs, &out);
			}
			task_find_answer(t, "get_weather", "{\"location\":\"Paris\"}");
			task_find_answer(t, "x", "not json");
			task_free(t);
		}
		sbuf_free(&out);
		workload_close(wl);
	}
	return 0;
}
