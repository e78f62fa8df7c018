/* vae.c — AutoencoderKL's decoder (huggingface/diffusers v0.17.1, autoencoder_kl.py and vae.py),
 * with tiled_decode for latents larger than one tile. See vae.h and models.md §3.3. */
#include "core/models/vae.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/json-config.h"
#include "core/ops/attention.h"
#include "core/ops/conv.h"
#include "core/ops/nn.h"

#define VAE_EPS 1e-6f               /* every decoder GroupNorm (resnets, attention, conv_norm_out) */
#define VAE_TILE_OVERLAP 0.25       /* AutoencoderKL.tile_overlap_factor */

/* ------------------------------------------------------------------ config */

void
gill_vae_config_default (GillVaeConfig *config)
{
  static const gint64 channels[] = { 128, 256, 512, 512 };
  memset (config, 0, sizeof *config);
  config->latent_channels = 4;
  config->out_channels = 3;
  config->n_blocks = G_N_ELEMENTS (channels);
  memcpy (config->block_out_channels, channels, sizeof channels);
  config->layers_per_block = 2;
  config->norm_num_groups = 32;
  config->scaling_factor = 0.18215f;
  config->sample_size = 512;
}

gboolean
gill_vae_config_from_json (JsonObject    *json,
                           const gchar   *file,
                           GillVaeConfig *config,
                           GError       **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  GillVaeConfig c;
  gill_vae_config_default (&c);
  gint64 n = 0, sample[2], n_sample = 0;
  double scaling = c.scaling_factor;
  if (!gill_json_config_int (json, file, "latent_channels", c.latent_channels, &c.latent_channels, error)
      || !gill_json_config_int (json, file, "out_channels", c.out_channels, &c.out_channels, error)
      || !gill_json_config_ints (json, file, "block_out_channels", c.block_out_channels, GILL_VAE_MAX_BLOCKS, &n, error)
      || !gill_json_config_int (json, file, "layers_per_block", c.layers_per_block, &c.layers_per_block, error)
      || !gill_json_config_int (json, file, "norm_num_groups", c.norm_num_groups, &c.norm_num_groups, error)
      || !gill_json_config_double (json, file, "scaling_factor", scaling, &scaling, error)
      || !gill_json_config_ints (json, file, "sample_size", sample, 2, &n_sample, error))
    return FALSE;
  if (n > 0)
    c.n_blocks = n;
  if (n_sample > 0)
    c.sample_size = sample[0];   /* a [h, w] list: diffusers takes the first */
  c.scaling_factor = (float) scaling;
  const gchar *act = gill_json_config_string (json, "act_fn");
  if (act && !g_str_equal (act, "silu"))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: act_fn '%s' is not supported (silu)", file, act);
      return FALSE;
    }
  g_auto (GStrv) up = gill_json_config_strings (json, file, "up_block_types", error);
  if (up == NULL)
    return FALSE;
  for (gint i = 0; up[i]; i++)
    if (!g_str_equal (up[i], "UpDecoderBlock2D"))
      {
        g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: up block type '%s' is not supported "
                     "(UpDecoderBlock2D)", file, up[i]);
        return FALSE;
      }
  if (up[0] && g_strv_length (up) != (guint) c.n_blocks)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: up_block_types needs %" G_GINT64_FORMAT
                   " entries, one per block_out_channels", file, c.n_blocks);
      return FALSE;
    }
  gboolean ok = c.latent_channels > 0 && c.out_channels > 0 && c.layers_per_block > 0
                && c.layers_per_block < GILL_VAE_MAX_LAYERS && c.norm_num_groups > 0 && c.scaling_factor > 0
                && c.sample_size >> (c.n_blocks - 1) > 0;
  for (gint64 i = 0; ok && i < c.n_blocks; i++)
    ok = c.block_out_channels[i] > 0 && c.block_out_channels[i] % c.norm_num_groups == 0;
  if (!ok)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: channels, groups, layers_per_block, sample_size or "
                   "scaling_factor are impossible", file);
      return FALSE;
    }
  *config = c;
  return TRUE;
}

gint64
gill_vae_tile_latent (const GillVaeConfig *config)
{
  return config->sample_size >> (config->n_blocks - 1);
}

double
gill_vae_flops (const GillVaeConfig *config,
                gint64               h,
                gint64               w)
{
  const gint64 n = config->n_blocks, c_last = config->block_out_channels[n - 1];
  double hw = (double) h * w;
  double f = 2.0 * hw * config->latent_channels * config->latent_channels;       /* post_quant_conv */
  f += 2.0 * hw * c_last * config->latent_channels * 9;                         /* conv_in */
  f += 2 * 2 * 2.0 * hw * c_last * c_last * 9;                                  /* mid resnets */
  f += 4 * 2.0 * hw * c_last * c_last + 2 * 2.0 * hw * hw * c_last;             /* mid attention */
  gint64 prev = c_last;
  for (gint64 i = 0; i < n; i++)
    {
      gint64 out = config->block_out_channels[n - 1 - i];
      for (gint64 j = 0; j <= config->layers_per_block; j++)
        {
          gint64 in = j == 0 ? prev : out;
          f += 2.0 * hw * out * in * 9 + 2.0 * hw * out * out * 9 + (in != out ? 2.0 * hw * out * in : 0);
        }
      if (i < n - 1)
        {
          hw *= 4;
          f += 2.0 * hw * out * out * 9;
        }
      prev = out;
    }
  return f + 2.0 * hw * config->out_channels * config->block_out_channels[0] * 9;
}

/* ------------------------------------------------------------------ weights */

void
gill_vae_weights_free (GillVaeWeights *weights)
{
  g_free (weights);
}

static GillVaeWeights *
vae_bind (const GillVaeConfig *config,
          GillSdBinder        *b,
          GError             **error)
{
  g_autoptr (GillVaeWeights) v = g_new0 (GillVaeWeights, 1);
  const gint64 n = config->n_blocks, groups = config->norm_num_groups, lat = config->latent_channels;
  const gint64 c0 = config->block_out_channels[0], c_last = config->block_out_channels[n - 1];
  const gchar *mid = "decoder.mid_block";
  v->config = *config;

  if (!gill_sd_conv_bind (&v->post_quant_conv, b, NULL, "post_quant_conv", lat, lat, 1, 1, 0, error)
      || !gill_sd_conv_bind (&v->conv_in, b, "decoder", "conv_in", lat, c_last, 3, 1, 1, error)
      || !gill_sd_resnet_bind (&v->mid_resnets[0], b, mid, 0, c_last, c_last, 0, groups, VAE_EPS, error)
      || !gill_sd_attention_bind (&v->mid_attention, b, mid, 0, c_last, groups, VAE_EPS, error)
      || !gill_sd_resnet_bind (&v->mid_resnets[1], b, mid, 1, c_last, c_last, 0, groups, VAE_EPS, error))
    return NULL;

  /* decoder.up_blocks.{i}: reversed channels; layers_per_block + 1 resnets; ×2 + conv but last */
  gint64 prev = c_last;
  for (gint64 i = 0; i < n; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("decoder.up_blocks.%" G_GINT64_FORMAT, i);
      gint64 out = config->block_out_channels[n - 1 - i];
      for (gint64 j = 0; j <= config->layers_per_block; j++)
        if (!gill_sd_resnet_bind (&v->up_resnets[i][j], b, name, j, j == 0 ? prev : out, out, 0, groups, VAE_EPS,
                                  error))
          return NULL;
      if (i < n - 1 && !gill_sd_conv_bind (&v->upsamplers[i], b, name, "upsamplers.0.conv", out, out, 3, 1, 1, error))
        return NULL;
      prev = out;
    }

  if (!gill_sd_norm_bind (&v->conv_norm_out, b, "decoder", "conv_norm_out", c0, groups, VAE_EPS, error)
      || !gill_sd_conv_bind (&v->conv_out, b, "decoder", "conv_out", c0, config->out_channels, 3, 1, 1, error))
    return NULL;
  v->wide_floats = b->wide_floats;
  return g_steal_pointer (&v);
}

GillVaeWeights *
gill_vae_weights_bind (const GillVaeConfig *config,
                       const GillWeights   *lookup,
                       GError             **error)
{
  g_return_val_if_fail (config != NULL && lookup != NULL, NULL);
  return vae_bind (config, &(GillSdBinder) { .weights = lookup }, error);
}

GillVaeWeights *
gill_vae_weights_make (const GillVaeConfig *config,
                       GillSdMakeFunc       make,
                       gpointer             make_data,
                       GError             **error)
{
  g_return_val_if_fail (config != NULL && make != NULL, NULL);
  return vae_bind (config, &(GillSdBinder) { .make = make, .make_data = make_data }, error);
}

/* ------------------------------------------------------------------ state */

void
gill_vae_state_free (GillVaeState *state)
{
  if (state == NULL)
    return;
  g_free (state->z);
  g_free (state->x);
  g_free (state->y);
  g_free (state->work);
  g_free (state->tiles);
  gill_sd_scratch_clear (&state->scratch);
  g_free (state);
}

GillVaeState *
gill_vae_state_new (const GillVaeConfig *config,
                    gsize                wide_floats,
                    gint64               height,
                    gint64               width,
                    GError             **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  if (height < 1 || width < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT, "VAE: a latent of %" G_GINT64_FORMAT "×%"
                   G_GINT64_FORMAT " cannot be decoded", height, width);
      return NULL;
    }
  g_autoptr (GillVaeState) s = g_new0 (GillVaeState, 1);
  const gint64 n = config->n_blocks, tile = gill_vae_tile_latent (config), up = (gint64) 1 << (n - 1);
  s->config = *config;
  s->height = height;
  s->width = width;
  s->tiled = height > tile || width > tile;
  s->run_h = s->tiled ? MIN (height, tile) : height;
  s->run_w = s->tiled ? MIN (width, tile) : width;

  /* the largest activation, resnet work and conv row of one decoder run */
  gint64 h = s->run_h, w = s->run_w, c_last = config->block_out_channels[n - 1];
  gsize act = h * w * MAX (c_last, config->latent_channels), work = 0, col = GILL_SD_COL_FLOATS;
  work = MAX (gill_sd_resnet_work_floats (c_last, c_last, 1, h * w), gill_sd_attention_work_floats (c_last, h * w));
  gint64 prev = c_last;
  for (gint64 i = 0; i < n; i++)
    {
      gint64 out = config->block_out_channels[n - 1 - i];
      act = MAX (act, (gsize) (h * w * MAX (prev, out)));
      work = MAX (work, gill_sd_resnet_work_floats (prev, out, 1, h * w));
      col = MAX (col, gill_conv2d_row_floats (1, MAX (prev, out), out, 3, w));
      if (i < n - 1)
        {
          h *= 2;
          w *= 2;
          act = MAX (act, (gsize) (h * w * out));
        }
      prev = out;
    }
  gsize attn = gill_attention_scratch_floats (s->run_h * s->run_w, s->run_h * s->run_w, c_last);
  gsize z_floats = config->latent_channels * s->run_h * s->run_w;
  if ((s->z = gill_sd_alloc_activations ("VAE", z_floats, &s->bytes, error)) == NULL
      || (s->x = gill_sd_alloc_activations ("VAE", act, &s->bytes, error)) == NULL
      || (s->y = gill_sd_alloc_activations ("VAE", act, &s->bytes, error)) == NULL
      || (s->work = gill_sd_alloc_activations ("VAE", work, &s->bytes, error)) == NULL)
    return NULL;
  if (s->tiled)
    {
      const gint64 step = (gint64) (tile * (1.0 - VAE_TILE_OVERLAP));
      s->tile_rows = (height + step - 1) / step;
      s->tile_cols = (width + step - 1) / step;
      gsize per_tile = config->out_channels * (tile * up) * (tile * up);
      gsize floats = s->tile_rows * s->tile_cols * per_tile;
      if ((s->tiles = gill_sd_alloc_activations ("VAE", floats, &s->bytes, error)) == NULL)
        return NULL;
    }
  if (!gill_sd_scratch_init (&s->scratch, wide_floats, col, attn, 0, error))
    return NULL;
  s->bytes += (wide_floats + col + attn) * sizeof (float);
  return g_steal_pointer (&s);
}

/* ------------------------------------------------------------------ decode */

/* out[out_channels, 8h, 8w] = decoder (post_quant_conv (z[latent, h, w])), z already scaled */
static void
vae_decoder_run (const GillVaeWeights *weights,
                 GillVaeState         *s,
                 const float          *z,
                 gint64                h,
                 gint64                w,
                 float                *out)
{
  const GillVaeConfig *config = &weights->config;
  GillSdScratch *sc = &s->scratch;
  const gint64 n = config->n_blocks;
  float *x = s->x, *y = s->y;

  /* y = post_quant_conv (z)                                       [latent, h·w] */
  gill_sd_conv_forward (&weights->post_quant_conv, z, 1, h, w, y, sc);
  /* x = conv_in (y)                                               [C_last, h·w] */
  gill_sd_conv_forward (&weights->conv_in, y, 1, h, w, x, sc);
  /* mid_block: x = resnets.1 (attentions.0 (resnets.0 (x)))       [C_last, h·w] */
  gill_sd_resnet_forward (&weights->mid_resnets[0], x, 1, h, w, NULL, y, s->work, sc);
  gill_sd_attention_forward (&weights->mid_attention, y, 1, h * w, s->work, sc);
  gill_sd_resnet_forward (&weights->mid_resnets[1], y, 1, h, w, NULL, x, s->work, sc);

  /* up_blocks: resnets × (layers + 1), then x = conv (interpolate (x, ×2, "nearest")) */
  gint64 c = weights->mid_resnets[1].c_out;
  for (gint64 i = 0; i < n; i++)
    {
      for (gint64 j = 0; j <= config->layers_per_block; j++)
        {
          const GillSdResnet *r = &weights->up_resnets[i][j];
          gill_sd_resnet_forward (r, x, 1, h, w, NULL, y, s->work, sc);  /* [C_i, h·w] */
          gill_sd_swap_buffers (&x, &y);
          c = r->c_out;
        }
      if (i < n - 1)
        {
          gill_upsample_nearest (x, c, h, w, y, 2 * h, 2 * w);           /* [C_i, 2h·2w] */
          h *= 2;
          w *= 2;
          gill_sd_conv_forward (&weights->upsamplers[i], y, 1, h, w, x, sc);
        }
    }

  /* out = conv_out (SiLU (conv_norm_out (x)))                     [out, 8h·8w] */
  gill_sd_group_norm_forward (&weights->conv_norm_out, x, x, 1, h * w, TRUE, sc);
  gill_sd_conv_forward (&weights->conv_out, x, 1, h, w, out, sc);
}

/* z[c, th, tw] = latents[c, i0 .., j0 ..] / scaling_factor */
static void
vae_load_tile (const GillVaeState *s,
               const float        *latents,
               gint64              i0,
               gint64              j0,
               gint64              th,
               gint64              tw,
               float              *z)
{
  const GillVaeConfig *config = &s->config;
  for (gint64 c = 0; c < config->latent_channels; c++)
    for (gint64 i = 0; i < th; i++)
      for (gint64 j = 0; j < tw; j++)
        z[(c * th + i) * tw + j] = latents[(c * s->height + i0 + i) * s->width + j0 + j] / config->scaling_factor;
}

/* blend_v: the first `extent` rows of b fade in over the last rows of a (same width) */
static void
vae_blend_v (const float *a,
             gint64       a_h,
             float       *b,
             gint64       b_h,
             gint64       width,
             gint64       channels,
             gint64       blend)
{
  gint64 extent = MIN (MIN (a_h, b_h), blend);
  for (gint64 c = 0; c < channels; c++)
    for (gint64 y = 0; y < extent; y++)
      {
        float wb = (float) ((double) y / extent), wa = (float) (1.0 - (double) y / extent);
        const float *ra = a + (c * a_h + a_h - extent + y) * width;
        float *rb = b + (c * b_h + y) * width;
        for (gint64 x = 0; x < width; x++)
          rb[x] = ra[x] * wa + rb[x] * wb;
      }
}

/* blend_h: the first `extent` columns of b fade in over the last columns of a (same height) */
static void
vae_blend_h (const float *a,
             gint64       a_w,
             float       *b,
             gint64       b_w,
             gint64       height,
             gint64       channels,
             gint64       blend)
{
  gint64 extent = MIN (MIN (a_w, b_w), blend);
  for (gint64 c = 0; c < channels; c++)
    for (gint64 y = 0; y < height; y++)
      {
        const float *ra = a + (c * height + y) * a_w;
        float *rb = b + (c * height + y) * b_w;
        for (gint64 x = 0; x < extent; x++)
          rb[x] = ra[a_w - extent + x] * (float) (1.0 - (double) x / extent) + rb[x] * (float) ((double) x / extent);
      }
}

/* AutoencoderKL.tiled_decode for one latent: decode every tile, blend, crop, assemble */
static gboolean
vae_decode_tiled (const GillVaeWeights *weights,
                  GillVaeState         *s,
                  const float          *latents,
                  float                *image,
                  GillProgressFunc      progress,
                  gpointer              progress_data,
                  double                done,
                  double                share,
                  GError              **error)
{
  const GillVaeConfig *config = &weights->config;
  const gint64 tile = gill_vae_tile_latent (config), up = (gint64) 1 << (config->n_blocks - 1);
  const gint64 step = (gint64) (tile * (1.0 - VAE_TILE_OVERLAP));          /* 48 latents */
  const gint64 tile_px = tile * up;                                          /* 512 px */
  const gint64 blend = (gint64) (tile_px * VAE_TILE_OVERLAP);                /* 128 px */
  const gint64 limit = tile_px - blend;                                      /* 384 px */
  const gint64 oc = config->out_channels, out_h = s->height * up, out_w = s->width * up;
  const gsize per_tile = oc * tile_px * tile_px;
  const gint64 n_tiles = s->tile_rows * s->tile_cols;

  /* decode each tile [oc, th·up, tw·up] into its slot */
  for (gint64 r = 0; r < s->tile_rows; r++)
    for (gint64 t = 0; t < s->tile_cols; t++)
      {
        gint64 i0 = r * step, j0 = t * step;
        gint64 th = MIN (tile, s->height - i0), tw = MIN (tile, s->width - j0);
        vae_load_tile (s, latents, i0, j0, th, tw, s->z);
        vae_decoder_run (weights, s, s->z, th, tw, s->tiles + (r * s->tile_cols + t) * per_tile);
        double f = done + share * (r * s->tile_cols + t + 1) / n_tiles;
        if (!gill_progress_report (progress, progress_data, f, "decode", error))
          return FALSE;
      }

  /* blend each tile into the one above and the one to the left (in place, in order), crop to
   * limit × limit and place it */
  for (gint64 r = 0; r < s->tile_rows; r++)
    for (gint64 t = 0; t < s->tile_cols; t++)
      {
        gint64 th = MIN (tile, s->height - r * step) * up, tw = MIN (tile, s->width - t * step) * up;
        float *cur = s->tiles + (r * s->tile_cols + t) * per_tile;
        if (r > 0)
          {
            gint64 ah = MIN (tile, s->height - (r - 1) * step) * up;
            vae_blend_v (s->tiles + ((r - 1) * s->tile_cols + t) * per_tile, ah, cur, th, tw, oc, blend);
          }
        if (t > 0)
          {
            gint64 aw = MIN (tile, s->width - (t - 1) * step) * up;
            vae_blend_h (s->tiles + (r * s->tile_cols + t - 1) * per_tile, aw, cur, tw, th, oc, blend);
          }
        gint64 y0 = r * limit, x0 = t * limit;
        gint64 ch = MIN (MIN (th, limit), out_h - y0), cw = MIN (MIN (tw, limit), out_w - x0);
        for (gint64 c = 0; c < oc; c++)
          for (gint64 y = 0; y < ch; y++)
            memcpy (image + (c * out_h + y0 + y) * out_w + x0, cur + (c * th + y) * tw, sizeof (float) * cw);
      }
  return TRUE;
}

gboolean
gill_vae_decode (const GillVaeWeights *weights,
                 GillVaeState         *state,
                 const float          *latents,
                 gint64                batch,
                 float                *image,
                 GillProgressFunc      progress,
                 gpointer              progress_data,
                 GError              **error)
{
  const GillVaeConfig *config = &weights->config;
  GillVaeState *s = state;
  const gint64 up = (gint64) 1 << (config->n_blocks - 1), lat = config->latent_channels;
  const gsize in_size = lat * s->height * s->width, out_size = config->out_channels * s->height * up * s->width * up;

  for (gint64 b = 0; b < batch; b++)
    {
      const float *zb = latents + b * in_size;
      float *ib = image + b * out_size;
      if (s->tiled)
        {
          if (!vae_decode_tiled (weights, s, zb, ib, progress, progress_data, (double) b / batch, 1.0 / batch, error))
            return FALSE;
          continue;
        }
      /* z = latents / scaling_factor                                [latent, h·w] */
      vae_load_tile (s, zb, 0, 0, s->height, s->width, s->z);
      vae_decoder_run (weights, s, s->z, s->height, s->width, ib);
      if (!gill_progress_report (progress, progress_data, (b + 1.0) / batch, "decode", error))
        return FALSE;
    }
  return TRUE;
}
