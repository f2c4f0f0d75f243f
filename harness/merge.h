/*
 * agentperf merge OUT DIR...: joins the folders of a sharded run (shard.h)
 * into one results folder of the same schema, which report, diff and the
 * plots read as one run. results/README.md ("Merged runs") documents what
 * it writes, what it refuses and the energy rule below.
 *
 * The energy rule, per host (meta.json shard.host_id, else the hostname):
 * shards on different hosts, or on one host at times that do not overlap,
 * add up. Shards that ran on one host at overlapping times read the same
 * counters, so each one's device energy also holds the others' work: over
 * each stretch where k > 1 of them ran, the stretch's energy (the mean of
 * their readings of it) is split between them by their calls' time in flight
 * there (time share), and their rows' energy columns are scaled to match.
 * That needs every such shard's device:energy samples and wall-clock
 * anchors; where one lacks them, the energies are summed, the total is
 * flagged "overlapping" (an upper bound) and the report says so.
 */
#ifndef AP_MERGE_H
#define AP_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* The subcommand; argv[0] is "merge". Exit status: 0, 1 (refused/failed), 2 (usage). */
int merge_main(int argc, char **argv);

/* One stretch of a shard's time and the factor its rows' energy is scaled by. */
struct me_seg {
	double a, b, factor;
};

/* One shard as the energy rule sees it. Times are wall-clock seconds (Unix). */
struct me_shard {
	const char *host;          /* host key */
	double start, end;         /* the span the shard's counters were read over */
	bool has_energy;
	double device_j;           /* the shard's own device energy */
	/* device:energy samples (cumulative J) at wall times, ascending; n 0: none */
	const double *st, *sv;
	size_t ns;
	/* the shard's calls' windows in flight, wall time */
	const double *ca, *cb;
	size_t nc;
	/* out */
	int group;                 /* overlap group (-1: overlaps no other shard) */
	double energy_j;           /* energy the merge gives this shard */
	struct me_seg *segs;       /* factors for rows in overlapped stretches (malloc) */
	size_t nsegs;
};

struct me_result {
	double device_j;           /* the merged device energy */
	int hosts;                 /* distinct host keys */
	int groups;                /* same-host overlap groups */
	bool attributed;           /* some group split by time share */
	bool flagged;              /* some group summed as an upper bound */
	char note[512];            /* what happened, for meta.json and the report */
};

/* Marks overlap groups: shards of one host whose spans overlap (transitively). */
int merge_overlap_groups(struct me_shard *s, size_t n);
/* Applies the rule to shards that all have energy; 0 or -ENOMEM. */
int merge_energy(struct me_shard *s, size_t n, struct me_result *r);
/* The time-weighted factor for a row spanning [a, b] of shard s (1 outside overlaps). */
double merge_energy_factor(const struct me_shard *s, double a, double b);
void merge_energy_free(struct me_shard *s, size_t n);

#endif
