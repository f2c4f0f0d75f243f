/*
 * Plain records of what a run measured: one per call, attempt and task. The
 * runner fills them, the CSV writers and the report take them const, and
 * `agentperf report` reads them back from the CSV files.
 */
#ifndef AP_RECORD_H
#define AP_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define REC_ID 128
/* The CSV files' format version (first column of every row). */
#define CSV_VERSION 1

/* Why a call failed; the order is the column order of the report's breakdown. */
enum call_status {
	CALL_OK = 0,
	CALL_ERR_CONNECT,     /* could not connect / resolve */
	CALL_ERR_TIMEOUT,     /* no complete answer within the timeout */
	CALL_ERR_HTTP_429,    /* rate limited (after transport retries) */
	CALL_ERR_HTTP_4XX,    /* other client errors: bad request, auth */
	CALL_ERR_HTTP_5XX,    /* server errors (after transport retries) */
	CALL_ERR_MALFORMED,   /* body or event not the protocol's JSON */
	CALL_ERR_TRUNCATED,   /* stream ended before its end marker */
	CALL_ERR_TOO_LARGE,   /* body over the size bound */
	CALL_ERR_TRANSPORT,   /* other transport errors (reset, TLS ...) */
	CALL_ERR_INTERRUPTED, /* SIGINT/SIGTERM during the call */
	CALL_ERR_CLIENT,      /* the client's own resources ran out (EMFILE, ENOMEM): not the server */
	CALL_STATUS_COUNT
};
const char *call_status_name(enum call_status s);
int call_status_parse(const char *s);

enum form { FORM_MONO = 0, FORM_DECOMP = 1, FORM_COUNT };
/* Aggregate slot for the monolithic runs of tasks that also ran decomposed:
 * the decomposition overhead compares the same tasks only. */
#define AGG_MONO_PAIRED FORM_COUNT
#define AGG_SLOTS (FORM_COUNT + 1)
const char *form_name(enum form f);
int form_parse(const char *s);

struct call_rec {
	int repeat;             /* 1-based */
	long seq;               /* task's position in the workload, 0-based */
	char task_id[REC_ID];
	int form;
	bool paired;            /* the task ran in both forms in this run */
	int sub;                /* sub-call index in the decomposed form, -1 for monolithic */
	int attempt, step;      /* 1-based */
	double t_start_s;       /* since the run's clock zero */
	double queue_s;         /* the task's first call: scheduled start to send (open loop); else 0 */
	double ttft_s, itl_s, e2e_s, out_tps; /* NAN when not applicable */
	long prompt_tokens, completion_tokens, cached_tokens;
	bool usage;             /* server reported token counts */
	char tok_src[24];       /* where the counts came from (measure/tokens.h) */
	long n_chunks;          /* content-bearing stream chunks; -1 not streamed */
	int http_status;
	int status;             /* enum call_status */
	int retries;            /* transport retries */
	char finish[32];
	int n_tool_calls;
	double srv_prompt_tps, srv_gen_tps; /* llama-server's own timings, NAN if absent */
	bool energy_valid;
	double energy_j, idle_j; /* device boundary, gross; idle share */
	char error[160];
	long long seed;         /* sent with the call (seed.h), -1: none sent */
	/* internal: energy attribution key and the attempt this call belongs to */
	uint64_t key;
	int aidx;
	bool attributed;
};

struct attempt_rec {
	int repeat;
	long seq;
	char task_id[REC_ID];
	char category[64];
	int form, sub;
	char sub_id[64];
	int attempt;
	bool success;
	int calls, steps;
	long prompt_tokens, completion_tokens, cached_tokens;
	double t_start_s, duration_s;
	double tool_wait_s;     /* time spent waiting on tool latency (latency_ms) */
	bool energy_valid;
	double energy_j, idle_j;
	int status;             /* first failed call's status, or ok */
	char why[200];          /* check failure reason, or call error */
	/* A failure a deployed system could see without the ground truth
	 * (transport, no final answer, check_failure_visible): 1, 0 silent,
	 * -1 not known (a success, or read from a run that predates it) */
	int visible;
};

struct task_rec {
	int repeat;
	long seq;
	char task_id[REC_ID];
	char category[64];
	int form;
	bool paired;            /* the task ran in both forms in this run */
	bool success;
	int attempts;           /* all attempts (all sub-calls' in decomposed form) */
	int k_success;          /* success within k attempts (max over sub-calls); 0: failed */
	int calls;
	long prompt_tokens, completion_tokens, cached_tokens;
	double t_start_s, duration_s;
	/* Open loop: the scheduled arrival (since the run's clock zero) and the
	 * wait from it to the start; closed loop: t_sched_s = t_start_s, 0. */
	double t_sched_s, queue_s;
	double tool_wait_s;     /* tool latency waited through (all attempts) */
	bool tool_energy_valid;
	double tool_energy_j;   /* device energy attributed to those waits, apart from calls' */
	int slo_met;            /* --slo: 1 met, 0 missed, -1 not judged */
	bool energy_valid;
	double energy_j, idle_j;
	char outcome[16];       /* success, failed, error, interrupted */
	/* ESTIMATED tokens of system prompt + tool definitions sent with every
	 * call (bytes / 4): the context-overhead numerator, 0 when unknown */
	long ctx_tokens_est;
};

#endif
