#include "util.h"
#include "config.h" /* written by make: AGENTPERF_DATADIR */

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

int ap_verbose;
void (*ap_log_mask)(char *line, size_t n);

AP_PRINTF(2, 0) static void vlog(const char *tag, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "agentperf: %s", tag);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* Nothing printed carries a configured secret or a URL's credentials (guard.c). */
	if (ap_log_mask)
		ap_log_mask(line, sizeof(line));
	/* One write per message so lines from worker threads do not interleave. */
	size_t len = strlen(line);
	if (len + 1 < sizeof(line)) {
		line[len++] = '\n';
		line[len] = '\0';
	}
	fputs(line, stderr);
}

#define DEFINE_LOG(fn, tag, cond)                  \
	void fn(const char *fmt, ...)              \
	{                                          \
		if (!(cond))                       \
			return;                    \
		va_list ap;                        \
		va_start(ap, fmt);                 \
		vlog(tag, fmt, ap);                \
		va_end(ap);                        \
	}
DEFINE_LOG(ap_err, "error: ", 1)
DEFINE_LOG(ap_warn, "warning: ", 1)
DEFINE_LOG(ap_info, "", ap_verbose >= 1)
DEFINE_LOG(ap_debug, "debug: ", ap_verbose >= 2)

uint64_t ap_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char allocator_name[48];

static void allocator_once(void)
{
	/* mi_version() is mimalloc's own (e.g. 209 for 2.0.9). */
	int (*mi_version)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "mi_version");
	if (mi_version) {
		int v = mi_version();
		snprintf(allocator_name, sizeof(allocator_name), "mimalloc %d.%d.%d", v / 100,
			 v / 10 % 10, v % 10);
	} else {
		snprintf(allocator_name, sizeof(allocator_name), "glibc %s", gnu_get_libc_version());
	}
}

const char *ap_allocator(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, allocator_once);
	return allocator_name;
}

uint64_t ap_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ap_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int sbuf_reserve(struct sbuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	char *s = realloc(b->s, cap);
	if (!s)
		return -ENOMEM;
	b->s = s;
	b->cap = cap;
	return 0;
}

int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	int rc = sbuf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

int sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int rc = sbuf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

size_t sbuf_capped_write(char *p, size_t sz, size_t n, void *ud)
{
	struct sbuf_capped *c = ud;
	size_t len = sz * n;
	if (c->b->len + len > c->max) {
		c->over = true;
		return 0;
	}
	return sbuf_add(c->b, p, len) ? 0 : len;
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

#define ARENA_MIN (1u << 20)

size_t ap_arena_put(struct ap_arena *a, const void *p, size_t n)
{
	if (a->size - a->used < n) {
		size_t size = a->size ? a->size * 2 : ARENA_MIN;
		while (size - a->used < n)
			size *= 2;
		void *m = a->base ? mremap(a->base, a->size, size, MREMAP_MAYMOVE)
				  : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					 -1, 0);
		if (m == MAP_FAILED)
			return 0;
		a->base = m;
		a->size = size;
	}
	if (n)
		memcpy(a->base + a->used, p, n);
	a->used += n;
	return a->used - n + 1;
}

void ap_arena_free(struct ap_arena *a)
{
	if (a->base)
		munmap(a->base, a->size);
	memset(a, 0, sizeof(*a));
}

void ap_error_set(struct ap_error *e, const char *file, size_t line, const char *field,
		  const char *fmt, ...)
{
	if (!e)
		return;
	int n;
	if (file && line)
		n = snprintf(e->msg, sizeof(e->msg), "%s:%zu: ", file, line);
	else if (file)
		n = snprintf(e->msg, sizeof(e->msg), "%s: ", file);
	else
		n = 0;
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return;
	if (field && *field) {
		int m = snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, "%s: ", field);
		if (m < 0 || (size_t)(n + m) >= sizeof(e->msg))
			return;
		n += m;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- reading ---- */

int ap_open_regular(const char *path, struct ap_error *err)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		ap_error_set(err, path, 0, NULL, "cannot open: %s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(fd);
		if (S_ISREG(st.st_mode)) {
			ap_error_set(err, path, 0, NULL, "cannot stat: %s", strerror(e));
			return -e;
		}
		ap_error_set(err, path, 0, NULL, "not a regular file (%s): give a file",
			     S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO"
				     : S_ISCHR(st.st_mode) ? "a character device"
				     : S_ISSOCK(st.st_mode) ? "a socket" : "a special file");
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

FILE *ap_fopen_regular(const char *path, struct ap_error *err)
{
	int fd = ap_open_regular(path, err);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		int e = errno;
		close(fd);
		ap_error_set(err, path, 0, NULL, "cannot open: %s", strerror(e));
		errno = e;
	}
	return f;
}

int ap_read_file(const char *path, char **out, size_t *len)
{
	int rc = 0;
	struct sbuf b = { 0 };
	/* Regular files only, read to a bound: /dev/zero or a FIFO behind a
	 * profile's name is refused, not read without end. */
	FILE *f = ap_fopen_regular(path, NULL);
	if (!f)
		return -errno;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > AP_READ_FILE_MAX) {
			rc = -EFBIG;
			goto out;
		}
		rc = sbuf_add(&b, chunk, n);
		if (rc)
			goto out;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	if (!b.s && (rc = sbuf_reserve(&b, 0)))
		goto out;
	*out = b.s;
	if (len)
		*len = b.len;
	b.s = NULL;
out:
	fclose(f);
	sbuf_free(&b);
	return rc;
}

const char *ap_read_file_error(int rc)
{
	return rc == -EINVAL ? "not a regular file (a FIFO, a device ...): give a file"
	       : rc == -EISDIR ? "not a regular file (a directory): give a file"
	       : rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc);
}

int ap_sha256_files(const char *const *paths, size_t np, char hex[65])
{
	int rc = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char chunk[65536];
	FILE *f = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		if (!paths[i])
			continue;
		if (!(f = fopen(paths[i], "rb"))) {
			rc = -errno;
			goto out;
		}
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			EVP_DigestUpdate(ctx, chunk, n);
		if (ferror(f)) {
			rc = -EIO;
			goto out;
		}
		fclose(f);
		f = NULL;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int ap_sha256_file(const char *path, char hex[65])
{
	return ap_sha256_files(&path, 1, hex);
}

char *ap_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void ap_scopy(char *dst, size_t n, const char *src)
{
	if (!n)
		return;
	size_t l = src ? strnlen(src, n - 1) : 0;
	memcpy(dst, src ? src : "", l);
	dst[l] = '\0';
}

int ap_parse_long(const char *s, long *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int ap_parse_double(const char *s, double *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int csv_field(struct sbuf *b, const char *s)
{
	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n"))
		return sbuf_adds(b, s);
	int rc = sbuf_add(b, "\"", 1);
	for (const char *p = s; !rc && *p; p++)
		rc = *p == '"' ? sbuf_add(b, "\"\"", 2) : sbuf_add(b, p, 1);
	return rc ? rc : sbuf_add(b, "\"", 1);
}

int ap_mkdir_p(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

double ap_thread_cpu_s(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return NAN;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ap_data_find(const char *rel, char *buf, size_t n)
{
	const char *env = getenv("AGENTPERF_DATA");
	const char *under = strncmp(rel, "workloads/", 10) ? NULL : rel + 10;
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	snprintf(buf, n, "%s", rel);
	if (!access(buf, R_OK))
		return 0;
	if (env && *env && under) {
		snprintf(buf, n, "%s/%s", env, under);
		if (!access(buf, R_OK))
			return 0;
	}
	if (len > 0) {
		exe[len] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, n, "%s/%s", exe, rel);
			if (!access(buf, R_OK))
				return 0;
			/* a build folder of the source tree (make BUILD=build-asan) */
			snprintf(buf, n, "%s/../%s", exe, rel);
			if (!access(buf, R_OK))
				return 0;
			/* PREFIX/bin/agentperf -> PREFIX/share/agentperf/ */
			snprintf(buf, n, "%s/../share/agentperf/%s", exe, rel);
			if (!access(buf, R_OK))
				return 0;
		}
	}
	snprintf(buf, n, "%s/%s", AGENTPERF_DATADIR, rel);
	if (!access(buf, R_OK))
		return 0;
	snprintf(buf, n, "%s", rel);
	return -ENOENT;
}
