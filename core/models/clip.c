/* clip.c — CLIP's vision and text towers (see clip.h).
 *
 * Reference: transformers 4.30.2 models/clip/modeling_clip.py — CLIPVisionEmbeddings,
 * CLIPTextEmbeddings, CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder,
 * CLIPVisionTransformer, CLIPTextTransformer, CLIPModel; configuration_clip.py for the configs;
 * activations.py (QuickGELUActivation). models.md §2.1-2.4. */
#include "core/models/clip.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/ops/convert.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"

/* ------------------------------------------------------------------ config */

static void
clip_encoder_config_default (GillClipEncoderConfig *config,
                             gint64                 hidden_size,
                             gint64                 intermediate_size,
                             gint64                 num_attention_heads)
{
  config->hidden_size = hidden_size;
  config->intermediate_size = intermediate_size;
  config->num_hidden_layers = 12;
  config->num_attention_heads = num_attention_heads;
  config->layer_norm_eps = 1e-5f;
  config->hidden_act = GILL_CLIP_ACTIVATION_QUICK_GELU;
}

void
gill_clip_vision_config_default (GillClipVisionConfig *config)
{
  /* CLIPVisionConfig () */
  clip_encoder_config_default (&config->encoder, 768, 3072, 12);
  config->image_size = 224;
  config->patch_size = 32;
  config->num_channels = 3;
  config->projection_dim = 512;
}

void
gill_clip_text_config_default (GillClipTextConfig *config)
{
  /* CLIPTextConfig () */
  clip_encoder_config_default (&config->encoder, 512, 2048, 8);
  config->vocab_size = 49408;
  config->max_position_embeddings = 77;
  config->projection_dim = 512;
}

gboolean
gill_clip_vision_config_preset (const gchar          *name,
                                GillClipVisionConfig *config,
                                GError              **error)
{
  gill_clip_vision_config_default (config);
  if (g_strcmp0 (name, "vit-l-14") == 0)
    {
      config->encoder.hidden_size = 1024;
      config->encoder.intermediate_size = 4096;
      config->encoder.num_hidden_layers = 24;
      config->encoder.num_attention_heads = 16;
      config->patch_size = 14;
      config->projection_dim = 768;
      return TRUE;
    }
  if (g_strcmp0 (name, "vit-b-32") == 0 || g_strcmp0 (name, "vit-b-16") == 0)
    {
      config->patch_size = g_str_equal (name, "vit-b-32") ? 32 : 16;
      return TRUE;
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "CLIP preset '%s' is not known; use vit-l-14, vit-b-32 or vit-b-16", name ? name : "(null)");
  return FALSE;
}

gboolean
gill_clip_text_config_preset (const gchar        *name,
                              GillClipTextConfig *config,
                              GError            **error)
{
  gill_clip_text_config_default (config);
  if (g_strcmp0 (name, "vit-l-14") == 0)
    {
      config->encoder.hidden_size = 768;
      config->encoder.intermediate_size = 3072;
      config->encoder.num_hidden_layers = 12;
      config->encoder.num_attention_heads = 12;
      config->projection_dim = 768;
      return TRUE;
    }
  if (g_strcmp0 (name, "vit-b-32") == 0 || g_strcmp0 (name, "vit-b-16") == 0)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "CLIP preset '%s' is not known; use vit-l-14, vit-b-32 or vit-b-16", name ? name : "(null)");
  return FALSE;
}

static gboolean
config_bad (const gchar *file,
            const gchar *key,
            const gchar *what,
            GError     **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: \"%s\" is not %s; is this a CLIP config?", file, key, what);
  return FALSE;
}

/* an optional positive integer member */
static gboolean
config_read_int (JsonObject  *json,
                 const gchar *file,
                 const gchar *key,
                 gint64      *out,
                 GError     **error)
{
  JsonNode *node = json_object_get_member (json, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) <= 0
      || json_node_get_int (node) > G_MAXINT32)
    return config_bad (file, key, "a positive integer", error);
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
config_read_encoder (JsonObject            *json,
                     const gchar           *file,
                     GillClipEncoderConfig *config,
                     GError               **error)
{
  if (!config_read_int (json, file, "hidden_size", &config->hidden_size, error)
      || !config_read_int (json, file, "intermediate_size", &config->intermediate_size, error)
      || !config_read_int (json, file, "num_hidden_layers", &config->num_hidden_layers, error)
      || !config_read_int (json, file, "num_attention_heads", &config->num_attention_heads, error))
    return FALSE;
  JsonNode *eps = json_object_get_member (json, "layer_norm_eps");
  if (eps && !JSON_NODE_HOLDS_NULL (eps))
    {
      if (!JSON_NODE_HOLDS_VALUE (eps)
          || (json_node_get_value_type (eps) != G_TYPE_DOUBLE && json_node_get_value_type (eps) != G_TYPE_INT64))
        return config_bad (file, "layer_norm_eps", "a number", error);
      double v = json_node_get_value_type (eps) == G_TYPE_DOUBLE ? json_node_get_double (eps)
                                                                  : (double) json_node_get_int (eps);
      if (!(v > 0 && v < 1))
        return config_bad (file, "layer_norm_eps", "a small positive number", error);
      config->layer_norm_eps = (float) v;
    }
  JsonNode *act = json_object_get_member (json, "hidden_act");
  if (act && !JSON_NODE_HOLDS_NULL (act))
    {
      if (!JSON_NODE_HOLDS_VALUE (act) || json_node_get_value_type (act) != G_TYPE_STRING)
        return config_bad (file, "hidden_act", "a string", error);
      const gchar *name = json_node_get_string (act);
      if (g_str_equal (name, "quick_gelu"))
        config->hidden_act = GILL_CLIP_ACTIVATION_QUICK_GELU;
      else if (g_str_equal (name, "gelu"))
        config->hidden_act = GILL_CLIP_ACTIVATION_GELU;
      else
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                       "%s: hidden_act \"%s\" is not supported; CLIP uses quick_gelu or gelu", file, name);
          return FALSE;
        }
    }
  if (config->hidden_size % config->num_attention_heads != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: hidden_size %" G_GINT64_FORMAT " is not a multiple of num_attention_heads %" G_GINT64_FORMAT,
                   file, config->hidden_size, config->num_attention_heads);
      return FALSE;
    }
  return TRUE;
}

/* the object holding one tower's keys: CLIPConfig's <tower>_config_dict (which, as 4.30.2 does,
 * replaces <tower>_config entirely when present) or <tower>_config; a tower config itself; or
 * NULL for a config of the other tower. *from_clip_model tells whether projection_dim is the
 * top-level one. */
static JsonObject *
config_tower (JsonObject  *json,
              const gchar *tower,      /* "vision" or "text" */
              gboolean    *from_clip_model)
{
  g_autofree gchar *dict_key = g_strdup_printf ("%s_config_dict", tower);
  g_autofree gchar *key = g_strdup_printf ("%s_config", tower);
  g_autofree gchar *own_type = g_strdup_printf ("clip_%s_model", tower);
  *from_clip_model = FALSE;
  JsonNode *dict = json_object_get_member (json, dict_key);
  JsonNode *sub = json_object_get_member (json, key);
  if ((dict && JSON_NODE_HOLDS_OBJECT (dict)) || (sub && JSON_NODE_HOLDS_OBJECT (sub)))
    {
      *from_clip_model = TRUE;
      return json_node_get_object (dict && JSON_NODE_HOLDS_OBJECT (dict) ? dict : sub);
    }
  JsonNode *type = json_object_get_member (json, "model_type");
  if (type && JSON_NODE_HOLDS_VALUE (type) && json_node_get_value_type (type) == G_TYPE_STRING
      && g_str_has_prefix (json_node_get_string (type), "clip_")
      && !g_str_equal (json_node_get_string (type), own_type))
    return NULL;
  return json;
}

gboolean
gill_clip_vision_config_from_json (JsonObject           *json,
                                   const gchar          *file,
                                   GillClipVisionConfig *config,
                                   GError              **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  gboolean from_clip_model;
  JsonObject *tower = config_tower (json, "vision", &from_clip_model);
  if (tower == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: a CLIP text model's config; the vision tower needs a CLIPModel or CLIPVisionModel", file);
      return FALSE;
    }
  if (!config_read_encoder (tower, file, &config->encoder, error)
      || !config_read_int (tower, file, "image_size", &config->image_size, error)
      || !config_read_int (tower, file, "patch_size", &config->patch_size, error)
      || !config_read_int (tower, file, "num_channels", &config->num_channels, error)
      || !config_read_int (from_clip_model ? json : tower, file, "projection_dim", &config->projection_dim, error))
    return FALSE;
  if (config->image_size % config->patch_size != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: image_size %" G_GINT64_FORMAT " is not a multiple of patch_size %" G_GINT64_FORMAT, file,
                   config->image_size, config->patch_size);
      return FALSE;
    }
  return TRUE;
}

gboolean
gill_clip_text_config_from_json (JsonObject         *json,
                                 const gchar        *file,
                                 GillClipTextConfig *config,
                                 GError            **error)
{
  g_return_val_if_fail (json != NULL && config != NULL, FALSE);
  gboolean from_clip_model;
  JsonObject *tower = config_tower (json, "text", &from_clip_model);
  if (tower == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: a CLIP vision model's config; the text tower needs a CLIPModel or CLIPTextModel", file);
      return FALSE;
    }
  return config_read_encoder (tower, file, &config->encoder, error)
         && config_read_int (tower, file, "vocab_size", &config->vocab_size, error)
         && config_read_int (tower, file, "max_position_embeddings", &config->max_position_embeddings, error)
         && config_read_int (from_clip_model ? json : tower, file, "projection_dim", &config->projection_dim, error);
}

/* one encoder layer's multiply-accumulates over t tokens */
static double
clip_layer_macs (const GillClipEncoderConfig *e,
                 double                       t)
{
  double d = (double) e->hidden_size, i = (double) e->intermediate_size;
  return 4 * t * d * d      /* q, k, v, out_proj */
         + 2 * t * t * d    /* q k^T and p v */
         + 2 * t * d * i;   /* fc1, fc2 */
}

double
gill_clip_vision_flops (const GillClipVisionConfig *config)
{
  double grid = (double) (config->image_size / config->patch_size);
  double patch = (double) (config->num_channels * config->patch_size * config->patch_size);
  double d = (double) config->encoder.hidden_size;
  double macs = grid * grid * patch * d                                          /* patch conv */
                + config->encoder.num_hidden_layers * clip_layer_macs (&config->encoder, grid * grid + 1)
                + d * (double) config->projection_dim;                           /* projection */
  return 2 * macs;
}

double
gill_clip_text_flops (const GillClipTextConfig *config,
                      gint64                    n_tokens)
{
  double d = (double) config->encoder.hidden_size;
  double macs = config->encoder.num_hidden_layers * clip_layer_macs (&config->encoder, (double) n_tokens)
                + d * (double) config->projection_dim;
  return 2 * macs;
}

/* ------------------------------------------------------------------ weights */

/* a float vector or small table as f32: in place when the file holds aligned f32, else a
 * widened copy kept in `owned` */
static const float *
bind_f32 (const GillWeights *lookup,
          GPtrArray         *owned,
          gint               n_dims,
          const gint64      *shape,
          const gchar       *name,
          GError           **error)
{
  GillTensor *t = gill_weights_get (lookup, name, n_dims, shape, error);
  if (t == NULL)
    return NULL;
  if (!gill_tensor_needs_widening (t))
    return (const float *) t->data;
  float *copy = g_new (float, gill_tensor_numel (t));
  gill_tensor_copy_f32 (t, copy);
  g_ptr_array_add (owned, copy);
  return copy;
}

static gboolean
bind_layer (const GillClipEncoderConfig *config,
            const GillWeights           *lookup,
            GPtrArray                   *owned,
            const gchar                 *tower,  /* "vision_model" or "text_model" */
            gint                         index,
            GillClipLayer               *layer,
            GError                     **error)
{
  gint64 d = config->hidden_size, inner = config->intermediate_size;
  gint64 dd[2] = { d, d }, fc1[2] = { inner, d }, fc2[2] = { d, inner }, vd[1] = { d }, vi[1] = { inner };
  g_autofree gchar *p = g_strdup_printf ("%s.encoder.layers.%d.", tower, index);
  struct
  {
    const gchar *name;
    gint n_dims;
    const gint64 *shape;
    GillTensor **matrix;
    const float **vector;
  } params[] = {
    { "layer_norm1.weight", 1, vd, NULL, &layer->layer_norm1_weight },
    { "layer_norm1.bias", 1, vd, NULL, &layer->layer_norm1_bias },
    { "self_attn.q_proj.weight", 2, dd, &layer->q_proj_weight, NULL },
    { "self_attn.q_proj.bias", 1, vd, NULL, &layer->q_proj_bias },
    { "self_attn.k_proj.weight", 2, dd, &layer->k_proj_weight, NULL },
    { "self_attn.k_proj.bias", 1, vd, NULL, &layer->k_proj_bias },
    { "self_attn.v_proj.weight", 2, dd, &layer->v_proj_weight, NULL },
    { "self_attn.v_proj.bias", 1, vd, NULL, &layer->v_proj_bias },
    { "self_attn.out_proj.weight", 2, dd, &layer->out_proj_weight, NULL },
    { "self_attn.out_proj.bias", 1, vd, NULL, &layer->out_proj_bias },
    { "layer_norm2.weight", 1, vd, NULL, &layer->layer_norm2_weight },
    { "layer_norm2.bias", 1, vd, NULL, &layer->layer_norm2_bias },
    { "mlp.fc1.weight", 2, fc1, &layer->fc1_weight, NULL },
    { "mlp.fc1.bias", 1, vi, NULL, &layer->fc1_bias },
    { "mlp.fc2.weight", 2, fc2, &layer->fc2_weight, NULL },
    { "mlp.fc2.bias", 1, vd, NULL, &layer->fc2_bias },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_autofree gchar *name = g_strconcat (p, params[i].name, NULL);
      if (params[i].matrix)
        *params[i].matrix = gill_weights_get (lookup, name, params[i].n_dims, params[i].shape, error);
      else
        *params[i].vector = bind_f32 (lookup, owned, params[i].n_dims, params[i].shape, name, error);
      if (params[i].matrix ? *params[i].matrix == NULL : *params[i].vector == NULL)
        return FALSE;
    }
  return TRUE;
}

/* an optional projection [projection_dim, D]: absent is fine, present must have the shape */
static gboolean
bind_projection (const GillWeights *lookup,
                 const gchar       *name,
                 gint64             projection_dim,
                 gint64             hidden_size,
                 GillTensor       **out,
                 GError           **error)
{
  *out = NULL;
  if (!gill_weights_has (lookup, name))
    return TRUE;
  gint64 shape[2] = { projection_dim, hidden_size };
  *out = gill_weights_get (lookup, name, 2, shape, error);
  return *out != NULL;
}

GillClipVisionWeights *
gill_clip_vision_weights_bind (const GillClipVisionConfig *config,
                               const GillWeights          *lookup,
                               GError                    **error)
{
  g_return_val_if_fail (config != NULL && lookup != NULL, NULL);
  g_autoptr (GillClipVisionWeights) w = g_new0 (GillClipVisionWeights, 1);
  w->config = *config;
  w->owned = g_ptr_array_new_with_free_func (g_free);
  w->layers = g_new0 (GillClipLayer, config->encoder.num_hidden_layers);
  gint64 d = config->encoder.hidden_size, p = config->patch_size;
  gint64 grid = config->image_size / p;
  gint64 vd[1] = { d }, patch[4] = { d, config->num_channels, p, p }, pos[2] = { grid * grid + 1, d };

  w->class_embedding = bind_f32 (lookup, w->owned, 1, vd, "vision_model.embeddings.class_embedding", error);
  if (w->class_embedding == NULL
      || (w->patch_embedding = gill_weights_get (lookup, "vision_model.embeddings.patch_embedding.weight", 4, patch,
                                                 error)) == NULL
      || (w->position_embedding = bind_f32 (lookup, w->owned, 2, pos,
                                            "vision_model.embeddings.position_embedding.weight", error)) == NULL
      || (w->pre_layrnorm_weight = bind_f32 (lookup, w->owned, 1, vd, "vision_model.pre_layrnorm.weight", error)) == NULL
      || (w->pre_layrnorm_bias = bind_f32 (lookup, w->owned, 1, vd, "vision_model.pre_layrnorm.bias", error)) == NULL)
    return NULL;
  for (gint l = 0; l < config->encoder.num_hidden_layers; l++)
    if (!bind_layer (&config->encoder, lookup, w->owned, "vision_model", l, &w->layers[l], error))
      return NULL;
  if ((w->post_layernorm_weight = bind_f32 (lookup, w->owned, 1, vd, "vision_model.post_layernorm.weight", error)) == NULL
      || (w->post_layernorm_bias = bind_f32 (lookup, w->owned, 1, vd, "vision_model.post_layernorm.bias", error)) == NULL
      || !bind_projection (lookup, "visual_projection.weight", config->projection_dim, d, &w->visual_projection, error))
    return NULL;
  return g_steal_pointer (&w);
}

void
gill_clip_vision_weights_free (GillClipVisionWeights *weights)
{
  if (weights == NULL)
    return;
  g_free (weights->layers);
  g_clear_pointer (&weights->owned, g_ptr_array_unref);
  g_free (weights);
}

GillClipTextWeights *
gill_clip_text_weights_bind (const GillClipTextConfig *config,
                             const GillWeights        *lookup,
                             GError                  **error)
{
  g_return_val_if_fail (config != NULL && lookup != NULL, NULL);
  g_autoptr (GillClipTextWeights) w = g_new0 (GillClipTextWeights, 1);
  w->config = *config;
  w->owned = g_ptr_array_new_with_free_func (g_free);
  w->layers = g_new0 (GillClipLayer, config->encoder.num_hidden_layers);
  gint64 d = config->encoder.hidden_size;
  gint64 vd[1] = { d }, tok[2] = { config->vocab_size, d }, pos[2] = { config->max_position_embeddings, d };

  if ((w->token_embedding = gill_weights_get (lookup, "text_model.embeddings.token_embedding.weight", 2, tok,
                                              error)) == NULL
      || (w->position_embedding = bind_f32 (lookup, w->owned, 2, pos, "text_model.embeddings.position_embedding.weight",
                                            error)) == NULL)
    return NULL;
  for (gint l = 0; l < config->encoder.num_hidden_layers; l++)
    if (!bind_layer (&config->encoder, lookup, w->owned, "text_model", l, &w->layers[l], error))
      return NULL;
  if ((w->final_layer_norm_weight = bind_f32 (lookup, w->owned, 1, vd, "text_model.final_layer_norm.weight",
                                              error)) == NULL
      || (w->final_layer_norm_bias = bind_f32 (lookup, w->owned, 1, vd, "text_model.final_layer_norm.bias",
                                               error)) == NULL
      || !bind_projection (lookup, "text_projection.weight", config->projection_dim, d, &w->text_projection, error))
    return NULL;
  return g_steal_pointer (&w);
}

void
gill_clip_text_weights_free (GillClipTextWeights *weights)
{
  if (weights == NULL)
    return;
  g_free (weights->layers);
  g_clear_pointer (&weights->owned, g_ptr_array_unref);
  g_free (weights);
}

gboolean
gill_clip_logit_scale (const GillWeights *lookup,
                       float             *logit_scale,
                       GError           **error)
{
  GillTensor *t = gill_weights_get (lookup, "logit_scale", 0, NULL, error);
  if (t == NULL)
    return FALSE;
  gill_tensor_copy_f32 (t, logit_scale);
  return TRUE;
}

/* ------------------------------------------------------------------ state */

static GillClipState *
clip_state_new (const GillClipEncoderConfig *e,
                gint64                       max_batch,
                gint64                       max_tokens,
                gint64                       f_width,      /* floats per token in f */
                gsize                        scratch_floats,
                GError                     **error)
{
  g_return_val_if_fail (max_batch > 0, NULL);
  gint64 d = e->hidden_size;
  gsize rows = (gsize) max_batch * (gsize) max_tokens;
  gsize sizes[] = {
    rows * d, rows * d, rows * d, rows * d, rows * d, rows * d,  /* x h q k v o */
    rows * (gsize) f_width,                                      /* f */
    (gsize) max_tokens * (gsize) max_tokens,                     /* scores */
    (gsize) max_batch * (gsize) d,                               /* pooled */
    scratch_floats,                                              /* scratch */
  };
  gsize total = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  float *block = g_try_new (float, total);
  if (block == NULL)
    {
      g_autofree gchar *human = g_format_size_full (total * sizeof (float), G_FORMAT_SIZE_IEC_UNITS);
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY,
                   "CLIP: cannot allocate %s of activations for a batch of %" G_GINT64_FORMAT "; use a smaller batch",
                   human, max_batch);
      return NULL;
    }
  GillClipState *s = g_new0 (GillClipState, 1);
  s->max_batch = max_batch;
  s->max_tokens = max_tokens;
  s->width = d;
  s->n_inner = e->intermediate_size;
  float **slots[] = { &s->x, &s->h, &s->q, &s->k, &s->v, &s->o, &s->f, &s->scores, &s->pooled, &s->scratch };
  float *at = block;
  for (gsize i = 0; i < G_N_ELEMENTS (slots); i++)
    {
      *slots[i] = at;
      at += sizes[i];
    }
  s->scratch_floats = scratch_floats;
  s->bytes = total * sizeof (float);
  return s;
}

/* the largest matrix one layer (or the embeddings / projection) widens */
static gsize
clip_scratch_floats (const GillClipEncoderConfig *e,
                     gint64                       other_rows,
                     gint64                       other_cols)
{
  gsize d = (gsize) e->hidden_size, inner = (gsize) e->intermediate_size;
  return MAX (MAX (d * d, d * inner), (gsize) other_rows * (gsize) other_cols);
}

GillClipState *
gill_clip_state_new_vision (const GillClipVisionConfig *config,
                            gint64                      max_batch,
                            GError                    **error)
{
  gint64 grid = config->image_size / config->patch_size;
  gint64 patch = config->num_channels * config->patch_size * config->patch_size;
  gint64 d = config->encoder.hidden_size;
  gsize scratch = clip_scratch_floats (&config->encoder, d, MAX (patch, config->projection_dim));
  return clip_state_new (&config->encoder, max_batch, grid * grid + 1, MAX (config->encoder.intermediate_size, patch),
                         scratch, error);
}

GillClipState *
gill_clip_state_new_text (const GillClipTextConfig *config,
                          gint64                    max_batch,
                          GError                  **error)
{
  gsize scratch = clip_scratch_floats (&config->encoder, config->projection_dim, config->encoder.hidden_size);
  return clip_state_new (&config->encoder, max_batch, config->max_position_embeddings,
                         config->encoder.intermediate_size, scratch, error);
}

void
gill_clip_state_free (GillClipState *state)
{
  if (state == NULL)
    return;
  g_free (state->x); /* the block's start */
  g_free (state);
}

/* ------------------------------------------------------------------ blocks */

/* y[rows, out] = x[rows, in] W^T + b; W widened into the state's scratch when not f32 */
static void
clip_linear (GillClipState    *s,
             const float      *x,
             gint64            rows,
             const GillTensor *weight,  /* [out, in] */
             const float      *bias,    /* [out] or NULL */
             float            *y)
{
  const float *w = gill_tensor_as_f32 (weight, s->scratch);
  gill_gemm_linear (x, rows, weight->shape[1], w, bias, weight->shape[0], y);
}

/* y[rows, out] += x[rows, in] W^T + b: a linear straight into the residual stream */
static void
clip_linear_residual (GillClipState    *s,
                      const float      *x,
                      gint64            rows,
                      const GillTensor *weight,
                      const float      *bias,
                      float            *y)
{
  gint64 out = weight->shape[0], in = weight->shape[1];
  const float *w = gill_tensor_as_f32 (weight, s->scratch);
  gill_nn_add_bias (y, bias, rows, out);
  gill_gemm (FALSE, TRUE, rows, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

/* o = softmax (q k^T (+ causal mask)) v for every sequence and head; q is already scaled.
 * q, k, v, o: [batch, t, heads x head_dim]; the scores of one head live in s->scores [t, t]. */
static void
clip_attention (GillClipState *s,
                gint64         batch,
                gint64         t,
                gint64         n_head,
                gboolean       causal)
{
  gint64 d = s->width, hd = d / n_head;
  for (gint64 b = 0; b < batch; b++)
    for (gint64 h = 0; h < n_head; h++)
      {
        gsize at = (gsize) b * t * d + (gsize) h * hd;
        /* scores [t, t] = q_h k_h^T */
        gill_gemm (FALSE, TRUE, t, t, hd, 1.0f, s->q + at, d, s->k + at, d, 0.0f, s->scores, t);
        /* the causal mask: key j > query i is never seen (CLIPTextTransformer's causal mask) */
        if (causal)
          for (gint64 i = 0; i < t; i++)
            for (gint64 j = i + 1; j < t; j++)
              s->scores[i * t + j] = -INFINITY;
        gill_nn_softmax (s->scores, t, t);
        /* o_h [t, hd] = p v_h */
        gill_gemm (FALSE, FALSE, t, hd, t, 1.0f, s->scores, t, s->v + at, d, 0.0f, s->o + at, d);
      }
}

static void
clip_activation (GillClipActivation act,
                 float             *x,
                 gint64             n)
{
  if (act == GILL_CLIP_ACTIVATION_GELU)
    gill_nn_gelu (x, n);
  else
    gill_nn_quick_gelu (x, n);
}

/* CLIPEncoderLayer on the residual stream s->x [batch, t, D] */
static void
clip_encoder_layer (const GillClipEncoderConfig *e,
                    const GillClipLayer         *w,
                    GillClipState               *s,
                    gint64                       batch,
                    gint64                       t,
                    gboolean                     causal)
{
  gint64 d = e->hidden_size, rows = batch * t;
  float scale = 1.0f / sqrtf ((float) (d / e->num_attention_heads));

  /* h = layer_norm1 (x)                                                   [B·T, D] */
  gill_nn_layer_norm (s->x, s->h, rows, d, w->layer_norm1_weight, w->layer_norm1_bias, e->layer_norm_eps);
  /* q = q_proj (h) · head_dim^-0.5, k = k_proj (h), v = v_proj (h)        [B·T, D] each */
  clip_linear (s, s->h, rows, w->q_proj_weight, w->q_proj_bias, s->q);
  for (gint64 i = 0; i < rows * d; i++)
    s->q[i] *= scale;
  clip_linear (s, s->h, rows, w->k_proj_weight, w->k_proj_bias, s->k);
  clip_linear (s, s->h, rows, w->v_proj_weight, w->v_proj_bias, s->v);
  /* o = softmax (q k^T + mask) v, per sequence and head                   [B·T, D] */
  clip_attention (s, batch, t, e->num_attention_heads, causal);
  /* x = x + out_proj (o)                                                   [B·T, D] */
  clip_linear_residual (s, s->o, rows, w->out_proj_weight, w->out_proj_bias, s->x);
  /* h = layer_norm2 (x)                                                   [B·T, D] */
  gill_nn_layer_norm (s->x, s->h, rows, d, w->layer_norm2_weight, w->layer_norm2_bias, e->layer_norm_eps);
  /* f = activation (fc1 (h))                                              [B·T, I] */
  clip_linear (s, s->h, rows, w->fc1_weight, w->fc1_bias, s->f);
  clip_activation (e->hidden_act, s->f, rows * e->intermediate_size);
  /* x = x + fc2 (f)                                                        [B·T, D] */
  clip_linear_residual (s, s->f, rows, w->fc2_weight, w->fc2_bias, s->x);
}

/* the encoder (every layer), with hidden_states[0 .. L] copied out when wanted */
static void
clip_encoder (const GillClipEncoderConfig *e,
              const GillClipLayer         *layers,
              GillClipState               *s,
              gint64                       batch,
              gint64                       t,
              gboolean                     causal,
              float                      **hidden_states)
{
  gsize n = (gsize) batch * t * e->hidden_size;
  if (hidden_states && hidden_states[0])
    memcpy (hidden_states[0], s->x, n * sizeof (float));
  for (gint64 l = 0; l < e->num_hidden_layers; l++)
    {
      clip_encoder_layer (e, &layers[l], s, batch, t, causal);
      if (hidden_states && hidden_states[l + 1])
        memcpy (hidden_states[l + 1], s->x, n * sizeof (float));
    }
}

static gboolean
clip_check_batch (const GillClipState *s,
                  gint64               batch,
                  GError             **error)
{
  if (batch >= 1 && batch <= s->max_batch)
    return TRUE;
  g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
               "CLIP: a batch of %" G_GINT64_FORMAT " does not fit the state (1 to %" G_GINT64_FORMAT ")", batch,
               s->max_batch);
  return FALSE;
}

/* embeds [B, P] = pooled [B, D] projection^T (no bias) */
static gboolean
clip_project (GillClipState    *s,
              const GillTensor *projection,
              const gchar      *name,
              gint64            batch,
              float            *embeds,
              GError          **error)
{
  if (embeds == NULL)
    return TRUE;
  if (projection == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "CLIP: projected embeddings asked for, but the checkpoint has no %s; load the full CLIPModel", name);
      return FALSE;
    }
  clip_linear (s, s->pooled, batch, projection, NULL, embeds);
  return TRUE;
}

/* ------------------------------------------------------------------ vision */

/* the non-overlapping P x P patches of each image as rows [B·N, C·P·P], the column order of the
 * conv weight [D, C, P, P] (c, i, j), patches in row-major grid order */
static void
clip_im2col (const float *pixel_values,
             gint64       batch,
             gint64       channels,
             gint64       size,
             gint64       p,
             float       *out)
{
  gint64 grid = size / p, cols = channels * p * p;
  for (gint64 b = 0; b < batch; b++)
    for (gint64 gy = 0; gy < grid; gy++)
      for (gint64 gx = 0; gx < grid; gx++)
        {
          float *row = out + ((b * grid + gy) * grid + gx) * cols;
          for (gint64 c = 0; c < channels; c++)
            for (gint64 i = 0; i < p; i++)
              memcpy (row + (c * p + i) * p,
                      pixel_values + ((b * channels + c) * size + gy * p + i) * size + gx * p, p * sizeof (float));
        }
}

gboolean
gill_clip_vision_forward (const GillClipVisionWeights *w,
                          GillClipState               *s,
                          const float                 *pixel_values,
                          gint64                       batch,
                          GillClipOutput              *out,
                          GError                     **error)
{
  g_return_val_if_fail (w != NULL && s != NULL && pixel_values != NULL && out != NULL, FALSE);
  const GillClipVisionConfig *config = &w->config;
  const GillClipEncoderConfig *e = &config->encoder;
  gint64 d = e->hidden_size, p = config->patch_size, grid = config->image_size / p;
  gint64 n = grid * grid, t = n + 1;
  g_return_val_if_fail (s->width == d && s->max_tokens == t, FALSE);
  if (!clip_check_batch (s, batch, error))
    return FALSE;

  /* patches [B·N, C·P·P] (im2col of the stride-P conv) */
  clip_im2col (pixel_values, batch, config->num_channels, config->image_size, p, s->f);
  /* patch_embeds [B·N, D] = patches · W^T, W the conv weight read as [D, C·P·P] (no bias) */
  const float *patch_weight = gill_tensor_as_f32 (w->patch_embedding, s->scratch);
  gill_gemm_linear (s->f, batch * n, config->num_channels * p * p, patch_weight, NULL, d, s->h);
  /* x [B, T, D] = cat (class_embedding, patch_embeds) + position_embedding[0 .. T)     */
  for (gint64 b = 0; b < batch; b++)
    {
      float *xb = s->x + b * t * d;
      memcpy (xb, w->class_embedding, d * sizeof (float));
      memcpy (xb + d, s->h + b * n * d, n * d * sizeof (float));
      gill_nn_add (xb, w->position_embedding, t * d);
    }
  /* x = pre_layrnorm (x): hidden_states[0]                                             */
  gill_nn_layer_norm (s->x, s->x, batch * t, d, w->pre_layrnorm_weight, w->pre_layrnorm_bias, e->layer_norm_eps);
  /* the encoder: num_hidden_layers CLIPEncoderLayers, no mask                          */
  clip_encoder (e, w->layers, s, batch, t, FALSE, out->hidden_states);
  /* last_hidden_state = x (no LayerNorm over all tokens)                               */
  if (out->last_hidden_state)
    memcpy (out->last_hidden_state, s->x, (gsize) batch * t * d * sizeof (float));
  /* pooler_output [B, D] = post_layernorm (x[:, 0])                                     */
  for (gint64 b = 0; b < batch; b++)
    gill_nn_layer_norm (s->x + b * t * d, s->pooled + b * d, 1, d, w->post_layernorm_weight, w->post_layernorm_bias,
                        e->layer_norm_eps);
  if (out->pooler_output)
    memcpy (out->pooler_output, s->pooled, (gsize) batch * d * sizeof (float));
  /* image_embeds [B, P] = visual_projection (pooler_output)                            */
  return clip_project (s, w->visual_projection, "visual_projection.weight", batch, out->embeds, error);
}

/* ------------------------------------------------------------------ text */

/* one row of an embedding table [rows, D] of any float dtype as f32 */
static void
clip_embedding_row (const GillTensor *table,
                    gint64            row,
                    float            *out)
{
  gint64 d = table->shape[1];
  gsize size = gill_dtype_size (table->dtype);
  const guint8 *base = table->data + (gsize) (row * table->strides[0]) * size;
  for (gint64 j = 0; j < d; j++)
    {
      const guint8 *at = base + (gsize) (j * table->strides[1]) * size;
      switch (table->dtype)
        {
        case GILL_DTYPE_F32:
          memcpy (&out[j], at, sizeof (float));
          break;
        case GILL_DTYPE_F16:
        case GILL_DTYPE_BF16:
          {
            guint16 bits;
            memcpy (&bits, at, 2);
            out[j] = table->dtype == GILL_DTYPE_F16 ? gill_f16_to_f32 (bits) : gill_bf16_to_f32 (bits);
          }
          break;
        case GILL_DTYPE_F64:
          {
            double v;
            memcpy (&v, at, sizeof v);
            out[j] = (float) v;
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

gboolean
gill_clip_text_forward (const GillClipTextWeights *w,
                        GillClipState             *s,
                        const gint64              *input_ids,
                        gint64                     batch,
                        gint64                     t,
                        GillClipOutput            *out,
                        GError                   **error)
{
  g_return_val_if_fail (w != NULL && s != NULL && input_ids != NULL && out != NULL, FALSE);
  const GillClipTextConfig *config = &w->config;
  const GillClipEncoderConfig *e = &config->encoder;
  gint64 d = e->hidden_size;
  g_return_val_if_fail (s->width == d, FALSE);
  if (!clip_check_batch (s, batch, error))
    return FALSE;
  if (t < 1 || t > MIN (config->max_position_embeddings, s->max_tokens))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "CLIP text: %" G_GINT64_FORMAT " tokens; the model takes 1 to %" G_GINT64_FORMAT, t,
                   config->max_position_embeddings);
      return FALSE;
    }
  for (gint64 i = 0; i < batch * t; i++)
    if (input_ids[i] < 0 || input_ids[i] >= config->vocab_size)
      {
        g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                     "CLIP text: token id %" G_GINT64_FORMAT " is outside the vocabulary (0 to %" G_GINT64_FORMAT ")",
                     input_ids[i], config->vocab_size - 1);
        return FALSE;
      }

  /* x [B, T, D] = token_embedding[ids] + position_embedding[0 .. T): hidden_states[0]  */
  for (gint64 b = 0; b < batch; b++)
    for (gint64 i = 0; i < t; i++)
      {
        float *xi = s->x + (b * t + i) * d;
        clip_embedding_row (w->token_embedding, input_ids[b * t + i], xi);
        gill_nn_add (xi, w->position_embedding + i * d, d);
      }
  /* the encoder with the causal mask (no padding mask: SD passes none)                 */
  clip_encoder (e, w->layers, s, batch, t, TRUE, out->hidden_states);
  /* last_hidden_state = final_layer_norm (x)                                           */
  gill_nn_layer_norm (s->x, s->h, batch * t, d, w->final_layer_norm_weight, w->final_layer_norm_bias,
                      e->layer_norm_eps);
  if (out->last_hidden_state)
    memcpy (out->last_hidden_state, s->h, (gsize) batch * t * d * sizeof (float));
  /* pooler_output [B, D] = last_hidden_state[b, argmax (ids[b])]: the first EOS (49407, the
   * largest id)                                                                        */
  for (gint64 b = 0; b < batch; b++)
    {
      gint64 at = 0;
      for (gint64 i = 1; i < t; i++)
        if (input_ids[b * t + i] > input_ids[b * t + at])
          at = i;
      memcpy (s->pooled + b * d, s->h + (b * t + at) * d, d * sizeof (float));
    }
  if (out->pooler_output)
    memcpy (out->pooler_output, s->pooled, (gsize) batch * d * sizeof (float));
  /* text_embeds [B, P] = text_projection (pooler_output)                              */
  return clip_project (s, w->text_projection, "text_projection.weight", batch, out->embeds, error);
}

/* ------------------------------------------------------------------ similarity */

static double
clip_norm (const float *x,
           gint64       n)
{
  double sum = 0;
  for (gint64 i = 0; i < n; i++)
    sum += (double) x[i] * x[i];
  return sqrt (sum);
}

void
gill_clip_similarity (const float *image_embeds,
                      gint64       n_images,
                      const float *text_embeds,
                      gint64       n_texts,
                      gint64       dim,
                      float        logit_scale,
                      float       *logits_per_image)
{
  /* logits_per_image = exp (logit_scale) · (image / |image|) · (text / |text|)^T */
  double scale = exp ((double) logit_scale);
  for (gint64 i = 0; i < n_images; i++)
    {
      const float *a = image_embeds + i * dim;
      double na = clip_norm (a, dim);
      for (gint64 j = 0; j < n_texts; j++)
        {
          const float *b = text_embeds + j * dim;
          double dot = 0;
          for (gint64 k = 0; k < dim; k++)
            dot += (double) a[k] * b[k];
          logits_per_image[i * n_texts + j] = (float) (scale * dot / (na * clip_norm (b, dim)));
        }
    }
}
