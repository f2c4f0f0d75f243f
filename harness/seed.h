/*
 * Seeds per call. A fixed seed on every repeat and retry makes a plain retry
 * of a sampling model repeat its answer and makes repeats measure only timing
 * noise, so by default (policy "per-attempt") every repeat, task, form,
 * sub-call and attempt gets its own seed derived from the base seed
 * (--seed, else the workload's sampling "seed"):
 *
 *   h = base; for v in (repeat, seq, form, sub + 1, attempt): h = splitmix64(h ^ v)
 *   seed = h & 0x7fffffff        (31 bits: every server's seed type holds it)
 *
 * where splitmix64(x) is one step of Steele, Lea and Flood's generator from
 * state x (add 0x9e3779b97f4a7c15, then the two xor-shift-multiplies). With
 * no base seed nothing is sent (the server's own randomness); policy "fixed"
 * sends the base seed unchanged, the old behaviour. calls.csv records the
 * seed sent with each call. Pure functions.
 */
#ifndef AP_SEED_H
#define AP_SEED_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum seed_policy { SEED_PER_ATTEMPT = 0, SEED_FIXED };

int seed_policy_parse(const char *s); /* -EINVAL when neither */
const char *seed_policy_name(int p);

uint32_t seed_derive(uint64_t base, int repeat, long seq, int form, int sub, int attempt);

/*
 * Sets sampling's "seed" for one attempt under the policy and returns the
 * seed sent, or -1 when sampling has no base seed (nothing sent). base_out
 * keeps the base across attempts: pass a pointer to a -1-initialised value.
 */
long long seed_apply(cJSON *sampling, int policy, long long *base, int repeat, long seq, int form,
		     int sub, int attempt);

/* Warns once per process when a plain retry runs at temperature 0 (sampling's). */
void seed_warn_plain_retry(const cJSON *sampling, int policy, long long seed, const char *task_id);

#endif
