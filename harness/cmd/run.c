/*
 * agentperf stat / record: validates every workload, backend and profile
 * before anything runs, names the run folders, then hands each (workload,
 * backend) pair to session_run (session.c owns the life of a run).
 */
#include <sys/resource.h>
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "capture.h"
#include "guard.h"
#include "jsonv.h"
#include "load/pad.h"
#include "resume.h"
#include "workload.h"

static volatile sig_atomic_t signals_seen;
static void on_signal(int sig)
{
	(void)sig;
	ap_interrupted = 1;
	/* A second Ctrl-C means "now": the partial results are already on disk. */
	if (++signals_seen >= 2)
		_exit(130);
}

/* What --resume keeps alive: the recorded argv (the cli's strings point into it). */
struct resume_cli {
	cJSON *meta;
	char **argv;
	int argc;
};

static void resume_cli_free(struct resume_cli *r)
{
	for (int i = 0; r->argv && i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	cJSON_Delete(r->meta);
	memset(r, 0, sizeof(*r));
}

/* The shard from --shard or the environment (Slurm, Kubernetes). */
static int resolve_shard(struct cli_args *c)
{
	char err[512];
	if (shard_resolve(&c->shard, c->shard_opt, err, sizeof(err))) {
		ap_err("%s", err);
		return -EINVAL;
	}
	c->s.o.shard = c->shard.count ? &c->shard : NULL;
	return 0;
}

/*
 * --resume DIR: re-parses the run's own command line from meta.json, so
 * every option (repeats, seed, forms, filter, energy ...) is the original
 * one, then pins the workload and backend to the ones this folder recorded
 * (a multi-workload command wrote one folder per pair). Returns 0 or -errno.
 */
static int resume_cli(struct cli_args *c, struct resume_cli *r)
{
	struct ap_error err = { { 0 } };
	struct cli_args n;
	const cJSON *x;
	const char *dir = c->s.resume;
	int rc = resume_read_meta(dir, &r->meta, &err);
	if (rc) {
		ap_err("--resume: %s", err.msg);
		return rc;
	}
	if (c->n_workloads || c->n_backends) {
		ap_err("--resume: the workload and backend come from the run's meta.json; "
		       "give only --resume DIR (and -q, -v)");
		return -EINVAL;
	}
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(r->meta, "argv");
	r->argv = calloc((size_t)cJSON_GetArraySize(av) + 1, sizeof(char *));
	if (!r->argv)
		return -ENOMEM;
	cJSON_ArrayForEach(x, av)
		if (!(r->argv[r->argc++] = strdup(x->valuestring)))
			return -ENOMEM;
	if (r->argc < 2 || strcmp(r->argv[1], "record")) {
		ap_err("--resume: %s/meta.json was not written by 'agentperf record'", dir);
		return -EINVAL;
	}
	int verbose = ap_verbose;
	cli_defaults(&n);
	if (cli_parse(c->cmd, r->argc - 1, r->argv + 1, &n)) {
		ap_err("--resume: the recorded command line no longer parses");
		return -EINVAL;
	}
	ap_verbose = verbose > ap_verbose ? verbose : ap_verbose;
	if (resolve_shard(&n))
		return -EINVAL;
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(r->meta, "workload");
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(w, "answers_path");
	/* The spec keeps a forced format or BFCL category; runs before it had the path. */
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(w, "spec");
	n.workloads[0] = cJSON_IsString(spec) ? spec->valuestring
					      : cJSON_GetObjectItemCaseSensitive(w, "path")->valuestring;
	n.n_workloads = 1;
	n.answers = cJSON_IsString(ans) ? ans->valuestring : NULL;
	n.backends[0] = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(r->meta, "backend"), "spec")
				->valuestring;
	if (strstr(n.backends[0], AP_REDACTED)) {
		ap_err("--resume: the run's URL held credentials, which meta.json does not keep "
		       "(%s); give the key with key_env=VAR and start a new run", n.backends[0]);
		return -EINVAL;
	}
	n.n_backends = 1;
	n.s.resume = dir;
	n.s.resume_meta = r->meta;
	n.s.o.quiet |= c->s.o.quiet;
	/* meta.json keeps the original command line, not "record --resume". */
	n.argc = r->argc;
	n.argv = r->argv;
	n.cmd = c->cmd;
	/* A shard taken from the environment is not in argv: take it from meta.json. */
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(r->meta, "shard");
	if (sh) {
		n.shard.index = (int)jv_num_or(sh, "index", 0);
		n.shard.count = (int)jv_num_or(sh, "count", 0);
		n.shard.source = shard_source_parse(jv_str_or(sh, "source", "option"));
		snprintf(n.shard.detail, sizeof(n.shard.detail), "resumed from %s/meta.json", dir);
	}
	*c = n;
	c->s.o.shard = c->shard.count ? &c->shard : NULL;
	return 0;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			*s = '_';
}

/* The backend's part of a folder name: its label= when given, else its kind;
 * a second backend with the same part gets its position appended. */
static void backend_tag(char *buf, size_t n, struct backend *const *bes, int nb, int i)
{
	const struct backend *b = bes[i];
	snprintf(buf, n, "%s", b->label_given ? b->label : b->kind->name);
	for (int j = 0; j < nb; j++) {
		const struct backend *o = bes[j];
		if (j != i && !strcmp(b->label_given ? b->label : b->kind->name,
				      o->label_given ? o->label : o->kind->name)) {
			snprintf(buf + strlen(buf), n - strlen(buf), "-%d", i + 1);
			break;
		}
	}
}

/*
 * The folder of one pair: --run-id as given for one pair, ID-TAG-WORKLOAD
 * for several; without --run-id, time-TAG-model-workload.
 */
static void run_name(char *buf, size_t n, const struct cli_args *c, struct backend *const *bes,
		     int bi, const struct workload *wl)
{
	char tag[256];
	const char *wname = wl->name ? wl->name : "workload";
	backend_tag(tag, sizeof(tag), bes, c->n_backends, bi);
	if (c->s.run_id && c->n_workloads == 1 && c->n_backends == 1) {
		snprintf(buf, n, "%s", c->s.run_id);
		return;
	}
	if (c->s.run_id) {
		snprintf(buf, n, "%s-%s-%s", c->s.run_id, tag, wname);
	} else {
		time_t t = time(NULL);
		struct tm tm;
		char ts[32];
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(buf, n, "%s-%s-%s-%s", ts, tag, bes[bi]->model, wname);
	}
	sanitize(buf);
}

/*
 * Each parallel episode holds a socket (and curl's resolver a socket pair
 * while it resolves); running out mid-run would fail calls that the server
 * never saw. So the limit is checked against -c before anything runs:
 * the soft limit is raised where the hard one allows, otherwise refused.
 */
static int check_fd_limit(int concurrency)
{
	struct rlimit rl;
	rlim_t need = 64 + 4 * (rlim_t)concurrency;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = need;
		if (!setrlimit(RLIMIT_NOFILE, &rl)) {
			ap_info("raised the open-file limit from %llu to %llu for -c %d",
				(unsigned long long)was, (unsigned long long)need, concurrency);
			return 0;
		}
	}
	ap_err("-c %d needs about %llu file descriptors, but the limit is %llu (hard limit %llu): "
	       "raise it (ulimit -n %llu) or lower -c",
	       concurrency, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max, (unsigned long long)need);
	return -EMFILE;
}

/*
 * -w NAME: a file as given, else workloads/NAME or workloads/NAME.jsonl here
 * or in the installed data folder (util.h's ap_data_find). A format prefix
 * (bfcl:, capture: ...) or a path with '/' is taken as given.
 */
static const char *find_workload(const char *arg, char *buf, size_t n)
{
	if (strchr(arg, ':') || strchr(arg, '/') || !access(arg, R_OK))
		return arg;
	char rel[512];
	snprintf(rel, sizeof(rel), "workloads/%s", arg);
	if (!ap_data_find(rel, buf, n))
		return buf;
	snprintf(rel, sizeof(rel), "workloads/%s.jsonl", arg);
	return ap_data_find(rel, buf, n) ? arg : buf;
}

int cmd_run(struct cli_args *c)
{
	struct ap_error err = { { 0 } };
	struct resume_cli rcli = { 0 };
	struct workload *wls[32] = { 0 };
	struct backend *bes[32] = { 0 };
	int rc = 0;
	if (!c->s.resume && resolve_shard(c)) {
		rc = 2;
		goto out;
	}
	if (c->s.resume && resume_cli(c, &rcli)) {
		rc = 2;
		goto out;
	}
	c->s.record = c->cmd->id == CMD_RECORD;
	if (check_fd_limit(c->s.o.concurrency)) {
		rc = 2;
		goto out;
	}
	if (!c->n_workloads) {
		ap_err("no workload: give one with -w FILE (see 'agentperf list')");
		rc = 2;
		goto out;
	}
	if (!c->n_backends) {
		ap_err("no backend: give one with -b SPEC, e.g. -b openai:url=http://127.0.0.1:8080/v1");
		rc = 2;
		goto out;
	}
	if (c->s.o.duration_s > 0 && !(c->s.o.rate > 0)) {
		ap_err("--duration: runs an arrival schedule; give its rate with --rate R");
		rc = 2;
		goto out;
	}
	if (c->s.o.ramp_s > 0 && c->s.o.rate > 0) {
		ap_err("--ramp staggers the start of a closed loop; with --rate the arrivals are "
		       "already on a schedule: give one or the other");
		rc = 2;
		goto out;
	}
	c->s.argc = c->argc;
	c->s.argv = c->argv;
	/* Everything is validated before anything runs. */
	if (c->cluster) {
		/* Embeddings from the first backend unless --cluster names a url. */
		struct backend *b0 = NULL;
		char cerr[512];
		if (backend_parse(&b0, c->backends[0], &err)) {
			ap_err("%s", err.msg);
			rc = 2;
			goto out;
		}
		rc = capture_set_cluster(c->cluster, b0->managed ? NULL : b0->url, b0->model,
					 b0->key_env, c->s.o.seed_set ? c->s.o.seed : 1, cerr,
					 sizeof(cerr));
		backend_free(b0);
		if (rc) {
			ap_err("%s", cerr);
			rc = 2;
			goto out;
		}
	}
	for (int i = 0; i < c->n_workloads; i++) {
		char found[4096];
		const char *path = find_workload(c->workloads[i], found, sizeof(found));
		if ((rc = workload_open(&wls[i], path, c->answers, &err))) {
			ap_err("%s", err.msg);
			rc = 2;
			goto out;
		}
		/* On the workload, where tasks are loaded: every runner sees it. */
		workload_set_policy_override(wls[i], &c->pov);
		for (size_t k = 0; k < wls[i]->n_notes; k++)
			ap_warn("%s", wls[i]->notes[k]);
		if (wls[i]->n_unsatisfiable)
			ap_warn("%s: %zu of %zu tasks can never pass: an expected argument has an "
				"empty list of acceptable values (BFCL's checker fails them too)",
				wls[i]->path, wls[i]->n_unsatisfiable, wls[i]->n_tasks);
		/* A filter that selects nothing is a usage error, before any folder exists. */
		struct run_opts so = c->s.o;
		long n = 0;
		bool decomposed = false;
		so.wl = wls[i];
		if ((rc = run_count_selected(&so, &n, &decomposed, &err)) || !n) {
			if (rc)
				ap_err("%s", err.msg);
			else
				ap_err("%s: no task matches%s%s%s%s%s", wls[i]->path,
				       c->s.o.filter ? " --tasks '" : "", c->s.o.filter ? c->s.o.filter : "",
				       c->s.o.filter ? "'" : "", c->s.o.category ? " --category " : "",
				       c->s.o.category ? c->s.o.category : "");
			rc = 2;
			goto out;
		}
		/* --form decomp on tasks without a decomposed form would run nothing. */
		if (!c->s.o.forms[FORM_MONO] && !decomposed) {
			ap_err("%s: --form decomp: none of the %ld selected tasks has a decomposed form "
			       "(workloads/SCHEMA.md, \"decomposed\"); use --form mono or both",
			       wls[i]->path, n);
			rc = 2;
			goto out;
		}
		char corpus[4096];
		if (c->context && (pad_default_corpus(corpus, sizeof(corpus)) ||
				   pad_set_context(wls[i], corpus, c->context,
						     c->s.o.seed_set ? (uint64_t)c->s.o.seed : 0, &err))) {
			ap_err("--context: %s", err.msg[0] ? err.msg :
			       "no padding corpus (workloads/padding/corpus.json) found");
			rc = 2;
			goto out;
		}
	}
	if (c->s.resume) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(c->s.resume_meta, "workload");
		const char *was = cJSON_GetObjectItemCaseSensitive(w, "sha256")->valuestring;
		if (strcmp(was, wls[0]->sha256)) {
			ap_err("--resume: %s changed since the run (sha256 %.12s..., now %.12s...); "
			       "resuming would mix two workloads", wls[0]->path, was, wls[0]->sha256);
			rc = 2;
			goto out;
		}
	}
	if (c->s.pc.ov.any && !c->s.pc.n_files) {
		ap_err("profile overrides (--pue ...) need a profile: add --profile FILE");
		rc = 2;
		goto out;
	}
	for (int i = 0; i < c->n_backends; i++) {
		if ((rc = backend_parse(&bes[i], c->backends[i], &err))) {
			ap_err("%s", err.msg);
			rc = 2;
			goto out;
		}
		if (bes[i]->key_env && (!getenv(bes[i]->key_env) || !*getenv(bes[i]->key_env)) &&
		    strncmp(bes[i]->url, "http://127.", 11) && strncmp(bes[i]->url, "http://localhost", 16))
			ap_warn("backend %s: %s is not set; calls go without an API key", bes[i]->label,
				bes[i]->key_env);
		if (bes[i]->insecure)
			ap_warn("backend %s: TLS verification is OFF", bes[i]->label);
		struct profile_set ps;
		char perr[512];
		if (profile_cli_resolve(&c->s.pc, bes[i]->model, bes[i]->url, &ps, perr, sizeof(perr))) {
			ap_err("backend %s: %s", bes[i]->label, perr);
			rc = 2;
			goto out;
		}
		if (c->s.pc.n_files && !ps.local.loaded && !ps.remote.loaded)
			ap_warn("backend %s: none of the --profile files covers it (no local profile, and "
				"no remote profile names model '%s'): its cost is not counted",
				bes[i]->label, bes[i]->model);
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int b = 0; b < c->n_backends && !ap_interrupted; b++)
		for (int w = 0; w < c->n_workloads && !ap_interrupted; w++) {
			char name[512];
			struct session_outcome so;
			run_name(name, sizeof(name), c, bes, b, wls[w]);
			if (session_run(&c->s, wls[w], bes[b], name, &so)) {
				rc = so.refused ? 2 : 1;
			} else if (!so.tasks && !ap_interrupted) {
				ap_warn("%s against %s: no task ran", wls[w]->path, bes[b]->label);
				rc = rc ? rc : 1;
			} else if (so.calls && so.calls_failed == so.calls && !ap_interrupted) {
				/* A run where nothing answered measured no model: say so, exit 1. */
				ap_warn("%s against %s: every call failed (%ld of %ld; the report's call "
					"breakdown says why)",
					wls[w]->path, bes[b]->label, so.calls_failed, so.calls);
				rc = rc ? rc : 1;
			}
		}
	if (ap_interrupted && !rc)
		rc = 130;
out:
	for (int i = 0; i < c->n_workloads; i++)
		workload_close(wls[i]);
	for (int i = 0; i < c->n_backends; i++)
		backend_free(bes[i]);
	resume_cli_free(&rcli);
	return rc;
}
