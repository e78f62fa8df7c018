/* sd-blocks.c — ResnetBlock2D, Transformer2DModel and the VAE's Attention, as in
 * huggingface/diffusers v0.17.1: src/diffusers/models/resnet.py (ResnetBlock2D),
 * transformer_2d.py (Transformer2DModel), attention.py (BasicTransformerBlock, FeedForward,
 * GEGLU) and attention_processor.py (Attention, AttnProcessor). See sd-blocks.h. */
#include "core/models/sd-blocks.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/ops/attention.h"
#include "core/ops/conv.h"
#include "core/ops/convert.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"
#include "core/ops/parallel.h"
#include "core/ops/vmath.h"

/* rows of the feed-forward's [rows, 8C] GEGLU intermediate computed at once */
#define FF_ROWS 4096

/* ------------------------------------------------------------------ scratch */

gboolean
gill_sd_scratch_init (GillSdScratch *s,
                      gsize          wide_floats,
                      gsize          col_floats,
                      gsize          attn_floats,
                      gsize          vec_floats,
                      GError       **error)
{
  s->wide_floats = wide_floats;
  s->col_floats = col_floats;
  s->attn_floats = attn_floats;
  s->vec_floats = vec_floats;
  s->wide = wide_floats ? g_try_new (float, wide_floats) : NULL;
  s->col = col_floats ? g_try_new (float, col_floats) : NULL;
  s->attn = attn_floats ? g_try_new (float, attn_floats) : NULL;
  s->vec = vec_floats ? g_try_new (float, vec_floats) : NULL;
  if ((wide_floats && !s->wide) || (col_floats && !s->col) || (attn_floats && !s->attn) || (vec_floats && !s->vec))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY, "cannot allocate %.1f MB of scratch",
                   (wide_floats + col_floats + attn_floats + vec_floats) * 4.0 / 1e6);
      return FALSE;
    }
  return TRUE;
}

void
gill_sd_scratch_clear (GillSdScratch *s)
{
  g_clear_pointer (&s->wide, g_free);
  g_clear_pointer (&s->col, g_free);
  g_clear_pointer (&s->attn, g_free);
  g_clear_pointer (&s->vec, g_free);
}

float *
gill_sd_alloc_activations (const gchar *model,
                           gsize        floats,
                           gsize       *bytes,
                           GError     **error)
{
  float *p = g_try_new (float, MAX (floats, 1));
  if (p == NULL)
    g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %.1f MB of activations", model,
                 floats * 4.0 / 1e6);
  *bytes += floats * sizeof (float);
  return p;
}

/* ------------------------------------------------------------------ binding */

/* the parameter "<layer>.<param>": looked up (and checked) or made */
static GillTensor *
binder_get (GillSdBinder  *b,
            const gchar   *layer,
            const gchar   *param,
            gint           n_dims,
            const gint64  *shape,
            GError       **error)
{
  g_autofree gchar *name = g_strconcat (layer, ".", param, NULL);
  if (b->make)
    return b->make (b->make_data, name, n_dims, shape);
  return gill_weights_get (b->weights, name, n_dims, shape, error);
}

/* floats of GillSdScratch.wide a weight (and its bias) take when they must be widened */
static void
binder_need (GillSdBinder     *b,
             const GillTensor *weight,
             const GillTensor *bias)
{
  gsize need = 0;
  if (gill_tensor_needs_widening (weight))
    need += gill_tensor_numel (weight);
  if (bias && gill_tensor_needs_widening (bias))
    need += gill_tensor_numel (bias);
  b->wide_floats = MAX (b->wide_floats, need);
}

/* the layer's full name: "<prefix>.<name>", or name at the model's root (prefix NULL) */
static gchar *
layer_name (const gchar *prefix,
            const gchar *name)
{
  return prefix ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);
}

/* a layer's "weight" of `shape` and, unless n_bias is 0, its "bias" [n_bias] */
static gboolean
bind_params (GillSdBinder  *b,
             const gchar   *prefix,
             const gchar   *name,
             gint           n_dims,
             const gint64  *shape,
             gint64         n_bias,
             GillTensor   **weight,
             GillTensor   **bias,
             GError       **error)
{
  g_autofree gchar *layer = layer_name (prefix, name);
  *weight = binder_get (b, layer, "weight", n_dims, shape, error);
  *bias = NULL;
  if (*weight == NULL || (n_bias > 0 && (*bias = binder_get (b, layer, "bias", 1, &n_bias, error)) == NULL))
    return FALSE;
  binder_need (b, *weight, *bias);
  return TRUE;
}

/* weight and bias as f32: in place, or widened into s->wide (weight first, bias behind it) */
static void
params_f32 (const GillTensor *weight,
            const GillTensor *bias,
            GillSdScratch    *s,
            const float     **w,
            const float     **b)
{
  *w = gill_tensor_as_f32 (weight, s->wide);
  float *next = s->wide + (*w == s->wide ? gill_tensor_numel (weight) : 0);
  *b = bias ? gill_tensor_as_f32 (bias, next) : NULL;
}

/* ------------------------------------------------------------------ layers */

gboolean
gill_sd_conv_bind (GillSdConv   *conv,
                   GillSdBinder *b,
                   const gchar  *prefix,
                   const gchar  *name,
                   gint64        c_in,
                   gint64        c_out,
                   gint64        kernel,
                   gint64        stride,
                   gint64        pad,
                   GError      **error)
{
  const gint64 shape[4] = { c_out, c_in, kernel, kernel };
  *conv = (GillSdConv) { NULL, NULL, c_in, c_out, kernel, stride, pad };
  return bind_params (b, prefix, name, 4, shape, c_out, &conv->weight, &conv->bias, error);
}

gboolean
gill_sd_linear_bind (GillSdLinear *linear,
                     GillSdBinder *b,
                     const gchar  *prefix,
                     const gchar  *name,
                     gint64        in,
                     gint64        out,
                     gboolean      has_bias,
                     GError      **error)
{
  const gint64 shape[2] = { out, in };
  *linear = (GillSdLinear) { NULL, NULL, in, out };
  return bind_params (b, prefix, name, 2, shape, has_bias ? out : 0, &linear->weight, &linear->bias, error);
}

gboolean
gill_sd_norm_bind (GillSdNorm   *norm,
                   GillSdBinder *b,
                   const gchar  *prefix,
                   const gchar  *name,
                   gint64        channels,
                   gint64        groups,
                   float         eps,
                   GError      **error)
{
  *norm = (GillSdNorm) { NULL, NULL, channels, groups, eps };
  if (!bind_params (b, prefix, name, 1, &channels, channels, &norm->weight, &norm->bias, error))
    return FALSE;
  if (groups > 0 && channels % groups != 0)
    {
      g_autofree gchar *layer = layer_name (prefix, name);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: %" G_GINT64_FORMAT " channels do not split into %" G_GINT64_FORMAT
                   " groups; check norm_num_groups in the config", layer, channels, groups);
      return FALSE;
    }
  return TRUE;
}

void
gill_sd_conv_forward (const GillSdConv *conv,
                      const float      *x,
                      gint64            batch,
                      gint64            h,
                      gint64            w,
                      float            *y,
                      GillSdScratch    *s)
{
  const float *weight, *bias;
  params_f32 (conv->weight, conv->bias, s, &weight, &bias);
  gill_conv2d (x, batch, conv->c_in, h, w, weight, bias, conv->c_out, conv->kernel, conv->stride, conv->pad, y,
               s->col, s->col_floats);
}

void
gill_sd_linear_forward (const GillSdLinear *linear,
                        const float        *x,
                        gint64              ldx,
                        gint64              rows,
                        float              *y,
                        gint64              ldy,
                        float               beta,
                        GillSdScratch      *s)
{
  const float *weight, *bias;
  params_f32 (linear->weight, linear->bias, s, &weight, &bias);
  /* y = beta y + x Wᵀ, then + b on every row */
  gill_gemm (FALSE, TRUE, rows, linear->out, linear->in, 1.0f, x, ldx, weight, linear->in, beta, y, ldy);
  if (bias)
    for (gint64 r = 0; r < rows; r++)
      gill_nn_add (y + r * ldy, bias, linear->out);
}

/* target_clones only on static functions (clang 14 emits no resolver for an exported one) */
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
static void
silu_rows (float *x,
           gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = x[i] / (1.0f + gill_vmath_exp (-x[i]));
}

void
gill_sd_silu (float *x,
              gint64 n)
{
  silu_rows (x, n);
}

/* ---- the elementwise layers, split among the worker pool when they are large */

/* elements from which a norm or activation is split among threads */
#define ELEMENTWISE_PARALLEL 262144

static gint
elementwise_tasks (gint64 elements,
                   gint64 units)
{
  return elements >= ELEMENTWISE_PARALLEL ? (gint) MIN (units, gill_parallel_threads ()) : 1;
}

typedef struct
{
  const GillSdNorm *norm;
  const float *x, *gamma, *beta;
  float *y;
  gint64 batch, spatial;
  gboolean silu;
} GroupNormJob;

/* GroupNorm (+ SiLU) of the (sample, group) pairs [u0, u1) */
static void
group_norm_task (gint     task,
                 gint     n_tasks,
                 gpointer data)
{
  const GroupNormJob *j = data;
  const gint64 groups = j->norm->groups, per_group = j->norm->channels / groups, plane = per_group * j->spatial;
  const gint64 units = j->batch * groups;
  gint64 u0 = units * task / n_tasks, u1 = units * (task + 1) / n_tasks;
  for (gint64 u = u0; u < u1;)
    {
      /* the groups of one sample in this range, in one call */
      gint64 b = u / groups, g0 = u % groups, g1 = MIN (groups, g0 + (u1 - u));
      gsize offset = (b * groups + g0) * plane;
      gill_nn_group_norm (j->x + offset, j->y + offset, (g1 - g0) * per_group, j->spatial, g1 - g0,
                          j->gamma + g0 * per_group, j->beta + g0 * per_group, j->norm->eps);
      if (j->silu)
        gill_sd_silu (j->y + offset, (g1 - g0) * plane);
      u += g1 - g0;
    }
}

void
gill_sd_group_norm_forward (const GillSdNorm *norm,
                            const float      *x,
                            float            *y,
                            gint64            batch,
                            gint64            spatial,
                            gboolean          silu,
                            GillSdScratch    *s)
{
  GroupNormJob job = { norm, x, NULL, NULL, y, batch, spatial, silu };
  params_f32 (norm->weight, norm->bias, s, &job.gamma, &job.beta);
  gill_parallel_run (elementwise_tasks (batch * norm->channels * spatial, batch * norm->groups), group_norm_task, &job);
}

typedef struct
{
  const GillSdNorm *norm;
  const float *x, *gamma, *beta;
  float *y;
  gint64 rows;
} LayerNormJob;

static void
layer_norm_task (gint     task,
                 gint     n_tasks,
                 gpointer data)
{
  const LayerNormJob *j = data;
  const gint64 c = j->norm->channels, r0 = j->rows * task / n_tasks, r1 = j->rows * (task + 1) / n_tasks;
  gill_nn_layer_norm (j->x + r0 * c, j->y + r0 * c, r1 - r0, c, j->gamma, j->beta, j->norm->eps);
}

/* LayerNorm over each row of x[rows, channels] */
static void
layer_norm_forward (const GillSdNorm *norm,
                    const float      *x,
                    float            *y,
                    gint64            rows,
                    GillSdScratch    *s)
{
  LayerNormJob job = { norm, x, NULL, NULL, y, rows };
  params_f32 (norm->weight, norm->bias, s, &job.gamma, &job.beta);
  gill_parallel_run (elementwise_tasks (rows * norm->channels, rows), layer_norm_task, &job);
}

/* x[c, n] += bias[c] for every channel plane */
static void
add_channel_bias (float       *x,
                  const float *bias,
                  gint64       channels,
                  gint64       n)
{
  for (gint64 c = 0; c < channels; c++)
    {
      float b = bias[c];
      float *row = x + c * n;
      for (gint64 i = 0; i < n; i++)
        row[i] += b;
    }
}

/* tokens[n, out] = h[in, n]ᵀ Wᵀ + b: a projection of every pixel straight into token-major order,
 * the permute + reshape of diffusers done by the GEMM's transposes */
static void
pixels_to_tokens (const GillSdLinear *proj,
                  const float        *h,
                  gint64              n,
                  float              *tokens,
                  GillSdScratch      *s)
{
  const float *weight, *bias;
  params_f32 (proj->weight, proj->bias, s, &weight, &bias);
  gill_gemm (TRUE, TRUE, n, proj->out, proj->in, 1.0f, h, n, weight, proj->in, 0.0f, tokens, proj->out);
  for (gint64 r = 0; r < n; r++)
    gill_nn_add (tokens + r * proj->out, bias, proj->out);
}

/* x[out, n] += W tokens[n, in]ᵀ + b: the output projection back to pixels plus the residual */
static void
tokens_to_pixels_add (const GillSdLinear *proj,
                      const float        *tokens,
                      gint64              n,
                      float              *x,
                      GillSdScratch      *s)
{
  const float *weight, *bias;
  params_f32 (proj->weight, proj->bias, s, &weight, &bias);
  gill_gemm (FALSE, TRUE, proj->out, n, proj->in, 1.0f, weight, proj->in, tokens, proj->in, 1.0f, x, n);
  add_channel_bias (x, bias, proj->out, n);
}

/* ------------------------------------------------------------------ ResnetBlock2D */

gboolean
gill_sd_resnet_bind (GillSdResnet *r,
                     GillSdBinder *b,
                     const gchar  *block,
                     gint64        index,
                     gint64        c_in,
                     gint64        c_out,
                     gint64        temb_dim,
                     gint64        groups,
                     float         eps,
                     GError      **error)
{
  g_autofree gchar *resnet = g_strdup_printf ("%s.resnets.%" G_GINT64_FORMAT, block, index);
  memset (r, 0, sizeof *r);
  r->c_in = c_in;
  r->c_out = c_out;
  return gill_sd_norm_bind (&r->norm1, b, resnet, "norm1", c_in, groups, eps, error)
         && gill_sd_conv_bind (&r->conv1, b, resnet, "conv1", c_in, c_out, 3, 1, 1, error)
         && (temb_dim <= 0 || gill_sd_linear_bind (&r->time_emb_proj, b, resnet, "time_emb_proj", temb_dim, c_out,
                                                   TRUE, error))
         && gill_sd_norm_bind (&r->norm2, b, resnet, "norm2", c_out, groups, eps, error)
         && gill_sd_conv_bind (&r->conv2, b, resnet, "conv2", c_out, c_out, 3, 1, 1, error)
         && (c_in == c_out || gill_sd_conv_bind (&r->conv_shortcut, b, resnet, "conv_shortcut", c_in, c_out, 1, 1, 0,
                                                 error));
}

gsize
gill_sd_resnet_work_floats (gint64 c_in,
                            gint64 c_out,
                            gint64 batch,
                            gint64 hw)
{
  return (gsize) (batch * hw * (MAX (c_in, c_out) + c_out));
}

void
gill_sd_resnet_forward (const GillSdResnet *r,
                        const float        *x,
                        gint64              batch,
                        gint64              h,
                        gint64              w,
                        const float        *temb,
                        float              *out,
                        float              *work,
                        GillSdScratch      *s)
{
  const gint64 hw = h * w, c_out = r->c_out;
  float *t1 = work;                                  /* [batch, max (c_in, c_out), hw] */
  float *t2 = work + batch * hw * MAX (r->c_in, c_out); /* [batch, c_out, hw] */

  /* h = SiLU (norm1 (x))                                        [batch, c_in, hw] */
  gill_sd_group_norm_forward (&r->norm1, x, t1, batch, hw, TRUE, s);
  /* h = conv1 (h)                                               [batch, c_out, hw] */
  gill_sd_conv_forward (&r->conv1, t1, batch, h, w, t2, s);
  /* h += time_emb_proj (SiLU (temb))[:, :, None, None]          [batch, c_out] broadcast */
  if (temb && r->time_emb_proj.weight)
    {
      gint64 td = r->time_emb_proj.in;
      float *act = s->vec, *proj = s->vec + batch * td;
      memcpy (act, temb, sizeof (float) * batch * td);
      gill_sd_silu (act, batch * td);
      gill_sd_linear_forward (&r->time_emb_proj, act, td, batch, proj, c_out, 0.0f, s);
      for (gint64 n = 0; n < batch; n++)
        add_channel_bias (t2 + n * c_out * hw, proj + n * c_out, c_out, hw);
    }
  /* h = conv2 (dropout (SiLU (norm2 (h))))                      [batch, c_out, hw] */
  gill_sd_group_norm_forward (&r->norm2, t2, t2, batch, hw, TRUE, s);
  gill_sd_conv_forward (&r->conv2, t2, batch, h, w, t1, s);
  /* out = (conv_shortcut (x) or x) + h; output_scale_factor 1   [batch, c_out, hw] */
  if (r->conv_shortcut.weight)
    gill_sd_conv_forward (&r->conv_shortcut, x, batch, h, w, out, s);
  else
    memcpy (out, x, sizeof (float) * batch * c_out * hw);
  gill_nn_add (out, t1, batch * c_out * hw);
}

/* ------------------------------------------------------------------ Transformer2DModel */

/* proj_in / proj_out: a 1×1 conv [C, C, 1, 1], or with use_linear_projection a Linear [C, C];
 * the same matrix either way, applied to every pixel */
static gboolean
bind_projection (GillSdLinear *proj,
                 GillSdBinder *b,
                 const gchar  *prefix,
                 const gchar  *name,
                 gint64        c,
                 gboolean      linear,
                 GError      **error)
{
  if (linear)
    return gill_sd_linear_bind (proj, b, prefix, name, c, c, TRUE, error);
  GillSdConv conv;
  if (!gill_sd_conv_bind (&conv, b, prefix, name, c, c, 1, 1, 0, error))
    return FALSE;
  *proj = (GillSdLinear) { conv.weight, conv.bias, c, c };
  return TRUE;
}

gboolean
gill_sd_transformer_bind (GillSdTransformer *t,
                          GillSdBinder      *b,
                          const gchar       *block,
                          gint64             index,
                          gint64             channels,
                          gint64             n_head,
                          gint64             context_dim,
                          gint64             groups,
                          gboolean           linear_projection,
                          GError           **error)
{
  const gint64 c = channels;
  g_autofree gchar *attention = g_strdup_printf ("%s.attentions.%" G_GINT64_FORMAT, block, index);
  if (n_head <= 0 || c % n_head != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: %" G_GINT64_FORMAT " channels do not split into %" G_GINT64_FORMAT
                   " heads; check attention_head_dim in the config", attention, c, n_head);
      return FALSE;
    }
  t->channels = c;
  t->n_head = n_head;
  t->context_dim = context_dim;
  g_autofree gchar *basic = g_strconcat (attention, ".transformer_blocks.0", NULL);
  return gill_sd_norm_bind (&t->norm, b, attention, "norm", c, groups, 1e-6f, error)
         && bind_projection (&t->proj_in, b, attention, "proj_in", c, linear_projection, error)
         && bind_projection (&t->proj_out, b, attention, "proj_out", c, linear_projection, error)
         && gill_sd_norm_bind (&t->norm1, b, basic, "norm1", c, 0, 1e-5f, error)
         && gill_sd_linear_bind (&t->attn1_to_q, b, basic, "attn1.to_q", c, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn1_to_k, b, basic, "attn1.to_k", c, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn1_to_v, b, basic, "attn1.to_v", c, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn1_to_out, b, basic, "attn1.to_out.0", c, c, TRUE, error)
         && gill_sd_norm_bind (&t->norm2, b, basic, "norm2", c, 0, 1e-5f, error)
         && gill_sd_linear_bind (&t->attn2_to_q, b, basic, "attn2.to_q", c, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn2_to_k, b, basic, "attn2.to_k", context_dim, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn2_to_v, b, basic, "attn2.to_v", context_dim, c, FALSE, error)
         && gill_sd_linear_bind (&t->attn2_to_out, b, basic, "attn2.to_out.0", c, c, TRUE, error)
         && gill_sd_norm_bind (&t->norm3, b, basic, "norm3", c, 0, 1e-5f, error)
         && gill_sd_linear_bind (&t->ff_proj, b, basic, "ff.net.0.proj", c, 8 * c, TRUE, error)
         && gill_sd_linear_bind (&t->ff_out, b, basic, "ff.net.2", 4 * c, c, TRUE, error);
}

gsize
gill_sd_transformer_work_floats (gint64 channels,
                                 gint64 batch,
                                 gint64 hw,
                                 gint64 n_ctx)
{
  /* h [C, hw]; tokens, normed, q [batch·hw, C] each; k and v [batch·max (hw, n_ctx), C];
   * GEGLU rows [MIN (batch·hw, FF_ROWS), 8C] */
  return (gsize) (channels * hw + 3 * batch * hw * channels + 2 * batch * MAX (hw, n_ctx) * channels
                  + MIN (batch * hw, FF_ROWS) * 8 * channels);
}

gsize
gill_sd_transformer_attn_floats (gint64 channels,
                                 gint64 n_head,
                                 gint64 hw,
                                 gint64 n_ctx)
{
  gint64 d = channels / n_head;
  return MAX (gill_attention_scratch_floats (hw, hw, d), gill_attention_scratch_floats (hw, n_ctx, d));
}

/* GEGLU (attention.py): [a, g] = proj (x).chunk (2, -1); a · GELU (g), GELU exact (erf);
 * p[rows, 2·inner] → p[:, :inner] */
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
static void
geglu_rows (float *p,
            gint64 rows,
            gint64 inner)
{
  for (gint64 r = 0; r < rows; r++)
    {
      float *a = p + r * 2 * inner, *g = a + inner;
      for (gint64 i = 0; i < inner; i++)
        a[i] *= 0.5f * g[i] * (1.0f + gill_vmath_erf (g[i] * (float) M_SQRT1_2));
    }
}

typedef struct
{
  float *p;
  gint64 rows, inner;
} GegluJob;

static void
geglu_task (gint     task,
            gint     n_tasks,
            gpointer data)
{
  const GegluJob *j = data;
  gint64 r0 = j->rows * task / n_tasks, r1 = j->rows * (task + 1) / n_tasks;
  geglu_rows (j->p + r0 * 2 * j->inner, r1 - r0, j->inner);
}

void
gill_sd_transformer_forward (const GillSdTransformer *t,
                             float                   *x,
                             gint64                   batch,
                             gint64                   hw,
                             const float             *ctx,
                             gint64                   n_ctx,
                             float                   *work,
                             GillSdScratch           *s)
{
  const gint64 c = t->channels, n = hw, rows = batch * hw, d = c / t->n_head, kv = MAX (hw, n_ctx);
  const float scale = 1.0f / sqrtf ((float) d);
  float *h = work;                      /* [C, n] one sample's normed pixels */
  float *tok = h + c * n;               /* [batch·n, C] tokens, the residual stream */
  float *nrm = tok + rows * c;          /* [batch·n, C] */
  float *q = nrm + rows * c;            /* [batch·n, C] */
  float *k = q + rows * c;              /* [batch·kv, C] */
  float *v = k + batch * kv * c;        /* [batch·kv, C] */
  float *ff = v + batch * kv * c;       /* [MIN (batch·n, FF_ROWS), 8C] */

  /* tokens = proj_in (norm (x)).permute (0, 2, 3, 1).reshape        [batch·n, C] */
  for (gint64 bi = 0; bi < batch; bi++)
    {
      gill_sd_group_norm_forward (&t->norm, x + bi * c * n, h, 1, n, FALSE, s);
      pixels_to_tokens (&t->proj_in, h, n, tok + bi * n * c, s);
    }

  /* tokens += attn1 (norm1 (tokens)): self-attention, heads of d = C / n_head, per sample */
  layer_norm_forward (&t->norm1, tok, nrm, rows, s);
  gill_sd_linear_forward (&t->attn1_to_q, nrm, c, rows, q, c, 0.0f, s);     /* [batch·n, C] */
  gill_sd_linear_forward (&t->attn1_to_k, nrm, c, rows, k, c, 0.0f, s);     /* [batch·n, C] */
  gill_sd_linear_forward (&t->attn1_to_v, nrm, c, rows, v, c, 0.0f, s);     /* [batch·n, C] */
  for (gint64 bi = 0; bi < batch; bi++)
    gill_attention (q + bi * n * c, c, k + bi * n * c, c, v + bi * n * c, c, nrm + bi * n * c, c, n, n, t->n_head, d,
                    scale, s->attn);
  gill_sd_linear_forward (&t->attn1_to_out, nrm, c, rows, tok, c, 1.0f, s);

  /* tokens += attn2 (norm2 (tokens), ctx): cross-attention on the prompt embeddings */
  layer_norm_forward (&t->norm2, tok, nrm, rows, s);
  gill_sd_linear_forward (&t->attn2_to_q, nrm, c, rows, q, c, 0.0f, s);                      /* [batch·n, C] */
  gill_sd_linear_forward (&t->attn2_to_k, ctx, t->context_dim, batch * n_ctx, k, c, 0.0f, s); /* [batch·n_ctx, C] */
  gill_sd_linear_forward (&t->attn2_to_v, ctx, t->context_dim, batch * n_ctx, v, c, 0.0f, s); /* [batch·n_ctx, C] */
  for (gint64 bi = 0; bi < batch; bi++)
    gill_attention (q + bi * n * c, c, k + bi * n_ctx * c, c, v + bi * n_ctx * c, c, nrm + bi * n * c, c, n, n_ctx,
                    t->n_head, d, scale, s->attn);
  gill_sd_linear_forward (&t->attn2_to_out, nrm, c, rows, tok, c, 1.0f, s);

  /* tokens += ff.net.2 (GEGLU (ff.net.0.proj (norm3 (tokens)))), FF_ROWS rows at a time */
  layer_norm_forward (&t->norm3, tok, nrm, rows, s);
  for (gint64 r0 = 0; r0 < rows; r0 += FF_ROWS)
    {
      gint64 m = MIN (FF_ROWS, rows - r0);
      gill_sd_linear_forward (&t->ff_proj, nrm + r0 * c, c, m, ff, 8 * c, 0.0f, s);  /* [m, 8C] */
      GegluJob geglu = { ff, m, 4 * c };                                            /* [m, 4C] */
      gill_parallel_run (elementwise_tasks (m * 4 * c, m), geglu_task, &geglu);
      gill_sd_linear_forward (&t->ff_out, ff, 8 * c, m, tok + r0 * c, c, 1.0f, s);
    }

  /* x = proj_out (tokens reshaped to [C, n]) + residual, per sample */
  for (gint64 bi = 0; bi < batch; bi++)
    tokens_to_pixels_add (&t->proj_out, tok + bi * n * c, n, x + bi * c * n, s);
}

/* ------------------------------------------------------------------ VAE mid-block Attention */

gboolean
gill_sd_attention_bind (GillSdAttention *a,
                        GillSdBinder    *b,
                        const gchar     *block,
                        gint64           index,
                        gint64           channels,
                        gint64           groups,
                        float            eps,
                        GError         **error)
{
  const gint64 c = channels;
  g_autofree gchar *attention = g_strdup_printf ("%s.attentions.%" G_GINT64_FORMAT, block, index);
  a->channels = c;
  return gill_sd_norm_bind (&a->group_norm, b, attention, "group_norm", c, groups, eps, error)
         && gill_sd_linear_bind (&a->to_q, b, attention, "to_q", c, c, TRUE, error)
         && gill_sd_linear_bind (&a->to_k, b, attention, "to_k", c, c, TRUE, error)
         && gill_sd_linear_bind (&a->to_v, b, attention, "to_v", c, c, TRUE, error)
         && gill_sd_linear_bind (&a->to_out, b, attention, "to_out.0", c, c, TRUE, error);
}

gsize
gill_sd_attention_work_floats (gint64 channels,
                               gint64 hw)
{
  /* h [C, hw], q, k, v and the attention output [hw, C] */
  return (gsize) (5 * channels * hw);
}

void
gill_sd_attention_forward (const GillSdAttention *a,
                           float                 *x,
                           gint64                 batch,
                           gint64                 hw,
                           float                 *work,
                           GillSdScratch         *s)
{
  const gint64 c = a->channels, n = hw;
  float *h = work;          /* [C, n] */
  float *q = h + c * n;     /* [n, C] */
  float *k = q + n * c;     /* [n, C] */
  float *v = k + n * c;     /* [n, C] */
  float *o = v + n * c;     /* [n, C] */

  for (gint64 bi = 0; bi < batch; bi++)
    {
      float *xb = x + bi * c * n;   /* [C, n], also the residual */
      /* h = group_norm (x)                                         [C, n] */
      gill_sd_group_norm_forward (&a->group_norm, xb, h, 1, n, FALSE, s);
      /* q, k, v = to_q/k/v (h.view (C, n).transpose)              [n, C] each */
      pixels_to_tokens (&a->to_q, h, n, q, s);
      pixels_to_tokens (&a->to_k, h, n, k, s);
      pixels_to_tokens (&a->to_v, h, n, v, s);
      /* o = softmax (q kᵀ / √C) v: one head over every pixel     [n, C] */
      gill_attention (q, c, k, c, v, c, o, c, n, n, 1, c, 1.0f / sqrtf ((float) c), s->attn);
      /* x = to_out.0 (o) transposed back to [C, n] + residual; rescale_output_factor 1 */
      tokens_to_pixels_add (&a->to_out, o, n, xb, s);
    }
}
