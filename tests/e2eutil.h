/*
 * Helpers for tests that run the agentperf binary end to end against the
 * fake server: one run in its own temporary folder, its stdout, stderr and
 * results. Include after <cmocka.h> and "testutil.h".
 */
#ifndef AP_E2EUTIL_H
#define AP_E2EUTIL_H

#include <stdarg.h>

struct run {
	char dir[256];
	char out[300], err[300];
	char *stdout_txt, *stderr_txt;
	int rc;
};

static inline void run_free(struct run *r)
{
	free(r->stdout_txt);
	free(r->stderr_txt);
	tu_rmrf(r->dir);
}

/* agentperf record -w workload -b spec [extra...] -o <tmp> --run-id r */
static inline void run_agentperf(struct run *r, const char *cmd, const char *workload, const char *spec,
			  ...)
{
	char *d = tu_tmpdir();
	assert_non_null(d);
	snprintf(r->dir, sizeof(r->dir), "%s", d);
	free(d);
	snprintf(r->out, sizeof(r->out), "%s/stdout", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/stderr", r->dir);
	char resdir[300];
	snprintf(resdir, sizeof(resdir), "%s/results", r->dir);
	char *argv[64] = { (char *)tu_agentperf(), (char *)cmd, "-q", "--no-energy", "-w",
			   (char *)workload, "-b", (char *)spec };
	int n = 8;
	if (!strcmp(cmd, "record")) {
		argv[n++] = "-o";
		argv[n++] = strdup(resdir);
		argv[n++] = "--run-id";
		argv[n++] = "r";
	}
	va_list ap;
	va_start(ap, spec);
	const char *x;
	while ((x = va_arg(ap, const char *)) && n < 62)
		argv[n++] = (char *)x;
	va_end(ap);
	argv[n] = NULL;
	r->rc = tu_run(argv, r->out, r->err);
	r->stdout_txt = tu_slurp(r->out);
	r->stderr_txt = tu_slurp(r->err);
	if (!strcmp(cmd, "record"))
		free(argv[9]);
}

static inline char *spec_for(const struct tu_server *s, const char *kind, const char *extra)
{
	static char spec[512];
	if (!strcmp(kind, "openai"))
		snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,model=fake-model%s%s",
			 s->port, extra ? "," : "", extra ? extra : "");
	else
		snprintf(spec, sizeof(spec), "anthropic:url=http://127.0.0.1:%d,model=fake-model%s%s",
			 s->port, extra ? "," : "", extra ? extra : "");
	return spec;
}

static inline char *res_file(const struct run *r, const char *name)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/results/r/%s", r->dir, name);
	return tu_slurp(p);
}

#endif
