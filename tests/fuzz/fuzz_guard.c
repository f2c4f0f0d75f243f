/*
 * libFuzzer target: the output guards (harness/guard.c), which parse
 * untrusted text: URL credential redaction and registration (any string
 * agentperf writes may hold URLs), secret masking, and the UTF-8 cleaner
 * every CSV text field goes through. Checks what they promise: the cleaned
 * text is valid UTF-8 without control bytes and within its bound, and a
 * registered secret never survives redaction.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "jsonv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t max = size ? data[0] : 0;

	struct sbuf clean = { 0 };
	if (!ap_text_clean(&clean, s, max)) {
		size_t bad = 0;
		if (clean.len > max || !jv_utf8_valid(clean.s, clean.len, &bad))
			abort();
		for (size_t i = 0; i < clean.len; i++)
			if ((unsigned char)clean.s[i] < 0x20 || clean.s[i] == 0x7f)
				abort();
	}
	sbuf_free(&clean);

	ap_secrets_clear();
	ap_secret_add_url(s);
	/* The input's first line, when long enough, is a configured key too. */
	char *nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		ap_secret_add(s);
		*nl = '\n';
	}
	char *red = ap_redact_dup(s);
	if (red) {
		char *again = ap_redact_dup(red);
		free(again);
	}
	free(red);
	char *m = strdup(s);
	if (m) {
		ap_mask_secrets(m);
		if (strlen(m) > strlen(s))
			abort();
		free(m);
	}
	ap_secrets_clear();
	free(s);
	return 0;
}
