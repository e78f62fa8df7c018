/* opt.c — OPT forward pass on the CPU.
 *
 * Reference: huggingface/transformers v4.30.2, src/transformers/models/opt/modeling_opt.py:
 *   OPTLearnedPositionalEmbedding  positions = cumsum (mask) * mask - 1, row = position + 2
 *   OPTAttention                   q = q_proj (x) * head_dim^-0.5; softmax (q k^T + mask) v;
 *                                  masked logits are finfo(f32).min, the sum clamped at min
 *   OPTDecoderLayer                pre-LN (do_layer_norm_before) or post-LN residual blocks
 *   OPTDecoder                     embed_tokens -> project_in -> + positions -> layers ->
 *                                  final_layer_norm -> project_out
 *   OPTForCausalLM                 logits = h embed_tokens^T (tied lm_head, no bias)
 * and shared/reference/models.md §1. Shapes: E = n_embd, W = n_word_embd, F = n_ffn,
 * H = n_head, D = head_dim, R = rows of this forward (batch x seq), P = past + new positions. */
#include "core/models/opt.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/io/json-config.h"
#include "core/ops/convert.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"
#include "core/ops/parallel.h"

/* torch.finfo(torch.float32).min: what the reference adds for a masked attention logit */
#define OPT_MASK_MIN (-FLT_MAX)

/* ------------------------------------------------------------------ config */

static gboolean
config_positive (const gchar *file,
                 const gchar *key,
                 gint64       value,
                 GError     **error)
{
  if (value > 0 && value <= G_MAXINT32)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: key '%s' is %" G_GINT64_FORMAT "; a positive size was expected",
               file, key, value);
  return FALSE;
}

/* defaults are OPTConfig's (configuration_opt.py), used when a key is absent, as transformers does */
gboolean
gill_opt_config_from_json (JsonObject     *json,
                           const gchar    *file,
                           GillOptConfig  *config,
                           GError        **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  GillOptConfig c = { 0 };
  gboolean remove_final = FALSE;
  gint64 word_embed = -1;

  const gchar *model_type = gill_json_config_string (json, "model_type");
  if (model_type && g_strcmp0 (model_type, "opt") != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: key 'model_type' is \"%s\"; gill's language model is OPT (\"opt\")", file, model_type);
      return FALSE;
    }
  if (!gill_json_config_int (json, file, "vocab_size", 50272, &c.vocab_size, error)
      || !gill_json_config_int (json, file, "hidden_size", 768, &c.n_embd, error)
      || !gill_json_config_int (json, file, "num_hidden_layers", 12, &c.n_layer, error)
      || !gill_json_config_int (json, file, "num_attention_heads", 12, &c.n_head, error)
      || !gill_json_config_int (json, file, "ffn_dim", 3072, &c.n_ffn, error)
      || !gill_json_config_int (json, file, "max_position_embeddings", 2048, &c.n_ctx, error)
      || !gill_json_config_int (json, file, "word_embed_proj_dim", -1, &word_embed, error)
      || !gill_json_config_bool (json, file, "do_layer_norm_before", TRUE, &c.layer_norm_before, error)
      || !gill_json_config_bool (json, file, "_remove_final_layer_norm", FALSE, &remove_final, error)
      || !gill_json_config_bool (json, file, "enable_bias", TRUE, &c.bias, error)
      || !gill_json_config_bool (json, file, "layer_norm_elementwise_affine", TRUE, &c.layer_norm_affine, error)
      || !gill_json_config_int (json, file, "pad_token_id", 1, &c.pad_token_id, error)
      || !gill_json_config_int (json, file, "bos_token_id", 2, &c.bos_token_id, error)
      || !gill_json_config_int (json, file, "eos_token_id", 2, &c.eos_token_id, error))
    return FALSE;
  c.n_word_embd = word_embed < 0 ? c.n_embd : word_embed;
  c.final_layer_norm = c.layer_norm_before && !remove_final;

  if (!config_positive (file, "vocab_size", c.vocab_size, error)
      || !config_positive (file, "hidden_size", c.n_embd, error)
      || !config_positive (file, "num_hidden_layers", c.n_layer, error)
      || !config_positive (file, "num_attention_heads", c.n_head, error)
      || !config_positive (file, "ffn_dim", c.n_ffn, error)
      || !config_positive (file, "max_position_embeddings", c.n_ctx, error)
      || !config_positive (file, "word_embed_proj_dim", c.n_word_embd, error))
    return FALSE;
  if (c.n_embd % c.n_head != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: key 'hidden_size' (%" G_GINT64_FORMAT ") is not a multiple of 'num_attention_heads' (%" G_GINT64_FORMAT ")",
                   file, c.n_embd, c.n_head);
      return FALSE;
    }

  const gchar *act = gill_json_config_string (json, "activation_function");
  if (act == NULL && json_object_has_member (json, "activation_function"))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: key 'activation_function' is not a string", file);
      return FALSE;
    }
  if (act == NULL || g_str_equal (act, "relu"))
    c.activation = GILL_OPT_ACTIVATION_RELU;
  else if (g_str_equal (act, "gelu"))
    c.activation = GILL_OPT_ACTIVATION_GELU;
  else
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: key 'activation_function' is \"%s\", which gill does not implement (\"relu\", \"gelu\")",
                   file, act);
      return FALSE;
    }
  *config = c;
  return TRUE;
}

gboolean
gill_opt_config_preset (const gchar    *name,
                        GillOptConfig  *config,
                        GError        **error)
{
  /* facebook/opt-* config.json values (models.md §1.1 for 6.7b) */
  static const struct
  {
    const gchar *name;
    gint64 n_embd, n_layer, n_head, n_ffn, n_word_embd;
    gboolean layer_norm_before;
  } presets[] = {
    { "125m", 768, 12, 12, 3072, 768, TRUE },
    { "350m", 1024, 24, 16, 4096, 512, FALSE },
    { "1.3b", 2048, 24, 32, 8192, 2048, TRUE },
    { "2.7b", 2560, 32, 32, 10240, 2560, TRUE },
    { "6.7b", 4096, 32, 32, 16384, 4096, TRUE },
    { "13b", 5120, 40, 40, 20480, 5120, TRUE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++)
    if (g_ascii_strcasecmp (name, presets[i].name) == 0)
      {
        *config = (GillOptConfig) {
          .vocab_size = 50272, .n_embd = presets[i].n_embd, .n_layer = presets[i].n_layer,
          .n_head = presets[i].n_head, .n_ffn = presets[i].n_ffn, .n_ctx = 2048,
          .n_word_embd = presets[i].n_word_embd, .layer_norm_before = presets[i].layer_norm_before,
          .final_layer_norm = presets[i].layer_norm_before, .bias = TRUE, .layer_norm_affine = TRUE,
          .activation = GILL_OPT_ACTIVATION_RELU, .pad_token_id = 1, .bos_token_id = 2, .eos_token_id = 2,
        };
        return TRUE;
      }
  g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
               "unknown OPT preset '%s'; choose 125m, 350m, 1.3b, 2.7b, 6.7b or 13b", name);
  return FALSE;
}

/* parameters of one decoder layer */
static guint64
config_layer_params (const GillOptConfig *c)
{
  guint64 e = c->n_embd, f = c->n_ffn;
  guint64 linear = 4 * e * e + 2 * e * f;
  guint64 biases = c->bias ? 4 * e + f + e : 0;
  guint64 norms = c->layer_norm_affine ? 4 * e : 0;
  return linear + biases + norms;
}

guint64
gill_opt_config_n_params (const GillOptConfig *c)
{
  guint64 e = c->n_embd, w = c->n_word_embd;
  guint64 n = (guint64) c->vocab_size * w + (guint64) (c->n_ctx + GILL_OPT_POSITION_OFFSET) * e;
  if (w != e)
    n += 2 * e * w;
  if (c->final_layer_norm && c->layer_norm_affine)
    n += 2 * e;
  return n + (guint64) c->n_layer * config_layer_params (c);
}

/* ------------------------------------------------------------------ weights */

static float *
weights_own_floats (GillOptWeights *w,
                    gsize           n)
{
  float *p = g_new (float, MAX (n, 1));
  g_ptr_array_add (w->owned, p);
  return p;
}

/* a 1-D parameter widened to f32 once (biases, LayerNorm): tiny next to the matrices */
static gboolean
bind_vector (GillOptWeights    *w,
             const GillWeights *lookup,
             const gchar       *name,
             gint64             n,
             const float      **out,
             GError           **error)
{
  GillTensor *t = gill_weights_get (lookup, name, 1, &n, error);
  if (t == NULL)
    return FALSE;
  float *v = weights_own_floats (w, n);
  gill_tensor_copy_f32 (t, v);
  *out = v;
  return TRUE;
}

static gboolean
bind_matrix (const GillWeights *lookup,
             const gchar       *name,
             gint64             rows,
             gint64             cols,
             GillMatrix        *out,
             GillTensor       **tensor,
             GError           **error)
{
  gint64 shape[2] = { rows, cols };
  GillTensor *t = gill_weights_get (lookup, name, 2, shape, error);
  if (t == NULL)
    return FALSE;
  if (!gill_matrix_from_tensor (t, out))
    {
      const gchar *origin = lookup->origin ? lookup->origin (lookup->source, name) : NULL;
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: tensor '%s' is %s%s; gill reads contiguous f32, f16 and bf16 weights: re-save the checkpoint",
                   origin ? origin : "weights", name, gill_dtype_name (t->dtype),
                   gill_tensor_is_contiguous (t) ? "" : " stored as a strided view");
      return FALSE;
    }
  if (tensor)
    *tensor = t;
  return TRUE;
}

static gboolean
bind_linear (GillOptWeights    *w,
             const GillWeights *lookup,
             const gchar       *prefix,
             gint64             out,
             gint64             in,
             gboolean           bias,
             GillOptLinear     *linear,
             GError           **error)
{
  g_autofree gchar *wname = g_strconcat (prefix, ".weight", NULL);
  g_autofree gchar *bname = g_strconcat (prefix, ".bias", NULL);
  linear->bias = NULL;
  return bind_matrix (lookup, wname, out, in, &linear->weight, NULL, error)
         && (!bias || bind_vector (w, lookup, bname, out, &linear->bias, error));
}

static gboolean
bind_layer_norm (GillOptWeights    *w,
                 const GillWeights *lookup,
                 const gchar       *prefix,
                 const float      **weight,
                 const float      **bias,
                 GError           **error)
{
  g_autofree gchar *wname = g_strconcat (prefix, ".weight", NULL);
  g_autofree gchar *bname = g_strconcat (prefix, ".bias", NULL);
  *weight = *bias = NULL;
  if (!w->config.layer_norm_affine)
    return TRUE;
  return bind_vector (w, lookup, wname, w->config.n_embd, weight, error)
         && bind_vector (w, lookup, bname, w->config.n_embd, bias, error);
}

static gboolean
bind_layer (GillOptWeights    *w,
            const GillWeights *lookup,
            gint               i,
            GillOptLayer      *layer,
            GError           **error)
{
  const GillOptConfig *c = &w->config;
  g_autofree gchar *p = g_strdup_printf ("decoder.layers.%d.", i);
  g_autofree gchar *ln1 = g_strconcat (p, "self_attn_layer_norm", NULL);
  g_autofree gchar *q = g_strconcat (p, "self_attn.q_proj", NULL);
  g_autofree gchar *k = g_strconcat (p, "self_attn.k_proj", NULL);
  g_autofree gchar *v = g_strconcat (p, "self_attn.v_proj", NULL);
  g_autofree gchar *o = g_strconcat (p, "self_attn.out_proj", NULL);
  g_autofree gchar *ln2 = g_strconcat (p, "final_layer_norm", NULL);
  g_autofree gchar *fc1 = g_strconcat (p, "fc1", NULL);
  g_autofree gchar *fc2 = g_strconcat (p, "fc2", NULL);
  return bind_layer_norm (w, lookup, ln1, &layer->self_attn_layer_norm_weight, &layer->self_attn_layer_norm_bias, error)
         && bind_linear (w, lookup, q, c->n_embd, c->n_embd, c->bias, &layer->q_proj, error)
         && bind_linear (w, lookup, k, c->n_embd, c->n_embd, c->bias, &layer->k_proj, error)
         && bind_linear (w, lookup, v, c->n_embd, c->n_embd, c->bias, &layer->v_proj, error)
         && bind_linear (w, lookup, o, c->n_embd, c->n_embd, c->bias, &layer->out_proj, error)
         && bind_layer_norm (w, lookup, ln2, &layer->final_layer_norm_weight, &layer->final_layer_norm_bias, error)
         && bind_linear (w, lookup, fc1, c->n_ffn, c->n_embd, c->bias, &layer->fc1, error)
         && bind_linear (w, lookup, fc2, c->n_embd, c->n_ffn, c->bias, &layer->fc2, error);
}

GillOptWeights *
gill_opt_weights_bind (const GillOptConfig *config,
                       const GillWeights   *lookup,
                       GError             **error)
{
  g_return_val_if_fail (config != NULL && lookup != NULL, NULL);
  g_autoptr (GillOptWeights) w = g_new0 (GillOptWeights, 1);
  const GillOptConfig *c = &w->config;
  w->config = *config;
  w->owned = g_ptr_array_new_with_free_func (g_free);
  w->layers = g_new0 (GillOptLayer, config->n_layer);
  w->n_vocab = config->vocab_size;

  /* embeddings: decoder.embed_tokens [V, W] (the tied lm_head), decoder.embed_positions [n_ctx + 2, E] */
  gint64 pos_shape[2] = { c->n_ctx + GILL_OPT_POSITION_OFFSET, c->n_embd };
  if (!bind_matrix (lookup, "decoder.embed_tokens.weight", c->vocab_size, c->n_word_embd, &w->lm_head,
                    &w->embed_tokens, error))
    return NULL;
  w->embed_positions = gill_weights_get (lookup, "decoder.embed_positions.weight", 2, pos_shape, error);
  if (w->embed_positions == NULL)
    return NULL;
  if (!gill_tensor_is_contiguous (w->embed_positions))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "tensor 'decoder.embed_positions.weight' is stored as a strided view; re-save the checkpoint");
      return NULL;
    }
  /* 350m-style projections between the word embeddings and the stack */
  if (c->n_word_embd != c->n_embd
      && (!bind_linear (w, lookup, "decoder.project_in", c->n_embd, c->n_word_embd, FALSE, &w->project_in, error)
          || !bind_linear (w, lookup, "decoder.project_out", c->n_word_embd, c->n_embd, FALSE, &w->project_out, error)))
    return NULL;
  if (c->final_layer_norm
      && !bind_layer_norm (w, lookup, "decoder.final_layer_norm", &w->final_layer_norm_weight,
                           &w->final_layer_norm_bias, error))
    return NULL;
  for (gint i = 0; i < c->n_layer; i++)
    if (!bind_layer (w, lookup, i, &w->layers[i], error))
      return NULL;
  return g_steal_pointer (&w);
}

void
gill_opt_weights_free (GillOptWeights *weights)
{
  if (weights == NULL)
    return;
  g_free (weights->layers);
  g_ptr_array_unref (weights->owned);
  g_free (weights);
}

gboolean
gill_opt_weights_set_extra_tokens (GillOptWeights *weights,
                                   GillTensor     *rows,
                                   gint64          extra_from,
                                   GError        **error)
{
  g_return_val_if_fail (weights != NULL && rows != NULL, FALSE);
  const GillOptConfig *c = &weights->config;
  if (rows->n_dims != 2 || rows->shape[1] != c->n_word_embd || !gill_matrix_from_tensor (rows, &weights->extra_head))
    {
      g_autofree gchar *shape = gill_tensor_shape_string (rows);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "extra token rows: expected [n, %" G_GINT64_FORMAT "] contiguous f32/f16/bf16, found %s %s",
                   c->n_word_embd, shape, gill_dtype_name (rows->dtype));
      return FALSE;
    }
  if (extra_from < 0 || extra_from > c->vocab_size)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "extra token rows start at id %" G_GINT64_FORMAT "; they must start within the vocabulary (0..%" G_GINT64_FORMAT ")",
                   extra_from, c->vocab_size);
      return FALSE;
    }
  weights->extra_tokens = rows;
  weights->extra_from = extra_from;
  weights->n_vocab = MAX (c->vocab_size, extra_from + rows->shape[0]);
  return TRUE;
}

/* one linear weight replaced by its int8 copy (owned by the weights) */
static gboolean
quantize_matrix (GillOptWeights *w,
                 GillMatrix     *m,
                 GError        **error)
{
  if (m->data == NULL || m->dtype == GILL_DTYPE_I8)
    return TRUE;
  gsize n = (gsize) m->rows * (gsize) m->cols;
  gint8 *q = g_try_malloc (MAX (n, 1));
  if (q == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY,
                   "int8 weights: cannot allocate %.2f GB more; check the memory with gill_opt_check_memory first",
                   n / 1e9);
      return FALSE;
    }
  g_ptr_array_add (w->owned, q);
  float *scale = weights_own_floats (w, m->rows);
  gill_matrix_quantize_i8 (m, q, scale);
  *m = (GillMatrix) { GILL_DTYPE_I8, m->rows, m->cols, q, scale };
  return TRUE;
}

gboolean
gill_opt_weights_quantize_int8 (GillOptWeights *weights,
                                GError        **error)
{
  g_return_val_if_fail (weights != NULL, FALSE);
  for (gint64 i = 0; i < weights->config.n_layer; i++)
    {
      GillOptLayer *l = &weights->layers[i];
      GillOptLinear *linears[] = { &l->q_proj, &l->k_proj, &l->v_proj, &l->out_proj, &l->fc1, &l->fc2 };
      for (gsize j = 0; j < G_N_ELEMENTS (linears); j++)
        if (!quantize_matrix (weights, &linears[j]->weight, error))
          return FALSE;
    }
  return quantize_matrix (weights, &weights->project_in.weight, error)
         && quantize_matrix (weights, &weights->project_out.weight, error)
         && quantize_matrix (weights, &weights->lm_head, error)
         && quantize_matrix (weights, &weights->extra_head, error);
}

guint64
gill_opt_weights_decode_bytes (const GillOptWeights *w)
{
  guint64 bytes = gill_matrix_bytes (&w->lm_head);
  for (gint64 i = 0; i < w->config.n_layer; i++)
    {
      const GillOptLayer *l = &w->layers[i];
      bytes += gill_matrix_bytes (&l->q_proj.weight) + gill_matrix_bytes (&l->k_proj.weight)
               + gill_matrix_bytes (&l->v_proj.weight) + gill_matrix_bytes (&l->out_proj.weight)
               + gill_matrix_bytes (&l->fc1.weight) + gill_matrix_bytes (&l->fc2.weight);
    }
  if (w->project_in.weight.data)
    bytes += gill_matrix_bytes (&w->project_in.weight) + gill_matrix_bytes (&w->project_out.weight);
  return bytes;
}

/* ------------------------------------------------------------------ state */

/* the sizes of each buffer of a state, in floats */
typedef struct
{
  gsize cache, act, f, scores, scratch;
  gint64 rows;
} StateSizes;

static StateSizes
state_sizes (const GillOptConfig *c,
             gint64               max_batch,
             gint64               max_seq)
{
  StateSizes s;
  s.rows = max_batch * max_seq;
  s.cache = (gsize) c->n_layer * max_batch * max_seq * c->n_embd;
  s.act = (gsize) s.rows * MAX (c->n_embd, c->n_word_embd);
  s.f = (gsize) s.rows * MAX (c->n_ffn, c->n_word_embd);
  /* one head's [seq, P] scores (prefill), or every head's [seq, P] + [seq, D] at once (decode) */
  s.scores = MAX ((gsize) max_seq * max_seq,
                  (gsize) max_batch * c->n_head * GILL_MATVEC_MAX_N * (max_seq + c->n_embd / c->n_head));
  s.scratch = (gsize) MAX (c->n_ffn * c->n_embd, c->n_embd * c->n_word_embd);
  return s;
}

guint64
gill_opt_state_bytes (const GillOptConfig *config,
                      gint64               max_batch,
                      gint64               max_seq)
{
  StateSizes s = state_sizes (config, max_batch, max_seq);
  return sizeof (float) * (2 * s.cache + 4 * s.act + s.f + s.scores + s.scratch) + sizeof (gint64) * s.rows;
}

static float *
state_alloc (GillOptState *s,
             gsize         n,
             GError      **error)
{
  float *p = g_try_malloc0_n (MAX (n, 1), sizeof (float));
  if (p == NULL)
    g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY,
                 "OPT state: cannot allocate %.2f GB; use a shorter context or batch", n * 4.0 / 1e9);
  s->bytes += n * sizeof (float);
  return p;
}

GillOptState *
gill_opt_state_new (const GillOptConfig *config,
                    gint64               max_batch,
                    gint64               max_seq,
                    GError             **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  if (max_batch < 1 || max_seq < 1 || max_seq > config->n_ctx)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "OPT state: batch %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " positions; positions must be 1..%" G_GINT64_FORMAT
                   " (max_position_embeddings)", max_batch, max_seq, config->n_ctx);
      return NULL;
    }
  g_autoptr (GillOptState) s = g_new0 (GillOptState, 1);
  StateSizes z = state_sizes (config, max_batch, max_seq);
  s->config = *config;
  s->max_batch = max_batch;
  s->max_seq = max_seq;
  s->scratch_floats = z.scratch;
  if ((s->k_cache = state_alloc (s, z.cache, error)) == NULL || (s->v_cache = state_alloc (s, z.cache, error)) == NULL
      || (s->h = state_alloc (s, z.act, error)) == NULL || (s->a = state_alloc (s, z.act, error)) == NULL
      || (s->q = state_alloc (s, z.act, error)) == NULL || (s->o = state_alloc (s, z.act, error)) == NULL
      || (s->f = state_alloc (s, z.f, error)) == NULL || (s->scores = state_alloc (s, z.scores, error)) == NULL
      || (s->scratch = state_alloc (s, z.scratch, error)) == NULL)
    return NULL;
  s->positions = g_new0 (gint64, z.rows);
  s->bytes += z.rows * sizeof (gint64);
  return g_steal_pointer (&s);
}

void
gill_opt_state_free (GillOptState *state)
{
  if (state == NULL)
    return;
  g_free (state->k_cache);
  g_free (state->v_cache);
  g_free (state->h);
  g_free (state->a);
  g_free (state->q);
  g_free (state->o);
  g_free (state->f);
  g_free (state->scores);
  g_free (state->scratch);
  g_free (state->positions);
  g_free (state);
}

void
gill_opt_state_reset (GillOptState *state)
{
  state->n_past = 0;
}

/* ------------------------------------------------------------------ memory plan */

guint64
gill_opt_memory_needed (const GillOptConfig *c,
                        GillDType            dtype,
                        gint64               max_batch,
                        gint64               max_seq)
{
  guint64 e = c->n_embd, w = c->n_word_embd, f = c->n_ffn, v = c->vocab_size;
  guint64 params = gill_opt_config_n_params (c);
  /* linear layers, the embedding tables, and the small rest (biases, LayerNorms: f32 at bind) */
  guint64 linear = (guint64) c->n_layer * (4 * e * e + 2 * e * f) + (w != e ? 2 * e * w : 0);
  guint64 linear_rows = (guint64) c->n_layer * (5 * e + f) + (w != e ? e + w : 0);
  guint64 embed = v * w + (guint64) (c->n_ctx + GILL_OPT_POSITION_OFFSET) * e;
  guint64 small = 4 * (params - linear - embed);
  guint64 weights;
  if (dtype == GILL_DTYPE_I8)
    /* int8 linear layers and lm_head copy with a scale per row; embeddings stay 16-bit */
    weights = linear + 4 * linear_rows + 2 * embed + v * w + 4 * v + small;
  else
    weights = params * gill_dtype_size (dtype) + small;
  return weights + gill_opt_state_bytes (c, max_batch, max_seq);
}

gboolean
gill_opt_check_memory (const GillOptConfig *config,
                       GillDType            dtype,
                       gint64               max_batch,
                       gint64               max_seq,
                       guint64              available,
                       GError             **error)
{
  guint64 need = gill_opt_memory_needed (config, dtype, max_batch, max_seq);
  if (need <= available)
    return TRUE;
  /* the advice: the smaller dtypes that would fit */
  guint64 need_16 = gill_opt_memory_needed (config, GILL_DTYPE_F16, max_batch, max_seq);
  guint64 need_i8 = gill_opt_memory_needed (config, GILL_DTYPE_I8, max_batch, max_seq);
  g_autofree gchar *advice = NULL;
  if (dtype == GILL_DTYPE_F32 && need_16 <= available)
    advice = g_strdup_printf ("choose f16 or bf16 weights (%.1f GB) or int8 weights (--dtype int8, %.1f GB)",
                              need_16 / 1e9, need_i8 / 1e9);
  else if (dtype != GILL_DTYPE_I8 && need_i8 <= available)
    advice = g_strdup_printf ("choose int8 weights (--dtype int8, %.1f GB)", need_i8 / 1e9);
  else
    advice = g_strdup ("use a smaller model or a shorter context");
  g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY,
               "OPT with %.2f billion parameters in %s needs %.1f GB of memory (weights, cache and scratch) "
               "but %.1f GB is available; %s, or close other programs",
               gill_opt_config_n_params (config) / 1e9, dtype == GILL_DTYPE_I8 ? "int8" : gill_dtype_name (dtype),
               need / 1e9, available / 1e9, advice);
  return FALSE;
}

/* ------------------------------------------------------------------ small pure helpers */

/* one row of a 2-D contiguous float tensor as f32 */
static void
tensor_row_f32 (const GillTensor *t,
                gint64            row,
                float            *out)
{
  gint64 cols = t->shape[1];
  const guint8 *p = t->data + (gsize) row * (gsize) cols * gill_dtype_size (t->dtype);
  if (t->dtype == GILL_DTYPE_F16)
    gill_convert_f16_to_f32 (p, out, cols);
  else if (t->dtype == GILL_DTYPE_BF16)
    gill_convert_bf16_to_f32 (p, out, cols);
  else
    memcpy (out, p, sizeof (float) * cols);
}

gboolean
gill_opt_embed (const GillOptWeights *w,
                const gint64         *ids,
                gint64                n,
                float                *out,
                GError              **error)
{
  const gint64 width = w->config.n_word_embd;
  const gint64 n_extra = w->extra_tokens ? w->extra_tokens->shape[0] : 0;
  for (gint64 i = 0; i < n; i++)
    {
      gint64 id = ids[i];
      if (id >= w->extra_from && id < w->extra_from + n_extra)
        tensor_row_f32 (w->extra_tokens, id - w->extra_from, out + i * width);
      else if (id >= 0 && id < w->config.vocab_size)
        tensor_row_f32 (w->embed_tokens, id, out + i * width);
      else
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "token id %" G_GINT64_FORMAT " is outside the vocabulary (0..%" G_GINT64_FORMAT ")", id,
                       w->n_vocab - 1);
          return FALSE;
        }
    }
  return TRUE;
}

/* y[rows, out] = x W^T + b on the stored weight (fused kernels or widened GEMM) */
static void
opt_linear (const GillOptLinear *l,
            const float         *x,
            gint64               rows,
            float               *y,
            GillOptState        *s)
{
  gill_matrix_linear (&l->weight, x, rows, l->bias, y, l->weight.rows, s->scratch, s->scratch_floats);
}

static void
opt_layer_norm (const float *x,
                float       *y,
                gint64       rows,
                gint64       dim,
                const float *gamma,
                const float *beta)
{
  gill_nn_layer_norm (x, y, rows, dim, gamma, beta, GILL_OPT_LAYER_NORM_EPS);
}

static void
opt_activation (GillOptActivation act,
                float            *x,
                gint64            n)
{
  if (act == GILL_OPT_ACTIVATION_GELU)
    gill_nn_gelu (x, n);
  else
    gill_nn_relu (x, n);
}

/* mask[b, j] as 0/1, NULL meaning all 1 */
static inline gboolean
mask_on (const gint64 *mask,
         gint64        total,
         gint64        b,
         gint64        j)
{
  return mask == NULL || mask[b * total + j] != 0;
}

/* OPTLearnedPositionalEmbedding: positions = cumsum (mask) * mask - 1 over past + new, the last
 * seq of them; the table row is position + 2. FALSE when a row falls outside the table. */
static gboolean
opt_positions (const GillOptConfig *c,
               const gint64        *mask,
               gint64               batch,
               gint64               n_past,
               gint64               seq,
               gint64              *rows,
               GError             **error)
{
  gint64 total = n_past + seq;
  for (gint64 b = 0; b < batch; b++)
    {
      gint64 cum = 0;
      for (gint64 j = 0; j < total; j++)
        {
          gint64 m = mask_on (mask, total, b, j) ? 1 : 0;
          cum += m;
          if (j < n_past)
            continue;
          gint64 row = cum * m - 1 + GILL_OPT_POSITION_OFFSET;
          if (row >= c->n_ctx + GILL_OPT_POSITION_OFFSET)
            {
              g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                           "position %" G_GINT64_FORMAT " is past max_position_embeddings (%" G_GINT64_FORMAT ")",
                           row - GILL_OPT_POSITION_OFFSET, c->n_ctx);
              return FALSE;
            }
          rows[b * seq + j - n_past] = row;
        }
    }
  return TRUE;
}

/* keys or values of the new rows [R, E] into the cache at [layer, b, head, n_past + t, :] */
static void
opt_cache_store (const GillOptState *s,
                 float              *cache,
                 gint64              layer,
                 const float        *x,
                 gint64              batch,
                 gint64              seq)
{
  const GillOptConfig *c = &s->config;
  const gint64 d = c->n_embd / c->n_head;
  for (gint64 b = 0; b < batch; b++)
    for (gint64 h = 0; h < c->n_head; h++)
      {
        float *dst = cache + (((layer * s->max_batch + b) * c->n_head + h) * s->max_seq + s->n_past) * d;
        for (gint64 t = 0; t < seq; t++)
          memcpy (dst + t * d, x + (b * seq + t) * c->n_embd + h * d, sizeof (float) * d);
      }
}

/* OPTAttention over the cache: o = softmax (q K^T + mask, clamped at finfo.min) V, per sequence
 * and head; q [R, E] is already scaled, the cache holds P = n_past + seq positions */
static void
opt_attention (GillOptState *s,
               gint64        layer,
               const float  *q,
               float        *o,
               const gint64 *mask,
               gint64        batch,
               gint64        seq)
{
  const GillOptConfig *c = &s->config;
  const gint64 d = c->n_embd / c->n_head, total = s->n_past + seq;
  for (gint64 b = 0; b < batch; b++)
    for (gint64 h = 0; h < c->n_head; h++)
      {
        gsize at = (((layer * s->max_batch + b) * c->n_head + h) * s->max_seq) * d;
        const float *k = s->k_cache + at, *v = s->v_cache + at;
        const float *qh = q + b * seq * c->n_embd + h * d;
        float *oh = o + b * seq * c->n_embd + h * d;
        /* scores [seq, P] = q_h k_h^T */
        gill_gemm (FALSE, TRUE, seq, total, d, 1.0f, qh, c->n_embd, k, d, 0.0f, s->scores, total);
        /* + causal mask (key after query) + padding mask, each finfo.min, clamped at finfo.min */
        for (gint64 t = 0; t < seq; t++)
          {
            float *row = s->scores + t * total;
            gint64 i = s->n_past + t;
            for (gint64 j = 0; j < total; j++)
              {
                float m = (j > i ? OPT_MASK_MIN : 0.0f) + (mask_on (mask, total, b, j) ? 0.0f : OPT_MASK_MIN);
                row[j] = fmaxf (row[j] + m, OPT_MASK_MIN);
              }
          }
        gill_nn_softmax (s->scores, seq, total);
        /* o_h [seq, D] = p v_h */
        gill_gemm (FALSE, FALSE, seq, d, total, 1.0f, s->scores, total, v, d, 0.0f, oh, c->n_embd);
      }
}

/* the same for a few new positions (decode): per (sequence, head) the scores are a matrix–vector
 * product with the cached keys, run for all heads at once across the worker pool (a BLAS call
 * per head and position costs more than the arithmetic here) */
typedef struct
{
  GillOptState *s;
  gint64 layer;
  const float *q;
  float *o;
  const gint64 *mask;
  gint64 batch, seq;
} SmallAttention;

/* the region of s->scores that (b, h) works in: [seq, P] scores, then [seq, D] queries */
static float *
opt_attention_region (const SmallAttention *a,
                      gint64                pair)
{
  const GillOptConfig *c = &a->s->config;
  const gint64 d = c->n_embd / c->n_head;
  return a->s->scores + pair * GILL_MATVEC_MAX_N * (a->s->max_seq + d);
}

static void
opt_attention_small_task (gint     task,
                          gint     n_tasks,
                          gpointer data)
{
  const SmallAttention *a = data;
  GillOptState *s = a->s;
  const GillOptConfig *c = &s->config;
  const gint64 d = c->n_embd / c->n_head, total = s->n_past + a->seq, pairs = a->batch * c->n_head;
  for (gint64 pair = pairs * task / n_tasks; pair < pairs * (task + 1) / n_tasks; pair++)
    {
      gint64 b = pair / c->n_head, h = pair % c->n_head;
      gsize at = (((a->layer * s->max_batch + b) * c->n_head + h) * s->max_seq) * d;
      const float *v = s->v_cache + at;
      float *scores = opt_attention_region (a, pair), *qh = scores + a->seq * total;
      /* scores [seq, P] = q_h k_h^T: the keys [P, D] as a matrix times the queries */
      for (gint64 t = 0; t < a->seq; t++)
        memcpy (qh + t * d, a->q + (b * a->seq + t) * c->n_embd + h * d, sizeof (float) * d);
      GillMatrix keys = { GILL_DTYPE_F32, total, d, s->k_cache + at, NULL };
      gill_matvec (&keys, qh, a->seq, NULL, scores, total);
      /* + masks, clamped at finfo.min; softmax */
      for (gint64 t = 0; t < a->seq; t++)
        {
          float *row = scores + t * total;
          gint64 i = s->n_past + t;
          for (gint64 j = 0; j < total; j++)
            {
              float m = (j > i ? OPT_MASK_MIN : 0.0f) + (mask_on (a->mask, total, b, j) ? 0.0f : OPT_MASK_MIN);
              row[j] = fmaxf (row[j] + m, OPT_MASK_MIN);
            }
        }
      gill_nn_softmax (scores, a->seq, total);
      /* o_h [seq, D] = p v_h */
      for (gint64 t = 0; t < a->seq; t++)
        {
          float *oh = a->o + (b * a->seq + t) * c->n_embd + h * d;
          const float *p = scores + t * total;
          memset (oh, 0, sizeof (float) * d);
          for (gint64 j = 0; j < total; j++)
            for (gint64 e = 0; e < d; e++)
              oh[e] += p[j] * v[j * d + e];
        }
    }
}

static void
opt_attention_small (GillOptState *s,
                     gint64        layer,
                     const float  *q,
                     float        *o,
                     const gint64 *mask,
                     gint64        batch,
                     gint64        seq)
{
  SmallAttention a = { s, layer, q, o, mask, batch, seq };
  gint64 pairs = batch * s->config.n_head;
  gill_parallel_run ((gint) MIN (pairs, gill_parallel_threads ()), opt_attention_small_task, &a);
}

static void
opt_scale (float  *x,
           gint64  n,
           float   factor)
{
  for (gint64 i = 0; i < n; i++)
    x[i] *= factor;
}

static void
opt_copy_out (float       *dst,
              const float *src,
              gint64       n)
{
  if (dst)
    memcpy (dst, src, sizeof (float) * n);
}

/* logits [n, n_vocab] of n lm_head inputs [n, W]: the tied embedding rows, then the extra rows */
static void
opt_logits (const GillOptWeights *w,
            GillOptState         *s,
            const float          *x,
            gint64                n,
            float                *logits)
{
  GillMatrix base = w->lm_head;
  if (w->extra_tokens)
    base.rows = MIN (base.rows, w->extra_from);
  gill_matrix_linear (&base, x, n, NULL, logits, w->n_vocab, s->scratch, s->scratch_floats);
  if (w->extra_tokens)
    gill_matrix_linear (&w->extra_head, x, n, NULL, logits + w->extra_from, w->n_vocab, s->scratch,
                        s->scratch_floats);
}

/* ------------------------------------------------------------------ forward */

static gboolean
forward_check (const GillOptWeights *w,
               const GillOptState   *s,
               const GillOptInput   *in,
               GError              **error)
{
  if ((in->input_ids == NULL) == (in->inputs_embeds == NULL) || in->batch < 1 || in->seq < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "OPT forward: give either token ids or input embeddings, for at least one position");
      return FALSE;
    }
  if (in->batch > s->max_batch || s->n_past + in->seq > s->max_seq)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "OPT forward: %" G_GINT64_FORMAT " sequences of %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT
                   " positions do not fit the state (%" G_GINT64_FORMAT " x %" G_GINT64_FORMAT "); make a larger state",
                   in->batch, s->n_past, in->seq, s->max_batch, s->max_seq);
      return FALSE;
    }
  if (w->config.n_layer != s->config.n_layer || w->config.n_embd != s->config.n_embd
      || w->config.n_head != s->config.n_head || w->config.n_ffn != s->config.n_ffn
      || w->config.n_word_embd != s->config.n_word_embd)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT, "OPT forward: the state was made for another config");
      return FALSE;
    }
  for (gint64 i = 0; in->attention_mask && i < in->batch * (s->n_past + in->seq); i++)
    if (in->attention_mask[i] != 0 && in->attention_mask[i] != 1)
      {
        g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                     "OPT forward: attention_mask holds %" G_GINT64_FORMAT "; only 0 and 1 are allowed",
                     in->attention_mask[i]);
        return FALSE;
      }
  return TRUE;
}

gboolean
gill_opt_forward (const GillOptWeights *w,
                  GillOptState         *s,
                  const GillOptInput   *in,
                  GillOptOutput        *out,
                  GError              **error)
{
  g_return_val_if_fail (w != NULL && s != NULL && in != NULL && out != NULL, FALSE);
  if (!forward_check (w, s, in, error))
    return FALSE;
  const GillOptConfig *c = &w->config;
  const gint64 B = in->batch, T = in->seq, R = B * T, E = c->n_embd, W = c->n_word_embd, F = c->n_ffn;
  const float scaling = 1.0f / sqrtf ((float) (E / c->n_head));
  float **hs = out->hidden_states;

  /* positions [B, T]: cumsum (mask) * mask - 1 + 2 over past + new */
  if (!opt_positions (c, in->attention_mask, B, s->n_past, T, s->positions, error))
    return FALSE;
  /* x [R, W] = embed_tokens[ids] (or the given embeddings) */
  float *x = s->f;
  if (in->inputs_embeds)
    memcpy (x, in->inputs_embeds, sizeof (float) * R * W);
  else if (!gill_opt_embed (w, in->input_ids, R, x, error))
    return FALSE;
  /* h [R, E] = project_in (x) (350m-style) or x */
  if (w->project_in.weight.data)
    opt_linear (&w->project_in, x, R, s->h, s);
  else
    memcpy (s->h, x, sizeof (float) * R * E);
  /* h += embed_positions[position + 2] */
  for (gint64 r = 0; r < R; r++)
    {
      tensor_row_f32 (w->embed_positions, s->positions[r], s->a);
      gill_nn_add (s->h + r * E, s->a, E);
    }
  if (hs && c->n_layer > 0)
    opt_copy_out (hs[0], s->h, R * E);

  for (gint64 l = 0; l < c->n_layer; l++)
    {
      const GillOptLayer *L = &w->layers[l];
      /* attention block: a = self_attn_layer_norm (h) first when pre-LN */
      const float *in_attn = s->h;
      if (c->layer_norm_before)
        {
          opt_layer_norm (s->h, s->a, R, E, L->self_attn_layer_norm_weight, L->self_attn_layer_norm_bias);
          in_attn = s->a;
        }
      /* q [R, E] = q_proj (a) * head_dim^-0.5 (after the bias, as the reference) */
      opt_linear (&L->q_proj, in_attn, R, s->q, s);
      opt_scale (s->q, R * E, scaling);
      /* k, v [R, E] = k_proj (a), v_proj (a) -> cache [B, H, n_past + t, D] */
      opt_linear (&L->k_proj, in_attn, R, s->o, s);
      opt_cache_store (s, s->k_cache, l, s->o, B, T);
      opt_linear (&L->v_proj, in_attn, R, s->o, s);
      opt_cache_store (s, s->v_cache, l, s->o, B, T);
      /* o [R, E] = softmax (q k^T + mask) v, heads concatenated */
      if (T <= GILL_MATVEC_MAX_N)
        opt_attention_small (s, l, s->q, s->o, in->attention_mask, B, T);
      else
        opt_attention (s, l, s->q, s->o, in->attention_mask, B, T);
      /* h = h + out_proj (o) */
      opt_linear (&L->out_proj, s->o, R, s->a, s);
      gill_nn_add (s->h, s->a, R * E);
      /* post-LN: h = self_attn_layer_norm (h) */
      if (!c->layer_norm_before)
        opt_layer_norm (s->h, s->h, R, E, L->self_attn_layer_norm_weight, L->self_attn_layer_norm_bias);

      /* feed-forward block: a = final_layer_norm (h) first when pre-LN */
      const float *in_ffn = s->h;
      if (c->layer_norm_before)
        {
          opt_layer_norm (s->h, s->a, R, E, L->final_layer_norm_weight, L->final_layer_norm_bias);
          in_ffn = s->a;
        }
      /* f [R, F] = relu (fc1 (a)) */
      opt_linear (&L->fc1, in_ffn, R, s->f, s);
      opt_activation (c->activation, s->f, R * F);
      /* h = h + fc2 (f) */
      opt_linear (&L->fc2, s->f, R, s->a, s);
      gill_nn_add (s->h, s->a, R * E);
      /* post-LN: h = final_layer_norm (h) */
      if (!c->layer_norm_before)
        opt_layer_norm (s->h, s->h, R, E, L->final_layer_norm_weight, L->final_layer_norm_bias);

      if (hs && l + 1 < c->n_layer)
        opt_copy_out (hs[l + 1], s->h, R * E);
      if (!gill_progress_report (in->progress, in->progress_data, (double) (l + 1) / c->n_layer, "opt", error))
        return FALSE;
    }

  /* the lm_head input [R, W]: final_layer_norm (h) (pre-LN), then project_out (350m-style) */
  const float *top = s->h;
  if (c->final_layer_norm)
    {
      opt_layer_norm (s->h, s->a, R, E, w->final_layer_norm_weight, w->final_layer_norm_bias);
      top = s->a;
    }
  if (w->project_out.weight.data)
    {
      opt_linear (&w->project_out, top, R, s->f, s);
      top = s->f;
    }
  if (hs)
    opt_copy_out (hs[c->n_layer], top, R * W);

  /* logits = top embed_tokens^T (tied, no bias): every position, or each sequence's last */
  if (out->logits_rows == GILL_OPT_LOGITS_ALL && out->logits)
    opt_logits (w, s, top, R, out->logits);
  else if (out->logits_rows == GILL_OPT_LOGITS_LAST && out->logits)
    {
      float *last = s->q; /* [B, W] */
      for (gint64 b = 0; b < B; b++)
        memcpy (last + b * W, top + (b * T + T - 1) * W, sizeof (float) * W);
      opt_logits (w, s, last, B, out->logits);
    }
  s->n_past += T;
  return TRUE;
}
