/* Resuming a results folder: the finished-task set and the CSV repair. */
#include "resume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard.h"
#include "record.h"
#include "results.h"

/* A results line longer than this is not one agentperf wrote. */
#define CSV_LINE_MAX (1u << 20)

struct task_key {
	int repeat;
	long seq;
	int form;
	bool kept; /* its tasks.csv line was written back (duplicates are dropped) */
};

struct resume_set {
	struct task_key *k;
	size_t n, cap;
	size_t dropped;
};

static int key_cmp(const void *a, const void *b)
{
	const struct task_key *x = a, *y = b;
	if (x->repeat != y->repeat)
		return x->repeat < y->repeat ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->form - y->form;
}

static struct task_key *find(const struct resume_set *s, int repeat, long seq, int form)
{
	struct task_key want = { .repeat = repeat, .seq = seq, .form = form };
	return s->n ? bsearch(&want, s->k, s->n, sizeof(*s->k), key_cmp) : NULL;
}

bool resume_done(const struct resume_set *s, int repeat, long seq, int form)
{
	return s && find(s, repeat, seq, form) != NULL;
}

size_t resume_finished(const struct resume_set *s)
{
	return s ? s->n : 0;
}

size_t resume_dropped(const struct resume_set *s)
{
	return s ? s->dropped : 0;
}

void resume_free(struct resume_set *s)
{
	if (!s)
		return;
	free(s->k);
	free(s);
}

/*
 * Field idx of one raw CSV line (our own writer's quoting: "..." with ""),
 * copied into out. Returns 0, or -ENOENT when the line has fewer fields.
 */
static int field_at(const char *line, size_t idx, char *out, size_t n)
{
	const char *p = line;
	for (size_t i = 0;; i++) {
		size_t w = 0;
		if (*p == '"') {
			for (p++; *p; p++) {
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"') {
					p++;
					break;
				}
				if (i == idx && w + 1 < n)
					out[w++] = *p;
			}
			p += strcspn(p, ",\n");
		} else {
			size_t len = strcspn(p, ",\n");
			for (size_t j = 0; i == idx && j < len && w + 1 < n; j++)
				out[w++] = p[j];
			p += len;
		}
		if (i == idx) {
			out[w] = '\0';
			return 0;
		}
		if (*p != ',')
			return -ENOENT;
		p++;
	}
}

static long header_index(const char *header, const char *col)
{
	char f[64];
	for (size_t i = 0; !field_at(header, i, f, sizeof(f)); i++)
		if (!strcmp(f, col))
			return (long)i;
	return -1;
}

struct row_key {
	long repeat_i, seq_i, form_i, outcome_i;
};

/* The (repeat, seq, form) of a complete row; -EINVAL for a row that does not parse. */
static int row_key(const char *line, const struct row_key *ix, struct task_key *k, char *outcome,
		   size_t on)
{
	char f[64];
	long v;
	if (field_at(line, (size_t)ix->repeat_i, f, sizeof(f)) || ap_parse_long(f, &v) || v < 1 ||
	    v > 1000000)
		return -EINVAL;
	k->repeat = (int)v;
	if (field_at(line, (size_t)ix->seq_i, f, sizeof(f)) || ap_parse_long(f, &k->seq))
		return -EINVAL;
	if (field_at(line, (size_t)ix->form_i, f, sizeof(f)) || (k->form = form_parse(f)) < 0)
		return -EINVAL;
	if (outcome && field_at(line, (size_t)ix->outcome_i, outcome, on))
		return -EINVAL;
	return 0;
}

/*
 * One pass over DIR/name. collect: build the set from tasks.csv. Otherwise
 * write name.tmp with the header and the rows of finished tasks, then rename.
 */
static int pass(int dirfd, const char *dir, const char *name, struct resume_set *s, bool collect,
		struct ap_error *err)
{
	int rc = 0, fd, tfd = -1;
	FILE *in = NULL, *out = NULL;
	char *line = NULL, tmp[64];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	struct row_key ix;
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	/* O_NOFOLLOW: a symlink planted in place of a results file is refused, not read. */
	fd = ap_open_in(dirfd, name, O_RDONLY);
	if (fd < 0)
		errno = -fd;
	if (fd < 0 || !(in = fdopen(fd, "r"))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		ap_error_set(err, dir, 0, name, "cannot open for resuming: %s", strerror(-rc));
		goto out;
	}
	len = ap_getline_max(&line, &cap, in, CSV_LINE_MAX);
	if (len <= 0 || line[len - 1] != '\n') {
		rc = -EINVAL;
		ap_error_set(err, dir, 1, name, "no complete header line: not a results file");
		goto out;
	}
	lineno = 1;
	/* Rows of this version's layout appended under another header would
	 * leave a file nothing can read. */
	const char *want = results_csv_header(name);
	if (want && strcmp(line, want)) {
		rc = -EINVAL;
		ap_error_set(err, dir, 1, name,
			     "the header is not this agentperf's layout (csv_format %d): %.*s; "
			     "this folder cannot be resumed by this version",
			     CSV_VERSION, (int)strcspn(line, "\n") > 120 ? 120 : (int)strcspn(line, "\n"),
			     line);
		goto out;
	}
	ix.repeat_i = header_index(line, "repeat");
	ix.seq_i = header_index(line, "seq");
	ix.form_i = header_index(line, "form");
	ix.outcome_i = header_index(line, "outcome");
	if (ix.repeat_i < 0 || ix.seq_i < 0 || ix.form_i < 0 || (collect && ix.outcome_i < 0)) {
		rc = -EINVAL;
		ap_error_set(err, dir, 1, name, "header lacks repeat, seq or form: not a results file");
		goto out;
	}
	if (!collect) {
		unlinkat(dirfd, tmp, 0);
		tfd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (tfd < 0 || !(out = fdopen(tfd, "w"))) {
			rc = -errno;
			if (tfd >= 0)
				close(tfd);
			ap_error_set(err, dir, 0, tmp, "cannot create: %s", strerror(-rc));
			goto out;
		}
		fputs(line, out);
	}
	while ((len = ap_getline_max(&line, &cap, in, CSV_LINE_MAX)) > 0) {
		struct task_key k;
		char outcome[32];
		lineno++;
		/* A line without its newline is the one a kill cut short. */
		bool complete = line[len - 1] == '\n';
		bool parsed = complete && !row_key(line, &ix, &k, collect ? outcome : NULL,
						  sizeof(outcome));
		if (collect) {
			if (!parsed || !strcmp(outcome, "interrupted"))
				continue;
			if (s->n == s->cap) {
				size_t nc = s->cap ? s->cap * 2 : 256;
				struct task_key *nk = realloc(s->k, nc * sizeof(*nk));
				if (!nk) {
					rc = -ENOMEM;
					goto out;
				}
				s->k = nk;
				s->cap = nc;
			}
			k.kept = false;
			s->k[s->n++] = k;
			continue;
		}
		struct task_key *f = parsed ? find(s, k.repeat, k.seq, k.form) : NULL;
		bool is_tasks = !strcmp(name, "tasks.csv");
		if (!f || (is_tasks && f->kept)) {
			s->dropped++;
			continue;
		}
		if (is_tasks)
			f->kept = true;
		fputs(line, out);
	}
	if (len < 0) {
		rc = (int)len;
		ap_error_set(err, dir, lineno + 1, name, "%s",
			     len == -EFBIG ? "line too long: not a results file" : "read error");
		goto out;
	}
	if (collect) {
		if (s->n)
			qsort(s->k, s->n, sizeof(*s->k), key_cmp);
		goto out;
	}
	if (fflush(out) || fsync(fileno(out))) {
		rc = -EIO;
		ap_error_set(err, dir, 0, tmp, "write error");
		goto out;
	}
	fclose(out);
	out = NULL;
	if (renameat(dirfd, tmp, dirfd, name)) {
		rc = -errno;
		ap_error_set(err, dir, 0, name, "cannot replace: %s", strerror(-rc));
	}
out:
	if (out) {
		fclose(out);
		unlinkat(dirfd, tmp, 0);
	}
	if (in)
		fclose(in);
	free(line);
	return rc;
}

int resume_prepare(const char *dir, struct resume_set **out, struct ap_error *err)
{
	int rc;
	struct resume_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		ap_error_set(err, dir, 0, NULL, "cannot open the run folder: %s", strerror(-rc));
		goto fail;
	}
	/* tasks.csv decides; the other two follow it, tasks.csv itself last. */
	if ((rc = pass(dirfd, dir, "tasks.csv", s, true, err)) ||
	    (rc = pass(dirfd, dir, "calls.csv", s, false, err)) ||
	    (rc = pass(dirfd, dir, "attempts.csv", s, false, err)) ||
	    (rc = pass(dirfd, dir, "tasks.csv", s, false, err)))
		goto fail;
	close(dirfd);
	*out = s;
	return 0;
fail:
	if (dirfd >= 0)
		close(dirfd);
	resume_free(s);
	return rc;
}

int resume_read_meta(const char *dir, cJSON **meta, struct ap_error *err)
{
	char path[4200], *txt = NULL;
	int rc;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	int fd = ap_open_path(path, O_RDONLY);
	if (fd < 0) {
		rc = fd;
		ap_error_set(err, path, 0, NULL, "cannot read: %s", strerror(-rc));
		return rc;
	}
	close(fd);
	if ((rc = ap_read_file(path, &txt, NULL))) {
		ap_error_set(err, path, 0, NULL, "cannot read: %s", ap_read_file_error(rc));
		return rc;
	}
	cJSON *m = cJSON_Parse(txt);
	free(txt);
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(m, "argv");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(m, "workload");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "backend");
	if (!cJSON_IsArray(av) || cJSON_GetArraySize(av) < 2 ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(w, "path")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(w, "sha256")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "spec"))) {
		cJSON_Delete(m);
		ap_error_set(err, path, 0, NULL,
			     "not an agentperf meta.json (argv, workload.path/sha256, backend.spec)");
		return -EINVAL;
	}
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "csv_format");
	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != CSV_VERSION) {
		char got[32];
		snprintf(got, sizeof(got), "%.6g", cJSON_IsNumber(fmt) ? fmt->valuedouble : 0);
		ap_error_set(err, path, 0, "csv_format",
			     "the folder's CSVs are format %s, this agentperf writes %d: "
			     "it cannot be resumed by this version",
			     cJSON_IsNumber(fmt) ? got : "(missing)", CSV_VERSION);
		cJSON_Delete(m);
		return -EINVAL;
	}
	const cJSON *x;
	cJSON_ArrayForEach(x, av) if (!cJSON_IsString(x))
	{
		cJSON_Delete(m);
		ap_error_set(err, path, 0, "argv", "holds a non-string");
		return -EINVAL;
	}
	*meta = m;
	return 0;
}
