/* check-opt.c — fixture kinds opt.forward, opt.greedy and opt.kv_cache (fixtures README).
 *
 * A case's `model` key names a Hugging Face folder inside the fixture folder; when it holds both
 * model.safetensors and pytorch_model.bin the case runs once with each ("safetensors", "bin").
 * A case without `model` in a GILL folder (model_args.json + fixture_paths.json) runs GILL's LM:
 * the OPT folder fixture_paths.json names for model_args' opt_version, with the embedding rows
 * of gen_token_idx replaced by the checkpoint's model.input_embeddings.weight (GILL's
 * resize_token_embeddings; reference/gill.md §6). */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/hf-folder.h"
#include "core/models/opt-decode.h"
#include "core/models/opt.h"

/* an OPT model opened for one case: the folder, its weights and the GILL checkpoint rows */
typedef struct _GillCheckOptModel
{
  GillHfFolder *hf;
  GillTensorList *checkpoint; /* GILL's pretrained_ckpt.pth.tar, or NULL */
  GillOptWeights *weights;
} CaseModel;

static void
case_model_free (CaseModel *m)
{
  gill_opt_weights_free (m->weights);
  if (m->checkpoint)
    gill_tensor_list_free (m->checkpoint);
  gill_hf_folder_free (m->hf);
  g_free (m);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaseModel, case_model_free)

static JsonObject *
load_object (const gchar *path,
             GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* the OPT folder of a case: its `model` key, or GILL's base LM through fixture_paths.json */
static gchar *
case_opt_folder (const GillCheckCase *c,
                 GError             **error)
{
  const gchar *model = gill_check_case_string (c, "model");
  if (model)
    return gill_check_path (c, model);
  g_autofree gchar *args_path = gill_check_path (c, "model_args.json");
  g_autofree gchar *paths_path = gill_check_path (c, "fixture_paths.json");
  if (!g_file_test (args_path, G_FILE_TEST_EXISTS) || !g_file_test (paths_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s/cases.json: case '%s' names no \"model\" folder and this is not a GILL folder", c->folder,
                   c->name);
      return NULL;
    }
  g_autoptr (JsonObject) args = load_object (args_path, error);
  g_autoptr (JsonObject) paths = args ? load_object (paths_path, error) : NULL;
  if (paths == NULL)
    return NULL;
  const gchar *hub = json_object_get_string_member_with_default (args, "opt_version", "facebook/opt-6.7b");
  JsonNode *entry = json_object_get_member (paths, hub);
  if (entry && JSON_NODE_HOLDS_OBJECT (entry))
    entry = json_object_get_member (json_node_get_object (entry), "weights");
  if (entry == NULL || !JSON_NODE_HOLDS_VALUE (entry) || json_node_get_value_type (entry) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no weights folder for '%s'", paths_path, hub);
      return NULL;
    }
  return gill_check_path (c, json_node_get_string (entry));
}

static gchar **
opt_layouts (const GillCheckCase *c)
{
  g_autofree gchar *folder = case_opt_folder (c, NULL);
  if (folder == NULL)
    return NULL;
  g_autofree gchar *st = g_build_filename (folder, "model.safetensors", NULL);
  g_autofree gchar *bin = g_build_filename (folder, "pytorch_model.bin", NULL);
  if (!g_file_test (st, G_FILE_TEST_EXISTS) || !g_file_test (bin, G_FILE_TEST_EXISTS))
    return NULL;
  gchar **layouts = g_new0 (gchar *, 3);
  layouts[0] = g_strdup ("safetensors");
  layouts[1] = g_strdup ("bin");
  return layouts;
}

/* GILL's LM: the rows of gen_token_idx come from the checkpoint's input embeddings */
static gboolean
case_model_add_gill_rows (const GillCheckCase *c,
                          CaseModel           *m,
                          GError             **error)
{
  g_autofree gchar *args_path = gill_check_path (c, "model_args.json");
  g_autofree gchar *ckpt_path = gill_check_path (c, "pretrained_ckpt.pth.tar");
  g_autoptr (JsonObject) args = load_object (args_path, error);
  if (args == NULL || (m->checkpoint = gill_weights_open_file (ckpt_path, error)) == NULL)
    return FALSE;
  const gchar *name = "model.input_embeddings.weight";
  GillTensor *rows = gill_tensor_list_find (m->checkpoint, name);
  JsonNode *idx = json_object_get_member (args, "gen_token_idx");
  if (rows == NULL || idx == NULL || !JSON_NODE_HOLDS_ARRAY (idx)
      || json_array_get_length (json_node_get_array (idx)) != (guint) rows->shape[0])
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                   "%s: no '%s' with one row per gen_token_idx of %s", ckpt_path, name, args_path);
      return FALSE;
    }
  gint64 first = json_array_get_int_element (json_node_get_array (idx), 0);
  return gill_opt_weights_set_extra_tokens (m->weights, rows, first, error);
}

static CaseModel *
case_model_open (const GillCheckCase *c,
                 GError             **error)
{
  g_autofree gchar *folder = case_opt_folder (c, error);
  if (folder == NULL)
    return NULL;
  const gchar *file = NULL;
  if (g_strcmp0 (c->layout, "safetensors") == 0)
    file = "model.safetensors";
  else if (g_strcmp0 (c->layout, "bin") == 0)
    file = "pytorch_model.bin";
  g_autoptr (CaseModel) m = g_new0 (CaseModel, 1);
  if ((m->hf = gill_hf_folder_open (folder, file, error)) == NULL)
    return NULL;
  gill_store_alias_prefix (m->hf->store, "model.decoder.", "decoder.");
  GillOptConfig config;
  GillWeights lookup = gill_store_weights (m->hf->store);
  if (!gill_opt_config_from_json (m->hf->config, m->hf->config_path, &config, error)
      || (m->weights = gill_opt_weights_bind (&config, &lookup, error)) == NULL)
    return NULL;
  if (gill_check_case_string (c, "model") == NULL && !case_model_add_gill_rows (c, m, error))
    return NULL;
  return g_steal_pointer (&m);
}

/* an int64 golden input [B, T] */
static GillTensor *
input_ids_2d (const GillCheckCase *c,
              const gchar         *key,
              GError             **error)
{
  g_autoptr (GillTensor) t = gill_check_input_tensor (c, key, error);
  if (t == NULL)
    return NULL;
  if (t->n_dims != 2 || gill_dtype_is_float (t->dtype))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "case '%s': inputs.%s should be an integer [batch, seq]",
                   c->name, key);
      return NULL;
    }
  g_autoptr (GillTensor) ids = gill_tensor_new_i64 (2, t->shape);
  gill_tensor_copy_i64 (t, gill_tensor_data_i64 (ids));
  return g_steal_pointer (&ids);
}

static GillTensor *
new_f32 (gint64 d0,
         gint64 d1,
         gint64 d2)
{
  gint64 shape[3] = { d0, d1, d2 };
  return gill_tensor_new_f32 (d2 > 0 ? 3 : 2, shape);
}

/* ------------------------------------------------------------------ opt.forward */

static gboolean
run_opt_forward (const GillCheckCase *c,
                 GillCheckResults    *out,
                 GError             **error)
{
  g_autoptr (CaseModel) m = case_model_open (c, error);
  g_autoptr (GillTensor) ids = m ? input_ids_2d (c, "input_ids", error) : NULL;
  if (ids == NULL)
    return FALSE;
  g_autoptr (GillTensor) mask = NULL;
  if (gill_check_input (c, "attention_mask") && (mask = input_ids_2d (c, "attention_mask", error)) == NULL)
    return FALSE;
  const GillOptWeights *w = m->weights;
  const GillOptConfig *cfg = &w->config;
  const gint64 B = ids->shape[0], T = ids->shape[1], V = w->n_vocab;
  if (mask && !gill_tensor_has_shape (mask, 2, ids->shape))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "case '%s': attention_mask and input_ids differ in shape", c->name);
      return FALSE;
    }

  g_autoptr (GillOptState) state = gill_opt_state_new (cfg, B, T, error);
  if (state == NULL)
    return FALSE;
  g_autoptr (GillTensor) logits = new_f32 (B, T, V);
  g_autoptr (GPtrArray) hidden = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_tensor_unref);
  g_autofree float **hs = g_new0 (float *, cfg->n_layer + 1);
  for (gint64 k = 0; k <= cfg->n_layer; k++)
    {
      GillTensor *t = new_f32 (B, T, k == cfg->n_layer ? cfg->n_word_embd : cfg->n_embd);
      g_ptr_array_add (hidden, t);
      hs[k] = gill_tensor_data_f32 (t);
    }
  GillOptInput in = { .batch = B, .seq = T, .input_ids = gill_tensor_data_i64 (ids),
                      .attention_mask = mask ? gill_tensor_data_i64 (mask) : NULL };
  GillOptOutput o = { .logits_rows = GILL_OPT_LOGITS_ALL, .logits = gill_tensor_data_f32 (logits), .hidden_states = hs };
  if (!gill_opt_forward (w, state, &in, &o, error))
    return FALSE;

  /* logits [B, T, V]; logits_last [B, V]; logits_last_valid: each row's last unmasked position */
  const float *lp = gill_tensor_data_f32 (logits);
  g_autoptr (GillTensor) last = new_f32 (B, V, 0);
  g_autoptr (GillTensor) last_valid = new_f32 (B, V, 0);
  gint64 argmax_shape[2] = { B, T };
  g_autoptr (GillTensor) argmax = gill_tensor_new_i64 (2, argmax_shape);
  for (gint64 b = 0; b < B; b++)
    {
      gint64 valid = T;
      if (mask)
        {
          valid = 0;
          for (gint64 t = 0; t < T; t++)
            valid += gill_tensor_data_i64 (mask)[b * T + t] != 0;
        }
      memcpy (gill_tensor_data_f32 (last) + b * V, lp + (b * T + T - 1) * V, sizeof (float) * V);
      memcpy (gill_tensor_data_f32 (last_valid) + b * V, lp + (b * T + MAX (valid, 1) - 1) * V, sizeof (float) * V);
      for (gint64 t = 0; t < T; t++)
        {
          const float *row = lp + (b * T + t) * V;
          gint64 best = 0;
          for (gint64 v = 1; v < V; v++)
            if (row[v] > row[best])
              best = v;
          gill_tensor_data_i64 (argmax)[b * T + t] = best;
        }
    }
  gill_check_results_set_tensor (out, "logits", logits);
  gill_check_results_set_tensor (out, "logits_last", last);
  gill_check_results_set_tensor (out, "logits_last_valid", last_valid);
  gill_check_results_set_tensor (out, "logits_argmax", argmax);
  for (gint64 k = 0; k <= cfg->n_layer; k++)
    {
      g_autofree gchar *key = g_strdup_printf ("hidden_state_%" G_GINT64_FORMAT, k);
      gill_check_results_set_tensor (out, key, g_ptr_array_index (hidden, k));
    }
  gill_check_results_set_tensor (out, "last_hidden_state", g_ptr_array_index (hidden, cfg->n_layer));
  return TRUE;
}

/* ------------------------------------------------------------------ opt.greedy */

static gboolean
run_opt_greedy (const GillCheckCase *c,
                GillCheckResults    *out,
                GError             **error)
{
  g_autoptr (CaseModel) m = case_model_open (c, error);
  g_autoptr (GillTensor) ids = m ? input_ids_2d (c, "input_ids", error) : NULL;
  gint64 max_new = 0;
  if (ids == NULL || !gill_check_input_int (c, "max_new_tokens", &max_new, error))
    return FALSE;
  const gint64 T = ids->shape[1];
  if (ids->shape[0] != 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED, "case '%s': greedy decoding runs one sequence", c->name);
      return FALSE;
    }
  g_autoptr (GillOptState) state = gill_opt_state_new (&m->weights->config, 1, T + max_new, error);
  if (state == NULL)
    return FALSE;
  /* HF generate (do_sample=False): argmax, stop after eos (generation_config.eos_token_id) */
  GillOptGenerateParams params;
  gill_opt_generate_params_init (&params);
  params.max_new_tokens = max_new;
  params.eos_token_id = m->weights->config.eos_token_id;
  GillOptInput prompt = { .batch = 1, .seq = T, .input_ids = gill_tensor_data_i64 (ids) };
  g_autoptr (GillOptGeneration) g = gill_opt_generate (m->weights, state, &prompt, &params, error);
  if (g == NULL)
    return FALSE;

  gint64 seq_shape[2] = { 1, T + g->tokens->len };
  g_autoptr (GillTensor) sequences = gill_tensor_new_i64 (2, seq_shape);
  memcpy (gill_tensor_data_i64 (sequences), gill_tensor_data_i64 (ids), sizeof (gint64) * T);
  memcpy (gill_tensor_data_i64 (sequences) + T, g->tokens->data, sizeof (gint64) * g->tokens->len);
  g_autoptr (GillTensor) max_logit = new_f32 (1, g->step_max_logit->len, 0);
  memcpy (gill_tensor_data_f32 (max_logit), g->step_max_logit->data, sizeof (float) * g->step_max_logit->len);
  gill_check_results_set_tensor (out, "sequences", sequences);
  gill_check_results_set_tensor (out, "step_max_logit", max_logit);
  return TRUE;
}

/* ------------------------------------------------------------------ opt.kv_cache */

static gboolean
run_opt_kv_cache (const GillCheckCase *c,
                  GillCheckResults    *out,
                  GError             **error)
{
  g_autoptr (CaseModel) m = case_model_open (c, error);
  g_autoptr (GillTensor) ids = m ? input_ids_2d (c, "input_ids", error) : NULL;
  gint64 prefix = 0;
  if (ids == NULL || !gill_check_input_int (c, "prefix_len", &prefix, error))
    return FALSE;
  const GillOptWeights *w = m->weights;
  const GillOptConfig *cfg = &w->config;
  const gint64 N = ids->shape[1], V = w->n_vocab, W = cfg->n_word_embd;
  const gint64 H = cfg->n_head, D = cfg->n_embd / cfg->n_head, steps = N - prefix + 1;
  if (ids->shape[0] != 1 || prefix < 1 || prefix > N)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "case '%s': needs one sequence and 1 <= prefix_len <= its length",
                   c->name);
      return FALSE;
    }
  g_autoptr (GillOptState) state = gill_opt_state_new (cfg, 1, N, error);
  if (state == NULL)
    return FALSE;
  const gint64 *idp = gill_tensor_data_i64 (ids);
  g_autoptr (GillTensor) hidden = new_f32 (1, steps, W);
  g_autoptr (GillTensor) first = new_f32 (1, V, 0);
  g_autoptr (GillTensor) last = new_f32 (1, V, 0);
  gint64 am_shape[2] = { 1, steps };
  g_autoptr (GillTensor) argmax = gill_tensor_new_i64 (2, am_shape);
  g_autofree float *logits = g_new (float, V);
  g_autofree float *prefix_hidden = g_new (float, prefix * W);
  g_autofree float **hs = g_new0 (float *, cfg->n_layer + 1);

  /* the prefix in one forward, then one token at a time through the cache */
  for (gint64 step = 0; step < steps; step++)
    {
      GillOptInput in = { .batch = 1, .seq = step == 0 ? prefix : 1, .input_ids = idp + (step == 0 ? 0 : prefix + step - 1) };
      hs[cfg->n_layer] = step == 0 ? prefix_hidden : gill_tensor_data_f32 (hidden) + step * W;
      GillOptOutput o = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = logits, .hidden_states = hs };
      if (!gill_opt_forward (w, state, &in, &o, error))
        return FALSE;
      if (step == 0)
        {
          memcpy (gill_tensor_data_f32 (hidden), prefix_hidden + (prefix - 1) * W, sizeof (float) * W);
          memcpy (gill_tensor_data_f32 (first), logits, sizeof (float) * V);
          /* past_key_i / past_value_i [1, H, prefix, D]: the cache after the prefix */
          for (gint64 l = 0; l < cfg->n_layer; l++)
            for (gint kv = 0; kv < 2; kv++)
              {
                g_autoptr (GillTensor) t = gill_tensor_new_f32 (4, (gint64[]) { 1, H, prefix, D });
                const float *cache = (kv ? state->v_cache : state->k_cache) + l * H * state->max_seq * D;
                for (gint64 h = 0; h < H; h++)
                  memcpy (gill_tensor_data_f32 (t) + h * prefix * D, cache + h * state->max_seq * D,
                          sizeof (float) * prefix * D);
                g_autofree gchar *key = g_strdup_printf ("past_%s_%" G_GINT64_FORMAT, kv ? "value" : "key", l);
                gill_check_results_set_tensor (out, key, t);
              }
        }
      gint64 best = 0;
      for (gint64 v = 1; v < V; v++)
        if (logits[v] > logits[best])
          best = v;
      gill_tensor_data_i64 (argmax)[step] = best;
    }
  memcpy (gill_tensor_data_f32 (last), logits, sizeof (float) * V);
  gill_check_results_set_tensor (out, "last_hidden_incremental", hidden);
  gill_check_results_set_tensor (out, "logits_incremental_argmax", argmax);
  gill_check_results_set_tensor (out, "logits_incremental_first", first);
  gill_check_results_set_tensor (out, "logits_incremental_last", last);
  return TRUE;
}

/* for other rooms (gill.load): the case's OPT model, GILL's LM in a GILL folder */
GillCheckOptModel *
gill_check_opt_model_open (const GillCheckCase *c,
                           GError             **error)
{
  return case_model_open (c, error);
}

const GillOptWeights *
gill_check_opt_model_weights (const GillCheckOptModel *model)
{
  return model->weights;
}

void
gill_check_opt_model_free (GillCheckOptModel *model)
{
  case_model_free (model);
}

const GillCheckKind gill_check_kinds_opt[] = {
  { "opt.forward", run_opt_forward, opt_layouts },
  { "opt.greedy", run_opt_greedy, opt_layouts },
  { "opt.kv_cache", run_opt_kv_cache, opt_layouts },
  { NULL },
};
