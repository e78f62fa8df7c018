/* bench-clip.c — `gill bench clip`: CLIP's towers against this machine's sgemm rate.
 *
 * Random weights with a preset's real shapes are made in memory (no files; f32 as the published
 * openai/clip-vit-large-patch14, or f16 / bf16 to time the widening). Measured in one run, so each
 * figure has its limit beside it:
 *   sgemm GFLOP/s     gill_gemm at the vision tower's linear-layer shapes for the batch
 *                     (T·B x D x D and T·B x I x D), mixed in the proportion the model uses them,
 *                     measured again right before each timed forward (median): on a machine
 *                     shared with other work both figures then see the same load
 *   vision            images/s at batch 1 and 8 (224 x 224 pixel_values in), GFLOP/s
 *                     (models.md §5.2 counting: convs, linears, attention products) and its
 *                     fraction of the sgemm rate
 *   text              77-token encodes/s at batch 1
 *   preprocess        a 640 x 480 RGB image to pixel_values (resize, crop, normalise): images/s
 *   peak RSS          VmHWM */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/cli/bench.h"
#include "core/cli/cli.h"
#include "core/image/preprocess.h"
#include "core/models/clip.h"
#include "core/ops/gemm.h"

/* ------------------------------------------------------------------ random weights */

typedef struct
{
  GHashTable *tensors;  /* name -> GillTensor (owned) */
  GillDType dtype;      /* of the matrices; vectors are always f32 */
  guint64 state;        /* xorshift64 */
} RandomWeights;

static void
random_weights_free (RandomWeights *r)
{
  g_hash_table_unref (r->tensors);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RandomWeights, random_weights_free)

static GillTensor *
random_lookup (gconstpointer source,
               const gchar  *name)
{
  return g_hash_table_lookup (((const RandomWeights *) source)->tensors, name);
}

static const gchar *
random_origin (gconstpointer source,
               const gchar  *name)
{
  (void) source;
  (void) name;
  return "random weights";
}

/* values of magnitude 2^-7 .. 2^-6 with random sign and mantissa, like trained weights */
static float
random_value (guint64 *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return gill_f16_to_f32 ((guint16) ((*s & 0x83ff) | 0x2000));
}

static gboolean
random_add (RandomWeights *r,
            const gchar   *name,
            gint           n_dims,
            const gint64  *shape,
            GError       **error)
{
  GillDType dtype = n_dims >= 2 ? r->dtype : GILL_DTYPE_F32;
  gsize n = 1;
  for (gint i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];
  gsize bytes = n * gill_dtype_size (dtype);
  guint8 *data = g_try_malloc (MAX (bytes, 1));
  if (data == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY, "cannot allocate %.2f GB of random weights", bytes / 1e9);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      float v = random_value (&r->state);
      if (dtype == GILL_DTYPE_F32)
        ((float *) data)[i] = v;
      else
        ((guint16 *) data)[i] = dtype == GILL_DTYPE_F16 ? gill_f32_to_f16 (v) : gill_f32_to_bf16 (v);
    }
  g_autoptr (GBytes) owner = g_bytes_new_take (data, bytes);
  g_hash_table_insert (r->tensors, g_strdup (name), gill_tensor_new_view (dtype, n_dims, shape, NULL, data, owner));
  return TRUE;
}

static gboolean
random_add_layers (RandomWeights               *r,
                   const gchar                 *tower,
                   const GillClipEncoderConfig *e,
                   GError                     **error)
{
  gint64 d = e->hidden_size, inner = e->intermediate_size;
  gint64 dd[2] = { d, d }, fc1[2] = { inner, d }, fc2[2] = { d, inner }, vd[1] = { d }, vi[1] = { inner };
  const struct
  {
    const gchar *name;
    gint n_dims;
    const gint64 *shape;
  } params[] = {
    { "layer_norm1.weight", 1, vd }, { "layer_norm1.bias", 1, vd },
    { "self_attn.q_proj.weight", 2, dd }, { "self_attn.q_proj.bias", 1, vd },
    { "self_attn.k_proj.weight", 2, dd }, { "self_attn.k_proj.bias", 1, vd },
    { "self_attn.v_proj.weight", 2, dd }, { "self_attn.v_proj.bias", 1, vd },
    { "self_attn.out_proj.weight", 2, dd }, { "self_attn.out_proj.bias", 1, vd },
    { "layer_norm2.weight", 1, vd }, { "layer_norm2.bias", 1, vd },
    { "mlp.fc1.weight", 2, fc1 }, { "mlp.fc1.bias", 1, vi },
    { "mlp.fc2.weight", 2, fc2 }, { "mlp.fc2.bias", 1, vd },
  };
  for (gint64 l = 0; l < e->num_hidden_layers; l++)
    for (gsize i = 0; i < G_N_ELEMENTS (params); i++)
      {
        g_autofree gchar *name = g_strdup_printf ("%s.encoder.layers.%" G_GINT64_FORMAT ".%s", tower, l, params[i].name);
        if (!random_add (r, name, params[i].n_dims, params[i].shape, error))
          return FALSE;
      }
  return TRUE;
}

/* CLIPModel's names and shapes for both towers */
static RandomWeights *
random_clip (const GillClipVisionConfig *vision,
             const GillClipTextConfig   *text,
             GillDType                   dtype,
             GError                    **error)
{
  g_autoptr (RandomWeights) r = g_new0 (RandomWeights, 1);
  r->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) gill_tensor_unref);
  r->dtype = dtype;
  r->state = 0x9e3779b97f4a7c15ull;
  gint64 d = vision->encoder.hidden_size, p = vision->patch_size, grid = vision->image_size / p;
  gint64 vd[1] = { d }, patch[4] = { d, vision->num_channels, p, p }, vpos[2] = { grid * grid + 1, d };
  gint64 vproj[2] = { vision->projection_dim, d };
  gint64 td = text->encoder.hidden_size;
  gint64 tv[1] = { td }, tok[2] = { text->vocab_size, td }, tpos[2] = { text->max_position_embeddings, td };
  gint64 tproj[2] = { text->projection_dim, td };
  if (!random_add (r, "vision_model.embeddings.class_embedding", 1, vd, error)
      || !random_add (r, "vision_model.embeddings.patch_embedding.weight", 4, patch, error)
      || !random_add (r, "vision_model.embeddings.position_embedding.weight", 2, vpos, error)
      || !random_add (r, "vision_model.pre_layrnorm.weight", 1, vd, error)
      || !random_add (r, "vision_model.pre_layrnorm.bias", 1, vd, error)
      || !random_add_layers (r, "vision_model", &vision->encoder, error)
      || !random_add (r, "vision_model.post_layernorm.weight", 1, vd, error)
      || !random_add (r, "vision_model.post_layernorm.bias", 1, vd, error)
      || !random_add (r, "visual_projection.weight", 2, vproj, error)
      || !random_add (r, "text_model.embeddings.token_embedding.weight", 2, tok, error)
      || !random_add (r, "text_model.embeddings.position_embedding.weight", 2, tpos, error)
      || !random_add_layers (r, "text_model", &text->encoder, error)
      || !random_add (r, "text_model.final_layer_norm.weight", 1, tv, error)
      || !random_add (r, "text_model.final_layer_norm.bias", 1, tv, error)
      || !random_add (r, "text_projection.weight", 2, tproj, error))
    return NULL;
  return g_steal_pointer (&r);
}

/* ------------------------------------------------------------------ measurements */

/* seconds of gill_gemm for x [m, k] W^T with W [n, k] (median of repetitions after a warm-up) */
static double
time_sgemm (gint64 m,
            gint64 n,
            gint64 k,
            gint   repetitions)
{
  guint64 s = 7;
  g_autofree float *x = g_new (float, m * k);
  g_autofree float *w = g_new (float, n * k);
  g_autofree float *y = g_new (float, m * n);
  for (gint64 i = 0; i < m * k; i++)
    x[i] = random_value (&s);
  for (gint64 i = 0; i < n * k; i++)
    w[i] = random_value (&s);
  g_autofree double *t = g_new (double, repetitions);
  for (gint r = -1; r < repetitions; r++)
    {
      double t0 = gill_bench_now ();
      gill_gemm (FALSE, TRUE, m, n, k, 1.0f, x, k, w, k, 0.0f, y, n);
      if (r >= 0)
        t[r] = gill_bench_now () - t0;
    }
  return gill_bench_median (t, repetitions);
}

/* the sgemm rate at the vision tower's linear shapes for `rows` tokens, mixed as the model
 * mixes them: 4 square (q, k, v, out_proj) to 2 MLP GEMMs of I/D times the work each */
static double
sgemm_rate (const GillClipEncoderConfig *e,
            gint64                       rows,
            gint                         repetitions)
{
  gint64 d = e->hidden_size, inner = e->intermediate_size;
  double flops_square = 4 * 2.0 * rows * d * d, flops_mlp = 2 * 2.0 * rows * d * inner;
  double t = 4 * time_sgemm (rows, d, d, repetitions) + 2 * time_sgemm (rows, inner, d, repetitions);
  double rate = (flops_square + flops_mlp) / t / 1e9;
  gill_bench_progress ("sgemm at %" G_GINT64_FORMAT " rows (x %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                       " and %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "): %.1f GFLOP/s", rows, d, d, inner, d, rate);
  return rate;
}

typedef struct
{
  double median, min;
  double sgemm;    /* GFLOP/s of the sgemm mix measured just before each run (median) */
} Timing;

/* images of one batch size; the sgemm rate is measured again right before each run, so that a
 * machine shared with other work gives both figures under the same load */
static gboolean
time_vision (const GillClipVisionWeights *w,
             gint64                       batch,
             gint                         repetitions,
             Timing                      *timing,
             GError                     **error)
{
  const GillClipVisionConfig *c = &w->config;
  gint64 t = (c->image_size / c->patch_size) * (c->image_size / c->patch_size) + 1;
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (c, batch, error);
  if (state == NULL)
    return FALSE;
  gsize n = (gsize) batch * c->num_channels * c->image_size * c->image_size;
  g_autofree float *pixels = g_new (float, n);
  guint64 s = 3;
  for (gsize i = 0; i < n; i++)
    pixels[i] = random_value (&s) * 200.0f; /* about +-2, like normalised pixels */
  g_autofree float *pooled = g_new (float, batch * c->encoder.hidden_size);
  g_autofree float *embeds = g_new (float, batch * c->projection_dim);
  GillClipOutput out = { .pooler_output = pooled, .embeds = embeds };
  g_autofree double *times = g_new (double, repetitions);
  g_autofree double *rates = g_new (double, repetitions);
  for (gint r = -1; r < repetitions; r++)
    {
      double rate = sgemm_rate (&c->encoder, batch * t, 1);
      double t0 = gill_bench_now ();
      if (!gill_clip_vision_forward (w, state, pixels, batch, &out, error))
        return FALSE;
      double dt = gill_bench_now () - t0;
      gill_bench_progress ("vision batch %" G_GINT64_FORMAT " %s: %.3f s (%.1f GFLOP/s)", batch,
                           r < 0 ? "warm-up" : "run", dt, batch * gill_clip_vision_flops (c) / dt / 1e9);
      if (r >= 0)
        {
          times[r] = dt;
          rates[r] = rate;
        }
    }
  timing->min = gill_bench_min (times, repetitions);
  timing->median = gill_bench_median (times, repetitions);
  timing->sgemm = gill_bench_median (rates, repetitions);
  return TRUE;
}

static gboolean
time_text (const GillClipTextWeights *w,
           gint64                     n_tokens,
           gint                       repetitions,
           Timing                    *timing,
           GError                   **error)
{
  const GillClipTextConfig *c = &w->config;
  g_autoptr (GillClipState) state = gill_clip_state_new_text (c, 1, error);
  if (state == NULL)
    return FALSE;
  g_autofree gint64 *ids = g_new (gint64, n_tokens);
  for (gint64 i = 0; i < n_tokens; i++)
    ids[i] = i == 0 ? c->vocab_size - 2 : i == n_tokens / 2 ? c->vocab_size - 1 : (i * 7919) % (c->vocab_size - 2);
  g_autofree float *last = g_new (float, n_tokens * c->encoder.hidden_size);
  GillClipOutput out = { .last_hidden_state = last };
  gint runs = repetitions * 5; /* fast: more runs for a stable median */
  g_autofree double *t = g_new (double, runs);
  for (gint r = -1; r < runs; r++)
    {
      double t0 = gill_bench_now ();
      if (!gill_clip_text_forward (w, state, ids, 1, n_tokens, &out, error))
        return FALSE;
      if (r >= 0)
        t[r] = gill_bench_now () - t0;
    }
  timing->min = gill_bench_min (t, runs);
  timing->median = gill_bench_median (t, runs);
  gill_bench_progress ("text %" G_GINT64_FORMAT " tokens: %.4f s", n_tokens, timing->median);
  return TRUE;
}

static gboolean
time_preprocess (gint     repetitions,
                 Timing  *timing,
                 GError **error)
{
  GillPreprocessConfig config;
  gill_preprocess_config_clip (&config);
  g_autoptr (GillImage) image = gill_image_new (640, 480, 3);
  guint64 s = 5;
  for (gsize i = 0; i < 640 * 480 * 3; i++)
    image->pixels[i] = (guint8) (random_value (&s) * 1e4f);
  g_autofree float *pixels = g_new (float, 3 * 224 * 224);
  gint runs = repetitions * 10;
  g_autofree double *t = g_new (double, runs);
  for (gint r = -1; r < runs; r++)
    {
      double t0 = gill_bench_now ();
      if (!gill_preprocess_image_into (&config, image, pixels, error))
        return FALSE;
      if (r >= 0)
        t[r] = gill_bench_now () - t0;
    }
  timing->min = gill_bench_min (t, runs);
  timing->median = gill_bench_median (t, runs);
  return TRUE;
}

/* ------------------------------------------------------------------ command */

int
gill_bench_clip (int argc, char **argv)
{
  gboolean json = FALSE;
  gint repetitions = 3;
  g_autofree gchar *preset = NULL;
  g_autofree gchar *dtype_name = NULL;
  g_autofree gchar *batches_arg = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object on the last line of stdout", NULL },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, "CLIP shapes: vit-l-14 (default), vit-b-16, vit-b-32", "NAME" },
    { "dtype", 'd', 0, G_OPTION_ARG_STRING, &dtype_name, "weight matrices: f32 (default, as published), f16, bf16",
      "DTYPE" },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &repetitions, "timed runs after one warm-up (default 3)", "N" },
    { "batches", 'b', 0, G_OPTION_ARG_STRING, &batches_arg, "vision batch sizes, comma-separated (default 1,8)", "LIST" },
    { NULL }
  };
  if (!gill_cli_parse ("bench clip", "",
                       "CLIP's vision tower (224x224 images, batch 1 and 8) and text tower (77 tokens) on\n"
                       "random weights with a preset's real shapes, made in memory, against this machine's\n"
                       "sgemm rate measured in the same run; image preprocessing; peak RSS.",
                       entries, NULL, &argc, &argv))
    return GILL_EXIT_USAGE;
  GillDType dtype = GILL_DTYPE_F32;
  if (dtype_name && !g_str_equal (dtype_name, "f32"))
    {
      if (g_str_equal (dtype_name, "f16"))
        dtype = GILL_DTYPE_F16;
      else if (g_str_equal (dtype_name, "bf16"))
        dtype = GILL_DTYPE_BF16;
      else
        {
          fprintf (stderr, "gill bench clip: --dtype must be f32, f16 or bf16, not '%s'\n", dtype_name);
          return GILL_EXIT_USAGE;
        }
    }
  if (repetitions < 1 || repetitions > 100)
    {
      fprintf (stderr, "gill bench clip: --repetitions must be 1 to 100\n");
      return GILL_EXIT_USAGE;
    }
  g_autoptr (GError) error = NULL;
  const gchar *name = preset ? preset : "vit-l-14";
  GillClipVisionConfig vc;
  GillClipTextConfig tc;
  if (!gill_clip_vision_config_preset (name, &vc, &error) || !gill_clip_text_config_preset (name, &tc, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_USAGE;
    }
  gint64 tokens = tc.max_position_embeddings;
  g_autoptr (GArray) batches = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) items = g_strsplit (batches_arg ? batches_arg : "1,8", ",", -1);
  for (gsize i = 0; items[i]; i++)
    {
      gint64 b = g_ascii_strtoll (items[i], NULL, 10);
      if (b < 1 || b > 64)
        {
          fprintf (stderr, "gill bench clip: --batches takes sizes 1 to 64, like 1,8\n");
          return GILL_EXIT_USAGE;
        }
      g_array_append_val (batches, b);
    }

  gill_bench_progress ("making random %s weights (%s)", name, gill_dtype_name (dtype));
  g_autoptr (RandomWeights) random = random_clip (&vc, &tc, dtype, &error);
  if (random == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  GillWeights lookup = { random_lookup, random_origin, random, NULL };
  g_autoptr (GillClipVisionWeights) vision = gill_clip_vision_weights_bind (&vc, &lookup, &error);
  g_autoptr (GillClipTextWeights) text = vision ? gill_clip_text_weights_bind (&tc, &lookup, &error) : NULL;
  g_autofree Timing *vt = g_new0 (Timing, batches->len);
  Timing tx, pre;
  gboolean ok = text != NULL && time_preprocess (repetitions, &pre, &error);
  for (guint i = 0; ok && i < batches->len; i++)
    ok = time_vision (vision, g_array_index (batches, gint64, i), repetitions, &vt[i], &error);
  if (!ok || !time_text (text, tokens, repetitions, &tx, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }

  double flops = gill_clip_vision_flops (&vc);
  double text_gflops = gill_clip_text_flops (&tc, tokens) / tx.median / 1e9;
  g_autofree gchar *machine = gill_bench_machine ();
  if (json)
    {
      JsonBuilder *b = gill_bench_json_begin ("clip");
      json_builder_set_member_name (b, "preset");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, gill_dtype_name (dtype));
      json_builder_set_member_name (b, "repetitions");
      json_builder_add_int_value (b, repetitions);
      json_builder_set_member_name (b, "vision_gflop_per_image");
      json_builder_add_double_value (b, flops / 1e9);
      json_builder_set_member_name (b, "vision");
      json_builder_begin_array (b);
      for (guint i = 0; i < batches->len; i++)
        {
          gint64 batch = g_array_index (batches, gint64, i);
          double gflops = batch * flops / vt[i].median / 1e9;
          const struct
          {
            const gchar *key;
            double value;
          } numbers[] = {
            { "seconds_median", vt[i].median },
            { "seconds_min", vt[i].min },
            { "images_per_second", batch / vt[i].median },
            { "gflops", gflops },
            { "sgemm_gflops", vt[i].sgemm },
            { "fraction_of_sgemm", gflops / vt[i].sgemm },
          };
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "batch");
          json_builder_add_int_value (b, batch);
          for (gsize k = 0; k < G_N_ELEMENTS (numbers); k++)
            {
              json_builder_set_member_name (b, numbers[k].key);
              json_builder_add_double_value (b, numbers[k].value);
            }
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      const struct
      {
        const gchar *key;
        double value;
      } numbers[] = {
        { "text_77_seconds_median", tx.median },
        { "text_77_seconds_min", tx.min },
        { "text_77_encodes_per_second", 1 / tx.median },
        { "text_77_gflops", text_gflops },
        { "preprocess_640x480_seconds_median", pre.median },
        { "preprocess_640x480_images_per_second", 1 / pre.median },
      };
      for (gsize k = 0; k < G_N_ELEMENTS (numbers); k++)
        {
          json_builder_set_member_name (b, numbers[k].key);
          json_builder_add_double_value (b, numbers[k].value);
        }
      gill_bench_json_end (b);
      return GILL_EXIT_OK;
    }
  printf ("| CLIP %s, %s weights | median | min | throughput | GFLOP/s | of sgemm |\n", name, gill_dtype_name (dtype));
  printf ("|---|---|---|---|---|---|\n");
  for (guint i = 0; i < batches->len; i++)
    {
      gint64 batch = g_array_index (batches, gint64, i);
      double gflops = batch * flops / vt[i].median / 1e9;
      printf ("| vision, batch %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ") | %.3f s | %.3f s | "
              "%.2f images/s | %.1f | %.0f %% of %.1f |\n", batch, vc.image_size, vc.image_size, vt[i].median,
              vt[i].min, batch / vt[i].median, gflops, 100 * gflops / vt[i].sgemm, vt[i].sgemm);
    }
  printf ("| text, %" G_GINT64_FORMAT " tokens | %.1f ms | %.1f ms | %.1f encodes/s | %.1f | |\n", tokens,
          tx.median * 1e3, tx.min * 1e3, 1 / tx.median, text_gflops);
  printf ("| preprocess 640x480 -> 224x224 | %.1f ms | %.1f ms | %.0f images/s | | |\n", pre.median * 1e3,
          pre.min * 1e3, 1 / pre.median);
  printf ("\n%.1f GFLOP per image (models.md §5.2 counting); peak RSS %.0f MiB; %s; threads %d; "
          "%d runs after one warm-up\n", flops / 1e9, gill_bench_peak_rss () / 1048576.0, machine, gill_gemm_threads (),
          repetitions);
  return GILL_EXIT_OK;
}
