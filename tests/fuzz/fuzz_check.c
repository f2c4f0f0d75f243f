/*
 * libFuzzer target: check_parse and check_eval. The input is a check object
 * (first line, JSON), the episode's final text (second line), then one tool
 * call per line as "name<TAB>arguments".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *save = NULL;
	char *first = strtok_r(s, "\n", &save);
	cJSON *j = first ? cJSON_Parse(first) : NULL;
	struct check c;
	memset(&c, 0, sizeof(c));
	struct ap_error err = { { 0 } };
	if (j && !check_parse(&c, j, "fuzz", 1, "check", &err)) {
		char *text = strtok_r(NULL, "\n", &save);
		struct tool_call calls[16];
		size_t n = 0;
		for (char *l; n < 16 && (l = strtok_r(NULL, "\n", &save));) {
			char *tab = strchr(l, '\t');
			if (tab)
				*tab = '\0';
			calls[n].id = NULL;
			calls[n].name = l;
			calls[n].arguments = tab ? tab + 1 : "{}";
			n++;
		}
		struct episode_output out = { .text = text ? text : "", .calls = calls, .n_calls = n };
		char why[512];
		check_eval(&c, &out, why, sizeof(why));
		check_free(&c);
	}
	cJSON_Delete(j);
	free(s);
	return 0;
}
