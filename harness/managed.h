/*
 * The managed local backend: a llama.cpp llama-server that agentperf starts
 * itself on a free loopback port with a given GGUF model, waits for until
 * GET /health answers 200, and stops at the end. Its model-load time and
 * energy are kept apart from task energy (meta.json "model_load"), its PID
 * is handed to the CPU-time probe, and its stdout/stderr go to
 * <results>/llama-server.log.
 *
 * Backend spec: llama-server:model=PATH[,threads=N][,ctx=N][,ctx_train=N][,bin=PATH]
 *               [,startup_timeout=S][,stop_timeout=S] plus any openai key
 * (stream, timeout, retries, label ...). Requests go through the openai ops.
 */
#ifndef AP_MANAGED_H
#define AP_MANAGED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "energy.h"
#include "managed_cfg.h"
#include "util.h"

/* The energy key of the model-load window; call keys count up from 0. */
#define MANAGED_LOAD_KEY UINT64_MAX


/* What meta.json and the report say about a GGUF file. */
struct gguf_info {
	char name[256];        /* file name */
	char general_name[128];/* general.name from the header, "" if absent */
	char arch[64];         /* general.architecture */
	long long size;        /* bytes */
	char sha256[65];
	double params;         /* sum over tensors of their element counts; NAN if unparsed */
	/* header hyperparameters for the KV-cache size; 0 when absent */
	long n_layer, n_embd, n_head, n_head_kv, key_len, val_len;
	bool smoke;            /* a test model that cannot follow instructions */
	char smoke_why[160];
};

struct managed_server {
	pid_t pid;
	int port;
	char url[64];             /* http://127.0.0.1:PORT/v1 */
	char bin[4096];
	char log_path[4096];
	bool log_is_temp;         /* `stat`: no results folder; removed after a clean run */
	uint64_t t_spawn, t_healthy;
	double load_s;            /* spawn to healthy */
	char build_info[128];     /* llama-server's /props "build_info" (e.g. b1-de3ff81), "" if none */
	double props_n_ctx;       /* /props default_generation_settings.n_ctx (per slot), NAN */
	double props_slots;       /* /props total_slots, NAN */
	char props_ftype[64];     /* /props model_ftype, "" */
	double load_j;            /* energy of that window; NAN when not measured */
	char load_provenance[256];
	bool load_energy_pending; /* load window registered with the energy side */
	bool exited;              /* reaped: the child is gone */
	int exit_status;          /* waitpid status once exited */
	bool stopped_by_us;
	uint64_t stop_timeout_ns;
	struct gguf_info model;
};


/* Fills *g from the file: size, sha256, header fields, smoke-test verdict. */
int gguf_inspect(const char *path, struct gguf_info *g, struct ap_error *err);

/*
 * Finds the binary (cfg->bin, env LLAMA_SERVER, PATH, the cached build of
 * scripts/build-llama-server.sh); never builds. Returns 0 or -ENOENT with a
 * message telling the user to run 'make llama-server'.
 */
int managed_find_binary(const struct managed_cfg *c, char *out, size_t n, struct ap_error *err);

/*
 * Starts the server with np parallel slots, its log in log_dir (NULL: a
 * temporary file), and waits until healthy. en may be NULL; when given (and
 * started) the load window is registered under MANAGED_LOAD_KEY and the PID
 * is watched. On failure *out still holds the server record (log path, load
 * time, exit status) for meta.json; the caller frees it with managed_stop().
 */
int managed_start(struct managed_server **out, const struct managed_cfg *c, int np,
		  const char *log_dir, struct energy *en, struct ap_error *err);
/* True when the server has exited (reaps it); fills a message naming the log. */
bool managed_died(struct managed_server *s, char *msg, size_t n);
/* After energy_stop: collects the load window's energy. */
void managed_collect_energy(struct managed_server *s, struct energy *en);
/* Takes the load window's energy out of "attributed to calls" (it is no call's). */
void managed_energy_adjust(const struct managed_server *s, struct energy_summary *es);
/* SIGTERM, wait, SIGKILL; frees s. A clean temp log is removed. */
void managed_stop(struct managed_server *s, bool keep_log);

struct backend;
/* Points the backend at the started server. */
int managed_attach(struct backend *b, const struct managed_server *s);

struct results;
/*
 * run_one's hooks. Begin: starts the server for np slots, points b at it and
 * records it in meta (written to res at once). On failure meta is marked
 * "failed" with the reason and written, and -errno returned. End: notices a
 * server that died during the run (meta "failed", message naming the log),
 * stops it, records it; returns rc, or -ECHILD when rc was 0 and it died.
 */
int managed_run_begin(struct managed_server **out, struct backend *b, int np,
		      struct results *res, struct energy *en, cJSON *meta, struct ap_error *err);
int managed_run_end(struct managed_server **s, cJSON *meta, int rc);

/* meta.json: "model", "model_load", "server", "model_note". */
void managed_meta(cJSON *meta, const struct managed_server *s);
#endif
