/*
 * Measurement-validity fields (measure/validity.c): the settle step on a
 * fake powercap tree whose power steps down, the warm-baseline flag
 * against the machine's last known idle, and the meta.json fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "energy.h"
#include "fakesys.h"
#include "jsonv.h"
#include "util.h"

struct stepper {
	const char *root;
	double hi_w, lo_w, step_s; /* hi_w until step_s, then lo_w */
	atomic_bool stop;
};

/*
 * Writes the zone's energy_uj every 1 ms in place (the probe keeps the file
 * open), zero-padded to a fixed width with one pwrite, so a reader never
 * sees a shorter number.
 */
static void *stepper_main(void *arg)
{
	struct stepper *s = arg;
	char path[1024];
	snprintf(path, sizeof(path), "%s/sys/class/powercap/intel-rapl:0/energy_uj", s->root);
	int fd = open(path, O_WRONLY);
	uint64_t t0 = ap_now_ns();
	while (fd >= 0 && !atomic_load(&s->stop)) {
		double t = (double)(ap_now_ns() - t0) * 1e-9;
		double j = t < s->step_s ? s->hi_w * t : s->hi_w * s->step_s + s->lo_w * (t - s->step_s);
		char b[32];
		int n = snprintf(b, sizeof(b), "%020llu\n", (unsigned long long)(j * 1e6));
		if (pwrite(fd, b, (size_t)n, 0) != n)
			break;
		ap_sleep_ns(1000000);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static struct energy *open_tree(const char *root, char *proc, size_t n)
{
	struct energy_opts o;
	memset(&o, 0, sizeof(o));
	snprintf(proc, n, "%s/proc", root);
	o.sysfs_root = root;
	o.procfs_root = proc;
	o.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
	o.probes = "rapl-powercap,procfs,estimator";
	o.interval_s = 0.05;
	o.idle_s = 0.3;
	o.idle_watts = 5;
	o.watts_per_core = 10;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	return e;
}

/* A powercap tree with one package, /proc, and an idle state file of its own in st. */
static char *mk_tree(char *st, size_t n)
{
	char *root = fs_mkroot();
	fs_rapl_zone(root, "intel-rapl:0", "package-0", 262143000000ull, 0);
	fs_proc_stat(root, 0, 0, 2);
	fs_proc_pid(root, "self", 0, 0);
	snprintf(st, n, "%s/idle-state.json", root);
	setenv("AGENTPERF_IDLE_STATE", st, 1);
	return root;
}

/* 40 W for 1 s, then 10 W: settles one window (2 s) after the step, baseline 10 W. */
static void test_settle_step_down(void **state)
{
	(void)state;
	char proc[600], st[700];
	char *root = mk_tree(st, sizeof(st));
	/* the machine's last known idle: 5 W, so this 10 W baseline is warm */
	FILE *f = fopen(st, "w");
	fprintf(f, "{\"measured:rapl-powercap:package-0\":{\"idle_w\":5}}");
	fclose(f);
	struct stepper s = { .root = root, .hi_w = 40, .lo_w = 10, .step_s = 1.0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stepper_main, &s), 0);
	struct energy *e = open_tree(root, proc, sizeof(proc));
	/* sub-windows of 0.2 s: the writer's 1 ms steps are 0.5 % of one */
	assert_int_equal(energy_settle(e, 2.0, 20), 0);
	assert_int_equal(energy_baseline(e), 0);
	assert_int_equal(energy_start(e), 0);
	ap_sleep_ns(100000000);
	assert_int_equal(energy_stop(e), 0);
	struct energy_summary es;
	energy_summarize(e, &es);
	assert_true(fabs(es.idle_w - 10) < 1);
	cJSON *blk = cJSON_CreateObject();
	energy_validity_add(blk, e, &es);
	const cJSON *se = cJSON_GetObjectItemCaseSensitive(blk, "settle");
	double waited = jv_num_or(se, "waited_s", NAN);
	print_message("settled after %.2f s (variation %.2f %%)\n", waited,
		      jv_num_or(se, "variation_pct", NAN));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(se, "settled")));
	/* not before the step plus one window, not much after */
	assert_true(waited >= 1.0 + 2.0 - 0.1 && waited < 1.0 + 2.0 + 4.0);
	assert_true(jv_num_or(se, "variation_pct", NAN) < 5);
	assert_string_equal(jv_str_or(blk, "measurement_method", ""),
			    "measured: energy counter deltas");
	assert_true(jv_num_or(blk, "sampling_rate_hz", 0) > 10);
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(blk, "attribution");
	assert_string_equal(jv_str_or(at, "policy", ""), "time-share");
	const cJSON *bl = cJSON_GetObjectItemCaseSensitive(blk, "baseline");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bl, "warm")));
	assert_true(jv_num_or(bl, "last_known_idle_w", NAN) == 5);
	/* the estimator ran beside the counter: its disagreement is reported */
	const cJSON *ec = cJSON_GetObjectItemCaseSensitive(blk, "estimator_check");
	assert_true(cJSON_IsObject(ec));
	assert_true(isfinite(jv_num_or(ec, "disagreement_pct", NAN)));
	cJSON_Delete(blk);
	energy_close(e);

	/* A last known idle of 9 W: 10 W is not warm, and becomes the new last known. */
	f = fopen(st, "w");
	fprintf(f, "{\"measured:rapl-powercap:package-0\":{\"idle_w\":9}}");
	fclose(f);
	e = open_tree(root, proc, sizeof(proc));
	assert_int_equal(energy_baseline(e), 0);
	assert_int_equal(energy_start(e), 0);
	assert_int_equal(energy_stop(e), 0);
	energy_summarize(e, &es);
	blk = cJSON_CreateObject();
	energy_validity_add(blk, e, &es);
	bl = cJSON_GetObjectItemCaseSensitive(blk, "baseline");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(bl, "warm")));
	se = cJSON_GetObjectItemCaseSensitive(blk, "settle");
	assert_non_null(strstr(jv_str_or(se, "status", ""), "not requested"));
	cJSON_Delete(blk);
	energy_close(e);
	char *t = NULL;
	size_t len;
	assert_int_equal(ap_read_file(st, &t, &len), 0);
	cJSON *j = cJSON_Parse(t);
	double now = jv_num_or(cJSON_GetObjectItemCaseSensitive(j, "measured:rapl-powercap:package-0"),
			       "idle_w", NAN);
	assert_true(fabs(now - 10) < 1);
	cJSON_Delete(j);
	free(t);

	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	unsetenv("AGENTPERF_IDLE_STATE");
	fs_rmroot(root);
}

/* Power that keeps stepping never settles: -ETIMEDOUT after the bound, recorded. */
static void test_settle_timeout(void **state)
{
	(void)state;
	char proc[600], st[700];
	char *root = mk_tree(st, sizeof(st));
	/* the step at 0.3 s; every 0.5 s window before the 0.6 s bound straddles it */
	struct stepper s = { .root = root, .hi_w = 40, .lo_w = 10, .step_s = 0.3 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stepper_main, &s), 0);
	struct energy *e = open_tree(root, proc, sizeof(proc));
	assert_int_equal(energy_settle(e, 0.5, 0.6), -ETIMEDOUT);
	struct energy_summary es;
	energy_summarize(e, &es);
	cJSON *blk = cJSON_CreateObject();
	energy_validity_add(blk, e, &es);
	const cJSON *se = cJSON_GetObjectItemCaseSensitive(blk, "settle");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(se, "settled")));
	assert_true(jv_num_or(se, "waited_s", 0) >= 0.6);
	cJSON_Delete(blk);
	energy_close(e);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	unsetenv("AGENTPERF_IDLE_STATE");
	fs_rmroot(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_step_down),
		cmocka_unit_test(test_settle_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
