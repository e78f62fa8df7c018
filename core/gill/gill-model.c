/* gill-model.c — a GILL folder: model_args.json, pretrained_ckpt.pth.tar, cc3m*.npy and
 * decision_model.pth.tar, and the small learned heads around the base models. See gill-model.h. */
#include "core/gill/gill-model.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/io/torch.h"
#include "core/ops/convert.h"
#include "core/ops/gemm.h"
#include "core/ops/nn.h"

#define CHECKPOINT_FILE "pretrained_ckpt.pth.tar"
#define ARGS_FILE "model_args.json"
#define DECISION_FILE "decision_model.pth.tar"

/* ------------------------------------------------------------------ model_args.json */

static gboolean
args_int (JsonObject *json,
          const gchar *path,
          const gchar *key,
          gint64 fallback, /* < 0: required */
          gint64 *out,
          GError **error)
{
  JsonNode *node = json_object_get_member (json, key);
  if (node == NULL && fallback >= 0)
    {
      *out = fallback;
      return TRUE;
    }
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: \"%s\" should be a positive integer", path, key);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

static gchar *
args_string (JsonObject *json, const gchar *path, const gchar *key, GError **error)
{
  JsonNode *node = json_object_get_member (json, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: \"%s\" should be a string (a hub model name)", path, key);
      return NULL;
    }
  return g_strdup (json_node_get_string (node));
}

/* gen_token_idx: num_tokens integer ids */
static gboolean
args_token_ids (JsonObject *json, const gchar *path, GillModelArgs *args, GError **error)
{
  JsonNode *node = json_object_get_member (json, "gen_token_idx");
  JsonArray *ids = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (ids == NULL || json_array_get_length (ids) != (guint) args->num_tokens
      || args->num_tokens > (gint64) G_N_ELEMENTS (args->gen_token_idx))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: \"gen_token_idx\" should list num_tokens (%" G_GINT64_FORMAT ") token ids", path,
                   args->num_tokens);
      return FALSE;
    }
  for (gint64 i = 0; i < args->num_tokens; i++)
    {
      JsonNode *id = json_array_get_element (ids, i);
      if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64 || json_node_get_int (id) < 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: \"gen_token_idx\"[%" G_GINT64_FORMAT "] should be a token id", path, i);
          return FALSE;
        }
      args->gen_token_idx[i] = json_node_get_int (id);
    }
  return TRUE;
}

gboolean
gill_model_args_load (const gchar *path, GillModelArgs *args, GError **error)
{
  memset (args, 0, sizeof *args);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &json_error))
    {
      gboolean missing = g_error_matches (json_error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      g_set_error (error, GILL_ERROR, missing ? GILL_ERROR_MODEL_MISSING : GILL_ERROR_FORMAT, "%s: %s", path,
                   json_error->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON object", path);
      return FALSE;
    }
  JsonObject *json = json_node_get_object (root);
  gboolean ok = (args->opt_version = args_string (json, path, "opt_version", error)) != NULL
                && (args->visual_encoder = args_string (json, path, "visual_encoder", error)) != NULL
                && args_int (json, path, "n_visual_tokens", -1, &args->n_visual_tokens, error)
                && args_int (json, path, "ret_emb_dim", -1, &args->ret_emb_dim, error)
                && args_int (json, path, "gen_emb_dim", -1, &args->gen_emb_dim, error)
                && args_int (json, path, "num_tokens", -1, &args->num_tokens, error)
                && args_int (json, path, "num_clip_tokens", 77, &args->num_clip_tokens, error)
                && args_token_ids (json, path, args, error);
  if (!ok)
    gill_model_args_clear (args);
  return ok;
}

void
gill_model_args_clear (GillModelArgs *args)
{
  g_clear_pointer (&args->opt_version, g_free);
  g_clear_pointer (&args->visual_encoder, g_free);
}

/* ------------------------------------------------------------------ small helpers */

/* y[rows, out] = x W^T + b for a weight of any float dtype (widened into a temporary) */
static void
linear (const float *x, gint64 rows, const GillTensor *weight, const GillTensor *bias, float *y)
{
  g_autofree float *scratch = NULL;
  if (gill_tensor_needs_widening (weight) || (bias && gill_tensor_needs_widening (bias)))
    scratch = g_new (float, gill_tensor_numel (weight) + weight->shape[0]);
  gill_linear (x, rows, weight, bias, y, scratch);
}

/* x / |x| per row of dim (torch: x / x.norm (dim=-1, keepdim=True)) */
static void
normalize_rows (const float *x,
                gint64 rows,
                gint64 dim,
                float scale, /* multiplied after the division */
                float *y)
{
  for (gint64 r = 0; r < rows; r++)
    {
      double sum = 0;
      for (gint64 k = 0; k < dim; k++)
        sum += (double) x[r * dim + k] * x[r * dim + k];
      const float norm = (float) sqrt (sum);
      for (gint64 k = 0; k < dim; k++)
        y[r * dim + k] = scale * (x[r * dim + k] / norm);
    }
}

/* a store over one weight file; "module."-prefixed names (DDP) answer to the bare names too */
static GillStore *
open_store (const gchar *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: no such file; a GILL folder holds " CHECKPOINT_FILE " and " ARGS_FILE
                   " (kohjingyu/gill checkpoints/gill_opt)",
                   path);
      return NULL;
    }
  g_autoptr (GillStore) store = gill_store_new ();
  if (!gill_store_add_file (store, path, error))
    return NULL;
  gill_store_alias_prefix (store, "module.", "");
  return g_steal_pointer (&store);
}

/* ------------------------------------------------------------------ decision head */

GillDecision *
gill_decision_open (const gchar *path, GError **error)
{
  g_autoptr (GillDecision) d = g_new0 (GillDecision, 1);
  if ((d->store = open_store (path, error)) == NULL)
    return NULL;
  gint64 n_classes = 2;
  d->weight = gill_store_get (d->store, "1.weight", -1, NULL, error);
  if (d->weight == NULL)
    return NULL;
  if (d->weight->n_dims != 2 || d->weight->shape[0] != n_classes || d->weight->shape[1] < 1)
    {
      g_autofree gchar *got = gill_tensor_shape_string (d->weight);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: tensor '1.weight' is %s; expected [2, D] (nn.Linear (D, 2): gen, ret)", path, got);
      return NULL;
    }
  d->in_dim = d->weight->shape[1];
  if ((d->bias = gill_store_get (d->store, "1.bias", 1, &n_classes, error)) == NULL)
    return NULL;
  return g_steal_pointer (&d);
}

void
gill_decision_free (GillDecision *decision)
{
  if (decision == NULL)
    return;
  gill_store_free (decision->store);
  g_free (decision);
}

void
gill_decision_forward (const GillDecision *decision, const float *x, gint64 n, float *logits, float *probs)
{
  /* nn.Sequential (Dropout (0.5) — inactive in eval, Linear (D, 2)) */
  linear (x, n, decision->weight, decision->bias, logits);
  if (probs)
    {
      memcpy (probs, logits, sizeof (float) * n * 2);
      gill_nn_softmax (probs, n, 2);
    }
}

/* ------------------------------------------------------------------ retrieval matrix */

/* one cc3m pickle: {"paths": [str], "embeddings": [vector (R,)] or [N, R]} appended to rows/paths */
static gboolean
load_embeddings_file (const gchar *path,
                      gint64 dim,
                      GArray *rows, /* float */
                      GPtrArray *paths,
                      GError **error)
{
  g_autoptr (GillValue) root = gill_torch_load (path, error);
  if (root == NULL)
    return FALSE;
  GillValue *names = root->kind == GILL_VALUE_DICT ? gill_value_dict_get (root, "paths") : NULL;
  GillValue *embs = root->kind == GILL_VALUE_DICT ? gill_value_dict_get (root, "embeddings") : NULL;
  if (names == NULL || embs == NULL || !gill_value_is_container (names) || names->kind == GILL_VALUE_DICT)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: expected a pickled dict with \"paths\" (a list) and \"embeddings\"", path);
      return FALSE;
    }
  const guint before = rows->len;
  if (embs->kind == GILL_VALUE_TENSOR && embs->tensor->n_dims == 2 && embs->tensor->shape[1] == dim)
    {
      g_array_set_size (rows, before + gill_tensor_numel (embs->tensor));
      gill_tensor_copy_f32 (embs->tensor, &g_array_index (rows, float, before));
    }
  else if (gill_value_is_container (embs) && embs->kind != GILL_VALUE_DICT)
    for (guint i = 0; i < embs->items->len; i++)
      {
        GillValue *v = g_ptr_array_index (embs->items, i);
        if (v->kind != GILL_VALUE_TENSOR || gill_tensor_numel (v->tensor) != dim
            || !gill_dtype_is_float (v->tensor->dtype))
          {
            g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                         "%s: embeddings[%u] should be a float vector of ret_emb_dim %" G_GINT64_FORMAT, path, i, dim);
            return FALSE;
          }
        g_array_set_size (rows, rows->len + dim);
        gill_tensor_copy_f32 (v->tensor, &g_array_index (rows, float, rows->len - dim));
      }
  else
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: \"embeddings\" should be a list of vectors or an [N, %" G_GINT64_FORMAT "] array", path, dim);
      return FALSE;
    }
  const guint n = (rows->len - before) / dim;
  if (n != names->items->len)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %u paths but %u embeddings", path, names->items->len, n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      GillValue *p = g_ptr_array_index (names->items, i);
      g_ptr_array_add (paths, p->kind == GILL_VALUE_STRING ? gill_value_string_dup (p) : g_strdup (""));
    }
  return TRUE;
}

/* load_gill: every cc3m*.npy of the folder (sorted), stacked, L2-normalised, times exp (logit_scale) */
static gboolean
load_retrieval_matrix (GillModel *m, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (m->folder, 0, error);
  if (dir == NULL)
    return FALSE;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (const gchar *name; (name = g_dir_read_name (dir)) != NULL;)
    if (g_str_has_prefix (name, "cc3m") && g_str_has_suffix (name, ".npy"))
      g_ptr_array_add (files, g_build_filename (m->folder, name, NULL));
  if (files->len == 0)
    return TRUE; /* GILL runs without retrieval */
  g_ptr_array_sort (files, (GCompareFunc) g_strcmp0);
  const gint64 dim = m->args.ret_emb_dim;
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (float));
  m->ret_paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < files->len; i++)
    if (!load_embeddings_file (g_ptr_array_index (files, i), dim, rows, m->ret_paths, error))
      return FALSE;
  gint64 shape[2] = { rows->len / dim, dim };
  m->emb_matrix = gill_tensor_new_f32 (2, shape);
  normalize_rows ((const float *) rows->data, shape[0], dim, expf (m->logit_scale),
                  gill_tensor_data_f32 (m->emb_matrix));
  return TRUE;
}

/* ------------------------------------------------------------------ the checkpoint */

static gboolean
bind_heads (GillModel *m, GError **error)
{
  const GillModelArgs *a = &m->args;
  const gchar *rows_name = "model.input_embeddings.weight";
  GillStore *s = m->store;
  if ((m->input_embeddings = gill_store_get (s, rows_name, -1, NULL, error)) == NULL
      || (m->visual_fc_w = gill_store_get (s, "model.visual_fc.weight", -1, NULL, error)) == NULL)
    return FALSE;
  if (m->input_embeddings->n_dims != 2 || m->input_embeddings->shape[0] != a->num_tokens || m->visual_fc_w->n_dims != 2)
    {
      g_autofree gchar *got = gill_tensor_shape_string (m->input_embeddings);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: tensor '%s' is %s; expected [num_tokens = %" G_GINT64_FORMAT
                   ", D] (and model.visual_fc.weight 2-D)",
                   gill_store_file_of (s, rows_name), rows_name, got, a->num_tokens);
      return FALSE;
    }
  const gint64 D = m->lm_dim = m->input_embeddings->shape[1];
  const gint64 C = m->clip_dim = m->visual_fc_w->shape[1];
  const gint64 R = a->ret_emb_dim, V = a->n_visual_tokens * D;
  gint64 vis_w[2] = { V, C }, fc_w[2] = { R, C }, ret_w[2] = { R, D };
  GillTensor *scale = gill_store_get (s, "model.logit_scale", 0, NULL, error);
  if (scale == NULL)
    return FALSE;
  gill_tensor_copy_f32 (scale, &m->logit_scale);
  return (m->visual_fc_w = gill_store_get (s, "model.visual_fc.weight", 2, fc_w, error))
         && (m->visual_fc_b = gill_store_get (s, "model.visual_fc.bias", 1, &R, error))
         && (m->visual_embeddings_w = gill_store_get (s, "model.visual_embeddings.weight", 2, vis_w, error))
         && (m->visual_embeddings_b = gill_store_get (s, "model.visual_embeddings.bias", 1, &V, error))
         && (m->ret_fc_w = gill_store_get (s, "model.ret_text_hidden_fcs.0.model.weight", 2, ret_w, error))
         && (m->ret_fc_b = gill_store_get (s, "model.ret_text_hidden_fcs.0.model.bias", 1, &R, error));
}

/* gen_text_hidden_fcs[0]: the mapper from D to gen_emb_dim with num_clip_tokens queries */
static gboolean
bind_mapper (GillModel *m, GError **error)
{
  GillWeights all = gill_store_weights (m->store);
  GillWeights lookup = gill_weights_with_prefix (&all, "model.gen_text_hidden_fcs.0.");
  GillMapperConfig config;
  if (!gill_mapper_config_from_weights (&lookup, &config, error))
    return FALSE;
  if (config.in_dim != m->lm_dim || config.out_dim != m->args.gen_emb_dim
      || config.n_output_tokens != m->args.num_clip_tokens)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: the mapper maps %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                   "; expected D %" G_GINT64_FORMAT " -> num_clip_tokens %" G_GINT64_FORMAT
                   " x gen_emb_dim %" G_GINT64_FORMAT " (" ARGS_FILE ")",
                   gill_store_file_of (m->store, "model.gen_text_hidden_fcs.0.fc.weight"), config.in_dim,
                   config.n_output_tokens, config.out_dim, m->lm_dim, m->args.num_clip_tokens, m->args.gen_emb_dim);
      return FALSE;
    }
  return (m->mapper = gill_mapper_weights_bind (&config, &lookup, error)) != NULL;
}

GillModel *
gill_model_open (const gchar *folder, GError **error)
{
  g_autoptr (GillModel) m = g_new0 (GillModel, 1);
  m->folder = g_strdup (folder);
  g_autofree gchar *args_path = g_build_filename (folder, ARGS_FILE, NULL);
  g_autofree gchar *ckpt_path = g_build_filename (folder, CHECKPOINT_FILE, NULL);
  g_autofree gchar *decision_path = g_build_filename (folder, DECISION_FILE, NULL);
  if (!gill_model_args_load (args_path, &m->args, error) || (m->store = open_store (ckpt_path, error)) == NULL
      || !bind_heads (m, error) || !bind_mapper (m, error) || !load_retrieval_matrix (m, error))
    return NULL;
  if (g_file_test (decision_path, G_FILE_TEST_EXISTS)
      && (m->decision = gill_decision_open (decision_path, error)) == NULL)
    return NULL;
  return g_steal_pointer (&m);
}

void
gill_model_free (GillModel *model)
{
  if (model == NULL)
    return;
  gill_decision_free (model->decision);
  g_clear_pointer (&model->ret_paths, g_ptr_array_unref);
  g_clear_pointer (&model->emb_matrix, gill_tensor_unref);
  gill_mapper_weights_free (model->mapper);
  g_clear_pointer (&model->store, gill_store_free);
  gill_model_args_clear (&model->args);
  g_free (model->folder);
  g_free (model);
}

/* ------------------------------------------------------------------ heads */

void
gill_model_visual_embs (const GillModel *model, const float *pooled, gint64 batch, GillVisualMode mode, float *out)
{
  /* captioning: visual_embeddings (pooler_output).reshape (B, n_visual_tokens, D);
   * retrieval: visual_fc (pooler_output)[:, None, :] — the same memory layout as the output */
  if (mode == GILL_VISUAL_CAPTIONING)
    linear (pooled, batch, model->visual_embeddings_w, model->visual_embeddings_b, out);
  else
    linear (pooled, batch, model->visual_fc_w, model->visual_fc_b, out);
}

void
gill_model_retrieval_embed (const GillModel *model, const float *hidden, gint64 batch, gint64 n_tokens, float *ret_emb)
{
  /* TextFcLayer "linear" keeps output token 0: only the [IMG0] row matters */
  const gint64 D = model->lm_dim, R = model->args.ret_emb_dim;
  for (gint64 b = 0; b < batch; b++)
    linear (hidden + b * n_tokens * D, 1, model->ret_fc_w, model->ret_fc_b, ret_emb + b * R);
}

gboolean
gill_model_retrieval_scores (
    const GillModel *model, const float *ret_emb, gint64 batch, float *normalized, float *scores, GError **error)
{
  if (model->emb_matrix == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: no cc3m*.npy retrieval embeddings in this GILL folder", model->folder);
      return FALSE;
    }
  const gint64 R = model->args.ret_emb_dim, N = model->emb_matrix->shape[0];
  normalize_rows (ret_emb, batch, R, 1.0f, normalized);
  /* scores [N, B] = emb_matrix [N, R] · normalized [B, R]^T */
  gill_gemm (FALSE, TRUE, N, batch, R, 1.0f, gill_tensor_data_f32 (model->emb_matrix), R, normalized, R, 0.0f, scores,
             batch);
  return TRUE;
}
