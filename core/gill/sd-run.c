/* sd-run.c — Stable Diffusion end to end from the files, one part mapped at a time (sd-run.h),
 * and the public GillStableDiffusion over it (core/gill.h). */
#include "core/gill/sd-run.h"

#include <string.h>

#include "core/base/error.h"

/* progress shares of the phases: encode, denoise, decode */
#define SHARE_ENCODE 0.02
#define SHARE_DECODE 0.10

void
gill_sd_run_params_default (GillSdRunParams *params)
{
  memset (params, 0, sizeof *params);
  params->n_steps = 50;
  params->guidance_scale = 7.5f;
  params->negative_prompt = "";
}

/* the VAE's factor: 2^(blocks − 1) */
static gint64
vae_factor (const GillSdFiles *files)
{
  JsonObject *vae = gill_sd_files_config (files, GILL_SD_PART_VAE);
  gint64 blocks = 4;
  if (vae && json_object_has_member (vae, "block_out_channels")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (vae, "block_out_channels")))
    blocks = json_array_get_length (json_object_get_array_member (vae, "block_out_channels"));
  return (gint64) 1 << MAX (blocks - 1, 0);
}

/* the prompt embeddings' width the UNet takes */
static gint64
cross_attention_dim (const GillSdFiles *files)
{
  JsonObject *unet = gill_sd_files_config (files, GILL_SD_PART_UNET);
  return unet ? json_object_get_int_member_with_default (unet, "cross_attention_dim", 768) : 768;
}

void
gill_sd_run_image_size (const GillSdFiles     *files,
                        const GillSdRunParams *params,
                        gint64                *height,
                        gint64                *width)
{
  JsonObject *unet = gill_sd_files_config (files, GILL_SD_PART_UNET);
  gint64 sample = unet ? json_object_get_int_member_with_default (unet, "sample_size", 64) : 64;
  *height = params->height > 0 ? params->height : sample * vae_factor (files);
  *width = params->width > 0 ? params->width : sample * vae_factor (files);
}

static GillScheduler *
make_scheduler (const GillSdFiles     *files,
                const GillSdRunParams *params,
                GError               **error)
{
  return gill_scheduler_new_from_json (gill_sd_files_scheduler_config (files), params->scheduler, error);
}

/* check_inputs before anything is mapped: the scheduler and its step count must be known, the
 * size a multiple of the VAE factor */
static gboolean
check_inputs (const GillSdFiles     *files,
              const GillSdRunParams *params,
              GError               **error)
{
  g_autoptr (GillScheduler) scheduler = make_scheduler (files, params, error);
  if (scheduler == NULL || !gill_scheduler_set_timesteps (scheduler, params->n_steps, error))
    return FALSE;
  gint64 height, width, f = vae_factor (files);
  gill_sd_run_image_size (files, params, &height, &width);
  if (height % f == 0 && width % f == 0 && height >= f && width >= f)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
               "image size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ": height and width have to be positive "
               "multiples of %" G_GINT64_FORMAT " (the VAE's factor; the latent is 1/%" G_GINT64_FORMAT " the size)",
               width, height, f, f);
  return FALSE;
}

/* ------------------------------------------------------------------ text encoder */

static GillClipTokenizer *
load_tokenizer (const GillSdFiles     *files,
                const GillSdRunParams *params,
                GError               **error)
{
  const gchar *dir = params->tokenizer_dir ? params->tokenizer_dir : gill_sd_files_tokenizer_dir (files);
  if (dir == NULL)
    dir = g_getenv ("GILL_CLIP_TOKENIZER");
  if (dir == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "a single-file checkpoint carries no tokenizer; give CLIP's tokenizer folder (vocab.json, "
                   "merges.txt: openai/clip-vit-large-patch14 or an SD folder's tokenizer/) with --tokenizer or "
                   "$GILL_CLIP_TOKENIZER");
      return NULL;
    }
  return gill_clip_tokenizer_load (dir, error);
}

/* each text through the tokenizer and the text tower → embeds[k] [n_tokens, D]; D out */
static gboolean
encode_texts (GillSdFiles           *files,
              const GillSdRunParams *params,
              const gchar * const   *texts,
              float                **embeds,
              gsize                  n_texts,
              gint64                 n_tokens,
              gint64                *hidden,
              GError               **error)
{
  GillClipTextConfig config;
  JsonObject *json = gill_sd_files_config (files, GILL_SD_PART_TEXT_ENCODER);
  if (json == NULL && g_str_equal (gill_sd_files_layout (files), "diffusers"))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "the diffusers folder has no text_encoder/; "
                   "it is needed for the negative prompt");
      return FALSE;
    }
  /* a single file without text-encoder parameters: CLIP ViT-L/14's text tower, as SD 1.x */
  gill_clip_text_config_default (&config);
  if (!(json ? gill_clip_text_config_from_json (json, "text_encoder config", &config, error)
             : gill_clip_text_config_preset ("vit-l-14", &config, error)))
    return FALSE;
  g_autoptr (GillClipTokenizer) tokenizer = load_tokenizer (files, params, error);
  if (tokenizer == NULL || !gill_sd_files_map (files, GILL_SD_PART_TEXT_ENCODER, error))
    return FALSE;
  GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_TEXT_ENCODER);
  gboolean ok = TRUE;
  {
    g_autoptr (GillClipTextWeights) text = gill_clip_text_weights_bind (&config, &lookup, error);
    ok = text != NULL;
    for (gsize k = 0; ok && k < n_texts; k++)
      {
        embeds[k] = g_new (float, n_tokens * config.encoder.hidden_size);
        ok = gill_sd_encode_prompt (text, tokenizer, texts[k], n_tokens, embeds[k], error);
      }
  }
  gill_sd_files_unmap (files, GILL_SD_PART_TEXT_ENCODER);
  *hidden = config.encoder.hidden_size;
  return ok && gill_progress_report (params->progress, params->progress_data, SHARE_ENCODE, "encode", error);
}

/* ------------------------------------------------------------------ UNet, VAE */

static gboolean
denoise_and_decode (GillSdFiles           *files,
                    const GillSdRunParams *params,
                    const float           *cond,
                    const float           *uncond,
                    gint64                 n_ctx,
                    gint64                 hidden,
                    float                 *image,
                    GError               **error)
{
  gint64 height, width;
  gill_sd_run_image_size (files, params, &height, &width);
  const gint64 f = vae_factor (files);

  /* the UNet phase */
  GillUnetConfig unet_config;
  if (!gill_unet_config_from_json (gill_sd_files_config (files, GILL_SD_PART_UNET), "unet config", &unet_config,
                                   error))
    return FALSE;
  if (unet_config.cross_attention_dim != hidden)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "prompt embeddings are %" G_GINT64_FORMAT " wide; the UNet's "
                   "cross_attention_dim is %" G_GINT64_FORMAT, hidden, unet_config.cross_attention_dim);
      return FALSE;
    }
  g_autoptr (GillScheduler) scheduler = make_scheduler (files, params, error);
  if (scheduler == NULL)
    return FALSE;
  GillSdDenoiseParams dp;
  gill_sd_denoise_params_default (&dp);
  dp.height = height;
  dp.width = width;
  dp.vae_scale_factor = f;
  dp.n_steps = params->n_steps;
  dp.guidance_scale = params->guidance_scale;
  dp.seed = params->seed;
  dp.latents = params->latents;
  dp.progress = params->progress;
  dp.progress_data = params->progress_data;
  dp.progress_lo = SHARE_ENCODE;
  dp.progress_hi = 1.0 - SHARE_DECODE;
  dp.on_step = params->on_step;
  dp.on_step_data = params->on_step_data;
  const gint64 lh = height / f, lw = width / f;
  g_autofree float *latents = g_new (float, unet_config.in_channels * lh * lw);
  if (!gill_sd_files_map (files, GILL_SD_PART_UNET, error))
    return FALSE;
  gboolean ok;
  {
    GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_UNET);
    g_autoptr (GillUnetWeights) unet = gill_unet_weights_bind (&unet_config, &lookup, error);
    ok = unet && gill_sd_denoise (unet, scheduler, cond, uncond, n_ctx, &dp, latents, error);
  }
  gill_sd_files_unmap (files, GILL_SD_PART_UNET);
  if (!ok)
    return FALSE;

  /* the VAE phase */
  GillVaeConfig vae_config;
  if (!gill_vae_config_from_json (gill_sd_files_config (files, GILL_SD_PART_VAE), "vae config", &vae_config, error)
      || !gill_sd_files_map (files, GILL_SD_PART_VAE, error))
    return FALSE;
  {
    GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_VAE);
    g_autoptr (GillVaeWeights) vae = gill_vae_weights_bind (&vae_config, &lookup, error);
    ok = vae && gill_sd_decode (vae, latents, lh, lw, image, params->progress, params->progress_data, error);
  }
  gill_sd_files_unmap (files, GILL_SD_PART_VAE);
  return ok;
}

gboolean
gill_sd_run_from_embeddings (GillSdFiles           *files,
                             const GillSdRunParams *params,
                             const float           *prompt_embeds,
                             gint64                 n_ctx,
                             float                 *image,
                             GError               **error)
{
  g_return_val_if_fail (files != NULL && params != NULL && prompt_embeds != NULL && image != NULL, FALSE);
  g_autofree float *uncond = NULL;
  if (!check_inputs (files, params, error))
    return FALSE;
  gint64 hidden = cross_attention_dim (files);
  if (params->guidance_scale > 1.0f && params->negative_embeds == NULL)
    {
      /* negative_prompt_embeds: the text encoder on the negative prompt padded to n_ctx */
      const gchar *texts[1] = { params->negative_prompt ? params->negative_prompt : "" };
      float *embeds[1] = { NULL };
      if (!encode_texts (files, params, texts, embeds, 1, n_ctx, &hidden, error))
        {
          g_free (embeds[0]);
          return FALSE;
        }
      uncond = embeds[0];
    }
  return denoise_and_decode (files, params, prompt_embeds, uncond ? uncond : params->negative_embeds, n_ctx, hidden,
                             image, error);
}

gboolean
gill_sd_run_from_text (GillSdFiles           *files,
                       const GillSdRunParams *params,
                       const gchar           *prompt,
                       float                 *image,
                       GError               **error)
{
  g_return_val_if_fail (files != NULL && params != NULL && prompt != NULL && image != NULL, FALSE);
  const gchar *texts[2] = { prompt, params->negative_prompt ? params->negative_prompt : "" };
  float *embeds[2] = { NULL, NULL };
  gint64 hidden = 0;
  gsize n_texts = params->guidance_scale > 1.0f ? 2 : 1;
  gboolean ok = check_inputs (files, params, error)
                && encode_texts (files, params, texts, embeds, n_texts, GILL_CLIP_MAX_LENGTH, &hidden, error)
                && denoise_and_decode (files, params, embeds[0], embeds[1], GILL_CLIP_MAX_LENGTH, hidden, image, error);
  g_free (embeds[0]);
  g_free (embeds[1]);
  return ok;
}

/* ------------------------------------------------------------------ the public API (core/gill.h) */

struct _GillStableDiffusion
{
  GillSdFiles *files;   /* the configs; parts mapped per phase */
};

void
gill_stable_diffusion_params_default (GillStableDiffusionParams *params)
{
  g_return_if_fail (params != NULL);
  GillSdRunParams run;
  gill_sd_run_params_default (&run);
  *params = (GillStableDiffusionParams) {
    .scheduler = run.scheduler,
    .n_steps = run.n_steps,
    .guidance_scale = run.guidance_scale,
    .height = run.height,
    .width = run.width,
    .seed = run.seed,
    .negative_prompt = run.negative_prompt,
    .tokenizer_dir = run.tokenizer_dir,
  };
}

/* the public params as sd-run's (no given latents, negative embeddings or step callback) */
static void
run_params_from_public (const GillStableDiffusionParams *params,
                        GillSdRunParams                 *run)
{
  gill_sd_run_params_default (run);
  run->scheduler = params->scheduler;
  run->n_steps = params->n_steps;
  run->guidance_scale = params->guidance_scale;
  run->height = params->height;
  run->width = params->width;
  run->seed = params->seed;
  run->negative_prompt = params->negative_prompt;
  run->tokenizer_dir = params->tokenizer_dir;
  run->progress = params->progress;
  run->progress_data = params->progress_data;
}

GillStableDiffusion *
gill_stable_diffusion_open (const gchar *path,
                            gboolean     use_ema,
                            const gchar *variant,
                            GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GillSdFilesOptions options = { use_ema, variant, NULL };
  GillSdFiles *files = gill_sd_files_open (path, &options, error);
  if (files == NULL)
    return NULL;
  GillStableDiffusion *sd = g_new0 (GillStableDiffusion, 1);
  sd->files = files;
  return sd;
}

void
gill_stable_diffusion_free (GillStableDiffusion *sd)
{
  if (sd == NULL)
    return;
  g_clear_pointer (&sd->files, gill_sd_files_free);
  g_free (sd);
}

void
gill_stable_diffusion_get_image_size (const GillStableDiffusion       *sd,
                                      const GillStableDiffusionParams *params,
                                      gint64                          *height,
                                      gint64                          *width)
{
  g_return_if_fail (sd != NULL && params != NULL && height != NULL && width != NULL);
  GillSdRunParams run;
  run_params_from_public (params, &run);
  gill_sd_run_image_size (sd->files, &run, height, width);
}

gint64
gill_stable_diffusion_get_embedding_dim (const GillStableDiffusion *sd)
{
  g_return_val_if_fail (sd != NULL, 0);
  return cross_attention_dim (sd->files);
}

gboolean
gill_stable_diffusion_generate_from_text (GillStableDiffusion             *sd,
                                          const GillStableDiffusionParams *params,
                                          const gchar                     *prompt,
                                          float                           *image,
                                          GError                         **error)
{
  g_return_val_if_fail (sd != NULL && params != NULL && prompt != NULL && image != NULL, FALSE);
  GillSdRunParams run;
  run_params_from_public (params, &run);
  return gill_sd_run_from_text (sd->files, &run, prompt, image, error);
}

gboolean
gill_stable_diffusion_generate_from_embeddings (GillStableDiffusion             *sd,
                                                const GillStableDiffusionParams *params,
                                                const float                     *prompt_embeds,
                                                gint64                           n_ctx,
                                                float                           *image,
                                                GError                         **error)
{
  g_return_val_if_fail (sd != NULL && params != NULL && prompt_embeds != NULL && n_ctx > 0 && image != NULL, FALSE);
  GillSdRunParams run;
  run_params_from_public (params, &run);
  return gill_sd_run_from_embeddings (sd->files, &run, prompt_embeds, n_ctx, image, error);
}

void
gill_stable_diffusion_image_to_rgb8 (const float *image,
                                     gsize        n_values,
                                     guint8      *rgb)
{
  g_return_if_fail (image != NULL && rgb != NULL);
  gill_sd_image_to_rgb8 (image, n_values, rgb);
}
