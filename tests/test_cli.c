/*
 * The command line: the options table drives parsing, every --help,
 * "did you mean" and `list`; exit codes and messages of the CLI cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "cmd/cmd.h"
#include "runutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

/* Runs agentperf with args (NULL-terminated); stdout and stderr read back. */
static int run_ap(char **out, char **err, ...)
{
	char *argv[64] = { (char *)tu_agentperf() };
	int n = 1;
	va_list ap;
	va_start(ap, err);
	for (char *a; n < 63 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char po[400], pe[400];
	snprintf(po, sizeof(po), "%s/stdout", dir);
	snprintf(pe, sizeof(pe), "%s/stderr", dir);
	int rc = tu_run(argv, po, pe);
	*out = tu_slurp(po);
	*err = tu_slurp(pe);
	return rc;
}

/* In-process: values, bundles, --name=value, mixed positionals. */
static void test_parse_table(void **state)
{
	(void)state;
	struct cli_args c;
	char *av[] = { "record", "-qr3", "--seed=7", "-w", "a.jsonl", "--workload", "b.jsonl",
		       "-b", "openai:", "--pue", "1.3", "--form", "both", "-I", "50", NULL };
	cli_defaults(&c);
	assert_int_equal(cli_parse(command_find("record"), 15, av, &c), 0);
	assert_true(c.s.o.quiet);
	assert_int_equal(c.s.o.repeats, 3);
	assert_true(c.s.o.seed_set);
	assert_int_equal(c.s.o.seed, 7);
	assert_int_equal(c.n_workloads, 2);
	assert_string_equal(c.workloads[1], "b.jsonl");
	assert_int_equal(c.n_backends, 1);
	assert_true(c.s.pc.ov.any);
	assert_true(c.s.o.forms[FORM_MONO] && c.s.o.forms[FORM_DECOMP]);
	assert_true(c.s.eo.interval_s > 0.0499 && c.s.eo.interval_s < 0.0501);
	/* Positionals anywhere, "--" ends the options. */
	char *rv[] = { "report", "--profile", "p", "DIR", NULL };
	cli_defaults(&c);
	assert_int_equal(cli_parse(command_find("report"), 4, rv, &c), 0);
	assert_int_equal(c.n_pos, 1);
	assert_string_equal(c.pos[0], "DIR");
	char *dv[] = { "diff", "--", "-A", "B", NULL };
	cli_defaults(&c);
	assert_int_equal(cli_parse(command_find("diff"), 4, dv, &c), 0);
	assert_string_equal(c.pos[0], "-A");
}

static void test_did_you_mean(void **state)
{
	(void)state;
	const char *names[] = { "utilization", "concurrency", "repeat" };
	assert_string_equal(cli_did_you_mean("utilisation", names, 3), "utilization");
	assert_string_equal(cli_did_you_mean("conc", names, 3), "concurrency");
	assert_null(cli_did_you_mean("zebra", names, 3));
	char *out, *err;
	assert_int_equal(run_ap(&out, &err, "record", "--utilisation", "0.5", NULL), 2);
	assert_non_null(strstr(err, "unrecognized option '--utilisation'; did you mean '--utilization'?"));
	free(out), free(err);
	assert_int_equal(run_ap(&out, &err, "reprot", "x", NULL), 2);
	assert_non_null(strstr(err, "unknown command 'reprot'; did you mean 'report'?"));
	free(out), free(err);
	/* An option of another command says whose it is. */
	assert_int_equal(run_ap(&out, &err, "stat", "--csv", "d", NULL), 2);
	assert_non_null(strstr(err, "it is for: report, diff"));
	free(out), free(err);
	assert_int_equal(run_ap(&out, &err, "report", NULL), 2);
	assert_non_null(strstr(err, "report: expected DIR"));
	free(out), free(err);
}

/* Every command's --help exits 0 and names each of its options, and only those. */
static void test_help_every_command(void **state)
{
	(void)state;
	for (const struct command *cmd = commands; cmd->name; cmd++) {
		char *out, *err;
		assert_int_equal(run_ap(&out, &err, (char *)cmd->name, "--help", NULL), 0);
		char want[128];
		snprintf(want, sizeof(want), "usage: agentperf %s", cmd->name);
		assert_non_null(strstr(out, want));
		for (const struct cli_opt *o = cli_options; !cmd->raw && o->name; o++) {
			snprintf(want, sizeof(want), "--%s ", o->name);
			char *at = strstr(out, want);
			if (!at) {
				snprintf(want, sizeof(want), "--%s\n", o->name);
				at = strstr(out, want);
			}
			if ((o->scope & CMDBIT(cmd->id)) && !at)
				fail_msg("%s --help lacks --%s", cmd->name, o->name);
			if (!(o->scope & CMDBIT(cmd->id)) && at)
				fail_msg("%s --help shows --%s, which it does not take", cmd->name, o->name);
		}
		bool acct = SC_ACCT & CMDBIT(cmd->id);
		for (const struct profile_option *p = profile_options; !cmd->raw && p->name; p++) {
			snprintf(want, sizeof(want), "--%s X", p->name);
			assert_true(!!strstr(out, want) == acct);
		}
		free(out);
		free(err);
	}
}

/* The main help names every command, option and backend key; list every kind and key. */
static void test_help_and_list_cover_tables(void **state)
{
	(void)state;
	char *out, *err, *lo, *le, want[128];
	assert_int_equal(run_ap(&out, &err, "--help", NULL), 0);
	assert_int_equal(run_ap(&lo, &le, "list", NULL), 0);
	for (const struct command *c = commands; c->name; c++) {
		snprintf(want, sizeof(want), "\n  %s ", c->name);
		assert_non_null(strstr(out, want));
	}
	for (const struct cli_opt *o = cli_options; o->name; o++) {
		snprintf(want, sizeof(want), "--%s", o->name);
		assert_non_null(strstr(out, want));
	}
	for (const struct backend_kind *k = backend_kinds; k->name; k++) {
		snprintf(want, sizeof(want), "  %s: ", k->name);
		char *sec = strstr(out, want);
		assert_non_null(sec);
		snprintf(want, sizeof(want), "\n  %-12s ", k->name);
		char *lsec = strstr(lo, want);
		assert_non_null(lsec);
		for (const struct backend_key *bk = backend_keys; bk->name; bk++) {
			if (!(bk->kinds & k->bit))
				continue;
			snprintf(want, sizeof(want), " %s", bk->name);
			assert_non_null(strstr(sec, want));
			snprintf(want, sizeof(want), " %s=%s ", bk->name, bk->arg);
			assert_non_null(strstr(lsec, want));
		}
	}
	free(out), free(err), free(lo), free(le);
}

/* A two-task workload (no decomposed form) and a backend nobody answers on. */
static const char *CLOSED = "openai:url=http://127.0.0.1:9/v1,retries=0,connect_timeout=1";
static void two_tasks(char *wl, size_t n)
{
	static const char *const prompts[] = { "capital of France?", "capital of Italy?" };
	snprintf(wl, n, "%s/two.jsonl", dir);
	assert_int_equal(ru_workload(wl, "two", prompts, 2, 1), 0);
}

static bool exists(const char *path)
{
	struct stat st;
	return !stat(path, &st);
}

/* Override errors name the flag and its own range, not a profile file. */
static void test_override_errors(void **state)
{
	(void)state;
	char wl[400], *out, *err;
	two_tasks(wl, sizeof(wl));
	assert_int_equal(run_ap(&out, &err, "stat", "-q", "--no-energy", "-w", wl, "-b", (char *)CLOSED,
				"--profile", "workstation-cpu", "--utilization", "1.5", NULL),
			 2);
	assert_non_null(strstr(err, "--utilization: expected a number in (0, 1], got '1.5'"));
	assert_null(strstr(err, ".json"));
	free(out), free(err);
	assert_int_equal(run_ap(&out, &err, "report", "x", "--pue", "abc", NULL), 2);
	assert_non_null(strstr(err, "--pue: expected a number in [1, 10], got 'abc'"));
	free(out), free(err);
}

/* Selection errors: exit 2 before anything runs, and no run folder. */
static void test_selection_errors(void **state)
{
	(void)state;
	char wl[400], res[400], *out, *err;
	two_tasks(wl, sizeof(wl));
	snprintf(res, sizeof(res), "%s/sel-results", dir);
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b", (char *)CLOSED,
				"-o", res, "-t", "nomatch*", NULL),
			 2);
	assert_non_null(strstr(err, "no task matches --tasks 'nomatch*'"));
	free(out), free(err);
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b", (char *)CLOSED,
				"-o", res, "--form", "decomp", NULL),
			 2);
	assert_non_null(strstr(err, "--form decomp: none of the 2 selected tasks has a decomposed form"));
	free(out), free(err);
	assert_false(exists(res));
}

/* Every call failed: a warning that says so and exit 1, not a report and 0. */
static void test_all_calls_failed(void **state)
{
	(void)state;
	char wl[400], res[400], *out, *err;
	two_tasks(wl, sizeof(wl));
	snprintf(res, sizeof(res), "%s/fail-results", dir);
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b", (char *)CLOSED,
				"-o", res, "--run-id", "dead", NULL),
			 1);
	assert_non_null(strstr(err, "every call failed (2 of 2;"));
	free(out), free(err);
}

/* Folders by label; two backends of one kind never collide; an uncovered backend is named. */
static void test_run_folders_and_profiles(void **state)
{
	(void)state;
	char wl[400], res[400], p[600], small[300], large[300], *out, *err;
	two_tasks(wl, sizeof(wl));
	snprintf(res, sizeof(res), "%s/label-results", dir);
	snprintf(small, sizeof(small), "%s,label=small", CLOSED);
	snprintf(large, sizeof(large), "%s,label=large", CLOSED);
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b", small, "-b",
				large, "-o", res, "--run-id", "both", NULL),
			 1);
	assert_null(strstr(err, "File exists"));
	snprintf(p, sizeof(p), "%s/both-small-two/meta.json", res);
	assert_true(exists(p));
	snprintf(p, sizeof(p), "%s/both-large-two/meta.json", res);
	assert_true(exists(p));
	free(out), free(err);
	/* No labels: the kind, and each one's position when the kind repeats. */
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b", (char *)CLOSED,
				"-b", (char *)CLOSED, "-o", res, "--run-id", "same", NULL),
			 1);
	snprintf(p, sizeof(p), "%s/same-openai-1-two/meta.json", res);
	assert_true(exists(p));
	snprintf(p, sizeof(p), "%s/same-openai-2-two/meta.json", res);
	assert_true(exists(p));
	free(out), free(err);
	/* A remote profile only, for a local backend whose model it does not name. */
	assert_int_equal(run_ap(&out, &err, "stat", "-q", "--no-energy", "-w", wl, "-b", small,
				"--profile", "gpt-4o", NULL),
			 1);
	assert_non_null(strstr(err, "backend small: none of the --profile files covers it"));
	free(out), free(err);
}

/* --version and meta.json say the same allocator, one the build can have. */
static void test_allocator_named(void **state)
{
	(void)state;
	char *out, *err, wl[400], res[400], p[500];
	assert_int_equal(run_ap(&out, &err, "--version", NULL), 0);
	const char *a = strstr(out, "\nallocator ");
	assert_non_null(a);
	char name[64] = "";
	assert_int_equal(sscanf(a + 11, "%63[^\n]", name), 1);
	assert_true(!strncmp(name, "mimalloc ", 9) || !strncmp(name, "glibc ", 6));
	free(out), free(err);
	two_tasks(wl, sizeof(wl));
	snprintf(res, sizeof(res), "%s/alloc", dir);
	/* every call fails (nothing listens): exit 1, and meta.json is written all the same */
	assert_int_equal(run_ap(&out, &err, "record", "-q", "--no-energy", "-w", wl, "-b",
				(char *)CLOSED, "-o", res, "--run-id", "a", NULL),
			 1);
	free(out), free(err);
	snprintf(p, sizeof(p), "%s/a/meta.json", res);
	char *meta = tu_slurp(p);
	cJSON *m = meta ? cJSON_Parse(meta) : NULL;
	assert_non_null(m);
	const cJSON *a2 = cJSON_GetObjectItemCaseSensitive(m, "allocator");
	assert_true(cJSON_IsString(a2));
	assert_string_equal(a2->valuestring, name);
	cJSON_Delete(m);
	free(meta);
}

/* Profiles and workloads by name from another working directory. */

static void test_names_from_elsewhere(void **state)
{
	(void)state;
	char cmd[2000], po[400], pe[400];
	snprintf(po, sizeof(po), "%s/stdout", dir);
	snprintf(pe, sizeof(pe), "%s/stderr", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s' list >'%s' 2>'%s' && '%s' stat -q --no-energy -w smoke "
		 "--profile workstation-cpu -b '%s' >/dev/null 2>>'%s'",
		 dir, tu_agentperf(), po, pe, tu_agentperf(), CLOSED, pe);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	/* 1: it ran (nobody answers on the port), so the workload and profile were found. */
	assert_int_equal(tu_run(argv, NULL, NULL), 1);
	char *out = tu_slurp(po), *err = tu_slurp(pe);
	assert_non_null(strstr(out, "workloads/smoke.jsonl"));
	assert_non_null(strstr(err, "every call failed"));
	assert_null(strstr(err, "cannot read"));
	free(out), free(err);
}

/* The command name of a CMDBIT in the README's "commands" column. */
static bool readme_row_has(const char *row_cmds, const char *cmd)
{
	char w[64];
	snprintf(w, sizeof(w), " %s ", cmd);
	char padded[512];
	snprintf(padded, sizeof(padded), " %s ", row_cmds);
	return strstr(padded, w) != NULL;
}

/*
 * README.md's "Command-line reference" and the tables agree both ways: every
 * option with the commands that take it, every backend key with its kinds.
 * With test_help_every_command and test_help_and_list_cover_tables (help and
 * list against the same tables), --help, list and the README agree.
 */
static void test_readme_reference(void **state)
{
	(void)state;
	char *readme = tu_slurp("README.md");
	assert_non_null(readme);
	char *sec = strstr(readme, "\n## Command-line reference");
	assert_non_null(sec);
	char *end = strstr(sec + 5, "\n## ");
	if (end)
		*end = '\0';
	int n_opts = 0, n_keys = 0;
	for (char *line = strtok(sec, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "| `", 3))
			continue;
		char c1[256] = "", c2[256] = "";
		if (sscanf(line, "| %255[^|] | %255[^|]", c1, c2) != 2) {
			char *a = strchr(line + 1, '|');
			/* `stream=0\|1`: the escaped bar ends sscanf's first column early */
			assert_non_null(a);
		}
		char *ll = strstr(c1, "`--");
		if (ll) {
			char name[128];
			assert_int_equal(sscanf(ll + 3, "%127[a-z0-9-]", name), 1);
			bool found = false;
			for (const struct cli_opt *o = cli_options; o->name; o++) {
				if (strcmp(o->name, name))
					continue;
				found = true;
				for (const struct command *cmd = commands; cmd->name; cmd++)
					if (!cmd->raw && readme_row_has(c2, cmd->name) !=
							       !!(o->scope & CMDBIT(cmd->id)))
						fail_msg("README: --%s and '%s' disagree with the options table",
							 name, cmd->name);
			}
			for (const struct profile_option *p = profile_options; !found && p->name; p++)
				found = !strcmp(p->name, name) && readme_row_has(c2, "report");
			if (!found)
				fail_msg("README names --%s, which the options table does not have", name);
			n_opts++;
			continue;
		}
		char key[64];
		if (sscanf(c1, "`%63[a-z_]=", key) == 1) {
			/* The kinds column follows the key's own column, past an escaped bar. */
			char *kinds = strstr(line, "` | ");
			assert_non_null(kinds);
			bool found = false;
			for (const struct backend_key *bk = backend_keys; bk->name; bk++) {
				if (strcmp(bk->name, key))
					continue;
				for (const struct backend_kind *k = backend_kinds; k->name; k++) {
					char kn[64];
					snprintf(kn, sizeof(kn), " %s,", k->name);
					char row[256];
					snprintf(row, sizeof(row), " %.*s,", (int)strcspn(kinds + 4, "|") - 1,
						 kinds + 4);
					if ((bk->kinds & k->bit) && strstr(row, kn))
						found = true;
				}
			}
			if (!found)
				fail_msg("README names backend key %s= for kinds the key table does not give it", key);
			n_keys++;
		}
	}
	/* And the other way: every option and key has its row. */
	size_t want_opts = 0, want_keys = 0;
	for (const struct cli_opt *o = cli_options; o->name; o++)
		want_opts += o->scope != SC_ALL;
	for (const struct profile_option *p = profile_options; p->name; p++)
		want_opts++;
	for (const struct backend_key *bk = backend_keys; bk->name; bk++)
		want_keys++;
	assert_int_equal(n_opts, (int)want_opts);
	assert_int_equal(n_keys, (int)want_keys);
	free(readme);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_help_every_command),
		cmocka_unit_test(test_help_and_list_cover_tables),
		cmocka_unit_test(test_override_errors),
		cmocka_unit_test(test_selection_errors),
		cmocka_unit_test(test_all_calls_failed),
		cmocka_unit_test(test_run_folders_and_profiles),
		cmocka_unit_test(test_names_from_elsewhere),
		cmocka_unit_test(test_allocator_named),
		cmocka_unit_test(test_readme_reference),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
