/* sd-blocks.h — the layers the SD UNet and VAE share, as diffusers 0.17.1 builds them.
 *
 *   GillSdResnet       ResnetBlock2D          (resnet.py)
 *   GillSdTransformer  Transformer2DModel with one BasicTransformerBlock, use_linear_projection
 *                      false: 1×1-conv proj_in/proj_out (transformer_2d.py, attention.py)
 *   GillSdAttention    the VAE mid block's single-head Attention over pixels
 *                      (attention_processor.py, _from_deprecated_attn_block)
 *   GillSdConv / GillSdLinear / GillSdNorm  Conv2d, Linear, GroupNorm / LayerNorm
 *
 * Names are the canonical (diffusers) checkpoint names: core/io/sd-names.c translates CompVis
 * single files and the legacy VAE attention names into them. Activations are NCHW per batch
 * [batch, channels, h·w] unless a comment says tokens [h·w, channels]. Weights are borrowed
 * from the lookup and used in place when f32; 16-bit weights are widened a layer at a time into
 * GillSdScratch.wide. Forward functions never allocate: every buffer is passed in. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/tensor.h"
#include "core/base/weights.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------ scratch */

typedef struct
{
  float *wide;        /* widened 16-bit weight + bias of the layer running now */
  gsize wide_floats;
  float *col;         /* im2col bands (core/ops/conv.h) */
  gsize col_floats;
  float *attn;        /* attention tiles (core/ops/attention.h) */
  gsize attn_floats;
  float *vec;         /* small per-sample vectors: time-embedding projections [batch, c] */
  gsize vec_floats;
} GillSdScratch;

/* makes a parameter of exactly this shape instead of looking it up — benchmarks and tests build
 * random models of real shapes with it; (transfer none): data keeps the tensor alive */
typedef GillTensor *(*GillSdMakeFunc) (gpointer      data,
                                       const gchar  *name,
                                       gint          n_dims,
                                       const gint64 *shape);

/* binding context: where parameters come from, and the largest widening any bound layer needs */
typedef struct
{
  const GillWeights *weights;  /* the checked lookup; unused when make is set */
  GillSdMakeFunc make;
  gpointer make_data;
  gsize wide_floats;           /* grows as layers are bound */
} GillSdBinder;

/* the im2col budget: at least one output row of the widest conv, else 64 MB */
#define GILL_SD_COL_FLOATS (16u << 20)

/* allocate every buffer of `s` with the given sizes (wide from the binder); free with _clear
 * (also after a failure); OUT_OF_MEMORY with the size */
gboolean gill_sd_scratch_init        (GillSdScratch *s,
                                      gsize          wide_floats,
                                      gsize          col_floats,
                                      gsize          attn_floats,
                                      gsize          vec_floats,
                                      GError       **error);
void     gill_sd_scratch_clear       (GillSdScratch *s);

/* a model state's activation buffer of `floats` (at least one), its bytes added to *bytes; NULL
 * and OUT_OF_MEMORY naming `model` ("UNet", "VAE") and the size */
float   *gill_sd_alloc_activations   (const gchar   *model,
                                      gsize          floats,
                                      gsize         *bytes,
                                      GError       **error);

/* the forward passes' ping-pong: the hidden state and the next one trade buffers */
static inline void
gill_sd_swap_buffers (float **a,
                      float **b)
{
  float *t = *a;
  *a = *b;
  *b = t;
}

/* ------------------------------------------------------------------ layers */

typedef struct
{
  GillTensor *weight;   /* [c_out, c_in, k, k] */
  GillTensor *bias;     /* [c_out] */
  gint64 c_in, c_out, kernel, stride, pad;
} GillSdConv;

typedef struct
{
  GillTensor *weight;   /* [out, in] */
  GillTensor *bias;     /* [out], or NULL where the layer has none */
  gint64 in, out;
} GillSdLinear;

typedef struct
{
  GillTensor *weight;   /* [channels] */
  GillTensor *bias;     /* [channels] */
  gint64 channels;
  gint64 groups;        /* GroupNorm groups; 0 for a LayerNorm */
  float eps;
} GillSdNorm;

/* the layer `name` under `prefix` ("down_blocks.0.resnets.1" + "conv1"; prefix NULL at the
 * model's root): its parameters "<prefix>.<name>.weight" and ".bias" */
gboolean gill_sd_conv_bind           (GillSdConv    *conv,
                                      GillSdBinder  *b,
                                      const gchar   *prefix,
                                      const gchar   *name,
                                      gint64         c_in,
                                      gint64         c_out,
                                      gint64         kernel,
                                      gint64         stride,
                                      gint64         pad,
                                      GError       **error);
gboolean gill_sd_linear_bind         (GillSdLinear  *linear,
                                      GillSdBinder  *b,
                                      const gchar   *prefix,
                                      const gchar   *name,
                                      gint64         in,
                                      gint64         out,
                                      gboolean       has_bias,
                                      GError       **error);
gboolean gill_sd_norm_bind           (GillSdNorm    *norm,
                                      GillSdBinder  *b,
                                      const gchar   *prefix,
                                      const gchar   *name,
                                      gint64         channels,
                                      gint64         groups,   /* 0 = LayerNorm */
                                      float          eps,
                                      GError       **error);

/* y[batch, c_out, Ho·Wo] = conv (x[batch, c_in, h·w]); y must not overlap x */
void     gill_sd_conv_forward        (const GillSdConv *conv,
                                      const float      *x,
                                      gint64            batch,
                                      gint64            h,
                                      gint64            w,
                                      float            *y,
                                      GillSdScratch    *s);
/* y[rows, out] (row stride ldy) = beta · y + x[rows, in] (row stride ldx) Wᵀ + b */
void     gill_sd_linear_forward      (const GillSdLinear *linear,
                                      const float        *x,
                                      gint64              ldx,
                                      gint64              rows,
                                      float              *y,
                                      gint64              ldy,
                                      float               beta,
                                      GillSdScratch      *s);
/* GroupNorm over x[batch, channels, spatial] (then SiLU when silu); y may equal x */
void     gill_sd_group_norm_forward  (const GillSdNorm *norm,
                                      const float      *x,
                                      float            *y,
                                      gint64            batch,
                                      gint64            spatial,
                                      gboolean          silu,
                                      GillSdScratch    *s);
/* x[i] = x[i] σ(x[i]), vectorised */
void     gill_sd_silu                (float            *x,
                                      gint64            n);

/* ------------------------------------------------------------------ ResnetBlock2D */

typedef struct
{
  gint64 c_in, c_out;
  GillSdNorm norm1;             /* GroupNorm (groups, c_in, eps) */
  /* nonlinearity: SiLU, no parameters */
  GillSdConv conv1;             /* [c_out, c_in, 3, 3] */
  GillSdLinear time_emb_proj;   /* [c_out, temb] after SiLU (temb); weight NULL in the VAE */
  GillSdNorm norm2;             /* GroupNorm (groups, c_out, eps) */
  /* dropout: identity at inference */
  GillSdConv conv2;             /* [c_out, c_out, 3, 3] */
  GillSdConv conv_shortcut;     /* [c_out, c_in, 1, 1] where c_in != c_out, else weight NULL */
} GillSdResnet;

/* "<block>.resnets.<index>" (block "down_blocks.0", "mid_block", "decoder.up_blocks.2", …);
 * temb_dim 0 = no time embedding (VAE) */
gboolean gill_sd_resnet_bind         (GillSdResnet  *r,
                                      GillSdBinder  *b,
                                      const gchar   *block,
                                      gint64         index,
                                      gint64         c_in,
                                      gint64         c_out,
                                      gint64         temb_dim,
                                      gint64         groups,
                                      float          eps,
                                      GError       **error);
/* floats of `work` gill_sd_resnet_forward needs */
gsize    gill_sd_resnet_work_floats  (gint64         c_in,
                                      gint64         c_out,
                                      gint64         batch,
                                      gint64         hw);
/* out[batch, c_out, hw] = resnet (x[batch, c_in, hw], temb[batch, temb_dim] or NULL);
 * out must not overlap x or work */
void     gill_sd_resnet_forward      (const GillSdResnet *r,
                                      const float        *x,
                                      gint64              batch,
                                      gint64              h,
                                      gint64              w,
                                      const float        *temb,
                                      float              *out,
                                      float              *work,
                                      GillSdScratch      *s);

/* ------------------------------------------------------------------ Transformer2DModel */

typedef struct
{
  gint64 channels, n_head, context_dim;
  GillSdNorm norm;              /* GroupNorm (groups, C, eps 1e-6 — hard-coded in diffusers) */
  GillSdLinear proj_in;         /* a 1×1 conv [C, C, 1, 1] seen as [C, C], or a Linear [C, C]
                                 * (use_linear_projection): one matrix on every pixel */
  /* transformer_blocks.0: BasicTransformerBlock */
  GillSdNorm norm1;             /* LayerNorm (C, 1e-5) */
  GillSdLinear attn1_to_q;      /* [C, C], no bias — self-attention */
  GillSdLinear attn1_to_k;      /* [C, C], no bias */
  GillSdLinear attn1_to_v;      /* [C, C], no bias */
  GillSdLinear attn1_to_out;    /* to_out.0 [C, C]; to_out.1 is dropout */
  GillSdNorm norm2;             /* LayerNorm (C, 1e-5) */
  GillSdLinear attn2_to_q;      /* [C, C], no bias — cross-attention */
  GillSdLinear attn2_to_k;      /* [C, context_dim], no bias */
  GillSdLinear attn2_to_v;      /* [C, context_dim], no bias */
  GillSdLinear attn2_to_out;    /* to_out.0 [C, C] */
  GillSdNorm norm3;             /* LayerNorm (C, 1e-5) */
  GillSdLinear ff_proj;         /* ff.net.0.proj [8C, C]: GEGLU; ff.net.1 is dropout */
  GillSdLinear ff_out;          /* ff.net.2 [C, 4C] */
  GillSdLinear proj_out;        /* the same as proj_in */
} GillSdTransformer;

/* "<block>.attentions.<index>" ("down_blocks.0", 1: "down_blocks.0.attentions.1") */
gboolean gill_sd_transformer_bind    (GillSdTransformer *t,
                                      GillSdBinder      *b,
                                      const gchar       *block,
                                      gint64             index,
                                      gint64             channels,
                                      gint64             n_head,
                                      gint64             context_dim,
                                      gint64             groups,
                                      gboolean           linear_projection, /* Linear proj_in/out */
                                      GError           **error);
gsize    gill_sd_transformer_work_floats  (gint64 channels,
                                           gint64 batch,
                                           gint64 hw,
                                           gint64 n_ctx);
gsize    gill_sd_transformer_attn_floats  (gint64 channels,
                                           gint64 n_head,
                                           gint64 hw,
                                           gint64 n_ctx);
/* x[batch, C, hw] += transformer (x, ctx[batch, n_ctx, context_dim]), in place */
void     gill_sd_transformer_forward (const GillSdTransformer *t,
                                      float                   *x,
                                      gint64                   batch,
                                      gint64                   hw,
                                      const float             *ctx,
                                      gint64                   n_ctx,
                                      float                   *work,
                                      GillSdScratch           *s);

/* ------------------------------------------------------------------ VAE mid-block Attention */

typedef struct
{
  gint64 channels;
  GillSdNorm group_norm;        /* GroupNorm (groups, C, eps) */
  GillSdLinear to_q;            /* [C, C] + bias */
  GillSdLinear to_k;            /* [C, C] + bias */
  GillSdLinear to_v;            /* [C, C] + bias */
  GillSdLinear to_out;          /* to_out.0 [C, C] + bias; to_out.1 is dropout */
} GillSdAttention;

/* "<block>.attentions.<index>" ("decoder.mid_block", 0) */
gboolean gill_sd_attention_bind      (GillSdAttention *a,
                                      GillSdBinder    *b,
                                      const gchar     *block,
                                      gint64           index,
                                      gint64           channels,
                                      gint64           groups,
                                      float            eps,
                                      GError         **error);
gsize    gill_sd_attention_work_floats (gint64 channels,
                                        gint64 hw);
/* x[batch, C, hw] += attention (x), one head of dimension C, in place */
void     gill_sd_attention_forward   (const GillSdAttention *a,
                                      float                 *x,
                                      gint64                 batch,
                                      gint64                 hw,
                                      float                 *work,
                                      GillSdScratch         *s);

G_END_DECLS
