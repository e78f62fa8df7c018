/* test-sd.c — Stable Diffusion's UNet, VAE, kernels, name maps and pipeline: the behaviours the
 * fixture cases do not pin down (errors, cancel, both VAE attention namings, tiling, the kernels
 * against naive references). Model cases use ../shared/fixtures/tiny-sd ($GILL_FIXTURES). */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/io/sd-names.h"
#include "core/io/tensors.h"
#include "core/io/store.h"
#include "core/models/sd-pipeline.h"
#include "core/models/unet.h"
#include "core/models/vae.h"
#include "core/ops/attention.h"
#include "core/ops/conv.h"
#include "fixture.h"

/* ------------------------------------------------------------------ helpers */

static float
uniform (guint64 *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (float) (*s >> 40) / (float) (1 << 23) - 1.0f;
}

static void
fill (float   *x,
      gsize    n,
      guint64 *s)
{
  for (gsize i = 0; i < n; i++)
    x[i] = uniform (s);
}

static float
max_abs_diff (const float *a,
              const float *b,
              gsize        n)
{
  float m = 0;
  for (gsize i = 0; i < n; i++)
    m = fmaxf (m, fabsf (a[i] - b[i]));
  return m;
}

/* a lookup over another that hides one name, or answers it with a different tensor */
typedef struct
{
  GillWeights inner;
  const gchar *name;
  GillTensor *replacement;   /* NULL: hide the name */
} Doctored;

static GillTensor *
doctored_lookup (gconstpointer source,
                 const gchar  *name)
{
  const Doctored *d = source;
  if (g_str_equal (name, d->name))
    return d->replacement;
  return d->inner.lookup (d->inner.source, name);
}

static const gchar *
doctored_origin (gconstpointer source,
                 const gchar  *name)
{
  const Doctored *d = source;
  return d->inner.origin (d->inner.source, name);
}

/* ------------------------------------------------------------------ kernels */

/* tiled online-softmax attention equals softmax (q kᵀ s) v computed whole: many key tiles
 * (self-attention), and few keys in tall tiles (cross-attention) */
static void
check_attention (gint64 n_q,
                 gint64 n_kv,
                 gint64 heads,
                 gint64 d)
{
  g_test_message ("attention: %" G_GINT64_FORMAT " queries, %" G_GINT64_FORMAT " keys, %" G_GINT64_FORMAT
                  " heads of %" G_GINT64_FORMAT, n_q, n_kv, heads, d);
  const gint64 c = heads * d;
  guint64 s = 1;
  g_autofree float *q = g_new (float, n_q * c);
  g_autofree float *k = g_new (float, n_kv * c);
  g_autofree float *v = g_new (float, n_kv * c);
  fill (q, n_q * c, &s);
  fill (k, n_kv * c, &s);
  fill (v, n_kv * c, &s);
  for (gint64 i = 0; i < n_q * c; i++)
    q[i] *= 4.0f;   /* peaked softmax: the running maximum matters */
  g_autofree float *out = g_new (float, n_q * c);
  g_autofree float *scratch = g_new (float, gill_attention_scratch_floats (n_q, n_kv, d));
  const float scale = 1.0f / sqrtf ((float) d);
  gill_attention (q, c, k, c, v, c, out, c, n_q, n_kv, heads, d, scale, scratch);

  g_autofree double *p = g_new (double, n_kv);
  double worst = 0;
  for (gint64 h = 0; h < heads; h++)
    for (gint64 i = 0; i < n_q; i++)
      {
        double m = -INFINITY, sum = 0;
        for (gint64 j = 0; j < n_kv; j++)
          {
            double dot = 0;
            for (gint64 e = 0; e < d; e++)
              dot += (double) q[i * c + h * d + e] * k[j * c + h * d + e];
            p[j] = dot * scale;
            m = fmax (m, p[j]);
          }
        for (gint64 j = 0; j < n_kv; j++)
          sum += p[j] = exp (p[j] - m);
        for (gint64 e = 0; e < d; e++)
          {
            double o = 0;
            for (gint64 j = 0; j < n_kv; j++)
              o += p[j] * v[j * c + h * d + e];
            worst = fmax (worst, fabs (o / sum - out[i * c + h * d + e]));
          }
      }
  g_assert_cmpfloat (worst, <, 2e-6);
}

/* both kernels — the fused one where this CPU has AVX-512, the GEMM path everywhere — on SD's
 * head dims and on sizes that are not whole vectors, tiles or key blocks */
static void
test_attention_tiles (void)
{
  static const gint64 cases[][4] = {
    { 300, 2500, 2, 8 }, { 3000, 77, 2, 8 }, { 100, 37, 3, 40 }, { 45, 300, 2, 80 },
    { 33, 129, 1, 160 }, { 9, 5, 1, 160 }, { 5, 1, 1, 3 }, { 1, 16, 2, 16 }, { 70, 90, 1, 512 },
  };
  for (gint fused = 0; fused <= 1; fused++)
    {
      gboolean available = gill_attention_set_fused (fused);
      g_test_message ("%s kernel", fused && available ? "fused" : "GEMM");
      for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
        check_attention (cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
    }
  gill_attention_set_fused (TRUE);
}

/* scratch sized for the largest call serves every smaller one: a VAE tile at the image's edge has
 * fewer pixels than a full tile, and fewer keys make taller score tiles */
static void
check_attention_scratch (gint64 d)
{
  const gint64 full = 4096;
  gsize floats = gill_attention_scratch_floats (full, full, d);
  const gsize guard = 1024;
  g_autofree float *scratch = g_new (float, floats + guard);
  static const gint64 sizes[] = { 4096, 2048, 1024, 300, 77, 1 };
  guint64 s = 4;
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const gint64 n = sizes[i];
      g_autofree float *q = g_new (float, n * d);
      g_autofree float *o = g_new (float, n * d);
      fill (q, n * d, &s);
      for (gsize g = 0; g < guard; g++)
        scratch[floats + g] = 12345.0f;
      gill_attention (q, d, q, d, q, d, o, d, n, n, 1, d, 1.0f / sqrtf ((float) d), scratch);
      for (gsize g = 0; g < guard; g++)
        g_assert_cmpfloat (scratch[floats + g], ==, 12345.0f);
    }
}

static void
test_attention_scratch (void)
{
  for (gint fused = 0; fused <= 1; fused++)
    {
      gill_attention_set_fused (fused);
      check_attention_scratch (512);   /* the VAE's */
      check_attention_scratch (40);    /* the UNet's first level */
    }
  gill_attention_set_fused (TRUE);
}

/* the im2col + GEMM conv, batched over images and cut into bands, equals a direct conv */
static void
test_conv_reference (void)
{
  static const struct
  {
    gint64 batch, c_in, h, w, c_out, k, stride, pad;
    gsize scratch;   /* floats; small ones force several bands */
  } cases[] = {
    { 1, 3, 7, 9, 5, 3, 1, 1, 1 << 16 },
    { 2, 4, 9, 6, 3, 3, 1, 1, 300 },
    { 2, 4, 9, 7, 6, 3, 2, 1, 1 << 16 },
    { 3, 5, 4, 4, 2, 1, 1, 0, 50 },
    { 1, 5, 4, 4, 2, 1, 1, 0, 0 },
    { 2, 2, 48, 48, 3, 3, 1, 1, 1 << 12 },   /* 2304 pixels: one image per GEMM */
  };
  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      const gint64 B = cases[t].batch, ci = cases[t].c_in, h = cases[t].h, w = cases[t].w, co = cases[t].c_out;
      const gint64 k = cases[t].k, st = cases[t].stride, pad = cases[t].pad;
      const gint64 ho = gill_conv2d_out_dim (h, k, st, pad), wo = gill_conv2d_out_dim (w, k, st, pad);
      guint64 s = 3 + t;
      g_autofree float *x = g_new (float, B * ci * h * w);
      g_autofree float *wt = g_new (float, co * ci * k * k);
      g_autofree float *bias = g_new (float, co);
      fill (x, B * ci * h * w, &s);
      fill (wt, co * ci * k * k, &s);
      fill (bias, co, &s);
      gsize floats = MAX (cases[t].scratch, gill_conv2d_row_floats (B, ci, co, k, wo));
      if (cases[t].scratch == 0)
        floats = 0;   /* one image, 1×1: no scratch at all */
      g_autofree float *scratch = g_new (float, MAX (floats, 1));
      g_autofree float *y = g_new (float, B * co * ho * wo);
      gill_conv2d (x, B, ci, h, w, wt, bias, co, k, st, pad, y, scratch, floats);
      float worst = 0;
      for (gint64 b = 0; b < B; b++)
        for (gint64 o = 0; o < co; o++)
          for (gint64 i = 0; i < ho; i++)
            for (gint64 j = 0; j < wo; j++)
              {
                double acc = bias[o];
                for (gint64 c = 0; c < ci; c++)
                  for (gint64 ky = 0; ky < k; ky++)
                    for (gint64 kx = 0; kx < k; kx++)
                      {
                        gint64 iy = i * st + ky - pad, ix = j * st + kx - pad;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                          acc += (double) wt[((o * ci + c) * k + ky) * k + kx] * x[((b * ci + c) * h + iy) * w + ix];
                      }
                worst = fmaxf (worst, fabsf ((float) acc - y[((b * co + o) * ho + i) * wo + j]));
              }
      g_assert_cmpfloat (worst, <, 1e-5);
    }
}

/* F.interpolate (mode="nearest"): ×2 repeats, other sizes floor (i · in / out) */
static void
test_upsample_nearest (void)
{
  const float x[6] = { 1, 2, 3, 4, 5, 6 };   /* [1, 2, 3] */
  float y[4 * 6];
  gill_upsample_nearest (x, 1, 2, 3, y, 4, 6);
  const float doubled[24] = { 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6 };
  g_assert_cmpmem (y, sizeof doubled, doubled, sizeof doubled);
  float z[3 * 5];
  gill_upsample_nearest (x, 1, 2, 3, z, 3, 5);   /* 2→3 rows, 3→5 columns */
  const float sized[15] = { 1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6 };
  g_assert_cmpmem (z, sizeof sized, sized, sizeof sized);
}

/* ------------------------------------------------------------------ names */

static void
test_compvis_names (void)
{
  static const struct
  {
    const gchar *compvis, *canonical;
    GillSdPart part;
  } cases[] = {
    { "model.diffusion_model.input_blocks.0.0.weight", "conv_in.weight", GILL_SD_PART_UNET },
    { "model.diffusion_model.time_embed.2.bias", "time_embedding.linear_2.bias", GILL_SD_PART_UNET },
    { "model.diffusion_model.input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.input_blocks.5.1.transformer_blocks.0.attn2.to_k.weight",
      "down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight", GILL_SD_PART_UNET },
    { "model.diffusion_model.input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias", GILL_SD_PART_UNET },
    { "model.diffusion_model.input_blocks.11.0.emb_layers.1.weight", "down_blocks.3.resnets.1.time_emb_proj.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.middle_block.2.out_layers.3.weight", "mid_block.resnets.1.conv2.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.middle_block.1.proj_in.weight", "mid_block.attentions.0.proj_in.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias", GILL_SD_PART_UNET },
    { "model.diffusion_model.output_blocks.8.0.in_layers.0.weight", "up_blocks.2.resnets.2.norm1.weight",
      GILL_SD_PART_UNET },
    { "model.diffusion_model.output_blocks.11.1.norm.bias", "up_blocks.3.attentions.2.norm.bias", GILL_SD_PART_UNET },
    { "model.diffusion_model.out.2.weight", "conv_out.weight", GILL_SD_PART_UNET },
    { "first_stage_model.decoder.up.1.block.0.nin_shortcut.weight",
      "decoder.up_blocks.2.resnets.0.conv_shortcut.weight",
      GILL_SD_PART_VAE },
    { "first_stage_model.decoder.up.3.upsample.conv.weight", "decoder.up_blocks.0.upsamplers.0.conv.weight",
      GILL_SD_PART_VAE },
    { "first_stage_model.decoder.mid.attn_1.proj_out.weight", "decoder.mid_block.attentions.0.to_out.0.weight",
      GILL_SD_PART_VAE },
    { "first_stage_model.decoder.norm_out.bias", "decoder.conv_norm_out.bias", GILL_SD_PART_VAE },
    { "first_stage_model.encoder.down.0.block.0.conv1.weight", NULL, GILL_SD_PART_VAE },
    { "cond_stage_model.transformer.text_model.final_layer_norm.weight", "text_model.final_layer_norm.weight",
      GILL_SD_PART_TEXT_ENCODER },
    { "cond_stage_model.transformer.embeddings.token_embedding.weight",
      "text_model.embeddings.token_embedding.weight", GILL_SD_PART_TEXT_ENCODER },
    { "cond_stage_model.transformer.text_model.embeddings.position_ids", NULL, GILL_SD_PART_TEXT_ENCODER },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GillSdPart part = GILL_SD_N_PARTS;
      g_autofree gchar *name = gill_sd_name_from_compvis (cases[i].compvis, 2, 4, &part);
      g_test_message ("%s -> %s", cases[i].compvis, name ? name : "(none)");
      g_assert_cmpstr (name, ==, cases[i].canonical);
      g_assert_cmpint (part, ==, cases[i].part);
    }
  /* the up-block order is reversed over however many levels the VAE has */
  GillSdPart part;
  g_autofree gchar *up3 = gill_sd_name_from_compvis ("first_stage_model.decoder.up.3.block.0.nin_shortcut.weight", 2,
                                                     5, &part);
  g_assert_cmpstr (up3, ==, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight");
  g_autofree gchar *legacy = gill_sd_name_from_legacy_vae ("decoder.mid_block.attentions.0.proj_attn.bias");
  g_assert_cmpstr (legacy, ==, "decoder.mid_block.attentions.0.to_out.0.bias");
  g_autofree gchar *query = gill_sd_name_from_legacy_vae ("decoder.mid_block.attentions.0.query.weight");
  g_assert_cmpstr (query, ==, "decoder.mid_block.attentions.0.to_q.weight");
  g_autofree gchar *plain = gill_sd_name_from_legacy_vae ("decoder.mid_block.attentions.0.group_norm.weight");
  g_assert_cmpstr (plain, ==, "decoder.mid_block.attentions.0.group_norm.weight");
}

/* ------------------------------------------------------------------ binding errors */

static GillSdFiles *
tiny_files (GError **error)
{
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  return folder ? gill_sd_files_open (folder, NULL, error) : NULL;
}

static void
test_missing_tensor (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillSdFiles) files = tiny_files (&error);
  if (files == NULL && error == NULL)
    return;
  g_assert_no_error (error);
  GillUnetConfig config;
  g_assert_true (gill_unet_config_from_json (gill_sd_files_config (files, GILL_SD_PART_UNET), "unet", &config, &error));
  g_assert_true (gill_sd_files_map (files, GILL_SD_PART_UNET, &error));
  Doctored d = { gill_sd_files_weights (files, GILL_SD_PART_UNET),
                 "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v.weight", NULL };
  GillWeights lookup = { doctored_lookup, doctored_origin, &d, NULL };
  g_autoptr (GillUnetWeights) w = gill_unet_weights_bind (&config, &lookup, &error);
  g_assert_null (w);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v.weight"));
}

static void
test_misshapen_tensor (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillSdFiles) files = tiny_files (&error);
  if (files == NULL && error == NULL)
    return;
  g_assert_no_error (error);
  GillVaeConfig config;
  g_assert_true (gill_vae_config_from_json (gill_sd_files_config (files, GILL_SD_PART_VAE), "vae", &config, &error));
  g_assert_true (gill_sd_files_map (files, GILL_SD_PART_VAE, &error));
  GillWeights inner = gill_sd_files_weights (files, GILL_SD_PART_VAE);
  /* decoder.conv_in.weight transposed: [4, 64, 3, 3] where [64, 4, 3, 3] belongs */
  gint64 shape[4] = { config.latent_channels, config.block_out_channels[config.n_blocks - 1], 3, 3 };
  g_autoptr (GillTensor) wrong = gill_tensor_new_f32 (4, shape);
  Doctored d = { inner, "decoder.conv_in.weight", wrong };
  GillWeights lookup = { doctored_lookup, doctored_origin, &d, NULL };
  g_autoptr (GillVaeWeights) w = gill_vae_weights_bind (&config, &lookup, &error);
  g_assert_null (w);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "decoder.conv_in.weight"));
  g_assert_nonnull (strstr (error->message, "[64, 4, 3, 3]"));
  g_assert_nonnull (strstr (error->message, "[4, 64, 3, 3]"));
}

/* ------------------------------------------------------------------ VAE */

/* decode latents with the VAE of `files` (not tiled unless the latent exceeds a tile) */
static float *
vae_decode (GillSdFiles *files,
            const float *latents,
            gint64       h,
            gint64       w,
            gboolean    *tiled,
            GError     **error)
{
  GillVaeConfig config;
  if (!gill_vae_config_from_json (gill_sd_files_config (files, GILL_SD_PART_VAE), "vae", &config, error)
      || !gill_sd_files_map (files, GILL_SD_PART_VAE, error))
    return NULL;
  GillWeights lookup = gill_sd_files_weights (files, GILL_SD_PART_VAE);
  g_autoptr (GillVaeWeights) weights = gill_vae_weights_bind (&config, &lookup, error);
  g_autoptr (GillVaeState) state = weights ? gill_vae_state_new (&config, weights->wide_floats, h, w, error) : NULL;
  if (state == NULL)
    return NULL;
  const gint64 up = (gint64) 1 << (config.n_blocks - 1);
  g_autofree float *image = g_new (float, config.out_channels * h * up * w * up);
  if (tiled)
    *tiled = state->tiled;
  if (!gill_vae_decode (weights, state, latents, 1, image, NULL, NULL, error))
    return NULL;
  return g_steal_pointer (&image);
}

/* write a safetensors file of these (name, f32 tensor) pairs */
static void
write_safetensors (const gchar *path,
                   GPtrArray   *names,
                   GPtrArray   *tensors)
{
  GString *header = g_string_new ("{");
  guint64 offset = 0;
  for (guint i = 0; i < names->len; i++)
    {
      GillTensor *t = g_ptr_array_index (tensors, i);
      g_autofree gchar *shape = gill_tensor_shape_string (t);
      guint64 bytes = 4 * gill_tensor_numel (t);
      g_string_append_printf (header, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%" G_GUINT64_FORMAT
                              ",%" G_GUINT64_FORMAT "]}", i ? "," : "", (const gchar *) g_ptr_array_index (names, i),
                              shape, offset, offset + bytes);
      offset += bytes;
    }
  g_string_append (header, "}");
  while (header->len % 8)
    g_string_append_c (header, ' ');
  GString *file = g_string_new (NULL);
  guint64 n = GUINT64_TO_LE (header->len);
  g_string_append_len (file, (const gchar *) &n, 8);
  g_string_append_len (file, header->str, header->len);
  for (guint i = 0; i < tensors->len; i++)
    {
      GillTensor *t = g_ptr_array_index (tensors, i);
      g_autofree float *values = g_new (float, gill_tensor_numel (t));
      gill_tensor_copy_f32 (t, values);
      g_string_append_len (file, (const gchar *) values, 4 * gill_tensor_numel (t));
    }
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, file->str, file->len, &error));
  g_string_free (header, TRUE);
  g_string_free (file, TRUE);
}

/* the VAE attention under diffusers' legacy names (query/key/value/proj_attn, as 1×1-conv
 * [C, C, 1, 1] weights) decodes exactly as under the current ones */
static void
test_vae_attention_names (void)
{
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *tmp = g_dir_make_tmp ("gill-sd-legacy-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree gchar *vae_dir = g_build_filename (tmp, "vae", NULL);
  g_assert_cmpint (g_mkdir (vae_dir, 0700), ==, 0);
  static const gchar *const linked[] = { "model_index.json", "unet", "scheduler" };
  for (gsize i = 0; i < G_N_ELEMENTS (linked); i++)
    {
      g_autofree gchar *target = g_build_filename (folder, linked[i], NULL);
      g_autofree gchar *link = g_build_filename (tmp, linked[i], NULL);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
  g_autofree gchar *config_src = g_build_filename (folder, "vae", "config.json", NULL);
  g_autofree gchar *config_dst = g_build_filename (vae_dir, "config.json", NULL);
  g_autofree gchar *config_text = NULL;
  gsize config_len;
  g_assert_true (g_file_get_contents (config_src, &config_text, &config_len, NULL));
  g_assert_true (g_file_set_contents (config_dst, config_text, config_len, NULL));

  /* the fixture's VAE with the attention renamed back and its matrices made 4-D */
  g_autofree gchar *src = g_build_filename (folder, "vae", "diffusion_pytorch_model.safetensors", NULL);
  g_autoptr (GillTensorList) list = gill_weights_open_file (src, &error);
  g_assert_no_error (error);
  static const gchar *const renames[][2] = { { ".to_q.", ".query." }, { ".to_k.", ".key." }, { ".to_v.", ".value." },
                                             { ".to_out.0.", ".proj_attn." } };
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_unref);
  guint renamed = 0;
  for (guint i = 0; i < list->names->len; i++)
    {
      const gchar *name = g_ptr_array_index (list->names, i);
      GillTensor *t = g_ptr_array_index (list->tensors, i);
      gchar *legacy = g_strdup (name);
      for (gsize r = 0; r < G_N_ELEMENTS (renames); r++)
        {
          const gchar *at = strstr (name, renames[r][0]);
          if (at && g_str_has_prefix (name, "decoder.mid_block.attentions."))
            {
              g_free (legacy);
              legacy = g_strdup_printf ("%.*s%s%s", (int) (at - name), name, renames[r][1],
                                        at + strlen (renames[r][0]));
              renamed++;
              if (t->n_dims == 2)
                {
                  gint64 shape4[4] = { t->shape[0], t->shape[1], 1, 1 };
                  g_ptr_array_add (names, legacy);
                  g_ptr_array_add (tensors, gill_tensor_new_view (t->dtype, 4, shape4, NULL, t->data, t->owner));
                  legacy = NULL;
                }
            }
        }
      if (legacy)
        {
          g_ptr_array_add (names, legacy);
          g_ptr_array_add (tensors, gill_tensor_ref (t));
        }
    }
  g_assert_cmpuint (renamed, ==, 8);   /* q, k, v, out: weight and bias each */
  g_autofree gchar *dst = g_build_filename (vae_dir, "diffusion_pytorch_model.safetensors", NULL);
  write_safetensors (dst, names, tensors);

  const gint64 h = 16, w = 16;
  g_autofree float *latents = g_new (float, 4 * h * w);
  guint64 s = 5;
  fill (latents, 4 * h * w, &s);
  g_autoptr (GillSdFiles) current = gill_sd_files_open (folder, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GillSdFiles) legacy_files = gill_sd_files_open (tmp, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *a = vae_decode (current, latents, h, w, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *b = vae_decode (legacy_files, latents, h, w, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (a, 3 * 128 * 128 * sizeof (float), b, 3 * 128 * 128 * sizeof (float));

  g_unlink (dst);
  g_unlink (config_dst);
  g_rmdir (vae_dir);
  for (gsize i = 0; i < G_N_ELEMENTS (linked); i++)
    {
      g_autofree gchar *link = g_build_filename (tmp, linked[i], NULL);
      g_unlink (link);
    }
  g_rmdir (tmp);
}

/* latents larger than a tile decode tile by tile: the top-left tile's unblended region is
 * exactly the decode of that tile alone; the whole image has the full size and is finite */
static void
test_vae_tiled (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillSdFiles) files = tiny_files (&error);
  if (files == NULL && error == NULL)
    return;
  g_assert_no_error (error);
  const gint64 h = 28, w = 20, tile = 16, up = 8;   /* the tiny VAE: sample_size 128, 4 levels */
  g_autofree float *latents = g_new (float, 4 * h * w);
  guint64 s = 9;
  fill (latents, 4 * h * w, &s);
  gboolean tiled = FALSE;
  g_autofree float *image = vae_decode (files, latents, h, w, &tiled, &error);
  g_assert_no_error (error);
  g_assert_true (tiled);
  for (gint64 i = 0; i < 3 * h * up * w * up; i++)
    g_assert_true (isfinite (image[i]));

  g_autofree float *corner = g_new (float, 4 * tile * tile);
  for (gint64 c = 0; c < 4; c++)
    for (gint64 i = 0; i < tile; i++)
      memcpy (corner + (c * tile + i) * tile, latents + (c * h + i) * w, sizeof (float) * tile);
  gboolean corner_tiled = TRUE;
  g_autofree float *alone = vae_decode (files, corner, tile, tile, &corner_tiled, &error);
  g_assert_no_error (error);
  g_assert_false (corner_tiled);
  const gint64 limit = tile * up * 3 / 4;   /* 96 of 128 px: the part no later tile blends into */
  float worst = 0;
  for (gint64 c = 0; c < 3; c++)
    for (gint64 y = 0; y < limit; y++)
      worst = fmaxf (worst, max_abs_diff (image + (c * h * up + y) * w * up, alone + (c * tile * up + y) * tile * up,
                                          limit));
  g_assert_cmpfloat (worst, ==, 0.0f);
}

/* a full single file (EMA copy beside the training weights, LDM's dot-less model_ema.* names):
 * use_ema takes the copy, the default the training weights; VAE and text encoder are the same */
static void
test_compvis_ema (void)
{
  g_autofree gchar *file = fixture ("tiny-sd/compvis/tiny-sd.safetensors");
  g_autofree gchar *yaml = fixture ("tiny-sd/compvis/tiny-sd-inference.yaml");
  if (file == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_weights_open_file (file, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_unref);
  for (guint i = 0; i < list->names->len; i++)
    {
      const gchar *name = g_ptr_array_index (list->names, i);
      GillTensor *t = g_ptr_array_index (list->tensors, i);
      g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_add (tensors, gill_tensor_ref (t));
      if (!g_str_has_prefix (name, "model.diffusion_model."))
        continue;
      /* model_ema.diffusion_model<key without dots>, holding the weights negated */
      GString *ema = g_string_new ("model_ema.");
      for (const gchar *c = name + strlen ("model."); *c; c++)
        if (*c != '.')
          g_string_append_c (ema, *c);
      GillTensor *neg = gill_tensor_new_f32 (t->n_dims, t->shape);
      gill_tensor_copy_f32 (t, gill_tensor_data_f32 (neg));
      for (gint64 k = 0; k < gill_tensor_numel (neg); k++)
        gill_tensor_data_f32 (neg)[k] = -gill_tensor_data_f32 (neg)[k];
      g_ptr_array_add (names, g_string_free (ema, FALSE));
      g_ptr_array_add (tensors, neg);
    }
  g_autofree gchar *dir = g_dir_make_tmp ("gill-sd-ema-XXXXXX", NULL);
  g_autofree gchar *full = g_build_filename (dir, "full.safetensors", NULL);
  write_safetensors (full, names, tensors);

  GillTensor *original = gill_tensor_list_find (list, "model.diffusion_model.input_blocks.0.0.weight");
  g_autofree float *want = g_new (float, gill_tensor_numel (original));
  gill_tensor_copy_f32 (original, want);
  for (gint use_ema = 0; use_ema < 2; use_ema++)
    {
      GillSdFilesOptions options = { use_ema, NULL, yaml };
      g_autoptr (GillSdFiles) files = gill_sd_files_open (full, &options, &error);
      g_assert_no_error (error);
      g_assert_true (gill_sd_files_map (files, GILL_SD_PART_UNET, &error));
      g_assert_true (gill_sd_files_map (files, GILL_SD_PART_VAE, &error));
      g_assert_no_error (error);
      GillWeights unet = gill_sd_files_weights (files, GILL_SD_PART_UNET);
      GillTensor *conv_in = unet.lookup (unet.source, "conv_in.weight");
      g_assert_nonnull (conv_in);
      g_autofree float *got = g_new (float, gill_tensor_numel (conv_in));
      gill_tensor_copy_f32 (conv_in, got);
      for (gint64 k = 0; k < gill_tensor_numel (conv_in); k++)
        g_assert_cmpfloat (got[k], ==, use_ema ? -want[k] : want[k]);
      /* the UNet has as many tensors either way; no EMA key leaks in as a name of its own */
      g_assert_cmpuint (gill_sd_files_n_tensors (files, GILL_SD_PART_UNET), ==, 494);
      g_assert_cmpuint (gill_sd_files_n_tensors (files, GILL_SD_PART_VAE), >, 0);
    }
  g_unlink (full);
  g_rmdir (dir);
}

/* ------------------------------------------------------------------ pipeline */

typedef struct
{
  gint calls;
  gint stop_at;      /* the callback returns FALSE on this call */
  gint steps_done;
} CancelState;

static gboolean
cancel_after (double       fraction,
              const gchar *stage,
              gpointer     data)
{
  CancelState *c = data;
  (void) fraction;
  (void) stage;
  return ++c->calls < c->stop_at;
}

static void
count_step (gint         i,
            float        t,
            const float *latents,
            gsize        n,
            gpointer     data)
{
  (void) i;
  (void) t;
  (void) latents;
  (void) n;
  ((CancelState *) data)->steps_done++;
}

/* the tiny UNet and its scheduler, bound from the fixture */
typedef struct
{
  GillSdFiles *files;
  GillUnetWeights *unet;
  GillScheduler *scheduler;
} TinyUnet;

static gboolean
tiny_unet (TinyUnet *t)
{
  g_autoptr (GError) error = NULL;
  t->files = tiny_files (&error);
  if (t->files == NULL)
    {
      g_assert_no_error (error);
      return FALSE;
    }
  GillUnetConfig config;
  g_assert_true (gill_unet_config_from_json (gill_sd_files_config (t->files, GILL_SD_PART_UNET), "unet", &config,
                                             &error));
  g_assert_true (gill_sd_files_map (t->files, GILL_SD_PART_UNET, &error));
  GillWeights lookup = gill_sd_files_weights (t->files, GILL_SD_PART_UNET);
  t->unet = gill_unet_weights_bind (&config, &lookup, &error);
  g_assert_no_error (error);
  t->scheduler = gill_scheduler_new_from_json (gill_sd_files_scheduler_config (t->files), "ddim", &error);
  g_assert_no_error (error);
  return TRUE;
}

static void
tiny_unet_clear (TinyUnet *t)
{
  g_clear_pointer (&t->scheduler, gill_scheduler_free);
  g_clear_pointer (&t->unet, gill_unet_weights_free);
  g_clear_pointer (&t->files, gill_sd_files_free);
}

/* image sizes that are not multiples of the VAE factor are refused before any work */
static void
test_latent_size (void)
{
  TinyUnet t = { 0 };
  if (!tiny_unet (&t))
    return;
  const gint64 n_ctx = 77, d = t.unet->config.cross_attention_dim;
  g_autofree float *cond = g_new0 (float, n_ctx * d);
  g_autofree float *latents = g_new0 (float, 4 * 32 * 32);
  static const gint64 sizes[][2] = { { 100, 128 }, { 128, 126 }, { 4, 128 }, { 0, 0 } };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GillSdDenoiseParams params;
      gill_sd_denoise_params_default (&params);
      params.height = sizes[i][0];
      params.width = sizes[i][1];
      params.n_steps = 2;
      params.guidance_scale = 1.0f;
      g_autoptr (GError) error = NULL;
      g_assert_false (gill_sd_denoise (t.unet, t.scheduler, cond, NULL, n_ctx, &params, latents, &error));
      g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "multiples of 8"));
    }
  /* guidance without the unconditional embeddings is refused too */
  GillSdDenoiseParams params;
  gill_sd_denoise_params_default (&params);
  params.height = params.width = 128;
  g_autoptr (GError) error = NULL;
  g_assert_false (gill_sd_denoise (t.unet, t.scheduler, cond, NULL, n_ctx, &params, latents, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  tiny_unet_clear (&t);
}

/* a latent that is not a multiple of 2^levels runs: the up path follows the skip sizes */
static void
test_odd_latent (void)
{
  TinyUnet t = { 0 };
  if (!tiny_unet (&t))
    return;
  const GillUnetConfig *config = &t.unet->config;
  const gint64 h = 13, w = 10, n_ctx = 5, d = config->cross_attention_dim;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillUnetState) state = gill_unet_state_new (config, t.unet->wide_floats, 1, h, w, n_ctx, &error);
  g_assert_no_error (error);
  g_autofree float *sample = g_new (float, 4 * h * w);
  g_autofree float *ctx = g_new (float, n_ctx * d);
  g_autofree float *out = g_new (float, 4 * h * w);
  guint64 s = 2;
  fill (sample, 4 * h * w, &s);
  fill (ctx, n_ctx * d, &s);
  float t500 = 500.0f;
  g_assert_true (gill_unet_forward (t.unet, state, sample, &t500, ctx, out, &error));
  g_assert_no_error (error);
  for (gint64 i = 0; i < 4 * h * w; i++)
    g_assert_true (isfinite (out[i]));
  tiny_unet_clear (&t);
}

/* a progress callback that says stop ends the loop with CANCELLED, between steps or inside one */
static void
test_cancel (void)
{
  TinyUnet t = { 0 };
  if (!tiny_unet (&t))
    return;
  const gint64 n_ctx = 77, d = t.unet->config.cross_attention_dim;
  g_autofree float *cond = g_new0 (float, n_ctx * d);
  g_autofree float *uncond = g_new0 (float, n_ctx * d);
  g_autofree float *latents = g_new0 (float, 4 * 16 * 16);
  static const gint stops[] = { 1, 2, 9, 20 };
  for (gsize i = 0; i < G_N_ELEMENTS (stops); i++)
    {
      CancelState c = { 0, stops[i], 0 };
      GillSdDenoiseParams params;
      gill_sd_denoise_params_default (&params);
      params.height = params.width = 128;
      params.n_steps = 10;
      params.progress = cancel_after;
      params.progress_data = &c;
      params.on_step = count_step;
      params.on_step_data = &c;
      g_autoptr (GError) error = NULL;
      g_assert_false (gill_sd_denoise (t.unet, t.scheduler, cond, uncond, n_ctx, &params, latents, &error));
      g_assert_error (error, GILL_ERROR, GILL_ERROR_CANCELLED);
      g_assert_cmpint (c.calls, ==, stops[i]);   /* stopped at once */
      g_assert_cmpint (c.steps_done, <, 10);
    }
  tiny_unet_clear (&t);
}

/* `gill generate` interrupted mid-run fails with "cancelled" and leaves no file, not even a
 * temporary one */
static void
test_cancel_writes_nothing (void)
{
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  if (folder == NULL)
    return;
  g_autofree gchar *dir = g_dir_make_tmp ("gill-sd-cancel-XXXXXX", NULL);
  g_autofree gchar *out = g_build_filename (dir, "out.png", NULL);
  const gchar *argv[] = { GILL_CLI, "generate", "--sd", folder, "--prompt", "a red bicycle", "--steps", "500",
                          "--size", "256x256", "--scheduler", "ddim", "-o", out, NULL };
  GPid pid;
  gint err_fd;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                           NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);
  /* wait until denoising is under way, then interrupt as Ctrl-C would */
  GString *err = g_string_new (NULL);
  gchar buf[256];
  gssize n;
  while (strstr (err->str, "denoise") == NULL && (n = read (err_fd, buf, sizeof buf)) > 0)
    g_string_append_len (err, buf, n);
  g_assert_nonnull (strstr (err->str, "denoise"));
  kill (pid, SIGINT);
  while ((n = read (err_fd, buf, sizeof buf)) > 0)
    g_string_append_len (err, buf, n);
  close (err_fd);
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_test_message ("%s", err->str);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err->str, "cancelled"));
  g_string_free (err, TRUE);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_null (g_dir_read_name (d));   /* nothing written */
  g_rmdir (dir);
}

/* the umask a spawned `gill generate` runs under */
static void
set_umask_027 (gpointer unused)
{
  (void) unused;
  umask (027);
}

static gchar *
generate_png (const gchar *folder,
              const gchar *dir,
              const gchar *name,
              const gchar *seed)
{
  gchar *out = g_build_filename (dir, name, NULL);
  const gchar *argv[] = { GILL_CLI, "generate", "--sd", folder, "--prompt", "a red bicycle", "--negative", "blurry",
                          "--steps", "3", "--size", "64x48", "--scheduler", "euler-a", "--seed", seed, "-o", out,
                          "--quiet", NULL };
  gint status = -1;
  g_autofree gchar *err = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, set_umask_027, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

/* `gill generate` writes a PNG of the asked size, with the mode the umask gives a new file, and
 * the same seed gives the same bytes while another seed gives another picture */
static void
test_generate_writes_png (void)
{
  g_autofree gchar *folder = fixture ("tiny-sd/diffusers");
  if (folder == NULL)
    return;
  g_autofree gchar *dir = g_dir_make_tmp ("gill-sd-generate-XXXXXX", NULL);
  g_autofree gchar *a = generate_png (folder, dir, "a.png", "7");
  g_autofree gchar *b = generate_png (folder, dir, "b.png", "7");
  g_autofree gchar *c = generate_png (folder, dir, "c.png", "8");
  gchar *bytes[3];
  gsize len[3];
  const gchar *paths[3] = { a, b, c };
  for (gint i = 0; i < 3; i++)
    {
      g_assert_true (g_file_get_contents (paths[i], &bytes[i], &len[i], NULL));
      GStatBuf st;
      g_assert_cmpint (g_stat (paths[i], &st), ==, 0);
      g_assert_cmpint (st.st_mode & 0777, ==, 0640);
    }
  /* PNG signature, then IHDR: width and height big-endian at bytes 16 and 20 */
  g_assert_cmpuint (len[0], >, 24);
  g_assert_cmpmem (bytes[0], 8, "\x89PNG\r\n\x1a\n", 8);
  const guint8 *ihdr = (const guint8 *) bytes[0] + 16;
  g_assert_cmpuint (GUINT32_FROM_BE (*(const guint32 *) ihdr), ==, 64);
  g_assert_cmpuint (GUINT32_FROM_BE (*(const guint32 *) (ihdr + 4)), ==, 48);
  g_assert_cmpmem (bytes[0], len[0], bytes[1], len[1]);
  g_assert_false (len[0] == len[2] && memcmp (bytes[0], bytes[2], len[0]) == 0);
  for (gint i = 0; i < 3; i++)
    {
      g_unlink (paths[i]);
      g_free (bytes[i]);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sd/attention-tiles", test_attention_tiles);
  g_test_add_func ("/sd/attention-scratch", test_attention_scratch);
  g_test_add_func ("/sd/conv-reference", test_conv_reference);
  g_test_add_func ("/sd/upsample-nearest", test_upsample_nearest);
  g_test_add_func ("/sd/compvis-names", test_compvis_names);
  g_test_add_func ("/sd/missing-tensor", test_missing_tensor);
  g_test_add_func ("/sd/misshapen-tensor", test_misshapen_tensor);
  g_test_add_func ("/sd/vae-attention-names", test_vae_attention_names);
  g_test_add_func ("/sd/vae-tiled", test_vae_tiled);
  g_test_add_func ("/sd/compvis-ema", test_compvis_ema);
  g_test_add_func ("/sd/latent-size", test_latent_size);
  g_test_add_func ("/sd/odd-latent", test_odd_latent);
  g_test_add_func ("/sd/cancel", test_cancel);
  g_test_add_func ("/sd/cancel-writes-nothing", test_cancel_writes_nothing);
  g_test_add_func ("/sd/generate-writes-png", test_generate_writes_png);
  return g_test_run ();
}
