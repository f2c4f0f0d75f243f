/*
 * Shared between the workload loader (workload.c) and its importers
 * (import_bfcl.c, import_openai_log.c): the line reader, the per-format ops
 * and helpers that build tasks. Not for the rest of the program.
 */
#ifndef AP_WORKLOAD_PRIV_H
#define AP_WORKLOAD_PRIV_H

#include <sys/stat.h>

#include "jsonv.h"
#include "workload.h"

/* A line longer than this is refused rather than buffered without bound. */
#define WL_LINE_MAX (16u << 20)
#define WL_MAX_ATTEMPTS 1000
#define WL_MAX_STEPS 1000
#define WL_MAX_TOOL_LATENCY_MS 3600000L /* a tool that takes up to an hour */
#define WL_MAX_TOKENS 10000000L
#define WL_MAX_MESSAGES 10000
#define WL_MAX_TOOLS 1000
#define WL_MAX_TABLE 10000
#define WL_MAX_SUBS 64
#define WL_ID_MAX 256
#define WL_DEFAULT_MAX_STEPS 8

/* The reader's own buffer: f is read with read(2), never through stdio. */
#define WL_CHUNK 65536u

struct wl_reader {
	FILE *f;     /* owns the descriptor; positioned with lseek */
	const char *path;
	char *buf;   /* the line last read */
	size_t cap;
	size_t line; /* number of the line last read, 1-based */
	char *chunk; /* WL_CHUNK bytes of the file from offset off - pos */
	size_t pos, have;
	long off;    /* file offset of the next byte to read (after the line last read) */
};

/*
 * Next non-blank line: 0 with *s (NUL-terminated, newline stripped) and *n,
 * 1 at end of file, -errno with err set (I/O, a line over WL_LINE_MAX,
 * invalid UTF-8).
 */
int wl_read_line(struct wl_reader *r, char **s, size_t *n, struct ap_error *err);
/* Frees what the reader allocated (not r->f, which its opener closes). */
void wl_reader_free(struct wl_reader *r);

struct wl_format {
	enum workload_format id;
	const char *name;
	/*
	 * Reads what comes before the tasks (the native header) and loads side
	 * files (BFCL answers); fills wl's provenance and defaults. The reader
	 * starts at the top of the file and must be left before the first task.
	 */
	int (*open)(struct workload *wl, const char *answers_path, struct ap_error *err);
	/* One task line (parsed) into a new task. */
	int (*parse)(struct workload *wl, const cJSON *j, size_t line, struct task **out,
		     struct ap_error *err);
	/* Frees the format's state (not wl's common fields). */
	void (*close)(struct workload *wl);
};

/* The task index (workload.c): one packed record a task, in file order. */
struct wl_index {
	struct ap_arena a; /* the records, back to back */
};

struct wl_stream {
	const struct wl_format *fmt;
	struct wl_reader rd;
	long data_off;    /* file offset of the first task line, for rewind */
	size_t data_line; /* line count before it */
	void *state;      /* the format's own */
	struct stat orig; /* the file as it was copied (a change fails the run) */
	char copy_sha256[65];
	char copy_path[32]; /* /proc/self/fd/N of the private copy the tasks are read from */
	bool is_dir;      /* path is a folder (BFCL data): the format makes the copy */
	char category[64]; /* bfcl/CATEGORY:PATH forces the BFCL category; "" if not */
	struct wl_index ix; /* what the validation pass kept of each task */
};

static inline struct wl_stream *wl_stream(struct workload *wl)
{
	return (struct wl_stream *)wl->priv;
}

extern const struct wl_format wl_native_format;
extern const struct wl_format wl_bfcl_format;
extern const struct wl_format wl_openai_log_format;
extern const struct wl_format wl_capture_format;

/*
 * A logged chat-completion request (field names where it sits) into t:
 * system_prompt, messages, tools, max_tokens for the report, and the body
 * itself as raw_request (import_openai_log.c; the capture importer too).
 */
int wl_log_request_fields(struct task *t, const struct jv_ctx *x, const cJSON *req,
			  const char *field);

/* A zeroed task with the workload's default policy; NULL on ENOMEM. */
struct task *wl_task_new(const struct workload *wl, size_t line);

/*
 * -ENOTSUP with err set when a BFCL file's category (forced, or from its
 * name BFCL_vN_<category>.json) is one agentperf cannot run: said before
 * its content is read (format_sensitivity is not even JSON Lines).
 */
int bfcl_refuse_by_name(const char *path, const char *forced_category, struct ap_error *err);

/* Adds a note (printf) to wl->notes: what was left out, told once at open. */
int wl_add_note(struct workload *wl, const char *fmt, ...) AP_PRINTF(2, 3);

/* "dir/BFCL_v3_simple.json" -> "BFCL_v3_simple" (malloc'd). */
char *wl_basename_noext(const char *path);

/* Checks one OpenAI function tool ({"type": "function", "function": {...}}). */
int wl_tool_validate(const struct jv_ctx *x, const cJSON *tool, const char *field);
/* function.name of a validated tool. */
const char *wl_tool_name(const cJSON *tool);
/* Letters, digits, '_' and '-', 1 to 64 of them: what OpenAI accepts. */
bool wl_tool_name_ok(const char *name);

/* Length of NAME when s is "NAME}}..." with NAME of [A-Za-z0-9_-]; else 0. */
size_t wl_placeholder(const char *s);

#endif
