/* sd-pipeline.c — StableDiffusionPipeline.__call__ (huggingface/diffusers v0.17.1,
 * pipeline_stable_diffusion.py) in three phases. See sd-pipeline.h. */
#include "core/models/sd-pipeline.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/rng.h"

void
gill_sd_denoise_params_default (GillSdDenoiseParams *params)
{
  memset (params, 0, sizeof *params);
  params->height = 512;
  params->width = 512;
  params->vae_scale_factor = 8;
  params->n_steps = 50;
  params->guidance_scale = 7.5f;
  params->progress_lo = 0.0;
  params->progress_hi = 1.0;
}

gboolean
gill_sd_encode_prompt (const GillClipTextWeights *text,
                       const GillClipTokenizer   *tokenizer,
                       const gchar               *prompt,
                       gint64                     n_tokens,
                       float                     *embeds,
                       GError                   **error)
{
  g_return_val_if_fail (text != NULL && tokenizer != NULL && prompt != NULL && embeds != NULL, FALSE);
  /* text_input_ids = tokenizer (prompt, padding="max_length", max_length, truncation=True) */
  g_autoptr (GArray) ids = gill_clip_tokenizer_encode_padded (tokenizer, prompt, -1, (guint) n_tokens, error);
  if (ids == NULL)
    return FALSE;
  g_autofree gint64 *wide = g_new (gint64, ids->len);
  for (guint i = 0; i < ids->len; i++)
    wide[i] = g_array_index (ids, gint32, i);
  /* prompt_embeds = text_encoder (text_input_ids)[0]: last_hidden_state, no attention mask */
  g_autoptr (GillClipState) state = gill_clip_state_new_text (&text->config, 1, error);
  if (state == NULL)
    return FALSE;
  GillClipOutput out = { .last_hidden_state = embeds };
  return gill_clip_text_forward (text, state, wide, 1, ids->len, &out, error);
}

/* the UNet's progress inside step i maps onto the step's share of the phase */
static void
denoise_progress_range (GillUnetState             *state,
                        const GillSdDenoiseParams *params,
                        gint                       i,
                        gint                       n)
{
  double span = params->progress_hi - params->progress_lo;
  state->progress = params->progress;
  state->progress_data = params->progress_data;
  state->progress_lo = params->progress_lo + span * i / n;
  state->progress_hi = params->progress_lo + span * (i + 1) / n;
}

gboolean
gill_sd_denoise (const GillUnetWeights     *unet,
                 GillScheduler             *scheduler,
                 const float               *cond,
                 const float               *uncond,
                 gint64                     n_ctx,
                 const GillSdDenoiseParams *params,
                 float                     *latents,
                 GError                   **error)
{
  g_return_val_if_fail (unet != NULL && scheduler != NULL && cond != NULL && params != NULL && latents != NULL, FALSE);
  const GillUnetConfig *config = &unet->config;
  const gint64 f = params->vae_scale_factor;

  /* check_inputs */
  if (f < 1 || params->height < f || params->width < f || params->height % f != 0 || params->width % f != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "image size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ": height and width have to be positive "
                   "multiples of %" G_GINT64_FORMAT " (the VAE's factor; the latent is 1/%" G_GINT64_FORMAT
                   " the size)",
                   params->width, params->height, f, f);
      return FALSE;
    }
  const gboolean guided = params->guidance_scale > 1.0f;
  if (guided && uncond == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "guidance scale %g needs the unconditional (negative prompt) embeddings", params->guidance_scale);
      return FALSE;
    }
  const gint64 h = params->height / f, w = params->width / f, c = config->in_channels, d = config->cross_attention_dim;
  const gsize n = c * h * w;
  const gint64 batch = guided ? 2 : 1;

  /* scheduler.set_timesteps (num_inference_steps) */
  if (!gill_scheduler_set_timesteps (scheduler, params->n_steps, error))
    return FALSE;
  const gint n_evals = gill_scheduler_n_timesteps (scheduler);

  g_autoptr (GillUnetState) state = gill_unet_state_new (config, unet->wide_floats, batch, h, w, n_ctx, error);
  if (state == NULL)
    return FALSE;
  /* encoder_hidden_states = cat ([negative, prompt]): unconditional first */
  g_autofree float *context = g_new (float, batch * n_ctx * d);
  if (guided)
    {
      memcpy (context, uncond, sizeof (float) * n_ctx * d);
      memcpy (context + n_ctx * d, cond, sizeof (float) * n_ctx * d);
    }
  else
    memcpy (context, cond, sizeof (float) * n_ctx * d);
  g_autofree float *x_in = g_new (float, batch * n);       /* [batch, C, h, w] */
  g_autofree float *eps = g_new (float, batch * n);        /* [batch, C, h, w] */
  g_autofree float *timesteps = g_new (float, batch);

  /* prepare_latents: randn ([1, C, h, w], generator) or the given ones, × init_noise_sigma */
  g_autoptr (GillRng) rng = gill_rng_new (params->seed);
  if (params->latents)
    memcpy (latents, params->latents, sizeof (float) * n);
  else
    gill_rng_randn (rng, latents, n);
  const float sigma = gill_scheduler_init_noise_sigma (scheduler);
  for (gsize k = 0; k < n; k++)
    latents[k] *= sigma;

  if (!gill_progress_report (params->progress, params->progress_data, params->progress_lo, "denoise", error))
    return FALSE;
  for (gint i = 0; i < n_evals; i++)
    {
      float t = gill_scheduler_timestep (scheduler, i);
      /* latent_model_input = scale_model_input (cat ([latents] × batch), t) */
      for (gint64 b = 0; b < batch; b++)
        memcpy (x_in + b * n, latents, sizeof (float) * n);
      gill_scheduler_scale_model_input (scheduler, i, x_in, x_in, batch * n);
      /* noise_pred = unet (latent_model_input, t, encoder_hidden_states) */
      for (gint64 b = 0; b < batch; b++)
        timesteps[b] = t;
      denoise_progress_range (state, params, i, n_evals);
      if (!gill_unet_forward (unet, state, x_in, timesteps, context, eps, error))
        return FALSE;
      /* noise_pred = uncond + guidance_scale (text − uncond) */
      if (guided)
        for (gsize k = 0; k < n; k++)
          eps[k] = eps[k] + params->guidance_scale * (eps[n + k] - eps[k]);
      /* latents = scheduler.step (noise_pred, t, latents, generator).prev_sample */
      if (!gill_scheduler_step (scheduler, i, eps, latents, n, rng, NULL, error))
        return FALSE;
      if (params->on_step)
        params->on_step (i, t, latents, n, params->on_step_data);
      double done = params->progress_lo + (params->progress_hi - params->progress_lo) * (i + 1) / n_evals;
      if (!gill_progress_report (params->progress, params->progress_data, done, "denoise", error))
        return FALSE;
    }
  return TRUE;
}

gboolean
gill_sd_decode (const GillVaeWeights *vae,
                const float          *latents,
                gint64                latent_h,
                gint64                latent_w,
                float                *image,
                GillProgressFunc      progress,
                gpointer              progress_data,
                GError              **error)
{
  g_return_val_if_fail (vae != NULL && latents != NULL && image != NULL, FALSE);
  const GillVaeConfig *config = &vae->config;
  const gint64 up = (gint64) 1 << (config->n_blocks - 1), oc = config->out_channels;
  const gint64 hh = latent_h * up, ww = latent_w * up;
  g_autoptr (GillVaeState) state = gill_vae_state_new (config, vae->wide_floats, latent_h, latent_w, error);
  if (state == NULL)
    return FALSE;
  /* image = vae.decode (latents / scaling_factor).sample                [C, H, W] */
  g_autofree float *chw = g_try_new (float, oc * hh * ww);
  if (chw == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY, "VAE: cannot allocate a %" G_GINT64_FORMAT "×%"
                   G_GINT64_FORMAT " image", ww, hh);
      return FALSE;
    }
  if (!gill_vae_decode (vae, state, latents, 1, chw, progress, progress_data, error))
    return FALSE;
  /* image = (image / 2 + 0.5).clamp (0, 1).permute (0, 2, 3, 1)         [H, W, C] */
  for (gint64 ch = 0; ch < oc; ch++)
    for (gint64 p = 0; p < hh * ww; p++)
      {
        float v = chw[ch * hh * ww + p] / 2.0f + 0.5f;
        image[p * oc + ch] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
      }
  return TRUE;
}

void
gill_sd_image_to_rgb8 (const float *image,
                       gsize        n_values,
                       guint8      *rgb)
{
  /* (images * 255).round ().astype ("uint8"): nearbyint rounds half to even in the default mode */
  for (gsize i = 0; i < n_values; i++)
    {
      float v = nearbyintf (image[i] * 255.0f);
      rgb[i] = (guint8) (v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
}
