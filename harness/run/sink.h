/*
 * The sink: the single consumer of finished tasks. Loop threads hand it
 * task_runs (sink_push: a mutex held only to link the task into a list);
 * one thread (the runner's) drains it: waits for each call's energy to
 * settle (energy_attribute), sums the calls' energy into attempts and task,
 * writes the CSV rows (results_write_task) and feeds the aggregates, in the
 * order the tasks finished. No disk write happens under a lock a loop takes.
 */
#ifndef AP_SINK_H
#define AP_SINK_H

#include <stdbool.h>

#include "energy.h"
#include "episode.h"
#include "results.h"
#include "summary.h"

struct sink;

/* energy NULL: no energy figures; out NULL: aggregates only (stat). */
int sink_new(struct sink **out, struct energy *energy, struct results *res, struct run_agg *agg);
/* Frees what is still queued (unwritten). */
void sink_free(struct sink *s);
/* Any thread: the list head..tail (linked by ->next, in the order the tasks
 * finished) is the sink's now; one lock for the whole batch. True when the
 * queue was empty: the consumer should be woken, so that a finished task
 * reaches the disk at once (a kill -9 then loses only the calls in flight). */
bool sink_push(struct sink *s, struct task_run *head, struct task_run *tail);
/*
 * The consumer thread: writes out what has its energy (final: everything;
 * call energy_stop first). Returns the first write error (-errno, sticky;
 * it also sets ap_interrupted so the run stops), else 0.
 */
int sink_drain(struct sink *s, bool final);
/* Tasks written (or aggregated) so far; the consumer thread's view. */
long sink_tasks_done(const struct sink *s);

#endif
