/* agentperf report DIR: the report of a results folder again, under other profile values. */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capshare.h"
#include "compare.h"
#include "jsonv.h"
#include "machine.h"
#include "report.h"

int cmd_report(struct cli_args *c)
{
	struct run_data d;
	int rc = run_data_load(&d, c->pos[0], &c->s.pc) ? 1 : 0;
	if (!rc)
		report_print(stdout, d.meta, &d.agg);
	if (!rc && c->sensitivity) {
		if (!d.ps.local.loaded && !d.ps.remote.loaded) {
			ap_err("--sensitivity: the run has no profile: add --profile FILE");
			rc = 1;
		} else {
			FILE *f = cli_open_out(c->sensitivity);
			if (f) {
				sensitivity_csv(f, true, "run", &d.ps, &d.c, &d.agg);
				rc = fclose(f) ? 1 : 0;
			} else {
				rc = 1;
			}
		}
	}
	/* The files take the settled profiles (overrides applied), as the text did. */
	if (!rc && c->json) {
		cJSON *j = report_json(d.meta, &d.agg, &d.c);
		int wr = j ? json_write_file(c->json, j) : -ENOMEM;
		if (wr) {
			ap_err("cannot write %s: %s", c->json, strerror(-wr));
			rc = 1;
		}
		cJSON_Delete(j);
	}
	if (!rc && c->csv_dir && report_csv_dir(c->csv_dir, d.meta, &d.agg, &d.c))
		rc = 1;
	/* A replay of a capture: the replaceable share, per kind (kinds.csv in --csv DIR). */
	if (!rc) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(d.meta, "workload");
		char kp[4200];
		if (c->csv_dir)
			snprintf(kp, sizeof(kp), "%s/kinds.csv", c->csv_dir);
		if (!strcmp(jv_str_or(w, "format", ""), "capture"))
			rc = capshare_report(stdout, d.dir, d.meta, &d.c, &d.agg, c->cap_profile, c->agree,
					     c->csv_dir ? kp : NULL);
		else if (c->share_opts) {
			ap_err("--agree and --capture-profile are for replays of a capture "
			       "(-w capture:FILE); %s is not one", d.dir);
			rc = 2;
		}
	}
	run_data_free(&d);
	return rc;
}
