/* The table of subcommands and the dispatch (main.c calls cli_main only). */
#include "cmd.h"

#include <string.h>

#include "load/sweep.h"
#include "merge.h"
#include "proxy.h"
#include "table.h"
#include "util.h"
#include "config.h" /* written by make: version, commit, data folder */

const struct command commands[] = {
	{ CMD_LIST, "list", "[WORKLOAD_DIR]", 0, 1,
	  "backend kinds and their keys, workloads found, energy probes and their status",
	  "Workloads are looked for in WORKLOAD_DIR (default: workloads/ here, else the "
	  "installed data folder).",
	  cmd_list },
	{ CMD_STAT, "stat", "", 0, 0, "run workload(s) against backend(s), print the report", NULL,
	  cmd_run },
	{ CMD_RECORD, "record", "", 0, 0, "like stat, and write results/<run-id>/ (--resume DIR continues one)",
	  NULL, cmd_run },
	{ CMD_REPORT, "report", "DIR", 1, 1,
	  "print the report of a results folder again; with profile options, recompute "
	  "cost and energy under other values",
	  NULL, cmd_report },
	{ CMD_MERGE, "merge", "OUT DIR...", 0, 0,
	  "join the folders of a sharded run into one run in OUT (--allow-partial: some shards "
	  "missing)",
	  NULL, NULL, merge_main },
	{ CMD_DIFF, "diff", "A B", 2, 2,
	  "two results folders side by side: per-success J and $ with ratio and noise, "
	  "breakeven success rate, cascade what-if",
	  "A is typically the small local model, B the large remote one.", cmd_diff },
	{ CMD_TABLE, "table", "RUN...", 0, 0,
	  "many runs in one table with 95 % intervals over tasks (--md, --latex, --csv, --by "
	  "category; agentperf table --help)",
	  NULL, NULL, table_main },
	{ CMD_SWEEP, "sweep", "", 0, 0,
	  "one recorded run per load point (concurrency, rate or context) and sweep.csv "
	  "(agentperf sweep --help)",
	  NULL, NULL, sweep_main },
	{ CMD_PROXY, "proxy", "", 0, 0,
	  "capture an agent's model calls: a pass-through proxy (agentperf proxy --help)", NULL,
	  NULL, proxy_main },
	{ 0 },
};

const struct command *command_find(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		cli_main_help(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		cli_main_help(stdout);
		return 0;
	}
	if (!strcmp(name, "help")) {
		const struct command *c = argc > 2 ? command_find(argv[2]) : NULL;
		if (c && c->raw)
			return c->raw(2, (char *[]){ (char *)c->name, "--help", NULL });
		if (c)
			cli_command_help(stdout, c);
		else
			cli_main_help(stdout);
		return 0;
	}
	if (!strcmp(name, "--version")) {
		printf("agentperf %s\ncommit %s\nallocator %s\n", AGENTPERF_VERSION, AGENTPERF_COMMIT,
		       ap_allocator());
		return 0;
	}
	const struct command *cmd = command_find(name);
	if (!cmd) {
		const char *names[CMD_COUNT + 8];
		size_t n = 0;
		for (const struct command *c = commands; c->name && n < AP_ARRAY_SIZE(names); c++)
			names[n++] = c->name;
		const char *near = cli_did_you_mean(name, names, n);
		if (near)
			ap_err("unknown command '%s'; did you mean '%s'?", name, near);
		else
			ap_err("unknown command '%s' (see 'agentperf --help')", name);
		return 2;
	}
	if (cmd->raw)
		return cmd->raw(argc - 1, argv + 1);
	struct cli_args c;
	cli_defaults(&c);
	c.argc = argc;
	c.argv = argv;
	int rc = cli_parse(cmd, argc - 1, argv + 1, &c);
	if (rc)
		return rc == 1 ? 0 : 2;
	return cmd->run(&c);
}
