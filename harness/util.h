/* Small shared helpers: logging, monotonic time, growable strings, files. */
#ifndef AP_UTIL_H
#define AP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AP_PRINTF(f, a) __attribute__((format(printf, f, a)))

extern int ap_verbose;

/* Applied to every log line before it is printed; guard.c sets it (secrets and URL
 * credentials masked) so that the logger needs nothing from the layer above it. */
extern void (*ap_log_mask)(char *line, size_t n);
void ap_err(const char *fmt, ...) AP_PRINTF(1, 2);
void ap_warn(const char *fmt, ...) AP_PRINTF(1, 2);
void ap_info(const char *fmt, ...) AP_PRINTF(1, 2);
void ap_debug(const char *fmt, ...) AP_PRINTF(1, 2);

/* CLOCK_MONOTONIC in nanoseconds: every timestamp in a run uses this clock. */
uint64_t ap_now_ns(void);
/* CLOCK_REALTIME in nanoseconds, for run ids and meta.json only. */
uint64_t ap_wall_ns(void);
void ap_sleep_ns(uint64_t ns);
/* CPU time of the calling thread in seconds, NAN if unreadable. */
double ap_thread_cpu_s(void);
/* The malloc this process runs on, as found at run time (the agentperf binary
 * links mimalloc where it is installed; tests and LD_PRELOAD may differ):
 * "mimalloc 2.0.9" or "glibc 2.36". The client's own CPU depends on it, so
 * meta.json and --version say it. Static storage; never NULL. */
const char *ap_allocator(void);

/* A growable NUL-terminated byte buffer. Functions return 0 or -ENOMEM. */
struct sbuf {
	char *s;
	size_t len, cap;
};
int sbuf_reserve(struct sbuf *b, size_t extra);
int sbuf_add(struct sbuf *b, const char *s, size_t n);
int sbuf_adds(struct sbuf *b, const char *s);
int sbuf_addf(struct sbuf *b, const char *fmt, ...) AP_PRINTF(2, 3);
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/*
 * A libcurl write callback (CURLOPT_WRITEFUNCTION, with a struct sbuf_capped
 * as CURLOPT_WRITEDATA): appends the reply to b, at most max bytes in all;
 * beyond that, or out of memory, it stops the transfer (over says which).
 */
struct sbuf_capped {
	struct sbuf *b;
	size_t max;
	bool over;
};
size_t sbuf_capped_write(char *p, size_t sz, size_t n, void *ud);

/*
 * An append-only arena outside the heap (one anonymous mapping, doubled by
 * mremap as it fills): for what grows with a workload's tasks and lives for a
 * run, so it adds no malloc overhead a piece and its pages go back to the
 * system when freed (freed heap chunks would stay in the process's RSS).
 * Zeroed: empty. Offsets stay valid as it moves; pointers do not.
 */
struct ap_arena {
	char *base;
	size_t used, size;
};
/* Appends n bytes of p: 1 + their offset, or 0 (ENOMEM). */
size_t ap_arena_put(struct ap_arena *a, const void *p, size_t n);
void ap_arena_free(struct ap_arena *a);

/* An error message with its place: "file:line: field: message". */
struct ap_error {
	char msg[512];
};
void ap_error_set(struct ap_error *e, const char *file, size_t line, const char *field,
		  const char *fmt, ...) AP_PRINTF(5, 6);

/* mkdir -p: path and every missing folder above it (0755); 0 or -errno. */
int ap_mkdir_p(const char *path);
/*
 * Opens path for reading, refusing anything but a regular file (a FIFO, a
 * device such as /dev/zero, a directory) with a message in err naming it.
 * Returns the fd or -errno.
 */
int ap_open_regular(const char *path, struct ap_error *err);
/* ap_open_regular + fdopen; NULL with errno set and err filled. */
FILE *ap_fopen_regular(const char *path, struct ap_error *err);
/*
 * Finds a file of the data folder by its path under the source tree (rel, e.g.
 * "workloads/profiles/x.json"): in the working directory, under
 * $AGENTPERF_DATA (the workloads folder), beside the binary, one folder up
 * (a binary in a build folder of the tree, such as build-asan/), in
 * PREFIX/share/agentperf/ next to PREFIX/bin, and in the folder `make install`
 * put it in. 0 with the path in buf, or -ENOENT with rel itself in buf.
 */
int ap_data_find(const char *rel, char *buf, size_t n);
/*
 * Reads a whole regular file of at most AP_READ_FILE_MAX bytes; returns 0 or
 * -errno (-EINVAL not a regular file, -EISDIR, -EFBIG too large). *out is
 * NUL-terminated.
 */
#define AP_READ_FILE_MAX (64u << 20)
int ap_read_file(const char *path, char **out, size_t *len);
/* What an ap_read_file error means, for a message. */
const char *ap_read_file_error(int rc);
/* SHA-256 of a file as 64 hex digits; returns 0 or -errno. */
/* SHA-256 of the files' bytes in turn (NULL entries skipped): the one digest loop. */
int ap_sha256_files(const char *const *paths, size_t np, char hex[65]);
int ap_sha256_file(const char *path, char hex[65]);

char *ap_strdup(const char *s);
/* Copies src into dst[n], truncating on purpose (fixed-size record fields). */
void ap_scopy(char *dst, size_t n, const char *src);
/* Parses a non-negative integer/double fully; returns 0 or -EINVAL. */
int ap_parse_long(const char *s, long *out);
int ap_parse_double(const char *s, double *out);

/* Appends s to b as a CSV field (quoted when needed, C locale). */
int csv_field(struct sbuf *b, const char *s);

#endif
