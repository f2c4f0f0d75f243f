/* meta.json: everything needed to reproduce and to re-report a run. */
#include "meta.h"
#include "seed.h"
#include "guard.h"
#include "load/pad.h"
#include "config.h" /* written by make: version, commit, data folder */
#include "jsonv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void iso_utc(char *buf, size_t n, uint64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *host_json(void)
{
	cJSON *h = cJSON_CreateObject();
	struct utsname u;
	char name[256] = "";
	gethostname(name, sizeof(name) - 1);
	cJSON_AddStringToObject(h, "hostname", name);
	if (!uname(&u)) {
		cJSON_AddStringToObject(h, "kernel", u.release);
		cJSON_AddStringToObject(h, "machine", u.machine);
	}
	cJSON_AddNumberToObject(h, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
	cJSON_AddNumberToObject(h, "memory_bytes",
				(double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE));
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *v = strchr(line, ':');
			if (v) {
				v += 2;
				v[strcspn(v, "\n")] = '\0';
				cJSON_AddStringToObject(h, "cpu_model", v);
			}
			break;
		}
	}
	if (f)
		fclose(f);
	return h;
}

cJSON *meta_new(int argc, char **argv, const char *run_id, const struct run_opts *o,
		const struct run_state *st)
{
	cJSON *m = cJSON_CreateObject();
	if (!m)
		return NULL;
	char ts[32];
	iso_utc(ts, sizeof(ts), ap_wall_ns());
	cJSON_AddStringToObject(m, "agentperf_version", AGENTPERF_VERSION);
	/* The commit that produced this result ("-dirty": with uncommitted changes). */
	cJSON_AddStringToObject(m, "agentperf_commit", AGENTPERF_COMMIT);
	/* The client's malloc: its share of the client CPU (cpu-time-agentperf) depends on it. */
	cJSON_AddStringToObject(m, "allocator", ap_allocator());
	cJSON_AddNumberToObject(m, "csv_format", 1);
	cJSON_AddStringToObject(m, "run_id", run_id ? run_id : "");
	cJSON_AddStringToObject(m, "status", "running");
	cJSON_AddStringToObject(m, "started_utc", ts);
	struct sbuf cmd = { 0 };
	cJSON *av = cJSON_AddArrayToObject(m, "argv");
	for (int i = 0; i < argc; i++) {
		/* URL credentials (user:key@, ?api-key=) are redacted here too. */
		char *a = ap_redact_dup(argv[i]);
		cJSON_AddItemToArray(av, cJSON_CreateString(a ? a : ""));
		sbuf_addf(&cmd, "%s%s", i ? " " : "", a ? a : "");
		free(a);
	}
	cJSON_AddStringToObject(m, "command", cmd.s ? cmd.s : "agentperf");
	sbuf_free(&cmd);
	cJSON_AddItemToObject(m, "host", host_json());
	cJSON_AddItemToObject(m, "backend", backend_meta_json(o->be));
	cJSON *w = cJSON_AddObjectToObject(m, "workload");
	const struct workload *wl = o->wl;
	cJSON_AddStringToObject(w, "path", wl->path);
	if (wl->spec)
		cJSON_AddStringToObject(w, "spec", wl->spec);
	if (wl->answers_path)
		cJSON_AddStringToObject(w, "answers_path", wl->answers_path);
	cJSON_AddStringToObject(w, "format", workload_format_name(wl->format));
	cJSON_AddStringToObject(w, "name", wl->name ? wl->name : "");
	cJSON_AddStringToObject(w, "version", wl->version ? wl->version : "");
	cJSON_AddStringToObject(w, "source", wl->source ? wl->source : "");
	cJSON_AddStringToObject(w, "license", wl->license ? wl->license : "");
	cJSON_AddStringToObject(w, "sha256", wl->sha256);
	cJSON_AddNumberToObject(w, "tasks", (double)wl->n_tasks);
	cJSON_AddNumberToObject(w, "selected", (double)st->selected);
	/* Tasks that no answer can pass (BFCL's empty acceptable lists). */
	cJSON_AddNumberToObject(w, "unsatisfiable_tasks", (double)wl->n_unsatisfiable);
	/* What the workload left out (BFCL categories that cannot run), and why. */
	cJSON *notes = cJSON_AddArrayToObject(w, "not_run");
	for (size_t i = 0; i < wl->n_notes; i++)
		cJSON_AddItemToArray(notes, cJSON_CreateString(wl->notes[i]));
	/* The policy tasks ran under, and which parts the command line set. */
	struct attempt_policy ep = workload_effective_policy(wl);
	cJSON *pol = cJSON_AddObjectToObject(m, "policy");
	cJSON_AddNumberToObject(pol, "max_attempts", ep.max_attempts);
	cJSON_AddStringToObject(pol, "retry", retry_mode_name(ep.retry));
	cJSON_AddNumberToObject(pol, "max_steps", ep.max_steps);
	cJSON *set = cJSON_AddArrayToObject(pol, "from_command_line");
	if (wl->ov.max_attempts > 0)
		cJSON_AddItemToArray(set, cJSON_CreateString("max_attempts"));
	if (wl->ov.retry >= 0)
		cJSON_AddItemToArray(set, cJSON_CreateString("retry"));
	if (wl->ov.max_steps > 0)
		cJSON_AddItemToArray(set, cJSON_CreateString("max_steps"));
	cJSON *wp = cJSON_AddObjectToObject(pol, "workload_default");
	cJSON_AddNumberToObject(wp, "max_attempts", wl->policy.max_attempts);
	cJSON_AddStringToObject(wp, "retry", retry_mode_name(wl->policy.retry));
	cJSON_AddNumberToObject(wp, "max_steps", wl->policy.max_steps);
	cJSON *op = cJSON_AddObjectToObject(m, "options");
	cJSON_AddNumberToObject(op, "repeats", o->repeats);
	cJSON_AddNumberToObject(op, "concurrency", o->concurrency);
	cJSON_AddNumberToObject(op, "warmup", o->warmup);
	if (wl->pad) {
		cJSON_AddNumberToObject(op, "context_tokens", (double)wl->pad_target);
		cJSON_AddStringToObject(op, "padding_corpus_sha256", pad_corpus_sha256(wl->pad));
	}
	cJSON *forms = cJSON_AddArrayToObject(op, "forms");
	for (int f = 0; f < FORM_COUNT; f++)
		if (o->forms[f])
			cJSON_AddItemToArray(forms, cJSON_CreateString(form_name(f)));
	if (o->filter)
		cJSON_AddStringToObject(op, "filter", o->filter);
	if (o->category)
		cJSON_AddStringToObject(op, "category", o->category);
	if (o->seed_set)
		cJSON_AddNumberToObject(op, "seed", (double)o->seed);
	cJSON_AddStringToObject(op, "seed_policy", seed_policy_name(o->seed_policy));
	if (o->temp_set)
		cJSON_AddNumberToObject(op, "temperature", o->temperature);
	if (o->rate > 0) {
		cJSON_AddNumberToObject(op, "rate", o->rate);
		cJSON_AddStringToObject(op, "arrival", arrival_name(o->arrival));
		if (o->duration_s > 0)
			cJSON_AddNumberToObject(op, "duration_s", o->duration_s);
	}
	if (o->ramp_s > 0)
		cJSON_AddNumberToObject(op, "ramp_s", o->ramp_s);
	if (o->tool_latency_ms > 0)
		cJSON_AddNumberToObject(op, "tool_latency_ms", o->tool_latency_ms);
	if (o->slo && o->slo->set) {
		/* top level: merge refuses shards judged by other limits */
		cJSON *sj = cJSON_AddObjectToObject(m, "slo");
		const double v[] = { o->slo->ttft_s, o->slo->itl_s, o->slo->e2e_s, o->slo->task_s };
		const char *k[] = { "ttft_s", "itl_s", "e2e_s", "task_s" };
		for (int i = 0; i < 4; i++)
			if (!isnan(v[i]))
				cJSON_AddNumberToObject(sj, k[i], v[i]);
	}
	if (o->shard && o->shard->count)
		cJSON_AddItemToObject(m, "shard", shard_meta_json(o->shard));
	cJSON_AddNumberToObject(m, "repeats", o->repeats);
	cJSON_AddNumberToObject(m, "repeats_done", 0);
	cJSON_AddArrayToObject(m, "elapsed_s");
	return m;
}

static void replace(cJSON *m, const char *k, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(m, k))
		cJSON_ReplaceItemInObjectCaseSensitive(m, k, v);
	else
		cJSON_AddItemToObject(m, k, v);
}

cJSON *energy_summary_json(const struct energy_summary *s, cJSON *probes)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddBoolToObject(e, "estimated", s->estimated);
	if (s->have_device) {
		cJSON_AddStringToObject(e, "device_provenance", s->device_provenance);
		jv_add_num_or_null(e, "device_j", s->device_j);
		jv_add_num_or_null(e, "attributed_j", s->attributed_j);
		jv_add_num_or_null(e, "unattributed_j", s->unattributed_j);
	} else {
		cJSON_AddStringToObject(e, "reason", s->estimate_reason[0] ? s->estimate_reason
									   : "no energy source");
	}
	if (s->estimated)
		cJSON_AddStringToObject(e, "estimate_reason", s->estimate_reason);
	jv_add_num_or_null(e, "duration_s", s->duration_s);
	cJSON_AddNumberToObject(e, "samples", (double)s->n_samples);
	jv_add_num_or_null(e, "interval_s", s->interval_s);
	jv_add_num_or_null(e, "idle_w", s->idle_w);
	jv_add_num_or_null(e, "idle_s", s->idle_s);
	jv_add_num_or_null(e, "cpu_util_machine", s->cpu_util_machine);
	jv_add_num_or_null(e, "cpu_s_self", s->cpu_s_self);
	jv_add_num_or_null(e, "cpu_s_watched", s->cpu_s_watched);
	jv_add_num_or_null(e, "sampler_cpu_s", s->sampler_cpu_s);
	cJSON *chs = cJSON_AddArrayToObject(e, "channels");
	for (size_t i = 0; i < s->n_channels && i < ENERGY_MAX_CHANNELS; i++) {
		const struct energy_channel_summary *c = &s->ch[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "provenance", c->provenance);
		cJSON_AddStringToObject(o, "unit", c->unit);
		cJSON_AddStringToObject(o, "status", energy_status_str(c->status));
		if (c->reason[0])
			cJSON_AddStringToObject(o, "reason", c->reason);
		cJSON_AddBoolToObject(o, "in_device_total", c->in_device_total);
		jv_add_num_or_null(o, "total", c->total);
		jv_add_num_or_null(o, "avg_w", c->avg_w);
		if (!isnan(c->max))
			cJSON_AddNumberToObject(o, "max", c->max);
		cJSON_AddItemToArray(chs, o);
	}
	if (probes)
		cJSON_AddItemToObject(e, "probes", probes);
	return e;
}

void meta_finish(cJSON *m, const struct run_opts *o, const struct run_state *st, cJSON *energy)
{
	char ts[32];
	iso_utc(ts, sizeof(ts), ap_wall_ns());
	replace(m, "status", cJSON_CreateString(st->interrupted ? "interrupted" : "complete"));
	replace(m, "finished_utc", cJSON_CreateString(ts));
	replace(m, "repeats_done", cJSON_CreateNumber(st->repeats_done));
	cJSON *el = cJSON_CreateArray();
	for (int i = 0; i < o->repeats; i++) {
		double v = st->agg.elapsed_s ? st->agg.elapsed_s[i] : NAN;
		cJSON_AddItemToArray(el, isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v));
	}
	replace(m, "elapsed_s", el);
	if (energy)
		replace(m, "energy", energy);
}
