/* check-sd.c — fixture kinds unet.forward, vae.decode and sd.pipeline (fixtures README, "Kinds").
 *
 * unet.forward: UNet2DConditionModel (inputs.sample, inputs.timestep broadcast to the batch,
 * inputs.encoder_hidden_states) -> noise_pred. vae.decode: AutoencoderKL.decode (inputs.latents /
 * inputs.scaling_factor) -> sample. sd.pipeline: StableDiffusionPipeline with prompt_embeds,
 * latents, guidance_scale, num_inference_steps, height, width and the negative prompt through the
 * text encoder, scheduler named by the case's "scheduler" -> timesteps, step_latents, image.
 *
 * Every case runs from the manifest's "diffusers_folder" (layout "diffusers") and, where the
 * manifest names a "compvis_file", from that single file and its "compvis_yaml" (layout
 * "compvis"), through core/io/sd-names: the same names whatever the layout. */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/gill/sd-run.h"
#include "core/io/sd-names.h"
#include "core/models/unet.h"
#include "core/models/vae.h"

/* ------------------------------------------------------------------ where the model is */

static gchar **
sd_layouts (const GillCheckCase *c)
{
  if (gill_check_manifest_string (c, "diffusers_folder") == NULL)
    return NULL; /* run once: the case fails saying where a model was expected */
  GPtrArray *layouts = g_ptr_array_new ();
  g_ptr_array_add (layouts, g_strdup ("diffusers"));
  if (gill_check_manifest_string (c, "compvis_file"))
    g_ptr_array_add (layouts, g_strdup ("compvis"));
  g_ptr_array_add (layouts, NULL);
  return (gchar **) g_ptr_array_free (layouts, FALSE);
}

/* the case's model in its layout; *tokenizer_dir (may be NULL) gets the diffusers folder's
 * tokenizer/, which a single file lacks and real single files share (CLIP ViT-L/14's) */
static GillSdFiles *
sd_case_files (const GillCheckCase *c,
               gchar              **tokenizer_dir,
               GError             **error)
{
  const gchar *diffusers = gill_check_manifest_string (c, "diffusers_folder");
  if (diffusers == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s/manifest.json: names no \"diffusers_folder\"", c->folder);
      return NULL;
    }
  g_autofree gchar *folder = gill_check_path (c, diffusers);
  if (tokenizer_dir)
    *tokenizer_dir = g_build_filename (folder, "tokenizer", NULL);
  if (g_strcmp0 (c->layout, "compvis") != 0)
    return gill_sd_files_open (folder, NULL, error);
  g_autofree gchar *file = gill_check_path (c, gill_check_manifest_string (c, "compvis_file"));
  const gchar *yaml = gill_check_manifest_string (c, "compvis_yaml");
  g_autofree gchar *yaml_path = yaml ? gill_check_path (c, yaml) : NULL;
  GillSdFilesOptions options = { FALSE, NULL, yaml_path };
  return gill_sd_files_open (file, &options, error);
}

/* an input tensor as contiguous f32 of the given rank */
static GillTensor *
input_f32 (const GillCheckCase *c,
           const gchar         *key,
           gint                 n_dims,
           GError             **error)
{
  g_autoptr (GillTensor) t = gill_check_input_tensor (c, key, error);
  if (t == NULL)
    return NULL;
  if (t->n_dims != n_dims || !gill_dtype_is_float (t->dtype))
    {
      g_autofree gchar *shape = gill_tensor_shape_string (t);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "case '%s': inputs.%s is %s %s; expected %d dimensions of floats",
                   c->name, key, gill_dtype_name (t->dtype), shape, n_dims);
      return NULL;
    }
  GillTensor *copy = gill_tensor_new_f32 (t->n_dims, t->shape);
  gill_tensor_copy_f32 (t, gill_tensor_data_f32 (copy));
  return copy;
}

/* ------------------------------------------------------------------ unet.forward */

static gboolean
run_unet (const GillCheckCase *c,
          GillCheckResults    *out,
          GError             **error)
{
  gint64 timestep;
  g_autoptr (GillTensor) sample = input_f32 (c, "sample", 4, error);
  g_autoptr (GillTensor) context = sample ? input_f32 (c, "encoder_hidden_states", 3, error) : NULL;
  if (context == NULL || !gill_check_input_int (c, "timestep", &timestep, error))
    return FALSE;
  g_autoptr (GillSdFiles) files = sd_case_files (c, NULL, error);
  if (files == NULL)
    return FALSE;
  GillUnetConfig config;
  if (!gill_unet_config_from_json (gill_sd_files_config (files, GILL_SD_PART_UNET), "unet config", &config, error)
      || !gill_sd_files_map (files, GILL_SD_PART_UNET, error))
    return FALSE;
  GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_UNET);
  g_autoptr (GillUnetWeights) weights = gill_unet_weights_bind (&config, &lookup, error);
  if (weights == NULL)
    return FALSE;

  const gint64 batch = sample->shape[0], h = sample->shape[2], w = sample->shape[3], n_ctx = context->shape[1];
  if (sample->shape[1] != config.in_channels || context->shape[0] != batch
      || context->shape[2] != config.cross_attention_dim)
    {
      g_autofree gchar *s = gill_tensor_shape_string (sample);
      g_autofree gchar *e = gill_tensor_shape_string (context);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': sample %s and encoder_hidden_states %s do not fit "
                   "the UNet (%" G_GINT64_FORMAT " channels, context width %" G_GINT64_FORMAT ")", c->name, s, e,
                   config.in_channels, config.cross_attention_dim);
      return FALSE;
    }
  g_autoptr (GillUnetState) state = gill_unet_state_new (&config, weights->wide_floats, batch, h, w, n_ctx, error);
  if (state == NULL)
    return FALSE;
  g_autofree float *timesteps = g_new (float, batch);
  for (gint64 b = 0; b < batch; b++)
    timesteps[b] = (float) timestep;   /* a scalar timestep broadcast to the batch */
  gint64 shape[4] = { batch, config.out_channels, h, w };
  g_autoptr (GillTensor) noise_pred = gill_tensor_new_f32 (4, shape);
  if (!gill_unet_forward (weights, state, gill_tensor_data_f32 (sample), timesteps, gill_tensor_data_f32 (context),
                          gill_tensor_data_f32 (noise_pred), error))
    return FALSE;
  gill_check_results_set_tensor (out, "noise_pred", noise_pred);
  return TRUE;
}

/* ------------------------------------------------------------------ vae.decode */

static gboolean
run_vae (const GillCheckCase *c,
         GillCheckResults    *out,
         GError             **error)
{
  double scaling;
  g_autoptr (GillTensor) latents = input_f32 (c, "latents", 4, error);
  if (latents == NULL || !gill_check_input_double (c, "scaling_factor", &scaling, error))
    return FALSE;
  g_autoptr (GillSdFiles) files = sd_case_files (c, NULL, error);
  if (files == NULL)
    return FALSE;
  GillVaeConfig config;
  if (!gill_vae_config_from_json (gill_sd_files_config (files, GILL_SD_PART_VAE), "vae config", &config, error)
      || !gill_sd_files_map (files, GILL_SD_PART_VAE, error))
    return FALSE;
  config.scaling_factor = (float) scaling;   /* the case divides by this one */
  GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_VAE);
  g_autoptr (GillVaeWeights) weights = gill_vae_weights_bind (&config, &lookup, error);
  if (weights == NULL)
    return FALSE;
  const gint64 batch = latents->shape[0], h = latents->shape[2], w = latents->shape[3];
  if (latents->shape[1] != config.latent_channels)
    {
      g_autofree gchar *s = gill_tensor_shape_string (latents);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': latents %s; the VAE takes %" G_GINT64_FORMAT
                   " channels", c->name, s, config.latent_channels);
      return FALSE;
    }
  g_autoptr (GillVaeState) state = gill_vae_state_new (&config, weights->wide_floats, h, w, error);
  if (state == NULL)
    return FALSE;
  const gint64 up = (gint64) 1 << (config.n_blocks - 1);
  gint64 shape[4] = { batch, config.out_channels, h * up, w * up };
  g_autoptr (GillTensor) sample = gill_tensor_new_f32 (4, shape);
  if (!gill_vae_decode (weights, state, gill_tensor_data_f32 (latents), batch, gill_tensor_data_f32 (sample), NULL,
                        NULL, error))
    return FALSE;
  gill_check_results_set_tensor (out, "sample", sample);
  return TRUE;
}

/* ------------------------------------------------------------------ sd.pipeline */

typedef struct
{
  GArray *timesteps;   /* float: every timestep the loop ran */
  GArray *latents;     /* float: latents after each step, back to back */
} StepRecord;

static void
record_step (gint         i,
             float        t,
             const float *latents,
             gsize        n,
             gpointer     data)
{
  StepRecord *r = data;
  (void) i;
  g_array_append_val (r->timesteps, t);
  g_array_append_vals (r->latents, latents, n);
}

/* the timesteps as the reference has them: int64, float32 for the Euler schedulers */
static void
publish_timesteps (GillCheckResults  *out,
                   const GillSdFiles *files,
                   const gchar       *scheduler,
                   GArray            *timesteps)
{
  g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (gill_sd_files_scheduler_config (files), scheduler, NULL);
  gint64 n = timesteps->len;
  if (s && gill_scheduler_timesteps_are_float (s))
    {
      g_autoptr (GillTensor) t = gill_tensor_new_f32 (1, &n);
      memcpy (gill_tensor_data_f32 (t), timesteps->data, sizeof (float) * n);
      gill_check_results_set_tensor (out, "timesteps", t);
      return;
    }
  g_autofree gint64 *ints = g_new (gint64, n + 1);
  for (gint64 i = 0; i < n; i++)
    ints[i] = (gint64) g_array_index (timesteps, float, i);
  gill_check_results_set_ints (out, "timesteps", ints, n);
}

static gboolean
run_pipeline (const GillCheckCase *c,
              GillCheckResults    *out,
              GError             **error)
{
  double guidance;
  gint64 steps, height, width;
  const gchar *scheduler = gill_check_case_string (c, "scheduler");
  g_autoptr (GillTensor) prompt_embeds = input_f32 (c, "prompt_embeds", 3, error);
  g_autoptr (GillTensor) latents = prompt_embeds ? input_f32 (c, "latents", 4, error) : NULL;
  g_autofree gchar *negative = latents ? gill_check_input_string (c, "negative_prompt", error) : NULL;
  if (negative == NULL || !gill_check_input_double (c, "guidance_scale", &guidance, error)
      || !gill_check_input_int (c, "num_inference_steps", &steps, error)
      || !gill_check_input_int (c, "height", &height, error) || !gill_check_input_int (c, "width", &width, error))
    return FALSE;
  g_autofree gchar *tokenizer_dir = NULL;
  g_autoptr (GillSdFiles) files = sd_case_files (c, &tokenizer_dir, error);
  GillVaeConfig vae;
  if (files == NULL
      || !gill_vae_config_from_json (gill_sd_files_config (files, GILL_SD_PART_VAE), "vae config", &vae, error))
    return FALSE;
  const gint64 f = (gint64) 1 << (vae.n_blocks - 1);
  if (latents->shape[0] != 1 || latents->shape[2] * f != height || latents->shape[3] * f != width)
    {
      g_autofree gchar *shape = gill_tensor_shape_string (latents);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': latents %s do not match a %" G_GINT64_FORMAT "×%"
                   G_GINT64_FORMAT " image (1/%" G_GINT64_FORMAT " the size, one sample)", c->name, shape, width,
                   height, f);
      return FALSE;
    }

  GillSdRunParams params;
  gill_sd_run_params_default (&params);
  params.scheduler = scheduler;
  params.n_steps = (gint) steps;
  params.guidance_scale = (float) guidance;
  params.height = height;
  params.width = width;
  params.negative_prompt = negative;
  params.tokenizer_dir = tokenizer_dir;
  params.latents = gill_tensor_data_f32 (latents);
  StepRecord record = { g_array_new (FALSE, FALSE, sizeof (float)), g_array_new (FALSE, FALSE, sizeof (float)) };
  params.on_step = record_step;
  params.on_step_data = &record;

  gint64 ishape[4] = { 1, height, width, 3 };
  g_autoptr (GillTensor) image = gill_tensor_new_f32 (4, ishape);
  gboolean ok = gill_sd_run_from_embeddings (files, &params, gill_tensor_data_f32 (prompt_embeds),
                                             prompt_embeds->shape[1], gill_tensor_data_f32 (image), error);
  if (ok)
    {
      gint64 n_steps = record.timesteps->len;
      publish_timesteps (out, files, scheduler, record.timesteps);
      gint64 lshape[5] = { n_steps, latents->shape[0], latents->shape[1], latents->shape[2], latents->shape[3] };
      g_autoptr (GillTensor) step_latents = gill_tensor_new_f32 (5, lshape);
      memcpy (gill_tensor_data_f32 (step_latents), record.latents->data, sizeof (float) * record.latents->len);
      gill_check_results_set_tensor (out, "step_latents", step_latents);
      gill_check_results_set_tensor (out, "image", image);
    }
  g_array_unref (record.timesteps);
  g_array_unref (record.latents);
  return ok;
}

const GillCheckKind gill_check_kinds_sd[] = {
  { "unet.forward", run_unet, sd_layouts },
  { "vae.decode", run_vae, sd_layouts },
  { "sd.pipeline", run_pipeline, sd_layouts },
  { NULL },
};
