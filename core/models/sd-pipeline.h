/* sd-pipeline.h — StableDiffusionPipeline.__call__, phase by phase.
 *
 * Reference: huggingface/diffusers v0.17.1, pipelines/stable_diffusion/pipeline_stable_diffusion.py
 * (_encode_prompt, check_inputs, prepare_latents, the denoising loop, decode_latents);
 * shared/reference/models.md §3.4 and gill.md §4.6. Three phases, so that a caller can hold
 * one model's weights at a time (the text encoder, then the UNet, then the VAE):
 *
 *   gill_sd_encode_prompt (text, tokenizer, "", 77, uncond, &error);   // CLIP last_hidden_state
 *   gill_sd_denoise (unet, scheduler, cond, uncond, 77, &params, latents, &error);
 *   gill_sd_decode (vae, latents, h / 8, w / 8, image, NULL, NULL, &error);  // [h, w, 3] in [0, 1]
 *
 * GILL's call gives cond (its mapper's output) and encodes only "" for uncond; plain SD encodes
 * both. With guidance_scale > 1 each step runs the UNet once on the batch [uncond, cond] and
 * mixes ε = ε_u + s (ε_c − ε_u). Progress is reported after every step (and inside the UNet
 * between blocks); a FALSE from the callback stops with GILL_ERROR_CANCELLED. No safety checker. */
#pragma once

#include <glib.h>

#include "core/base/progress.h"
#include "core/models/clip.h"
#include "core/models/scheduler.h"
#include "core/models/unet.h"
#include "core/models/vae.h"
#include "core/text/clip-tokenizer.h"

G_BEGIN_DECLS

/* called after scheduler step i with the UNet's timestep and the new latents */
typedef void (*GillSdStepFunc) (gint         i,
                                float        t,
                                const float *latents,
                                gsize        n,
                                gpointer     data);

typedef struct
{
  gint64 height, width;       /* pixels: 512 × 512 for SD 1.5; multiples of vae_scale_factor */
  gint64 vae_scale_factor;    /* 8: 2^(VAE blocks − 1) */
  gint n_steps;               /* num_inference_steps, 50 */
  float guidance_scale;       /* 7.5; ≤ 1 runs the UNet on cond alone */
  guint64 seed;               /* torch.Generator ().manual_seed (seed): latents, then step noise */
  const float *latents;       /* initial latents [1, C, h/f, w/f] before × init_noise_sigma, or NULL
                               * to draw them: randn from the seeded generator */
  GillProgressFunc progress;  /* may be NULL */
  gpointer progress_data;
  double progress_lo, progress_hi;  /* the share of the whole job this phase reports in */
  GillSdStepFunc on_step;     /* may be NULL */
  gpointer on_step_data;
} GillSdDenoiseParams;

/* 512 × 512, factor 8, 50 steps, guidance 7.5, seed 0, progress over [0, 1] */
void     gill_sd_denoise_params_default (GillSdDenoiseParams *params);

/* _encode_prompt for one text: tokenizer (padding to n_tokens, truncation), text tower, its
 * last_hidden_state → embeds [n_tokens, hidden_size]. INVALID_ARGUMENT for bad UTF-8. */
gboolean gill_sd_encode_prompt  (const GillClipTextWeights *text,
                                 const GillClipTokenizer   *tokenizer,
                                 const gchar               *prompt,
                                 gint64                     n_tokens,
                                 float                     *embeds,
                                 GError                   **error);

/* the denoising loop: cond [n_ctx, cross_attention_dim] (and uncond, required when
 * guidance_scale > 1) → latents [1, C, h/f, w/f] after the last step. Errors:
 * INVALID_ARGUMENT (size not a multiple of the factor, no uncond with guidance, steps < 1),
 * CANCELLED. The scheduler is set to n_steps here. */
gboolean gill_sd_denoise        (const GillUnetWeights     *unet,
                                 GillScheduler             *scheduler,
                                 const float               *cond,
                                 const float               *uncond,
                                 gint64                     n_ctx,
                                 const GillSdDenoiseParams *params,
                                 float                     *latents,
                                 GError                   **error);

/* decode_latents: image [8h, 8w, 3] = clamp (vae.decode (latents / scaling_factor) / 2 + 0.5,
 * 0, 1) as NHWC float (output_type "np"); latents [1, C, h, w]. Tiled above the VAE's tile
 * (vae.h). CANCELLED when progress asks. */
gboolean gill_sd_decode         (const GillVaeWeights      *vae,
                                 const float               *latents,
                                 gint64                     latent_h,
                                 gint64                     latent_w,
                                 float                     *image,
                                 GillProgressFunc           progress,
                                 gpointer                   progress_data,
                                 GError                   **error);

/* numpy_to_pil: rgb[i] = round (image[i] · 255) as uint8, round half to even as numpy does */
void     gill_sd_image_to_rgb8  (const float               *image,
                                 gsize                      n_values,
                                 guint8                    *rgb);

G_END_DECLS
