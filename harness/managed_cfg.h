/*
 * The configuration of a managed llama-server (-b llama-server:...): what
 * the backend spec parser fills (backend.c's key table) and the server
 * starter reads (managed.c). A layer under both.
 */
#ifndef AP_MANAGED_CFG_H
#define AP_MANAGED_CFG_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "util.h"

struct managed_cfg {
	char *model;              /* GGUF path (required) */
	char *bin;                /* llama-server binary; NULL: LLAMA_SERVER, PATH, cache */
	int threads;              /* -t; 0: online CPUs */
	long ctx;                 /* -c, total over the -np slots; 0: the model's own */
	int np;                   /* -np parallel slots; 0: follow the run's -c */
	long ctx_train;           /* >0: --override-kv ARCH.context_length (smoke models whose
				     training context is shorter than a workload's prompts) */
	double startup_timeout_s; /* spawn to healthy */
	double stop_timeout_s;    /* SIGTERM to SIGKILL */
};

/* Applies one spec key; 1 when the key is not a managed one, 0, or -EINVAL. */
int managed_cfg_option(struct managed_cfg *c, const char *k, const char *v,
		       struct ap_error *err);
/* Checks the config once parsing is done (model given and readable). */
int managed_cfg_check(const struct managed_cfg *c, struct ap_error *err);
void managed_cfg_free(struct managed_cfg *c);
cJSON *managed_cfg_json(const struct managed_cfg *c);

#endif
