/* unet.c — UNet2DConditionModel (huggingface/diffusers v0.17.1, unet_2d_condition.py and
 * unet_2d_blocks.py) for SD 1.x configurations. See unet.h and models.md §3.2. */
#include "core/models/unet.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/io/json-config.h"
#include "core/ops/conv.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"

/* ------------------------------------------------------------------ config */

void
gill_unet_config_default (GillUnetConfig *config)
{
  static const gint64 channels[] = { 320, 640, 1280, 1280 };
  memset (config, 0, sizeof *config);
  config->in_channels = 4;
  config->out_channels = 4;
  config->n_blocks = G_N_ELEMENTS (channels);
  for (gint64 i = 0; i < config->n_blocks; i++)
    {
      config->block_out_channels[i] = channels[i];
      config->down_attention[i] = i < config->n_blocks - 1;  /* CrossAttnDownBlock2D ×3, DownBlock2D */
      config->up_attention[i] = i > 0;                      /* UpBlock2D, CrossAttnUpBlock2D ×3 */
      config->n_head[i] = 8;
    }
  config->layers_per_block = 2;
  config->cross_attention_dim = 1280;
  config->norm_num_groups = 32;
  config->norm_eps = 1e-5f;
  config->flip_sin_to_cos = TRUE;
  config->freq_shift = 0.0f;
  config->use_linear_projection = FALSE;
  config->sample_size = 64;
}

gboolean
gill_unet_config_preset (const gchar    *name,
                         GillUnetConfig *config,
                         GError        **error)
{
  if (g_strcmp0 (name, "sd15") != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "unknown UNet preset '%s'; known: sd15", name);
      return FALSE;
    }
  /* runwayml/stable-diffusion-v1-5 unet/config.json (models.md §3.1) */
  gill_unet_config_default (config);
  config->cross_attention_dim = 768;
  config->sample_size = 64;
  return TRUE;
}

/* a config member that must hold one value for the model to be SD 1.x-shaped */
static gboolean
config_require_string (JsonObject  *json,
                       const gchar *file,
                       const gchar *key,
                       const gchar *wanted,   /* NULL: absent or null */
                       GError     **error)
{
  JsonNode *node = json_object_get_member (json, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  const gchar *value = gill_json_config_string (json, key);
  if (wanted != NULL && g_strcmp0 (value, wanted) == 0)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: '%s' is %s; only %s (Stable Diffusion 1.x) is supported",
               file, key, value ? value : "set", wanted ? wanted : "null");
  return FALSE;
}

static gboolean
config_require_false (JsonObject  *json,
                      const gchar *file,
                      const gchar *key,
                      GError     **error)
{
  gboolean value;
  if (!gill_json_config_bool (json, file, key, FALSE, &value, error))
    return FALSE;
  if (!value)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "%s: '%s' is true; only false (Stable Diffusion 1.x) is supported",
               file, key);
  return FALSE;
}

gboolean
gill_unet_config_from_json (JsonObject     *json,
                            const gchar    *file,
                            GillUnetConfig *config,
                            GError        **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  GillUnetConfig c;
  gill_unet_config_default (&c);
  gint64 n = 0, n_heads = 0, downsample_padding = 1;
  double eps = c.norm_eps, shift = c.freq_shift, mid_scale = 1.0;
  if (!gill_json_config_int (json, file, "in_channels", c.in_channels, &c.in_channels, error)
      || !gill_json_config_int (json, file, "out_channels", c.out_channels, &c.out_channels, error)
      || !gill_json_config_ints (json, file, "block_out_channels", c.block_out_channels, GILL_UNET_MAX_BLOCKS, &n,
                                 error)
      || !gill_json_config_int (json, file, "layers_per_block", c.layers_per_block, &c.layers_per_block, error)
      || !gill_json_config_int (json, file, "cross_attention_dim", c.cross_attention_dim, &c.cross_attention_dim, error)
      || !gill_json_config_int (json, file, "norm_num_groups", c.norm_num_groups, &c.norm_num_groups, error)
      || !gill_json_config_double (json, file, "norm_eps", eps, &eps, error)
      || !gill_json_config_bool (json, file, "flip_sin_to_cos", c.flip_sin_to_cos, &c.flip_sin_to_cos, error)
      || !gill_json_config_double (json, file, "freq_shift", shift, &shift, error)
      || !gill_json_config_bool (json, file, "use_linear_projection", FALSE, &c.use_linear_projection, error)
      || !gill_json_config_int (json, file, "sample_size", c.sample_size, &c.sample_size, error)
      || !gill_json_config_ints (json, file, "attention_head_dim", c.n_head, GILL_UNET_MAX_BLOCKS, &n_heads, error)
      || !gill_json_config_double (json, file, "mid_block_scale_factor", 1.0, &mid_scale, error)
      || !gill_json_config_int (json, file, "downsample_padding", 1, &downsample_padding, error))
    return FALSE;
  if (n > 0)
    c.n_blocks = n;
  c.norm_eps = (float) eps;
  c.freq_shift = (float) shift;

  /* what SD 1.x never sets must be absent or at its default */
  if (!config_require_string (json, file, "act_fn", "silu", error)
      || !config_require_string (json, file, "mid_block_type", "UNetMidBlock2DCrossAttn", error)
      || !config_require_string (json, file, "class_embed_type", NULL, error)
      || !config_require_string (json, file, "addition_embed_type", NULL, error)
      || !config_require_string (json, file, "encoder_hid_dim_type", NULL, error)
      || !config_require_string (json, file, "time_embedding_type", "positional", error)
      || !config_require_string (json, file, "time_embedding_act_fn", NULL, error)
      || !config_require_string (json, file, "timestep_post_act", NULL, error)
      || !config_require_string (json, file, "resnet_time_scale_shift", "default", error)
      || !config_require_false (json, file, "center_input_sample", error)
      || !config_require_false (json, file, "dual_cross_attention", error)
      || !config_require_false (json, file, "upcast_attention", error)
      || !config_require_false (json, file, "class_embeddings_concat", error))
    return FALSE;
  gint64 kernel_in = 3, kernel_out = 3, num_class = 0, proj_dim = 0;
  JsonNode *only_cross = json_object_get_member (json, "only_cross_attention");
  if (!gill_json_config_int (json, file, "conv_in_kernel", 3, &kernel_in, error)
      || !gill_json_config_int (json, file, "conv_out_kernel", 3, &kernel_out, error)
      || !gill_json_config_int (json, file, "num_class_embeds", 0, &num_class, error)
      || !gill_json_config_int (json, file, "time_cond_proj_dim", 0, &proj_dim, error))
    return FALSE;
  if (kernel_in != 3 || kernel_out != 3 || num_class != 0 || proj_dim != 0 || mid_scale != 1.0
      || downsample_padding != 1
      || (only_cross && JSON_NODE_HOLDS_VALUE (only_cross) && json_node_get_value_type (only_cross) == G_TYPE_BOOLEAN
          && json_node_get_boolean (only_cross)))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: conv kernels, class embeddings, mid_block_scale_factor, downsample_padding or "
                   "only_cross_attention differ from Stable Diffusion 1.x; this UNet is not supported", file);
      return FALSE;
    }

  /* block types: cross-attention or plain, one per level, mirrored going up */
  g_auto (GStrv) down = gill_json_config_strings (json, file, "down_block_types", error);
  g_auto (GStrv) up = down ? gill_json_config_strings (json, file, "up_block_types", error) : NULL;
  if (up == NULL)
    return FALSE;
  if ((down[0] && g_strv_length (down) != (guint) c.n_blocks) || (up[0] && g_strv_length (up) != (guint) c.n_blocks))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: down_block_types and up_block_types need %" G_GINT64_FORMAT
                   " entries, one per block_out_channels", file, c.n_blocks);
      return FALSE;
    }
  for (gint64 i = 0; i < c.n_blocks; i++)
    {
      const gchar *d = down[0] ? down[i] : (i < c.n_blocks - 1 ? "CrossAttnDownBlock2D" : "DownBlock2D");
      const gchar *u = up[0] ? up[i] : (i > 0 ? "CrossAttnUpBlock2D" : "UpBlock2D");
      if (!g_str_equal (d, "CrossAttnDownBlock2D") && !g_str_equal (d, "DownBlock2D"))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: down block type '%s' is not supported "
                       "(CrossAttnDownBlock2D, DownBlock2D)", file, d);
          return FALSE;
        }
      if (!g_str_equal (u, "CrossAttnUpBlock2D") && !g_str_equal (u, "UpBlock2D"))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "%s: up block type '%s' is not supported "
                       "(CrossAttnUpBlock2D, UpBlock2D)", file, u);
          return FALSE;
        }
      c.down_attention[i] = g_str_equal (d, "CrossAttnDownBlock2D");
      c.up_attention[i] = g_str_equal (u, "CrossAttnUpBlock2D");
    }
  /* attention_head_dim: one value for every block, or one per block */
  if (n_heads == 1)
    for (gint64 i = 1; i < c.n_blocks; i++)
      c.n_head[i] = c.n_head[0];
  else if (n_heads != 0 && n_heads != c.n_blocks)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: attention_head_dim has %" G_GINT64_FORMAT
                   " entries for %" G_GINT64_FORMAT " blocks", file, n_heads, c.n_blocks);
      return FALSE;
    }

  /* sizes must be usable */
  gboolean ok = c.in_channels > 0 && c.out_channels > 0 && c.layers_per_block > 0
                && c.layers_per_block < GILL_UNET_MAX_LAYERS && c.cross_attention_dim > 0
                && c.norm_num_groups > 0 && c.norm_eps > 0 && c.block_out_channels[0] % 2 == 0;
  for (gint64 i = 0; ok && i < c.n_blocks; i++)
    ok = c.block_out_channels[i] > 0 && c.block_out_channels[i] % c.norm_num_groups == 0 && c.n_head[i] > 0
         && c.block_out_channels[i] % c.n_head[i] == 0;
  if (!ok)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: channels, groups, heads or layers_per_block are "
                   "impossible (channels must split into norm_num_groups groups and attention_head_dim heads)", file);
      return FALSE;
    }
  *config = c;
  return TRUE;
}

/* the latent size of each level: a 3×3 stride-2 pad-1 conv per level down */
static void
level_sizes (const GillUnetConfig *config,
             gint64                h,
             gint64                w,
             gint64               *level_h,
             gint64               *level_w)
{
  level_h[0] = h;
  level_w[0] = w;
  for (gint64 l = 1; l < config->n_blocks; l++)
    {
      level_h[l] = gill_conv2d_out_dim (level_h[l - 1], 3, 2, 1);
      level_w[l] = gill_conv2d_out_dim (level_w[l - 1], 3, 2, 1);
    }
}

/* up block i: channels of its resnets' inputs (x, then the skip) and outputs, as diffusers'
 * get_up_block arguments: prev_output_channel, in_channels = reversed[min (i+1, n-1)] */
static void
up_block_channels (const GillUnetConfig *config,
                   gint64                i,
                   gint64                j,
                   gint64               *c_x,
                   gint64               *c_skip,
                   gint64               *c_out)
{
  const gint64 n = config->n_blocks;
  gint64 out = config->block_out_channels[n - 1 - i];
  gint64 prev = config->block_out_channels[n - 1 - MAX (i - 1, 0)];
  gint64 in = config->block_out_channels[n - 1 - MIN (i + 1, n - 1)];
  *c_x = j == 0 ? prev : out;
  *c_skip = j == config->layers_per_block ? in : out;
  *c_out = out;
}

static double
conv_flops (gint64 hw_out, gint64 c_in, gint64 c_out, gint64 k)
{
  return 2.0 * hw_out * c_out * c_in * k * k;
}

static double
resnet_flops (gint64 hw, gint64 c_in, gint64 c_out, gint64 temb)
{
  return conv_flops (hw, c_in, c_out, 3) + conv_flops (hw, c_out, c_out, 3) + 2.0 * temb * c_out
         + (c_in != c_out ? conv_flops (hw, c_in, c_out, 1) : 0);
}

static double
transformer_flops (gint64 hw, gint64 c, gint64 n_ctx, gint64 ctx_dim)
{
  double proj = 2 * conv_flops (hw, c, c, 1);
  double attn1 = 4 * 2.0 * hw * c * c + 2 * 2.0 * hw * hw * c;
  double attn2 = 2 * 2.0 * hw * c * c + 2 * 2.0 * n_ctx * ctx_dim * c + 2 * 2.0 * hw * n_ctx * c;
  double ff = 2.0 * hw * c * 8 * c + 2.0 * hw * 4 * c * c;
  return proj + attn1 + attn2 + ff;
}

double
gill_unet_flops (const GillUnetConfig *config,
                 gint64                h,
                 gint64                w,
                 gint64                n_ctx)
{
  gint64 lh[GILL_UNET_MAX_BLOCKS], lw[GILL_UNET_MAX_BLOCKS];
  level_sizes (config, h, w, lh, lw);
  const gint64 n = config->n_blocks, c0 = config->block_out_channels[0], temb = 4 * c0;
  const gint64 ctx = config->cross_attention_dim;
  double f = conv_flops (h * w, config->in_channels, c0, 3) + 2.0 * c0 * temb + 2.0 * temb * temb;
  gint64 c_prev = c0;
  for (gint64 i = 0; i < n; i++)
    {
      gint64 c = config->block_out_channels[i], hw = lh[i] * lw[i];
      for (gint64 j = 0; j < config->layers_per_block; j++)
        {
          f += resnet_flops (hw, j == 0 ? c_prev : c, c, temb);
          if (config->down_attention[i])
            f += transformer_flops (hw, c, n_ctx, ctx);
        }
      if (i < n - 1)
        f += conv_flops (lh[i + 1] * lw[i + 1], c, c, 3);
      c_prev = c;
    }
  gint64 cm = config->block_out_channels[n - 1], hwm = lh[n - 1] * lw[n - 1];
  f += 2 * resnet_flops (hwm, cm, cm, temb) + transformer_flops (hwm, cm, n_ctx, ctx);
  for (gint64 i = 0; i < n; i++)
    {
      gint64 l = n - 1 - i, hw = lh[l] * lw[l];
      for (gint64 j = 0; j <= config->layers_per_block; j++)
        {
          gint64 cx, cs, co;
          up_block_channels (config, i, j, &cx, &cs, &co);
          f += resnet_flops (hw, cx + cs, co, temb);
          if (config->up_attention[i])
            f += transformer_flops (hw, co, n_ctx, ctx);
        }
      if (i < n - 1)
        f += conv_flops (lh[l - 1] * lw[l - 1], config->block_out_channels[l], config->block_out_channels[l], 3);
    }
  return f + conv_flops (h * w, c0, config->out_channels, 3);
}

/* ------------------------------------------------------------------ weights */

void
gill_unet_weights_free (GillUnetWeights *weights)
{
  g_free (weights);
}

static GillUnetWeights *
unet_bind (const GillUnetConfig *config,
           GillSdBinder         *b,
           GError              **error)
{
  g_autoptr (GillUnetWeights) u = g_new0 (GillUnetWeights, 1);
  const gint64 n = config->n_blocks, c0 = config->block_out_channels[0], temb = 4 * c0;
  const gint64 groups = config->norm_num_groups, ctx = config->cross_attention_dim;
  const gboolean linear = config->use_linear_projection;
  const float eps = config->norm_eps;
  u->config = *config;

  if (!gill_sd_conv_bind (&u->conv_in, b, NULL, "conv_in", config->in_channels, c0, 3, 1, 1, error)
      || !gill_sd_linear_bind (&u->time_linear_1, b, "time_embedding", "linear_1", c0, temb, TRUE, error)
      || !gill_sd_linear_bind (&u->time_linear_2, b, "time_embedding", "linear_2", temb, temb, TRUE, error))
    return NULL;

  /* down_blocks.{i}: resnets (+ attentions), then a stride-2 conv except on the last level */
  gint64 c_prev = c0;
  for (gint64 i = 0; i < n; i++)
    {
      GillUnetBlock *blk = &u->down[i];
      g_autofree gchar *name = g_strdup_printf ("down_blocks.%" G_GINT64_FORMAT, i);
      gint64 c = config->block_out_channels[i];
      blk->n_resnets = config->layers_per_block;
      blk->has_attention = config->down_attention[i];
      blk->has_sampler = i < n - 1;
      for (gint64 j = 0; j < blk->n_resnets; j++)
        if (!gill_sd_resnet_bind (&blk->resnets[j], b, name, j, j == 0 ? c_prev : c, c, temb, groups, eps, error)
            || (blk->has_attention
                && !gill_sd_transformer_bind (&blk->attentions[j], b, name, j, c, config->n_head[i], ctx, groups,
                                              linear, error)))
          return NULL;
      if (blk->has_sampler && !gill_sd_conv_bind (&blk->sampler, b, name, "downsamplers.0.conv", c, c, 3, 2, 1, error))
        return NULL;
      c_prev = c;
    }

  /* mid_block: resnet, transformer (heads of the last block), resnet */
  const gint64 cm = config->block_out_channels[n - 1];
  if (!gill_sd_resnet_bind (&u->mid_resnets[0], b, "mid_block", 0, cm, cm, temb, groups, eps, error)
      || !gill_sd_transformer_bind (&u->mid_attention, b, "mid_block", 0, cm, config->n_head[n - 1], ctx, groups,
                                    linear, error)
      || !gill_sd_resnet_bind (&u->mid_resnets[1], b, "mid_block", 1, cm, cm, temb, groups, eps, error))
    return NULL;

  /* up_blocks.{i}: layers_per_block + 1 resnets on [x, skip] (+ attentions), then ×2 + conv */
  for (gint64 i = 0; i < n; i++)
    {
      GillUnetBlock *blk = &u->up[i];
      g_autofree gchar *name = g_strdup_printf ("up_blocks.%" G_GINT64_FORMAT, i);
      blk->n_resnets = config->layers_per_block + 1;
      blk->has_attention = config->up_attention[i];
      blk->has_sampler = i < n - 1;
      gint64 co = 0;
      for (gint64 j = 0; j < blk->n_resnets; j++)
        {
          gint64 cx, cs;
          up_block_channels (config, i, j, &cx, &cs, &co);
          if (!gill_sd_resnet_bind (&blk->resnets[j], b, name, j, cx + cs, co, temb, groups, eps, error)
              || (blk->has_attention
                  && !gill_sd_transformer_bind (&blk->attentions[j], b, name, j, co, config->n_head[n - 1 - i], ctx,
                                                groups, linear, error)))
            return NULL;
        }
      if (blk->has_sampler && !gill_sd_conv_bind (&blk->sampler, b, name, "upsamplers.0.conv", co, co, 3, 1, 1, error))
        return NULL;
    }

  if (!gill_sd_norm_bind (&u->conv_norm_out, b, NULL, "conv_norm_out", c0, groups, eps, error)
      || !gill_sd_conv_bind (&u->conv_out, b, NULL, "conv_out", c0, config->out_channels, 3, 1, 1, error))
    return NULL;
  u->wide_floats = b->wide_floats;
  return g_steal_pointer (&u);
}

GillUnetWeights *
gill_unet_weights_bind (const GillUnetConfig *config,
                        const GillWeights    *lookup,
                        GError              **error)
{
  g_return_val_if_fail (config != NULL && lookup != NULL, NULL);
  return unet_bind (config, &(GillSdBinder) { .weights = lookup }, error);
}

GillUnetWeights *
gill_unet_weights_make (const GillUnetConfig *config,
                        GillSdMakeFunc        make,
                        gpointer              make_data,
                        GError              **error)
{
  g_return_val_if_fail (config != NULL && make != NULL, NULL);
  return unet_bind (config, &(GillSdBinder) { .make = make, .make_data = make_data }, error);
}

/* ------------------------------------------------------------------ state */

void
gill_unet_state_free (GillUnetState *state)
{
  if (state == NULL)
    return;
  g_free (state->t_emb);
  g_free (state->temb);
  g_free (state->x);
  g_free (state->y);
  g_free (state->skips);
  g_free (state->work);
  gill_sd_scratch_clear (&state->scratch);
  g_free (state);
}

/* what the forward pass needs, walking the same structure (floats) */
typedef struct
{
  gsize act;      /* largest [batch, C, hw] activation, concatenations included */
  gsize work;     /* largest resnet / transformer intermediate */
  gsize attn;     /* largest attention tile set */
  gsize skips;    /* every skip kept at once */
  gsize col;      /* largest im2col row */
  gsize vec;      /* time-embedding projections */
} UnetPlan;

static void
plan_resnet (UnetPlan *p, gint64 batch, gint64 hw, gint64 w, gint64 c_in, gint64 c_out)
{
  p->act = MAX (p->act, (gsize) (batch * hw * MAX (c_in, c_out)));
  p->work = MAX (p->work, gill_sd_resnet_work_floats (c_in, c_out, batch, hw));
  p->col = MAX (p->col, gill_conv2d_row_floats (batch, MAX (c_in, c_out), c_out, 3, w));
}

static void
plan_transformer (UnetPlan *p, gint64 batch, gint64 hw, gint64 c, gint64 n_head, gint64 n_ctx)
{
  p->work = MAX (p->work, gill_sd_transformer_work_floats (c, batch, hw, n_ctx));
  p->attn = MAX (p->attn, gill_sd_transformer_attn_floats (c, n_head, hw, n_ctx));
}

static void
unet_plan (const GillUnetConfig *config,
           gint64                batch,
           const gint64         *lh,
           const gint64         *lw,
           gint64                n_ctx,
           UnetPlan             *p)
{
  const gint64 n = config->n_blocks, c0 = config->block_out_channels[0];
  memset (p, 0, sizeof *p);
  p->act = batch * lh[0] * lw[0] * MAX (c0, config->in_channels);
  p->skips = batch * lh[0] * lw[0] * c0;
  p->col = gill_conv2d_row_floats (batch, config->in_channels, c0, 3, lw[0]);
  gint64 c_prev = c0;
  for (gint64 i = 0; i < n; i++)
    {
      gint64 c = config->block_out_channels[i], hw = lh[i] * lw[i];
      for (gint64 j = 0; j < config->layers_per_block; j++)
        {
          plan_resnet (p, batch, hw, lw[i], j == 0 ? c_prev : c, c);
          if (config->down_attention[i])
            plan_transformer (p, batch, hw, c, config->n_head[i], n_ctx);
          p->skips += batch * hw * c;
        }
      if (i < n - 1)
        p->skips += batch * lh[i + 1] * lw[i + 1] * c;
      c_prev = c;
    }
  gint64 cm = config->block_out_channels[n - 1];
  plan_resnet (p, batch, lh[n - 1] * lw[n - 1], lw[n - 1], cm, cm);
  plan_transformer (p, batch, lh[n - 1] * lw[n - 1], cm, config->n_head[n - 1], n_ctx);
  for (gint64 i = 0; i < n; i++)
    {
      gint64 l = n - 1 - i, hw = lh[l] * lw[l];
      gint64 co = 0;
      for (gint64 j = 0; j <= config->layers_per_block; j++)
        {
          gint64 cx, cs;
          up_block_channels (config, i, j, &cx, &cs, &co);
          plan_resnet (p, batch, hw, lw[l], cx + cs, co);
          if (config->up_attention[i])
            plan_transformer (p, batch, hw, co, config->n_head[l], n_ctx);
        }
      if (i < n - 1)
        {
          p->act = MAX (p->act, (gsize) (batch * lh[l - 1] * lw[l - 1] * co));
          p->col = MAX (p->col, gill_conv2d_row_floats (batch, co, co, 3, lw[l - 1]));
        }
    }
  p->vec = batch * (4 * c0 + MAX (4 * c0, config->block_out_channels[n - 1]));
  p->col = MAX (p->col, GILL_SD_COL_FLOATS);
}

GillUnetState *
gill_unet_state_new (const GillUnetConfig *config,
                     gsize                 wide_floats,
                     gint64                batch,
                     gint64                height,
                     gint64                width,
                     gint64                n_ctx,
                     GError              **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  if (batch < 1 || height < 1 || width < 1 || n_ctx < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "UNet: batch %" G_GINT64_FORMAT ", latent %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " and %" G_GINT64_FORMAT " context tokens: every size must be at least 1",
                   batch, height, width, n_ctx);
      return NULL;
    }
  g_autoptr (GillUnetState) s = g_new0 (GillUnetState, 1);
  s->config = *config;
  s->batch = batch;
  s->height = height;
  s->width = width;
  s->n_ctx = n_ctx;
  level_sizes (config, height, width, s->level_h, s->level_w);
  UnetPlan p;
  unet_plan (config, batch, s->level_h, s->level_w, n_ctx, &p);
  const gint64 c0 = config->block_out_channels[0];
  if ((s->t_emb = gill_sd_alloc_activations ("UNet", batch * c0, &s->bytes, error)) == NULL
      || (s->temb = gill_sd_alloc_activations ("UNet", batch * 4 * c0, &s->bytes, error)) == NULL
      || (s->x = gill_sd_alloc_activations ("UNet", p.act, &s->bytes, error)) == NULL
      || (s->y = gill_sd_alloc_activations ("UNet", p.act, &s->bytes, error)) == NULL
      || (s->skips = gill_sd_alloc_activations ("UNet", p.skips, &s->bytes, error)) == NULL
      || (s->work = gill_sd_alloc_activations ("UNet", p.work, &s->bytes, error)) == NULL)
    return NULL;
  if (!gill_sd_scratch_init (&s->scratch, wide_floats, p.col, p.attn, p.vec, error))
    return NULL;
  s->bytes += (wide_floats + p.col + p.attn + p.vec) * sizeof (float);
  return g_steal_pointer (&s);
}

/* ------------------------------------------------------------------ forward */

/* Timesteps (embeddings.py get_timestep_embedding): f_i = exp (−ln 10000 · i / (half − shift)),
 * emb = [sin (t f), cos (t f)], flipped to [cos, sin]; float32 throughout as torch computes it */
static void
unet_time_proj (const GillUnetConfig *config,
                const float          *timesteps,
                gint64                batch,
                float                *t_emb)
{
  const gint64 dim = config->block_out_channels[0], half = dim / 2;
  for (gint64 b = 0; b < batch; b++)
    for (gint64 i = 0; i < half; i++)
      {
        float exponent = (float) -log (10000.0) * (float) i / ((float) half - config->freq_shift);
        float arg = timesteps[b] * expf (exponent);
        float sin_part = sinf (arg), cos_part = cosf (arg);
        t_emb[b * dim + i] = config->flip_sin_to_cos ? cos_part : sin_part;
        t_emb[b * dim + half + i] = config->flip_sin_to_cos ? sin_part : cos_part;
      }
}

/* the skip stack: each entry's channels and level, data back to back in state->skips */
typedef struct
{
  gint64 n;
  gint64 channels[1 + GILL_UNET_MAX_BLOCKS * (GILL_UNET_MAX_LAYERS + 1)];
  gint64 level[1 + GILL_UNET_MAX_BLOCKS * (GILL_UNET_MAX_LAYERS + 1)];
  gsize offset[1 + GILL_UNET_MAX_BLOCKS * (GILL_UNET_MAX_LAYERS + 1)];
  gsize top;      /* floats in use */
} SkipStack;

static void
skip_push (SkipStack           *st,
           const GillUnetState *s,
           const float         *x,
           gint64               channels,
           gint64               level)
{
  gsize floats = s->batch * channels * s->level_h[level] * s->level_w[level];
  g_assert (st->n < (gint64) G_N_ELEMENTS (st->channels));
  st->channels[st->n] = channels;
  st->level[st->n] = level;
  st->offset[st->n] = st->top;
  memcpy (s->skips + st->top, x, floats * sizeof (float));
  st->top += floats;
  st->n++;
}

/* y[b] = [x[b] (c_x channels), skip[b] (c_s channels)] — torch.cat (dim = 1) */
static void
concat_channels (const float *x,
                 gint64       c_x,
                 const float *skip,
                 gint64       c_s,
                 gint64       batch,
                 gint64       hw,
                 float       *y)
{
  for (gint64 b = 0; b < batch; b++)
    {
      memcpy (y + b * (c_x + c_s) * hw, x + b * c_x * hw, sizeof (float) * c_x * hw);
      memcpy (y + (b * (c_x + c_s) + c_x) * hw, skip + b * c_s * hw, sizeof (float) * c_s * hw);
    }
}

static gboolean
unet_progress (GillUnetState *s,
               double         done,
               GError       **error)
{
  return gill_progress_report (s->progress, s->progress_data, s->progress_lo + done * (s->progress_hi - s->progress_lo),
                               "denoise", error);
}

gboolean
gill_unet_forward (const GillUnetWeights *weights,
                   GillUnetState         *state,
                   const float           *sample,
                   const float           *timesteps,
                   const float           *context,
                   float                 *noise_pred,
                   GError               **error)
{
  const GillUnetConfig *config = &weights->config;
  GillUnetState *s = state;
  GillSdScratch *sc = &s->scratch;
  const gint64 B = s->batch, n = config->n_blocks, n_ctx = s->n_ctx;
  const gint64 c0 = config->block_out_channels[0];
  const double n_units = 2.0 * n + 1;   /* progress: down blocks, mid, up blocks */
  float *x = s->x, *y = s->y;
  SkipStack st = { 0 };

  /* t_emb = time_proj (t)                                          [B, C0] */
  unet_time_proj (config, timesteps, B, s->t_emb);
  /* temb = linear_2 (SiLU (linear_1 (t_emb)))                      [B, 4 C0] */
  gill_sd_linear_forward (&weights->time_linear_1, s->t_emb, c0, B, s->temb, 4 * c0, 0.0f, sc);
  gill_sd_silu (s->temb, B * 4 * c0);
  gill_sd_linear_forward (&weights->time_linear_2, s->temb, 4 * c0, B, sc->vec, 4 * c0, 0.0f, sc);
  memcpy (s->temb, sc->vec, sizeof (float) * B * 4 * c0);

  /* x = conv_in (sample); skips = [x]                              [B, C0, h0·w0] */
  gill_sd_conv_forward (&weights->conv_in, sample, B, s->level_h[0], s->level_w[0], x, sc);
  skip_push (&st, s, x, c0, 0);

  /* down_blocks: (resnet → transformer → push) × layers, then downsample → push */
  gint64 c = c0;
  for (gint64 i = 0; i < n; i++)
    {
      const GillUnetBlock *blk = &weights->down[i];
      const gint64 h = s->level_h[i], w = s->level_w[i];
      for (gint64 j = 0; j < blk->n_resnets; j++)
        {
          /* y = resnets[j] (x, temb); x ↔ y                           [B, C_i, h·w] */
          gill_sd_resnet_forward (&blk->resnets[j], x, B, h, w, s->temb, y, s->work, sc);
          gill_sd_swap_buffers (&x, &y);
          c = blk->resnets[j].c_out;
          /* x = attentions[j] (x, context)                           [B, C_i, h·w] */
          if (blk->has_attention)
            gill_sd_transformer_forward (&blk->attentions[j], x, B, h * w, context, n_ctx, s->work, sc);
          skip_push (&st, s, x, c, i);
        }
      if (blk->has_sampler)
        {
          /* x = downsamplers.0.conv (x): 3×3, stride 2, pad 1        [B, C_i, h/2·w/2] */
          gill_sd_conv_forward (&blk->sampler, x, B, h, w, y, sc);
          gill_sd_swap_buffers (&x, &y);
          skip_push (&st, s, x, c, i + 1);
        }
      if (!unet_progress (s, (i + 1) / n_units, error))
        return FALSE;
    }

  /* mid_block: x = resnets.1 (attentions.0 (resnets.0 (x, temb), context), temb) */
  {
    const gint64 l = n - 1, h = s->level_h[l], w = s->level_w[l];
    gill_sd_resnet_forward (&weights->mid_resnets[0], x, B, h, w, s->temb, y, s->work, sc);
    gill_sd_swap_buffers (&x, &y);
    gill_sd_transformer_forward (&weights->mid_attention, x, B, h * w, context, n_ctx, s->work, sc);
    gill_sd_resnet_forward (&weights->mid_resnets[1], x, B, h, w, s->temb, y, s->work, sc);
    gill_sd_swap_buffers (&x, &y);
    if (!unet_progress (s, (n + 1) / n_units, error))
      return FALSE;
  }

  /* up_blocks: (pop skip → concat → resnet → transformer) × (layers + 1), then upsample */
  for (gint64 i = 0; i < n; i++)
    {
      const GillUnetBlock *blk = &weights->up[i];
      const gint64 l = n - 1 - i, h = s->level_h[l], w = s->level_w[l];
      for (gint64 j = 0; j < blk->n_resnets; j++)
        {
          /* y = cat ([x, skips.pop ()], dim = 1)                     [B, C + C_skip, h·w] */
          st.n--;
          g_assert (st.level[st.n] == l && c + st.channels[st.n] == blk->resnets[j].c_in);
          concat_channels (x, c, s->skips + st.offset[st.n], st.channels[st.n], B, h * w, y);
          st.top = st.offset[st.n];
          /* x = resnets[j] (y, temb)                                 [B, C_out, h·w] */
          gill_sd_resnet_forward (&blk->resnets[j], y, B, h, w, s->temb, x, s->work, sc);
          c = blk->resnets[j].c_out;
          /* x = attentions[j] (x, context) */
          if (blk->has_attention)
            gill_sd_transformer_forward (&blk->attentions[j], x, B, h * w, context, n_ctx, s->work, sc);
        }
      if (blk->has_sampler)
        {
          /* y = interpolate (x, size of the next skip, "nearest"); x = upsamplers.0.conv (y) */
          const gint64 h2 = s->level_h[l - 1], w2 = s->level_w[l - 1];
          for (gint64 b = 0; b < B; b++)
            gill_upsample_nearest (x + b * c * h * w, c, h, w, y + b * c * h2 * w2, h2, w2);
          gill_sd_conv_forward (&blk->sampler, y, B, h2, w2, x, sc);
        }
      if (!unet_progress (s, (n + 2 + i) / n_units, error))
        return FALSE;
    }
  g_assert (st.n == 0);

  /* noise_pred = conv_out (SiLU (conv_norm_out (x)))               [B, out, h0·w0] */
  gill_sd_group_norm_forward (&weights->conv_norm_out, x, x, B, s->level_h[0] * s->level_w[0], TRUE, sc);
  gill_sd_conv_forward (&weights->conv_out, x, B, s->level_h[0], s->level_w[0], noise_pred, sc);
  return TRUE;
}
