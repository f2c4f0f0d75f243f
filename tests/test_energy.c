/*
 * The energy core: device selection (no overlapping domains), exact
 * time-share attribution on a hand-computed timeline, conservation
 * (attributed + unattributed == true total), lost domains, the estimator's
 * provenance, the sampler thread with samples.csv, and the VM's own probes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>

#include "energy_internal.h"
#include "fakesys.h"
#include "util.h"

#define MJ(x) ((uint64_t)((x) * 1000000.0 + 0.5))
#define SEC(x) ((uint64_t)((x) * 1e9 + 0.5) + 1000000000ull) /* timeline starts at 1 s */
#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-9 * (1 + fabs((double)(b))))

static void opts_for(struct energy_opts *o, const char *root, char *proc, size_t n)
{
	memset(o, 0, sizeof(*o));
	snprintf(proc, n, "%s/proc", root);
	o->sysfs_root = root;
	o->procfs_root = proc;
	o->nvml_lib = "/nonexistent/libnvidia-ml.so.1";
}

static const struct energy_channel_summary *sum_ch(const struct energy_summary *s,
						   const char *name)
{
	for (size_t i = 0; i < s->n_channels; i++)
		if (!strcmp(s->ch[i].name, name))
			return &s->ch[i];
	return NULL;
}

/*
 * Two sockets with core, dram and psys. Per-interval true energy (J) of the
 * summed domains, over 4 one-second intervals:
 *   package-0 4 8 12 16  (range 17 J: wraps twice)
 *   package-1 3 6  9 12  (range 20 J, starting at 5: wraps once)
 *   dram-0    2 4  6  8,  dram-1 1 2 3 4
 * so the device draws 10, 20, 30, 40 W. core and psys change too but must
 * not be summed (core is inside package, psys contains both packages).
 */
static const double pk0[] = { 0, 4, 12, 24, 40 }, pk1[] = { 0, 3, 9, 18, 30 },
		    dr0[] = { 0, 2, 6, 12, 20 }, dr1[] = { 0, 1, 3, 6, 10 };

static char *two_socket_tree(void)
{
	char *root = fs_mkroot();
	fs_rapl_zone(root, "intel-rapl:0", "package-0", MJ(17), MJ(0));
	fs_rapl_zone(root, "intel-rapl:0:0", "core", MJ(1000), MJ(0));
	fs_rapl_zone(root, "intel-rapl:0:1", "dram", MJ(1000), MJ(0));
	fs_rapl_zone(root, "intel-rapl:1", "package-1", MJ(20), MJ(5));
	fs_rapl_zone(root, "intel-rapl:1:0", "dram", MJ(1000), MJ(0));
	fs_rapl_zone(root, "intel-rapl:2", "psys", MJ(1000), MJ(0));
	fs_proc_stat(root, 0, 0, 2);
	fs_proc_pid(root, "self", 0, 0);
	return root;
}

static void set_counters(const char *root, int k)
{
	fs_rapl_set(root, "intel-rapl:0", MJ(fmod(pk0[k], 17)));
	fs_rapl_set(root, "intel-rapl:1", MJ(fmod(5 + pk1[k], 20)));
	fs_rapl_set(root, "intel-rapl:0:1", MJ(dr0[k]));
	fs_rapl_set(root, "intel-rapl:1:0", MJ(dr1[k]));
	fs_rapl_set(root, "intel-rapl:0:0", MJ(3.0 * k));
	fs_rapl_set(root, "intel-rapl:2", MJ(100.0 * k));
}

/*
 * Calls A [0.5, 2.5], B [1.0, 1.2] (shorter than the interval), C [2.0, 4.0]:
 *   [0,1]  10 W: A alone from 0.5             A 5,   unattributed 5
 *   [1,2]  20 W: A+B on [1,1.2], A on [1.2,2] A 2+16, B 2
 *   [2,3]  30 W: A+C on [2,2.5], C on [2.5,3] A 7.5, C 7.5+15
 *   [3,4]  40 W: C                            C 40
 * A = 30.5 J, B = 2 J, C = 62.5 J, unattributed 5 J, total 100 J.
 */
static void test_exact_attribution(void **state)
{
	(void)state;
	char *root = two_socket_tree();
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.manual_sampling = true;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	energy_set_idle(e, 2.0, 10.0);
	assert_int_equal(energy_start(e), 0);
	struct energy_share sh;

	set_counters(root, 0);
	assert_int_equal(energy_sample(e, SEC(0)), 0);
	energy_call_begin(e, 'A', SEC(0.5));
	set_counters(root, 1);
	assert_int_equal(energy_sample(e, SEC(1)), 0);
	energy_call_begin(e, 'B', SEC(1.0));
	energy_call_end(e, 'B', SEC(1.2));
	/* No sample at or after B's end yet. */
	assert_int_equal(energy_attribute(e, 'B', &sh), -EAGAIN);
	energy_call_begin(e, 'C', SEC(2.0));
	set_counters(root, 2);
	assert_int_equal(energy_sample(e, SEC(2)), 0);
	assert_int_equal(energy_attribute(e, 'B', &sh), 0);
	assert_true(sh.valid);
	assert_true(NEAR(sh.device_j, 2.0));
	assert_true(NEAR(sh.share_s, 0.1));
	assert_true(NEAR(sh.idle_j, 0.2));
	assert_int_equal(energy_attribute(e, 'B', &sh), -ENOENT); /* forgotten once handed out */
	energy_call_end(e, 'A', SEC(2.5));
	assert_int_equal(energy_attribute(e, 'A', &sh), -EAGAIN);
	set_counters(root, 3);
	assert_int_equal(energy_sample(e, SEC(3)), 0);
	assert_int_equal(energy_attribute(e, 'A', &sh), 0);
	assert_true(NEAR(sh.device_j, 30.5));
	assert_true(NEAR(sh.share_s, 1.65));
	assert_true(NEAR(sh.idle_j, 3.3));
	energy_call_end(e, 'C', SEC(4.0));
	set_counters(root, 4);
	assert_int_equal(energy_sample(e, SEC(4)), 0);
	assert_int_equal(energy_attribute(e, 'C', &sh), 0);
	assert_true(NEAR(sh.device_j, 62.5));
	assert_true(NEAR(sh.share_s, 1.75));
	assert_int_equal(energy_stop(e), 0);

	struct energy_summary s;
	energy_summarize(e, &s);
	assert_true(s.have_device);
	assert_false(s.estimated);
	assert_int_equal(s.n_samples, 5);
	assert_true(NEAR(s.duration_s, 4));
	assert_true(NEAR(s.device_j, 100));
	assert_true(NEAR(s.attributed_j, 95));
	assert_true(NEAR(s.unattributed_j, 5));
	assert_true(NEAR(s.attributed_j + s.unattributed_j, 100));
	assert_string_equal(s.attribution_key, "time-share");
	assert_int_equal(s.n_late, 0);
	const struct energy_channel_summary *c;
	assert_non_null(c = sum_ch(&s, "rapl-powercap:package-0"));
	assert_true(c->in_device_total);
	assert_true(NEAR(c->total, 40));
	assert_true(NEAR(c->avg_w, 10));
	assert_string_equal(c->provenance, "measured:rapl-powercap:package-0");
	assert_non_null(c = sum_ch(&s, "rapl-powercap:package-1"));
	assert_true(c->in_device_total && NEAR(c->total, 30));
	assert_non_null(c = sum_ch(&s, "rapl-powercap:package-0/dram"));
	assert_true(c->in_device_total && NEAR(c->total, 20));
	assert_non_null(c = sum_ch(&s, "rapl-powercap:package-0/core"));
	assert_false(c->in_device_total);
	assert_non_null(strstr(c->reason, "inside its package"));
	assert_non_null(c = sum_ch(&s, "rapl-powercap:psys"));
	assert_false(c->in_device_total);
	assert_true(NEAR(c->total, 400));
	assert_non_null(c = sum_ch(&s, "estimator:cpu-time-model"));
	assert_false(c->in_device_total);
	assert_non_null(strstr(s.device_provenance, "measured:rapl-powercap:package-0+"));
	assert_null(strstr(s.device_provenance, "psys"));
	assert_null(strstr(s.device_provenance, "core"));

	cJSON *m = energy_meta_json(e);
	char *js = cJSON_PrintUnformatted(m);
	assert_non_null(strstr(js, "\"in_device_total\":true"));
	assert_non_null(strstr(js, "\"raw_unit\":\"uJ\""));
	assert_non_null(strstr(js, "\"watts\":2"));
	free(js);
	cJSON_Delete(m);
	energy_close(e);
	fs_rmroot(root);
}

/* A domain that disappears mid-run: marked lost, the run goes on, totals still add up. */
static void test_lost_domain(void **state)
{
	(void)state;
	char *root = two_socket_tree();
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.manual_sampling = true;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_start(e), 0);
	set_counters(root, 0);
	energy_sample(e, SEC(0));
	energy_call_begin(e, 1, SEC(0));
	set_counters(root, 1);
	energy_sample(e, SEC(1));
	char path[1024];
	snprintf(path, sizeof(path), "%s/sys/class/powercap/intel-rapl:1:0/energy_uj", root);
	assert_int_equal(unlink(path), 0);
	/* set_counters writes a new dram-1 file at that path, which the probe never opened: */
	set_counters(root, 2);
	unlink(path);
	energy_sample(e, SEC(2));
	energy_call_end(e, 1, SEC(2));
	set_counters(root, 3);
	unlink(path);
	assert_int_equal(energy_sample(e, SEC(3)), 0);
	struct energy_share sh;
	assert_int_equal(energy_attribute(e, 1, &sh), 0);
	assert_int_equal(energy_stop(e), 0);
	struct energy_summary s;
	energy_summarize(e, &s);
	const struct energy_channel_summary *c = sum_ch(&s, "rapl-powercap:package-1/dram");
	assert_non_null(c);
	assert_int_equal(c->status, ENERGY_LOST);
	assert_non_null(strstr(c->reason, "lost"));
	/* dram-1 counted 1 J before it vanished; the others ran on. */
	double truth = pk0[3] + pk1[3] + dr0[3] + dr1[1];
	assert_true(NEAR(s.device_j, truth));
	assert_true(NEAR(sh.device_j + s.unattributed_j, truth));
	/* call 1 covered [0,2]: 10 J + (20 J less dram-1's 2 J) */
	assert_true(NEAR(sh.device_j, 10 + 18));
	energy_close(e);
	fs_rmroot(root);
}

/* The sampler refuses an interval its probes cannot resolve. */
static void test_interval_refused(void **state)
{
	(void)state;
	char *root = two_socket_tree();
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.interval_s = 0.001;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), -EINVAL);
	assert_null(e);
	o.interval_s = 0.2;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_true(energy_interval(e) == 0.2);
	energy_close(e);
	o.interval_s = 0;
	o.probes = "rapl-powercap";
	assert_int_equal(energy_open(&e, &o), 0);
	assert_true(energy_interval(e) == probe_rapl_powercap.min_interval_s);
	energy_close(e);
	fs_rmroot(root);
}

/* Memory is bounded by concurrency, not by the number of calls. */
static void test_memory_bounded(void **state)
{
	(void)state;
	char *root = two_socket_tree();
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.manual_sampling = true;
	o.probes = "rapl-powercap";
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_start(e), 0);
	energy_sample(e, SEC(0));
	double sum = 0;
	for (uint64_t i = 0; i < 20000; i++) {
		/* four calls in flight at a time */
		energy_call_begin(e, i, SEC(i * 0.01));
		if (i >= 3)
			energy_call_end(e, i - 3, SEC(i * 0.01 + 0.005));
		energy_sample(e, SEC(i * 0.01 + 0.01));
		struct energy_share sh;
		if (i >= 3) {
			assert_int_equal(energy_attribute(e, i - 3, &sh), 0);
			sum += sh.device_j;
		}
	}
	assert_true(e->n_calls <= 4);
	assert_int_equal(e->cap_calls, 64);
	assert_true(e->ring_len <= 1);
	for (uint64_t i = 19997; i < 20000; i++)
		energy_call_end(e, i, SEC(200.005));
	energy_sample(e, SEC(200.01));
	for (uint64_t i = 19997; i < 20000; i++) {
		struct energy_share sh;
		assert_int_equal(energy_attribute(e, i, &sh), 0);
		sum += sh.device_j;
	}
	assert_int_equal(e->n_calls, 0);
	energy_stop(e);
	struct energy_summary s;
	energy_summarize(e, &s);
	assert_true(NEAR(sum + s.unattributed_j, s.device_j));
	energy_close(e);
	fs_rmroot(root);
}

/* A begin registered after the sampler split its interval is clamped and counted. */
static void test_late_registration(void **state)
{
	(void)state;
	char *root = two_socket_tree();
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.manual_sampling = true;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_start(e), 0);
	set_counters(root, 0);
	energy_sample(e, SEC(0));
	set_counters(root, 1);
	energy_sample(e, SEC(1));
	energy_call_begin(e, 9, SEC(0.5)); /* [0.5, 1] was already unattributed */
	energy_call_end(e, 9, SEC(1.5));
	set_counters(root, 2);
	energy_sample(e, SEC(2));
	struct energy_share sh;
	assert_int_equal(energy_attribute(e, 9, &sh), 0);
	assert_true(NEAR(sh.device_j, 10)); /* [1, 1.5] at 20 W */
	energy_stop(e);
	struct energy_summary s;
	energy_summarize(e, &s);
	assert_int_equal(s.n_late, 1);
	assert_true(NEAR(s.attributed_j + s.unattributed_j, 30));
	energy_close(e);
	fs_rmroot(root);
}

/* No counter at all: the estimator, labelled estimated, with the reason. */
static void test_estimator_fallback(void **state)
{
	(void)state;
	char *root = fs_mkroot();
	fs_proc_stat(root, 0, 0, 2);
	fs_proc_pid(root, "self", 0, 0);
	fs_proc_pid(root, "4242", 10, 0);
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.manual_sampling = true;
	o.idle_watts = 5;
	o.watts_per_core = 10;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_watch_pid(e, 4242), 0);
	assert_int_equal(energy_start(e), 0);
	double tck = (double)sysconf(_SC_CLK_TCK);
	energy_sample(e, SEC(0));
	energy_call_begin(e, 1, SEC(2));
	energy_call_end(e, 1, SEC(4));
	fs_proc_stat(root, (unsigned long long)(2 * tck), (unsigned long long)(18 * tck), 2);
	fs_proc_pid(root, "4242", (unsigned long long)(10 + 1.5 * tck), 0);
	energy_sample(e, SEC(10));
	energy_stop(e);
	struct energy_summary s;
	energy_summarize(e, &s);
	assert_true(s.have_device);
	assert_true(s.estimated);
	assert_true(NEAR(s.device_j, 5 * 10 + 10 * 2)); /* 5 W x 10 s + 10 W x 2 busy CPU-s */
	assert_non_null(strstr(s.device_provenance, "estimated:cpu-time-model"));
	assert_non_null(strstr(s.device_provenance, "(profile)"));
	assert_non_null(strstr(s.estimate_reason, "rapl-powercap: no RAPL zones"));
	assert_non_null(strstr(s.estimate_reason, "rapl-perf: no power PMU"));
	assert_non_null(strstr(s.estimate_reason, "nvml: no NVIDIA driver"));
	assert_non_null(strstr(s.estimate_reason, "sensors: no hwmon"));
	assert_true(NEAR(s.cpu_util_machine, 2.0 / (10 * 2)));
	assert_true(NEAR(s.cpu_s_watched, 1.5));
	const struct energy_channel_summary *c = sum_ch(&s, "estimator:cpu-time-model");
	assert_non_null(c);
	assert_true(c->in_device_total);
	assert_string_equal(c->provenance, "estimated:cpu-time-model");
	struct energy_share sh;
	assert_int_equal(energy_attribute(e, 1, &sh), 0);
	assert_true(NEAR(sh.device_j, 70 * 2 / 10.0)); /* constant 7 W over 2 s */
	assert_true(isnan(sh.idle_j));                 /* no baseline measured */
	energy_close(e);
	fs_rmroot(root);
}

/* The idle baseline, for real (0.2 s): static counters give the model's idle power. */
static void test_baseline(void **state)
{
	(void)state;
	char *root = fs_mkroot();
	fs_proc_stat(root, 0, 0, 2);
	fs_proc_pid(root, "self", 0, 0);
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.idle_s = 0.2;
	o.idle_watts = 5;
	o.watts_per_core = 10;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_baseline(e), 0);
	struct energy_summary s;
	energy_summarize(e, &s);
	assert_true(fabs(s.idle_w - 5) < 1e-6);
	assert_true(s.idle_s >= 0.2);
	energy_close(e);
	fs_rmroot(root);
}

/* NVML through the energy core: GPUs summed, counter and integrated. */
static void test_nvml_device(void **state)
{
	(void)state;
	char lib[1024];
	const char *b = getenv("BUILD");
	snprintf(lib, sizeof(lib), "%s/tests/libfakenvml.so", b && *b ? b : "build");
	if (access(lib, R_OK)) {
		print_message("SKIPPED: %s not built (make %s)\n", lib, lib);
		skip();
	}
	void *h = dlopen(lib, RTLD_NOW);
	assert_non_null(h);
	void (*set)(unsigned, unsigned long long, unsigned, unsigned) =
		(void (*)(unsigned, unsigned long long, unsigned, unsigned))dlsym(h, "fakenvml_set");
	set(0, 1000000, 100000, 0);
	set(1, 0, 100000, 0);
	char *root = fs_mkroot();
	fs_proc_stat(root, 0, 0, 2);
	char proc[600];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	/* The environment variable is the documented override; the option would win. */
	o.nvml_lib = NULL;
	setenv("AGENTPERF_NVML_LIB", lib, 1);
	o.manual_sampling = true;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	unsetenv("AGENTPERF_NVML_LIB");
	assert_int_equal(energy_start(e), 0);
	energy_sample(e, SEC(0));
	energy_call_begin(e, 1, SEC(0));
	set(0, 1250000, 200000, 50);
	set(1, 0, 200000, 50);
	energy_sample(e, SEC(1));
	set(0, 1550000, 200000, 50);
	energy_sample(e, SEC(2));
	energy_call_end(e, 1, SEC(2));
	energy_stop(e);
	struct energy_summary s;
	energy_summarize(e, &s);
	assert_false(s.estimated);
	/* gpu0 250 + 300 J by counter; gpu1 (100+200)/2 + 200 J by trapezoids */
	assert_true(NEAR(s.device_j, 550 + 350));
	assert_string_equal(s.device_provenance, "measured:nvml:gpu0+nvml:gpu1");
	const struct energy_channel_summary *c = sum_ch(&s, "nvml:gpu1");
	assert_non_null(c);
	assert_true(NEAR(c->total, 350));
	assert_non_null(strstr(c->reason, "integrated"));
	assert_non_null(c = sum_ch(&s, "nvml:gpu0/util"));
	assert_string_equal(c->unit, "%");
	struct energy_share sh;
	assert_int_equal(energy_attribute(e, 1, &sh), 0);
	assert_true(NEAR(sh.device_j, 900));
	energy_close(e);
	dlclose(h);
	fs_rmroot(root);
}

struct worker {
	struct energy *e;
	int id;
	double j;
	int done;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 10; i++) {
		uint64_t key = (uint64_t)w->id * 1000 + (uint64_t)i;
		energy_call_begin(w->e, key, ap_now_ns());
		ap_sleep_ns(7000000);
		energy_call_end(w->e, key, ap_now_ns());
		struct energy_share sh;
		int rc;
		/* The result settles a sample interval or so after the end. */
		for (int tries = 0; (rc = energy_attribute(w->e, key, &sh)) == -EAGAIN && tries < 400;
		     tries++)
			ap_sleep_ns(2000000);
		if (rc == 0) {
			w->j += sh.device_j;
			w->done++;
		}
	}
	return NULL;
}

struct writer {
	struct energy *e;
	const char *root;
	atomic_bool stop;
	double written_j;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t uj = 0;
	while (!atomic_load(&w->stop)) {
		uj += 30000; /* 30 mJ per 2 ms: 15 W */
		/* Rewriting truncates first: never let the sampler read the file half-written. */
		pthread_mutex_lock(&w->e->lock);
		fs_rapl_set(w->root, "intel-rapl:0", uj % MJ(17));
		pthread_mutex_unlock(&w->e->lock);
		ap_sleep_ns(2000000);
	}
	w->written_j = (double)uj * 1e-6;
	return NULL;
}

/* The real sampler thread, four workers, samples.csv; energy is conserved. */
static void test_sampler_thread(void **state)
{
	(void)state;
	char *root = fs_mkroot();
	fs_rapl_zone(root, "intel-rapl:0", "package-0", MJ(17), 0);
	char proc[600], csv[700];
	struct energy_opts o;
	opts_for(&o, root, proc, sizeof(proc));
	o.procfs_root = "/proc";
	o.interval_s = 0.05;
	snprintf(csv, sizeof(csv), "%s/samples.csv", root);
	o.samples_csv = csv;
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	assert_int_equal(energy_start(e), 0);
	struct writer wr = { .e = e, .root = root };
	pthread_t wt;
	pthread_create(&wt, NULL, writer_main, &wr);
	struct worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .e = e, .id = i };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	double calls_j = 0;
	int done = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		calls_j += w[i].j;
		done += w[i].done;
	}
	atomic_store(&wr.stop, true);
	pthread_join(wt, NULL);
	assert_int_equal(energy_stop(e), 0);
	assert_int_equal(done, 40);
	struct energy_summary s;
	energy_summarize(e, &s);
	print_message("sampler: %zu samples over %.3f s, %.4f J, sampler CPU %.6f s, late %zu\n",
		      s.n_samples, s.duration_s, s.device_j, s.sampler_cpu_s, s.n_late);
	assert_true(s.n_samples >= 3);
	assert_true(s.sampler_cpu_s > 0);
	/* The true total is what the writer put in the counter. */
	assert_true(fabs(s.device_j - wr.written_j) < 1e-6);
	assert_true(fabs(calls_j + s.unattributed_j - wr.written_j) < 1e-6);
	assert_true(calls_j > 0);

	char *text = NULL;
	assert_int_equal(ap_read_file(csv, &text, NULL), 0);
	assert_true(!strncmp(text, "version,sample,t_s,channel,value,unit,status\n", 45));
	assert_non_null(strstr(text, ",rapl-powercap:package-0,"));
	assert_non_null(strstr(text, ",device:energy,"));
	assert_non_null(strstr(text, ",device:power,"));
	assert_non_null(strstr(text, ",procfs:machine/busy,"));
	int rows = 0;
	for (const char *p = text; (p = strstr(p, ",device:energy,")); p++)
		rows++;
	assert_int_equal((size_t)rows, s.n_samples);
	free(text);
	energy_close(e);
	fs_rmroot(root);
}

/*
 * This machine, with its real /sys and /proc: on the VMs here no counter is
 * readable, so the device figure must be the estimator's, with the reasons.
 */
static void test_this_machine(void **state)
{
	(void)state;
	struct energy_opts o = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	energy_print_list(f, &o);
	fclose(f);
	printf("%s", buf);
	struct energy *e = NULL;
	assert_int_equal(energy_open(&e, &o), 0);
	struct energy_summary s;
	energy_summarize(e, &s);
	energy_close(e);
	assert_true(s.have_device);
	if (!s.estimated) {
		print_message("this machine has a readable counter (%s): VM expectations skipped\n",
			      s.device_provenance);
		free(buf);
		skip();
	}
	assert_non_null(strstr(buf, "estimated:cpu-time-model"));
	assert_non_null(strstr(buf, "estimated because no energy counter readable"));
	assert_non_null(strstr(s.estimate_reason, "rapl-perf:"));
	assert_non_null(strstr(s.estimate_reason, "rapl-powercap:"));
	assert_non_null(strstr(s.estimate_reason, "nvml:"));
	assert_non_null(strstr(s.estimate_reason, "sensors:"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_attribution),
		cmocka_unit_test(test_lost_domain),
		cmocka_unit_test(test_interval_refused),
		cmocka_unit_test(test_memory_bounded),
		cmocka_unit_test(test_late_registration),
		cmocka_unit_test(test_estimator_fallback),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_nvml_device),
		cmocka_unit_test(test_sampler_thread),
		cmocka_unit_test(test_this_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
