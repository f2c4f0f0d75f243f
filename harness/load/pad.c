/* Context padding (pad.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pad.h"
#include "schedule.h"

struct pad_corpus {
	cJSON *root;
	cJSON **tools, **docs; /* borrowed from root */
	int n_tools, n_docs;
	char sha256[65];
};

int pad_corpus_load(struct pad_corpus **out, const char *path, struct ap_error *err)
{
	char *text = NULL;
	size_t len = 0;
	struct pad_corpus *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;
	if (!c)
		goto fail;
	rc = ap_read_file(path, &text, &len);
	if (rc < 0) {
		ap_error_set(err, path, 0, NULL, "cannot read the padding corpus: %s", strerror(-rc));
		goto fail;
	}
	rc = -EINVAL;
	c->root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(c->root)) {
		ap_error_set(err, path, 0, NULL, "not a JSON object");
		goto fail;
	}
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(c->root, "tools");
	const cJSON *docs = cJSON_GetObjectItemCaseSensitive(c->root, "docs");
	if (!cJSON_IsArray(tools) || !cJSON_IsArray(docs) || !cJSON_GetArraySize(docs)) {
		ap_error_set(err, path, 0, "tools/docs", "expected arrays (docs non-empty)");
		goto fail;
	}
	c->n_tools = cJSON_GetArraySize(tools);
	c->n_docs = cJSON_GetArraySize(docs);
	c->tools = calloc((size_t)c->n_tools + 1, sizeof(*c->tools));
	c->docs = calloc((size_t)c->n_docs, sizeof(*c->docs));
	if (!c->tools || !c->docs) {
		rc = -ENOMEM;
		goto fail;
	}
	int i = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "function");
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fn, "name"))) {
			ap_error_set(err, path, 0, "tools[].function.name", "missing (tool %d)", i);
			goto fail;
		}
		c->tools[i++] = it;
	}
	i = 0;
	cJSON_ArrayForEach(it, docs) {
		if (!cJSON_IsString(it)) {
			ap_error_set(err, path, 0, "docs[]", "expected a string (doc %d)", i);
			goto fail;
		}
		c->docs[i++] = it;
	}
	rc = ap_sha256_file(path, c->sha256);
	if (rc < 0) {
		ap_error_set(err, path, 0, NULL, "cannot hash: %s", strerror(-rc));
		goto fail;
	}
	free(text);
	*out = c;
	return 0;
fail:
	free(text);
	pad_corpus_free(c);
	return rc;
}

void pad_corpus_free(struct pad_corpus *c)
{
	if (!c)
		return;
	cJSON_Delete(c->root);
	free(c->tools);
	free(c->docs);
	free(c);
}

const char *pad_corpus_sha256(const struct pad_corpus *c)
{
	return c->sha256;
}

static long json_bytes(const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	long n = s ? (long)strlen(s) : 0;
	free(s);
	return n;
}

long pad_task_tokens(const struct task *t)
{
	long bytes = t->system_prompt ? (long)strlen(t->system_prompt) : 0;
	return (bytes + json_bytes(t->tools)) / 4;
}

/* Fisher-Yates with the schedule's generator: the order a seed names. */
static int *permutation(int n, uint64_t seed)
{
	int *p = malloc((size_t)(n ? n : 1) * sizeof(*p));
	if (!p)
		return NULL;
	for (int i = 0; i < n; i++)
		p[i] = i;
	uint64_t st = seed ^ 0x70616464696e6721ULL; /* "padding!": apart from arrivals */
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(schedule_uniform(&st) * (double)(i + 1));
		if (j > i)
			j = i;
		int tmp = p[i];
		p[i] = p[j];
		p[j] = tmp;
	}
	return p;
}

static bool has_tool(const cJSON *tools, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, tools) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(it, "function"), "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return true;
	}
	return false;
}

long pad_task(struct task *t, const struct pad_corpus *c, long target, uint64_t seed,
	      int *added_tools, int *added_docs)
{
	int nt = 0, nd = 0;
	long have_sys = t->system_prompt ? (long)strlen(t->system_prompt) : 0;
	long have_tools = json_bytes(t->tools);
	long rc = -ENOMEM;
	struct sbuf sys = { 0 };
	int *tp = permutation(c->n_tools, seed), *dp = permutation(c->n_docs, seed + 1);
	if (!tp || !dp)
		goto out;
	if ((have_sys + have_tools) / 4 >= target) {
		rc = (have_sys + have_tools) / 4;
		goto out;
	}
	if (t->system_prompt && sbuf_adds(&sys, t->system_prompt) < 0)
		goto out;
	int ti = 0;
	long k = 0; /* handbook sections added so far */
	while ((have_sys + have_tools) / 4 < target) {
		/* one distractor tool (while the corpus has unused ones) */
		while (ti < c->n_tools) {
			const cJSON *tool = c->tools[tp[ti++]];
			const char *name = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(tool, "function"), "name")->valuestring;
			if (t->tools && has_tool(t->tools, name))
				continue;
			if (!t->tools && !(t->tools = cJSON_CreateArray()))
				goto out;
			cJSON *dup = cJSON_Duplicate(tool, 1);
			if (!dup || !cJSON_AddItemToArray(t->tools, dup)) {
				cJSON_Delete(dup);
				goto out;
			}
			/* +1: the comma between array items */
			have_tools += json_bytes(tool) + (have_tools > 2 ? 1 : 2);
			nt++;
			break;
		}
		if ((have_sys + have_tools) / 4 >= target)
			break;
		/* one handbook section */
		long round = k / c->n_docs;
		const char *doc = c->docs[dp[k % c->n_docs]]->valuestring;
		size_t before = sys.len;
		if (sbuf_adds(&sys, sys.len ? "\n\n" : "") < 0 || sbuf_adds(&sys, doc) < 0 ||
		    (round && sbuf_addf(&sys, " (reprint %ld)", round) < 0))
			goto out;
		have_sys += (long)(sys.len - before);
		k++;
		nd++;
	}
	if (nd) {
		free(t->system_prompt);
		t->system_prompt = sys.s;
		sys.s = NULL;
	}
	rc = pad_task_tokens(t);
out:
	sbuf_free(&sys);
	free(tp);
	free(dp);
	if (added_tools)
		*added_tools = nt;
	if (added_docs)
		*added_docs = nd;
	return rc;
}

int pad_parse_size(const char *s, long *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s)
		return -EINVAL;
	if (*e == 'k' || *e == 'K') {
		v *= 1000;
		e++;
	}
	if (*e || !(v >= 1) || v > 10e6)
		return -EINVAL;
	*out = (long)v;
	return 0;
}

int pad_default_corpus(char *buf, size_t n)
{
	return ap_data_find("workloads/padding/corpus.json", buf, n);
}

static int pad_hook_apply(struct task *t, void *ctx)
{
	const struct workload *wl = ctx;
	return pad_task(t, wl->pad, wl->pad_target, wl->pad_seed, NULL, NULL) < 0 ? -ENOMEM : 0;
}

static void pad_hook_free(void *ctx)
{
	struct workload *wl = ctx;
	pad_corpus_free(wl->pad);
	wl->pad = NULL;
}

int pad_set_context(struct workload *wl, const char *corpus_path, long target, uint64_t seed,
		    struct ap_error *err)
{
	struct pad_corpus *c = NULL;
	int rc = pad_corpus_load(&c, corpus_path, err);
	if (rc)
		return rc;
	if (wl->hook.free)
		wl->hook.free(wl->hook.ctx);
	wl->pad = c;
	wl->pad_target = target;
	wl->pad_seed = seed;
	wl->hook = (struct task_hook){ pad_hook_apply, pad_hook_free, wl };
	return 0;
}
