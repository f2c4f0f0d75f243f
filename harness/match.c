/*
 * Matching JSON values: the equality the checks (check.c), the capture judge
 * (judge.c) and the tool tables use, in one module below all of them.
 */
#include "match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bfcl_match.h"

bool match_num_eq(double a, double b)
{
	double m = fmax(1.0, fmax(fabs(a), fabs(b)));
	return fabs(a - b) <= 1e-9 * m;
}

static bool str_eq(const char *a, const char *b, bool bfcl)
{
	if (!bfcl)
		return !strcmp(a, b);
	char *x = bfcl_standardize(a), *y = bfcl_standardize(b);
	bool eq = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}


bool match_is_empty_string(const cJSON *j)
{
	return cJSON_IsString(j) && !*j->valuestring;
}

/* One of the acceptable values (a list, or a single value) matches a. */
bool match_acceptable(const cJSON *list, const cJSON *a, bool bfcl)
{
	if (!cJSON_IsArray(list))
		return match_value(list, a, bfcl);
	for (const cJSON *e = list->child; e; e = e->next)
		if (match_value(e, a, bfcl))
			return true;
	return false;
}

bool match_list_allows_omission(const cJSON *list)
{
	if (!cJSON_IsArray(list))
		return match_is_empty_string(list);
	for (const cJSON *e = list->child; e; e = e->next)
		if (match_is_empty_string(e))
			return true;
	return false;
}

/*
 * Type-tolerant comparison: numbers by value (5 == 5.0), strings exactly
 * (or BFCL-normalized), lists in order, objects by key. In BFCL mode an
 * expected object holds, per key, a list of acceptable values, as BFCL's
 * dict checker reads it.
 */
bool match_value(const cJSON *e, const cJSON *a, bool bfcl)
{
	if (cJSON_IsNumber(e))
		return cJSON_IsNumber(a) && match_num_eq(e->valuedouble, a->valuedouble);
	if (cJSON_IsString(e))
		return cJSON_IsString(a) && str_eq(e->valuestring, a->valuestring, bfcl);
	if (cJSON_IsBool(e))
		return cJSON_IsBool(a) && cJSON_IsTrue(e) == cJSON_IsTrue(a);
	if (cJSON_IsNull(e))
		return cJSON_IsNull(a);
	if (cJSON_IsArray(e)) {
		if (!cJSON_IsArray(a) || cJSON_GetArraySize(e) != cJSON_GetArraySize(a))
			return false;
		for (const cJSON *x = e->child, *y = a->child; x; x = x->next, y = y->next)
			if (!match_value(x, y, bfcl))
				return false;
		return true;
	}
	if (cJSON_IsObject(e)) {
		if (!cJSON_IsObject(a))
			return false;
		for (const cJSON *y = a->child; y; y = y->next) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, y->string);
			if (!x || !(bfcl ? match_acceptable(x, y, true) : match_value(x, y, false)))
				return false;
		}
		for (const cJSON *x = e->child; x; x = x->next) {
			if (cJSON_GetObjectItemCaseSensitive(a, x->string))
				continue;
			if (!bfcl || !match_list_allows_omission(x))
				return false;
		}
		return true;
	}
	return false;
}

bool check_json_equal(const cJSON *expected, const cJSON *actual)
{
	return match_value(expected, actual, false);
}

