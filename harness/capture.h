/*
 * Captures (agentperf proxy's JSONL, workloads/SCHEMA.md "Captures") as a
 * workload and as data: the kinds of call, and the index the replaceable
 * share is computed from.
 *
 * Kind of call: the signature (SHA-256 of the system prompt, the sorted tool
 * names offered, the captured reply's kind: tool, json or text). A kind is
 * named "<reply kind>:<its most frequent tool>" for tool replies, else
 * "<reply kind>:<first words of the system prompt>" ("no system prompt" when
 * none), made unique with "#2", "#3" in file order. With --cluster embed:K
 * the kinds are instead the k-means clusters of the last user messages'
 * embeddings (capture_cluster.c), named "embed:<most frequent tool, or the
 * first words of the most frequent system prompt>".
 */
#ifndef AP_CAPTURE_H
#define AP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "util.h"

#define CAPTURE_KIND_NAME 64

struct capture_kind {
	char name[CAPTURE_KIND_NAME];
	char sys_hash[17];     /* first 16 hex digits of SHA-256(system prompt), "" if none */
	char *tools;           /* sorted tool names, comma-separated ("" if none) */
	char *sys_words;       /* first words of the system prompt */
	enum reply_kind rk;
	bool mixed;            /* a cluster of several signatures: the fields above are its
				* most frequent one's */
	long calls;            /* captured calls that succeeded */
	long prompt_tokens, completion_tokens, cached_tokens;
	long calls_no_usage;   /* calls whose upstream reported no usage */
};

/* One successful captured call (the ones a replay runs), by line. */
struct capture_call {
	size_t line;
	int kind;
	long prompt_tokens, completion_tokens, cached_tokens;
	bool usage;
	double e2e_s;
	int sig;               /* signature kind (kind too, unless clustered) */
	char tool[64];         /* the reply's most called tool, "" if none */
	char *last_user;       /* the request's last user message text (for embeddings) */
};

struct capture_index {
	struct capture_kind *kinds;
	size_t n_kinds;
	struct capture_call *calls; /* in line order */
	size_t n_calls;
	size_t n_failed;            /* captured calls that failed: left out of a replay */
	size_t n_lines;
	char model[128];            /* most frequent reply model */
	char protocol[16];
};

/*
 * Reads a capture whole into ix (kinds named, calls indexed). Returns 0, or
 * -errno with err ("file:line: field: message"): a line that is not a
 * capture line, a protocol this version cannot replay (anthropic), or no
 * successful call at all.
 */
int capture_index_load(const char *path, struct capture_index *ix, struct ap_error *err);
void capture_index_free(struct capture_index *ix);
/* The call of line, or NULL. */
const struct capture_call *capture_index_find(const struct capture_index *ix, size_t line);

/* How `-w capture:FILE` judges its replies; set once by the CLI before workloads open. */
void capture_set_judge(enum judge_mode m);
enum judge_mode capture_judge(void);

/*
 * --cluster embed:K[,url=URL][,model=M]: kinds by embeddings instead of
 * signatures, for the captures opened after it (the CLI sets it once; url,
 * model and key_env default to the first backend's). 0, or -EINVAL with err.
 */
struct capture_cluster {
	int k;
	uint64_t seed;
	char url[512];
	char model[128];
	char key_env[128];
};
int capture_set_cluster(const char *spec, const char *url, const char *model,
			const char *key_env, long seed, char *err, size_t n);
const struct capture_cluster *capture_cluster(void);
void capture_clear_cluster(void);
/* Embeds every call's last user message and regroups ix by k-means. 0 or -errno with err. */
int capture_cluster_apply(struct capture_index *ix, const struct capture_cluster *cl,
			  struct ap_error *err);
/*
 * Seeded k-means (k-means++ start, up to 100 Lloyd iterations) of n vectors
 * of d floats, row-major: assign[i] in [0, k). Deterministic for a seed.
 */
int capture_kmeans(const float *x, size_t n, size_t d, int k, uint64_t seed, int *assign);
/*
 * Replaces ix's kinds by the groups of assign (one int >= 0 per call): group g
 * is named names[g] when names is given, else "PREFIX:<most frequent tool, or
 * the first words of the most frequent system prompt>". 0 or -ENOMEM.
 */
int capture_index_regroup(struct capture_index *ix, const int *assign, const char *prefix,
			  const char *const *names);

#endif
