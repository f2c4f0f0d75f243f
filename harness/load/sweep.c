/* Load sweeps (sweep.h). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pad.h"
#include "results.h"
#include "sweep.h"
#include "util.h"

extern char **environ;

static const struct {
	const char *name, *option;
} axes[AXIS_COUNT] = {
	[AXIS_CONCURRENCY] = { "concurrency", "-c" },
	[AXIS_RATE] = { "rate", "--rate" },
	[AXIS_CONTEXT] = { "context", "--context" },
};

int sweep_axis_parse(const char *s)
{
	for (int i = 0; i < AXIS_COUNT; i++)
		if (!strcmp(s, axes[i].name))
			return i;
	return -EINVAL;
}

const char *sweep_axis_name(enum sweep_axis a)
{
	return axes[a].name;
}

const char *sweep_axis_option(enum sweep_axis a)
{
	return axes[a].option;
}

/* ---- reading a point's files ---- */

static double num_or_nan(const char *s)
{
	double v;
	return s && *s && !ap_parse_double(s, &v) ? v : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v (n > 0), NAN when empty. */
static double pct(const double *v, size_t n, double q)
{
	if (!n)
		return NAN;
	size_t k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

struct dvec {
	double *v;
	size_t n, cap;
};

static int dvec_add(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		double *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = x;
	return 0;
}

/* One task of a point, for the SLO judgement. */
struct tjudge {
	char key[160];
	bool success, calls_ok;
	double from_sched_s;
};

static void task_key(char *buf, size_t n, const struct csv_reader *c)
{
	snprintf(buf, n, "%s:%s:%s", csv_get(c, "repeat"), csv_get(c, "seq"), csv_get(c, "form"));
}

static int cmp_tjudge(const void *a, const void *b)
{
	return strcmp(((const struct tjudge *)a)->key, ((const struct tjudge *)b)->key);
}

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int load_meta(struct sweep_point *p, const char *dir, char *msg, unsigned n)
{
	char path[4200], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	int rc = ap_read_file(path, &text, &len);
	if (rc < 0) {
		snprintf(msg, n, "%s: %s", path, strerror(-rc));
		return rc;
	}
	cJSON *m = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		snprintf(msg, n, "%s: not a JSON object", path);
		return -EINVAL;
	}
	const cJSON *st = jget(m, "status");
	ap_scopy(p->status, sizeof(p->status), cJSON_IsString(st) ? st->valuestring : "failed");
	const cJSON *opt = jget(m, "options");
	p->concurrency = jnum(opt, "concurrency");
	p->rate = jnum(opt, "rate");
	p->context_tokens = jnum(opt, "context_tokens");
	const cJSON *e = jget(m, "energy");
	double dev = jnum(e, "device_j"), dur = jnum(e, "duration_s");
	p->device_power_w = dur > 0 ? dev / dur : NAN;
	p->idle_power_w = jnum(e, "idle_w");
	p->cpu_util = jnum(e, "cpu_util_machine");
	const cJSON *prov = jget(e, "device_provenance");
	ap_scopy(p->energy_source, sizeof(p->energy_source),
		 cJSON_IsString(prov) ? prov->valuestring : "none");
	/* GPU utilization where NVML read it: the mean of its util channels */
	const cJSON *ch;
	double gsum = 0;
	int gn = 0;
	cJSON_ArrayForEach(ch, jget(e, "channels")) {
		const cJSON *nm = jget(ch, "name");
		double t = jnum(ch, "total");
		if (cJSON_IsString(nm) && !strncmp(nm->valuestring, "nvml:", 5) &&
		    strstr(nm->valuestring, "util") && !isnan(t)) {
			gsum += t;
			gn++;
		}
	}
	p->gpu_util = gn ? gsum / gn / 100.0 : NAN;
	cJSON_Delete(m);
	return 0;
}

static int load_summary(struct sweep_point *p, const char *dir, char *msg, unsigned n)
{
	char path[4200];
	struct csv_reader c;
	snprintf(path, sizeof(path), "%s/summary.csv", dir);
	int rc = csv_open(&c, path);
	if (rc < 0) {
		snprintf(msg, n, "%s: %s", path, strerror(-rc));
		return rc;
	}
	bool found = false;
	while ((rc = csv_next(&c)) == 0) {
		/* the mean over repeats of the monolithic form (decomp when only that ran) */
		if (strcmp(csv_get(&c, "repeat"), "mean"))
			continue;
		if (found && strcmp(csv_get(&c, "form"), "mono"))
			continue;
		found = true;
		p->tasks = (long)num_or_nan(csv_get(&c, "tasks"));
		p->successes = (long)num_or_nan(csv_get(&c, "successes"));
		p->completion_tokens = (long)num_or_nan(csv_get(&c, "completion_tokens"));
		p->elapsed_s = num_or_nan(csv_get(&c, "elapsed_s"));
		p->energy_j = num_or_nan(csv_get(&c, "energy_j"));
		p->j_per_success = num_or_nan(csv_get(&c, "energy_j_per_success"));
		p->device_j_per_success = num_or_nan(csv_get(&c, "device_j_per_success"));
		p->wall_j_per_success = num_or_nan(csv_get(&c, "wall_j_per_success"));
		p->facility_j_per_success = num_or_nan(csv_get(&c, "facility_j_per_success"));
		p->usd_per_success = num_or_nan(csv_get(&c, "usd_per_success"));
		if (!strcmp(csv_get(&c, "form"), "mono"))
			break;
	}
	csv_close(&c);
	if (rc < 0 || !found) {
		snprintf(msg, n, "%s: %s", path, rc < 0 ? strerror(-rc) : "no mean row");
		return rc < 0 ? rc : -EINVAL;
	}
	return 0;
}

/* Tasks and calls: latency from schedule, SLO judgement per task. */
static int load_calls(struct sweep_point *p, const char *dir, const struct slo *slo,
		      char *msg, unsigned n)
{
	char path[4200];
	struct csv_reader c;
	struct tjudge *tj = NULL;
	size_t ntj = 0, captj = 0;
	struct dvec ttft = { 0 }, e2e = { 0 }, queue = { 0 }, gen = { 0 };
	const char *form = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/tasks.csv", dir);
	if ((rc = csv_open(&c, path)) < 0)
		goto fail_open;
	while ((rc = csv_next(&c)) == 0) {
		/* the sweep's figures are the monolithic form's (summary.csv's mean row) */
		if (!form)
			form = strdup(csv_get(&c, "form"));
		if (form && strcmp(csv_get(&c, "form"), form))
			continue;
		if (ntj == captj) {
			size_t cap = captj ? 2 * captj : 64;
			struct tjudge *t = realloc(tj, cap * sizeof(*t));
			if (!t) {
				rc = -ENOMEM;
				break;
			}
			tj = t;
			captj = cap;
		}
		struct tjudge *t = &tj[ntj++];
		task_key(t->key, sizeof(t->key), &c);
		t->success = !strcmp(csv_get(&c, "success"), "1");
		t->calls_ok = true;
		double q = num_or_nan(csv_get(&c, "queue_s"));
		t->from_sched_s = num_or_nan(csv_get(&c, "duration_s")) + (isnan(q) ? 0 : q);
	}
	csv_close(&c);
	if (rc < 0)
		goto fail;
	qsort(tj, ntj, sizeof(*tj), cmp_tjudge);

	snprintf(path, sizeof(path), "%s/calls.csv", dir);
	if ((rc = csv_open(&c, path)) < 0)
		goto fail_open;
	while ((rc = csv_next(&c)) == 0) {
		if (form && strcmp(csv_get(&c, "form"), form))
			continue;
		p->calls++;
		/* queue_s: scheduled start to send (open loop); absent or empty in a
		 * closed loop, where a call is sent when it is due */
		double q = num_or_nan(csv_get(&c, "queue_s"));
		if (isnan(q))
			q = 0;
		double t1 = num_or_nan(csv_get(&c, "ttft_s")), te = num_or_nan(csv_get(&c, "e2e_s"));
		double itl = num_or_nan(csv_get(&c, "itl_s"));
		bool ok = !strcmp(csv_get(&c, "status"), "ok");
		p->calls_ok += ok;
		if (ok && !isnan(t1))
			rc = dvec_add(&ttft, q + t1);
		if (!rc && ok && !isnan(te))
			rc = dvec_add(&e2e, q + te);
		if (!rc)
			rc = dvec_add(&queue, q);
		double g = num_or_nan(csv_get(&c, "server_gen_tps"));
		if (!rc && !isnan(g))
			rc = dvec_add(&gen, g);
		if (rc)
			break;
		if (slo && slo->set) {
			struct tjudge key;
			task_key(key.key, sizeof(key.key), &c);
			struct tjudge *t = bsearch(&key, tj, ntj, sizeof(*tj), cmp_tjudge);
			if (t && !(ok && slo_call_ok(slo, isnan(t1) ? NAN : q + t1, itl,
						     isnan(te) ? NAN : q + te)))
				t->calls_ok = false;
		}
	}
	csv_close(&c);
	if (rc < 0)
		goto fail;

	qsort(ttft.v, ttft.n, sizeof(double), cmp_double);
	qsort(e2e.v, e2e.n, sizeof(double), cmp_double);
	qsort(queue.v, queue.n, sizeof(double), cmp_double);
	p->ttft_p50_s = pct(ttft.v, ttft.n, 0.50);
	p->ttft_p99_s = pct(ttft.v, ttft.n, 0.99);
	p->e2e_p50_s = pct(e2e.v, e2e.n, 0.50);
	p->e2e_p99_s = pct(e2e.v, e2e.n, 0.99);
	p->queue_p99_s = pct(queue.v, queue.n, 0.99);
	double gs = 0;
	for (size_t i = 0; i < gen.n; i++)
		gs += gen.v[i];
	p->server_gen_tps = gen.n ? gs / (double)gen.n : NAN;
	p->slo_tasks_met = p->slo_successes = -1;
	if (slo && slo->set) {
		p->slo_tasks_met = p->slo_successes = 0;
		for (size_t i = 0; i < ntj; i++) {
			bool met = tj[i].calls_ok && slo_task_ok(slo, tj[i].from_sched_s);
			p->slo_tasks_met += met;
			p->slo_successes += met && tj[i].success;
		}
		p->slo_attainment = ntj ? (double)p->slo_tasks_met / (double)ntj : NAN;
	}
	rc = 0;
	goto out;
fail_open:
	snprintf(msg, n, "%s: %s", path, strerror(-rc));
	goto out;
fail:
	snprintf(msg, n, "%s: %s", path, strerror(-rc));
out:
	free((void *)form);
	free(tj);
	free(ttft.v);
	free(e2e.v);
	free(queue.v);
	free(gen.v);
	return rc;
}

static double per(double a, double b)
{
	return b > 0 && !isnan(a) ? a / b : NAN;
}

int sweep_point_load(struct sweep_point *p, const char *dir, const struct slo *slo,
		     char *msg, unsigned n)
{
	int rc;
	p->slo_attainment = p->goodput_per_h = p->j_per_slo_success = NAN;
	p->model_u = p->model_j_per_task = p->model_err_pct = NAN;
	if ((rc = load_meta(p, dir, msg, n)) || (rc = load_summary(p, dir, msg, n)) ||
	    (rc = load_calls(p, dir, slo, msg, n)))
		return rc;
	p->tasks_per_s = per((double)p->tasks, p->elapsed_s);
	p->successes_per_h = 3600 * per((double)p->successes, p->elapsed_s);
	p->completion_tps = per((double)p->completion_tokens, p->elapsed_s);
	p->j_per_task = per(p->energy_j, (double)p->tasks);
	p->j_per_completion_token = per(p->energy_j, (double)p->completion_tokens);
	if (p->slo_successes >= 0) {
		p->goodput_per_h = 3600 * per((double)p->slo_successes, p->elapsed_s);
		p->j_per_slo_success = per(p->energy_j, (double)p->slo_successes);
	}
	return 0;
}

void sweep_model(struct sweep_point *pts, int n)
{
	if (n < 1)
		return;
	const struct sweep_point *lo = &pts[0];
	double b1 = per(lo->elapsed_s, (double)lo->tasks);
	double pidle = lo->idle_power_w;
	double n1 = per(lo->energy_j, (double)lo->tasks) - pidle * b1;
	for (int i = 0; i < n; i++) {
		struct sweep_point *p = &pts[i];
		double u = per((double)p->tasks * b1, p->elapsed_s);
		if (isnan(u) || isnan(n1) || isnan(pidle)) {
			p->model_u = p->model_j_per_task = p->model_err_pct = NAN;
			continue;
		}
		if (u > 1)
			u = 1;
		p->model_u = u;
		p->model_j_per_task = n1 + pidle * b1 / u;
		p->model_err_pct = 100 * per(p->j_per_task - p->model_j_per_task, p->model_j_per_task);
	}
}

/* ---- sweep.csv ---- */

static void cell(FILE *f, double v)
{
	if (isnan(v))
		fputs(",", f);
	else
		fprintf(f, ",%.9g", v);
}

static void cell_l(FILE *f, long v)
{
	if (v < 0)
		fputs(",", f);
	else
		fprintf(f, ",%ld", v);
}

/* The header, and each row below, list the columns in results/README.md's order. */
static const char SWEEP_HDR[] =
	"v,point,axis,value,status,exit_code,concurrency,rate_offered_per_s,context_tokens,"
	"tasks,successes,calls,calls_ok,elapsed_s,tasks_per_s,successes_per_h,slo_tasks_met,"
	"slo_attainment,goodput_per_h,completion_tokens,completion_tokens_per_s,server_gen_tps,"
	"energy_j,j_per_task,j_per_completion_token,j_per_success,device_j_per_success,"
	"wall_j_per_success,facility_j_per_success,usd_per_success,j_per_slo_success,"
	"ttft_p50_s,ttft_p99_s,e2e_p50_s,e2e_p99_s,queue_p99_s,device_power_w,idle_power_w,"
	"cpu_util,gpu_util,modeled_u,modeled_j_per_task,modeled_error_pct,energy_source\n";

int sweep_write_csv(const char *dir, const struct sweep_point *pts, int n)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof(tmp), "%s/sweep.csv.tmp", dir);
	snprintf(path, sizeof(path), "%s/sweep.csv", dir);
	unlink(tmp);
	FILE *f = fopen(tmp, "wx");
	if (!f)
		return -errno;
	fputs(SWEEP_HDR, f);
	for (int i = 0; i < n; i++) {
		const struct sweep_point *p = &pts[i];
		struct sbuf b = { 0 };
		fprintf(f, "1,%s,%s", p->name, sweep_axis_name(p->axis));
		cell(f, p->value);
		fprintf(f, ",%s,%d", p->status, p->exit_code);
		cell(f, p->concurrency);
		cell(f, p->rate);
		cell(f, p->context_tokens);
		cell_l(f, p->tasks);
		cell_l(f, p->successes);
		cell_l(f, p->calls);
		cell_l(f, p->calls_ok);
		cell(f, p->elapsed_s);
		cell(f, p->tasks_per_s);
		cell(f, p->successes_per_h);
		cell_l(f, p->slo_tasks_met);
		cell(f, p->slo_attainment);
		cell(f, p->goodput_per_h);
		cell_l(f, p->completion_tokens);
		cell(f, p->completion_tps);
		cell(f, p->server_gen_tps);
		cell(f, p->energy_j);
		cell(f, p->j_per_task);
		cell(f, p->j_per_completion_token);
		cell(f, p->j_per_success);
		cell(f, p->device_j_per_success);
		cell(f, p->wall_j_per_success);
		cell(f, p->facility_j_per_success);
		cell(f, p->usd_per_success);
		cell(f, p->j_per_slo_success);
		cell(f, p->ttft_p50_s);
		cell(f, p->ttft_p99_s);
		cell(f, p->e2e_p50_s);
		cell(f, p->e2e_p99_s);
		cell(f, p->queue_p99_s);
		cell(f, p->device_power_w);
		cell(f, p->idle_power_w);
		cell(f, p->cpu_util);
		cell(f, p->gpu_util);
		cell(f, p->model_u);
		cell(f, p->model_j_per_task);
		cell(f, p->model_err_pct);
		fputc(',', f);
		csv_field(&b, p->energy_source);
		fputs(b.s ? b.s : "", f);
		fputc('\n', f);
		sbuf_free(&b);
	}
	int rc = ferror(f) ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	return rc;
}

/* ---- the command ---- */

#define MAX_POINTS 64

static const char SWEEP_USAGE[] =
	"usage: agentperf sweep --vary AXIS=V1,V2,... [sweep options] [record options]\n"
	"\n"
	"One recorded run per point into DIR/<axis>-<value>/, then DIR/sweep.csv\n"
	"(DIR = OUTPUT/RUN-ID). Started again with the same DIR, a sweep keeps its\n"
	"complete points and resumes an unfinished one.\n"
	"\n"
	"sweep options:\n"
	"      --vary AXIS=LIST    concurrency=1,2,4,8 (-c; a managed llama-server's\n"
	"                          slots follow it), rate=0.5,1,2 (--rate, tasks/s),\n"
	"                          context=1k,5k,25k (--context, tokens)\n"
	"      --slo LIST          ttft=S,itl=S,e2e=S,task=S: judge each task (goodput)\n"
	"      --until-slo-breaks  stop a rising sweep at the first point whose SLO\n"
	"                          attainment is below --slo-attainment; report capacity\n"
	"      --slo-attainment P  share of tasks that must meet the SLO (default 0.9)\n"
	"  -o, --output DIR        base folder (default results)\n"
	"      --run-id ID         sweep folder name (default sweep-<time>)\n"
	"  -h, --help              this text\n"
	"\n"
	"Every other option goes to each point's `agentperf record` (see\n"
	"`agentperf record --help`); the varied option is appended last.\n";

static volatile sig_atomic_t sweep_stop;

static void on_sig(int sig)
{
	(void)sig;
	sweep_stop = 1;
}

/* The binary every point runs: its path (not /proc/self/exe: under valgrind,
 * --trace-children, that link names valgrind's tool, while readlink() is
 * answered with ours) and an fd of it, taken once at the sweep's start, so a
 * binary rebuilt in place mid-sweep does not make the later points another
 * version (or fail to start: the path then reads "... (deleted)"). */
static char self_path[4096];
static int self_fd = -1;
static struct stat self_st;

static void self_open(void)
{
	ssize_t len = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (len <= 0) {
		snprintf(self_path, sizeof(self_path), "/proc/self/exe");
		return;
	}
	self_path[len] = 0;
	self_fd = open(self_path, O_RDONLY | O_CLOEXEC);
	if (self_fd >= 0 && fstat(self_fd, &self_st)) {
		close(self_fd);
		self_fd = -1;
	}
}

/* In the child: the path while it is still the file we started from, else the fd. */
static void self_exec(char **args)
{
	struct stat now;
	if (self_fd < 0 || (!stat(self_path, &now) && now.st_ino == self_st.st_ino &&
			    now.st_dev == self_st.st_dev)) {
		execv(self_path, args);
		return;
	}
	fexecve(self_fd, args, environ);
}

/* Runs `agentperf ARGS...` as a child; its exit code, 128+signal, or -errno. */
static int run_child(char **args)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		self_exec(args);
		fprintf(stderr, "agentperf sweep: cannot start %s: %s\n", self_path, strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static bool folder_status(const char *dir, char *status, size_t n)
{
	char path[4200], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if (ap_read_file(path, &text, &len) < 0)
		return false;
	cJSON *m = cJSON_ParseWithLength(text, len);
	free(text);
	const cJSON *st = jget(m, "status");
	ap_scopy(status, n, cJSON_IsString(st) ? st->valuestring : "");
	cJSON_Delete(m);
	return true;
}

static void print_table(FILE *f, const struct sweep_point *pts, int n, bool slo)
{
	fprintf(f, "\n %-18s %8s %9s %9s %10s %10s %9s %9s %8s %6s %11s %7s\n", "point", "tasks/s",
		"succ/h", slo ? "goodput/h" : "", "J/task", "J/token", "p99ttft", "p99e2e", "power",
		"util", "model J/t", "err");
	for (int i = 0; i < n; i++) {
		const struct sweep_point *p = &pts[i];
		char gp[16] = "";
		if (slo && !isnan(p->goodput_per_h))
			snprintf(gp, sizeof(gp), "%9.1f", p->goodput_per_h);
		fprintf(f, " %-18s %8.3f %9.1f %9s %10.4g %10.4g %8.3fs %8.3fs %7.2fW %5.1f%% %11.4g %6.1f%%\n",
			p->name, p->tasks_per_s, p->successes_per_h, gp, p->j_per_task,
			p->j_per_completion_token, p->ttft_p99_s, p->e2e_p99_s, p->device_power_w,
			100 * p->cpu_util, p->model_j_per_task, p->model_err_pct);
	}
	fprintf(f, "\n # latencies from each call's scheduled start; J = attributed device energy (%s)\n"
		   " # model J/t: the profile's utilization formula from the first point (sweep.h);\n"
		   " # err: measured minus modeled, in percent of modeled\n",
		n ? pts[0].energy_source : "none");
}

int sweep_main(int argc, char **argv)
{
	const char *vary = NULL, *out = "results", *run_id = NULL, *slo_spec = NULL;
	bool until = false;
	double attain = 0.9;
	char **pass = calloc((size_t)argc + 16, sizeof(*pass));
	int npass = 0, rc = 2;
	struct sweep_point *pts = calloc(MAX_POINTS, sizeof(*pts));
	char *list = NULL;
	struct slo slo = { .set = false };
	if (!pass || !pts) {
		rc = 1;
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(SWEEP_USAGE, stdout);
			rc = 0;
			goto out;
		}
#define TAKE(name) (!strcmp(a, name) && (val ? (i++, true) : (ap_err("%s needs a value", name), false)))
		if (!strcmp(a, "--vary") || !strcmp(a, "--slo") || !strcmp(a, "-o") ||
		    !strcmp(a, "--output") || !strcmp(a, "--run-id") || !strcmp(a, "--slo-attainment")) {
			if (!val) {
				ap_err("%s needs a value", a);
				goto out;
			}
		}
		if (TAKE("--vary"))
			vary = val;
		else if (TAKE("--slo"))
			slo_spec = val;
		else if (TAKE("-o") || TAKE("--output"))
			out = val;
		else if (TAKE("--run-id"))
			run_id = val;
		else if (TAKE("--slo-attainment")) {
			if (ap_parse_double(val, &attain) || !(attain > 0 && attain <= 1)) {
				ap_err("--slo-attainment: expected a share in (0, 1], got '%s'", val);
				goto out;
			}
		} else if (!strcmp(a, "--until-slo-breaks"))
			until = true;
		else if (!strcmp(a, "--resume")) {
			ap_err("sweep: --resume is not a sweep option; start the sweep again with the "
			       "same -o and --run-id to continue it");
			goto out;
		} else
			pass[npass++] = argv[i];
#undef TAKE
	}
	if (!vary) {
		ap_err("sweep: give the load axis with --vary AXIS=LIST (e.g. --vary concurrency=1,2,4,8)");
		goto out;
	}
	if (slo_spec) {
		char msg[200];
		if (slo_parse(&slo, slo_spec, msg, sizeof(msg))) {
			ap_err("--slo: %s", msg);
			goto out;
		}
		/* each point's own report gives its goodput too */
		pass[npass++] = "--slo";
		pass[npass++] = (char *)slo_spec;
	}
	if (until && !slo.set) {
		ap_err("--until-slo-breaks needs --slo (the limits a point must meet)");
		goto out;
	}
	const char *eq = strchr(vary, '=');
	char axis_name[32];
	if (!eq || (size_t)(eq - vary) >= sizeof(axis_name)) {
		ap_err("--vary: expected AXIS=V1,V2,..., got '%s'", vary);
		goto out;
	}
	memcpy(axis_name, vary, (size_t)(eq - vary));
	axis_name[eq - vary] = 0;
	int axis = sweep_axis_parse(axis_name);
	if (axis < 0) {
		ap_err("--vary: unknown axis '%s' (concurrency, rate, context)", axis_name);
		goto out;
	}
	/* the values, checked before anything runs */
	list = strdup(eq + 1);
	char *vals[MAX_POINTS];
	int nv = 0;
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (nv == MAX_POINTS) {
			ap_err("--vary: at most %d points", MAX_POINTS);
			goto out;
		}
		double v;
		long lv;
		bool ok;
		if (axis == AXIS_CONTEXT) {
			ok = !pad_parse_size(t, &lv);
			v = (double)lv;
		} else if (axis == AXIS_CONCURRENCY) {
			ok = !ap_parse_long(t, &lv) && lv >= 1 && lv <= 4096;
			v = (double)lv;
		} else {
			ok = !ap_parse_double(t, &v) && v > 0 && isfinite(v);
		}
		if (!ok) {
			ap_err("--vary %s: bad value '%s' (%s)", axis_name, t,
			       axis == AXIS_CONTEXT ? "tokens, e.g. 5k or 25000" :
			       axis == AXIS_CONCURRENCY ? "an integer in [1, 4096]" : "tasks/s > 0");
			goto out;
		}
		if (until && nv && v <= pts[nv - 1].value) {
			ap_err("--until-slo-breaks: the values must rise ('%s' after %g)", t, pts[nv - 1].value);
			goto out;
		}
		struct sweep_point *p = &pts[nv];
		snprintf(p->name, sizeof(p->name), "%s-%s", axis_name, t);
		for (char *c = p->name; *c; c++)
			if (!(*c == '-' || *c == '.' || *c == '_' || (*c >= '0' && *c <= '9') ||
			      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
				*c = '_';
		p->axis = (enum sweep_axis)axis;
		p->value = v;
		vals[nv++] = t;
	}
	if (!nv) {
		ap_err("--vary %s: no values", axis_name);
		goto out;
	}
	char idbuf[64], dir[4200];
	if (!run_id) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(idbuf, sizeof(idbuf), "sweep-%Y%m%d-%H%M%S", &tm);
		run_id = idbuf;
	}
	if (strchr(run_id, '/') || !strcmp(run_id, ".") || !strcmp(run_id, "..")) {
		ap_err("--run-id: a folder name, not a path: '%s'", run_id);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/%s", out, run_id);
	if ((mkdir(out, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST)) {
		ap_err("cannot create %s: %s", dir, strerror(errno));
		rc = 1;
		goto out;
	}
	self_open();
	struct sigaction sa = { .sa_handler = on_sig };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int done = 0, with_data = 0, broke_at = -1;
	bool interrupted = false;
	for (int i = 0; i < nv && !sweep_stop; i++) {
		struct sweep_point *p = &pts[i];
		char pdir[4300], status[32];
		snprintf(pdir, sizeof(pdir), "%s/%s", dir, p->name);
		char *args[8 + MAX_POINTS];
		int na = 0;
		args[na++] = "agentperf";
		args[na++] = "record";
		bool exists = folder_status(pdir, status, sizeof(status));
		char **cargs = NULL;
		if (exists && !strcmp(status, "complete")) {
			fprintf(stderr, "agentperf sweep: %s is complete, kept\n", p->name);
			p->exit_code = -1;
		} else {
			if (exists) {
				fprintf(stderr, "agentperf sweep: %s is %s, resuming it\n", p->name, status);
				args[na++] = "--resume";
				args[na++] = pdir;
				args[na] = NULL;
				cargs = args;
			} else {
				cargs = calloc((size_t)npass + 12, sizeof(*cargs));
				if (!cargs) {
					rc = 1;
					goto out;
				}
				int k = 0;
				cargs[k++] = "agentperf";
				cargs[k++] = "record";
				for (int j = 0; j < npass; j++)
					cargs[k++] = pass[j];
				cargs[k++] = "-o";
				cargs[k++] = dir;
				cargs[k++] = "--run-id";
				cargs[k++] = p->name;
				cargs[k++] = (char *)sweep_axis_option(p->axis);
				cargs[k++] = vals[i];
				cargs[k] = NULL;
			}
			fprintf(stderr, "agentperf sweep: point %d/%d: %s\n", i + 1, nv, p->name);
			p->exit_code = run_child(cargs);
			if (cargs != args)
				free(cargs);
		}
		done = i + 1;
		char msg[300] = "";
		int lr = sweep_point_load(p, pdir, &slo, msg, sizeof(msg));
		if (lr) {
			if (!folder_status(pdir, p->status, sizeof(p->status)))
				ap_scopy(p->status, sizeof(p->status), "failed");
			ap_warn("sweep: %s: no figures (%s)", p->name, msg);
			p->tasks = p->successes = p->completion_tokens = -1;
			p->slo_tasks_met = -1;
		} else {
			with_data++;
		}
		if (p->exit_code == 130 || p->exit_code == 128 + SIGINT || sweep_stop) {
			interrupted = true;
			break;
		}
		sweep_model(pts, done);
		if (sweep_write_csv(dir, pts, done))
			ap_warn("sweep: cannot write %s/sweep.csv: %s", dir, strerror(errno));
		if (until && !lr && !(p->slo_attainment >= attain)) {
			broke_at = i;
			break;
		}
	}
	sweep_model(pts, done);
	int wr = sweep_write_csv(dir, pts, done);
	if (wr)
		ap_err("cannot write %s/sweep.csv: %s", dir, strerror(-wr));
	print_table(stdout, pts, done, slo.set);
	if (until) {
		if (broke_at == 0)
			printf("\n capacity: none of the points met the SLO (%s at %.0f %%): the "
			       "first, %s, already missed it\n", slo_spec, 100 * attain, pts[0].name);
		else if (broke_at > 0)
			printf("\n capacity: %s = %g (the highest load that met %s for %.0f %% of "
			       "tasks; %s missed it)\n", axis_name, pts[broke_at - 1].value, slo_spec,
			       100 * attain, pts[broke_at].name);
		else if (!interrupted)
			printf("\n capacity: at least %s = %g (every point met the SLO; try higher)\n",
			       axis_name, pts[done - 1].value);
	}
	printf("\n sweep: %s/sweep.csv (%d of %d points%s)\n", dir, done, nv,
	       interrupted ? ", interrupted" : "");
	if (interrupted)
		rc = 130;
	else if (!with_data) {
		ap_err("sweep: no point produced figures");
		rc = 1;
	} else
		rc = wr ? 1 : 0;
out:
	free(list);
	free(pass);
	free(pts);
	return rc;
}
