/*
 * The command line: one table of subcommands (commands.c) and one table of
 * options (options.c) that drive parsing, validation, every `--help` and
 * "did you mean". Each subcommand lives in its own file with one entry
 * function.
 *
 * To add a subcommand: a CMD_X id below, a file harness/cmd/x.c with
 * `int cmd_x(struct cli_args *c)`, one line in commands[] (commands.c).
 * To add an option: a field in struct cli_args (or in struct session_opts
 * for what a run needs), one line in cli_options[] (options.c) naming the
 * commands that take it; the parser and every help then know it. Then run
 * scripts/cli-reference.py: README.md's reference is checked against the
 * tables (tests/test_cli.c).
 */
#ifndef AP_CMD_H
#define AP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"
#include "load/slo.h"
#include "shard.h"
#include "workload.h"

/* Subcommand ids: the bit (1 << id) of each in an option's scope. */
enum cmd_id {
	CMD_LIST,
	CMD_STAT,
	CMD_RECORD,
	CMD_REPORT,
	CMD_DIFF,
	CMD_PROXY,
	CMD_SWEEP,
	CMD_TABLE,
	CMD_MERGE,
	CMD_COUNT
};
#define CMDBIT(id) (UINT32_C(1) << (id))
#define SC_RUN (CMDBIT(CMD_STAT) | CMDBIT(CMD_RECORD))
#define SC_ACCT (SC_RUN | CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF))
#define SC_ALL UINT32_MAX

#define CLI_MAX_POS 32

/* Everything any subcommand's options can set; the defaults are cli_defaults(). */
struct cli_args {
	const struct command *cmd;
	int argc;            /* the whole command line, argv[0] = "agentperf" */
	char **argv;
	const char *pos[CLI_MAX_POS]; /* positional arguments */
	int n_pos;
	/* stat, record */
	const char *workloads[32];
	int n_workloads;
	const char *answers;
	const char *cluster; /* --cluster embed:K (capture replays) */
	long context;        /* --context: pad tasks to about this many tokens, 0: no */
	struct slo slo;      /* --slo (s.o.slo points here when given) */
	struct policy_override pov; /* --max-attempts, --retry, --max-steps */
	const char *shard_opt; /* --shard I/N, or NULL: from the environment */
	struct shard shard;    /* s.o.shard points here when sharded */
	const char *backends[32];
	int n_backends;
	struct session_opts s; /* what the life of one run needs (session.h) */
	/* diff: --form as given (stat/record: s.o.forms) */
	const char *form_name;
	int escalate;        /* diff --escalate-on: enum escalate_on (compare.h) */
	/* report */
	const char *sensitivity;
	double agree;        /* --agree: capture replays' agreement threshold */
	const char *cap_profile; /* --capture-profile NAME */
	bool share_opts;     /* --agree or --capture-profile given */
	/* report, diff: machine-readable output */
	const char *csv_dir;
	const char *json;
};

struct command {
	enum cmd_id id;
	const char *name;
	const char *args;    /* positional arguments in usage, "" for none */
	int min_pos, max_pos;
	const char *summary; /* one line for the main help */
	const char *help;    /* the paragraph of `agentperf NAME --help`, may be NULL */
	int (*run)(struct cli_args *c); /* returns the exit status */
	/* A command that still parses its own argv (argv[0] its name); to be
	 * moved onto cli_options like the others. */
	int (*raw)(int argc, char **argv);
};
extern const struct command commands[]; /* NULL-name terminated */
const struct command *command_find(const char *name);

/* One command-line option. */
struct cli_opt {
	const char *name;  /* long name without "--" */
	char short_name;   /* 0: none */
	const char *arg;   /* metavar of its value; NULL: a flag */
	uint32_t scope;    /* CMDBIT()s of the commands that take it */
	const char *help;  /* may hold '\n' for continuation lines */
	/* Stores the value (v is NULL for a flag); 0 or -EINVAL after printing the error. */
	int (*set)(struct cli_args *c, const struct cli_opt *o, const char *v);
	size_t off;        /* field of struct cli_args for the generic setters */
	double lo, hi;     /* range of the generic number setters */
};
extern const struct cli_opt cli_options[]; /* NULL-name terminated */

/* Generic setters: field at o->off of type const char *, bool, int, long, double. */
int opt_str(struct cli_args *c, const struct cli_opt *o, const char *v);
int opt_flag(struct cli_args *c, const struct cli_opt *o, const char *v);
int opt_int(struct cli_args *c, const struct cli_opt *o, const char *v);
int opt_long(struct cli_args *c, const struct cli_opt *o, const char *v);
int opt_num(struct cli_args *c, const struct cli_opt *o, const char *v);

/* The defaults every command starts from. */
void cli_defaults(struct cli_args *c);
/*
 * Parses argv[1..argc) (argv[0] is the command's name) with the options of
 * cmd's scope, the profile overrides (profile_options) included. Options
 * and positional arguments may mix; "--" ends the options. Returns 0, 1
 * when --help was printed, or -EINVAL after printing the error (unknown
 * options get "did you mean").
 */
int cli_parse(const struct command *cmd, int argc, char **argv, struct cli_args *c);

/* The help of one command, and the main help (every command and option). */
void cli_command_help(FILE *f, const struct command *cmd);
void cli_main_help(FILE *f);
/* The closest of n names to s within a small edit distance, or NULL. */
const char *cli_did_you_mean(const char *s, const char *const *names, size_t n);

/* fopen(path, "w"), the error printed when it fails. */
FILE *cli_open_out(const char *path);

/* The whole program: dispatches to the command (main.c calls only this). */
int cli_main(int argc, char **argv);

int cmd_list(struct cli_args *c);
int cmd_run(struct cli_args *c); /* stat and record */
int cmd_report(struct cli_args *c);
int cmd_diff(struct cli_args *c);

#endif
