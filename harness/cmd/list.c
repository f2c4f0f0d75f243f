/* agentperf list: backend kinds with their keys, workloads found, energy probes. */
#include "cmd.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "energy.h"
#include "workload.h"

static void list_backends(void)
{
	printf("backends (-b KIND:key=value,...):\n");
	for (const struct backend_kind *k = backend_kinds; k->name; k++) {
		const struct backend_ops *b = k->ops;
		const char *key = k->managed ? NULL : b->default_key_env;
		printf("  %-12s %s\n", k->name, k->desc);
		if (k->managed)
			printf("  %-12s url: a free port on 127.0.0.1, chosen when it starts\n", "");
		else
			printf("  %-12s default url %s%s", "", b->default_url, b->path);
		if (key)
			printf(", key from $%s (%s)\n", key, getenv(key) && *getenv(key) ? "set" : "not set");
		else if (!k->managed)
			printf(", key from key_env=VAR if the server needs one\n");
		for (const struct backend_key *bk = backend_keys; bk->name; bk++)
			if (bk->kinds & k->bit) {
				char head[64];
				snprintf(head, sizeof(head), "%s=%s", bk->name, bk->arg);
				printf("  %-12s   %-24s %s\n", "", head, bk->help);
			}
	}
}

static void list_workloads(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		printf("  (no %s/ folder here)\n", dir);
		return;
	}
	struct dirent *e;
	char path[4096 + 256];
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 7 || strcmp(e->d_name + l - 6, ".jsonl"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct workload *wl = NULL;
		struct ap_error err = { { 0 } };
		if (workload_open(&wl, path, NULL, &err)) {
			printf("  %-36s INVALID: %s\n", path, err.msg);
			continue;
		}
		printf("  %-36s %-24s %6zu tasks  %s\n", path, wl->name ? wl->name : "?", wl->n_tasks,
		       workload_format_name(wl->format));
		workload_close(wl);
		n++;
	}
	closedir(d);
	if (!n)
		printf("  (no .jsonl workload in %s/)\n", dir);
}

int cmd_list(struct cli_args *c)
{
	char found[4096];
	const char *wdir = c->n_pos ? c->pos[0] : "workloads";
	/* Not run from the source tree: the installed workloads. */
	if (!c->n_pos && !ap_data_find("workloads", found, sizeof(found)))
		wdir = found;
	list_backends();
	printf("\nworkloads in %s/:\n", wdir);
	list_workloads(wdir);
	printf("\nenergy probes:\n");
	struct energy_opts eo = { 0 };
	energy_print_list(stdout, &eo);
	return 0;
}
