/* agentperf merge OUT DIR...: one run from the folders of a sharded run (merge.h). */
#include "merge.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "jsonv.h"
#include "report.h"
#include "results.h"
#include "shard.h"
#include "util.h"

/* One shard folder. */
struct part {
	const char *dir;
	cJSON *meta;
	const cJSON *shard;        /* meta.json "shard" */
	int index;
	char host[256];            /* host key: host_id, else hostname */
	double clock_zero, samples_zero, start, end;
	double *st, *sv, *ca, *cb; /* samples (wall, J) and call windows (wall) */
	size_t ns, nc;
	struct me_shard *me;
};

/*
 * The fields every shard must share, or the merged figures would mix unlike
 * runs (the refusals the README lists). Dotted paths into meta.json; every
 * key of "options" is compared besides.
 */
static const struct {
	const char *path, *what;
} same_fields[] = {
	{ "csv_format", "CSV format" },
	{ "agentperf_version", "agentperf version" },
	{ "workload.sha256", "workload hash" },
	{ "backend.kind", "backend kind" },
	{ "backend.model", "backend model" },
	{ "backend.stream", "backend streaming" },
	{ "model.sha256", "model file hash" },
	{ "profiles", "profiles" },
	{ "policy", "attempt policy" },
	{ "slo", "SLO" },
	{ "repeats", "repeats" },
	{ "shard.count", "shard count" },
	{ "shard.units_total", "units of the whole run" },
};

static const cJSON *get_path(const cJSON *j, const char *path)
{
	char key[128];
	while (j && *path) {
		size_t l = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)l, path);
		j = cJSON_GetObjectItemCaseSensitive(j, key);
		path += l + (path[l] == '.');
	}
	return j;
}

/* j printed compactly into buf (truncated), "(absent)" for NULL. */
static const char *show(const cJSON *j, char *buf, size_t n)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	snprintf(buf, n, "%s", s ? s : "(absent)");
	free(s);
	return buf;
}

static int differ(const struct part *a, const struct part *b, const char *field, const cJSON *x,
		  const cJSON *y)
{
	char bx[160], by[160];
	if ((!x && !y) || (x && y && cJSON_Compare(x, y, true)))
		return 0;
	ap_err("merge: %s and %s differ in %s: %s vs %s; they are not shards of one run", a->dir,
	       b->dir, field, show(x, bx, sizeof(bx)), show(y, by, sizeof(by)));
	return -EINVAL;
}

static int compatible(const struct part *a, const struct part *b)
{
	char field[160];
	for (size_t i = 0; i < AP_ARRAY_SIZE(same_fields); i++) {
		snprintf(field, sizeof(field), "%s (%s)", same_fields[i].path, same_fields[i].what);
		if (differ(a, b, field, get_path(a->meta, same_fields[i].path),
			   get_path(b->meta, same_fields[i].path)))
			return -EINVAL;
	}
	/* Every option, either side's: one changes results (seed, temperature, forms ...). */
	const cJSON *oa = cJSON_GetObjectItemCaseSensitive(a->meta, "options");
	const cJSON *ob = cJSON_GetObjectItemCaseSensitive(b->meta, "options");
	const cJSON *sides[2] = { oa, ob }, *k;
	for (int s = 0; s < 2; s++)
		cJSON_ArrayForEach(k, sides[s])
		{
			snprintf(field, sizeof(field), "options.%s", k->string);
			if (differ(a, b, field, cJSON_GetObjectItemCaseSensitive(oa, k->string),
				   cJSON_GetObjectItemCaseSensitive(ob, k->string)))
				return -EINVAL;
		}
	return 0;
}

static int load_part(struct part *p, const char *dir)
{
	char path[4200], *txt = NULL;
	int rc;
	p->dir = dir;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if ((rc = ap_read_file(path, &txt, NULL))) {
		ap_err("merge: %s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	p->meta = cJSON_Parse(txt);
	free(txt);
	if (!p->meta) {
		ap_err("merge: %s: not valid JSON", path);
		return -EINVAL;
	}
	p->shard = cJSON_GetObjectItemCaseSensitive(p->meta, "shard");
	const cJSON *ix = cJSON_GetObjectItemCaseSensitive(p->shard, "index");
	if (!cJSON_IsObject(p->shard) || !jv_is_int(ix, 0, SHARD_MAX)) {
		ap_err("merge: %s: shard (index): missing, so not a shard of a run "
		       "(record it with --shard I/N or in a Slurm array / Indexed Job)",
		       path);
		return -EINVAL;
	}
	p->index = (int)ix->valuedouble;
	const char *host = jv_str_or(p->shard, "host_id", NULL);
	snprintf(p->host, sizeof(p->host), "%s", host ? host : jv_str_or(p->shard, "hostname", "?"));
	p->clock_zero = jv_num_or(p->shard, "clock_zero_unix_s", NAN);
	p->samples_zero = jv_num_or(p->shard, "samples_zero_unix_s", NAN);
	p->start = isfinite(p->samples_zero) ? p->samples_zero
					     : jv_num_or(p->shard, "started_unix_s", NAN);
	p->end = jv_num_or(p->shard, "finished_unix_s", NAN);
	return 0;
}

static void part_free(struct part *p)
{
	cJSON_Delete(p->meta);
	free(p->st);
	free(p->sv);
	free(p->ca);
	free(p->cb);
}

static int push2(double **a, double **b, size_t *n, double x, double y)
{
	double *na = realloc(*a, (*n + 1) * sizeof(double));
	if (na)
		*a = na;
	double *nb = na ? realloc(*b, (*n + 1) * sizeof(double)) : NULL;
	if (!nb)
		return -ENOMEM;
	*b = nb;
	(*a)[*n] = x;
	(*b)[*n] = y;
	(*n)++;
	return 0;
}

static double cell(const struct csv_reader *c, const char *col)
{
	const char *v = csv_get(c, col);
	char *end;
	double x = *v ? strtod(v, &end) : NAN;
	return *v && *end ? NAN : x;
}

/*
 * What the energy rule needs of a shard: its device:energy samples on the
 * wall clock, and its calls' windows. A sample clock that goes back (a
 * resumed shard: each session starts again at 0) leaves no samples, so the
 * rule flags rather than guesses.
 */
static int load_timelines(struct part *p)
{
	char path[4200];
	struct csv_reader c;
	int rc;
	snprintf(path, sizeof(path), "%s/samples.csv", p->dir);
	if (isfinite(p->samples_zero) && !csv_open(&c, path)) {
		double last = -INFINITY;
		while ((rc = csv_next(&c)) == 0) {
			double t = cell(&c, "t_s"), v = cell(&c, "value");
			if (strcmp(csv_get(&c, "channel"), "device:energy") || isnan(t) || isnan(v))
				continue;
			if (t < last) {
				p->ns = 0;
				break;
			}
			last = t;
			if ((rc = push2(&p->st, &p->sv, &p->ns, p->samples_zero + t, v)))
				break;
		}
		csv_close(&c);
		if (rc < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/calls.csv", p->dir);
	if (isfinite(p->clock_zero) && !csv_open(&c, path)) {
		while ((rc = csv_next(&c)) == 0) {
			double t = cell(&c, "t_start_s"), e = cell(&c, "e2e_s");
			if (isnan(t) || isnan(e))
				continue;
			if ((rc = push2(&p->ca, &p->cb, &p->nc, p->clock_zero + t, p->clock_zero + t + e)))
				break;
		}
		csv_close(&c);
		if (rc < 0)
			return rc;
	}
	/* A shard killed before it wrote its end: its last reading or call ends its span. */
	if (!isfinite(p->end)) {
		p->end = p->ns ? p->st[p->ns - 1] : p->start;
		for (size_t i = 0; i < p->nc; i++)
			p->end = fmax(p->end, p->cb[i]);
	}
	return 0;
}

/* The columns merge rewrites in calls/attempts/tasks.csv. */
struct cols {
	long t, dur, e2e, energy, idle, task, repeat;
	long sched, tool_energy; /* tasks.csv: the arrival, energy in tool waits */
};

static long col(const struct csv_reader *c, const char *name)
{
	for (size_t i = 0; i < c->nheader; i++)
		if (!strcmp(c->header[i], name))
			return (long)i;
	return -1;
}

static void num_cell(struct sbuf *b, double v)
{
	if (!isnan(v))
		sbuf_addf(b, "%.9g", v);
}

/*
 * Appends one shard's NAME (calls/attempts/tasks.csv) to out: t_start_s on
 * the merged clock (shift), energy columns times the rule's factor for the
 * row's window, and each row checked to be this shard's by the hash.
 */
static int copy_rows(const struct part *p, int count, const char *name, FILE *out,
		     struct sbuf *hdr, double shift, bool first)
{
	char path[4200];
	struct csv_reader c;
	struct sbuf b = { 0 }, h = { 0 };
	int rc;
	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	if ((rc = csv_open(&c, path))) {
		ap_err("merge: %s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < c.nheader; i++)
		sbuf_addf(&h, "%s%s", i ? "," : "", c.header[i]);
	if (first) {
		sbuf_adds(hdr, h.s ? h.s : "");
		fprintf(out, "%s\n", hdr->s ? hdr->s : "");
	} else if (strcmp(h.s ? h.s : "", hdr->s ? hdr->s : "")) {
		ap_err("merge: %s: columns differ from the first shard's %s", path, name);
		rc = -EINVAL;
		goto out;
	}
	struct cols k = { col(&c, "t_start_s"), col(&c, "duration_s"), col(&c, "e2e_s"),
			  col(&c, "energy_j"), col(&c, "idle_energy_j"), col(&c, "task_id"),
			  col(&c, "repeat"), col(&c, "t_sched_s"), col(&c, "tool_energy_j") };
	while ((rc = csv_next(&c)) == 0) {
		const char *id = k.task >= 0 && (size_t)k.task < c.n ? c.field[k.task] : "";
		int rep = (int)(k.repeat >= 0 && (size_t)k.repeat < c.n ? atol(c.field[k.repeat]) : 0);
		int owner = shard_of(id, rep, count);
		if (owner != p->index) {
			ap_err("merge: %s:%zu: task %s repeat %d belongs to shard %d, not %d "
			       "(shard.index): the folder is not what its meta.json says",
			       path, c.lineno, id, rep, owner, p->index);
			rc = -EINVAL;
			goto out;
		}
		double t0 = k.t >= 0 && (size_t)k.t < c.n ? cell(&c, "t_start_s") : NAN;
		double len = k.dur >= 0 ? cell(&c, "duration_s") : cell(&c, "e2e_s");
		double f = 1;
		if (p->me && p->me->nsegs && isfinite(t0))
			f = merge_energy_factor(p->me, p->clock_zero + t0,
						p->clock_zero + t0 + (isnan(len) ? 0 : len));
		sbuf_reset(&b);
		for (size_t i = 0; i < c.n; i++) {
			if (i)
				sbuf_add(&b, ",", 1);
			if ((long)i == k.t && shift != 0)
				num_cell(&b, t0 + shift);
			else if ((long)i == k.sched && shift != 0 && *c.field[i])
				num_cell(&b, atof(c.field[i]) + shift);
			else if (((long)i == k.energy || (long)i == k.idle || (long)i == k.tool_energy) &&
				 f != 1 && *c.field[i])
				num_cell(&b, atof(c.field[i]) * f);
			else
				csv_field(&b, c.field[i]);
		}
		sbuf_add(&b, "\n", 1);
		if (fwrite(b.s, 1, b.len, out) != b.len) {
			rc = -EIO;
			break;
		}
	}
	if (rc > 0)
		rc = 0;
out:
	csv_close(&c);
	sbuf_free(&b);
	sbuf_free(&h);
	return rc;
}

/* The folder above path, made if missing (OUT itself must be new). */
static int mkdir_parents(const char *path)
{
	char up[4400];
	snprintf(up, sizeof(up), "%s", path);
	char *slash = strrchr(up, '/');
	if (!slash || slash == up)
		return 0;
	*slash = '\0';
	return ap_mkdir_p(up);
}

/* Copies a file byte for byte; a missing source is not an error (1). */
static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;
	int rc = 0;
	if (!in)
		return 1;
	if (!(out = fopen(to, "wbx"))) {
		rc = -errno;
		fclose(in);
		return rc;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)))
		if (fwrite(buf, 1, n, out) != n) {
			rc = -EIO;
			break;
		}
	fclose(in);
	if (fclose(out) && !rc)
		rc = -errno;
	return rc;
}

static int cmp_part(const void *a, const void *b)
{
	return ((const struct part *)a)->index - ((const struct part *)b)->index;
}

/* meta.json "energy" of the merged run: the rule's total, sums, the provenance shared or named mixed. */
static cJSON *merged_energy(struct part *p, size_t n, const struct me_result *r, bool all_energy,
			    const char *why_not)
{
	cJSON *e = cJSON_CreateObject();
	double attributed = 0, samples = 0, self = 0, watched = 0, sampler = 0, idle = 0;
	double t0 = INFINITY, t1 = -INFINITY;
	bool estimated = false;
	char prov[512] = "";
	bool mixed = false;
	for (size_t i = 0; i < n; i++) {
		const cJSON *pe = cJSON_GetObjectItemCaseSensitive(p[i].meta, "energy");
		const char *pv = jv_str_or(pe, "device_provenance", "");
		double dev = jv_num_or(pe, "device_j", NAN);
		double scale = all_energy && dev > 0 ? p[i].me->energy_j / dev : 1;
		attributed += jv_num_or(pe, "attributed_j", 0) * scale;
		samples += jv_num_or(pe, "samples", 0);
		self += jv_num_or(pe, "cpu_s_self", 0);
		watched += jv_num_or(pe, "cpu_s_watched", 0);
		sampler += jv_num_or(pe, "sampler_cpu_s", 0);
		estimated |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pe, "estimated"));
		t0 = fmin(t0, p[i].start);
		t1 = fmax(t1, p[i].end);
		if (!i)
			snprintf(prov, sizeof(prov), "%s", pv);
		else if (strcmp(prov, pv))
			mixed = true;
		/* Idle power: one host's baseline once (the mean of its shards'), hosts added. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(p[i].host, p[j].host);
		if (!seen) {
			double sum = 0;
			int k = 0;
			for (size_t j = i; j < n; j++) {
				double w = jv_num_or(cJSON_GetObjectItemCaseSensitive(p[j].meta, "energy"),
						     "idle_w", NAN);
				if (!strcmp(p[i].host, p[j].host) && !isnan(w)) {
					sum += w;
					k++;
				}
			}
			idle += k ? sum / k : NAN;
		}
	}
	cJSON_AddBoolToObject(e, "estimated", estimated);
	if (all_energy) {
		if (mixed) {
			struct sbuf b = { 0 };
			sbuf_adds(&b, "mixed (shards' device energy of different provenance, added):");
			for (size_t i = 0; i < n; i++)
				sbuf_addf(&b, " shard %d %s;", p[i].index,
					  jv_str_or(cJSON_GetObjectItemCaseSensitive(p[i].meta, "energy"),
						    "device_provenance", "?"));
			cJSON_AddStringToObject(e, "device_provenance", b.s ? b.s : "mixed");
			sbuf_free(&b);
		} else {
			cJSON_AddStringToObject(e, "device_provenance", prov);
		}
		cJSON_AddNumberToObject(e, "device_j", r->device_j);
		cJSON_AddNumberToObject(e, "attributed_j", attributed);
		cJSON_AddNumberToObject(e, "unattributed_j", r->device_j - attributed);
		cJSON_AddBoolToObject(e, "overlapping", r->flagged);
		cJSON_AddStringToObject(e, "merge_rule", r->note);
	} else {
		cJSON_AddStringToObject(e, "reason", why_not);
	}
	if (estimated)
		cJSON_AddStringToObject(e, "estimate_reason",
					"some shard estimated its energy (see shards/<index>/meta.json)");
	cJSON_AddNumberToObject(e, "duration_s", isfinite(t1 - t0) ? t1 - t0 : 0);
	cJSON_AddNumberToObject(e, "samples", samples);
	cJSON_AddNumberToObject(e, "interval_s",
				jv_num_or(cJSON_GetObjectItemCaseSensitive(p[0].meta, "energy"), "interval_s", 0));
	if (isfinite(idle))
		cJSON_AddNumberToObject(e, "idle_w", idle);
	cJSON_AddNumberToObject(e, "idle_s",
				jv_num_or(cJSON_GetObjectItemCaseSensitive(p[0].meta, "energy"), "idle_s", 0));
	cJSON_AddNumberToObject(e, "cpu_s_self", self);
	cJSON_AddNumberToObject(e, "cpu_s_watched", watched);
	cJSON_AddNumberToObject(e, "sampler_cpu_s", sampler);
	cJSON_AddArrayToObject(e, "channels");
	return e;
}

static void put(cJSON *o, const char *k, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

static cJSON *merged_meta(struct part *p, size_t n, int count, const int *missing, int n_missing,
			  bool allow_partial, const struct me_result *er, cJSON *energy,
			  const char *run_id, int argc, char **argv, double shift_base)
{
	cJSON *m = cJSON_Duplicate(p[0].meta, true);
	struct sbuf cmd = { 0 };
	const char *status = "complete", *st0 = NULL, *st1 = NULL;
	int repeats = (int)jv_num_or(m, "repeats", 1), done = repeats;
	double units = 0;
	cJSON *el = cJSON_CreateArray(), *shards = cJSON_CreateArray(), *mg = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(m, "shard");
	put(m, "run_id", cJSON_CreateString(run_id));
	cJSON *av = cJSON_CreateArray();
	sbuf_adds(&cmd, "agentperf");
	cJSON_AddItemToArray(av, cJSON_CreateString("agentperf"));
	for (int i = 0; i < argc; i++) {
		cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
		sbuf_addf(&cmd, " %s", argv[i]);
	}
	put(m, "argv", av);
	put(m, "command", cJSON_CreateString(cmd.s ? cmd.s : "agentperf merge"));
	sbuf_free(&cmd);
	for (size_t i = 0; i < n; i++) {
		const char *s = jv_str_or(p[i].meta, "status", "running");
		const char *a = jv_str_or(p[i].meta, "started_utc", NULL);
		const char *b = jv_str_or(p[i].meta, "finished_utc", NULL);
		if (!strcmp(s, "failed"))
			status = "failed";
		else if (strcmp(s, "complete") && strcmp(status, "failed"))
			status = "interrupted"; /* interrupted, or killed while "running" */
		if (a && (!st0 || strcmp(a, st0) < 0))
			st0 = a;
		if (b && (!st1 || strcmp(b, st1) > 0))
			st1 = b;
		int d = (int)jv_num_or(p[i].meta, "repeats_done", 0);
		done = d < done ? d : done;
		units += jv_num_or(p[i].shard, "units", 0);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", p[i].index);
		cJSON_AddStringToObject(o, "folder", p[i].dir);
		cJSON_AddStringToObject(o, "status", s);
		static const char *const keep[] = { "source", "hostname", "host_id", "job_id",
						    "slurm_job_id", "started_unix_s",
						    "finished_unix_s", "units" };
		for (size_t k = 0; k < AP_ARRAY_SIZE(keep); k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(p[i].shard, keep[k]);
			cJSON_AddItemToObject(o, keep[k], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
		}
		const cJSON *pe = cJSON_GetObjectItemCaseSensitive(p[i].meta, "energy");
		double dev = jv_num_or(pe, "device_j", NAN);
		if (!isnan(dev)) {
			cJSON_AddNumberToObject(o, "device_j", dev);
			cJSON_AddNumberToObject(o, "energy_j", p[i].me->energy_j);
			cJSON_AddStringToObject(o, "device_provenance", jv_str_or(pe, "device_provenance", ""));
		}
		cJSON_AddNumberToObject(o, "overlap_group", p[i].me->group);
		cJSON_AddItemToArray(shards, o);
	}
	for (int r = 0; r < repeats; r++) {
		double mx = NAN;
		for (size_t i = 0; i < n; i++) {
			const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p[i].meta,
											     "elapsed_s"), r);
			if (cJSON_IsNumber(v) && (isnan(mx) || v->valuedouble > mx))
				mx = v->valuedouble;
		}
		cJSON_AddItemToArray(el, isnan(mx) ? cJSON_CreateNull() : cJSON_CreateNumber(mx));
	}
	if (n_missing)
		status = "partial";
	put(m, "status", cJSON_CreateString(status));
	if (st0)
		put(m, "started_utc", cJSON_CreateString(st0));
	put(m, "finished_utc", st1 ? cJSON_CreateString(st1) : cJSON_CreateNull());
	put(m, "repeats_done", cJSON_CreateNumber(done));
	put(m, "elapsed_s", el);
	put(m, "shards", shards);
	cJSON_AddNumberToObject(mg, "count", count);
	cJSON_AddNumberToObject(mg, "present", (double)n);
	cJSON *ms = cJSON_AddArrayToObject(mg, "missing");
	for (int i = 0; i < n_missing; i++)
		cJSON_AddItemToArray(ms, cJSON_CreateNumber(missing[i]));
	cJSON_AddBoolToObject(mg, "partial", n_missing > 0);
	cJSON_AddBoolToObject(mg, "allow_partial", allow_partial);
	cJSON_AddNumberToObject(mg, "units", units);
	cJSON_AddNumberToObject(mg, "units_total", jv_num_or(p[0].shard, "units_total", NAN));
	cJSON_AddStringToObject(mg, "split", "shard(id, r, N) = (fnv1a64(id) mod N + (r - 1) mod N) mod N");
	cJSON_AddNumberToObject(mg, "hosts", er->hosts);
	cJSON_AddStringToObject(mg, "energy", er->note);
	cJSON_AddBoolToObject(mg, "energy_overlapping", er->flagged);
	cJSON_AddBoolToObject(mg, "energy_time_share", er->attributed);
	cJSON_AddStringToObject(mg, "clock",
				isfinite(shift_base)
					? "t_start_s counts from the earliest shard's clock zero"
					: "t_start_s: each shard's own clock (a shard lacks its wall-clock anchor)");
	put(m, "merge", mg);
	put(m, "energy", energy);
	return m;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: agentperf merge OUT DIR... [--allow-partial] [-q]\n"
		   "  joins the shard folders DIR... of one sharded run into the new folder OUT\n"
		   "  --allow-partial  merge although shards are missing (the report says so)\n"
		   "  -q, --quiet      do not print the merged report\n");
}

int merge_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allow-partial", no_argument, 0, 'p' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	bool allow_partial = false, quiet = false;
	int ch, rc = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': allow_partial = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	char out[4096];
	snprintf(out, sizeof(out), "%s", argv[optind]);
	for (size_t l = strlen(out); l > 1 && out[l - 1] == '/'; l--)
		out[l - 1] = '\0'; /* OUT/ names OUT */
	size_t n = (size_t)(argc - optind - 1);
	struct part *p = calloc(n, sizeof(*p));
	struct me_shard *me = calloc(n, sizeof(*me));
	int *missing = NULL, n_missing = 0, count = 0;
	struct me_result er = { 0 };
	cJSON *meta = NULL, *dm = NULL;
	struct run_agg agg = { 0 };
	struct results *res = NULL;
	struct ap_error err = { { 0 } };
	bool created = false;
	if (!p || !me)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (load_part(&p[i], argv[optind + 1 + i]))
			goto out;
	qsort(p, n, sizeof(*p), cmp_part);
	count = (int)jv_num_or(p[0].shard, "count", 0);
	for (size_t i = 1; i < n; i++) {
		if (p[i].index == p[i - 1].index) {
			ap_err("merge: %s and %s are both shard %d of %d (shard.index)", p[i - 1].dir,
			       p[i].dir, p[i].index, count);
			goto out;
		}
		if (compatible(&p[0], &p[i]))
			goto out;
	}
	if (!(missing = calloc((size_t)count + 1, sizeof(*missing))))
		goto out;
	for (int k = 0, j = 0; k < count; k++) {
		while ((size_t)j < n && p[j].index < k)
			j++;
		if ((size_t)j >= n || p[j].index != k)
			missing[n_missing++] = k;
	}
	if (p[n - 1].index >= count) {
		ap_err("merge: %s: shard.index %d is not below shard.count %d", p[n - 1].dir,
		       p[n - 1].index, count);
		goto out;
	}
	if (n_missing && !allow_partial) {
		struct sbuf b = { 0 }, g = { 0 };
		for (int i = 0; i < n_missing; i++)
			sbuf_addf(&b, "%s%d", i ? ", " : "", missing[i]);
		for (size_t i = 0; i < n; i++)
			sbuf_addf(&g, "%s%s", i ? " " : "", p[i].dir);
		ap_err("merge: shard(s) %s of %d missing (shard.index) among the folders given (%s); "
		       "give every shard's folder, or --allow-partial to merge what there is (the "
		       "report then says so)",
		       b.s, count, g.s);
		sbuf_free(&g);
		sbuf_free(&b);
		goto out;
	}

	/* Energy: the per-host rule over every shard, or none when one lacks energy. */
	bool all_energy = true, any_energy = false;
	char why_not[512] = "no shard measured energy (--no-energy)";
	double base = INFINITY;
	for (size_t i = 0; i < n; i++) {
		const cJSON *pe = cJSON_GetObjectItemCaseSensitive(p[i].meta, "energy");
		double dev = jv_num_or(pe, "device_j", NAN);
		if (pe)
			any_energy = true;
		if (isnan(dev)) {
			if (all_energy && pe)
				snprintf(why_not, sizeof(why_not), "shard %d (%s) has no device energy: %s",
					 p[i].index, p[i].dir, jv_str_or(pe, "reason", "not measured"));
			all_energy = false;
		}
		base = fmin(base, p[i].clock_zero);
		if ((rc = load_timelines(&p[i]))) {
			ap_err("merge: %s: %s", p[i].dir, strerror(-rc));
			rc = 1;
			goto out;
		}
		me[i] = (struct me_shard){ .host = p[i].host, .start = p[i].start, .end = p[i].end,
					   .has_energy = !isnan(dev), .device_j = dev, .st = p[i].st,
					   .sv = p[i].sv, .ns = p[i].ns, .ca = p[i].ca, .cb = p[i].cb,
					   .nc = p[i].nc, .group = -1 };
		p[i].me = &me[i];
		if (isnan(dev))
			me[i].device_j = 0;
	}
	rc = 1;
	if (merge_energy(me, n, &er))
		goto out;
	if (!all_energy)
		for (size_t i = 0; i < n; i++)
			merge_energy_free(&me[i], 1); /* no factors: rows keep what they hold */
	for (size_t i = 0; i < n && isfinite(base); i++)
		if (!isfinite(p[i].clock_zero))
			base = NAN;

	/* The folder: refuse an existing one, then the rows shard by shard. */
	if (mkdir_parents(out) || mkdir(out, 0755)) {
		ap_err("merge: cannot create %s: %s%s", out, strerror(errno),
		       errno == EEXIST ? " (merge writes a new folder)" : "");
		goto out;
	}
	created = true;
	static const char *const files[] = { "calls.csv", "attempts.csv", "tasks.csv" };
	for (size_t f = 0; f < AP_ARRAY_SIZE(files); f++) {
		char path[4200];
		struct sbuf hdr = { 0 };
		snprintf(path, sizeof(path), "%s/%s", out, files[f]);
		FILE *fo = fopen(path, "wx");
		int wr = fo ? 0 : -errno;
		for (size_t i = 0; !wr && i < n; i++)
			wr = copy_rows(&p[i], count, files[f], fo, &hdr,
				       isfinite(base) ? p[i].clock_zero - base : 0, i == 0);
		if (fo && fclose(fo) && !wr)
			wr = -errno;
		sbuf_free(&hdr);
		if (wr) {
			if (wr != -EINVAL)
				ap_err("merge: writing %s: %s", path, strerror(-wr));
			goto out;
		}
	}
	/* Each shard's own files (samples.csv has one clock per shard) under shards/<index>/. */
	for (size_t i = 0; i < n; i++) {
		static const char *const own[] = { "meta.json", "samples.csv", "report.txt",
						   "llama-server.log" };
		char d[4200], from[4400], to[4400];
		snprintf(d, sizeof(d), "%s/shards/%d", out, p[i].index);
		if (mkdir_parents(d) || mkdir(d, 0755)) {
			ap_err("merge: cannot create %s: %s", d, strerror(errno));
			goto out;
		}
		for (size_t k = 0; k < AP_ARRAY_SIZE(own); k++) {
			snprintf(from, sizeof(from), "%s/%s", p[i].dir, own[k]);
			snprintf(to, sizeof(to), "%s/%s", d, own[k]);
			int cr = copy_file(from, to);
			if (cr < 0) {
				ap_err("merge: copying %s: %s", from, strerror(-cr));
				goto out;
			}
		}
	}
	const char *slash = strrchr(out, '/');
	char run_id[256];
	snprintf(run_id, sizeof(run_id), "%s", slash ? slash + 1 : out);
	cJSON *energy = any_energy ? merged_energy(p, n, &er, all_energy, why_not) : NULL;
	meta = merged_meta(p, n, count, missing, n_missing, allow_partial, &er, energy, run_id,
			   argc, argv, base);
	if (!energy)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "energy");
	if (results_open_existing(&res, out, &err) || results_write_meta(res, meta)) {
		ap_err("merge: %s", err.msg[0] ? err.msg : "cannot write meta.json");
		goto out;
	}
	/* Summary and report from the merged files, as `report` would read them. */
	if (results_load(out, &agg, &dm, &err)) {
		ap_err("merge: %s", err.msg);
		goto out;
	}
	struct profile_set cps;
	struct cost_ctx cc;
	char cerr[256];
	bool have_cost = !cost_ctx_from_meta(&cc, &cps, meta, cerr, sizeof(cerr));
	int wr = results_write_summary(res, &agg, have_cost ? &cc : NULL);
	if (!wr)
		wr = results_write_text(res, "report.txt", report_print_to,
						&(struct report_input){ meta, &agg });
	if (wr) {
		ap_err("merge: writing %s failed: %s", out, strerror(-wr));
		goto out;
	}
	if (!quiet)
		report_print(stdout, meta, &agg);
	printf(" merged %zu of %d shards into %s/\n\n", n, count, out);
	rc = 0;
out:
	if (rc && created)
		ap_err("merge: %s is incomplete; remove it before merging again", out);
	results_close(res);
	run_agg_free(&agg);
	cJSON_Delete(dm);
	cJSON_Delete(meta);
	merge_energy_free(me, n);
	for (size_t i = 0; p && i < n; i++)
		part_free(&p[i]);
	free(p);
	free(me);
	free(missing);
	return rc;
}
