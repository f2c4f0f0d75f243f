/*
 * Kinds of call by embedding (`--cluster embed:K`, capture.h): the last user
 * message of each captured request is embedded by the backend's
 * /v1/embeddings (one request per call, on one kept-alive connection), and
 * the vectors are grouped by seeded k-means (k-means++
 * start, Lloyd's iterations, cosine geometry: vectors are normalized first).
 * A backend that does not serve embeddings is an error that says so.
 */
#include "capture.h"
#include "workload_priv.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static struct capture_cluster cluster;
static bool cluster_set;

int capture_set_cluster(const char *spec, const char *url, const char *model,
			const char *key_env, long seed, char *err, size_t n)
{
	long k = 0;
	char *end;
	if (strncmp(spec, "embed:", 6) || (k = strtol(spec + 6, &end, 10)) < 1 || k > 1000 ||
	    (*end && *end != ',')) {
		snprintf(err, n, "--cluster %s: expected embed:K (K from 1 to 1000)[,url=URL][,model=M]",
			 spec);
		return -EINVAL;
	}
	memset(&cluster, 0, sizeof(cluster));
	cluster.k = (int)k;
	cluster.seed = (uint64_t)seed;
	for (const char *p = end; *p == ',';) {
		const char *kv = p + 1, *next = strchr(kv, ',');
		size_t len = next ? (size_t)(next - kv) : strlen(kv);
		if (!strncmp(kv, "url=", 4))
			snprintf(cluster.url, sizeof(cluster.url), "%.*s", (int)len - 4, kv + 4);
		else if (!strncmp(kv, "model=", 6))
			snprintf(cluster.model, sizeof(cluster.model), "%.*s", (int)len - 6, kv + 6);
		else {
			snprintf(err, n, "--cluster: unknown key in '%.*s' (url=, model=)", (int)len, kv);
			return -EINVAL;
		}
		p = next ? next : kv + len;
	}
	if (!cluster.url[0] && url)
		snprintf(cluster.url, sizeof(cluster.url), "%s", url);
	if (!cluster.model[0] && model)
		snprintf(cluster.model, sizeof(cluster.model), "%s", model);
	if (key_env)
		snprintf(cluster.key_env, sizeof(cluster.key_env), "%s", key_env);
	if (!cluster.url[0]) {
		snprintf(err, n,
			 "--cluster %s: the backend has no URL yet (a managed llama-server starts later): "
			 "give one serving /v1/embeddings with embed:K,url=http://HOST:PORT/v1",
			 spec);
		return -EINVAL;
	}
	cluster_set = true;
	return 0;
}

const struct capture_cluster *capture_cluster(void)
{
	return cluster_set ? &cluster : NULL;
}

void capture_clear_cluster(void)
{
	cluster_set = false;
}

/* ---- k-means ---- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static double dist2(const float *a, const float *b, size_t d)
{
	double s = 0;
	for (size_t i = 0; i < d; i++) {
		double t = (double)a[i] - (double)b[i];
		s += t * t;
	}
	return s;
}

int capture_kmeans(const float *x, size_t n, size_t d, int k, uint64_t seed, int *assign)
{
	if (k < 1 || !n)
		return -EINVAL;
	if ((size_t)k > n)
		k = (int)n;
	float *c = calloc((size_t)k * d, sizeof(*c));
	double *dm = calloc(n, sizeof(*dm));
	double *sum = calloc((size_t)k * d, sizeof(*sum));
	long *cnt = calloc((size_t)k, sizeof(*cnt));
	int rc = 0;
	if (!c || !dm || !sum || !cnt) {
		rc = -ENOMEM;
		goto out;
	}
	uint64_t s = seed * 2654435761u + 1;
	/* k-means++: the first centre at random, each next one with probability ~ distance^2. */
	size_t first = (size_t)(xorshift(&s) % n);
	memcpy(c, x + first * d, d * sizeof(*c));
	for (int j = 1; j < k; j++) {
		double tot = 0;
		for (size_t i = 0; i < n; i++) {
			double best = INFINITY;
			for (int m = 0; m < j; m++) {
				double t = dist2(x + i * d, c + (size_t)m * d, d);
				if (t < best)
					best = t;
			}
			dm[i] = best;
			tot += best;
		}
		size_t pick = 0;
		if (tot > 0) {
			double r = (double)(xorshift(&s) >> 11) / 9007199254740992.0 * tot;
			for (pick = 0; pick + 1 < n && (r -= dm[pick]) > 0; pick++)
				;
		} else {
			pick = (size_t)(xorshift(&s) % n); /* all points coincide */
		}
		memcpy(c + (size_t)j * d, x + pick * d, d * sizeof(*c));
	}
	for (int it = 0; it < 100; it++) {
		bool moved = false;
		for (size_t i = 0; i < n; i++) {
			int best = 0;
			double bd = INFINITY;
			for (int m = 0; m < k; m++) {
				double t = dist2(x + i * d, c + (size_t)m * d, d);
				if (t < bd) {
					bd = t;
					best = m;
				}
			}
			if (it == 0 || assign[i] != best)
				moved = true;
			assign[i] = best;
		}
		if (!moved)
			break;
		memset(sum, 0, (size_t)k * d * sizeof(*sum));
		memset(cnt, 0, (size_t)k * sizeof(*cnt));
		for (size_t i = 0; i < n; i++) {
			cnt[assign[i]]++;
			for (size_t t = 0; t < d; t++)
				sum[(size_t)assign[i] * d + t] += x[i * d + t];
		}
		for (int m = 0; m < k; m++)
			if (cnt[m]) /* an empty cluster keeps its centre */
				for (size_t t = 0; t < d; t++)
					c[(size_t)m * d + t] = (float)(sum[(size_t)m * d + t] / (double)cnt[m]);
	}
out:
	free(c);
	free(dm);
	free(sum);
	free(cnt);
	return rc;
}

/* ---- embeddings ---- */

/* One POST {"model", "input": text} to URL/embeddings on handle c; the vector into *v (*d). */
static int embed_one(CURL *c, const struct capture_cluster *cl, const char *text, float **v,
		     size_t *d, char *err, size_t errlen)
{
	int rc = 0;
	struct sbuf body = { 0 };
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	char *s = NULL;
	if (!req || !cJSON_AddStringToObject(req, "model", cl->model[0] ? cl->model : "default") ||
	    !cJSON_AddStringToObject(req, "input", text) || !(s = cJSON_PrintUnformatted(req))) {
		rc = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, s);
	struct sbuf_capped cap = { &body, 256u << 20, false };
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &cap);
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK || code != 200) {
		char what[64];
		if (cc != CURLE_OK)
			snprintf(what, sizeof(what), "%s", curl_easy_strerror(cc));
		else
			snprintf(what, sizeof(what), "answered HTTP %ld", code);
		snprintf(err, errlen,
			 "--cluster embed: %.200s/embeddings %s (the backend must serve /v1/embeddings; "
			 "llama-server does with --embeddings)",
			 cl->url, what);
		rc = -EPROTO;
		goto out;
	}
	resp = cJSON_ParseWithLength(body.s ? body.s : "", body.len);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp, "data"), 0);
	const cJSON *vec = cJSON_GetObjectItemCaseSensitive(e, "embedding");
	size_t dim = (size_t)cJSON_GetArraySize(vec);
	if (!dim || dim > 65536 || (*d && dim != *d)) {
		snprintf(err, errlen, "--cluster embed: %.200s/embeddings gave %s (%zu numbers, expected %s)",
			 cl->url, dim ? "a vector of another size" : "no data[0].embedding", dim,
			 *d ? "the same as before" : "some");
		rc = -EPROTO;
		goto out;
	}
	*d = dim;
	if (!(*v = calloc(dim, sizeof(**v)))) {
		rc = -ENOMEM;
		goto out;
	}
	double norm = 0;
	size_t t = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, vec)
	{
		double val = cJSON_IsNumber(f) ? f->valuedouble : 0;
		(*v)[t++] = (float)val;
		norm += val * val;
	}
	/* Normalized: Euclidean k-means on unit vectors follows cosine similarity. */
	if (norm > 0)
		for (t = 0; t < dim; t++)
			(*v)[t] = (float)((*v)[t] / sqrt(norm));
out:
	free(s);
	sbuf_free(&body);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return rc;
}

/* Every text's vector into x (n x *d, malloc'd), one request each on one connection. */
static int embed(const struct capture_cluster *cl, const char *const *texts, size_t n, float **x,
		 size_t *d, char *err, size_t errlen)
{
	int rc = 0;
	struct sbuf url = { 0 }, auth = { 0 };
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	*x = NULL;
	*d = 0;
	if (!c || sbuf_addf(&url, "%s/embeddings", cl->url)) {
		rc = -ENOMEM;
		goto out;
	}
	const char *key = cl->key_env[0] ? getenv(cl->key_env) : NULL;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (key && *key && !sbuf_addf(&auth, "Authorization: Bearer %s", key))
		h = curl_slist_append(h, auth.s);
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sbuf_capped_write);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	for (size_t i = 0; i < n && !rc; i++) {
		float *v = NULL;
		if ((rc = embed_one(c, cl, texts[i], &v, d, err, errlen)))
			break;
		if (!*x && !(*x = calloc(n * *d, sizeof(**x)))) {
			free(v);
			rc = -ENOMEM;
			break;
		}
		memcpy(*x + i * *d, v, *d * sizeof(*v));
		free(v);
	}
out:
	if (rc) {
		free(*x);
		*x = NULL;
	}
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (auth.s)
		memset(auth.s, 0, auth.len);
	sbuf_free(&auth);
	sbuf_free(&url);
	return rc;
}

int capture_cluster_apply(struct capture_index *ix, const struct capture_cluster *cl,
			  struct ap_error *err)
{
	const char **texts = calloc(ix->n_calls ? ix->n_calls : 1, sizeof(*texts));
	int *assign = calloc(ix->n_calls ? ix->n_calls : 1, sizeof(*assign));
	float *x = NULL;
	size_t d = 0;
	char msg[512] = "";
	int rc = 0;
	if (!texts || !assign) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ix->n_calls; i++)
		texts[i] = ix->calls[i].last_user ? ix->calls[i].last_user : "";
	if ((rc = embed(cl, texts, ix->n_calls, &x, &d, msg, sizeof(msg))) ||
	    (rc = capture_kmeans(x, ix->n_calls, d, cl->k, cl->seed, assign))) {
		if (msg[0])
			ap_error_set(err, NULL, 0, NULL, "%s", msg);
		goto out;
	}
	rc = capture_index_regroup(ix, assign, "embed", NULL);
out:
	free(texts);
	free(assign);
	free(x);
	return rc;
}
