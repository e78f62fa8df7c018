/* bench-sd.c — `gill bench unet|vae|sd --preset sd15 --res 512 [--json]`: Stable Diffusion 1.5
 * on random weights of the real shapes, against this machine's sgemm rate measured in the same
 * run.
 *
 *   unet   seconds per guided step: one UNet evaluation of the batch [uncond, cond] (2 samples,
 *          77 context tokens) at res/8 latents; weights made in memory (f32 as published, or
 *          --dtype f16 to time the widening); GFLOP/s counted as models.md §5.2
 *   vae    seconds to decode one res/8 latent to a res × res image (tiled above 512)
 *   sd     the whole pipeline from files: a diffusers folder of random UNet and VAE weights is
 *          written to a temporary folder (safetensors, f32 or f16), then run phase by phase as
 *          `gill generate` does — prompt embeddings given (GILL's call, the text encoder's
 *          share is < 0.1 %), DDIM for --steps steps, decode — so the peak RSS is that of
 *          generating from memory-mapped files. No warm-up: the first run is the one a user
 *          waits for (the files are in the page cache, as just written). The folder is removed
 *          afterwards.
 *
 * sgemm GFLOP/s: gill_gemm on 2048 × 2048 × 2048 (best of three) right before each timed run, the
 * reference that run's rate is a fraction of; the table gives the medians of both and of the
 * per-run fractions (the machine may be shared: a run is only compared with its own moment).
 * One warm-up, then --repetitions runs; median and min; peak RSS (VmHWM). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/cli/bench.h"
#include "core/cli/cli.h"
#include "core/gill/sd-run.h"
#include "core/models/unet.h"
#include "core/models/vae.h"
#include "core/ops/gemm.h"

/* ------------------------------------------------------------------ random weights */

typedef struct
{
  GPtrArray *tensors;   /* owned GillTensor* */
  GillDType dtype;      /* of every parameter */
  guint64 state;        /* xorshift64 */
  gboolean record_only; /* zero-stride placeholders: names and shapes, no data */
  GPtrArray *names;     /* recorded names, parallel to tensors */
} Maker;

static void
maker_clear (Maker *m)
{
  g_clear_pointer (&m->tensors, g_ptr_array_unref);
  g_clear_pointer (&m->names, g_ptr_array_unref);
}

static guint64
xorshift (guint64 *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* uniform in [-a, a) */
static float
random_uniform (guint64 *s,
                float    a)
{
  return a * ((float) (xorshift (s) >> 40) / (float) (1 << 23) - 1.0f);
}

/* a parameter's value: norm scales 1 and biases 0 (1-D), matrices ±1/√fan_in so activations
 * keep their scale through the network (no denormals, no overflow) */
static void
fill_random (float        *out,
             gsize         n,
             const gchar  *name,
             gint          n_dims,
             const gint64 *shape,
             guint64      *s)
{
  if (n_dims == 1)
    {
      float v = g_str_has_suffix (name, ".weight") ? 1.0f : 0.0f;
      for (gsize i = 0; i < n; i++)
        out[i] = v;
      return;
    }
  float a = 1.0f / sqrtf ((float) (n / shape[0]));
  for (gsize i = 0; i < n; i++)
    out[i] = random_uniform (s, a);
}

static GillTensor *
make_parameter (gpointer      data,
                const gchar  *name,
                gint          n_dims,
                const gint64 *shape)
{
  Maker *m = data;
  gsize n = 1;
  for (gint i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];
  GillTensor *t;
  if (m->record_only)
    {
      static const float zero[1];
      gint64 strides[GILL_TENSOR_MAX_DIMS] = { 0 };
      t = gill_tensor_new_view (GILL_DTYPE_F32, n_dims, shape, strides, (const guint8 *) zero, NULL);
      g_ptr_array_add (m->names, g_strdup (name));
    }
  else
    {
      g_autofree float *values = g_new (float, n);
      fill_random (values, n, name, n_dims, shape, &m->state);
      gsize size = gill_dtype_size (m->dtype);
      guint8 *bytes = g_malloc (n * size);
      if (m->dtype == GILL_DTYPE_F16)
        for (gsize i = 0; i < n; i++)
          ((guint16 *) bytes)[i] = gill_f32_to_f16 (values[i]);
      else
        memcpy (bytes, values, n * sizeof (float));
      g_autoptr (GBytes) owner = g_bytes_new_take (bytes, n * size);
      t = gill_tensor_new_view (m->dtype, n_dims, shape, NULL, bytes, owner);
    }
  g_ptr_array_add (m->tensors, t);
  return t;
}

static void
maker_init (Maker    *m,
            GillDType dtype,
            gboolean  record_only)
{
  m->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_unref);
  m->names = g_ptr_array_new_with_free_func (g_free);
  m->dtype = dtype;
  m->state = 0x9e3779b97f4a7c15ull;
  m->record_only = record_only;
}

/* ------------------------------------------------------------------ measurements */

/* gill_gemm on 2048³, measured beside every timed run: the machine is shared, so each run is
 * compared with the sgemm rate of its own moment */
#define SGEMM_N 2048

typedef struct
{
  float *a, *b, *c;   /* [SGEMM_N, SGEMM_N] each */
} SgemmProbe;

static void
sgemm_probe_init (SgemmProbe *p)
{
  guint64 s = 7;
  const gint64 n = SGEMM_N;
  p->a = g_new (float, n * n);
  p->b = g_new (float, n * n);
  p->c = g_new (float, n * n);
  for (gint64 i = 0; i < n * n; i++)
    {
      p->a[i] = random_uniform (&s, 1.0f);
      p->b[i] = random_uniform (&s, 1.0f);
    }
}

static void
sgemm_probe_clear (SgemmProbe *p)
{
  g_clear_pointer (&p->a, g_free);
  g_clear_pointer (&p->b, g_free);
  g_clear_pointer (&p->c, g_free);
}

/* GFLOP/s: the best of three products (after one warm-up) */
static double
sgemm_probe_rate (SgemmProbe *p)
{
  const gint64 n = SGEMM_N;
  double t[3];
  for (gint r = -1; r < 3; r++)
    {
      double t0 = gill_bench_now ();
      gill_gemm (FALSE, FALSE, n, n, n, 1.0f, p->a, n, p->b, n, 0.0f, p->c, n);
      if (r >= 0)
        t[r] = gill_bench_now () - t0;
    }
  double rate = 2.0 * n * n * n / gill_bench_min (t, 3) / 1e9;
  gill_bench_progress ("sgemm %dx%dx%d: %.1f GFLOP/s", SGEMM_N, SGEMM_N, SGEMM_N, rate);
  return rate;
}

typedef struct
{
  double median, min;
} Timing;

static void
timing_set (Timing *timing,
            double *t,
            gint    n)
{
  timing->min = gill_bench_min (t, n);
  timing->median = gill_bench_median (t, n);
}

typedef struct
{
  gboolean json;
  gint repetitions;
  gchar *preset;
  gint res;
  gchar *dtype_name;
  GillDType dtype;
  gint steps;
} Options;

static void
options_clear (Options *o)
{
  g_clear_pointer (&o->preset, g_free);
  g_clear_pointer (&o->dtype_name, g_free);
}

/* parse the options every SD bench shares; FALSE = usage error (printed) */
static gboolean
parse_options (const gchar *name,
               const gchar *summary,
               gint         default_repetitions,
               gboolean     with_steps,
               Options     *o,
               int         *argc,
               char      ***argv)
{
  o->repetitions = default_repetitions;
  o->res = 512;
  o->steps = 2;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "one JSON object on the last line of stdout", NULL },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &o->preset, "model shapes: sd15 (default)", "NAME" },
    { "res", 0, 0, G_OPTION_ARG_INT, &o->res, "image size in pixels, a multiple of 8 (default 512)", "PX" },
    { "dtype", 'd', 0, G_OPTION_ARG_STRING, &o->dtype_name, "weights: f32 (default, as published) or f16", "DTYPE" },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &o->repetitions, "timed runs after one warm-up", "N" },
    { with_steps ? "steps" : NULL, 0, 0, G_OPTION_ARG_INT, &o->steps, "denoising steps (default 2)", "N" },
    { NULL }
  };
  g_autofree gchar *command = g_strdup_printf ("bench %s", name);
  if (!gill_cli_parse (command, "", summary, entries, NULL, argc, argv))
    return FALSE;
  const gchar *problem = NULL;
  if (o->preset && !g_str_equal (o->preset, "sd15"))
    problem = "--preset knows sd15 only";
  else if (o->res < 8 || o->res % 8 != 0 || o->res > 4096)
    problem = "--res must be a multiple of 8 from 8 to 4096";
  else if (o->repetitions < 1 || o->repetitions > 100)
    problem = "--repetitions must be 1 to 100";
  else if (o->steps < 1 || o->steps > 1000)
    problem = "--steps must be 1 to 1000";
  else if (o->dtype_name && !g_str_equal (o->dtype_name, "f32") && !g_str_equal (o->dtype_name, "f16"))
    problem = "--dtype must be f32 or f16";
  o->dtype = o->dtype_name && g_str_equal (o->dtype_name, "f16") ? GILL_DTYPE_F16 : GILL_DTYPE_F32;
  if (problem)
    {
      fprintf (stderr, "gill bench %s: %s\n", name, problem);
      return FALSE;
    }
  return TRUE;
}

static void
json_numbers (JsonBuilder  *b,
              const gchar **keys,
              const double *values,
              gsize         n)
{
  for (gsize i = 0; i < n; i++)
    {
      json_builder_set_member_name (b, keys[i]);
      json_builder_add_double_value (b, values[i]);
    }
}

static void
json_common (JsonBuilder   *b,
             const Options *o)
{
  json_builder_set_member_name (b, "preset");
  json_builder_add_string_value (b, "sd15");
  json_builder_set_member_name (b, "res");
  json_builder_add_int_value (b, o->res);
  json_builder_set_member_name (b, "dtype");
  json_builder_add_string_value (b, gill_dtype_name (o->dtype));
  json_builder_set_member_name (b, "repetitions");
  json_builder_add_int_value (b, o->repetitions);
}

static void
print_footer (const Options *o,
              gboolean       warm_up)
{
  g_autofree gchar *machine = gill_bench_machine ();
  printf ("\npeak RSS %.0f MiB; %s; threads %d; %d runs%s; %s weights\n",
          gill_bench_peak_rss () / 1048576.0, machine, gill_gemm_threads (), o->repetitions,
          warm_up ? " after one warm-up" : ", no warm-up", gill_dtype_name (o->dtype));
}

/* ------------------------------------------------------------------ unet */

int
gill_bench_unet (int argc, char **argv)
{
  Options o = { 0 };
  if (!parse_options ("unet", "SD 1.5's UNet on random weights of the real shapes (made in memory): seconds per\n"
                      "guided step (one evaluation of the batch [uncond, cond]), GFLOP/s against the sgemm\n"
                      "rate measured in the same run, peak RSS.", 2, FALSE, &o, &argc, &argv))
    {
      options_clear (&o);
      return GILL_EXIT_USAGE;
    }
  g_autoptr (GError) error = NULL;
  GillUnetConfig config;
  gill_unet_config_preset ("sd15", &config, NULL);
  const gint64 latent = o.res / 8, batch = 2, n_ctx = 77, d = config.cross_attention_dim;
  const gint64 c = config.in_channels;

  SgemmProbe probe;
  sgemm_probe_init (&probe);
  gill_bench_progress ("making random SD 1.5 UNet weights (%s)", gill_dtype_name (o.dtype));
  Maker m;
  maker_init (&m, o.dtype, FALSE);
  g_autoptr (GillUnetWeights) weights = gill_unet_weights_make (&config, make_parameter, &m, &error);
  g_autoptr (GillUnetState) state = weights ? gill_unet_state_new (&config, weights->wide_floats, batch, latent,
                                                                   latent, n_ctx, &error)
                                            : NULL;
  if (state == NULL)
    {
      gill_cli_print_error (error);
      maker_clear (&m);
      sgemm_probe_clear (&probe);
      options_clear (&o);
      return GILL_EXIT_FAILURE;
    }
  g_autofree float *sample = g_new (float, batch * c * latent * latent);
  g_autofree float *context = g_new (float, batch * n_ctx * d);
  g_autofree float *eps = g_new (float, batch * c * latent * latent);
  for (gint64 i = 0; i < batch * c * latent * latent; i++)
    sample[i] = random_uniform (&m.state, 1.7f);
  for (gint64 i = 0; i < batch * n_ctx * d; i++)
    context[i] = random_uniform (&m.state, 1.7f);
  float timesteps[2] = { 981.0f, 981.0f };

  double flops = batch * gill_unet_flops (&config, latent, latent, n_ctx);
  g_autofree double *t = g_new (double, o.repetitions);
  g_autofree double *rates = g_new (double, o.repetitions);
  g_autofree double *fractions = g_new (double, o.repetitions);
  for (gint r = -1; r < o.repetitions; r++)
    {
      double rate = r >= 0 ? sgemm_probe_rate (&probe) : 0;
      gill_bench_progress ("%s %d of %d", r < 0 ? "warm-up" : "step", MAX (r + 1, 1), r < 0 ? 1 : o.repetitions);
      double t0 = gill_bench_now ();
      gill_unet_forward (weights, state, sample, timesteps, context, eps, NULL);
      if (r >= 0)
        {
          t[r] = gill_bench_now () - t0;
          rates[r] = rate;
          fractions[r] = flops / t[r] / 1e9 / rate;
        }
    }
  sgemm_probe_clear (&probe);
  Timing step;
  timing_set (&step, t, o.repetitions);
  double gflops = flops / step.median / 1e9;
  double sgemm = gill_bench_median (rates, o.repetitions), fraction = gill_bench_median (fractions, o.repetitions);

  if (o.json)
    {
      JsonBuilder *b = gill_bench_json_begin ("unet");
      json_common (b, &o);
      const gchar *keys[] = { "sgemm_gflops", "gflop_per_guided_step", "seconds_per_guided_step_median",
                              "seconds_per_guided_step_min", "gflops", "fraction_of_sgemm",
                              "state_bytes" };
      double values[] = { sgemm, flops / 1e9, step.median, step.min, gflops, fraction, (double) state->bytes };
      json_numbers (b, keys, values, G_N_ELEMENTS (keys));
      gill_bench_json_end (b);
    }
  else
    {
      printf ("| SD 1.5 UNet, %dx%d, guided step (batch 2) | median | min | GFLOP/s | of sgemm |\n", o.res, o.res);
      printf ("|---|---|---|---|---|\n");
      printf ("| %.0f GFLOP | %.2f s | %.2f s | %.1f | %.0f %% of %.1f |\n", flops / 1e9, step.median, step.min, gflops,
              100 * fraction, sgemm);
      print_footer (&o, TRUE);
    }
  maker_clear (&m);
  options_clear (&o);
  return GILL_EXIT_OK;
}

/* ------------------------------------------------------------------ vae */

int
gill_bench_vae (int argc, char **argv)
{
  Options o = { 0 };
  if (!parse_options ("vae", "SD 1.5's VAE decoder on random weights of the real shapes (made in memory): seconds\n"
                      "to decode one res/8 latent (tiled above 512), GFLOP/s against the sgemm rate, peak RSS.",
                      1, FALSE, &o, &argc, &argv))
    {
      options_clear (&o);
      return GILL_EXIT_USAGE;
    }
  g_autoptr (GError) error = NULL;
  GillVaeConfig config;
  gill_vae_config_default (&config);
  const gint64 latent = o.res / 8;

  SgemmProbe probe;
  sgemm_probe_init (&probe);
  gill_bench_progress ("making random SD 1.5 VAE decoder weights (%s)", gill_dtype_name (o.dtype));
  Maker m;
  maker_init (&m, o.dtype, FALSE);
  g_autoptr (GillVaeWeights) weights = gill_vae_weights_make (&config, make_parameter, &m, &error);
  g_autoptr (GillVaeState) state = weights ? gill_vae_state_new (&config, weights->wide_floats, latent, latent, &error)
                                           : NULL;
  if (state == NULL)
    {
      gill_cli_print_error (error);
      maker_clear (&m);
      sgemm_probe_clear (&probe);
      options_clear (&o);
      return GILL_EXIT_FAILURE;
    }
  g_autofree float *latents = g_new (float, config.latent_channels * latent * latent);
  g_autofree float *image = g_new (float, config.out_channels * o.res * o.res);
  for (gint64 i = 0; i < config.latent_channels * latent * latent; i++)
    latents[i] = random_uniform (&m.state, 0.3f);
  /* FLOPs actually done: one decoder run per tile when tiled */
  gint64 runs = state->tiled ? state->tile_rows * state->tile_cols : 1;
  double flops = state->tiled ? 0 : gill_vae_flops (&config, latent, latent);
  for (gint64 r = 0; state->tiled && r < runs; r++)
    {
      gint64 tile = gill_vae_tile_latent (&config), step = tile * 3 / 4;
      gint64 i0 = (r / state->tile_cols) * step, j0 = (r % state->tile_cols) * step;
      flops += gill_vae_flops (&config, MIN (tile, latent - i0), MIN (tile, latent - j0));
    }
  g_autofree double *t = g_new (double, o.repetitions);
  g_autofree double *rates = g_new (double, o.repetitions);
  g_autofree double *fractions = g_new (double, o.repetitions);
  for (gint r = -1; r < o.repetitions; r++)
    {
      double rate = r >= 0 ? sgemm_probe_rate (&probe) : 0;
      gill_bench_progress ("%s %d of %d", r < 0 ? "warm-up" : "decode", MAX (r + 1, 1), r < 0 ? 1 : o.repetitions);
      double t0 = gill_bench_now ();
      gill_vae_decode (weights, state, latents, 1, image, NULL, NULL, NULL);
      if (r >= 0)
        {
          t[r] = gill_bench_now () - t0;
          rates[r] = rate;
          fractions[r] = flops / t[r] / 1e9 / rate;
        }
    }
  sgemm_probe_clear (&probe);
  Timing decode;
  timing_set (&decode, t, o.repetitions);
  double gflops = flops / decode.median / 1e9;
  double sgemm = gill_bench_median (rates, o.repetitions), fraction = gill_bench_median (fractions, o.repetitions);

  if (o.json)
    {
      JsonBuilder *b = gill_bench_json_begin ("vae");
      json_common (b, &o);
      const gchar *keys[] = { "sgemm_gflops", "gflop_per_decode", "decode_seconds_median", "decode_seconds_min",
                              "gflops", "fraction_of_sgemm", "tiles", "state_bytes" };
      double values[] = { sgemm, flops / 1e9, decode.median, decode.min, gflops, fraction, (double) runs,
                          (double) state->bytes };
      json_numbers (b, keys, values, G_N_ELEMENTS (keys));
      gill_bench_json_end (b);
    }
  else
    {
      printf ("| SD 1.5 VAE decode, %dx%d%s | median | min | GFLOP/s | of sgemm |\n", o.res, o.res,
              state->tiled ? " (tiled)" : "");
      printf ("|---|---|---|---|---|\n");
      printf ("| %.0f GFLOP | %.2f s | %.2f s | %.1f | %.0f %% of %.1f |\n", flops / 1e9, decode.median, decode.min,
              gflops, 100 * fraction, sgemm);
      print_footer (&o, TRUE);
    }
  maker_clear (&m);
  options_clear (&o);
  return GILL_EXIT_OK;
}

/* ------------------------------------------------------------------ sd: a diffusers folder on disk */

/* SD 1.5's config files (runwayml/stable-diffusion-v1-5, models.md §3.1) */
static const gchar sd15_unet_config[] =
  "{\"_class_name\": \"UNet2DConditionModel\", \"act_fn\": \"silu\", \"attention_head_dim\": 8,"
  " \"block_out_channels\": [320, 640, 1280, 1280], \"center_input_sample\": false, \"cross_attention_dim\": 768,"
  " \"down_block_types\": [\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\","
  " \"DownBlock2D\"], \"downsample_padding\": 1, \"flip_sin_to_cos\": true, \"freq_shift\": 0, \"in_channels\": 4,"
  " \"layers_per_block\": 2, \"mid_block_scale_factor\": 1, \"norm_eps\": 1e-05, \"norm_num_groups\": 32,"
  " \"out_channels\": 4, \"sample_size\": 64, \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\","
  " \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"]}";
static const gchar sd15_vae_config[] =
  "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\", \"block_out_channels\": [128, 256, 512, 512],"
  " \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\","
  " \"DownEncoderBlock2D\"], \"in_channels\": 3, \"latent_channels\": 4, \"layers_per_block\": 2,"
  " \"norm_num_groups\": 32, \"out_channels\": 3, \"sample_size\": 512, \"up_block_types\": [\"UpDecoderBlock2D\","
  " \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}";
static const gchar sd15_scheduler_config[] =
  "{\"_class_name\": \"PNDMScheduler\", \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\","
  " \"beta_start\": 0.00085, \"num_train_timesteps\": 1000, \"set_alpha_to_one\": false, \"skip_prk_steps\": true,"
  " \"steps_offset\": 1, \"clip_sample\": false, \"trained_betas\": null}";
static const gchar sd15_model_index[] =
  "{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
  " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"scheduler\": [\"diffusers\", \"PNDMScheduler\"]}";

/* one safetensors file with random values for every recorded name and shape */
static gboolean
write_safetensors (const gchar *path,
                   const Maker *record,
                   GillDType    dtype,
                   GError     **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  guint64 offset = 0;
  for (guint i = 0; i < record->tensors->len; i++)
    {
      const GillTensor *t = g_ptr_array_index (record->tensors, i);
      guint64 bytes = gill_tensor_numel (t) * gill_dtype_size (dtype);
      json_builder_set_member_name (b, g_ptr_array_index (record->names, i));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, gill_dtype_to_safetensors (dtype));
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (gint d = 0; d < t->n_dims; d++)
        json_builder_add_int_value (b, t->shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_add_int_value (b, (gint64) (offset + bytes));
      json_builder_end_array (b);
      json_builder_end_object (b);
      offset += bytes;
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree gchar *header = json_to_string (root, FALSE);
  gsize hlen = strlen (header), padded = (hlen + 7) / 8 * 8;

  FILE *f = fopen (path, "wb");
  if (f == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot create: %s", path, g_strerror (errno));
      return FALSE;
    }
  guint64 n = GUINT64_TO_LE (padded);
  gboolean ok = fwrite (&n, 8, 1, f) == 1 && fwrite (header, 1, hlen, f) == hlen;
  for (gsize i = hlen; ok && i < padded; i++)
    ok = fputc (' ', f) != EOF;
  guint64 state = 0x2545f4914f6cdd1dull;
  for (guint i = 0; ok && i < record->tensors->len; i++)
    {
      const GillTensor *t = g_ptr_array_index (record->tensors, i);
      gsize count = gill_tensor_numel (t);
      g_autofree float *values = g_new (float, count);
      fill_random (values, count, g_ptr_array_index (record->names, i), t->n_dims, t->shape, &state);
      if (dtype == GILL_DTYPE_F16)
        {
          g_autofree guint16 *half = g_new (guint16, count);
          for (gsize k = 0; k < count; k++)
            half[k] = gill_f32_to_f16 (values[k]);
          ok = fwrite (half, 2, count, f) == count;
        }
      else
        ok = fwrite (values, 4, count, f) == count;
    }
  if (fclose (f) != 0 || !ok)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: write failed (disk full?)", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_text (const gchar *folder,
            const gchar *part,
            const gchar *file,
            const gchar *text,
            GError     **error)
{
  g_autofree gchar *dir = part ? g_build_filename (folder, part, NULL) : g_strdup (folder);
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot create: %s", dir, g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents (path, text, -1, error);
}

/* a diffusers folder of SD 1.5 shapes with random weights (no text encoder: embeddings are given) */
static gboolean
write_random_sd15 (const gchar *folder,
                   GillDType    dtype,
                   GError     **error)
{
  GillUnetConfig unet_config;
  GillVaeConfig vae_config;
  gill_unet_config_preset ("sd15", &unet_config, NULL);
  gill_vae_config_default (&vae_config);
  Maker unet = { 0 }, vae = { 0 };
  maker_init (&unet, GILL_DTYPE_F32, TRUE);
  maker_init (&vae, GILL_DTYPE_F32, TRUE);
  g_autoptr (GillUnetWeights) uw = gill_unet_weights_make (&unet_config, make_parameter, &unet, error);
  g_autoptr (GillVaeWeights) vw = uw ? gill_vae_weights_make (&vae_config, make_parameter, &vae, error) : NULL;
  const gchar *suffix = dtype == GILL_DTYPE_F16 ? ".fp16" : "";
  g_autofree gchar *unet_name = g_strdup_printf ("diffusion_pytorch_model%s.safetensors", suffix);
  g_autofree gchar *unet_file = g_build_filename (folder, "unet", unet_name, NULL);
  g_autofree gchar *vae_file = g_build_filename (folder, "vae", unet_name, NULL);
  gboolean ok = vw && write_text (folder, NULL, "model_index.json", sd15_model_index, error)
                && write_text (folder, "unet", "config.json", sd15_unet_config, error)
                && write_text (folder, "vae", "config.json", sd15_vae_config, error)
                && write_text (folder, "scheduler", "scheduler_config.json", sd15_scheduler_config, error);
  if (ok)
    gill_bench_progress ("writing %u UNet tensors to %s", unet.tensors->len, unet_file);
  ok = ok && write_safetensors (unet_file, &unet, dtype, error);
  if (ok)
    gill_bench_progress ("writing %u VAE decoder tensors to %s", vae.tensors->len, vae_file);
  ok = ok && write_safetensors (vae_file, &vae, dtype, error);
  maker_clear (&unet);
  maker_clear (&vae);
  return ok;
}

static void
remove_tree (const gchar *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

typedef struct
{
  double start;          /* the run began */
  double denoise_start;  /* the first "denoise" report */
  GArray *step_ends;     /* double: after each scheduler step */
  double decode_start;   /* the first "decode" report */
} PhaseTimes;

static gboolean
phase_progress (double       fraction,
                const gchar *stage,
                gpointer     data)
{
  PhaseTimes *p = data;
  (void) fraction;
  if (g_str_equal (stage, "denoise") && p->denoise_start == 0)
    p->denoise_start = gill_bench_now ();
  return TRUE;
}

static void
phase_step (gint         i,
            float        t,
            const float *latents,
            gsize        n,
            gpointer     data)
{
  PhaseTimes *p = data;
  double now = gill_bench_now ();
  (void) t;
  (void) latents;
  (void) n;
  g_array_append_val (p->step_ends, now);
  gill_bench_progress ("step %d done", i + 1);
}

int
gill_bench_sd (int argc, char **argv)
{
  Options o = { 0 };
  if (!parse_options ("sd", "SD 1.5 end to end from files: a temporary diffusers folder of random weights\n"
                      "(safetensors, --dtype f32 or f16) run as `gill generate` does, one part mapped at a time:\n"
                      "prompt embeddings given, DDIM --steps guided steps, VAE decode; seconds per step, decode\n"
                      "seconds and the peak RSS of generating from memory-mapped files.", 1, TRUE, &o, &argc,
                      &argv))
    {
      options_clear (&o);
      return GILL_EXIT_USAGE;
    }
  g_autoptr (GError) error = NULL;
  SgemmProbe probe;
  sgemm_probe_init (&probe);
  double sgemm = sgemm_probe_rate (&probe);
  sgemm_probe_clear (&probe);
  gint64 rss_before = gill_bench_peak_rss ();
  g_autofree gchar *folder = g_dir_make_tmp ("gill-bench-sd-XXXXXX", &error);
  if (folder == NULL || !write_random_sd15 (folder, o.dtype, &error))
    {
      gill_cli_print_error (error);
      if (folder)
        remove_tree (folder);
      options_clear (&o);
      return GILL_EXIT_FAILURE;
    }

  GillSdFilesOptions fo = { FALSE, o.dtype == GILL_DTYPE_F16 ? "fp16" : NULL, NULL };
  g_autoptr (GillSdFiles) files = gill_sd_files_open (folder, &fo, &error);
  const gint64 n_ctx = 77, d = 768;
  g_autofree float *cond = g_new (float, n_ctx * d);
  g_autofree float *uncond = g_new (float, n_ctx * d);
  g_autofree float *image = g_new (float, (gsize) o.res * o.res * 3);
  guint64 s = 11;
  for (gint64 i = 0; i < n_ctx * d; i++)
    {
      cond[i] = random_uniform (&s, 1.7f);
      uncond[i] = random_uniform (&s, 1.7f);
    }
  g_autofree double *totals = g_new (double, o.repetitions);
  g_autofree double *per_step = g_new (double, o.repetitions);
  g_autofree double *decodes = g_new (double, o.repetitions);
  gboolean ok = files != NULL;
  for (gint r = 0; ok && r < o.repetitions; r++)
    {
      gill_bench_progress ("run %d of %d: %d steps at %dx%d", r + 1, o.repetitions, o.steps, o.res, o.res);
      PhaseTimes p = { gill_bench_now (), 0, g_array_new (FALSE, FALSE, sizeof (double)), 0 };
      GillSdRunParams params;
      gill_sd_run_params_default (&params);
      params.scheduler = "ddim";
      params.n_steps = o.steps;
      params.height = params.width = o.res;
      params.negative_embeds = uncond;
      params.progress = phase_progress;
      params.progress_data = &p;
      params.on_step = phase_step;
      params.on_step_data = &p;
      ok = gill_sd_run_from_embeddings (files, &params, cond, n_ctx, image, &error);
      double end = gill_bench_now ();
      if (ok && p.step_ends->len > 0)
        {
          double last_step = g_array_index (p.step_ends, double, p.step_ends->len - 1);
          totals[r] = end - p.start;
          per_step[r] = (last_step - p.denoise_start) / p.step_ends->len;
          decodes[r] = end - last_step;
        }
      g_array_unref (p.step_ends);
    }
  remove_tree (folder);
  if (!ok)
    {
      gill_cli_print_error (error);
      options_clear (&o);
      return GILL_EXIT_FAILURE;
    }
  Timing total, step, decode;
  timing_set (&total, totals, o.repetitions);
  timing_set (&step, per_step, o.repetitions);
  timing_set (&decode, decodes, o.repetitions);
  GillUnetConfig unet_config;
  GillVaeConfig vae_config;
  gill_unet_config_preset ("sd15", &unet_config, NULL);
  gill_vae_config_default (&vae_config);
  double step_gflops = 2 * gill_unet_flops (&unet_config, o.res / 8, o.res / 8, n_ctx) / step.median / 1e9;
  double peak = (double) gill_bench_peak_rss ();

  if (o.json)
    {
      JsonBuilder *b = gill_bench_json_begin ("sd");
      json_common (b, &o);
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, o.steps);
      const gchar *keys[] = { "sgemm_gflops", "total_seconds_median", "seconds_per_guided_step_median",
                              "seconds_per_guided_step_min", "step_gflops", "step_fraction_of_sgemm",
                              "decode_seconds_median", "peak_rss_before_run_bytes" };
      double values[] = { sgemm, total.median, step.median, step.min, step_gflops, step_gflops / sgemm, decode.median,
                          (double) rss_before };
      json_numbers (b, keys, values, G_N_ELEMENTS (keys));
      gill_bench_json_end (b);
    }
  else
    {
      printf ("| SD 1.5 from %s files, %dx%d, %d DDIM steps | median | min |\n", gill_dtype_name (o.dtype), o.res,
              o.res, o.steps);
      printf ("|---|---|---|\n");
      printf ("| whole run | %.1f s | %.1f s |\n", total.median, total.min);
      printf ("| guided step (2 UNet samples) | %.2f s (%.1f GFLOP/s, %.0f %% of sgemm %.1f) | %.2f s |\n",
              step.median, step_gflops, 100 * step_gflops / sgemm, sgemm, step.min);
      printf ("| VAE decode | %.2f s | %.2f s |\n", decode.median, decode.min);
      printf ("| peak RSS | %.0f MiB | |\n", peak / 1048576.0);
      print_footer (&o, FALSE);
    }
  options_clear (&o);
  return GILL_EXIT_OK;
}
