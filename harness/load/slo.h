/*
 * Service-level objectives and their judgement (--slo ttft=S,itl=S,e2e=S,task=S).
 *
 * A call meets the SLO when its TTFT, mean inter-token gap and end-to-end
 * time, each measured from the call's SCHEDULED start (so queueing counts
 * against it), are within the limits given; a task meets it when every one
 * of its calls does and it finished within `task` seconds of its scheduled
 * start. Limits not given are not judged. A failed call that has no TTFT
 * (nothing streamed) misses a ttft limit; itl is judged only where the call
 * has one (one-chunk answers have no gaps).
 *
 * Goodput = successful tasks that also meet the SLO, per hour of the run.
 */
#ifndef AP_SLO_H
#define AP_SLO_H

#include <stdbool.h>

struct slo {
	double ttft_s, itl_s, e2e_s, task_s; /* NAN: not judged */
	bool set;                             /* at least one limit given */
};

/*
 * Parses "ttft=0.5,e2e=10" (seconds; an "ms" suffix means milliseconds) into
 * *s. 0, or -EINVAL with msg (size n) naming the bad part.
 */
int slo_parse(struct slo *s, const char *spec, char *msg, unsigned n);
/* The limits as "ttft=0.5s,e2e=10s" (for headers and meta.json), or "none". */
void slo_format(const struct slo *s, char *buf, unsigned n);

/* One call, latencies from its scheduled start (NAN where not applicable). */
bool slo_call_ok(const struct slo *s, double ttft_s, double itl_s, double e2e_s);
/* The task limit alone, on the task's duration from its scheduled start. */
bool slo_task_ok(const struct slo *s, double duration_from_sched_s);

#endif
