/* Shared by the libFuzzer targets whose loader streams from a file, as it does for users. */
#ifndef AP_FUZZUTIL_H
#define AP_FUZZUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/*
 * Writes the input to /tmp/fuzz-NAME-PID.jsonl (the path kept in path[n])
 * and puts "PREFIX:" before it in forced[fn]. 0, or -1 when it cannot.
 */
static inline int fuzz_to_file(const uint8_t *data, size_t size, const char *name,
			       const char *prefix, char *path, size_t n, char *forced, size_t fn)
{
	if (!path[0])
		snprintf(path, n, "/tmp/fuzz-%s-%d.jsonl", name, (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(data, 1, size, f);
	fclose(f);
	snprintf(forced, fn, "%s:%s", prefix, path);
	return 0;
}

#endif
