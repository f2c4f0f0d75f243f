/*
 * The replaceable share (issue 17): of an agent's captured calls, how many
 * (and how many of its tokens, joules, dollars) a candidate model could take
 * over, kind of call by kind of call, from a replay of the capture.
 *
 * Per kind k: captured calls n_k (successful ones: failed captured calls are
 * not replayed) and tokens (prompt + completion, as the upstream reported
 * them); the replay's agreement a_k = replies judged to agree / replies
 * (every repeat counts); J and $ per call on the captured side, MODELED from
 * its usage with a remote profile (cost.c), and on the replay side as the
 * run measured them (its energy provenance) and priced with its own
 * profile. A kind is replaceable at threshold A when a_k >= A; the share of
 * calls is sum of n_k over replaceable kinds / sum of n_k, and likewise for
 * tokens, captured-side joules and dollars. Pure arithmetic, no I/O.
 */
#ifndef AP_CAPSHARE_H
#define AP_CAPSHARE_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "capture.h"
#include "compare.h"
#include "cost.h"

struct share_kind {
	const struct capture_kind *k;
	long calls, tokens;
	double call_share, token_share;
	long replayed, agreed;   /* replay tasks of this kind (all repeats), and agreeing */
	double agreement;        /* agreed / replayed, NAN when none replayed */
	double cap_j, cap_usd;   /* captured side, totals over its calls; NAN: not counted */
	double rep_j, rep_usd;   /* replay side, totals over its tasks: device J (tasks.csv), $ with
				  * the run's profile; NAN: not counted */
	bool replaceable;
};

struct share_result {
	struct share_kind *kinds;
	size_t n_kinds;
	long calls, tokens, replayed, agreed;
	double cap_j, cap_usd, rep_j, rep_usd;
	double agree;             /* the threshold */
	/* shares taken over at the threshold; NAN when the totals are not counted */
	double share_calls, share_tokens, share_j, share_usd;
	size_t n_failed;          /* captured calls left out */
	long unmatched;           /* replay tasks with no captured call (another capture?) */
};

/*
 * ix: the capture; t: the replay's tasks (casc_load: id "line-N", device_j,
 * cum_usd[attempts]); cap: cost context of the captured side (remote profile) or
 * NULL. Returns 0 or -ENOMEM.
 */
int capshare_compute(const struct capture_index *ix, const struct casc_task *t, size_t nt,
		     const struct cost_ctx *cap, double agree, struct share_result *out);
void capshare_free(struct share_result *r);

/* The report's block, and --csv's rows (one per kind, header first). */
void capshare_print(FILE *f, const struct share_result *r, const char *cap_profile,
		    const char *rep_provenance);
void capshare_csv(FILE *f, const struct share_result *r);

/*
 * `agentperf report DIR` on a capture replay: loads the capture named in
 * meta.json, computes and prints (csv: also writes FILE). 0, or 1 with a
 * message.
 */
int capshare_report(FILE *f, const char *dir, const cJSON *meta, const struct cost_ctx *rep,
		    const struct run_agg *agg, const char *cap_profile, double agree,
		    const char *csv);

/*
 * `agentperf diff A B` of two replays of the same capture: per kind (A's
 * kinds), both agreements and replay J per call, and both replaceable shares.
 * Prints a line instead when the captures differ. 0, or 1 with a message.
 */
int capshare_diff(FILE *f, const char *a_dir, const cJSON *a_meta, const struct casc_task *ta,
		  size_t na, const char *b_dir, const cJSON *b_meta, const struct casc_task *tb,
		  size_t nb, const char *cap_profile, double agree);

/* The paper's estimates (not measurements) of the share, printed beside ours. */
struct share_estimate {
	const char *agent;
	double share;
};
extern const struct share_estimate capshare_paper[];

#endif
