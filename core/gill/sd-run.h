/* sd-run.h — a Stable Diffusion model on disk, run end to end, one part resident at a time.
 *
 * What `gill generate` and `gill check` (sd.pipeline) share: open the configs (core/io/sd-names),
 * then for each phase map that part's weights, bind, run, unmap — text encoder (negative and
 * positive prompts), UNet (the denoising loop), VAE (decode) — so the peak resident set is one
 * model's weights plus its activations. GillStableDiffusion (core/gill.h) is the public face of
 * this file; `gill check` and `gill bench` call it directly for what the public API leaves out
 * (given latents, cached negative embeddings, a per-step callback).
 *
 *   g_autoptr (GillSdFiles) files = gill_sd_files_open ("/models/sd15", NULL, &error);
 *   GillSdRunParams params;
 *   gill_sd_run_params_default (&params);
 *   params.seed = 42;
 *   gill_sd_run_from_text (files, &params, "a red bicycle", image, &error);  // [512, 512, 3] */
#pragma once

#include <glib.h>

#include "core/base/progress.h"
#include "core/io/sd-names.h"
#include "core/models/sd-pipeline.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *scheduler;        /* "pndm", "ddim", "euler", "euler-a", "dpmpp-2m" (or the fixture
                                  * names); NULL = the model's scheduler_config (PNDM for SD 1.5) */
  gint n_steps;                  /* 50 */
  float guidance_scale;          /* 7.5 */
  gint64 height, width;          /* pixels; 0 = the UNet's sample_size × the VAE factor (512) */
  guint64 seed;                  /* 0 */
  const gchar *negative_prompt;  /* "" */
  const float *negative_embeds;  /* the negative prompt already encoded [n_ctx, D] (GILL caches
                                  * CLIP (""), a constant), or NULL: encode negative_prompt */
  const gchar *tokenizer_dir;    /* NULL: the model's tokenizer/, else $GILL_CLIP_TOKENIZER */
  const float *latents;          /* initial latents or NULL (drawn from the seed) */
  GillProgressFunc progress;     /* over the whole run; may be NULL */
  gpointer progress_data;
  GillSdStepFunc on_step;        /* may be NULL */
  gpointer on_step_data;
} GillSdRunParams;

void     gill_sd_run_params_default  (GillSdRunParams       *params);
/* the image size a run will produce: params' or the model's default */
void     gill_sd_run_image_size      (const GillSdFiles     *files,
                                      const GillSdRunParams *params,
                                      gint64                *height,
                                      gint64                *width);
/* GILL's call: prompt_embeds [n_ctx, cross_attention_dim] given, the negative prompt through
 * the text encoder → image [height, width, 3] in [0, 1] */
gboolean gill_sd_run_from_embeddings (GillSdFiles           *files,
                                      const GillSdRunParams *params,
                                      const float           *prompt_embeds,
                                      gint64                 n_ctx,
                                      float                 *image,
                                      GError               **error);
/* plain SD: the prompt through the tokenizer and text encoder as well */
gboolean gill_sd_run_from_text       (GillSdFiles           *files,
                                      const GillSdRunParams *params,
                                      const gchar           *prompt,
                                      float                 *image,
                                      GError               **error);

G_END_DECLS
