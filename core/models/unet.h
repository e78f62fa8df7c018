/* unet.h — Stable Diffusion's denoiser: UNet2DConditionModel as SD 1.x configures it.
 *
 * Reference: huggingface/diffusers v0.17.1, src/diffusers/models/unet_2d_condition.py
 * (UNet2DConditionModel), unet_2d_blocks.py (CrossAttnDownBlock2D, DownBlock2D,
 * UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D), embeddings.py (Timesteps,
 * TimestepEmbedding), resnet.py (Downsample2D, Upsample2D); shared/reference/models.md §3.2.
 *
 *   GillUnetConfig config;
 *   gill_unet_config_from_json (json, "unet/config.json", &config, &error);
 *   g_autoptr (GillUnetWeights) w = gill_unet_weights_bind (&config, &lookup, &error);
 *   g_autoptr (GillUnetState) s = gill_unet_state_new (&config, w->wide_floats, 2, 64, 64, 77, &error);
 *   gill_unet_forward (w, s, sample, timesteps, context, noise_pred, &error);
 *
 * Names are diffusers' (core/io/sd-names.c maps CompVis single files onto them). Weights are
 * borrowed from the lookup: f32 used in place, f16/bf16 widened a layer at a time. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/progress.h"
#include "core/base/weights.h"
#include "core/models/sd-blocks.h"

G_BEGIN_DECLS

#define GILL_UNET_MAX_BLOCKS 6
#define GILL_UNET_MAX_LAYERS 4   /* layers_per_block + 1 resnets in an up block */

/* ------------------------------------------------------------------ config */

typedef struct
{
  gint64 in_channels;            /* 4 (latent channels) */
  gint64 out_channels;           /* 4 */
  gint64 n_blocks;               /* 4: len (block_out_channels) */
  gint64 block_out_channels[GILL_UNET_MAX_BLOCKS]; /* 320, 640, 1280, 1280 */
  gboolean down_attention[GILL_UNET_MAX_BLOCKS];   /* CrossAttnDownBlock2D ×3, DownBlock2D */
  gboolean up_attention[GILL_UNET_MAX_BLOCKS];     /* UpBlock2D, CrossAttnUpBlock2D ×3 */
  gint64 n_head[GILL_UNET_MAX_BLOCKS];  /* attention_head_dim per down block: 8 — in diffusers
                                         * 0.17 this is the number of heads, head dim C / 8 */
  gint64 layers_per_block;       /* 2 */
  gint64 cross_attention_dim;    /* 768 (the CLIP text width) */
  gint64 norm_num_groups;        /* 32 */
  float norm_eps;                /* 1e-5 (the transformers' GroupNorm is 1e-6, fixed) */
  gboolean flip_sin_to_cos;      /* TRUE: [cos, sin] */
  float freq_shift;              /* 0 */
  gboolean use_linear_projection;/* FALSE: 1×1-conv proj_in/out (SD 2.x: Linear) */
  gint64 sample_size;            /* 64 latent pixels (512 px) */
} GillUnetConfig;

/* diffusers' UNet2DConditionModel defaults, which are SD 1.x's except sample_size (SD: 64) */
void     gill_unet_config_default    (GillUnetConfig       *config);
/* "sd15": SD 1.5's unet/config.json */
gboolean gill_unet_config_preset     (const gchar          *name,
                                      GillUnetConfig       *config,
                                      GError              **error);
/* unet/config.json on top of the defaults; UNSUPPORTED for options SD 1.x does not use (other
 * block types, class/addition embeddings, time_embedding_type, resnet_time_scale_shift, …) */
gboolean gill_unet_config_from_json  (JsonObject           *json,
                                      const gchar          *file,
                                      GillUnetConfig       *config,
                                      GError              **error);
/* 2 × multiply-accumulates of one evaluation of one sample at latent h×w with n_ctx context
 * tokens (convs, linears, attention products; models.md §5.2) */
double   gill_unet_flops             (const GillUnetConfig *config,
                                      gint64                h,
                                      gint64                w,
                                      gint64                n_ctx);

/* ------------------------------------------------------------------ weights */

typedef struct
{
  gint64 n_resnets;                                    /* layers_per_block (+1 going up) */
  GillSdResnet resnets[GILL_UNET_MAX_LAYERS];          /* "…resnets.{j}" */
  gboolean has_attention;
  GillSdTransformer attentions[GILL_UNET_MAX_LAYERS];  /* "…attentions.{j}" */
  gboolean has_sampler;
  GillSdConv sampler;  /* "downsamplers.0.conv" 3×3 stride 2 pad 1, or "upsamplers.0.conv" */
} GillUnetBlock;

typedef struct
{
  GillUnetConfig config;
  GillSdConv conv_in;                       /* [C0, in, 3, 3] */
  /* time_proj: sinusoidal Timesteps (C0), no parameters */
  GillSdLinear time_linear_1;               /* time_embedding.linear_1 [4 C0, C0] */
  /* time_embedding.act: SiLU */
  GillSdLinear time_linear_2;               /* time_embedding.linear_2 [4 C0, 4 C0] */
  GillUnetBlock down[GILL_UNET_MAX_BLOCKS]; /* "down_blocks.{i}" */
  GillSdResnet mid_resnets[2];              /* "mid_block.resnets.{0,1}" */
  GillSdTransformer mid_attention;          /* "mid_block.attentions.0" */
  GillUnetBlock up[GILL_UNET_MAX_BLOCKS];   /* "up_blocks.{i}" */
  GillSdNorm conv_norm_out;                 /* GroupNorm (groups, C0, norm_eps) */
  /* conv_act: SiLU */
  GillSdConv conv_out;                      /* [out, C0, 3, 3] */
  gsize wide_floats;                        /* largest 16-bit layer widened at once */
} GillUnetWeights;

/* MODEL_MISSING / SHAPE naming the tensor, its file, expected and found */
GillUnetWeights *gill_unet_weights_bind (const GillUnetConfig *config,
                                         const GillWeights    *lookup,
                                         GError              **error);
void             gill_unet_weights_free (GillUnetWeights      *weights);
/* the same parameters made by `make` (random weights of real shapes: benchmarks, tests); make
 * must return a tensor of the shape it is asked for */
GillUnetWeights *gill_unet_weights_make (const GillUnetConfig *config,
                                         GillSdMakeFunc        make,
                                         gpointer              make_data,
                                         GError              **error);

/* ------------------------------------------------------------------ state */

typedef struct
{
  GillUnetConfig config;
  gint64 batch, height, width, n_ctx;  /* the shapes this state runs */
  gint64 level_h[GILL_UNET_MAX_BLOCKS], level_w[GILL_UNET_MAX_BLOCKS]; /* latent size per level */
  float *t_emb;         /* [batch, C0] sinusoidal embedding */
  float *temb;          /* [batch, 4 C0] time embedding */
  float *x;             /* [batch, ≤ max_act] the hidden state */
  float *y;             /* [batch, ≤ max_act] the next one, or x concatenated with a skip */
  float *skips;         /* every down-path output kept for the up path */
  float *work;          /* resnet / transformer intermediates */
  GillSdScratch scratch;
  gsize bytes;          /* everything above */
  /* optional: called after each block with a fraction in [progress_lo, progress_hi]; FALSE
   * stops the evaluation with GILL_ERROR_CANCELLED */
  GillProgressFunc progress;
  gpointer progress_data;
  double progress_lo, progress_hi;
} GillUnetState;

/* a state for `batch` samples of height×width latents and n_ctx context tokens; the latent size
 * need not be a multiple of 8 (upsampling then follows the skip sizes, as diffusers does).
 * INVALID_ARGUMENT for sizes < 1; OUT_OF_MEMORY with the size */
GillUnetState *gill_unet_state_new  (const GillUnetConfig  *config,
                                     gsize                  wide_floats, /* from the weights */
                                     gint64                 batch,
                                     gint64                 height,
                                     gint64                 width,
                                     gint64                 n_ctx,
                                     GError               **error);
void           gill_unet_state_free (GillUnetState        *state);

/* ------------------------------------------------------------------ forward */

/* noise_pred[batch, out, h, w] = unet (sample[batch, in, h, w], timesteps[batch],
 * context[batch, n_ctx, cross_attention_dim]).sample; FALSE only when cancelled */
gboolean gill_unet_forward (const GillUnetWeights *weights,
                            GillUnetState         *state,
                            const float           *sample,
                            const float           *timesteps,
                            const float           *context,
                            float                 *noise_pred,
                            GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillUnetWeights, gill_unet_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillUnetState, gill_unet_state_free)

G_END_DECLS
