/* Shards: the unit split and where its numbers come from (shard.h). */
#include "shard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

uint64_t shard_hash(const char *task_id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)task_id; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

int shard_of(const char *task_id, int repeat, int count)
{
	if (count <= 1)
		return 0;
	uint64_t n = (uint64_t)count;
	uint64_t r = repeat > 0 ? (uint64_t)(repeat - 1) : 0;
	return (int)((shard_hash(task_id) % n + r % n) % n);
}

bool shard_has(const struct shard *s, const char *task_id, int repeat)
{
	return !s || s->count <= 1 || shard_of(task_id, repeat, s->count) == s->index;
}

static const char *const source_names[] = { "none", "option", "slurm", "kubernetes" };

const char *shard_source_name(enum shard_source s)
{
	return (unsigned)s < AP_ARRAY_SIZE(source_names) ? source_names[s] : "?";
}

enum shard_source shard_source_parse(const char *name)
{
	for (size_t i = 0; name && i < AP_ARRAY_SIZE(source_names); i++)
		if (!strcmp(name, source_names[i]))
			return (enum shard_source)i;
	return SHARD_OPTION;
}

/* An environment variable as a long; 1 when unset, -EINVAL when not a number. */
static int env_long(const char *name, long *out, char *err, size_t n)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 1;
	if (ap_parse_long(v, out)) {
		snprintf(err, n, "%s='%s' is not a non-negative integer", name, v);
		return -EINVAL;
	}
	return 0;
}

static int check(struct shard *s, char *err, size_t n)
{
	if (s->count < 1 || s->count > SHARD_MAX) {
		snprintf(err, n, "%s: shard count %d out of range [1, %d]", s->detail, s->count,
			 SHARD_MAX);
		return -EINVAL;
	}
	if (s->index < 0 || s->index >= s->count) {
		snprintf(err, n, "%s: shard index %d out of range [0, %d)", s->detail, s->index,
			 s->count);
		return -EINVAL;
	}
	return 0;
}

/* SLURM_ARRAY_TASK_ID - MIN over STEP, of COUNT (or (MAX - MIN) / STEP + 1). */
static int from_slurm(struct shard *s, long id, char *err, size_t n)
{
	long min = 0, max = -1, step = 1, count = -1;
	int rc;
	if ((rc = env_long("SLURM_ARRAY_TASK_MIN", &min, err, n)) < 0 ||
	    (rc = env_long("SLURM_ARRAY_TASK_MAX", &max, err, n)) < 0 ||
	    (rc = env_long("SLURM_ARRAY_TASK_STEP", &step, err, n)) < 0 ||
	    (rc = env_long("SLURM_ARRAY_TASK_COUNT", &count, err, n)) < 0)
		return -EINVAL;
	snprintf(s->detail, sizeof(s->detail),
		 "SLURM_ARRAY_TASK_ID=%ld SLURM_ARRAY_TASK_COUNT=%ld MIN=%ld MAX=%ld STEP=%ld", id,
		 count, min, max, step);
	if (step < 1)
		step = 1;
	long span = max >= min ? (max - min) / step + 1 : -1;
	if (count < 0)
		count = span;
	if (count < 1) {
		snprintf(err, n, "%s: cannot tell the array's size (give --shard I/N)", s->detail);
		return -EINVAL;
	}
	/* An array given as a list (--array=1,4,9) has no arithmetic index: refuse. */
	if ((span > 0 && span != count) || id < min || (id - min) % step) {
		snprintf(err, n,
			 "%s: the array's ids are not min..max:step with COUNT tasks, so the task "
			 "ids do not number the shards; give --shard I/N",
			 s->detail);
		return -EINVAL;
	}
	s->source = SHARD_SLURM;
	s->index = (int)((id - min) / step);
	s->count = count > SHARD_MAX ? SHARD_MAX + 1 : (int)count;
	return check(s, err, n);
}

int shard_resolve(struct shard *s, const char *opt, char *err, size_t n)
{
	long a, b;
	int rc;
	memset(s, 0, sizeof(*s));
	if (opt) {
		char buf[64];
		const char *slash = strchr(opt, '/');
		snprintf(s->detail, sizeof(s->detail), "--shard %s", opt);
		if (!slash || (size_t)(slash - opt) >= sizeof(buf) ||
		    (snprintf(buf, sizeof(buf), "%.*s", (int)(slash - opt), opt), ap_parse_long(buf, &a)) ||
		    ap_parse_long(slash + 1, &b) || a > SHARD_MAX || b > SHARD_MAX) {
			snprintf(err, n, "--shard: expected I/N with 0 <= I < N <= %d, got '%s'",
				 SHARD_MAX, opt);
			return -EINVAL;
		}
		s->source = SHARD_OPTION;
		s->index = (int)a;
		s->count = (int)b;
		return check(s, err, n);
	}
	if ((rc = env_long("SLURM_ARRAY_TASK_ID", &a, err, n)) < 0)
		return rc;
	if (rc == 0)
		return from_slurm(s, a, err, n);
	if ((rc = env_long("JOB_COMPLETION_INDEX", &a, err, n)) < 0)
		return rc;
	if (rc == 0) {
		if ((rc = env_long("AGENTPERF_SHARDS", &b, err, n))) {
			if (rc > 0)
				snprintf(err, n,
					 "JOB_COMPLETION_INDEX=%ld is set but AGENTPERF_SHARDS (the "
					 "Job's completions) is not; set it or give --shard I/N",
					 a);
			return -EINVAL;
		}
		snprintf(s->detail, sizeof(s->detail), "JOB_COMPLETION_INDEX=%ld AGENTPERF_SHARDS=%ld",
			 a, b);
		s->source = SHARD_KUBERNETES;
		s->index = a > SHARD_MAX ? SHARD_MAX : (int)a;
		s->count = b > SHARD_MAX ? SHARD_MAX + 1 : (int)b;
		return check(s, err, n);
	}
	return 0;
}

static void add_env(cJSON *o, const char *key, const char *var)
{
	const char *v = getenv(var);
	if (v && *v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* The first line of a small file, trimmed; 0 or -errno. */
static int first_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char *ok = fgets(buf, (int)n, f);
	fclose(f);
	if (!ok)
		return -ENODATA;
	buf[strcspn(buf, "\r\n \t")] = '\0';
	return buf[0] ? 0 : -ENODATA;
}

cJSON *shard_meta_json(const struct shard *s)
{
	cJSON *o = cJSON_CreateObject();
	char name[256] = "", id[128] = "";
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "index", s->index);
	cJSON_AddNumberToObject(o, "count", s->count);
	cJSON_AddStringToObject(o, "source", shard_source_name(s->source));
	cJSON_AddStringToObject(o, "detail", s->detail);
	gethostname(name, sizeof(name) - 1);
	cJSON_AddStringToObject(o, "hostname", name);
	/* Containers often share their image's machine-id: a Kubernetes Job sets
	 * AGENTPERF_HOST_ID to the node's name (docs/k8s), which is what the
	 * energy counters belong to. */
	static const char *const srcs[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };
	const char *src = NULL;
	const char *env = getenv("AGENTPERF_HOST_ID");
	if (env && *env) {
		ap_scopy(id, sizeof(id), env);
		src = "AGENTPERF_HOST_ID";
	}
	for (size_t i = 0; !src && i < AP_ARRAY_SIZE(srcs); i++)
		if (!first_line(srcs[i], id, sizeof(id)))
			src = srcs[i];
	if (src) {
		cJSON_AddStringToObject(o, "host_id", id);
		cJSON_AddStringToObject(o, "host_id_source", src);
	} else {
		cJSON_AddNullToObject(o, "host_id");
		cJSON_AddStringToObject(o, "host_id_reason",
					"no AGENTPERF_HOST_ID, /etc/machine-id or "
					"/var/lib/dbus/machine-id; merge uses the hostname");
	}
	add_env(o, "job_id", s->source == SHARD_SLURM ? "SLURM_ARRAY_JOB_ID" : "AGENTPERF_JOB_ID");
	add_env(o, "slurm_job_id", "SLURM_JOB_ID");
	cJSON_AddNumberToObject(o, "started_unix_s", (double)ap_wall_ns() * 1e-9);
	return o;
}

static void put_num(cJSON *o, const char *k, double v)
{
	cJSON *x = isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, x);
	else
		cJSON_AddItemToObject(o, k, x);
}

void shard_meta_finish(cJSON *meta, long units, long units_total, double clock_zero_unix_s,
		       double samples_zero_unix_s)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(meta, "shard");
	if (!o)
		return;
	put_num(o, "units", (double)units);
	put_num(o, "units_total", (double)units_total);
	put_num(o, "finished_unix_s", (double)ap_wall_ns() * 1e-9);
	put_num(o, "clock_zero_unix_s", clock_zero_unix_s);
	put_num(o, "samples_zero_unix_s", samples_zero_unix_s);
}
