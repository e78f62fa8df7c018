/* gill-mapper.h — GILLMapper: GILL's [IMG] hidden states -> Stable Diffusion's 77 prompt embeddings.
 *
 * Reference: kohjingyu/gill, gill/layers.py (TextFcLayer, mode "gill_mapper") and torch 1.13's
 * nn.Transformer (norm_first=True, batch_first=True, relu, dropout 0, layer_norm_eps 1e-5);
 * shared/reference/gill.md §4.5. Per sequence:
 *
 *   x = fc (hidden_states + input_embs)                   [T, H]
 *   encoder, pre-norm: x += SA (LN1 x); x += FF (LN2 x)   then m = LN_enc x
 *   y = query_embs                                        [Q, H]
 *   decoder, pre-norm: y += SA (LN1 y); y += MHA (LN2 y, m); y += FF (LN3 y)   then LN_dec y
 *   out = model (y)                                       [Q, out_dim]
 *
 * No masks anywhere. Names are the checkpoint's, below a prefix the lookup carries
 * ("model.gen_text_hidden_fcs.0."):
 *
 *   GillMapperConfig config;
 *   gill_mapper_config_from_weights (&lookup, &config, &error);   // shapes from fc, model, query_embs
 *   g_autoptr (GillMapperWeights) w = gill_mapper_weights_bind (&config, &lookup, &error);
 *   gill_mapper_forward (w, hidden_states, input_embs, batch, n_tokens, out, &error);
 *
 * Matrices stay as the file has them (GILL's release is bf16) and are widened per product;
 * LayerNorm parameters are widened once at bind time. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"
#include "core/base/weights.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------ config */

typedef struct
{
  gint64 in_dim;           /* the LM's hidden size (4096) */
  gint64 hidden_dim;       /* d_model (512, hard-coded in GILL) */
  gint64 out_dim;          /* gen_emb_dim: SD's cross-attention width (768) */
  gint64 n_output_tokens;  /* num_clip_tokens: rows of query_embs (77) */
  gint64 n_head;           /* nhead (4) */
  gint64 n_encoder_layers; /* num_encoder_layers (4) */
  gint64 n_decoder_layers; /* num_decoder_layers (4) */
  gint64 n_ffn;            /* dim_feedforward (4 x hidden_dim) */
} GillMapperConfig;

#define GILL_MAPPER_LAYER_NORM_EPS 1e-5f /* nn.Transformer's default layer_norm_eps */
#define GILL_MAPPER_N_HEAD 4             /* GILL's nhead: not recorded in the checkpoint */

/* the shapes of fc.weight [hidden, in], model.weight [out, hidden], query_embs [1, Q, hidden],
 * linear1.weight [ffn, hidden] and the number of tfm.{encoder,decoder}.layers.i present */
gboolean gill_mapper_config_from_weights (const GillWeights *lookup, GillMapperConfig *config, GError **error);

/* ------------------------------------------------------------------ weights */

typedef struct
{
  GillTensor *weight; /* [out, in] (borrowed) */
  GillTensor *bias;   /* [out] (borrowed) */
} GillMapperLinear;

typedef struct
{
  const float *weight; /* [hidden] */
  const float *bias;   /* [hidden] */
} GillMapperNorm;

typedef struct
{
  GillMapperLinear in_proj;  /* in_proj_weight [3 hidden, hidden]: rows W_q, W_k, W_v; in_proj_bias */
  GillMapperLinear out_proj; /* [hidden, hidden] + [hidden] */
} GillMapperAttention;

typedef struct
{
  GillMapperNorm norm1; /* before self-attention */
  GillMapperAttention self_attn;
  GillMapperNorm norm2;               /* encoder: before the FFN; decoder: before cross-attention */
  GillMapperAttention multihead_attn; /* decoder only: queries from y, keys and values from memory */
  GillMapperNorm norm3;               /* decoder only: before the FFN */
  GillMapperLinear linear1;           /* [ffn, hidden] + [ffn]; relu follows */
  GillMapperLinear linear2;           /* [hidden, ffn] + [hidden] */
} GillMapperLayer;

typedef struct
{
  GillMapperConfig config;
  GillMapperLinear fc;         /* [hidden, in] + [hidden] */
  const float *query_embs;     /* [n_output_tokens, hidden] */
  GillMapperLayer *encoder;    /* [n_encoder_layers] tfm.encoder.layers.i */
  GillMapperNorm encoder_norm; /* tfm.encoder.norm */
  GillMapperLayer *decoder;    /* [n_decoder_layers] tfm.decoder.layers.i */
  GillMapperNorm decoder_norm; /* tfm.decoder.norm */
  GillMapperLinear model;      /* [out, hidden] + [out] */
  GPtrArray *owned;            /* widened vectors */
} GillMapperWeights;

/* every tensor the config needs, shapes checked (MODEL_MISSING / SHAPE naming file and tensor) */
GillMapperWeights *gill_mapper_weights_bind (const GillMapperConfig *config, const GillWeights *lookup, GError **error);
void gill_mapper_weights_free (GillMapperWeights *weights);

/* ------------------------------------------------------------------ forward */

/* hidden_states, input_embs [batch, n_tokens, in_dim] (input_embs may be NULL: not added) ->
 * out [batch, n_output_tokens, out_dim]. OUT_OF_MEMORY when the scratch cannot be allocated. */
gboolean gill_mapper_forward (const GillMapperWeights *weights,
                              const float *hidden_states,
                              const float *input_embs,
                              gint64 batch,
                              gint64 n_tokens,
                              float *out,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillMapperWeights, gill_mapper_weights_free)

G_END_DECLS
