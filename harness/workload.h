/*
 * Workloads: the native format (agentperf workload v1, JSON Lines, see
 * workloads/SCHEMA.md) and two importers (BFCL question/possible_answer pairs,
 * logged OpenAI chat-completion request bodies).
 *
 * A workload is validated whole when opened (so a malformed file is rejected
 * before anything runs) and then streamed task by task, so memory does not
 * grow with the number of tasks.
 */
#ifndef AP_WORKLOAD_H
#define AP_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "util.h"

enum retry_mode { RETRY_PLAIN = 0, RETRY_REPAIR };

enum workload_format { WL_NATIVE = 0, WL_BFCL, WL_OPENAI_LOG, WL_CAPTURE };

/* A canned tool result: answers a call of name whose arguments equal args. */
struct tool_answer {
	char *name;
	cJSON *args;  /* NULL: answers any arguments (the tool's fallback) */
	char *result; /* text given to the model as the tool's result */
	double latency_ms; /* how long the tool takes before it answers */
	bool latency_set;  /* latency_ms given (else the task's tool_latency_ms) */
};

/* One sub-call of a task's decomposed form. */
struct subcall {
	char *id;
	char *prompt; /* may hold {{ID}} (output of an earlier sub-call) and {{prev}} */
	struct check check;
};

struct attempt_policy {
	int max_attempts;     /* >= 1 */
	enum retry_mode retry;
	int max_steps;        /* model calls per episode, >= 1 */
	/* how long a tool takes before it answers, where its tool_table entry
	 * says nothing (ms); unset: --tool-latency, else 0 */
	double tool_latency_ms;
	bool tool_latency_set;
};

/*
 * Attempt policy given on the command line (--max-attempts, --retry,
 * --max-steps): each field set replaces the workload's own, native or
 * imported, for every task (a task's own policy included). 0 (retry: -1)
 * leaves the workload's value.
 */
struct policy_override {
	int max_attempts;
	int retry;            /* enum retry_mode, or -1 */
	int max_steps;
};

struct task {
	char *id;
	char *category;
	size_t line;          /* line in the workload file (native, BFCL, log) */
	char *system_prompt;  /* NULL: none */
	cJSON *messages;      /* array of OpenAI chat messages (no system message) */
	cJSON *tools;         /* array of OpenAI function tools, or NULL */
	struct tool_answer *answers;
	size_t n_answers;
	struct check check;   /* monolithic form's check */
	struct subcall *subs; /* decomposed form; n_subs == 0 if the task has none */
	size_t n_subs;
	struct attempt_policy policy;
	cJSON *sampling;      /* object merged into request: temperature, top_p, ... */
	int max_tokens;       /* 0: not sent */
	cJSON *raw_request;   /* openai-log: the logged body, replayed as-is */
	bool unsatisfiable;   /* BFCL: an expected argument has an empty list of
			       * acceptable values, so no answer can pass */
};

struct workload {
	char *spec;           /* the path as given, with its format prefix: reopens it */
	char *path;
	char *answers_path;   /* BFCL possible_answer file, or NULL */
	enum workload_format format;
	char *name, *version, *source, *license;
	char *description;
	char sha256[65];      /* of the workload file (and answers file appended for BFCL) */
	size_t n_tasks;
	/* defaults as loaded (tasks carry the resolved values) */
	struct attempt_policy policy;
	char *system_prompt;
	cJSON *tools;
	cJSON *sampling;
	int max_tokens;
	struct policy_override ov; /* applied to every task workload_next returns */
	size_t n_unsatisfiable;    /* tasks with t->unsatisfiable, counted at open */
	char **notes;              /* what the open left out and why (BFCL categories
				    * that cannot run), one line each, for the user */
	size_t n_notes;
	void *priv;           /* format-specific streaming state */
	/* --context N: every task handed out is padded to about N tokens
	 * (load/pad.h); NULL: tasks as written */
	struct pad_corpus *pad;
	/* What workload_next applies to each task (load/pad.c sets it), NULL: none. */
	struct task_hook {
		int (*apply)(struct task *t, void *ctx); /* 0 or -errno */
		void (*free)(void *ctx);
		void *ctx;
	} hook;
	long pad_target;
	uint64_t pad_seed;
};

/*
 * Opens and validates a workload. The format is detected from content (native
 * files start with a header line holding "agentperf_workload"; BFCL lines have
 * "question" and "function"; logged requests have "messages"), or forced with
 * a "bfcl:" / "openai-log:" / "native:" prefix on path. For BFCL, answers_path
 * may be NULL, in which case "<dir>/possible_answer/<basename>" is tried;
 * "bfcl/CATEGORY:" forces the BFCL category (irrelevance, live_relevance,
 * simple_java, ...), which otherwise comes from the file name. A folder is
 * BFCL data: every category file in it, answers_path the answers' folder
 * (default <dir>/possible_answer); categories that cannot run become notes.
 * Returns 0, or -errno with err filled ("file:line: field: message").
 */
int workload_open(struct workload **out, const char *path, const char *answers_path,
		  struct ap_error *err);
/*
 * Next task in file order: returns 0 and *out (free with task_free), 1 at
 * the end, -errno on error. Re-reads the file, so memory stays flat however
 * many tasks it holds; not thread-safe (one reader per workload).
 */
int workload_next(struct workload *wl, struct task **out, struct ap_error *err);
int workload_rewind(struct workload *wl);
/*
 * What the validation pass at open kept of each task, in file order: enough
 * to select and count tasks (--tasks, --category, shards, forms) without
 * parsing the file again. The same tasks workload_next returns (the policy
 * override and the task hook change none of these fields); a few bytes a
 * task, kept until workload_close.
 */
struct task_ref {
	const char *id;
	const char *category; /* NULL: none */
	bool decomposed;      /* the task has a decomposed form */
};
struct task_ref_iter {
	size_t off;           /* start: zeroed */
	const char *category;
};
/*
 * Next task's record into *out (valid until workload_close): 0, 1 at the
 * end, -ESTALE with err set when the file changed since the open (as
 * workload_next says at the end). Independent of workload_next's position.
 */
int workload_ref_next(struct workload *wl, struct task_ref_iter *it, struct task_ref *out,
		      struct ap_error *err);
void workload_close(struct workload *wl);
void task_free(struct task *t);

/*
 * Sets the command line's policy override: from now on workload_next gives
 * every task this policy where ov sets a field. It is applied where tasks
 * are loaded, so every runner sees the same tasks.
 */
void workload_set_policy_override(struct workload *wl, const struct policy_override *ov);
/* The policy tasks get: the workload's default with the override applied. */
struct attempt_policy workload_effective_policy(const struct workload *wl);
const char *retry_mode_name(enum retry_mode m);
/* "plain" or "repair" to the mode; -1 for anything else. */
int retry_mode_parse(const char *s);

/*
 * Finds the canned answer for a tool call, or NULL (no entry for this name
 * and arguments; SCHEMA.md says what the runner then sends). An entry with
 * args answers a call whose arguments hold every key of args with an equal
 * value (check_json_equal; extra arguments in the call are ignored); entries
 * are tried in file order, and an entry without args answers when none with
 * args did. Arguments that are not a JSON object only reach the fallback.
 */
const struct tool_answer *task_find_answer(const struct task *t, const char *name,
					   const char *arguments_json);

/*
 * The messages of the monolithic form as sent: a system message (when the
 * task has a system prompt) followed by a copy of t->messages. NULL on ENOMEM.
 */
cJSON *task_messages(const struct task *t);

/*
 * Renders sub-call i's prompt into out: {{ID}} becomes outputs[j] of the
 * earlier sub-call j whose id is ID, {{prev}} becomes outputs[i - 1] (the
 * final assistant text of those sub-calls; NULL counts as ""). Anything else
 * between braces is left as written. outputs needs i entries. 0 or -ENOMEM.
 */
int subcall_render(const struct task *t, size_t i, const char *const *outputs,
		   struct sbuf *out);

const char *workload_format_name(enum workload_format f);


#endif
