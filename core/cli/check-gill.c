/* check-gill.c — fixture kinds gill.load, gill.visual, gill.mapper, gill.retrieval and gill.decision
 * (fixtures README, "gill.load" and "gill.visual, gill.mapper, gill.retrieval, gill.decision").
 *
 * The fixture folder is the GILL folder (core/gill/gill-model.h opens it, once per folder);
 * fixture_paths.json maps model_args' hub names to the base-model folders: the LM for gill.load
 * (through check-opt.c, which applies load_gill's embedding resize), CLIP for gill.visual.
 * gill.generate is documented but not implemented here: it SKIPs. */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/gill/clip-model.h"
#include "core/gill/gill-model.h"

/* ------------------------------------------------------------------ the GILL folder */

static GillModel *
case_gill (const GillCheckCase *c, GError **error)
{
  GillModel *model = gill_check_cache_lookup (c, "gill.model");
  if (model == NULL && (model = gill_model_open (c->folder, error)) != NULL)
    gill_check_cache_insert (c, "gill.model", model, (GDestroyNotify) gill_model_free);
  return model;
}

/* the folder fixture_paths.json gives for a hub name (its "weights" when it is an object) */
static gchar *
base_model_folder (const GillCheckCase *c, const gchar *hub, GError **error)
{
  g_autofree gchar *path = gill_check_path (c, "fixture_paths.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *entry
      = root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), hub) : NULL;
  if (entry && JSON_NODE_HOLDS_OBJECT (entry))
    entry = json_object_get_member (json_node_get_object (entry), "weights");
  if (entry == NULL || !JSON_NODE_HOLDS_VALUE (entry) || json_node_get_value_type (entry) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no folder for '%s'", path, hub);
      return NULL;
    }
  return gill_check_path (c, json_node_get_string (entry));
}

/* a float input with n_dims dimensions and (where want is not 0) this last dimension, as f32 */
static GillTensor *
input_floats (const GillCheckCase *c, const gchar *key, gint n_dims, gint64 last, GError **error)
{
  g_autoptr (GillTensor) t = gill_check_input_tensor (c, key, error);
  if (t == NULL)
    return NULL;
  if (t->n_dims != n_dims || !gill_dtype_is_float (t->dtype) || (last > 0 && t->shape[n_dims - 1] != last))
    {
      g_autofree gchar *got = gill_tensor_shape_string (t);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "case '%s': inputs.%s is %s %s; expected %d float dimensions, the last %" G_GINT64_FORMAT, c->name,
                   key, gill_dtype_name (t->dtype), got, n_dims, last);
      return NULL;
    }
  GillTensor *f = gill_tensor_new_f32 (t->n_dims, t->shape);
  gill_tensor_copy_f32 (t, gill_tensor_data_f32 (f));
  return f;
}

/* ------------------------------------------------------------------ gill.load */

static gboolean
run_load (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  GillModel *gill = case_gill (c, error);
  if (gill == NULL)
    return FALSE;
  GillCheckOptModel *lm = gill_check_opt_model_open (c, error);
  if (lm == NULL)
    return FALSE;
  /* rows 50264..50273 of the resized embedding: OPT's own, then the checkpoint's [IMG] rows */
  const GillOptWeights *w = gill_check_opt_model_weights (lm);
  const gint64 first = 50264, n = 10, D = w->config.n_word_embd;
  gint64 ids[10];
  for (gint64 i = 0; i < n; i++)
    ids[i] = first + i;
  g_autoptr (GillTensor) rows = gill_tensor_new_f32 (2, (gint64[]){ n, D });
  gboolean ok = gill_opt_embed (w, ids, n, gill_tensor_data_f32 (rows), error);
  g_autoptr (JsonNode) vocab = json_node_init_int (json_node_alloc (), w->n_vocab);
  gill_check_opt_model_free (lm);
  if (!ok)
    return FALSE;
  if (gill->emb_matrix == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no cc3m*.npy for emb_matrix", c->folder);
      return FALSE;
    }
  gill_check_results_set_tensor (out, "input_embeddings_rows_50264_50274", rows);
  gill_check_results_set_json (out, "vocab_rows", vocab);
  gill_check_results_set_double (out, "logit_scale", gill->logit_scale);
  gill_check_results_set_tensor (out, "emb_matrix", gill->emb_matrix);
  return TRUE;
}

/* ------------------------------------------------------------------ gill.visual */

/* CLIP's pooler_output [B, C] for pixel_values [B, 3, S, S] */
static GillTensor *
clip_pooled (const GillCheckCase *c, const GillModel *gill, GillTensor *pixel_values, GError **error)
{
  g_autofree gchar *folder = base_model_folder (c, gill->args.visual_encoder, error);
  g_autoptr (GillClipModel) clip = folder ? gill_clip_model_open (folder, GILL_CLIP_TOWER_VISION, error) : NULL;
  if (clip == NULL)
    return NULL;
  const GillClipVisionConfig *config = &clip->vision_config;
  const gint64 batch = pixel_values->shape[0], s = config->image_size;
  gint64 want[4] = { batch, config->num_channels, s, s };
  if (!gill_tensor_has_shape (pixel_values, 4, want) || config->encoder.hidden_size != gill->clip_dim)
    {
      g_autofree gchar *got = gill_tensor_shape_string (pixel_values);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "case '%s': pixel_values %s for %s (image size %" G_GINT64_FORMAT ", width %" G_GINT64_FORMAT
                   "; GILL's visual heads take %" G_GINT64_FORMAT ")",
                   c->name, got, folder, s, config->encoder.hidden_size, gill->clip_dim);
      return NULL;
    }
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (config, batch, error);
  if (state == NULL)
    return NULL;
  g_autoptr (GillTensor) pooled = gill_tensor_new_f32 (2, (gint64[]){ batch, gill->clip_dim });
  GillClipOutput o = { .pooler_output = gill_tensor_data_f32 (pooled) };
  if (!gill_clip_vision_forward (clip->vision, state, gill_tensor_data_f32 (pixel_values), batch, &o, error))
    return NULL;
  return g_steal_pointer (&pooled);
}

static gboolean
run_visual (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  GillModel *gill = case_gill (c, error);
  g_autoptr (GillTensor) pixel_values = gill ? input_floats (c, "pixel_values", 4, 0, error) : NULL;
  g_autoptr (GillTensor) pooled = pixel_values ? clip_pooled (c, gill, pixel_values, error) : NULL;
  if (pooled == NULL)
    return FALSE;
  const gint64 B = pooled->shape[0];
  g_autoptr (GillTensor) captioning
      = gill_tensor_new_f32 (3, (gint64[]){ B, gill->args.n_visual_tokens, gill->lm_dim });
  g_autoptr (GillTensor) retrieval = gill_tensor_new_f32 (3, (gint64[]){ B, 1, gill->args.ret_emb_dim });
  gill_model_visual_embs (gill, gill_tensor_data_f32 (pooled), B, GILL_VISUAL_CAPTIONING,
                          gill_tensor_data_f32 (captioning));
  gill_model_visual_embs (gill, gill_tensor_data_f32 (pooled), B, GILL_VISUAL_RETRIEVAL,
                          gill_tensor_data_f32 (retrieval));
  gill_check_results_set_tensor (out, "captioning", captioning);
  gill_check_results_set_tensor (out, "retrieval", retrieval);
  return TRUE;
}

/* ------------------------------------------------------------------ gill.mapper */

static gboolean
run_mapper (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  GillModel *gill = case_gill (c, error);
  g_autoptr (GillTensor) hidden = gill ? input_floats (c, "hidden_states", 3, gill->lm_dim, error) : NULL;
  g_autoptr (GillTensor) embs = hidden ? input_floats (c, "input_embs", 3, gill->lm_dim, error) : NULL;
  if (embs == NULL)
    return FALSE;
  if (!gill_tensor_has_shape (embs, 3, hidden->shape))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "case '%s': input_embs and hidden_states differ in shape",
                   c->name);
      return FALSE;
    }
  const GillMapperConfig *config = &gill->mapper->config;
  const gint64 B = hidden->shape[0], T = hidden->shape[1];
  g_autoptr (GillTensor) output = gill_tensor_new_f32 (3, (gint64[]){ B, config->n_output_tokens, config->out_dim });
  if (!gill_mapper_forward (gill->mapper, gill_tensor_data_f32 (hidden), gill_tensor_data_f32 (embs), B, T,
                            gill_tensor_data_f32 (output), error))
    return FALSE;
  gill_check_results_set_tensor (out, "output", output);
  return TRUE;
}

/* ------------------------------------------------------------------ gill.retrieval */

/* torch.topk (scores, k, dim=0).indices: [k, B] for scores [N, B], largest first */
static GillTensor *
top_k_rows (const float *scores, gint64 n, gint64 batch, gint64 k)
{
  gint64 shape[2] = { k, batch };
  GillTensor *top = gill_tensor_new_i64 (2, shape);
  gint64 *idx = gill_tensor_data_i64 (top);
  for (gint64 b = 0; b < batch; b++)
    for (gint64 r = 0; r < k; r++)
      {
        gint64 best = -1;
        for (gint64 i = 0; i < n; i++)
          {
            gboolean taken = FALSE;
            for (gint64 q = 0; q < r; q++)
              taken |= idx[q * batch + b] == i;
            if (!taken && (best < 0 || scores[i * batch + b] > scores[best * batch + b]))
              best = i;
          }
        idx[r * batch + b] = best;
      }
  return top;
}

static gboolean
run_retrieval (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  GillModel *gill = case_gill (c, error);
  g_autoptr (GillTensor) hidden = gill ? input_floats (c, "hidden_states", 3, gill->lm_dim, error) : NULL;
  if (hidden == NULL)
    return FALSE;
  const gint64 B = hidden->shape[0], R = gill->args.ret_emb_dim;
  const gint64 N = gill->emb_matrix ? gill->emb_matrix->shape[0] : 0, k = 3;
  g_autoptr (GillTensor) ret_emb = gill_tensor_new_f32 (2, (gint64[]){ B, R });
  g_autoptr (GillTensor) normalized = gill_tensor_new_f32 (2, (gint64[]){ B, R });
  g_autoptr (GillTensor) scores = gill_tensor_new_f32 (2, (gint64[]){ MAX (N, 1), B });
  gill_model_retrieval_embed (gill, gill_tensor_data_f32 (hidden), B, hidden->shape[1], gill_tensor_data_f32 (ret_emb));
  if (!gill_model_retrieval_scores (gill, gill_tensor_data_f32 (ret_emb), B, gill_tensor_data_f32 (normalized),
                                    gill_tensor_data_f32 (scores), error))
    return FALSE;
  if (N < k)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE, "%s: %" G_GINT64_FORMAT " retrieval images; top-3 needs 3",
                   c->folder, N);
      return FALSE;
    }
  g_autoptr (GillTensor) top = top_k_rows (gill_tensor_data_f32 (scores), N, B, k);
  gill_check_results_set_tensor (out, "ret_emb", ret_emb);
  gill_check_results_set_tensor (out, "ret_emb_normalized", normalized);
  gill_check_results_set_tensor (out, "scores", scores);
  gill_check_results_set_tensor (out, "top3_indices", top);
  return TRUE;
}

/* ------------------------------------------------------------------ gill.decision */

static gboolean
run_decision (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  g_autoptr (GillDecision) own = NULL;
  const GillDecision *decision = NULL;
  if (gill_check_input (c, "weights"))
    {
      g_autofree gchar *file = gill_check_input_string (c, "weights", error);
      g_autofree gchar *path = file ? gill_check_path (c, file) : NULL;
      if (path == NULL || (own = gill_decision_open (path, error)) == NULL)
        return FALSE;
      decision = own;
    }
  else
    {
      GillModel *gill = case_gill (c, error);
      if (gill == NULL)
        return FALSE;
      if ((decision = gill->decision) == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no decision_model.pth.tar", c->folder);
          return FALSE;
        }
    }
  g_autoptr (GillTensor) x = input_floats (c, "x", 2, decision->in_dim, error);
  if (x == NULL)
    return FALSE;
  const gint64 n = x->shape[0];
  g_autoptr (GillTensor) logits = gill_tensor_new_f32 (2, (gint64[]){ n, 2 });
  g_autoptr (GillTensor) probs = gill_tensor_new_f32 (2, (gint64[]){ n, 2 });
  gill_decision_forward (decision, gill_tensor_data_f32 (x), n, gill_tensor_data_f32 (logits),
                         gill_tensor_data_f32 (probs));
  gill_check_results_set_tensor (out, "logits", logits);
  gill_check_results_set_tensor (out, "probs", probs);
  return TRUE;
}

const GillCheckKind gill_check_kinds_gill[] = {
  { "gill.load", run_load, NULL },         { "gill.visual", run_visual, NULL },
  { "gill.mapper", run_mapper, NULL },     { "gill.retrieval", run_retrieval, NULL },
  { "gill.decision", run_decision, NULL }, { NULL },
};
