/*
 * libFuzzer target: the BFCL importer. The input is a questions file and a
 * possible_answer file separated by a line "----" (no separator: questions
 * only, answers empty), each written to a file as the importer reads them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

static char qpath[64], apath[64];

static int write_file(const char *p, const uint8_t *d, size_t n)
{
	FILE *f = fopen(p, "wb");
	if (!f)
		return -1;
	fwrite(d, 1, n, f);
	return fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!qpath[0]) {
		snprintf(qpath, sizeof(qpath), "/tmp/fuzz-bfcl-%d.json", (int)getpid());
		snprintf(apath, sizeof(apath), "/tmp/fuzz-bfcl-%d.answers.json", (int)getpid());
	}
	const uint8_t *sep = memmem(data, size, "\n----\n", 6);
	size_t qn = sep ? (size_t)(sep - data) : size;
	size_t an = sep ? size - qn - 6 : 0;
	if (write_file(qpath, data, qn) || write_file(apath, sep ? sep + 6 : data, an))
		return 0;
	char forced[80];
	snprintf(forced, sizeof(forced), "bfcl:%s", qpath);
	struct workload *wl = NULL;
	struct ap_error err = { { 0 } };
	if (!workload_open(&wl, forced, apath, &err)) {
		struct task *t;
		for (int i = 0; i < 64 && workload_next(wl, &t, &err) == 0; i++)
			task_free(t);
		workload_close(wl);
	}
	return 0;
}
