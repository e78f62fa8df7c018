/* check-gill.c — fixture kinds gill.load, gill.visual, gill.mapper, gill.retrieval, gill.decision
 * and gill.generate (fixtures README, "gill.load", "gill.visual, gill.mapper, gill.retrieval,
 * gill.decision" and "gill.generate (tiny-gill)").
 *
 * The fixture folder is the GILL folder (core/gill/gill-model.h opens it, once per folder);
 * fixture_paths.json maps model_args' hub names to the base-model folders: the LM for gill.load
 * (through check-opt.c, which applies load_gill's embedding resize), CLIP for gill.visual; all of
 * them and SD for gill.generate, whose procedure is core/gill/gill-generate.c. */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/gill/clip-model.h"
#include "core/gill/gill-generate.h"
#include "core/gill/gill-model.h"
#include "core/gill/sd-run.h"
#include "core/image/image.h"
#include "core/models/vae.h"

/* ------------------------------------------------------------------ the GILL folder */

static GillModel *
case_gill (const GillCheckCase *c, GError **error)
{
  GillModel *model = gill_check_cache_lookup (c, "gill.model");
  if (model == NULL && (model = gill_model_open (c->folder, error)) != NULL)
    gill_check_cache_insert (c, "gill.model", model, (GDestroyNotify) gill_model_free);
  return model;
}

/* the folder fixture_paths.json gives for a hub name (its `field` when it is an object) */
static gchar *
base_model_path (const GillCheckCase *c, const gchar *hub, const gchar *field, GError **error)
{
  g_autofree gchar *path = gill_check_path (c, "fixture_paths.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *entry
      = root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), hub) : NULL;
  if (entry && JSON_NODE_HOLDS_OBJECT (entry))
    entry = json_object_get_member (json_node_get_object (entry), field);
  if (entry == NULL || !JSON_NODE_HOLDS_VALUE (entry) || json_node_get_value_type (entry) != G_TYPE_STRING)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no %s folder for '%s'", path, field, hub);
      return NULL;
    }
  return gill_check_path (c, json_node_get_string (entry));
}

static gchar *
base_model_folder (const GillCheckCase *c, const gchar *hub, GError **error)
{
  return base_model_path (c, hub, "weights", error);
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

/* ------------------------------------------------------------------ gill.generate */

/* GILL's LM, tokenizer, CLIP and SD, opened once per folder */
static gboolean
case_generate_models (const GillCheckCase *c, GillGenerateModels *m, GError **error)
{
  if ((m->gill = case_gill (c, error)) == NULL)
    return FALSE;
  const gchar *lm_hub = m->gill->args.opt_version, *clip_hub = m->gill->args.visual_encoder;
  GillCheckOptModel *lm = gill_check_cache_lookup (c, "gill.lm");
  if (lm == NULL && (lm = gill_check_opt_model_open (c, error)) != NULL)
    gill_check_cache_insert (c, "gill.lm", lm, (GDestroyNotify) gill_check_opt_model_free);
  GillOptTokenizer *tok = gill_check_cache_lookup (c, "gill.tokenizer");
  g_autofree gchar *tok_folder = tok || !lm ? NULL : base_model_path (c, lm_hub, "tokenizer", error);
  if (tok_folder && (tok = gill_opt_tokenizer_load (tok_folder, error)) != NULL)
    {
      gill_opt_tokenizer_add_gill_tokens (tok);
      gill_check_cache_insert (c, "gill.tokenizer", tok, (GDestroyNotify) gill_opt_tokenizer_free);
    }
  GillClipModel *clip = gill_check_cache_lookup (c, "gill.clip");
  g_autofree gchar *clip_folder = clip || !tok ? NULL : base_model_folder (c, clip_hub, error);
  if (clip_folder && (clip = gill_clip_model_open (clip_folder, GILL_CLIP_TOWER_VISION, error)) != NULL)
    gill_check_cache_insert (c, "gill.clip", clip, (GDestroyNotify) gill_clip_model_free);
  /* GILL's SD is hard-coded, not in model_args */
  GillSdFiles *sd = gill_check_cache_lookup (c, "gill.sd");
  g_autofree gchar *sd_folder = sd || !clip ? NULL : base_model_folder (c, "runwayml/stable-diffusion-v1-5", error);
  if (sd_folder && (sd = gill_sd_files_open (sd_folder, NULL, error)) != NULL)
    gill_check_cache_insert (c, "gill.sd", sd, (GDestroyNotify) gill_sd_files_free);
  if (sd == NULL)
    return FALSE;
  *m = (GillGenerateModels){
    .gill = m->gill, .lm = gill_check_opt_model_weights (lm), .tokenizer = tok, .clip = clip, .sd = sd
  };
  return TRUE;
}

/* inputs.parts: {"text"} or {"image_file"} (relative to the folder); images kept in `images` */
static GillGeneratePart *
case_parts (const GillCheckCase *c, GPtrArray *images, gsize *n_parts, GError **error)
{
  JsonNode *node = gill_check_input (c, "parts");
  JsonArray *array = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (array == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "case '%s': inputs.parts is not a list", c->name);
      return NULL;
    }
  *n_parts = json_array_get_length (array);
  g_autofree GillGeneratePart *parts = g_new0 (GillGeneratePart, MAX (*n_parts, 1));
  for (gsize i = 0; i < *n_parts; i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
      const gchar *text = o ? json_object_get_string_member_with_default (o, "text", NULL) : NULL;
      const gchar *file = o ? json_object_get_string_member_with_default (o, "image_file", NULL) : NULL;
      if (text)
        parts[i].text = text;
      else if (file)
        {
          g_autofree gchar *path = gill_check_path (c, file);
          GillImage *image = gill_image_load_rgb (path, error);
          if (image == NULL)
            return NULL;
          g_ptr_array_add (images, image);
          parts[i].image = image;
        }
      else
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "case '%s': inputs.parts[%" G_GSIZE_FORMAT "] has neither \"text\" nor \"image_file\"", c->name,
                       i);
          return NULL;
        }
    }
  return g_steal_pointer (&parts);
}

static gboolean
case_generate_params (const GillCheckCase *c, GillGenerateParams *p, GError **error)
{
  gill_generate_params_default (p);
  gint64 steps;
  double ret, gen, temperature, top_p, guidance;
  if (!gill_check_input_int (c, "num_words", &p->num_words, error)
      || !gill_check_input_int (c, "min_word_tokens", &p->min_word_tokens, error)
      || !gill_check_input_double (c, "ret_scale_factor", &ret, error)
      || !gill_check_input_double (c, "gen_scale_factor", &gen, error)
      || !gill_check_input_double (c, "temperature", &temperature, error)
      || !gill_check_input_double (c, "top_p", &top_p, error)
      || !gill_check_input_double (c, "guidance_scale", &guidance, error)
      || !gill_check_input_int (c, "num_inference_steps", &steps, error))
    return FALSE;
  if (steps < 1 || steps > G_MAXINT)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "case '%s': num_inference_steps %" G_GINT64_FORMAT, c->name,
                   steps);
      return FALSE;
    }
  p->ret_scale_factor = (float) ret;
  p->gen_scale_factor = (float) gen;
  p->temperature = (float) temperature;
  p->top_p = (float) top_p;
  p->guidance_scale = (float) guidance;
  p->n_inference_steps = (gint) steps;
  return TRUE;
}

static void
set_generation (GillCheckResults *out, const GillGeneration *g)
{
  const struct
  {
    const gchar *key;
    GillTensor *tensor;
  } tensors[] = {
    { "input_embs", g->input_embs },
    { "generated_ids", g->generated_ids },
    { "step_max_logit", g->step_max_logit },
    { "last_hidden_states", g->last_hidden_states },
    { "img_hidden_states", g->img_hidden_states },
    { "ret_emb", g->ret_emb },
    { "retrieval_scores", g->retrieval_scores },
    { "retrieval_top3", g->retrieval_top3 },
    { "decision_logits", g->decision_logits },
    { "gen_prefix_embs", g->gen_prefix_embs },
    { "mapper_output", g->mapper_output },
    { "sd_image", g->sd_image },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++)
    if (tensors[i].tensor)
      gill_check_results_set_tensor (out, tensors[i].key, tensors[i].tensor);
  if (g->img0_position >= 0)
    {
      g_autoptr (JsonNode) position = json_node_init_int (json_node_alloc (), g->img0_position);
      gill_check_results_set_json (out, "img0_position", position);
    }
  if (g->decision)
    gill_check_results_set_string (out, "decision", g->decision);
  if (g->has_gen_rank_score)
    gill_check_results_set_double (out, "gen_rank_score", g->gen_rank_score);
  gill_check_results_set_string (out, "caption", g->caption);
}

/* SD's initial latents: [1, in_channels, H / f, W / f] for the pipeline's default image size */
static gboolean
latents_fit (const GillCheckCase *c, GillSdFiles *sd, const GillTensor *latents, GError **error)
{
  GillVaeConfig vae;
  if (!gill_vae_config_from_json (gill_sd_files_config (sd, GILL_SD_PART_VAE), "vae config", &vae, error))
    return FALSE;
  GillSdRunParams params;
  gill_sd_run_params_default (&params);
  gint64 height, width;
  gill_sd_run_image_size (sd, &params, &height, &width);
  JsonObject *unet = gill_sd_files_config (sd, GILL_SD_PART_UNET);
  const gint64 f = (gint64) 1 << (vae.n_blocks - 1);
  const gint64 channels = unet ? json_object_get_int_member_with_default (unet, "in_channels", 4) : 4;
  gint64 want[4] = { 1, channels, height / f, width / f };
  if (!gill_tensor_has_shape (latents, 4, want))
    {
      g_autofree gchar *shape = gill_tensor_shape_string (latents);
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "case '%s': sd_initial_latents %s; SD's %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " image takes [1, %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                   c->name, shape, width, height, channels, height / f, width / f);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_generate (const GillCheckCase *c, GillCheckResults *out, GError **error)
{
  GillGenerateModels models;
  GillGenerateParams params;
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_image_free);
  gsize n_parts = 0;
  if (!case_generate_models (c, &models, error) || !case_generate_params (c, &params, error))
    return FALSE;
  g_autofree GillGeneratePart *parts = case_parts (c, images, &n_parts, error);
  g_autoptr (GillTensor) latents = parts ? input_floats (c, "sd_initial_latents", 4, 0, error) : NULL;
  if (latents == NULL || !latents_fit (c, models.sd, latents, error))
    return FALSE;
  params.sd_latents = gill_tensor_data_f32 (latents);
  g_autoptr (GillGeneration) g = gill_generate (&models, parts, n_parts, &params, error);
  if (g == NULL)
    return FALSE;
  set_generation (out, g);
  return TRUE;
}

const GillCheckKind gill_check_kinds_gill[] = {
  { "gill.load", run_load, NULL },
  { "gill.visual", run_visual, NULL },
  { "gill.mapper", run_mapper, NULL },
  { "gill.retrieval", run_retrieval, NULL },
  { "gill.decision", run_decision, NULL },
  { "gill.generate", run_generate, NULL },
  { NULL },
};
