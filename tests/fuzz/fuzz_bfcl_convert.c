/*
 * libFuzzer target: BFCL's Java and JavaScript literal converters and its
 * AST checker on what a model wrote. The input is "LANG TYPE NESTED" on the
 * first line (LANG j or s; NESTED "-" for none), then the argument string
 * the model gave; the converted value is also judged against itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bfcl_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *nl = strchr(s, '\n');
	char lang = 0, type[32] = "", nested[32] = "";
	if (nl && sscanf(s, "%c %31s %31s", &lang, type, nested) == 3) {
		const char *value = nl + 1;
		enum bfcl_lang l = lang == 'j' ? BFCL_JAVA : BFCL_JAVASCRIPT;
		cJSON *v = bfcl_convert(l, value, type, strcmp(nested, "-") ? nested : NULL);
		/* Judge the literal against its own conversion as the answer. */
		cJSON *params = cJSON_CreateObject();
		cJSON *props = cJSON_AddObjectToObject(params, "properties");
		cJSON *p = cJSON_AddObjectToObject(props, "x");
		cJSON_AddStringToObject(p, "type", type);
		if (strcmp(nested, "-"))
			cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "items"), "type", nested);
		cJSON *answer = cJSON_CreateObject();
		cJSON *list = cJSON_AddArrayToObject(answer, "x");
		if (v)
			cJSON_AddItemToArray(list, v);
		cJSON *args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "x", value);
		char why[300];
		bfcl_args_match(params, l, answer, args, why, sizeof(why));
		cJSON_Delete(params);
		cJSON_Delete(answer);
		cJSON_Delete(args);
	}
	free(s);
	return 0;
}
