/*
 * JSON value matching shared by the checks, the capture judge and the tool
 * tables (match.c). Nothing here prints or allocates what it returns.
 */
#ifndef AP_MATCH_H
#define AP_MATCH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* Numbers equal within a relative 1e-9 (at least 1e-9 absolute). */
bool match_num_eq(double a, double b);
/* e matches a: numbers by match_num_eq, strings exactly (bfcl: normalized as
 * BFCL's checker does), arrays in order, objects by key regardless of order
 * (bfcl: each expected key holds a list of acceptable values). */
bool match_value(const cJSON *e, const cJSON *a, bool bfcl);
bool match_is_empty_string(const cJSON *j);
/* a is one of the acceptable values in list. */
bool match_acceptable(const cJSON *list, const cJSON *a, bool bfcl);
/* The list of acceptable values admits leaving the argument out (""). */
bool match_list_allows_omission(const cJSON *list);

/*
 * Exact JSON equality: numbers within a relative 1e-9, strings exactly,
 * arrays in order, objects by key regardless of order.
 */
bool check_json_equal(const cJSON *expected, const cJSON *actual);

#endif
