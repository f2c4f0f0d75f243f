/*
 * BFCL's AST checker for one function call, in C: what BFCL's
 * simple_function_checker (bfcl_eval/eval_checker/ast_eval/ast_checker.py)
 * decides for a call's arguments, with its Java and JavaScript type
 * converters (type_convertor/java_type_converter.py, js_type_converter.py).
 * workloads/SCHEMA.md lists the rules and where this differs from BFCL.
 */
#ifndef AP_BFCL_MATCH_H
#define AP_BFCL_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum bfcl_lang { BFCL_PYTHON = 0, BFCL_JAVA, BFCL_JAVASCRIPT };

/* "python", "java", "javascript" to the language; -1 for anything else. */
int bfcl_lang_parse(const char *s);
const char *bfcl_lang_name(enum bfcl_lang l);

/*
 * Whether BFCL accepts a call's arguments. params is the function's BFCL
 * "parameters" object as the question file has it ("properties" with BFCL
 * type names, "required"); answer maps each expected argument to its list
 * of acceptable values ("" in a list: it may be omitted; an empty list: no
 * value is acceptable); args is the model's arguments (an object). On a
 * failure, why (may be NULL) gets BFCL's own error message.
 */
bool bfcl_args_match(const cJSON *params, enum bfcl_lang lang, const cJSON *answer,
		     const cJSON *args, char *why, size_t whylen);

/*
 * BFCL's string normalization (standardize_string): drops " ,./-_*^",
 * lowercases, turns ' into ". malloc'd; NULL on ENOMEM.
 */
char *bfcl_standardize(const char *s);

/*
 * A Java or JavaScript argument (the string the model wrote) converted the
 * way BFCL's type converter does for a parameter of type (and element type
 * nested, or NULL): numbers, booleans, lists and maps out of source-code
 * literals, the string itself where it does not parse. New value, or NULL
 * on ENOMEM. Numbers converted from a floating-point literal are marked so
 * that BFCL's int/float distinction survives (bfcl_is_float).
 */
cJSON *bfcl_convert(enum bfcl_lang lang, const char *value, const char *type,
		    const char *nested);
bool bfcl_is_float(const cJSON *v);

/*
 * Marks the numbers of v, parsed from the JSON text, that the text writes as
 * floats (a fraction or an exponent: 5.0, 1e3): Python's json.loads reads
 * them as floats, which BFCL's type checks tell from ints, and cJSON does not.
 */
void bfcl_mark_floats(cJSON *v, const char *text);

#endif
