/* The replaceable share of a captured agent (capshare.h). */
#include "capshare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "profile.h"

/* Estimated, not measured, in the paper that proposed the loop (Belcak et al.,
 * "Small Language Models are the Future of Agentic AI", 2025, section 6). */
const struct share_estimate capshare_paper[] = {
	{ "MetaGPT", 0.60 },
	{ "Open Operator", 0.40 },
	{ "Cradle", 0.70 },
	{ NULL, 0 },
};

static double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b > 0 ? a / b : NAN;
}

/* NAN-propagating sum: one uncounted part makes the total uncounted. */
static void add(double *acc, double v)
{
	*acc += v;
}

int capshare_compute(const struct capture_index *ix, const struct casc_task *t, size_t nt,
		     const struct cost_ctx *cap, double agree, struct share_result *out)
{
	memset(out, 0, sizeof(*out));
	out->agree = agree;
	out->n_failed = ix->n_failed;
	if (!(out->kinds = calloc(ix->n_kinds ? ix->n_kinds : 1, sizeof(*out->kinds))))
		return -ENOMEM;
	out->n_kinds = ix->n_kinds;
	for (size_t i = 0; i < ix->n_kinds; i++) {
		struct share_kind *s = &out->kinds[i];
		s->k = &ix->kinds[i];
		s->cap_j = s->cap_usd = cap ? 0 : NAN;
	}
	for (size_t i = 0; i < ix->n_calls; i++) {
		const struct capture_call *c = &ix->calls[i];
		struct share_kind *s = &out->kinds[c->kind];
		s->calls++;
		s->tokens += c->prompt_tokens + c->completion_tokens;
		if (cap) {
			/* Without reported usage the call cannot be priced: the kind is not counted. */
			struct cost_slice sl = { .calls = 1, .prompt_tokens = c->prompt_tokens,
						 .completion_tokens = c->completion_tokens,
						 .cached_tokens = c->cached_tokens, .device_j = NAN,
						 .busy_s = NAN };
			struct cost_out o;
			cost_compute(cap, &sl, &o);
			double j = isfinite(o.provider_facility_j) ? o.provider_facility_j : NAN;
			add(&s->cap_j, c->usage ? j : NAN);
			add(&s->cap_usd, c->usage ? o.usd : NAN);
		}
	}
	for (size_t i = 0; i < nt; i++) {
		size_t line = 0;
		const struct capture_call *c =
			sscanf(t[i].id, "line-%zu", &line) == 1 ? capture_index_find(ix, line) : NULL;
		if (!c) {
			out->unmatched++;
			continue;
		}
		struct share_kind *s = &out->kinds[c->kind];
		int a = t[i].attempts >= 1 && t[i].attempts <= MAX_K ? t[i].attempts : 1;
		if (!s->replayed)
			s->rep_j = s->rep_usd = 0;
		s->replayed++;
		s->agreed += t[i].success;
		add(&s->rep_j, t[i].device_j);
		add(&s->rep_usd, t[i].cum_usd[a]);
	}
	double ts_calls = 0, ts_tokens = 0, ts_j = 0, ts_usd = 0;
	out->cap_j = out->cap_usd = cap ? 0 : NAN;
	for (size_t i = 0; i < out->n_kinds; i++) {
		struct share_kind *s = &out->kinds[i];
		out->calls += s->calls;
		out->tokens += s->tokens;
		out->replayed += s->replayed;
		out->agreed += s->agreed;
		add(&out->cap_j, s->cap_j);
		add(&out->cap_usd, s->cap_usd);
		if (s->replayed) {
			add(&out->rep_j, s->rep_j);
			add(&out->rep_usd, s->rep_usd);
		}
		s->agreement = s->replayed ? (double)s->agreed / (double)s->replayed : NAN;
		s->replaceable = s->replayed && s->agreement >= agree;
		if (s->replaceable) {
			ts_calls += (double)s->calls;
			ts_tokens += (double)s->tokens;
			add(&ts_j, s->cap_j);
			add(&ts_usd, s->cap_usd);
		}
	}
	if (!out->replayed)
		out->rep_j = out->rep_usd = NAN;
	for (size_t i = 0; i < out->n_kinds; i++) {
		struct share_kind *s = &out->kinds[i];
		s->call_share = ratio((double)s->calls, (double)out->calls);
		s->token_share = ratio((double)s->tokens, (double)out->tokens);
	}
	out->share_calls = ratio(ts_calls, (double)out->calls);
	out->share_tokens = ratio(ts_tokens, (double)out->tokens);
	out->share_j = ratio(ts_j, out->cap_j);
	out->share_usd = ratio(ts_usd, out->cap_usd);
	/* Nothing replaceable is a share of 0 of a counted total, not "not counted". */
	if (ts_j == 0 && isfinite(out->cap_j) && out->cap_j > 0)
		out->share_j = 0;
	return 0;
}

void capshare_free(struct share_result *r)
{
	free(r->kinds);
	memset(r, 0, sizeof(*r));
}

static void fmt(char *b, size_t n, double v, int digits)
{
	if (isfinite(v))
		snprintf(b, n, "%.*g", digits, v);
	else
		snprintf(b, n, "-");
}

static void fmt_pct(char *b, size_t n, double v)
{
	if (isfinite(v))
		snprintf(b, n, "%.1f %%", 100 * v);
	else
		snprintf(b, n, "-");
}

void capshare_print(FILE *f, const struct share_result *r, const char *cap_profile,
		    const char *rep_provenance)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
	fprintf(f, "\n   kinds of call (captured: %ld calls, %ld tokens; %zu failed captured calls "
		   "left out):\n\n",
		r->calls, r->tokens, r->n_failed);
	fprintf(f, "   %-34s %6s %7s %7s %9s %11s %11s %11s %11s %s\n", "kind", "calls", "calls%",
		"tokens%", "agreement", "cap J/call", "cap $/call", "rep J/call", "rep $/call", "");
	for (size_t i = 0; i < r->n_kinds; i++) {
		const struct share_kind *s = &r->kinds[i];
		fmt_pct(a, sizeof(a), s->call_share);
		fmt_pct(b, sizeof(b), s->token_share);
		if (s->replayed)
			snprintf(c, sizeof(c), "%ld/%ld", s->agreed, s->replayed);
		else
			snprintf(c, sizeof(c), "not run");
		fmt(d, sizeof(d), s->cap_j / (double)s->calls, 4);
		fmt(e, sizeof(e), s->cap_usd / (double)s->calls, 3);
		fmt(g, sizeof(g), s->replayed ? s->rep_j / (double)s->replayed : NAN, 4);
		fmt(h, sizeof(h), s->replayed ? s->rep_usd / (double)s->replayed : NAN, 3);
		fprintf(f, "   %-34.34s %6ld %7s %7s %9s %11s %11s %11s %11s %s\n", s->k->name, s->calls, a, b,
			c, d, e, g, h, s->replaceable ? "replaceable" : "");
	}
	fprintf(f, "\n   cap: the captured model, J and $ MODELED from its reported usage with %s\n",
		cap_profile ? cap_profile : "no profile (add --capture-profile NAME to count them)");
	fprintf(f, "   rep: the replay, device J as the run measured it (%s), $ with the run's "
		   "profile\n",
		rep_provenance && *rep_provenance ? rep_provenance : "no energy source");
	fprintf(f, "\n   replaceable share at agreement >= %.2f (kinds marked above):\n\n", r->agree);
	fmt_pct(a, sizeof(a), r->share_calls);
	fmt_pct(b, sizeof(b), r->share_tokens);
	fmt_pct(c, sizeof(c), r->share_j);
	fmt_pct(d, sizeof(d), r->share_usd);
	fprintf(f, "   %12s  of calls\n   %12s  of tokens\n   %12s  of joules (captured side, modeled)\n"
		   "   %12s  of dollars (captured side)\n",
		a, b, c, d);
	fprintf(f, "\n   the paper's estimates, not measured:");
	for (size_t i = 0; capshare_paper[i].agent; i++)
		fprintf(f, "%s %s ~%.0f %%", i ? "," : "", capshare_paper[i].agent,
			100 * capshare_paper[i].share);
	fprintf(f, "\n   (the share counts kinds whose replies agreed with the captured ones, one\n"
		   "   replay each; it says nothing about replies the agent would accept that differ,\n"
		   "   nor about what the agent does next with a different reply)\n");
	if (r->unmatched)
		fprintf(f, "   %ld replayed tasks matched no captured call (another capture file?)\n",
			r->unmatched);
}

void capshare_csv(FILE *f, const struct share_result *r)
{
	fputs("v,kind,sys_hash,tools,reply_kind,calls,call_share,tokens,token_share,replayed,agreed,"
	      "agreement,cap_j_per_call,cap_usd_per_call,rep_j_per_call,rep_usd_per_call,agree,"
	      "replaceable\n",
	      f);
	struct sbuf b = { 0 };
	for (size_t i = 0; i < r->n_kinds; i++) {
		const struct share_kind *s = &r->kinds[i];
		double v[] = { s->call_share, s->token_share, s->agreement, s->cap_j / (double)s->calls,
			       s->cap_usd / (double)s->calls,
			       s->replayed ? s->rep_j / (double)s->replayed : NAN,
			       s->replayed ? s->rep_usd / (double)s->replayed : NAN };
		sbuf_reset(&b);
		sbuf_adds(&b, "1,");
		csv_field(&b, s->k->name);
		sbuf_addf(&b, ",%s,", s->k->mixed ? "mixed" : s->k->sys_hash);
		csv_field(&b, s->k->tools);
		sbuf_addf(&b, ",%s,%ld,", reply_kind_name(s->k->rk), s->calls);
		if (isfinite(v[0]))
			sbuf_addf(&b, "%.6g", v[0]);
		sbuf_addf(&b, ",%ld,", s->tokens);
		if (isfinite(v[1]))
			sbuf_addf(&b, "%.6g", v[1]);
		sbuf_addf(&b, ",%ld,%ld,", s->replayed, s->agreed);
		for (int k = 2; k < 7; k++) {
			if (isfinite(v[k]))
				sbuf_addf(&b, "%.6g", v[k]);
			sbuf_add(&b, ",", 1);
		}
		sbuf_addf(&b, "%.6g,%d\n", r->agree, s->replaceable);
		fputs(b.s, f);
	}
	sbuf_free(&b);
}

/*
 * The replay's kinds are its tasks' categories: where they are not the
 * capture's signature kinds (the replay grouped by --cluster embed:K), the
 * index is regrouped by them, calls without a replayed task as "not replayed".
 */
static int regroup_by_tasks(struct capture_index *ix, const struct casc_task *t, size_t nt)
{
	bool differ = false;
	size_t line;
	for (size_t i = 0; i < nt && !differ; i++) {
		const struct capture_call *c =
			sscanf(t[i].id, "line-%zu", &line) == 1 ? capture_index_find(ix, line) : NULL;
		differ = c && strcmp(ix->kinds[c->kind].name, t[i].category);
	}
	if (!differ)
		return 0;
	const char **names = calloc(nt + 1, sizeof(*names));
	int *assign = calloc(ix->n_calls ? ix->n_calls : 1, sizeof(*assign));
	int rc = -ENOMEM, n = 0;
	if (!names || !assign)
		goto out;
	for (size_t i = 0; i < ix->n_calls; i++)
		assign[i] = -1;
	for (size_t i = 0; i < nt; i++) {
		if (sscanf(t[i].id, "line-%zu", &line) != 1 || !capture_index_find(ix, line))
			continue;
		int g = 0;
		while (g < n && strcmp(names[g], t[i].category))
			g++;
		if (g == n)
			names[n++] = t[i].category;
		assign[capture_index_find(ix, line) - ix->calls] = g;
	}
	bool rest = false;
	for (size_t i = 0; i < ix->n_calls; i++)
		if (assign[i] < 0) {
			assign[i] = n;
			rest = true;
		}
	if (rest)
		names[n++] = "not replayed";
	rc = capture_index_regroup(ix, assign, NULL, names);
out:
	free(names);
	free(assign);
	return rc;
}

/* The capture a run replayed (meta.json workload.path) and the captured side's cost context. */
static int load_side(const char *dir, const cJSON *meta, const char *cap_profile,
		     struct capture_index *ix, struct profile *prof, struct cost_ctx *cc)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	const char *path = jv_str_or(w, "path", NULL);
	struct ap_error err = { { 0 } };
	char e[512] = "";
	memset(cc, 0, sizeof(*cc));
	if (!path) {
		ap_err("%s/meta.json: workload.path missing", dir);
		return -EINVAL;
	}
	if (capture_index_load(path, ix, &err)) {
		ap_err("the capture %s replayed: %s", dir, err.msg);
		return -EINVAL;
	}
	if (!cap_profile)
		return 0;
	if (profile_load(prof, cap_profile, e, sizeof(e)) || prof->kind != PROFILE_REMOTE) {
		ap_err("--capture-profile %s: %s", cap_profile, e[0] ? e : "expected a remote model profile");
		capture_index_free(ix);
		return -EINVAL;
	}
	cc->remote = prof;
	cc->idle_w = NAN;
	return 0;
}

int capshare_report(FILE *f, const char *dir, const cJSON *meta, const struct cost_ctx *rep,
		    const struct run_agg *agg, const char *cap_profile, double agree,
		    const char *csv)
{
	struct capture_index ix;
	struct casc_task *t = NULL;
	size_t nt = 0;
	struct share_result r = { 0 };
	struct profile prof = { 0 };
	struct cost_ctx cc;
	char e[512] = "";
	int rc = 1;
	if (load_side(dir, meta, cap_profile, &ix, &prof, &cc))
		return 1;
	if (casc_load(dir, rep, agg, &t, &nt, e, sizeof(e))) {
		ap_err("%s", e);
		goto out;
	}
	if (regroup_by_tasks(&ix, t, nt) ||
	    capshare_compute(&ix, t, nt, cap_profile ? &cc : NULL, agree, &r)) {
		ap_err("out of memory");
		goto out;
	}
	capshare_print(f, &r, cap_profile ? prof.name : NULL, rep->device_provenance);
	rc = 0;
	if (csv) {
		FILE *o = fopen(csv, "w");
		if (!o) {
			ap_err("cannot write %s: %s", csv, strerror(errno));
			rc = 1;
		} else {
			capshare_csv(o, &r);
			if (fclose(o))
				rc = 1;
		}
	}
out:
	capshare_free(&r);
	free(t);
	capture_index_free(&ix);
	return rc;
}

int capshare_diff(FILE *f, const char *a_dir, const cJSON *a_meta, const struct casc_task *ta,
		  size_t na, const char *b_dir, const cJSON *b_meta, const struct casc_task *tb,
		  size_t nb, const char *cap_profile, double agree)
{
	struct capture_index ix;
	struct profile prof = { 0 };
	struct cost_ctx cc;
	struct share_result ra = { 0 }, rb = { 0 };
	int rc = 1;
	const char *pa = jv_str_or(cJSON_GetObjectItemCaseSensitive(a_meta, "workload"), "sha256", "a");
	const char *pb = jv_str_or(cJSON_GetObjectItemCaseSensitive(b_meta, "workload"), "sha256", "b");
	if (strcmp(pa, pb)) {
		fprintf(f, "\n   kinds of call: <not compared>: %s and %s replayed different captures\n",
			a_dir, b_dir);
		return 0;
	}
	if (load_side(a_dir, a_meta, cap_profile, &ix, &prof, &cc))
		return 1;
	/* Both sides on A's kinds (B's tasks map to them by line). */
	if (regroup_by_tasks(&ix, ta, na) ||
	    capshare_compute(&ix, ta, na, cap_profile ? &cc : NULL, agree, &ra) ||
	    capshare_compute(&ix, tb, nb, cap_profile ? &cc : NULL, agree, &rb)) {
		ap_err("out of memory");
		goto out;
	}
	char a1[32], b1[32], c1[32], d1[32], e1[32];
	fprintf(f, "\n   kinds of call, A and B replaying the same capture (%ld calls; kinds as A grouped them):\n\n",
		ra.calls);
	fprintf(f, "   %-34s %7s %11s %11s %11s %11s\n", "kind", "calls%", "agreement A",
		"agreement B", "rep J/call A", "rep J/call B");
	for (size_t i = 0; i < ra.n_kinds; i++) {
		const struct share_kind *x = &ra.kinds[i], *y = &rb.kinds[i];
		fmt_pct(a1, sizeof(a1), x->call_share);
		fmt_pct(b1, sizeof(b1), x->agreement);
		fmt_pct(c1, sizeof(c1), y->agreement);
		fmt(d1, sizeof(d1), x->replayed ? x->rep_j / (double)x->replayed : NAN, 4);
		fmt(e1, sizeof(e1), y->replayed ? y->rep_j / (double)y->replayed : NAN, 4);
		fprintf(f, "   %-34.34s %7s %11s %11s %11s %11s\n", x->k->name, a1, b1, c1, d1, e1);
	}
	fprintf(f, "\n   replaceable share at agreement >= %.2f:   %9s %9s\n", agree, "A", "B");
	const char *what[] = { "of calls", "of tokens", "of joules (captured, modeled)",
			       "of dollars (captured)" };
	double va[] = { ra.share_calls, ra.share_tokens, ra.share_j, ra.share_usd };
	double vb[] = { rb.share_calls, rb.share_tokens, rb.share_j, rb.share_usd };
	for (int i = 0; i < 4; i++) {
		fmt_pct(a1, sizeof(a1), va[i]);
		fmt_pct(b1, sizeof(b1), vb[i]);
		fprintf(f, "   %-40s %9s %9s\n", what[i], a1, b1);
	}
	rc = 0;
out:
	capshare_free(&ra);
	capshare_free(&rb);
	capture_index_free(&ix);
	return rc;
}
