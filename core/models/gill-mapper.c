/* gill-mapper.c — GILLMapper (TextFcLayer "gill_mapper"): fc, a pre-norm nn.Transformer, model.
 * See gill-mapper.h for the math and the reference. */
#include "core/models/gill-mapper.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/ops/attention.h"
#include "core/ops/convert.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"

/* ------------------------------------------------------------------ config */

static gboolean
count_layers (const GillWeights *lookup,
              const gchar *stack, /* "encoder" or "decoder" */
              gint64 *n)
{
  for (*n = 0;; (*n)++)
    {
      g_autofree gchar *name = g_strdup_printf ("tfm.%s.layers.%" G_GINT64_FORMAT ".linear1.weight", stack, *n);
      if (!gill_weights_has (lookup, name))
        return *n > 0;
    }
}

/* the file a (prefixed) name lives in, for messages (transfer full) */
static gchar *
origin_of (const GillWeights *lookup, const gchar *name)
{
  g_autofree gchar *full = g_strconcat (lookup->prefix ? lookup->prefix : "", name, NULL);
  const gchar *file = lookup->origin ? lookup->origin (lookup->source, full) : NULL;
  return g_strdup (file ? file : "checkpoint");
}

/* a float tensor of any shape with this many dimensions (SHAPE error otherwise) */
static GillTensor *
get_rank (const GillWeights *lookup, const gchar *name, gint n_dims, GError **error)
{
  GillTensor *t = gill_weights_get (lookup, name, -1, NULL, error);
  if (t && t->n_dims != n_dims)
    {
      g_autofree gchar *file = origin_of (lookup, name);
      g_autofree gchar *got = gill_tensor_shape_string (t);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "%s: tensor '%s%s' is %s; expected %d dimensions", file,
                   lookup->prefix ? lookup->prefix : "", name, got, n_dims);
      return NULL;
    }
  return t;
}

gboolean
gill_mapper_config_from_weights (const GillWeights *lookup, GillMapperConfig *config, GError **error)
{
  GillTensor *fc = get_rank (lookup, "fc.weight", 2, error);
  GillTensor *model = fc ? get_rank (lookup, "model.weight", 2, error) : NULL;
  GillTensor *queries = model ? get_rank (lookup, "query_embs", 3, error) : NULL;
  GillTensor *ffn = queries ? get_rank (lookup, "tfm.encoder.layers.0.linear1.weight", 2, error) : NULL;
  if (ffn == NULL)
    return FALSE;
  *config = (GillMapperConfig){
    .in_dim = fc->shape[1],
    .hidden_dim = fc->shape[0],
    .out_dim = model->shape[0],
    .n_output_tokens = queries->shape[1],
    .n_head = GILL_MAPPER_N_HEAD,
    .n_ffn = ffn->shape[0],
  };
  if (!count_layers (lookup, "encoder", &config->n_encoder_layers)
      || !count_layers (lookup, "decoder", &config->n_decoder_layers) || config->hidden_dim % config->n_head != 0)
    {
      g_autofree gchar *file = origin_of (lookup, "fc.weight");
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: the GILL mapper needs tfm.encoder.layers.0 and tfm.decoder.layers.0 and a width "
                   "divisible by %d heads; got %" G_GINT64_FORMAT " encoder, %" G_GINT64_FORMAT
                   " decoder layers, width %" G_GINT64_FORMAT,
                   file, GILL_MAPPER_N_HEAD, config->n_encoder_layers, config->n_decoder_layers, config->hidden_dim);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ weights */

void
gill_mapper_weights_free (GillMapperWeights *weights)
{
  if (weights == NULL)
    return;
  g_free (weights->encoder);
  g_free (weights->decoder);
  g_ptr_array_unref (weights->owned);
  g_free (weights);
}

/* a float vector as f32: in place when the file holds aligned f32, else a widened copy in owned */
static const float *
bind_vector (GillMapperWeights *w,
             const GillWeights *lookup,
             gint n_dims,
             const gint64 *shape,
             const gchar *name,
             GError **error)
{
  GillTensor *t = gill_weights_get (lookup, name, n_dims, shape, error);
  if (t == NULL)
    return NULL;
  if (!gill_tensor_needs_widening (t))
    return (const float *) t->data;
  float *copy = g_new (float, MAX (gill_tensor_numel (t), 1));
  gill_tensor_copy_f32 (t, copy);
  g_ptr_array_add (w->owned, copy);
  return copy;
}

static gboolean
bind_linear (const GillWeights *lookup,
             const gchar *prefix, /* "fc", "tfm.encoder.layers.0.linear1", ... */
             const gchar *weight_name,
             const gchar *bias_name,
             gint64 out,
             gint64 in,
             GillMapperLinear *linear,
             GError **error)
{
  gint64 w_shape[2] = { out, in };
  linear->weight = gill_weights_getf (lookup, error, 2, w_shape, "%s.%s", prefix, weight_name);
  linear->bias = linear->weight ? gill_weights_getf (lookup, error, 1, &out, "%s.%s", prefix, bias_name) : NULL;
  return linear->bias != NULL;
}

static gboolean
bind_norm (GillMapperWeights *w,
           const GillWeights *lookup,
           const gchar *prefix, /* "tfm.encoder.norm", "tfm.decoder.layers.1.norm3", ... */
           GillMapperNorm *norm,
           GError **error)
{
  gint64 h = w->config.hidden_dim;
  g_autofree gchar *weight = g_strconcat (prefix, ".weight", NULL);
  g_autofree gchar *bias = g_strconcat (prefix, ".bias", NULL);
  norm->weight = bind_vector (w, lookup, 1, &h, weight, error);
  norm->bias = norm->weight ? bind_vector (w, lookup, 1, &h, bias, error) : NULL;
  return norm->bias != NULL;
}

static gboolean
bind_attention (const GillWeights *lookup,
                const gchar *prefix, /* "tfm.decoder.layers.0.multihead_attn" */
                gint64 hidden,
                GillMapperAttention *attention,
                GError **error)
{
  g_autofree gchar *out_proj = g_strconcat (prefix, ".out_proj", NULL);
  return bind_linear (lookup, prefix, "in_proj_weight", "in_proj_bias", 3 * hidden, hidden, &attention->in_proj, error)
         && bind_linear (lookup, out_proj, "weight", "bias", hidden, hidden, &attention->out_proj, error);
}

static gboolean
bind_layer (GillMapperWeights *w,
            const GillWeights *lookup,
            const gchar *stack, /* "encoder" or "decoder" */
            gint64 index,
            GillMapperLayer *layer,
            GError **error)
{
  const gboolean decoder = g_str_equal (stack, "decoder");
  const gint64 h = w->config.hidden_dim, f = w->config.n_ffn;
  g_autofree gchar *p = g_strdup_printf ("tfm.%s.layers.%" G_GINT64_FORMAT, stack, index);
  g_autofree gchar *self_attn = g_strconcat (p, ".self_attn", NULL);
  g_autofree gchar *cross_attn = g_strconcat (p, ".multihead_attn", NULL);
  g_autofree gchar *linear1 = g_strconcat (p, ".linear1", NULL);
  g_autofree gchar *linear2 = g_strconcat (p, ".linear2", NULL);
  g_autofree gchar *norm1 = g_strconcat (p, ".norm1", NULL);
  g_autofree gchar *norm2 = g_strconcat (p, ".norm2", NULL);
  g_autofree gchar *norm3 = g_strconcat (p, ".norm3", NULL);
  return bind_norm (w, lookup, norm1, &layer->norm1, error)
         && bind_attention (lookup, self_attn, h, &layer->self_attn, error)
         && bind_norm (w, lookup, norm2, &layer->norm2, error)
         && (!decoder || bind_attention (lookup, cross_attn, h, &layer->multihead_attn, error))
         && (!decoder || bind_norm (w, lookup, norm3, &layer->norm3, error))
         && bind_linear (lookup, linear1, "weight", "bias", f, h, &layer->linear1, error)
         && bind_linear (lookup, linear2, "weight", "bias", h, f, &layer->linear2, error);
}

GillMapperWeights *
gill_mapper_weights_bind (const GillMapperConfig *config, const GillWeights *lookup, GError **error)
{
  g_autoptr (GillMapperWeights) w = g_new0 (GillMapperWeights, 1);
  w->config = *config;
  w->owned = g_ptr_array_new_with_free_func (g_free);
  w->encoder = g_new0 (GillMapperLayer, config->n_encoder_layers);
  w->decoder = g_new0 (GillMapperLayer, config->n_decoder_layers);
  const gint64 h = config->hidden_dim;
  gint64 queries[3] = { 1, config->n_output_tokens, h };
  if (!bind_linear (lookup, "fc", "weight", "bias", h, config->in_dim, &w->fc, error)
      || (w->query_embs = bind_vector (w, lookup, 3, queries, "query_embs", error)) == NULL)
    return NULL;
  for (gint64 l = 0; l < config->n_encoder_layers; l++)
    if (!bind_layer (w, lookup, "encoder", l, &w->encoder[l], error))
      return NULL;
  for (gint64 l = 0; l < config->n_decoder_layers; l++)
    if (!bind_layer (w, lookup, "decoder", l, &w->decoder[l], error))
      return NULL;
  if (!bind_norm (w, lookup, "tfm.encoder.norm", &w->encoder_norm, error)
      || !bind_norm (w, lookup, "tfm.decoder.norm", &w->decoder_norm, error)
      || !bind_linear (lookup, "model", "weight", "bias", config->out_dim, h, &w->model, error))
    return NULL;
  return g_steal_pointer (&w);
}

/* ------------------------------------------------------------------ forward */

/* one sequence's activations; rows = max (n_tokens, n_output_tokens) */
typedef struct
{
  float *x;         /* [n_tokens, hidden] encoder stream, then memory */
  float *y;         /* [Q, hidden] decoder stream */
  float *normed;    /* [rows, hidden] LN output */
  float *q;         /* [rows, 3 hidden] in_proj of the queries' side */
  float *kv;        /* [n_tokens, 3 hidden] in_proj of the memory (cross-attention) */
  float *heads;     /* [rows, hidden] attention output before out_proj */
  float *ffn;       /* [rows, max (ffn, in)] linear1 output; the fc input */
  float *delta;     /* [rows, hidden] a block's output before the residual add */
  float *widened;   /* the largest weight + its output row, for gill_linear */
  float *attention; /* gill_attention's scratch */
} Scratch;

static void
scratch_free (Scratch *s)
{
  g_free (s->x);
  g_free (s->y);
  g_free (s->normed);
  g_free (s->q);
  g_free (s->kv);
  g_free (s->heads);
  g_free (s->ffn);
  g_free (s->delta);
  g_free (s->widened);
  g_free (s->attention);
}

static gboolean
scratch_init (Scratch *s, const GillMapperConfig *c, gint64 n_tokens, GError **error)
{
  const gint64 rows = MAX (n_tokens, c->n_output_tokens), h = c->hidden_dim;
  const gint64 wide = MAX (MAX (3 * h * h, c->n_ffn * h), MAX (h * c->in_dim, c->out_dim * h));
  const gint64 width = MAX (MAX (3 * h, c->n_ffn), MAX (c->in_dim, c->out_dim));
  *s = (Scratch){
    .x = g_try_new (float, n_tokens * h),
    .y = g_try_new (float, c->n_output_tokens * h),
    .normed = g_try_new (float, rows * h),
    .q = g_try_new (float, rows * 3 * h),
    .kv = g_try_new (float, n_tokens * 3 * h),
    .heads = g_try_new (float, rows * h),
    .ffn = g_try_new (float, rows * MAX (c->n_ffn, c->in_dim)),
    .delta = g_try_new (float, rows * h),
    .widened = g_try_new (float, wide + width),
    .attention = g_try_new (float, gill_attention_scratch_floats (rows, rows, h / c->n_head)),
  };
  if (s->x && s->y && s->normed && s->q && s->kv && s->heads && s->ffn && s->delta && s->widened && s->attention)
    return TRUE;
  scratch_free (s);
  g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY,
               "GILL mapper: cannot allocate scratch for %" G_GINT64_FORMAT " tokens", n_tokens);
  return FALSE;
}

/* y[rows, out] = x W^T + b */
static void
linear (const GillMapperLinear *l, const float *x, gint64 rows, float *y, Scratch *s)
{
  gill_linear (x, rows, l->weight, l->bias, y, s->widened);
}

/* normed = LN (x) */
static void
layer_norm (const GillMapperNorm *norm, const float *x, float *normed, gint64 rows, gint64 hidden)
{
  gill_nn_layer_norm (x, normed, rows, hidden, norm->weight, norm->bias, GILL_MAPPER_LAYER_NORM_EPS);
}

/* x[n_q] += out_proj (MHA (queries, memory)); self-attention when memory == queries.
 * nn.MultiheadAttention: Q = q W_q^T + b_q, K = m W_k^T + b_k, V = m W_v^T + b_v (row blocks of
 * in_proj), softmax (Q_h K_h^T / sqrt (d)) V_h per head, heads concatenated, out_proj. */
static void
attention_block (const GillMapperAttention *a,
                 const GillMapperConfig *c,
                 const float *queries,
                 gint64 n_q,
                 const float *memory,
                 gint64 n_kv,
                 float *x,
                 Scratch *s)
{
  const gint64 h = c->hidden_dim, d = h / c->n_head;
  linear (&a->in_proj, queries, n_q, s->q, s); /* [n_q, 3h]: q | k | v */
  const float *kv = s->q;
  if (memory != queries)
    {
      linear (&a->in_proj, memory, n_kv, s->kv, s); /* [n_kv, 3h]: k, v used */
      kv = s->kv;
    }
  gill_attention (s->q, 3 * h, kv + h, 3 * h, kv + 2 * h, 3 * h, s->heads, h, n_q, n_kv, c->n_head, d,
                  1.0f / sqrtf ((float) d), s->attention);
  linear (&a->out_proj, s->heads, n_q, s->delta, s); /* [n_q, h] */
  gill_nn_add (x, s->delta, n_q * h);
}

/* x += linear2 (relu (linear1 (normed))) */
static void
feed_forward_block (
    const GillMapperLayer *layer, const GillMapperConfig *c, const float *normed, gint64 rows, float *x, Scratch *s)
{
  linear (&layer->linear1, normed, rows, s->ffn, s); /* [rows, ffn] */
  gill_nn_relu (s->ffn, rows * c->n_ffn);
  linear (&layer->linear2, s->ffn, rows, s->delta, s); /* [rows, h] */
  gill_nn_add (x, s->delta, rows * c->hidden_dim);
}

/* TransformerEncoderLayer (norm_first): x += SA (LN1 x); x += FF (LN2 x) */
static void
encoder_layer (const GillMapperLayer *layer, const GillMapperConfig *c, float *x, gint64 t, Scratch *s)
{
  layer_norm (&layer->norm1, x, s->normed, t, c->hidden_dim);
  attention_block (&layer->self_attn, c, s->normed, t, s->normed, t, x, s);
  layer_norm (&layer->norm2, x, s->normed, t, c->hidden_dim);
  feed_forward_block (layer, c, s->normed, t, x, s);
}

/* TransformerDecoderLayer (norm_first): y += SA (LN1 y); y += MHA (LN2 y, memory); y += FF (LN3 y) */
static void
decoder_layer (
    const GillMapperLayer *layer, const GillMapperConfig *c, float *y, const float *memory, gint64 t, Scratch *s)
{
  const gint64 q = c->n_output_tokens;
  layer_norm (&layer->norm1, y, s->normed, q, c->hidden_dim);
  attention_block (&layer->self_attn, c, s->normed, q, s->normed, q, y, s);
  layer_norm (&layer->norm2, y, s->normed, q, c->hidden_dim);
  attention_block (&layer->multihead_attn, c, s->normed, q, memory, t, y, s);
  layer_norm (&layer->norm3, y, s->normed, q, c->hidden_dim);
  feed_forward_block (layer, c, s->normed, q, y, s);
}

/* one sequence: hidden [t, in] (+ embs) -> out [Q, out_dim] */
static void
mapper_sequence (const GillMapperWeights *w, const float *hidden, const float *embs, gint64 t, float *out, Scratch *s)
{
  const GillMapperConfig *c = &w->config;
  const gint64 h = c->hidden_dim, q = c->n_output_tokens;
  /* x = fc (hidden_states + input_embs)                        [t, h] */
  memcpy (s->ffn, hidden, sizeof (float) * t * c->in_dim);
  if (embs)
    gill_nn_add (s->ffn, embs, t * c->in_dim);
  linear (&w->fc, s->ffn, t, s->x, s);
  /* memory = encoder_norm (encoder (x))                        [t, h] */
  for (gint64 l = 0; l < c->n_encoder_layers; l++)
    encoder_layer (&w->encoder[l], c, s->x, t, s);
  layer_norm (&w->encoder_norm, s->x, s->normed, t, h);
  memcpy (s->x, s->normed, sizeof (float) * t * h);
  /* y = decoder_norm (decoder (query_embs, memory))            [Q, h] */
  memcpy (s->y, w->query_embs, sizeof (float) * q * h);
  for (gint64 l = 0; l < c->n_decoder_layers; l++)
    decoder_layer (&w->decoder[l], c, s->y, s->x, t, s);
  layer_norm (&w->decoder_norm, s->y, s->normed, q, h);
  /* out = model (y)                                             [Q, out_dim] */
  linear (&w->model, s->normed, q, out, s);
}

gboolean
gill_mapper_forward (const GillMapperWeights *weights,
                     const float *hidden_states,
                     const float *input_embs,
                     gint64 batch,
                     gint64 n_tokens,
                     float *out,
                     GError **error)
{
  const GillMapperConfig *c = &weights->config;
  if (batch < 1 || n_tokens < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "GILL mapper: needs at least one sequence of one token; got batch %" G_GINT64_FORMAT
                   ", %" G_GINT64_FORMAT " tokens",
                   batch, n_tokens);
      return FALSE;
    }
  Scratch s;
  if (!scratch_init (&s, c, n_tokens, error))
    return FALSE;
  const gint64 in = n_tokens * c->in_dim;
  for (gint64 b = 0; b < batch; b++)
    mapper_sequence (weights, hidden_states + b * in, input_embs ? input_embs + b * in : NULL, n_tokens,
                     out + b * c->n_output_tokens * c->out_dim, &s);
  scratch_free (&s);
  return TRUE;
}
