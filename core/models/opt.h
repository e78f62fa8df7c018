/* opt.h — OPT, the decoder-only transformer GILL uses as its language model (facebook/opt-6.7b).
 *
 * Reference: transformers 4.30.2, models/opt/modeling_opt.py (OPTForCausalLM, OPTDecoder,
 * OPTDecoderLayer, OPTAttention, OPTLearnedPositionalEmbedding); shared/reference/models.md §1.
 *
 *   GillOptConfig config;
 *   gill_opt_config_from_json (json, "config.json", &config, &error);       // or _preset ("6.7b")
 *   GillWeights lookup = gill_store_weights (store);                        // "decoder.*" names
 *   g_autoptr (GillOptWeights) w = gill_opt_weights_bind (&config, &lookup, &error);
 *   g_autoptr (GillOptState) s = gill_opt_state_new (&config, 1, 256, &error);
 *   GillOptInput in = { .batch = 1, .seq = n, .input_ids = ids };        // or .inputs_embeds
 *   GillOptOutput out = { .logits = logits, .logits_rows = GILL_OPT_LOGITS_LAST };
 *   gill_opt_forward (w, s, &in, &out, &error);   // fills the KV cache; call again with new tokens
 *
 * Weights stay in the file's dtype (f32, f16, bf16), memory-mapped and borrowed from the lookup
 * (keep the store alive); gill_opt_weights_quantize_int8 replaces the linear layers' weights by
 * per-output-channel int8 copies. Forward computes in f32: inputs of more than GILL_MATVEC_MAX_N
 * rows widen one weight at a time into the state's scratch for a GEMM; shorter ones (decode) use
 * the fused matrix–vector kernels on the stored weights. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/progress.h"
#include "core/base/tensor.h"
#include "core/base/weights.h"
#include "core/ops/matvec.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------ config */

typedef enum
{
  GILL_OPT_ACTIVATION_RELU, /* "relu" (every published OPT) */
  GILL_OPT_ACTIVATION_GELU, /* "gelu" (exact erf form) */
} GillOptActivation;

typedef struct
{
  gint64 vocab_size;             /* vocab_size: rows of embed_tokens (50272) */
  gint64 n_embd;                 /* hidden_size (4096) */
  gint64 n_layer;                /* num_hidden_layers (32) */
  gint64 n_head;                 /* num_attention_heads (32); head_dim = n_embd / n_head */
  gint64 n_ffn;                  /* ffn_dim (16384) */
  gint64 n_ctx;                  /* max_position_embeddings (2048); the table has n_ctx + 2 rows */
  gint64 n_word_embd;            /* word_embed_proj_dim: 4096 = n_embd (6.7B); 512 (350m: project_in/out) */
  gboolean layer_norm_before;    /* do_layer_norm_before: pre-LN (6.7B) or post-LN (350m) */
  gboolean final_layer_norm;     /* do_layer_norm_before && !_remove_final_layer_norm */
  gboolean bias;                 /* enable_bias: every Linear but lm_head/project_in/out has one */
  gboolean layer_norm_affine;    /* layer_norm_elementwise_affine */
  GillOptActivation activation;  /* activation_function */
  gint64 pad_token_id;           /* 1 */
  gint64 bos_token_id;           /* 2 */
  gint64 eos_token_id;           /* 2 */
} GillOptConfig;

/* LayerNorm eps: nn.LayerNorm's default, not a config field */
#define GILL_OPT_LAYER_NORM_EPS 1e-5f
/* OPTLearnedPositionalEmbedding.offset: position p uses row p + 2 */
#define GILL_OPT_POSITION_OFFSET 2

/* a parsed config.json (file names the file in messages); unknown keys are ignored, an
 * unsupported value is UNSUPPORTED, a wrong type or impossible value FORMAT, naming file and key */
gboolean     gill_opt_config_from_json (JsonObject     *json,
                                        const gchar    *file,
                                        GillOptConfig  *config,
                                        GError        **error);
/* a published size with its real shapes: "125m", "350m", "1.3b", "2.7b", "6.7b", "13b" */
gboolean     gill_opt_config_preset    (const gchar    *name,
                                        GillOptConfig  *config,
                                        GError        **error);
/* parameters of the decoder (no lm_head: it is tied) */
guint64      gill_opt_config_n_params  (const GillOptConfig *config);

/* ------------------------------------------------------------------ weights */

typedef struct
{
  GillMatrix weight;    /* [out, in]; data NULL when the layer does not exist */
  const float *bias;    /* [out] f32, or NULL */
} GillOptLinear;

typedef struct
{
  /* attention block */
  const float *self_attn_layer_norm_weight; /* [n_embd] or NULL (no affine) */
  const float *self_attn_layer_norm_bias;   /* [n_embd] or NULL */
  GillOptLinear q_proj;                     /* [n_embd, n_embd] + [n_embd] */
  GillOptLinear k_proj;                     /* [n_embd, n_embd] + [n_embd] */
  GillOptLinear v_proj;                     /* [n_embd, n_embd] + [n_embd] */
  GillOptLinear out_proj;                   /* [n_embd, n_embd] + [n_embd] */
  /* feed-forward block */
  const float *final_layer_norm_weight;     /* [n_embd] or NULL */
  const float *final_layer_norm_bias;       /* [n_embd] or NULL */
  GillOptLinear fc1;                        /* [n_ffn, n_embd] + [n_ffn] */
  GillOptLinear fc2;                        /* [n_embd, n_ffn] + [n_embd] */
} GillOptLayer;

typedef struct
{
  GillOptConfig config;
  GillTensor *embed_tokens;      /* [vocab_size, n_word_embd] (borrowed); the tied lm_head too */
  GillTensor *embed_positions;   /* [n_ctx + 2, n_embd] (borrowed) */
  GillOptLinear project_in;      /* [n_embd, n_word_embd], no bias; absent unless 350m-style */
  GillOptLinear project_out;     /* [n_word_embd, n_embd], no bias; absent unless 350m-style */
  const float *final_layer_norm_weight; /* [n_embd] or NULL (post-LN models have none) */
  const float *final_layer_norm_bias;   /* [n_embd] or NULL */
  GillOptLayer *layers;          /* [n_layer] */
  GillMatrix lm_head;            /* embed_tokens as a matrix [vocab_size, n_word_embd] (or int8) */
  /* rows that replace or extend the vocabulary (GILL's resize_token_embeddings + [IMG] rows) */
  GillTensor *extra_tokens;      /* [n_extra, n_word_embd] (borrowed) or NULL */
  gint64 extra_from;             /* the token id of extra_tokens' first row */
  GillMatrix extra_head;         /* extra_tokens as a matrix (or int8) */
  gint64 n_vocab;                /* logits per position: max (vocab_size, extra_from + n_extra) */
  GPtrArray *owned;              /* buffers the weights own: widened vectors, int8 copies */
} GillOptWeights;

/* bind every tensor the config needs from `lookup` ("decoder.*" names), checking shapes and
 * dtypes: MODEL_MISSING / SHAPE errors name the file and the tensor; biases and LayerNorm
 * parameters are widened to f32 (small), matrices are used where they lie */
GillOptWeights *gill_opt_weights_bind          (const GillOptConfig *config,
                                                const GillWeights   *lookup,
                                                GError             **error);
void            gill_opt_weights_free          (GillOptWeights      *weights);
/* token ids extra_from .. extra_from + n - 1 read their embedding (and lm_head row) from
 * `rows` [n, n_word_embd] instead (borrowed: keep it alive); the vocabulary grows to cover them */
gboolean        gill_opt_weights_set_extra_tokens (GillOptWeights   *weights,
                                                   GillTensor       *rows,
                                                   gint64            extra_from,
                                                   GError          **error);
/* replace every linear weight and the lm_head by an int8 copy (per output channel, symmetric);
 * OUT_OF_MEMORY when a copy cannot be allocated (the weights stay usable, partly quantised) */
gboolean        gill_opt_weights_quantize_int8 (GillOptWeights      *weights,
                                                GError             **error);
/* bytes the weights read for one decode token (every linear layer and the lm_head) */
guint64         gill_opt_weights_decode_bytes  (const GillOptWeights *weights);

/* ------------------------------------------------------------------ state */

typedef struct
{
  GillOptConfig config;
  gint64 max_batch;      /* sequences the cache holds */
  gint64 max_seq;        /* positions per sequence the cache holds (past + new) */
  gint64 n_past;         /* positions already in the cache */
  float *k_cache;        /* [n_layer, max_batch, n_head, max_seq, head_dim] keys (not pre-scaled) */
  float *v_cache;        /* [n_layer, max_batch, n_head, max_seq, head_dim] values */
  /* activations of one forward, rows = batch x seq <= max_batch x max_seq */
  float *h;              /* [rows, n_embd] the residual stream */
  float *a;              /* [rows, n_embd] a block's normed input, then its output */
  float *q;              /* [rows, n_embd] queries (scaled), then keys/values before the cache */
  float *o;              /* [rows, n_embd] attention output, heads concatenated */
  float *f;              /* [rows, max (n_ffn, n_word_embd)] fc1 output; word embeddings */
  float *scores;         /* attention probabilities: one head's [seq, P] (prefill), or all
                          * heads' [seq, P] with their queries (decode) */
  gint64 *positions;     /* [rows] embed_positions row of each new position */
  float *scratch;        /* weight widening: one layer's largest matrix */
  gsize scratch_floats;
  gsize bytes;           /* everything above */
} GillOptState;

/* bytes a state of this size allocates (cache, activations, scratch) */
guint64       gill_opt_state_bytes   (const GillOptConfig *config,
                                      gint64               max_batch,
                                      gint64               max_seq);
/* OUT_OF_MEMORY (with the size) when the allocation fails */
GillOptState *gill_opt_state_new     (const GillOptConfig *config,
                                      gint64               max_batch,
                                      gint64               max_seq,
                                      GError             **error);
void          gill_opt_state_free    (GillOptState        *state);
/* forget the cache (a new sequence) */
void          gill_opt_state_reset   (GillOptState        *state);

/* bytes of weights for this config in `dtype` (F32, F16, BF16 or I8: linear layers and lm_head
 * int8, embeddings f16) plus a state of (max_batch, max_seq) */
guint64       gill_opt_memory_needed (const GillOptConfig *config,
                                      GillDType            dtype,
                                      gint64               max_batch,
                                      gint64               max_seq);
/* OUT_OF_MEMORY, before anything is loaded, when `available` bytes are not enough: the message
 * says how much is needed and which smaller dtype would fit */
gboolean      gill_opt_check_memory  (const GillOptConfig *config,
                                      GillDType            dtype,
                                      gint64               max_batch,
                                      gint64               max_seq,
                                      guint64              available,
                                      GError             **error);

/* ------------------------------------------------------------------ forward */

typedef enum
{
  GILL_OPT_LOGITS_NONE,
  GILL_OPT_LOGITS_ALL,   /* logits [batch, seq, n_vocab] */
  GILL_OPT_LOGITS_LAST,  /* logits [batch, n_vocab] of each sequence's last new position */
} GillOptLogitsRows;

typedef struct
{
  gint64 batch;                 /* sequences (<= the state's max_batch) */
  gint64 seq;                   /* new positions per sequence */
  const gint64 *input_ids;      /* [batch, seq] token ids, or NULL when inputs_embeds is given */
  const float *inputs_embeds;   /* [batch, seq, n_word_embd] (GILL interleaves image embeddings) */
  const gint64 *attention_mask; /* [batch, n_past + seq] 1 = attend, 0 = padding; NULL = all 1 */
  GillProgressFunc progress;    /* after each layer ("opt"); FALSE cancels; may be NULL */
  gpointer progress_data;
} GillOptInput;

typedef struct
{
  GillOptLogitsRows logits_rows;
  float *logits;                /* see GillOptLogitsRows; n_vocab wide */
  /* hidden_states[k], k = 0 .. n_layer, each [batch, seq, width] or NULL: k = 0 the embeddings
   * (after project_in, plus positions), k = 1 .. n_layer - 1 the layer outputs, k = n_layer the
   * lm_head input (after the final LayerNorm and project_out; n_word_embd wide). NULL = none. */
  float **hidden_states;
} GillOptOutput;

/* run the new positions through the model, appending their keys and values to the cache */
gboolean gill_opt_forward (const GillOptWeights *weights,
                           GillOptState         *state,
                           const GillOptInput   *input,
                           GillOptOutput        *output,
                           GError              **error);
/* the embedding rows of token ids (with extra tokens) into out [n, n_word_embd] */
gboolean gill_opt_embed   (const GillOptWeights *weights,
                           const gint64         *ids,
                           gint64                n,
                           float                *out,
                           GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillOptWeights, gill_opt_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillOptState, gill_opt_state_free)

G_END_DECLS
