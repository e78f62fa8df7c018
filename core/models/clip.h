/* clip.h — CLIP's two towers: the ViT image encoder GILL feeds its LM with, and the text encoder
 * Stable Diffusion conditions on (openai/clip-vit-large-patch14; SD's text_encoder/).
 *
 * Reference: transformers 4.30.2, models/clip/modeling_clip.py (CLIPVisionEmbeddings,
 * CLIPTextEmbeddings, CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder,
 * CLIPVisionTransformer, CLIPTextTransformer, CLIPModel.get_image_features/get_text_features/
 * forward) and configuration_clip.py; shared/reference/models.md §2.
 *
 *   GillClipVisionConfig config;
 *   gill_clip_vision_config_from_json (json, "config.json", &config, &error);  // or _preset
 *   GillWeights lookup = gill_store_weights (store);        // "vision_model.*" (+ projection)
 *   g_autoptr (GillClipVisionWeights) w = gill_clip_vision_weights_bind (&config, &lookup, &error);
 *   g_autoptr (GillClipState) s = gill_clip_state_new_vision (&config, 8, &error);
 *   GillClipOutput out = { .pooler_output = pooled, .embeds = embeds };
 *   gill_clip_vision_forward (w, s, pixel_values, batch, &out, &error);
 *
 * and the same with Text for token ids. Weights stay as the file has them (f32, f16, bf16),
 * memory-mapped and borrowed from the lookup (keep the store alive): f32 matrices are used in
 * place, 16-bit ones widened one at a time into the state's scratch just before their GEMM.
 * Vectors (biases, norms, class/position embeddings) are widened to f32 at bind time. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/tensor.h"
#include "core/base/weights.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------ config */

typedef enum
{
  GILL_CLIP_ACTIVATION_QUICK_GELU, /* "quick_gelu": x sigmoid (1.702 x) (every OpenAI CLIP) */
  GILL_CLIP_ACTIVATION_GELU,       /* "gelu": exact erf form (OpenCLIP, SD 2.x) */
} GillClipActivation;

/* what both towers' transformer encoders share */
typedef struct
{
  gint64 hidden_size;             /* D: 1024 vision, 768 text (ViT-L/14) */
  gint64 intermediate_size;       /* MLP width: 4096 vision, 3072 text */
  gint64 num_hidden_layers;       /* 24 vision, 12 text */
  gint64 num_attention_heads;     /* 16 vision, 12 text; head_dim = D / heads = 64 */
  float layer_norm_eps;           /* 1e-5 */
  GillClipActivation hidden_act;  /* quick_gelu */
} GillClipEncoderConfig;

typedef struct
{
  GillClipEncoderConfig encoder;
  gint64 image_size;              /* 224 */
  gint64 patch_size;              /* 14: (224 / 14)^2 = 256 patches + 1 class token = 257 */
  gint64 num_channels;            /* 3 */
  gint64 projection_dim;          /* 768: visual_projection [projection_dim, D], if present */
} GillClipVisionConfig;

typedef struct
{
  GillClipEncoderConfig encoder;
  gint64 vocab_size;              /* 49408 */
  gint64 max_position_embeddings; /* 77 */
  gint64 projection_dim;          /* 768: text_projection [projection_dim, D], if present */
} GillClipTextConfig;

/* transformers' CLIPVisionConfig / CLIPTextConfig defaults (ViT-B/32-sized) */
void     gill_clip_vision_config_default (GillClipVisionConfig *config);
void     gill_clip_text_config_default   (GillClipTextConfig   *config);
/* real shapes: "vit-l-14" (openai/clip-vit-large-patch14, SD 1.x's text encoder), "vit-b-32",
 * "vit-b-16"; UNSUPPORTED for another name */
gboolean gill_clip_vision_config_preset  (const gchar          *name,
                                          GillClipVisionConfig *config,
                                          GError              **error);
gboolean gill_clip_text_config_preset    (const gchar          *name,
                                          GillClipTextConfig   *config,
                                          GError              **error);
/* a parsed config.json on top of `config` (start from _default): a CLIPModel config
 * (vision_config / text_config, then the legacy vision_config_dict / text_config_dict over them,
 * projection_dim at the top), a CLIPVisionModel / CLIPTextModel config (model_type
 * clip_vision_model / clip_text_model, keys at the top), or a bare object of those keys (an LDM
 * yaml's cond_stage_config.params). file names the file in messages; wrong types and impossible
 * values are FORMAT, an unknown hidden_act UNSUPPORTED. */
gboolean gill_clip_vision_config_from_json (JsonObject           *json,
                                            const gchar          *file,
                                            GillClipVisionConfig *config,
                                            GError              **error);
gboolean gill_clip_text_config_from_json   (JsonObject           *json,
                                            const gchar          *file,
                                            GillClipTextConfig   *config,
                                            GError              **error);
/* multiply-accumulates x 2 of one forward (convs, linears, attention products; models.md §5.2) */
double   gill_clip_vision_flops          (const GillClipVisionConfig *config);
double   gill_clip_text_flops            (const GillClipTextConfig   *config,
                                          gint64                      n_tokens);

/* ------------------------------------------------------------------ weights */

/* one CLIPEncoderLayer: names under "encoder.layers.{i}." */
typedef struct
{
  /* "layer_norm1", then "self_attn" (CLIPAttention; no dropout at inference) */
  const float *layer_norm1_weight;  /* [D] */
  const float *layer_norm1_bias;    /* [D] */
  GillTensor *q_proj_weight;        /* [D, D] */
  const float *q_proj_bias;         /* [D] */
  GillTensor *k_proj_weight;        /* [D, D] */
  const float *k_proj_bias;         /* [D] */
  GillTensor *v_proj_weight;        /* [D, D] */
  const float *v_proj_bias;         /* [D] */
  GillTensor *out_proj_weight;      /* [D, D] */
  const float *out_proj_bias;       /* [D] */
  /* "layer_norm2", then "mlp" (CLIPMLP: fc1, activation, fc2) */
  const float *layer_norm2_weight;  /* [D] */
  const float *layer_norm2_bias;    /* [D] */
  GillTensor *fc1_weight;           /* [I, D] */
  const float *fc1_bias;            /* [I] */
  GillTensor *fc2_weight;           /* [D, I] */
  const float *fc2_bias;            /* [D] */
} GillClipLayer;

typedef struct
{
  GillClipVisionConfig config;
  /* "vision_model.embeddings." */
  const float *class_embedding;        /* [D] */
  GillTensor *patch_embedding;         /* [D, C, P, P] Conv2d, stride P, no bias */
  const float *position_embedding;     /* [1 + (S/P)^2, D] ("position_ids" is ignored: arange) */
  /* "vision_model.pre_layrnorm" (sic) */
  const float *pre_layrnorm_weight;    /* [D] */
  const float *pre_layrnorm_bias;      /* [D] */
  GillClipLayer *layers;               /* [num_hidden_layers] "vision_model.encoder.layers.*" */
  /* "vision_model.post_layernorm", on the class token only */
  const float *post_layernorm_weight;  /* [D] */
  const float *post_layernorm_bias;    /* [D] */
  GillTensor *visual_projection;       /* [projection_dim, D], no bias; NULL when absent */
  GPtrArray *owned;                    /* the widened vectors */
} GillClipVisionWeights;

typedef struct
{
  GillClipTextConfig config;
  /* "text_model.embeddings." */
  GillTensor *token_embedding;         /* [vocab_size, D]: rows widened as they are looked up */
  const float *position_embedding;     /* [max_position_embeddings, D] */
  GillClipLayer *layers;               /* [num_hidden_layers] "text_model.encoder.layers.*" */
  /* "text_model.final_layer_norm", on every token */
  const float *final_layer_norm_weight; /* [D] */
  const float *final_layer_norm_bias;   /* [D] */
  GillTensor *text_projection;         /* [projection_dim, D], no bias; NULL when absent */
  GPtrArray *owned;
} GillClipTextWeights;

/* bind every tensor from `lookup` (names as in CLIPModel / CLIPVisionModel / CLIPTextModel:
 * "vision_model.*" + "visual_projection.weight", "text_model.*" + "text_projection.weight"; give
 * a prefixed lookup for other roots, e.g. "cond_stage_model.transformer."). The projection is
 * optional (a bare CLIPVisionModel / SD text encoder has none); everything else is checked:
 * MODEL_MISSING or SHAPE naming the tensor, the file, expected and found. */
GillClipVisionWeights *gill_clip_vision_weights_bind (const GillClipVisionConfig *config,
                                                      const GillWeights          *lookup,
                                                      GError                    **error);
void                   gill_clip_vision_weights_free (GillClipVisionWeights      *weights);
GillClipTextWeights   *gill_clip_text_weights_bind   (const GillClipTextConfig   *config,
                                                      const GillWeights          *lookup,
                                                      GError                    **error);
void                   gill_clip_text_weights_free   (GillClipTextWeights        *weights);
/* CLIPModel's "logit_scale" (a 0-d tensor); MODEL_MISSING when the checkpoint has none */
gboolean               gill_clip_logit_scale         (const GillWeights          *lookup,
                                                      float                      *logit_scale,
                                                      GError                    **error);

/* ------------------------------------------------------------------ state */

typedef struct
{
  gint64 max_batch;     /* images or sequences per forward */
  gint64 max_tokens;    /* tokens per sequence: 1 + patches, or max_position_embeddings */
  gint64 width;         /* D */
  gint64 n_inner;       /* intermediate_size */
  float *x;             /* [B, T, D] the residual stream */
  float *h;             /* [B, T, D] a block's normed input, then its output */
  float *q;             /* [B, T, D] queries (scaled) */
  float *k;             /* [B, T, D] keys */
  float *v;             /* [B, T, D] values */
  float *o;             /* [B, T, D] attention output, heads concatenated */
  float *f;             /* [B, T, max (I, C P P)] fc1 output; the patches (im2col) */
  float *scores;        /* [T, T] one head's attention probabilities */
  float *pooled;        /* [B, D] pooled tokens */
  float *scratch;       /* one matrix widened to f32 */
  gsize scratch_floats;
  gsize bytes;          /* everything above */
} GillClipState;

/* OUT_OF_MEMORY (with the size) when the allocation fails */
GillClipState *gill_clip_state_new_vision (const GillClipVisionConfig *config,
                                           gint64                      max_batch,
                                           GError                    **error);
GillClipState *gill_clip_state_new_text   (const GillClipTextConfig   *config,
                                           gint64                      max_batch,
                                           GError                    **error);
void           gill_clip_state_free       (GillClipState              *state);

/* ------------------------------------------------------------------ forward */

/* What a forward writes; every member may be NULL (not wanted). */
typedef struct
{
  float *last_hidden_state;  /* [B, T, D]: vision the encoder output (no final LN), text
                              * final_layer_norm (encoder output) */
  float *pooler_output;      /* [B, D]: vision post_layernorm (class token), text
                              * last_hidden_state at the first argmax id (EOS) */
  float *embeds;             /* [B, projection_dim]: pooler_output x projection^T (needs it) */
  /* hidden_states[k], k = 0 .. num_hidden_layers, each [B, T, D]: k = 0 the encoder input
   * (vision: after pre_layrnorm; text: token + position embeddings), k >= 1 the layer outputs */
  float **hidden_states;
} GillClipOutput;

/* pixel_values [batch, C, S, S] (preprocessed) -> out; batch <= the state's max_batch.
 * INVALID_ARGUMENT for a wrong batch, embeds wanted without a projection. */
gboolean gill_clip_vision_forward (const GillClipVisionWeights *weights,
                                   GillClipState               *state,
                                   const float                 *pixel_values,
                                   gint64                       batch,
                                   GillClipOutput              *out,
                                   GError                     **error);
/* input_ids [batch, n_tokens] (n_tokens <= max_position_embeddings, no padding mask: SD's
 * convention) -> out. INVALID_ARGUMENT for an id outside the vocabulary or too many tokens. */
gboolean gill_clip_text_forward   (const GillClipTextWeights   *weights,
                                   GillClipState               *state,
                                   const gint64                *input_ids,
                                   gint64                       batch,
                                   gint64                       n_tokens,
                                   GillClipOutput              *out,
                                   GError                     **error);
/* CLIPModel.forward's logits_per_image [n_images, n_texts] = exp (logit_scale) cos (image, text) */
void     gill_clip_similarity     (const float                 *image_embeds,
                                   gint64                       n_images,
                                   const float                 *text_embeds,
                                   gint64                       n_texts,
                                   gint64                       dim,
                                   float                        logit_scale,
                                   float                       *logits_per_image);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClipVisionWeights, gill_clip_vision_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClipTextWeights, gill_clip_text_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClipState, gill_clip_state_free)

G_END_DECLS
