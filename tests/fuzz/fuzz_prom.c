/*
 * libFuzzer target: the Prometheus text parser (harness/measure/prom.c)
 * on arbitrary bytes, every sample's fields read back (names, labels,
 * help) so a pointer outside the parser's copy shows up under ASan.
 */
#include <stdint.h>
#include <string.h>

#include "measure/prom.h"

static int touch(const struct prom_sample *s, void *ud)
{
	size_t *n = ud;
	*n += strlen(s->name) + strlen(s->family) + strlen(s->help) + (size_t)s->type;
	for (size_t i = 0; i < s->n_labels; i++)
		*n += strlen(s->labels[i].name) + strlen(s->labels[i].value);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	struct prom_error e;
	prom_parse((const char *)data, size, touch, &n, &e);
	return 0;
}
