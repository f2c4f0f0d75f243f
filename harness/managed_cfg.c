/* The managed llama-server's configuration (managed_cfg.h). */
#include "managed_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int set_s(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

int managed_cfg_option(struct managed_cfg *c, const char *k, const char *v, struct ap_error *err)
{
	long l;
	double d;
	if (!strcmp(k, "model"))
		return set_s(&c->model, v);
	if (!strcmp(k, "bin"))
		return set_s(&c->bin, v);
	if (!strcmp(k, "threads")) {
		if (ap_parse_long(v, &l) || l < 1 || l > 4096) {
			ap_error_set(err, NULL, 0, "backend threads", "expected 1..4096, got '%s'", v);
			return -EINVAL;
		}
		c->threads = (int)l;
		return 0;
	}
	if (!strcmp(k, "np")) {
		if (ap_parse_long(v, &l) || l < 1 || l > 4096) {
			ap_error_set(err, NULL, 0, "backend np",
				     "expected parallel slots 1..4096 (default: -c), got '%s'", v);
			return -EINVAL;
		}
		c->np = (int)l;
		return 0;
	}
	if (!strcmp(k, "ctx")) {
		if (ap_parse_long(v, &l) || l > 16777216) {
			ap_error_set(err, NULL, 0, "backend ctx",
				     "expected tokens (0: the model's own), got '%s'", v);
			return -EINVAL;
		}
		c->ctx = l;
		return 0;
	}
	if (!strcmp(k, "ctx_train")) {
		if (ap_parse_long(v, &l) || l < 1 || l > 16777216) {
			ap_error_set(err, NULL, 0, "backend ctx_train", "expected tokens, got '%s'", v);
			return -EINVAL;
		}
		c->ctx_train = l;
		return 0;
	}
	if (!strcmp(k, "startup_timeout") || !strcmp(k, "stop_timeout")) {
		if (ap_parse_double(v, &d) || d <= 0 || d > 86400) {
			ap_error_set(err, NULL, 0, k, "expected seconds in (0, 86400], got '%s'", v);
			return -EINVAL;
		}
		*(!strcmp(k, "stop_timeout") ? &c->stop_timeout_s : &c->startup_timeout_s) = d;
		return 0;
	}
	return 1;
}

int managed_cfg_check(const struct managed_cfg *c, struct ap_error *err)
{
	if (!c->model || !*c->model) {
		ap_error_set(err, NULL, 0, "backend llama-server",
			     "needs model=PATH.gguf (e.g. llama-server:model=models/x.gguf)");
		return -EINVAL;
	}
	if (access(c->model, R_OK)) {
		int rc = -errno;
		ap_error_set(err, c->model, 0, "backend llama-server model", "cannot read the model: %s",
			     strerror(errno));
		return rc;
	}
	return 0;
}

void managed_cfg_free(struct managed_cfg *c)
{
	if (!c)
		return;
	free(c->model);
	free(c->bin);
	free(c);
}

cJSON *managed_cfg_json(const struct managed_cfg *c)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "model_path", c->model ? c->model : "");
	if (c->bin)
		cJSON_AddStringToObject(j, "bin", c->bin);
	cJSON_AddNumberToObject(j, "threads", c->threads ? c->threads : (double)sysconf(_SC_NPROCESSORS_ONLN));
	cJSON_AddNumberToObject(j, "ctx", (double)c->ctx);
	if (c->np)
		cJSON_AddNumberToObject(j, "np", c->np);
	if (c->ctx_train > 0)
		cJSON_AddNumberToObject(j, "ctx_train_override", (double)c->ctx_train);
	cJSON_AddNumberToObject(j, "startup_timeout_s", c->startup_timeout_s);
	cJSON_AddNumberToObject(j, "stop_timeout_s", c->stop_timeout_s);
	return j;
}
