/*
 * Reads what a report needs to name a GGUF model: size, sha256, a few header
 * fields and the parameter count (the sum of every tensor's element count),
 * and decides whether it is a smoke-test model. Only the header is parsed;
 * every count and length is bounded so a corrupt file cannot make us
 * allocate or loop without end.
 */
#include "managed.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Models known to be unable to follow instructions (../shared/models/README.md). */
static const struct {
	const char *sha256, *what;
} known_smoke[] = {
	{ "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
	  "stories260K: 260K parameters, trained on children's stories" },
	{ "81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb",
	  "llama-2-tiny-random: random weights" },
};

/*
 * Below this many parameters no model we know of follows tool-calling
 * instructions; the smallest instruct models people use for agents
 * (SmolLM2-135M, Qwen2.5-0.5B) are well above it.
 */
#define SMOKE_MAX_PARAMS 20e6

enum { GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STRING, GT_ARRAY,
       GT_U64, GT_I64, GT_F64, GT_COUNT };
static const int gt_size[GT_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static int rd(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n ? 0 : -EPROTO;
}

static int rd_u32(FILE *f, uint32_t *v)
{
	return rd(f, v, 4);
}

static int rd_u64(FILE *f, uint64_t *v)
{
	return rd(f, v, 8);
}

/* A GGUF string: into buf (truncated) when buf is given, else skipped. */
static int rd_str(FILE *f, char *buf, size_t n)
{
	uint64_t len;
	if (rd_u64(f, &len) || len > (1u << 30))
		return -EPROTO;
	if (!buf)
		return fseeko(f, (off_t)len, SEEK_CUR) ? -EPROTO : 0;
	size_t take = len < n - 1 ? (size_t)len : n - 1;
	if (rd(f, buf, take))
		return -EPROTO;
	buf[take] = '\0';
	return fseeko(f, (off_t)(len - take), SEEK_CUR) ? -EPROTO : 0;
}

static int skip_value(FILE *f, uint32_t type)
{
	if (type >= GT_COUNT)
		return -EPROTO;
	if (type == GT_STRING)
		return rd_str(f, NULL, 0);
	if (type == GT_ARRAY) {
		uint32_t et;
		uint64_t cnt;
		if (rd_u32(f, &et) || rd_u64(f, &cnt) || et >= GT_COUNT || et == GT_ARRAY ||
		    cnt > (1u << 28))
			return -EPROTO;
		if (et != GT_STRING)
			return fseeko(f, (off_t)(cnt * (uint64_t)gt_size[et]), SEEK_CUR) ? -EPROTO : 0;
		for (uint64_t i = 0; i < cnt; i++)
			if (rd_str(f, NULL, 0))
				return -EPROTO;
		return 0;
	}
	return fseeko(f, gt_size[type], SEEK_CUR) ? -EPROTO : 0;
}

/* Where a per-architecture hyperparameter key goes ("<arch>.block_count" ...), or NULL. */
static long *hparam_slot(struct gguf_info *g, const char *key)
{
	const char *dot = strchr(key, '.');
	if (!dot || !strncmp(key, "general.", 8))
		return NULL;
	dot++;
	if (!strcmp(dot, "block_count"))
		return &g->n_layer;
	if (!strcmp(dot, "embedding_length"))
		return &g->n_embd;
	if (!strcmp(dot, "attention.head_count"))
		return &g->n_head;
	if (!strcmp(dot, "attention.head_count_kv"))
		return &g->n_head_kv;
	if (!strcmp(dot, "attention.key_length"))
		return &g->key_len;
	if (!strcmp(dot, "attention.value_length"))
		return &g->val_len;
	return NULL;
}

static int parse_header(FILE *f, struct gguf_info *g)
{
	char magic[4], key[128];
	uint32_t version, type;
	uint64_t n_tensors, n_kv;
	if (rd(f, magic, 4) || memcmp(magic, "GGUF", 4) || rd_u32(f, &version) || version < 2 ||
	    version > 3 || rd_u64(f, &n_tensors) || rd_u64(f, &n_kv) || n_tensors > 1000000 ||
	    n_kv > 1000000)
		return -EPROTO;
	for (uint64_t i = 0; i < n_kv; i++) {
		if (rd_str(f, key, sizeof(key)) || rd_u32(f, &type))
			return -EPROTO;
		if (type == GT_STRING && !strcmp(key, "general.name")) {
			if (rd_str(f, g->general_name, sizeof(g->general_name)))
				return -EPROTO;
		} else if (type == GT_STRING && !strcmp(key, "general.architecture")) {
			if (rd_str(f, g->arch, sizeof(g->arch)))
				return -EPROTO;
		} else if (hparam_slot(g, key) && (type == 4 || type == 5 || type == 10 || type == 11)) {
			/* the numbers the KV-cache size needs (measure/srvview.c) */
			uint64_t v64 = 0;
			uint32_t v32 = 0;
			if (type == 4 || type == 5 ? rd_u32(f, &v32) : rd_u64(f, &v64))
				return -EPROTO;
			long v = type == 4 || type == 5 ? (long)v32 : (long)v64;
			*hparam_slot(g, key) = v > 0 && v < (1L << 40) ? v : 0;
		} else if (skip_value(f, type)) {
			return -EPROTO;
		}
	}
	double params = 0;
	for (uint64_t i = 0; i < n_tensors; i++) {
		uint32_t nd;
		uint64_t dim, off;
		double el = 1;
		if (rd_str(f, NULL, 0) || rd_u32(f, &nd) || nd > 8)
			return -EPROTO;
		for (uint32_t d = 0; d < nd; d++) {
			if (rd_u64(f, &dim))
				return -EPROTO;
			el *= (double)dim;
		}
		if (rd_u32(f, &type) || rd_u64(f, &off))
			return -EPROTO;
		params += el;
	}
	g->params = params;
	return 0;
}

int gguf_inspect(const char *path, struct gguf_info *g, struct ap_error *err)
{
	struct stat sb;
	int rc;
	memset(g, 0, sizeof(*g));
	g->params = NAN;
	const char *base = strrchr(path, '/');
	ap_scopy(g->name, sizeof(g->name), base ? base + 1 : path);
	if (stat(path, &sb)) {
		rc = -errno;
		ap_error_set(err, path, 0, "model", "cannot read the model file: %s", strerror(errno));
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		ap_error_set(err, path, 0, "model", "not a regular file");
		return -EINVAL;
	}
	g->size = (long long)sb.st_size;
	if ((rc = ap_sha256_file(path, g->sha256))) {
		ap_error_set(err, path, 0, "model", "cannot read the model file: %s", strerror(-rc));
		return rc;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		ap_error_set(err, path, 0, "model", "cannot open the model file: %s", strerror(errno));
		return rc;
	}
	rc = parse_header(f, g);
	fclose(f);
	if (rc) {
		ap_error_set(err, path, 0, "model", "not a GGUF v2/v3 file (or a corrupt header)");
		return rc;
	}
	for (size_t i = 0; i < AP_ARRAY_SIZE(known_smoke); i++)
		if (!strcmp(g->sha256, known_smoke[i].sha256)) {
			g->smoke = true;
			snprintf(g->smoke_why, sizeof(g->smoke_why), "%s", known_smoke[i].what);
		}
	/* tools/mkmodel.c names its random-weight models so; at WIDTH 768 they
	 * are above the parameter floor, so the name is what tells. */
	if (!g->smoke && !strncmp(g->general_name, "agentperf-", 10) &&
	    strstr(g->general_name, "random")) {
		g->smoke = true;
		snprintf(g->smoke_why, sizeof(g->smoke_why),
			 "%.64s: random weights made by agentperf's tools/mkmodel.c", g->general_name);
	}
	if (!g->smoke && g->params < SMOKE_MAX_PARAMS) {
		g->smoke = true;
		snprintf(g->smoke_why, sizeof(g->smoke_why), "%.0f parameters, under the %.0fM below "
			 "which no model follows instructions", g->params, SMOKE_MAX_PARAMS / 1e6);
	}
	return 0;
}
