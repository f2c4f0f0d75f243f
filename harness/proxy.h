/*
 * agentperf proxy: a pass-through HTTP proxy between an agent and its model
 * server that captures every model call as one line of a JSONL file (the
 * capture format: workloads/SCHEMA.md, "Captures"). libmicrohttpd serves the
 * agent (a thread per connection), libcurl talks to the upstream; streams go
 * through event by event as the upstream sends them.
 *
 * Contract:
 *  - Only the protocol's endpoint is captured (openai: POST /v1/chat/completions
 *    or /chat/completions; anthropic: POST /v1/messages); anything else gets
 *    501 with a JSON error and one log line on stderr.
 *  - The upstream's status, headers (but hop-by-hop ones) and body bytes reach
 *    the agent unchanged; a failure is recorded as its call_status class. A
 *    failure with nothing to pass on (connect error, reset before the status
 *    line) is answered 502 with a JSON error.
 *  - Request headers go upstream as sent (Authorization, x-api-key included)
 *    and are never written to the capture, the logs or any error; the key of
 *    --key-env is added only when the agent sent none.
 *  - Each capture line is written with one write(2) on an O_APPEND descriptor
 *    when its call ends, so the file holds only complete lines whenever it is
 *    read, after Ctrl-C or kill -9 too.
 */
#ifndef AP_PROXY_H
#define AP_PROXY_H

#include <stdbool.h>

struct proxy;

struct proxy_opts {
	const char *listen_host; /* IPv4 address, e.g. "127.0.0.1" */
	int port;                /* 0: any free port (proxy_port() tells) */
	const char *upstream;    /* the model server's root URL; a trailing /v1 is accepted */
	const char *out;         /* the capture file (appended to) */
	int protocol;            /* PROXY_OPENAI or PROXY_ANTHROPIC */
	const char *key_env;     /* NULL, or the name of the env var holding the upstream key */
	bool energy;             /* sample the probes; per-call energy into OUT.energy.json */
	long max_body;           /* bound on request and recorded reply bodies (bytes) */
	double timeout_s;        /* upstream timeout per call (0: none) */
};

enum { PROXY_OPENAI = 0, PROXY_ANTHROPIC = 1 };

/* Starts serving; 0 or -errno (message printed). */
int proxy_start(struct proxy **out, const struct proxy_opts *o);
int proxy_port(const struct proxy *p);
/* Stops accepting, ends calls in flight (recorded as interrupted), writes the
 * energy file when sampling, closes the capture and frees p. calls and failed
 * (may be NULL) get the counts of lines written. */
void proxy_stop(struct proxy *p, long *calls, long *failed);

/* `agentperf proxy ...`: the command (argv[0] is "proxy"). Exit status. */
int proxy_main(int argc, char **argv);

#endif
