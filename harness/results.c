#include "results.h"
#include "machine.h"
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct results {
	char dir[4096];
	int dirfd;
	FILE *calls, *attempts, *tasks;
	struct sbuf row;
	char energy_source[128];
	struct run_ident id; /* from the last meta.json written: summary.csv's identity columns */
};

static const char CALLS_HDR[] =
	"v,repeat,seq,task_id,form,paired,sub,attempt,step,t_start_s,ttft_s,itl_s,e2e_s,output_tps,"
	"prompt_tokens,completion_tokens,cached_tokens,usage_reported,tokens_source,content_chunks,"
	"http_status,status,transport_retries,finish_reason,tool_calls,server_prompt_tps,"
	"server_gen_tps,energy_j,idle_energy_j,energy_source,error,seed,queue_s\n";
static const char ATTEMPTS_HDR[] =
	"v,repeat,seq,task_id,category,form,sub,sub_id,attempt,success,calls,steps,prompt_tokens,"
	"completion_tokens,cached_tokens,t_start_s,duration_s,energy_j,idle_energy_j,energy_source,"
	"status,reason,failure_visible,tool_wait_s\n";
static const char TASKS_HDR[] =
	"v,repeat,seq,task_id,category,form,paired,outcome,success,attempts,k_success,calls,prompt_tokens,"
	"completion_tokens,cached_tokens,t_start_s,duration_s,energy_j,idle_energy_j,energy_source,"
	"context_tokens_est,t_sched_s,queue_s,tool_wait_s,tool_energy_j,slo_met\n";

const char *results_csv_header(const char *name)
{
	return !strcmp(name, "calls.csv") ? CALLS_HDR
	       : !strcmp(name, "attempts.csv") ? ATTEMPTS_HDR
	       : !strcmp(name, "tasks.csv") ? TASKS_HDR : NULL;
}

/* O_EXCL through ap_open_in: a symlink planted in the results folder is never followed. */
static FILE *create_at(int dirfd, const char *name, const char *header)
{
	int fd = ap_open_in(dirfd, name, O_WRONLY | O_CREAT | O_EXCL);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return NULL;
	}
	if (header && (fputs(header, f) < 0 || fflush(f))) {
		fclose(f);
		return NULL;
	}
	return f;
}

int results_create(struct results **out, const char *base, const char *run_id,
		   struct ap_error *err)
{
	int rc;
	struct results *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->dirfd = -1;
	snprintf(r->energy_source, sizeof(r->energy_source), "none");
	if ((rc = ap_mkdir_p(base))) {
		ap_error_set(err, base, 0, NULL, "cannot create results folder: %s", strerror(-rc));
		goto fail;
	}
	snprintf(r->dir, sizeof(r->dir), "%s/%s", base, run_id);
	if (mkdir(r->dir, 0755)) {
		rc = -errno;
		ap_error_set(err, r->dir, 0, NULL, "cannot create run folder: %s", strerror(errno));
		goto fail;
	}
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0) {
		rc = -errno;
		ap_error_set(err, r->dir, 0, NULL, "cannot open run folder: %s", strerror(errno));
		goto fail;
	}
	/* Held for the life of the run: a --resume of this folder meanwhile is refused. */
	if ((rc = ap_dir_lock(r->dirfd, r->dir, err)))
		goto fail;
	r->calls = create_at(r->dirfd, "calls.csv", CALLS_HDR);
	r->attempts = create_at(r->dirfd, "attempts.csv", ATTEMPTS_HDR);
	r->tasks = create_at(r->dirfd, "tasks.csv", TASKS_HDR);
	if (!r->calls || !r->attempts || !r->tasks) {
		rc = -errno ? -errno : -EIO;
		ap_error_set(err, r->dir, 0, NULL, "cannot create CSV files: %s", strerror(-rc));
		goto fail;
	}
	*out = r;
	return 0;
fail:
	results_close(r);
	return rc;
}

/* O_APPEND, never O_CREAT: resuming adds to the files the run made. */
static FILE *append_at(int dirfd, const char *name)
{
	int fd = ap_open_in(dirfd, name, O_WRONLY | O_APPEND);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	FILE *f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

int results_open_existing(struct results **out, const char *dir, struct ap_error *err)
{
	int rc;
	struct results *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->energy_source, sizeof(r->energy_source), "none");
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0) {
		rc = -errno;
		ap_error_set(err, r->dir, 0, NULL, "cannot open run folder: %s", strerror(errno));
		goto fail;
	}
	if ((rc = ap_dir_lock(r->dirfd, r->dir, err)))
		goto fail;
	*out = r;
	return 0;
fail:
	results_close(r);
	return rc;
}

int results_reopen_csvs(struct results *r, struct ap_error *err)
{
	static const char *const names[] = { "calls.csv", "attempts.csv", "tasks.csv" };
	FILE **fs[] = { &r->calls, &r->attempts, &r->tasks };
	for (size_t i = 0; i < AP_ARRAY_SIZE(names); i++) {
		if (*fs[i])
			fclose(*fs[i]);
		if (!(*fs[i] = append_at(r->dirfd, names[i]))) {
			int rc = errno ? -errno : -EIO;
			ap_error_set(err, r->dir, 0, names[i], "cannot open for appending: %s",
				     strerror(-rc));
			return rc;
		}
	}
	return 0;
}

const char *results_dir(const struct results *r)
{
	return r->dir;
}

int results_path(const struct results *r, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", r->dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void results_set_energy_source(struct results *r, const char *src)
{
	snprintf(r->energy_source, sizeof(r->energy_source), "%s", src);
}

/* Numbers in the C locale; NAN (not applicable / not measured) is an empty cell. */
static void num(struct sbuf *b, double v)
{
	if (isnan(v))
		sbuf_add(b, ",", 1);
	else
		sbuf_addf(b, ",%.9g", v);
}

/*
 * Free text as one CSV field: secrets and URL credentials masked, valid
 * UTF-8 cut on a character boundary, control and invalid bytes escaped
 * (\xHH; newlines flattened, which would break line-oriented readers).
 */
static void text(struct sbuf *b, const char *s)
{
	struct sbuf red = { 0 }, clean = { 0 };
	sbuf_add(b, ",", 1);
	if (!ap_redact(&red, s) && !ap_text_clean(&clean, red.s, 511))
		csv_field(b, clean.s);
	sbuf_free(&red);
	sbuf_free(&clean);
}

static void energy_cols(struct sbuf *b, bool valid, double e, double idle, const char *src)
{
	num(b, valid ? e : NAN);
	num(b, valid ? idle : NAN);
	text(b, valid ? src : "none");
}

int results_write_task(struct results *r, const struct task_rec *t, const struct attempt_rec *a,
		       size_t na, const struct call_rec *c, size_t nc)
{
	struct sbuf *b = &r->row;
	sbuf_reset(b);
	for (size_t i = 0; i < nc; i++) {
		const struct call_rec *x = &c[i];
		sbuf_addf(b, "%d,%d,%ld", CSV_VERSION, x->repeat, x->seq);
		text(b, x->task_id);
		text(b, form_name(x->form));
		sbuf_addf(b, ",%d,%d,%d,%d", x->paired, x->sub, x->attempt, x->step);
		num(b, x->t_start_s);
		num(b, x->ttft_s);
		num(b, x->itl_s);
		num(b, x->e2e_s);
		num(b, x->out_tps);
		sbuf_addf(b, ",%ld,%ld,%ld,%d", x->prompt_tokens, x->completion_tokens,
			  x->cached_tokens, x->usage);
		text(b, x->tok_src);
		if (x->n_chunks >= 0)
			sbuf_addf(b, ",%ld,%d", x->n_chunks, x->http_status);
		else
			sbuf_addf(b, ",,%d", x->http_status);
		text(b, call_status_name(x->status));
		sbuf_addf(b, ",%d", x->retries);
		text(b, x->finish);
		sbuf_addf(b, ",%d", x->n_tool_calls);
		num(b, x->srv_prompt_tps);
		num(b, x->srv_gen_tps);
		energy_cols(b, x->energy_valid, x->energy_j, x->idle_j, r->energy_source);
		text(b, x->error);
		if (x->seed >= 0)
			sbuf_addf(b, ",%lld", x->seed);
		else
			sbuf_add(b, ",", 1);
		num(b, x->queue_s);
		sbuf_add(b, "\n", 1);
	}
	if (b->len && (fwrite(b->s, 1, b->len, r->calls) != b->len || fflush(r->calls)))
		return -EIO;
	sbuf_reset(b);
	for (size_t i = 0; i < na; i++) {
		const struct attempt_rec *x = &a[i];
		sbuf_addf(b, "%d,%d,%ld", CSV_VERSION, x->repeat, x->seq);
		text(b, x->task_id);
		text(b, x->category);
		text(b, form_name(x->form));
		sbuf_addf(b, ",%d", x->sub);
		text(b, x->sub_id);
		sbuf_addf(b, ",%d,%d,%d,%d,%ld,%ld,%ld", x->attempt, x->success, x->calls, x->steps,
			  x->prompt_tokens, x->completion_tokens, x->cached_tokens);
		num(b, x->t_start_s);
		num(b, x->duration_s);
		energy_cols(b, x->energy_valid, x->energy_j, x->idle_j, r->energy_source);
		text(b, call_status_name(x->status));
		text(b, x->why);
		sbuf_addf(b, x->visible < 0 ? "," : ",%d", x->visible);
		num(b, x->tool_wait_s);
		sbuf_add(b, "\n", 1);
	}
	if (b->len && (fwrite(b->s, 1, b->len, r->attempts) != b->len || fflush(r->attempts)))
		return -EIO;
	sbuf_reset(b);
	sbuf_addf(b, "%d,%d,%ld", CSV_VERSION, t->repeat, t->seq);
	text(b, t->task_id);
	text(b, t->category);
	text(b, form_name(t->form));
	sbuf_addf(b, ",%d", t->paired);
	text(b, t->outcome);
	sbuf_addf(b, ",%d,%d,%d,%d,%ld,%ld,%ld", t->success, t->attempts, t->k_success, t->calls,
		  t->prompt_tokens, t->completion_tokens, t->cached_tokens);
	num(b, t->t_start_s);
	num(b, t->duration_s);
	energy_cols(b, t->energy_valid, t->energy_j, t->idle_j, r->energy_source);
	sbuf_addf(b, ",%ld", t->ctx_tokens_est);
	num(b, t->t_sched_s);
	num(b, t->queue_s);
	num(b, t->tool_wait_s);
	num(b, t->tool_energy_valid ? t->tool_energy_j : NAN);
	sbuf_addf(b, t->slo_met < 0 ? "," : ",%d", t->slo_met);
	sbuf_add(b, "\n", 1);
	/* tasks.csv last: a task row means its attempts and calls are on disk. */
	if (fwrite(b->s, 1, b->len, r->tasks) != b->len || fflush(r->tasks))
		return -EIO;
	return 0;
}

int results_write_meta(struct results *r, const cJSON *meta)
{
	int rc = 0;
	run_ident_from_meta(meta, &r->id);
	char *s = cJSON_Print(meta);
	if (!s)
		return -ENOMEM;
	/* Last line of defence: a key echoed into an error string is masked here too. */
	ap_mask_secrets(s);
	unlinkat(r->dirfd, "meta.json.tmp", 0);
	FILE *f = create_at(r->dirfd, "meta.json.tmp", NULL);
	if (!f) {
		rc = -errno;
		goto out;
	}
	if (fputs(s, f) < 0 || fputc('\n', f) < 0 || fflush(f) || fsync(fileno(f)))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && renameat(r->dirfd, "meta.json.tmp", r->dirfd, "meta.json"))
		rc = -errno;
out:
	free(s);
	return rc;
}

int results_write_text(struct results *r, const char *name, void (*print)(FILE *f, void *arg),
		       void *arg)
{
	int rc = 0;
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(r->dirfd, tmp, 0);
	FILE *f = create_at(r->dirfd, tmp, NULL);
	if (!f)
		return -errno;
	print(f, arg);
	if (ferror(f) || fflush(f) || fsync(fileno(f)))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && renameat(r->dirfd, tmp, r->dirfd, name))
		rc = -errno;
	return rc;
}

int results_write_summary(struct results *r, const struct run_agg *agg, const struct cost_ctx *cc)
{
	unlinkat(r->dirfd, "summary.csv.tmp", 0);
	FILE *f = create_at(r->dirfd, "summary.csv.tmp", NULL);
	if (!f)
		return -errno;
	summary_csv_write(f, &r->id, agg, cc);
	int rc = fflush(f) || ferror(f) ? -EIO : 0;
	fclose(f);
	if (!rc && renameat(r->dirfd, "summary.csv.tmp", r->dirfd, "summary.csv"))
		rc = -errno;
	return rc;
}

void results_close(struct results *r)
{
	if (!r)
		return;
	if (r->calls)
		fclose(r->calls);
	if (r->attempts)
		fclose(r->attempts);
	if (r->tasks)
		fclose(r->tasks);
	if (r->dirfd >= 0)
		close(r->dirfd);
	sbuf_free(&r->row);
	free(r);
}

/* ---- reading back ---- */

int csv_open(struct csv_reader *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->f = ap_fopen_regular(path, NULL);
	if (!c->f)
		return -errno;
	int rc = csv_next(c);
	if (rc) {
		csv_close(c);
		return rc < 0 ? rc : -ENODATA;
	}
	c->header = c->field;
	c->nheader = c->n;
	c->field = NULL;
	c->n = c->nalloc = 0;
	/* The header's strings point into line; keep them by copying. */
	for (size_t i = 0; i < c->nheader; i++)
		c->header[i] = strdup(c->header[i]);
	return 0;
}

int csv_next(struct csv_reader *c)
{
	ssize_t len = ap_getline_max(&c->line, &c->cap, c->f, 16u << 20);
	if (len < 0)
		return (int)len;
	if (len == 0)
		return 1;
	c->lineno++;
	while (len && (c->line[len - 1] == '\n' || c->line[len - 1] == '\r'))
		c->line[--len] = '\0';
	c->n = 0;
	char *p = c->line, *w;
	for (;;) {
		if (c->n == c->nalloc) {
			size_t na = c->nalloc ? c->nalloc * 2 : 32;
			char **nf = realloc(c->field, na * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			c->field = nf;
			c->nalloc = na;
		}
		c->field[c->n++] = w = p;
		if (*p == '"') {
			/* Unquote in place: output never outruns input. */
			p++;
			for (;;) {
				if (!*p)
					break;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			char *comma = strchr(p, ',');
			*w = '\0';
			if (!comma)
				break;
			p = comma + 1;
		} else {
			char *comma = strchr(p, ',');
			if (!comma)
				break;
			*comma = '\0';
			p = comma + 1;
		}
	}
	return 0;
}

const char *csv_get(const struct csv_reader *c, const char *col)
{
	for (size_t i = 0; i < c->nheader && i < c->n; i++)
		if (!strcmp(c->header[i], col))
			return c->field[i];
	return "";
}

void csv_close(struct csv_reader *c)
{
	if (c->f)
		fclose(c->f);
	for (size_t i = 0; c->header && i < c->nheader; i++)
		free(c->header[i]);
	free(c->header);
	free(c->field);
	free(c->line);
	memset(c, 0, sizeof(*c));
}

static double dnum(const char *s)
{
	if (!*s)
		return NAN;
	return strtod(s, NULL);
}

static long lnum(const char *s);

/* The token columns every CSV of a run shares. */
static void read_usage(const struct csv_reader *c, long *prompt, long *completion, long *cached)
{
	*prompt = lnum(csv_get(c, "prompt_tokens"));
	*completion = lnum(csv_get(c, "completion_tokens"));
	*cached = lnum(csv_get(c, "cached_tokens"));
}

/* energy_j: false (and 0) when empty, i.e. not measured. */
static bool read_energy(const struct csv_reader *c, double *j)
{
	double e = dnum(csv_get(c, "energy_j"));
	*j = isnan(e) ? 0 : e;
	return !isnan(e);
}

static long lnum(const char *s)
{
	return strtol(s, NULL, 10);
}

int results_load(const char *dir, struct run_agg *agg, cJSON **meta, struct ap_error *err)
{
	char path[4200];
	char *txt = NULL;
	struct csv_reader c;
	int rc;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if ((rc = ap_read_file(path, &txt, NULL))) {
		ap_error_set(err, path, 0, NULL, "cannot read: %s", ap_read_file_error(rc));
		return rc;
	}
	cJSON *m = cJSON_Parse(txt);
	free(txt);
	if (!m) {
		ap_error_set(err, path, 0, NULL, "not valid JSON");
		return -EINVAL;
	}
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(m, "repeats");
	/* Range-checked as a double first: (int)1e10 is undefined behaviour. */
	double rd = cJSON_IsNumber(rep) ? rep->valuedouble : 1;
	int repeats = rd >= 1 && rd <= 100000 ? (int)rd : 0;
	if (repeats < 1 || repeats > 100000) {
		ap_error_set(err, path, 0, "repeats", "out of range");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = run_agg_init(agg, repeats)))
		goto fail;
	const cJSON *el;
	int i = 0;
	cJSON_ArrayForEach(el, cJSON_GetObjectItemCaseSensitive(m, "elapsed_s"))
	{
		if (i < repeats && cJSON_IsNumber(el))
			agg->elapsed_s[i] = el->valuedouble;
		i++;
	}

	snprintf(path, sizeof(path), "%s/tasks.csv", dir);
	if ((rc = csv_open(&c, path))) {
		ap_error_set(err, path, 0, NULL, "cannot read: %s", strerror(-rc));
		goto fail;
	}
	while ((rc = csv_next(&c)) == 0) {
		struct task_rec t = { 0 };
		t.repeat = (int)lnum(csv_get(&c, "repeat"));
		t.form = form_parse(csv_get(&c, "form"));
		if (t.form < 0 || t.repeat < 1 || t.repeat > repeats) {
			ap_error_set(err, path, c.lineno, "repeat/form", "out of range");
			csv_close(&c);
			rc = -EINVAL;
			goto fail;
		}
		t.paired = lnum(csv_get(&c, "paired")) != 0;
		t.success = lnum(csv_get(&c, "success")) != 0;
		t.attempts = (int)lnum(csv_get(&c, "attempts"));
		t.k_success = (int)lnum(csv_get(&c, "k_success"));
		snprintf(t.outcome, sizeof(t.outcome), "%s", csv_get(&c, "outcome"));
		t.calls = (int)lnum(csv_get(&c, "calls"));
		snprintf(t.task_id, sizeof(t.task_id), "%s", csv_get(&c, "task_id"));
		snprintf(t.category, sizeof(t.category), "%s", csv_get(&c, "category"));
		read_usage(&c, &t.prompt_tokens, &t.completion_tokens, &t.cached_tokens);
		t.energy_valid = read_energy(&c, &t.energy_j);
		t.duration_s = dnum(csv_get(&c, "duration_s"));
		t.ctx_tokens_est = lnum(csv_get(&c, "context_tokens_est"));
		/* columns of the load issue; absent in older folders (closed loop, no SLO) */
		t.t_sched_s = dnum(csv_get(&c, "t_sched_s"));
		t.queue_s = dnum(csv_get(&c, "queue_s"));
		t.tool_wait_s = dnum(csv_get(&c, "tool_wait_s"));
		t.tool_energy_j = dnum(csv_get(&c, "tool_energy_j"));
		t.tool_energy_valid = !isnan(t.tool_energy_j);
		const char *sm = csv_get(&c, "slo_met");
		t.slo_met = *sm ? (int)lnum(sm) : -1;
		run_agg_task(agg, &t);
	}
	csv_close(&c);
	if (rc < 0)
		goto fail;

	snprintf(path, sizeof(path), "%s/calls.csv", dir);
	if ((rc = csv_open(&c, path))) {
		ap_error_set(err, path, 0, NULL, "cannot read: %s", strerror(-rc));
		goto fail;
	}
	while ((rc = csv_next(&c)) == 0) {
		struct call_rec x = { 0 };
		x.repeat = (int)lnum(csv_get(&c, "repeat"));
		x.form = form_parse(csv_get(&c, "form"));
		x.paired = lnum(csv_get(&c, "paired")) != 0;
		x.ttft_s = dnum(csv_get(&c, "ttft_s"));
		x.itl_s = dnum(csv_get(&c, "itl_s"));
		x.e2e_s = dnum(csv_get(&c, "e2e_s"));
		x.out_tps = dnum(csv_get(&c, "output_tps"));
		read_usage(&c, &x.prompt_tokens, &x.completion_tokens, &x.cached_tokens);
		x.usage = lnum(csv_get(&c, "usage_reported")) != 0;
		ap_scopy(x.tok_src, sizeof(x.tok_src), csv_get(&c, "tokens_source") ? csv_get(&c, "tokens_source") : "");
		const char *ck = csv_get(&c, "content_chunks");
		x.n_chunks = ck && *ck ? lnum(ck) : -1;
		x.n_tool_calls = (int)lnum(csv_get(&c, "tool_calls"));
		int st = call_status_parse(csv_get(&c, "status"));
		x.status = st < 0 ? CALL_ERR_TRANSPORT : st;
		x.retries = (int)lnum(csv_get(&c, "transport_retries"));
		x.srv_prompt_tps = dnum(csv_get(&c, "server_prompt_tps"));
		x.srv_gen_tps = dnum(csv_get(&c, "server_gen_tps"));
		x.energy_valid = read_energy(&c, &x.energy_j);
		double idle = dnum(csv_get(&c, "idle_energy_j"));
		x.idle_j = isnan(idle) ? 0 : idle;
		x.queue_s = dnum(csv_get(&c, "queue_s"));
		run_agg_call(agg, &x);
	}
	csv_close(&c);
	if (rc < 0)
		goto fail;

	snprintf(path, sizeof(path), "%s/attempts.csv", dir);
	if ((rc = csv_open(&c, path))) {
		ap_error_set(err, path, 0, NULL, "cannot read: %s", strerror(-rc));
		goto fail;
	}
	while ((rc = csv_next(&c)) == 0) {
		struct attempt_rec x = { 0 };
		x.repeat = (int)lnum(csv_get(&c, "repeat"));
		x.form = form_parse(csv_get(&c, "form"));
		x.success = lnum(csv_get(&c, "success")) != 0;
		x.calls = (int)lnum(csv_get(&c, "calls"));
		read_usage(&c, &x.prompt_tokens, &x.completion_tokens, &x.cached_tokens);
		x.duration_s = dnum(csv_get(&c, "duration_s"));
		x.energy_valid = read_energy(&c, &x.energy_j);
		int st = call_status_parse(csv_get(&c, "status"));
		x.status = st < 0 ? CALL_OK : st;
		run_agg_attempt(agg, &x);
	}
	csv_close(&c);
	if (rc < 0)
		goto fail;
	*meta = m;
	return 0;
fail:
	run_agg_free(agg);
	cJSON_Delete(m);
	return rc;
}
