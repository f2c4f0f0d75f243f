/*
 * mkmodel: writes a tiny llama-architecture GGUF with random weights, so the
 * main job runs end to end on a machine with no network and no model. It is
 * a smoke-test model: it exercises llama-server's loading, tokenizing,
 * sampling, timing and energy paths and cannot follow any instruction.
 *
 * Built against ggml's gguf API from the llama.cpp source that
 * scripts/build-llama-server.sh already caches (see the Makefile's
 * `smoke-model` target). The output is deterministic (fixed seed), so its
 * sha256 is stable for a given ggml version.
 *
 *   mkmodel OUT.gguf [WIDTH LAYERS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "gguf.h"

#define N_CTX 8192

/* Pieces beyond the byte tokens: SentencePiece-style, "▁" marks a word start. */
static const char *const words[] = {
	"the", "a", "to", "of", "and", "is", "in", "that", "it", "for", "you", "with", "on", "as",
	"are", "be", "this", "was", "have", "or", "at", "not", "by", "from", "call", "tool",
	"function", "name", "arguments", "json", "answer", "user", "assistant", "system", "get",
	"weather", "city", "value", "return", "result", "true", "false", "null", "def", "print",
	"Once", "upon", "time", "there", "little", "girl", "boy", "day", "happy", "play",
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
	/* xorshift64*: fixed seed, so the same file every time. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (float)((rng * 2685821657736338717ull) >> 40) / (float)(1u << 24) - 0.5f;
}

static struct ggml_tensor *tensor(struct ggml_context *ctx, struct gguf_context *g, const char *name,
				  int64_t ne0, int64_t ne1, float scale, float fill)
{
	struct ggml_tensor *t = ne1 ? ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne0, ne1)
				    : ggml_new_tensor_1d(ctx, GGML_TYPE_F32, ne0);
	ggml_set_name(t, name);
	float *d = t->data;
	for (int64_t i = 0; i < ggml_nelements(t); i++)
		d[i] = scale ? frand() * scale : fill;
	gguf_add_tensor(g, t);
	return t;
}

int main(int argc, char **argv)
{
	/* Default: 64 wide, 2 layers (a few hundred KB, milliseconds a token).
	 * WIDTH and LAYERS make a model as costly per token as a real small one
	 * (768 and 12: about 85M parameters in the layers, like SmolLM2-135M
	 * without its embeddings), for measurements that need a server doing
	 * realistic work; it is still random and follows nothing. */
	int n_embd = 64, n_layer = 2;
	if (argc == 4) {
		n_embd = atoi(argv[2]);
		n_layer = atoi(argv[3]);
	}
	if ((argc != 2 && argc != 4) || n_embd < 64 || n_embd > 8192 || n_embd % 64 ||
	    n_layer < 1 || n_layer > 128) {
		fprintf(stderr, "usage: mkmodel OUT.gguf [WIDTH LAYERS]  (WIDTH a multiple of 64, "
				"64..8192; LAYERS 1..128)\n");
		return 2;
	}
	int n_head = n_embd >= 256 ? n_embd / 64 : 4;
	/* SwiGLU width about 8/3 of the model's, a multiple of 4 (64 gives 172). */
	int n_ff = (n_embd * 8 / 3 + 3) / 4 * 4;
	enum { N_SPECIAL = 3, N_BYTES = 256 };
	size_t n_words = sizeof(words) / sizeof(words[0]);
	size_t n_vocab = N_SPECIAL + N_BYTES + n_words;
	const char **tok = calloc(n_vocab, sizeof(*tok));
	char (*store)[32] = calloc(n_vocab, sizeof(*store));
	float *scores = calloc(n_vocab, sizeof(*scores));
	int32_t *types = calloc(n_vocab, sizeof(*types));
	int rc = 1;
	struct ggml_context *ctx = NULL;
	struct gguf_context *g = NULL;
	if (!tok || !store || !scores || !types)
		goto out;
	/* llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte. */
	const char *special[N_SPECIAL] = { "<unk>", "<s>", "</s>" };
	for (size_t i = 0; i < N_SPECIAL; i++) {
		snprintf(store[i], sizeof(store[i]), "%s", special[i]);
		types[i] = i ? 3 : 2;
	}
	for (size_t i = 0; i < N_BYTES; i++) {
		snprintf(store[N_SPECIAL + i], sizeof(store[0]), "<0x%02X>", (unsigned)i);
		types[N_SPECIAL + i] = 6;
	}
	for (size_t i = 0; i < n_words; i++) {
		size_t k = N_SPECIAL + N_BYTES + i;
		snprintf(store[k], sizeof(store[k]), "\xe2\x96\x81%s", words[i]);
		types[k] = 1;
		/* Higher score, merged first: whole words before bytes. */
		scores[k] = -(float)i;
	}
	for (size_t i = 0; i < n_vocab; i++)
		tok[i] = store[i];

	g = gguf_init_empty();
	gguf_set_val_str(g, "general.architecture", "llama");
	/* harness/gguf_info.c flags "agentperf-*random*" names as smoke-test models. */
	char name[64];
	if (argc == 4)
		snprintf(name, sizeof(name), "agentperf-random-%dx%d", n_embd, n_layer);
	else
		snprintf(name, sizeof(name), "agentperf-tiny-random");
	gguf_set_val_str(g, "general.name", name);
	gguf_set_val_str(g, "general.description",
			 "random weights written by agentperf tools/mkmodel.c; a smoke-test model "
			 "that cannot follow instructions");
	gguf_set_val_u32(g, "general.file_type", 0); /* all F32 */
	gguf_set_val_u32(g, "llama.context_length", N_CTX);
	gguf_set_val_u32(g, "llama.embedding_length", n_embd);
	gguf_set_val_u32(g, "llama.block_count", n_layer);
	gguf_set_val_u32(g, "llama.feed_forward_length", n_ff);
	gguf_set_val_u32(g, "llama.attention.head_count", n_head);
	gguf_set_val_u32(g, "llama.attention.head_count_kv", n_head);
	gguf_set_val_u32(g, "llama.rope.dimension_count", n_embd / n_head);
	gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_set_val_u32(g, "llama.vocab_size", (uint32_t)n_vocab);
	gguf_set_val_str(g, "tokenizer.ggml.model", "llama");
	gguf_set_arr_str(g, "tokenizer.ggml.tokens", tok, n_vocab);
	gguf_set_arr_data(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, n_vocab);
	gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, n_vocab);
	gguf_set_val_u32(g, "tokenizer.ggml.unknown_token_id", 0);
	gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", 1);
	gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", 2);
	/* ChatML: llama-server formats /v1/chat/completions with it. */
	gguf_set_val_str(g, "tokenizer.chat_template",
			 "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
			 "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
			 "{% endif %}");

	size_t per_layer = 2 * (size_t)n_embd + 4 * (size_t)n_embd * n_embd + 3 * (size_t)n_embd * n_ff;
	size_t floats = 2 * (size_t)n_embd * n_vocab + n_embd + n_layer * per_layer;
	struct ggml_init_params ip = { .mem_size = floats * sizeof(float) + 64 * 1024 * 1024 / 16,
				       .mem_buffer = NULL, .no_alloc = false };
	ctx = ggml_init(ip);
	if (!ctx)
		goto out;
	float s = 0.2f;
	tensor(ctx, g, "token_embd.weight", n_embd, (int64_t)n_vocab, s, 0);
	tensor(ctx, g, "output_norm.weight", n_embd, 0, 0, 1.0f);
	tensor(ctx, g, "output.weight", n_embd, (int64_t)n_vocab, s, 0);
	for (int l = 0; l < n_layer; l++) {
		char n[64];
#define T(suffix, a, b, sc, fill)                                            \
	do {                                                                  \
		snprintf(n, sizeof(n), "blk.%d." suffix, l);                  \
		tensor(ctx, g, n, a, b, sc, fill);                            \
	} while (0)
		T("attn_norm.weight", n_embd, 0, 0, 1.0f);
		T("attn_q.weight", n_embd, n_embd, s, 0);
		T("attn_k.weight", n_embd, n_embd, s, 0);
		T("attn_v.weight", n_embd, n_embd, s, 0);
		T("attn_output.weight", n_embd, n_embd, s, 0);
		T("ffn_norm.weight", n_embd, 0, 0, 1.0f);
		T("ffn_gate.weight", n_embd, n_ff, s, 0);
		T("ffn_down.weight", n_ff, n_embd, s, 0);
		T("ffn_up.weight", n_embd, n_ff, s, 0);
#undef T
	}
	/* Written beside the target and renamed: never a half-written model. */
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.partial", argv[1]);
	if (!gguf_write_to_file(g, tmp, false)) {
		fprintf(stderr, "mkmodel: cannot write %s\n", tmp);
		remove(tmp);
		goto out;
	}
	if (rename(tmp, argv[1])) {
		perror("mkmodel: rename");
		remove(tmp);
		goto out;
	}
	printf("mkmodel: wrote %s (%s: llama, %zu tokens, %d layers, width %d)\n", argv[1], name, n_vocab,
	       n_layer, n_embd);
	rc = 0;
out:
	if (g)
		gguf_free(g);
	if (ctx)
		ggml_free(ctx);
	free(tok);
	free(store);
	free(scores);
	free(types);
	return rc;
}
