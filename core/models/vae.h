/* vae.h — Stable Diffusion's image decoder: AutoencoderKL.decode (latents → pixels).
 *
 * Reference: huggingface/diffusers v0.17.1, src/diffusers/models/autoencoder_kl.py
 * (AutoencoderKL.decode, tiled_decode, blend_v/blend_h), vae.py (Decoder), unet_2d_blocks.py
 * (UNetMidBlock2D, UpDecoderBlock2D); shared/reference/models.md §3.3. Only the decoder half is
 * bound (post_quant_conv + decoder.*): the encoder's weights are never read.
 *
 *   GillVaeConfig config;
 *   gill_vae_config_from_json (json, "vae/config.json", &config, &error);
 *   g_autoptr (GillVaeWeights) w = gill_vae_weights_bind (&config, &lookup, &error);
 *   g_autoptr (GillVaeState) s = gill_vae_state_new (&config, w->wide_floats, 64, 64, &error);
 *   gill_vae_decode (w, s, latents, 1, image, NULL, NULL, &error);  // [1, 3, 512, 512], ≈ [-1, 1]
 *
 * Tiling. Latents larger than the VAE's own tile (sample_size / 2^(levels−1): 64 latents, 512 px
 * for SD 1.5) are decoded as AutoencoderKL.tiled_decode does: 64×64 latent tiles every 48
 * latents (25 % overlap), each decoded alone, then each tile blended linearly into the one above
 * and the one to its left over 128 output pixels (blend_v, blend_h) and cropped to 384 px.
 * Seams: GroupNorm statistics and the mid-block attention are per tile, so neighbouring tiles
 * differ slightly in tone and global structure; the 128-px linear ramps hide that, leaving at
 * most a faint low-frequency band where tiles meet, never a hard edge. Memory stays that of one
 * 512×512 decode at any size. The result equals diffusers with vae.enable_tiling (). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/progress.h"
#include "core/base/weights.h"
#include "core/models/sd-blocks.h"

G_BEGIN_DECLS

#define GILL_VAE_MAX_BLOCKS 6
#define GILL_VAE_MAX_LAYERS 4   /* layers_per_block + 1 resnets in an up block */

/* ------------------------------------------------------------------ config */

typedef struct
{
  gint64 latent_channels;      /* 4 */
  gint64 out_channels;         /* 3 (RGB) */
  gint64 n_blocks;             /* 4 */
  gint64 block_out_channels[GILL_VAE_MAX_BLOCKS];  /* 128, 256, 512, 512 */
  gint64 layers_per_block;     /* 2: the decoder's up blocks have 3 resnets */
  gint64 norm_num_groups;      /* 32; every decoder norm has eps 1e-6 */
  float scaling_factor;        /* 0.18215: latents are divided by it before decoding */
  gint64 sample_size;          /* 512: the tile size in pixels */
} GillVaeConfig;

void     gill_vae_config_default     (GillVaeConfig       *config);  /* SD 1.x's vae/config.json */
gboolean gill_vae_config_from_json   (JsonObject          *json,
                                      const gchar         *file,
                                      GillVaeConfig       *config,
                                      GError             **error);
/* the latent tile: sample_size / 2^(n_blocks − 1) (64 for SD 1.5) */
gint64   gill_vae_tile_latent        (const GillVaeConfig *config);
/* 2 × multiply-accumulates of decoding one latent of h×w (no tiling) */
double   gill_vae_flops              (const GillVaeConfig *config,
                                      gint64               h,
                                      gint64               w);

/* ------------------------------------------------------------------ weights */

typedef struct
{
  GillVaeConfig config;
  GillSdConv post_quant_conv;              /* [latent, latent, 1, 1] */
  GillSdConv conv_in;                      /* decoder.conv_in [C_last, latent, 3, 3] */
  GillSdResnet mid_resnets[2];             /* decoder.mid_block.resnets.{0,1} */
  GillSdAttention mid_attention;           /* decoder.mid_block.attentions.0 */
  GillSdResnet up_resnets[GILL_VAE_MAX_BLOCKS][GILL_VAE_MAX_LAYERS]; /* decoder.up_blocks.{i}.resnets.{j} */
  GillSdConv upsamplers[GILL_VAE_MAX_BLOCKS];  /* decoder.up_blocks.{i}.upsamplers.0.conv (i < n − 1) */
  GillSdNorm conv_norm_out;                /* decoder.conv_norm_out GroupNorm (groups, C_0, 1e-6) */
  /* conv_act: SiLU */
  GillSdConv conv_out;                     /* decoder.conv_out [out, C_0, 3, 3] */
  gsize wide_floats;                       /* largest 16-bit layer widened at once */
} GillVaeWeights;

GillVaeWeights *gill_vae_weights_bind (const GillVaeConfig *config,
                                       const GillWeights   *lookup,
                                       GError             **error);
void            gill_vae_weights_free (GillVaeWeights      *weights);
/* the same parameters made by `make` (random weights of real shapes: benchmarks, tests); make
 * must return a tensor of the shape it is asked for */
GillVaeWeights *gill_vae_weights_make (const GillVaeConfig *config,
                                       GillSdMakeFunc       make,
                                       gpointer             make_data,
                                       GError             **error);

/* ------------------------------------------------------------------ state */

typedef struct
{
  GillVaeConfig config;
  gint64 height, width;      /* latent size this state decodes */
  gboolean tiled;            /* larger than one tile: tiled_decode */
  gint64 run_h, run_w;       /* the latent size one decoder run sees (a tile when tiled) */
  float *z;                  /* [latent, run_h·run_w] scaled latents */
  float *x;                  /* the hidden state */
  float *y;                  /* the next one */
  float *work;               /* resnet / attention intermediates */
  float *tiles;              /* tiled: every decoded tile [rows·cols, out, 8 tile, 8 tile] */
  gint64 tile_rows, tile_cols;
  GillSdScratch scratch;
  gsize bytes;
} GillVaeState;

/* a state for one latent of height×width (any size ≥ 1); OUT_OF_MEMORY with the size */
GillVaeState *gill_vae_state_new  (const GillVaeConfig *config,
                                   gsize                wide_floats,
                                   gint64               height,
                                   gint64               width,
                                   GError             **error);
void          gill_vae_state_free (GillVaeState        *state);

/* ------------------------------------------------------------------ decode */

/* image[batch, out, 8h, 8w] = decoder (post_quant_conv (latents / scaling_factor)) — unclamped,
 * ≈ [-1, 1]; tiled when the state says so. progress (may be NULL) after each tile or stage;
 * FALSE + CANCELLED when it asks to stop (image then holds nothing useful). */
gboolean gill_vae_decode (const GillVaeWeights *weights,
                          GillVaeState         *state,
                          const float          *latents,
                          gint64                batch,
                          float                *image,
                          GillProgressFunc      progress,
                          gpointer              progress_data,
                          GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillVaeWeights, gill_vae_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillVaeState, gill_vae_state_free)

G_END_DECLS
