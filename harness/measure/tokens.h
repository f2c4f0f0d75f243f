/*
 * Token provenance: every token count in calls.csv says where it came from.
 *   server             the reply's usage object
 *   estimated:bytes/4  no usage in the reply: prompt = bytes of every message's
 *                      content and the tool definitions (JSON) / 4, completion
 *                      = bytes of the streamed text and tool-call arguments / 4,
 *                      rounded up (about 4 bytes per token for English and JSON:
 *                      a rule of thumb, labelled as such); cached tokens 0
 * And a cross-check of the server's count: a streamed call without tool
 * calls whose content chunks and completion_tokens differ by more than one
 * (each chunk should carry one token) is flagged.
 */
#ifndef AP_TOKENS_H
#define AP_TOKENS_H

#include <stdbool.h>

#include "backend.h"
#include "record.h"

#define TOKENS_SRC_SERVER "server"
#define TOKENS_SRC_BYTES "estimated:bytes/4"

/*
 * Fills c->tok_src, c->n_chunks (-1 when not streamed) and, when the server
 * sent no usage and c->status (set before) is ok, the estimated counts. The chunk cross-check is counted
 * where calls are aggregated (summary.c), so `agentperf report` redoes it.
 */
void tokens_provenance(struct call_rec *c, const struct call_result *r,
		       const struct call_input *in, bool streamed);
/* The bytes/4 rule on a length in bytes. */
long tokens_bytes_rule(unsigned long bytes);

#endif
