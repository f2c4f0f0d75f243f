/*
 * Guards at the edges of a run (issue 15): what agentperf reads (regular
 * files only, bounded reads), what it creates in a run folder (one safe
 * open, never through a symlink; an exclusive lock on the folder) and what
 * it writes or prints (configured secrets masked, credentials in URLs
 * redacted, text made valid UTF-8 without control bytes).
 */
#ifndef AP_GUARD_H
#define AP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

/* What a redacted credential is replaced with, in URLs and masked text. */
#define AP_REDACTED "***"

/*
 * Registers a secret (an API key's value, a URL password or secret query
 * value) to be masked in everything written or printed. Values shorter than
 * 4 bytes are not registered (they cannot be told from ordinary text).
 * Call before worker threads start; the table is read without a lock.
 * Returns 0 or -ENOMEM (-ENOSPC past 64 secrets).
 */
int ap_secret_add(const char *value);
/* Forgets every registered secret (tests). */
void ap_secrets_clear(void);
/* Replaces each registered secret in s (NUL-terminated) by AP_REDACTED, in place. */
void ap_mask_secrets(char *s);

/*
 * Copies s to out with credentials in every URL it holds redacted: the
 * userinfo of scheme://user:pass@host becomes AP_REDACTED@host, and the value
 * of a query parameter with a secret-looking name (key, api-key, api_key,
 * token, access_token, secret, password, sig, signature, auth, ...) becomes
 * AP_REDACTED. Registered secrets are masked too. Returns 0 or -ENOMEM.
 */
int ap_redact(struct sbuf *out, const char *s);
/* ap_redact into a new string (NULL on ENOMEM). */
char *ap_redact_dup(const char *s);
/* Registers the URL credentials of every URL in s (userinfo password, secret query values). */
int ap_secret_add_url(const char *s);

/*
 * Appends s to out as valid UTF-8 text of at most max bytes: invalid bytes
 * and control bytes become \xHH (newline, CR and tab a space), and a cut
 * falls on a character boundary. Returns 0 or -ENOMEM.
 */
int ap_text_clean(struct sbuf *out, const char *s, size_t max);


/*
 * Reads one line (through its '\n', NUL-terminated) into *buf of at most max
 * bytes: returns its length, 0 at end of file, -EFBIG when the line is longer
 * than max (the read stops there: memory stays bounded), -EIO on a read error.
 */
ssize_t ap_getline_max(char **buf, size_t *cap, FILE *f, size_t max);

/*
 * The one way a file inside a run folder is created or reopened: openat
 * with O_NOFOLLOW (a planted symlink is refused with ELOOP, never followed)
 * and O_CLOEXEC; refuses a non-regular file. flags: O_WRONLY|O_CREAT|O_EXCL,
 * O_WRONLY|O_APPEND, O_WRONLY|O_CREAT|O_TRUNC, O_RDONLY ... Returns fd or -errno.
 */
int ap_open_in(int dirfd, const char *name, int flags);
/* The same for a path "dir/name" given whole. */
int ap_open_path(const char *path, int flags);

/*
 * Takes an exclusive lock (flock) on the run folder open as dirfd, for as
 * long as that descriptor stays open. -EBUSY (err filled: another agentperf
 * is writing this folder) when it is held.
 */
int ap_dir_lock(int dirfd, const char *dir, struct ap_error *err);

#endif
