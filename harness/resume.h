/*
 * Resuming a results folder (`agentperf record --resume DIR`): which
 * (repeat, seq, form) already finished, and the repair that makes the CSVs
 * hold each finished task exactly once before new rows are appended.
 */
#ifndef AP_RESUME_H
#define AP_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

struct resume_set;

/*
 * Repairs DIR's calls.csv, attempts.csv and tasks.csv in place and returns
 * the set of finished tasks. A task is finished when tasks.csv holds a
 * complete line for it whose outcome is not "interrupted" (tasks.csv is
 * written last, so its calls and attempts are on disk too). Every other row
 * (a torn last line, the rows of an interrupted task, calls and attempts of
 * a task killed before its tasks.csv line) is dropped, so the task runs
 * again and counts once. Each file is rewritten to a temporary file and
 * renamed, never followed through a symlink: killed during the repair, the
 * folder is as before and the next resume repeats it.
 */
int resume_prepare(const char *dir, struct resume_set **out, struct ap_error *err);
bool resume_done(const struct resume_set *s, int repeat, long seq, int form);
/* Finished tasks found, and rows dropped by the repair (for the log line). */
size_t resume_finished(const struct resume_set *s);
size_t resume_dropped(const struct resume_set *s);
void resume_free(struct resume_set *s);

/* Reads DIR/meta.json; refuses a folder that is not an agentperf run. */
int resume_read_meta(const char *dir, cJSON **meta, struct ap_error *err);

#endif
