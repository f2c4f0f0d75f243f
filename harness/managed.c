/*
 * The managed llama-server: find the binary, start it with an argument
 * vector (never a shell) on a free loopback port, wait for /health, measure
 * the load window, watch it for an early death, stop it. See managed.h.
 */
#include "managed.h"
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "backend.h"
#include "jsonv.h"
#include "results.h"

#define HEALTH_POLL_NS 50000000ull

static int set_s(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static bool executable(const char *p)
{
	struct stat sb;
	return !stat(p, &sb) && S_ISREG(sb.st_mode) && !access(p, X_OK);
}

int managed_find_binary(const struct managed_cfg *c, char *out, size_t n, struct ap_error *err)
{
	const char *env = getenv("LLAMA_SERVER");
	if (c->bin || (env && *env)) {
		const char *p = c->bin ? c->bin : env;
		if (!executable(p)) {
			ap_error_set(err, NULL, 0, c->bin ? "backend bin" : "LLAMA_SERVER",
				     "'%s' is not an executable file", p);
			return -ENOENT;
		}
		snprintf(out, n, "%s", p);
		return 0;
	}
	const char *path = getenv("PATH");
	char *dup = path ? strdup(path) : NULL, *save = NULL;
	for (char *d = dup ? strtok_r(dup, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		char cand[4096];
		snprintf(cand, sizeof(cand), "%s/llama-server", *d ? d : ".");
		if (executable(cand)) {
			snprintf(out, n, "%s", cand);
			free(dup);
			return 0;
		}
	}
	free(dup);
	/* Where scripts/build-llama-server.sh caches its build; any version it made. */
	char pat[4096];
	const char *cache = getenv("AGENTPERF_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (cache && *cache)
		snprintf(pat, sizeof(pat), "%s/llama.cpp-nlc*/build/bin/llama-server", cache);
	else if (xdg && *xdg)
		snprintf(pat, sizeof(pat), "%s/agentperf/llama.cpp-nlc*/build/bin/llama-server", xdg);
	else
		snprintf(pat, sizeof(pat), "%s/.cache/agentperf/llama.cpp-nlc*/build/bin/llama-server",
			 home ? home : "");
	glob_t g;
	int found = -1;
	if (!glob(pat, 0, NULL, &g)) {
		/* glob sorts: the last is the newest version string. */
		for (size_t i = g.gl_pathc; i-- > 0;)
			if (executable(g.gl_pathv[i])) {
				snprintf(out, n, "%s", g.gl_pathv[i]);
				found = 0;
				break;
			}
		globfree(&g);
	}
	if (found)
		ap_error_set(err, NULL, 0, "backend llama-server",
			     "no llama-server binary: not in bin=, $LLAMA_SERVER, PATH or the cache "
			     "(%s); run 'make llama-server'", pat);
	return found ? -ENOENT : 0;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int port = -errno;
	if (fd < 0)
		return port;
	/* The kernel picks a free port; the server binds it right after we let go. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &l))
		port = -errno;
	else
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * GET http://127.0.0.1:PORT/PATH with libcurl (no proxy, no signals),
 * within timeout_s. The HTTP status (0: no answer), the body in *body
 * when body is given.
 */
static long local_get(int port, const char *path, double timeout_s, struct sbuf *body)
{
	char url[96];
	long status = 0;
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	/* up to 1 MiB: a /props body is a few KiB */
	struct sbuf sink = { 0 };
	struct sbuf_capped cap = { body ? body : &sink, 1u << 20, false };
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sbuf_capped_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &cap);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	sbuf_free(&sink);
	curl_easy_cleanup(h);
	return status;
}

/* 1: /health said 200; 0: not (yet); never blocks more than a second. */
static int health_ok(int port)
{
	return local_get(port, "/health", 1.0, NULL) == 200;
}

/*
 * The server's own name for its build: GET /props, "build_info" (llama.cpp
 * has sent it since 2024). Left empty, and meta.json says so, when the
 * server sends none; bounded like health_ok. The one /props fetch of a run:
 * the context per slot, the slot count and the model's type come with it
 * (measure/srvview.c's fit block), NAN / "" when absent.
 */
static void props_read(int port, struct managed_server *s)
{
	struct sbuf b = { 0 };
	s->props_n_ctx = s->props_slots = NAN;
	s->props_ftype[0] = '\0';
	s->build_info[0] = '\0';
	cJSON *j = local_get(port, "/props", 2.0, &b) == 200 && b.s ? cJSON_Parse(b.s) : NULL;
	const cJSON *bi = cJSON_GetObjectItemCaseSensitive(j, "build_info");
	if (cJSON_IsString(bi))
		snprintf(s->build_info, sizeof(s->build_info), "%s", bi->valuestring);
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "default_generation_settings");
	s->props_n_ctx = jv_num_or(dg, "n_ctx", NAN);
	s->props_slots = jv_num_or(j, "total_slots", NAN);
	ap_scopy(s->props_ftype, sizeof(s->props_ftype), jv_str_or(j, "model_ftype", ""));
	cJSON_Delete(j);
	sbuf_free(&b);
}

/* The last lines of the log, joined with " | ", for error messages. */
static void log_tail(const char *path, char *out, size_t n, int lines)
{
	char buf[2048];
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t got = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		buf[--got] = '\0';
	char *p = buf + got;
	for (int k = 0; p > buf; p--)
		if (p[-1] == '\n' && ++k == lines)
			break;
	struct sbuf s = { 0 };
	for (char *save = NULL, *l = strtok_r(p, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		sbuf_addf(&s, "%s%s", s.len ? " | " : "", l);
	snprintf(out, n, "%s", s.s ? s.s : "");
	sbuf_free(&s);
}

static void describe_exit(int st, char *out, size_t n)
{
	if (WIFEXITED(st))
		snprintf(out, n, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(out, n, "stopped");
}

static bool reap(struct managed_server *s)
{
	int st;
	if (s->exited)
		return true;
	pid_t r = waitpid(s->pid, &st, WNOHANG);
	if (r == s->pid || (r < 0 && errno == ECHILD)) {
		s->exited = true;
		s->exit_status = r == s->pid ? st : 0;
	}
	return s->exited;
}

bool managed_died(struct managed_server *s, char *msg, size_t n)
{
	char how[96], tail[700];
	if (!s || s->stopped_by_us || !reap(s))
		return false;
	describe_exit(s->exit_status, how, sizeof(how));
	log_tail(s->log_path, tail, sizeof(tail), 4);
	snprintf(msg, n, "llama-server (pid %d) %s; see %s%s%s", (int)s->pid, how, s->log_path,
		 tail[0] ? "; last lines: " : "", tail);
	return true;
}

/* Everything the child needs, made before fork: after it only async-signal-safe calls. */
static pid_t spawn(char *const argv[], int in_fd, int log_fd)
{
	pid_t parent = getpid();
	/* A wrapper's children orphaned at its exit come to us, so terminate()
	 * can wait for the whole group, zombies included. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t pid = fork();
	if (pid)
		return pid;
	/* Its own process group: a Ctrl-C to agentperf lets it finish cleanly and
	 * stop the server itself; the death signal covers agentperf being killed. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (dup2(in_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(127);
	execv(argv[0], argv);
	static const char m[] = "agentperf: cannot execute llama-server\n";
	ssize_t w = write(2, m, sizeof(m) - 1);
	(void)w;
	_exit(127);
}

int managed_start(struct managed_server **out, const struct managed_cfg *c, int np,
		  const char *log_dir, struct energy *en, struct ap_error *err)
{
	int rc = 0, in_fd = -1, log_fd = -1;
	char a_port[16], a_t[16], a_c[24], a_np[16], why[96], tail[700];
	struct managed_server *s = calloc(1, sizeof(*s));
	*out = s;
	if (!s)
		return -ENOMEM;
	s->pid = -1;
	s->load_j = NAN;
	s->exited = true; /* until spawned */
	snprintf(s->load_provenance, sizeof(s->load_provenance), "not measured: %s",
		 en ? "the server did not start" : "energy measurement off (--no-energy)");
	if ((rc = managed_find_binary(c, s->bin, sizeof(s->bin), err)))
		goto out;
	if ((rc = gguf_inspect(c->model, &s->model, err)))
		goto out;
	if (log_dir) {
		snprintf(s->log_path, sizeof(s->log_path), "%s/llama-server.log", log_dir);
		/* The run folder's safe open (never through a planted symlink);
		 * O_APPEND: a resumed run's server log follows the first session's. */
		log_fd = ap_open_path(s->log_path, O_WRONLY | O_CREAT | O_APPEND);
		if (log_fd < 0)
			errno = -log_fd;
	} else {
		snprintf(s->log_path, sizeof(s->log_path), "/tmp/agentperf-llama-server-XXXXXX.log");
		log_fd = mkostemps(s->log_path, 4, O_CLOEXEC);
		s->log_is_temp = log_fd >= 0;
	}
	if (log_fd < 0) {
		rc = -errno;
		ap_error_set(err, s->log_path, 0, NULL, "cannot create the server log: %s", strerror(errno));
		goto out;
	}
	if ((in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || (s->port = free_port()) < 0) {
		rc = in_fd < 0 ? -errno : s->port;
		ap_error_set(err, NULL, 0, "llama-server", "cannot pick a loopback port: %s", strerror(-rc));
		goto out;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", s->port);
	snprintf(a_port, sizeof(a_port), "%d", s->port);
	snprintf(a_t, sizeof(a_t), "%d", c->threads ? c->threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(a_c, sizeof(a_c), "%ld", c->ctx);
	snprintf(a_np, sizeof(a_np), "%d", np > 0 ? np : 1);
	char a_kv[160];
	snprintf(a_kv, sizeof(a_kv), "%s.context_length=int:%ld",
		 s->model.arch[0] ? s->model.arch : "llama", c->ctx_train);
	char *argv[] = { s->bin, "-m", c->model, "--host", "127.0.0.1", "--port", a_port,
			 "-t", a_t, "-c", a_c, "-np", a_np, "--no-webui",
			 /* the server metrics timeline (measure/srvmetrics.c) */
			 "--metrics",
			 /* ctx_train=N: a smoke-test model's short training context lifted */
			 c->ctx_train > 0 ? "--override-kv" : NULL, a_kv, NULL };
	ap_debug("starting %s -m %s --port %s -t %s -c %s -np %s", s->bin, c->model, a_port, a_t,
		 a_c, a_np);
	s->t_spawn = ap_now_ns();
	s->pid = spawn(argv, in_fd, log_fd);
	if (s->pid < 0) {
		rc = -errno;
		ap_error_set(err, NULL, 0, "llama-server", "cannot start %s: %s", s->bin, strerror(errno));
		goto out;
	}
	s->exited = false;
	if (en) {
		energy_watch_pid(en, s->pid);
		energy_call_begin(en, MANAGED_LOAD_KEY, s->t_spawn);
		s->load_energy_pending = true;
	}
	int port_tries = 0;
	for (;;) {
		if (health_ok(s->port))
			break;
		if (reap(s)) {
			describe_exit(s->exit_status, why, sizeof(why));
			log_tail(s->log_path, tail, sizeof(tail), 4);
			/* The port free_port found can be taken before the server binds it:
			 * then a new port, and start again (a few times). */
			if (++port_tries < 4 && (strcasestr(tail, "address already in use") ||
						 strcasestr(tail, "couldn't bind") ||
						 strcasestr(tail, "failed to bind"))) {
				if ((s->port = free_port()) < 0) {
					rc = s->port;
					ap_error_set(err, NULL, 0, "llama-server",
						     "cannot pick a loopback port: %s", strerror(-rc));
					goto out;
				}
				ap_info("llama-server: port taken before it bound (%s); again on %d", tail,
					s->port);
				snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", s->port);
				snprintf(a_port, sizeof(a_port), "%d", s->port);
				if ((s->pid = spawn(argv, in_fd, log_fd)) < 0) {
					rc = -errno;
					ap_error_set(err, NULL, 0, "llama-server", "cannot start %s: %s",
						     s->bin, strerror(errno));
					goto out;
				}
				s->exited = false;
				if (en)
					energy_watch_pid(en, s->pid);
				continue;
			}
			ap_error_set(err, NULL, 0, "llama-server",
				     "%s %s before becoming healthy; see %s%s%s", s->bin, why, s->log_path,
				     tail[0] ? "; last lines: " : "", tail);
			rc = -ECHILD;
			goto out;
		}
		if (ap_interrupted) {
			ap_error_set(err, NULL, 0, "llama-server", "interrupted while the model loaded");
			rc = -EINTR;
			goto out;
		}
		if ((double)(ap_now_ns() - s->t_spawn) / 1e9 > c->startup_timeout_s) {
			log_tail(s->log_path, tail, sizeof(tail), 4);
			ap_error_set(err, NULL, 0, "llama-server",
				     "not healthy after %.0f s (startup_timeout=S raises it); see %s%s%s",
				     c->startup_timeout_s, s->log_path, tail[0] ? "; last lines: " : "",
				     tail);
			rc = -ETIMEDOUT;
			goto out;
		}
		ap_sleep_ns(HEALTH_POLL_NS);
	}
	s->t_healthy = ap_now_ns();
	s->load_s = (double)(s->t_healthy - s->t_spawn) / 1e9;
	props_read(s->port, s);
	ap_info("llama-server pid %d on 127.0.0.1:%d, model %s loaded in %.2f s, log %s", (int)s->pid,
		s->port, s->model.name, s->load_s, s->log_path);
out:
	if (rc && s->pid > 0)
		s->load_s = (double)(ap_now_ns() - s->t_spawn) / 1e9;
	if (s->load_energy_pending)
		energy_call_end(en, MANAGED_LOAD_KEY, s->t_healthy ? s->t_healthy : ap_now_ns());
	if (in_fd >= 0)
		close(in_fd);
	if (log_fd >= 0)
		close(log_fd);
	/* The stop timeout travels with the server: managed_stop gets no config. */
	s->stop_timeout_ns = (uint64_t)(c->stop_timeout_s * 1e9);
	return rc;
}

void managed_collect_energy(struct managed_server *s, struct energy *en)
{
	struct energy_share sh;
	if (!s || !en || !s->load_energy_pending)
		return;
	s->load_energy_pending = false;
	int rc = energy_attribute(en, MANAGED_LOAD_KEY, &sh);
	if (rc || !sh.valid) {
		snprintf(s->load_provenance, sizeof(s->load_provenance), "not measured: %s",
			 rc ? strerror(-rc) : "no energy source (see the energy block)");
		return;
	}
	struct energy_summary es;
	energy_summarize(en, &es);
	s->load_j = sh.device_j;
	snprintf(s->load_provenance, sizeof(s->load_provenance), "%s", es.device_provenance);
}

/*
 * Whether a process of the server's group is still alive. Group members
 * orphaned by a wrapper are re-parented to agentperf (a child subreaper,
 * set at spawn), so their zombies are reaped here and do not count.
 */
static bool group_alive(const struct managed_server *s)
{
	while (waitpid(-s->pid, NULL, WNOHANG) > 0)
		;
	return kill(-s->pid, 0) == 0 || errno == EPERM;
}

/*
 * SIGTERM to the server's whole process group (a bin= wrapper script and
 * the server it started), a grace period, SIGKILL to the group; returns
 * once the group is gone. The record stays for meta.json.
 */
static void terminate(struct managed_server *s)
{
	if (s->pid <= 0)
		return;
	bool leader_gone = reap(s);
	if (leader_gone && !group_alive(s))
		return;
	if (!leader_gone)
		s->stopped_by_us = true;
	kill(-s->pid, SIGTERM);
	uint64_t t0 = ap_now_ns();
	while ((!reap(s) || group_alive(s)) && ap_now_ns() - t0 < s->stop_timeout_ns)
		ap_sleep_ns(20000000ull);
	if (!s->exited || group_alive(s)) {
		ap_warn("llama-server (pid %d) ignored SIGTERM for %.0f s; killing its process group",
			(int)s->pid, (double)s->stop_timeout_ns / 1e9);
		kill(-s->pid, SIGKILL);
		if (!s->exited) {
			waitpid(s->pid, &s->exit_status, 0);
			s->exited = true;
		}
		for (int i = 0; i < 100 && group_alive(s); i++)
			ap_sleep_ns(10000000ull);
	}
}

void managed_stop(struct managed_server *s, bool keep_log)
{
	if (!s)
		return;
	terminate(s);
	if (s->log_is_temp && !keep_log)
		unlink(s->log_path);
	free(s);
}

static void human_size(char *buf, size_t n, double b)
{
	if (b >= 1e9)
		snprintf(buf, n, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, n, "%.1f MB", b / 1e6);
	else
		snprintf(buf, n, "%.0f kB", b / 1e3);
}

static void human_params(char *buf, size_t n, double p)
{
	if (isnan(p))
		snprintf(buf, n, "? parameters");
	else if (p >= 1e9)
		snprintf(buf, n, "%.2fB parameters", p / 1e9);
	else if (p >= 1e6)
		snprintf(buf, n, "%.1fM parameters", p / 1e6);
	else
		snprintf(buf, n, "%.0fK parameters", p / 1e3);
}

static void put(cJSON *o, const char *k, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

static cJSON *num_or_null(double v)
{
	return isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

void managed_meta(cJSON *meta, const struct managed_server *s)
{
	char sz[32], pr[48];
	const struct gguf_info *g = &s->model;
	if (!meta || !s)
		return;
	if (g->sha256[0]) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "file", g->name);
		cJSON_AddNumberToObject(m, "size_bytes", (double)g->size);
		cJSON_AddStringToObject(m, "sha256", g->sha256);
		cJSON_AddStringToObject(m, "general_name", g->general_name);
		cJSON_AddStringToObject(m, "architecture", g->arch);
		cJSON_AddItemToObject(m, "parameters", num_or_null(g->params));
		cJSON_AddBoolToObject(m, "smoke_test", g->smoke);
		if (g->smoke)
			cJSON_AddStringToObject(m, "smoke_test_reason", g->smoke_why);
		put(meta, "model", m);
		human_size(sz, sizeof(sz), (double)g->size);
		human_params(pr, sizeof(pr), g->params);
		struct sbuf note = { 0 };
		sbuf_addf(&note, "%s (%s, %s, sha256 %.12s...)", g->name, sz, pr, g->sha256);
		if (g->smoke)
			sbuf_addf(&note, "; smoke-test model (%s): cannot follow instructions; success "
				  "rates are not meaningful", g->smoke_why);
		if (note.s)
			put(meta, "model_note", cJSON_CreateString(note.s));
		sbuf_free(&note);
	}
	cJSON *l = cJSON_CreateObject();
	cJSON_AddItemToObject(l, "seconds", num_or_null(s->t_spawn ? s->load_s : NAN));
	cJSON_AddItemToObject(l, "energy_j", num_or_null(s->load_j));
	cJSON_AddStringToObject(l, "provenance", s->load_provenance);
	cJSON_AddStringToObject(l, "window", "spawn to first /health 200; not in task energy");
	put(meta, "model_load", l);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "binary", s->bin);
	cJSON_AddNumberToObject(v, "pid", s->pid);
	cJSON_AddNumberToObject(v, "port", s->port);
	cJSON_AddStringToObject(v, "url", s->url);
	cJSON_AddStringToObject(v, "log", s->log_path);
	cJSON_AddBoolToObject(v, "healthy", s->t_healthy != 0);
	/* Which llama-server: its /props build_info, null when it sent none. */
	if (s->build_info[0])
		cJSON_AddStringToObject(v, "build_info", s->build_info);
	else
		cJSON_AddNullToObject(v, "build_info");
	cJSON_AddStringToObject(v, "build_info_source", "GET /props \"build_info\"");
	if (s->exited && !s->stopped_by_us && s->pid > 0) {
		char how[96];
		describe_exit(s->exit_status, how, sizeof(how));
		cJSON_AddStringToObject(v, "exit", how);
	}
	put(meta, "server", v);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(meta, "energy");
	if (cJSON_IsObject(e))
		put(e, "model_load_j", num_or_null(s->load_j));
}

void managed_energy_adjust(const struct managed_server *s, struct energy_summary *es)
{
	/* The load window was registered as a call so that its energy is integrated
	 * like one; it is no task's, so it leaves "attributed to calls". */
	if (s && !isnan(s->load_j) && es->have_device)
		es->attributed_j -= s->load_j;
}

int managed_attach(struct backend *b, const struct managed_server *s)
{
	struct sbuf ep = { 0 };
	if (set_s(&b->url, s->url) || set_s(&b->url_shown, s->url) ||
	    sbuf_addf(&ep, "%s%s", b->url, b->ops->path))
		return -ENOMEM;
	free(b->endpoint);
	b->endpoint = ep.s;
	return 0;
}

static void mark_failed(cJSON *meta, const char *msg)
{
	put(meta, "status", cJSON_CreateString("failed"));
	put(meta, "error", cJSON_CreateString(msg));
}

/* meta.json's backend object was written before the port was known. */
static void meta_backend_url(cJSON *meta, const struct managed_server *s)
{
	cJSON *b = cJSON_GetObjectItemCaseSensitive(meta, "backend");
	if (cJSON_IsObject(b) && s->url[0])
		put(b, "url", cJSON_CreateString(s->url));
}

int managed_run_begin(struct managed_server **out, struct backend *b, int np,
		      struct results *res, struct energy *en, cJSON *meta, struct ap_error *err)
{
	struct managed_server *s = NULL;
	int rc = managed_start(&s, b->managed, np, res ? results_dir(res) : NULL, en, err);
	*out = NULL;
	if (!s)
		return rc;
	if (!rc)
		rc = managed_attach(b, s);
	if (rc) {
		/* A valid, finished record of the failed start: meta.json says why. */
		if (en) {
			energy_stop(en);
			managed_collect_energy(s, en);
		}
		managed_meta(meta, s);
		meta_backend_url(meta, s);
		mark_failed(meta, err->msg[0] ? err->msg : strerror(-rc));
		if (res)
			results_write_meta(res, meta);
		if (s->log_is_temp)
			ap_info("llama-server log kept in %s", s->log_path);
		managed_stop(s, true);
		return rc;
	}
	managed_meta(meta, s);
	meta_backend_url(meta, s);
	/* On disk now, so that a run killed later still names its server and log. */
	if (res)
		results_write_meta(res, meta);
	*out = s;
	return 0;
}

int managed_run_end(struct managed_server **sp, cJSON *meta, int rc)
{
	char msg[1024];
	struct managed_server *s = *sp;
	if (!s)
		return rc;
	*sp = NULL;
	bool died = managed_died(s, msg, sizeof(msg));
	if (died) {
		ap_err("%s; calls after its death are recorded as connect failures, and the results "
		       "hold what was measured", msg);
		mark_failed(meta, msg);
	}
	terminate(s);
	managed_meta(meta, s);
	if (s->log_is_temp && !died) {
		/* `stat` keeps no files; the log of a clean run goes with it. */
		unlink(s->log_path);
		cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, "server");
		put(v, "log", cJSON_CreateString("(temporary, removed after the clean run)"));
	}
	free(s);
	return rc ? rc : died ? -ECHILD : 0;
}
