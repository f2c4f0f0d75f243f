/*
 * Context padding (--context N, sweep --vary context=1k,5k,...): grows each
 * task's system prompt and tool list to about N tokens with neutral material
 * from the corpus the project ships (workloads/padding/corpus.json: tools and
 * handbook sections of a fictional water utility that no task is about), so
 * one sweep measures success and joules against context size on the same
 * tasks.
 *
 * Size is ESTIMATED as bytes / 4 of the system prompt plus the tools' JSON
 * (the rule the context-overhead figure uses; the server's own prompt_tokens
 * in calls.csv give the tokenizer's count). Padding alternates one distractor
 * tool and one handbook section, in an order fixed by the seed, until the
 * estimate reaches N; the same seed pads every task with the same sequence,
 * so the padded part is a prefix that tasks share, as a real agent's is. A
 * task already at N or above is left as it is. Past the corpus (~27k tokens)
 * the handbook sections repeat, each repeat marked "(reprint K)", and the
 * tools are not repeated (a tool name must be unique in a request).
 */
#ifndef AP_PAD_H
#define AP_PAD_H

#include <stdint.h>

#include "util.h"
#include "workload.h"

struct pad_corpus;

/* Loads and validates the corpus: 0, or -errno with err ("file: field: message"). */
int pad_corpus_load(struct pad_corpus **out, const char *path, struct ap_error *err);
void pad_corpus_free(struct pad_corpus *c);
/* sha256 of the corpus file, for meta.json */
const char *pad_corpus_sha256(const struct pad_corpus *c);

/* Estimated tokens (bytes / 4) of t's system prompt and tools. */
long pad_task_tokens(const struct task *t);

/*
 * Pads t in place to at least target tokens (see above). *added_tools and
 * *added_docs (may be NULL) say what was added. Returns the task's estimate
 * afterwards, or -ENOMEM.
 */
long pad_task(struct task *t, const struct pad_corpus *c, long target, uint64_t seed,
	      int *added_tools, int *added_docs);

/* The shipped corpus, workloads/padding/corpus.json, found as util.h's
 * ap_data_find finds data files. 0 and the path in buf, or -ENOENT. */
int pad_default_corpus(char *buf, size_t n);

/*
 * --context N: from now on workload_next pads each of wl's tasks (system
 * prompt and tools) to about target tokens with the corpus at corpus_path,
 * in the order seed fixes. 0, or -errno with err naming the corpus file.
 */
int pad_set_context(struct workload *wl, const char *corpus_path, long target, uint64_t seed,
		    struct ap_error *err);

/* "25k" -> 25000, "1500" -> 1500; -EINVAL for anything else (or <= 0). */
int pad_parse_size(const char *s, long *out);

#endif
