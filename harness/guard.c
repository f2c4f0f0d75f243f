/* Guards at the edges of a run: safe reads, safe opens, masked output (guard.h). */
#include "guard.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- secrets ---- */

#define SECRETS_MAX 64
#define SECRET_MIN 4

static char *secrets[SECRETS_MAX];
static size_t n_secrets;

int ap_secret_add(const char *value)
{
	if (!value || strlen(value) < SECRET_MIN)
		return 0;
	for (size_t i = 0; i < n_secrets; i++)
		if (!strcmp(secrets[i], value))
			return 0;
	if (n_secrets == SECRETS_MAX)
		return -ENOSPC;
	if (!(secrets[n_secrets] = strdup(value)))
		return -ENOMEM;
	n_secrets++;
	return 0;
}

void ap_secrets_clear(void)
{
	for (size_t i = 0; i < n_secrets; i++)
		free(secrets[i]);
	n_secrets = 0;
}

void ap_mask_secrets(char *s)
{
	static const size_t ml = sizeof(AP_REDACTED) - 1;
	if (!s)
		return;
	for (size_t i = 0; i < n_secrets; i++) {
		size_t sl = strlen(secrets[i]);
		for (char *p = s; (p = strstr(p, secrets[i]));) {
			/* sl >= SECRET_MIN > ml: the string only shrinks. */
			memcpy(p, AP_REDACTED, ml);
			memmove(p + ml, p + sl, strlen(p + sl) + 1);
			p += ml;
		}
	}
}

/* ---- URLs ---- */

static bool secret_param(const char *name, size_t n)
{
	static const char *const words[] = { "key", "token", "secret", "password", "passwd",
					     "pwd", "sig", "auth", "credential", "session" };
	char low[64];
	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	for (size_t i = 0; i < AP_ARRAY_SIZE(words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

/* Where a URL inside free text ends: blanks, quotes, brackets, and the spec's ','. */
static bool url_end(char c)
{
	return !c || isspace((unsigned char)c) || strchr("\"'<>,;()[]{}`", c);
}

static int add_secret_n(const char *p, size_t n)
{
	char *v = strndup(p, n);
	if (!v)
		return -ENOMEM;
	int rc = ap_secret_add(v);
	free(v);
	return rc;
}

/*
 * One pass over s: copies it to out (when not NULL) with URL credentials
 * replaced, and registers them as secrets (when reg).
 */
static int redact_urls(struct sbuf *out, const char *s, bool reg)
{
	int rc = 0;
	const char *p = s;
	while (!rc && *p) {
		const char *sch = strstr(p, "://");
		if (!sch) {
			rc = out ? sbuf_adds(out, p) : 0;
			break;
		}
		const char *auth = sch + 3;
		if (out && (rc = sbuf_add(out, p, (size_t)(auth - p))))
			break;
		/* Authority: up to the first / ? # or the URL's end; userinfo ends at its last '@'. */
		const char *e = auth;
		while (!url_end(*e) && !strchr("/?#", *e))
			e++;
		const char *at = NULL;
		for (const char *q = auth; q < e; q++)
			if (*q == '@')
				at = q;
		if (at) {
			if (reg && (rc = add_secret_n(auth, (size_t)(at - auth))))
				break;
			if (reg) {
				const char *colon = memchr(auth, ':', (size_t)(at - auth));
				if (colon && (rc = add_secret_n(colon + 1, (size_t)(at - colon - 1))))
					break;
			}
			if (out && (rc = sbuf_adds(out, AP_REDACTED)))
				break;
			auth = at;
		}
		/* Path: as is, up to the query. */
		const char *q = e;
		while (!url_end(*q) && *q != '?' && *q != '#')
			q++;
		if (out && (rc = sbuf_add(out, auth, (size_t)(q - auth))))
			break;
		p = q;
		if (*p != '?')
			continue;
		/* Query: name=value pairs; a secret-looking name's value is redacted. */
		while (!rc && (*p == '?' || *p == '&')) {
			const char *name = p + 1, *v = name;
			while (!url_end(*v) && !strchr("=&#", *v))
				v++;
			const char *end = v;
			if (*v == '=')
				while (!url_end(*end) && !strchr("&#", *end))
					end++;
			bool hide = *v == '=' && secret_param(name, (size_t)(v - name)) && end > v + 1;
			if (hide && reg)
				rc = add_secret_n(v + 1, (size_t)(end - v - 1));
			if (!rc && out && hide && !(rc = sbuf_add(out, p, (size_t)(v + 1 - p))))
				rc = sbuf_adds(out, AP_REDACTED);
			else if (!rc && out && !hide)
				rc = sbuf_add(out, p, (size_t)(end - p));
			p = end;
		}
	}
	return rc;
}

int ap_secret_add_url(const char *s)
{
	return s ? redact_urls(NULL, s, true) : 0;
}

int ap_redact(struct sbuf *out, const char *s)
{
	size_t start = out->len;
	int rc = redact_urls(out, s ? s : "", false);
	if (!rc && !out->s)
		rc = sbuf_add(out, "", 0);
	if (!rc)
		ap_mask_secrets(out->s + start);
	if (!rc)
		out->len = start + strlen(out->s + start);
	return rc;
}

char *ap_redact_dup(const char *s)
{
	struct sbuf b = { 0 };
	if (ap_redact(&b, s)) {
		sbuf_free(&b);
		return NULL;
	}
	return b.s;
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (no overlongs, surrogates, > U+10FFFF), else 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char b = p[0];
	size_t len;
	unsigned int cp, min;
	if (b < 0x80)
		return 1;
	if ((b & 0xe0) == 0xc0)
		len = 2, cp = b & 0x1f, min = 0x80;
	else if ((b & 0xf0) == 0xe0)
		len = 3, cp = b & 0x0f, min = 0x800;
	else if ((b & 0xf8) == 0xf0)
		len = 4, cp = b & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int ap_text_clean(struct sbuf *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t used = 0;
	int rc = out->s ? 0 : sbuf_add(out, "", 0);
	while (!rc && *p) {
		size_t n = utf8_len(p);
		char esc[8];
		const char *w = (const char *)p;
		size_t wn = n;
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			if (*p == '\n' || *p == '\r' || *p == '\t')
				w = " ", wn = 1;
			else
				snprintf(esc, sizeof(esc), "\\x%02x", *p), w = esc, wn = 4;
		} else if (!n) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			w = esc, wn = 4, n = 1;
		}
		if (used + wn > max)
			break;
		rc = sbuf_add(out, w, wn);
		used += wn;
		p += n;
	}
	return rc;
}

ssize_t ap_getline_max(char **buf, size_t *cap, FILE *f, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (n + 2 > *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			if (nc > max + 2)
				nc = max + 2;
			if (nc < n + 2)
				return -EFBIG;
			char *b = realloc(*buf, nc);
			if (!b)
				return -ENOMEM;
			*buf = b;
			*cap = nc;
		}
		int c = getc_unlocked(f);
		if (c == EOF) {
			if (ferror(f))
				return -EIO;
			break;
		}
		if (n == max)
			return -EFBIG;
		(*buf)[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (*buf)
		(*buf)[n] = '\0';
	return (ssize_t)n;
}

/* ---- run folders ---- */

int ap_open_in(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int ap_open_path(const char *path, int flags)
{
	return ap_open_in(AT_FDCWD, path, flags);
}

int ap_dir_lock(int dirfd, const char *dir, struct ap_error *err)
{
	if (!flock(dirfd, LOCK_EX | LOCK_NB))
		return 0;
	int e = errno;
	if (e == EWOULDBLOCK) {
		ap_error_set(err, dir, 0, NULL,
			     "another agentperf (a record or a resume) is writing this run folder; "
			     "wait for it to end");
		return -EBUSY;
	}
	ap_error_set(err, dir, 0, NULL, "cannot lock the run folder: %s", strerror(e));
	return -e;
}

/* The logger's mask (util.h's ap_log_mask): redacted, or only the secrets masked
 * when there is no memory for the copy. */
static void guard_log_mask(char *line, size_t n)
{
	char *red = ap_redact_dup(line);
	if (red) {
		ap_scopy(line, n, red);
		free(red);
	} else {
		ap_mask_secrets(line);
	}
}

/* Set before main: guard.o is linked whenever anything can register a secret. */
__attribute__((constructor)) static void guard_log_init(void)
{
	ap_log_mask = guard_log_mask;
}
