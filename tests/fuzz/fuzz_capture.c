/*
 * libFuzzer target: the capture importer (agentperf proxy's JSONL as a
 * workload: line checks, kinds of call, the reference) and the judge run on
 * each task's own reference, as a replay would. The input is written to a
 * file because the loader streams from one, as it does for users.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture.h"
#include "judge.h"
#include "workload.h"
#include "fuzzutil.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char forced[80];
	if (fuzz_to_file(data, size, "capture", "capture", path, sizeof(path), forced, sizeof(forced)))
		return 0;
	struct workload *wl = NULL;
	struct ap_error err = { { 0 } };
	if (!workload_open(&wl, forced, NULL, &err)) {
		struct task *t;
		struct tool_call tc = { "1", "get_weather", "{\"location\":\"Paris\"}" };
		for (int i = 0; i < 64 && workload_next(wl, &t, &err) == 0; i++) {
			const cJSON *ref = t->check.expect;
			const cJSON *txt = cJSON_GetObjectItemCaseSensitive(ref, "text");
			struct episode_output same = { cJSON_IsString(txt) ? txt->valuestring : "", NULL, 0 };
			struct episode_output other = { "{\"a\": [1, 2]}", &tc, 1 };
			char why[256];
			for (int m = 0; m < JUDGE_COUNT; m++) {
				judge_eval((enum judge_mode)m, ref, &same, why, sizeof(why));
				judge_eval((enum judge_mode)m, ref, &other, why, sizeof(why));
			}
			task_free(t);
		}
		workload_close(wl);
	}
	struct capture_index ix;
	if (!capture_index_load(path, &ix, &err))
		capture_index_free(&ix);
	return 0;
}
