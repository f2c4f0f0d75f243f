/*
 * The per-category table of a BFCL run, in the shape of BFCL's leaderboard
 * (bfcl_eval/eval_checker/eval_runner_helper.py): each category's accuracy,
 * then the non-live summaries (unweighted means; "simple" is the mean of
 * the Python, Java and JavaScript simple categories), the live summaries
 * (weighted by task count), and the overall mean of the two. Each row also
 * has its tokens per task and device joules per successful task. Output
 * layer: reads the run's task records, prints.
 */
#include "report_bfcl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

struct cat {
	const char *name;
	long tasks, successes, tokens, energy_missing;
	double energy_j;
	double acc; /* NAN: successes / tasks; else a summary's own (non-live simple) */
};

struct group {
	double acc;  /* NAN: none of its members ran */
	long tasks, successes, tokens, energy_missing;
	double energy_j;
	int present, members;
	char missing[160];
};

static struct cat *find(struct cat *v, long n, const char *name)
{
	for (long i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void group_add_counts(struct group *g, const struct cat *c)
{
	g->tasks += c->tasks;
	g->successes += c->successes;
	g->tokens += c->tokens;
	g->energy_j += c->energy_j;
	g->energy_missing += c->energy_missing;
}

static void note_missing(struct group *g, const char *name)
{
	size_t l = strlen(g->missing);
	snprintf(g->missing + l, sizeof(g->missing) - l, "%s%s", l ? ", " : "", name);
}

/*
 * A summary over parts: each part is a category (or, for "simple", the mean
 * of its alternatives: v4's simple_python or v3's simple, ...). weighted:
 * by tasks (BFCL's live scores), else the mean of the parts' accuracies.
 */
static struct group summarize(struct cat *v, long n, const char *const *const *parts, bool weighted)
{
	struct group g = { NAN, 0, 0, 0, 0, 0, 0, 0, "" };
	double sum = 0;
	for (size_t i = 0; parts[i]; i++) {
		g.members++;
		const struct cat *c = NULL;
		for (size_t k = 0; parts[i][k] && !c; k++)
			c = find(v, n, parts[i][k]);
		if (!c) {
			note_missing(&g, parts[i][0]);
			continue;
		}
		group_add_counts(&g, c);
		g.present++;
		sum += !isnan(c->acc) ? c->acc : c->tasks ? (double)c->successes / (double)c->tasks : 0;
	}
	if (g.present)
		g.acc = weighted ? (g.tasks ? (double)g.successes / (double)g.tasks : NAN)
				 : sum / g.present;
	return g;
}

static void row(FILE *f, const char *name, long tasks, double acc, long tokens, long successes,
		double energy_j, long energy_missing, bool have_energy, const char *note)
{
	char a[24], t[24], j[32];
	if (isnan(acc))
		snprintf(a, sizeof(a), "N/A");
	else
		snprintf(a, sizeof(a), "%.2f%%", acc * 100);
	if (tasks)
		snprintf(t, sizeof(t), "%.1f", (double)tokens / (double)tasks);
	else
		snprintf(t, sizeof(t), "-");
	if (!have_energy)
		snprintf(j, sizeof(j), "<not supported>");
	else if (energy_missing)
		snprintf(j, sizeof(j), "<not counted>");
	else if (!successes)
		snprintf(j, sizeof(j), "no success");
	else
		snprintf(j, sizeof(j), "%.4g", energy_j / (double)successes);
	fprintf(f, "   %-26.26s %7ld %9s %12s %15s%s%s\n", name, tasks, a, t, j, note && *note ? "  " : "",
		note ? note : "");
}

static void group_row(FILE *f, const char *name, const struct group *g, bool have_energy,
		      const char *how)
{
	char note[256];
	if (g->missing[0])
		snprintf(note, sizeof(note), "%s; not run: %s", how, g->missing);
	else
		snprintf(note, sizeof(note), "%s", how);
	row(f, name, g->tasks, g->acc, g->tokens, g->successes, g->energy_j, g->energy_missing,
	    have_energy, note);
}

/* The part lists of BFCL's leaderboard; each part lists its v4 and v3 names. */
static const char *const p_simple[] = { "simple_python", "simple", NULL };
static const char *const p_java[] = { "simple_java", "java", NULL };
static const char *const p_js[] = { "simple_javascript", "javascript", NULL };
static const char *const p_multiple[] = { "multiple", NULL };
static const char *const p_parallel[] = { "parallel", NULL };
static const char *const p_pm[] = { "parallel_multiple", NULL };
static const char *const p_irr[] = { "irrelevance", NULL };
static const char *const p_lsimple[] = { "live_simple", NULL };
static const char *const p_lmultiple[] = { "live_multiple", NULL };
static const char *const p_lparallel[] = { "live_parallel", NULL };
static const char *const p_lpm[] = { "live_parallel_multiple", NULL };
static const char *const p_lirr[] = { "live_irrelevance", NULL };
static const char *const p_lrel[] = { "live_relevance", NULL };

void report_bfcl_print(FILE *f, const cJSON *meta, const struct run_agg *a)
{
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	if (strcmp(jv_str_or(wl, "format", ""), "bfcl") || !a->ran[FORM_MONO])
		return;
	const cJSON *energy = cJSON_GetObjectItemCaseSensitive(meta, "energy");
	const char *prov = jv_str_or(energy, "device_provenance", NULL);
	bool have_energy = prov != NULL;
	struct cat *v = calloc(a->n_units + 1, sizeof(*v));
	long n = 0;
	if (!v)
		return;
	for (size_t i = 0; i < a->n_units; i++) {
		const struct task_unit *t = &a->units[i];
		if (t->form != FORM_MONO)
			continue;
		struct cat *c = find(v, n, t->category);
		if (!c) {
			c = &v[n++];
			c->name = t->category;
			c->acc = NAN;
		}
		c->tasks++;
		c->successes += t->success;
		c->tokens += t->prompt_tokens + t->completion_tokens;
		if (t->energy_valid)
			c->energy_j += t->energy_j;
		else
			c->energy_missing++;
	}
	char src[96] = "no energy source";
	if (prov) {
		snprintf(src, sizeof(src), "%s", prov);
		src[strcspn(src, " ")] = '\0';
	}
	fprintf(f, "\n   BFCL categories, as BFCL's leaderboard scores them (%ld task runs; tokens: "
		   "prompt + completion;\n   J: device energy of all attempts per successful task, "
		   "%s):\n\n",
		(long)a->n_units, src);
	fprintf(f, "   %-26s %7s %9s %12s %15s\n", "category", "tasks", "accuracy", "tokens/task",
		"J/success");
	for (long i = 0; i < n; i++) {
		const struct cat *c = &v[i];
		row(f, c->name[0] ? c->name : "(none)", c->tasks,
		    c->tasks ? (double)c->successes / (double)c->tasks : NAN, c->tokens, c->successes,
		    c->energy_j, c->energy_missing, have_energy, NULL);
	}
	static const char *const *const simple[] = { p_simple, p_java, p_js, NULL };
	struct group gs = summarize(v, n, simple, false);
	/* "simple" enters the non-live summaries as one part, with its own mean. */
	struct cat *w = calloc((size_t)n + 2, sizeof(*w));
	if (!w) {
		free(v);
		return;
	}
	memcpy(w, v, (size_t)n * sizeof(*w));
	long nw = n;
	if (gs.present)
		w[nw++] = (struct cat){ "non-live simple", gs.tasks, gs.successes, gs.tokens,
					 gs.energy_missing, gs.energy_j, gs.acc };
	static const char *const p_nls[] = { "non-live simple", NULL };
	static const char *const *const ast[] = { p_nls, p_multiple, p_parallel, p_pm, NULL };
	static const char *const *const nonlive[] = { p_nls, p_multiple, p_parallel, p_pm, p_irr, NULL };
	static const char *const *const live_ast[] = { p_lsimple, p_lmultiple, p_lparallel, p_lpm, NULL };
	static const char *const *const live[] = { p_lsimple, p_lmultiple, p_lparallel, p_lpm,
						    p_lirr, p_lrel, NULL };
	static const char *const *const irr[] = { p_irr, p_lirr, NULL };
	struct group g_ast = summarize(w, nw, ast, false);
	struct group g_nl = summarize(w, nw, nonlive, false);
	struct group g_last = summarize(v, n, live_ast, true);
	struct group g_live = summarize(v, n, live, true);
	struct group g_irr = summarize(v, n, irr, false);
	fprintf(f, "\n   %-26s %7s %9s %12s %15s\n", "summary", "tasks", "accuracy", "tokens/task",
		"J/success");
	group_row(f, "non-live simple", &gs, have_energy, "mean of Python, Java, JavaScript");
	group_row(f, "non-live AST", &g_ast, have_energy, "mean of simple, multiple, parallel, p-m");
	group_row(f, "non-live overall", &g_nl, have_energy, "mean of the AST parts and irrelevance");
	group_row(f, "live AST", &g_last, have_energy, "weighted by tasks");
	group_row(f, "live overall", &g_live, have_energy, "weighted, relevance and irrelevance in");
	group_row(f, "irrelevance", &g_irr, have_energy, "mean of non-live and live");
	const struct cat *rel = find(v, n, "live_relevance");
	if (rel)
		row(f, "relevance", rel->tasks, (double)rel->successes / (double)rel->tasks,
		    rel->tokens, rel->successes, rel->energy_j, rel->energy_missing, have_energy,
		    "live_relevance");
	struct group g_all = { NAN, 0, 0, 0, 0, 0, 0, 2, "" };
	double sum = 0;
	const struct group *halves[] = { &g_nl, &g_live };
	for (int i = 0; i < 2; i++) {
		if (isnan(halves[i]->acc)) {
			note_missing(&g_all, i ? "live" : "non-live");
			continue;
		}
		g_all.present++;
		sum += halves[i]->acc;
		g_all.tasks += halves[i]->tasks;
		g_all.successes += halves[i]->successes;
		g_all.tokens += halves[i]->tokens;
		g_all.energy_j += halves[i]->energy_j;
		g_all.energy_missing += halves[i]->energy_missing;
	}
	if (g_all.present)
		g_all.acc = sum / g_all.present;
	group_row(f, "overall (single-turn)", &g_all, have_energy,
		  "mean of non-live and live; BFCL's overall also averages multi-turn and agentic");
	free(w);
	free(v);
}
