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

#include "backend.h"
#include "cmd/cmd.h"
#include "testutil.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_help_every_command),
		cmocka_unit_test(test_help_and_list_cover_tables),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
