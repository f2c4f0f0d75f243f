/* The life of one run (session.h): start, energy, managed server, runner, summary, report. */
#include "session.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cost.h"
#include "managed.h"
#include "measure/srvview.h"
#include "meta.h"
#include "report.h"
#include "results.h"
#include "resume.h"
#include "shard.h"

/* A resumed run's meta.json keeps the first start and counts the resumes. */
static void resume_meta_merge(cJSON *meta, const cJSON *old)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(old, "started_utc");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(old, "resumed");
	if (cJSON_IsString(st))
		cJSON_ReplaceItemInObjectCaseSensitive(meta, "started_utc",
						       cJSON_CreateString(st->valuestring));
	cJSON_AddNumberToObject(meta, "resumed", cJSON_IsNumber(n) ? n->valuedouble + 1 : 1);
}

/* Counts what ran, over the two forms (the paired slot repeats mono's tasks). */
static void outcome_count(const struct run_agg *agg, struct session_outcome *out)
{
	for (int r = 0; agg->a && r < agg->repeats; r++)
		for (int f = 0; f < FORM_COUNT; f++) {
			const struct form_agg *a = &agg->a[r * AGG_SLOTS + f];
			out->tasks += a->tasks;
			out->calls += a->calls;
			out->calls_failed += a->failed_calls;
		}
}

int session_run(const struct session_opts *s, struct workload *wl, struct backend *be,
		const char *name, struct session_outcome *out)
{
	int rc = 0;
	struct ap_error err = { { 0 } };
	struct results *res = NULL;
	struct energy *en = NULL;
	struct run_state st = { 0 };
	cJSON *meta = NULL;
	char run_id[256], samples[4400];
	struct run_opts o = s->o;
	struct resume_set *skip = NULL;
	struct managed_server *ms = NULL;
	struct srvview *sv = NULL;
	memset(out, 0, sizeof(*out));
	o.wl = wl;
	o.be = be;
	be->cache_cold = s->sv.cache_cold;
	if (s->record && s->resume) {
		/* The folder is locked (results_open_existing) before its CSVs are repaired. */
		if ((rc = results_open_existing(&res, s->resume, &err)) ||
		    (rc = resume_prepare(s->resume, &skip, &err)) ||
		    (rc = results_reopen_csvs(res, &err))) {
			ap_err("--resume: %s", err.msg);
			out->refused = true; /* nothing ran: a usage error, exit 2 */
			goto out;
		}
		ap_info("resuming %s: %zu tasks already finished, %zu partial rows dropped", s->resume,
			resume_finished(skip), resume_dropped(skip));
		o.out = res;
		o.skip = skip;
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(s->resume_meta, "run_id");
		snprintf(run_id, sizeof(run_id), "%s", cJSON_IsString(id) ? id->valuestring : "");
	} else if (s->record) {
		ap_scopy(run_id, sizeof(run_id), name);
		if ((rc = results_create(&res, s->output, run_id, &err))) {
			ap_err("%s", err.msg);
			out->refused = true;
			goto out;
		}
		o.out = res;
	}
	if (!s->no_energy) {
		struct energy_opts eo = s->eo;
		if (res && !results_path(res, "samples.csv", samples, sizeof(samples)))
			eo.samples_csv = samples;
		if ((rc = energy_open(&en, &eo))) {
			ap_err("energy probes: %s", strerror(-rc));
			goto out;
		}
		for (int i = 0; i < s->n_watch; i++)
			energy_watch_pid(en, s->watch[i]);
		o.energy = en;
		if (res) {
			/* The CSVs carry the short provenance tag; meta.json the full text. */
			struct energy_summary es;
			energy_summarize(en, &es);
			char tag[128];
			ap_scopy(tag, sizeof(tag), es.have_device ? es.device_provenance : "none");
			tag[strcspn(tag, " ")] = '\0';
			results_set_energy_source(res, tag);
		}
	}
	meta = meta_new(s->argc, s->argv, s->record ? run_id : NULL, &o, &st);
	if (!meta) {
		rc = -ENOMEM;
		goto out;
	}
	if (s->pc.n_files) {
		/* In meta.json so that `report` can recompute under other values. */
		struct profile_set ps;
		char perr[512];
		if ((rc = profile_cli_resolve(&s->pc, be->model, be->url, &ps, perr, sizeof(perr)))) {
			ap_err("%s", perr);
			goto out;
		}
		profile_set_store(meta, &ps);
	}
	if (skip)
		resume_meta_merge(meta, s->resume_meta);
	if (res && (rc = results_write_meta(res, meta))) {
		ap_err("cannot write meta.json: %s", strerror(-rc));
		goto out;
	}
	double samples_zero = NAN;
	if (en) {
		/* Not settled in time is recorded (meta.json energy.settle) and the run goes on. */
		if (s->settle_s > 0 && !ap_interrupted)
			energy_settle(en, s->settle_s, fmax(60, 10 * s->settle_s));
		if (s->eo.idle_s > 0 && !ap_interrupted && (rc = energy_baseline(en))) {
			ap_err("idle baseline failed: %s", strerror(-rc));
			goto out;
		}
		/* Read just before the first sample: merge lines shards' samples up by it. */
		samples_zero = (double)ap_wall_ns() * 1e-9;
		if ((rc = energy_start(en))) {
			ap_err("cannot start the sampler: %s", strerror(-rc));
			goto out;
		}
	}
	/* A managed llama-server loads its model after the baseline, inside the sampled span. */
	bool stopped_early = false;
	if (be->managed && !ap_interrupted &&
	    (rc = managed_run_begin(&ms, be, be->managed->np ? be->managed->np : o.concurrency,
				    res, en, meta, &err))) {
		ap_err("%s", err.msg);
		if (!ap_interrupted)
			goto out;
		stopped_early = true; /* Ctrl-C during the load: an interrupted run, written whole */
	}
	if (!stopped_early && ap_interrupted)
		stopped_early = true; /* Ctrl-C during the idle baseline */
	if (stopped_early) {
		rc = run_agg_init(&st.agg, o.repeats);
		st.interrupted = true;
	} else if (!(rc = srvview_begin(&sv, &s->sv, be, ms, s->watch, s->n_watch, en))) {
		/* The best hit rate's prefixes come from the pass itself. */
		if (sv) {
			o.seen = srvview_seen;
			o.seen_ctx = sv;
		}
		rc = run_workload(&o, &st, &err);
		if (rc && err.msg[0])
			ap_err("%s", err.msg);
	}
	srvview_end(sv); /* the last scrape and peak memory, while the server still runs */
	cJSON *ej = NULL;
	if (en) {
		struct energy_summary es;
		energy_stop(en);
		managed_collect_energy(ms, en);
		energy_summarize(en, &es);
		managed_energy_adjust(ms, &es);
		ej = energy_summary_json(&es, energy_meta_json(en));
		energy_validity_add(ej, en, &es);
	}
	/* meta_new counted no tasks yet; the run did. */
	cJSON *w = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	cJSON_ReplaceItemInObjectCaseSensitive(w, "selected", cJSON_CreateNumber((double)st.selected));
	if (skip && st.agg.elapsed_s) {
		/* Each repeat's elapsed time is the sum over the sessions that ran it. */
		const cJSON *el;
		int i = 0;
		cJSON_ArrayForEach(el, cJSON_GetObjectItemCaseSensitive(s->resume_meta, "elapsed_s"))
			if (i < o.repeats && cJSON_IsNumber(el))
				st.agg.elapsed_s[i++] += el->valuedouble;
	}
	meta_finish(meta, &o, &st, ej);
	srvview_meta(sv, meta, wl, o.repeats, o.filter, o.category);
	if (rc && !st.interrupted)
		cJSON_ReplaceItemInObjectCaseSensitive(meta, "status", cJSON_CreateString("failed"));
	shard_meta_finish(meta, st.shard_units, st.selected * o.repeats,
			  (double)ap_wall_ns() * 1e-9 - (double)(ap_now_ns() - st.t0_ns) * 1e-9,
			  samples_zero);
	rc = managed_run_end(&ms, meta, rc);
	if (res) {
		int wr = results_write_meta(res, meta);
		/* Resumed: the report and summary count what is on disk, each task once. */
		if (!wr && skip) {
			cJSON *dm = NULL;
			run_agg_free(&st.agg);
			if ((wr = results_load(results_dir(res), &st.agg, &dm, &err)))
				ap_err("%s", err.msg);
			cJSON_Delete(dm);
		}
		if (!wr && st.agg.a) {
			struct profile_set cps;
			struct cost_ctx cc;
			char cerr[256];
			bool have_cost = !cost_ctx_from_meta(&cc, &cps, meta, cerr, sizeof(cerr));
			wr = results_write_summary(res, &st.agg, have_cost ? &cc : NULL);
			if (!wr)
				wr = results_write_text(res, "report.txt", report_print_to,
							&(struct report_input){ meta, &st.agg });
		}
		if (wr)
			ap_err("writing %s failed: %s", results_dir(res), strerror(-wr));
		rc = rc ? rc : wr;
	}
	outcome_count(&st.agg, out);
	if (st.agg.a)
		report_print(stdout, meta, &st.agg);
	if (res)
		printf(" results in %s/\n\n", results_dir(res));
	fflush(stdout);
out:
	srvview_free(sv);
	managed_stop(ms, true);
	cJSON_Delete(meta);
	resume_free(skip);
	run_state_free(&st);
	energy_close(en);
	results_close(res);
	return rc;
}
