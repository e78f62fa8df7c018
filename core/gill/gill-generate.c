/* gill-generate.c — GILL.generate_for_images_and_texts: see gill-generate.h. */
#include "core/gill/gill-generate.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/gill/sd-run.h"
#include "core/image/preprocess.h"
#include "core/image/resize.h"
#include "core/models/clip.h"

#define N_TOP 3 /* topk (scores, 3) */

void
gill_generate_params_default (GillGenerateParams *params)
{
  *params = (GillGenerateParams){
    .num_words = 0,
    .min_word_tokens = 0,
    .ret_scale_factor = 1.0f,
    .gen_scale_factor = 1.0f,
    .temperature = 0.0f,
    .top_p = 1.0f,
    .guidance_scale = 7.5f,
    .n_inference_steps = 50,
  };
}

void
gill_generation_free (GillGeneration *g)
{
  if (g == NULL)
    return;
  GillTensor **tensors[] = { &g->input_embs,        &g->generated_ids,   &g->step_max_logit,   &g->last_hidden_states,
                             &g->img_hidden_states, &g->ret_emb,         &g->retrieval_scores, &g->retrieval_top3,
                             &g->decision_logits,   &g->gen_prefix_embs, &g->mapper_output,    &g->sd_image };
  for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++)
    g_clear_pointer (tensors[i], gill_tensor_unref);
  g_free (g->caption);
  g_free (g);
}

gchar *
gill_generate_truncate_caption (const gchar *caption)
{
  while (*caption == '\n')
    caption++;
  gsize n = strlen (caption);
  while (n > 0 && caption[n - 1] == '\n')
    n--;
  const gchar *cut = memchr (caption, '\n', n);
  if (cut == NULL)
    cut = memchr (caption, '.', n);
  return g_strndup (caption, cut ? (gsize) (cut - caption) + 1 : n);
}

/* ------------------------------------------------------------------ the input sequence (§3.2) */

/* CLIP pooler_output [C] of an RGB image through the model's preprocessing */
static gboolean
clip_pooled (GillClipModel *clip, const GillImage *image, float *pooled, GError **error)
{
  const GillClipVisionConfig *config = &clip->vision_config;
  const gint64 s = config->image_size;
  g_autofree float *pixels = g_new (float, config->num_channels * s * s);
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (config, 1, error);
  if (state == NULL || !gill_preprocess_image_into (&clip->preprocess, image, pixels, error))
    return FALSE;
  GillClipOutput out = { .pooler_output = pooled };
  return gill_clip_vision_forward (clip->vision, state, pixels, 1, &out, error);
}

/* CLIP's vision tower, as wide as GILL's visual heads take */
static gboolean
clip_usable (const GillGenerateModels *m)
{
  return m->clip && m->clip->vision && m->clip->vision_config.encoder.hidden_size == m->gill->clip_dim;
}

/* an image part: visual_embeddings (pooled) -> rows [n_visual_tokens, D] appended to embs */
static gboolean
append_image (const GillGenerateModels *m, const GillImage *image, GArray *embs, GError **error)
{
  const GillModel *gill = m->gill;
  if (!clip_usable (m))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "an image part needs CLIP's vision tower with GILL's width %" G_GINT64_FORMAT, gill->clip_dim);
      return FALSE;
    }
  g_autofree float *pooled = g_new (float, gill->clip_dim);
  if (!clip_pooled (m->clip, image, pooled, error))
    return FALSE;
  const gint64 n = gill->args.n_visual_tokens * gill->lm_dim;
  g_array_set_size (embs, embs->len + n);
  gill_model_visual_embs (gill, pooled, 1, GILL_VISUAL_CAPTIONING, &g_array_index (embs, float, embs->len - n));
  return TRUE;
}

/* the embedding rows of ids appended to embs */
static gboolean
append_ids (const GillOptWeights *lm, const gint64 *ids, gint64 n, GArray *embs, GError **error)
{
  const gint64 W = lm->config.n_word_embd;
  g_array_set_size (embs, embs->len + n * W);
  return gill_opt_embed (lm, ids, n, &g_array_index (embs, float, embs->len - n * W), error);
}

/* a text part: tok (text, add_special_tokens = bos) -> its embedding rows */
static gboolean
append_text (const GillGenerateModels *m, const gchar *text, gboolean bos, GArray *embs, GError **error)
{
  g_autoptr (GArray) ids32 = gill_opt_tokenizer_encode (m->tokenizer, text, -1, bos, error);
  if (ids32 == NULL)
    return FALSE;
  g_autofree gint64 *ids = g_new (gint64, MAX (ids32->len, 1));
  for (guint i = 0; i < ids32->len; i++)
    ids[i] = g_array_index (ids32, gint32, i);
  return append_ids (m->lm, ids, ids32->len, embs, error);
}

static gboolean
check_parts (const GillGeneratePart *parts, gsize n_parts, GError **error)
{
  gboolean any_text = FALSE;
  for (gsize i = 0; i < n_parts; i++)
    {
      if ((parts[i].text == NULL) == (parts[i].image == NULL))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "prompt part %" G_GSIZE_FORMAT ": give exactly one of text and image", i);
          return FALSE;
        }
      any_text |= parts[i].text != NULL;
    }
  if (!any_text)
    g_set_error_literal (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                         "the prompt has no text part (GILL needs at least one)");
  return any_text;
}

/* input_embs [T_in, D]: images through the visual head, texts through the embedding, BOS on the
 * first text part only (even after an image) */
static GArray *
input_embeddings (const GillGenerateModels *m, const GillGeneratePart *parts, gsize n_parts, GError **error)
{
  g_autoptr (GArray) embs = g_array_new (FALSE, FALSE, sizeof (float));
  gboolean bos = TRUE;
  for (gsize i = 0; i < n_parts; i++)
    {
      gboolean ok = parts[i].image ? append_image (m, parts[i].image, embs, error)
                                   : append_text (m, parts[i].text, bos, embs, error);
      if (!ok)
        return NULL;
      bos &= parts[i].image != NULL;
    }
  return g_steal_pointer (&embs);
}

/* ------------------------------------------------------------------ the decoding loop (§4.3) */

/* the step's logit edits, then argmax (first index wins); *max = the chosen logit */
static gint64
choose_token (
    float *l, gint64 n_vocab, const gint64 *img, gint64 n_img, gint64 step, const GillGenerateParams *p, float *max)
{
  for (gint64 k = 1; k < n_img; k++)
    l[img[k]] = -INFINITY; /* [IMG1..] are never sampled */
  if (step < p->min_word_tokens)
    l[img[0]] = -INFINITY; /* no image yet */
  else
    {
      if (p->ret_scale_factor > 1.0f)
        l[img[0]] = fabsf (l[img[0]]) * p->ret_scale_factor;
      if (p->gen_scale_factor > 1.0f)
        l[img[0]] = fabsf (l[img[0]]) * p->gen_scale_factor;
    }
  gint64 best = 0;
  for (gint64 v = 1; v < n_vocab; v++)
    if (l[v] > l[best])
      best = v;
  *max = l[best];
  return best;
}

typedef struct
{
  GArray *seq;     /* float [T, W]: input_embs, then the appended tokens' rows */
  GArray *ids;     /* gint64: the appended tokens */
  float *step_max; /* [num_words] */
  float *hidden;   /* [T_last, W]: the final call's last layer */
  gint64 T_last;   /* positions of the final call */
} Loop;

static gboolean
decode_loop (const GillGenerateModels *m, const GillGenerateParams *p, Loop *loop, GError **error)
{
  const GillOptWeights *lm = m->lm;
  const GillModelArgs *args = &m->gill->args;
  const gint64 W = lm->config.n_word_embd, T_in = loop->seq->len / W;
  const gint64 cap = T_in + p->num_words * args->num_tokens;
  /* positions past n_ctx are refused below, before they reach the state */
  g_autoptr (GillOptState) state = gill_opt_state_new (&lm->config, 1, MIN (cap, lm->config.n_ctx), error);
  if (state == NULL)
    return FALSE;
  g_autofree float *logits = g_new (float, lm->n_vocab);
  g_autofree float **hs = g_new0 (float *, lm->config.n_layer + 1);
  loop->hidden = g_new (float, cap * W);
  hs[lm->config.n_layer] = loop->hidden;
  for (gint64 step = 0; step < p->num_words; step++)
    {
      const gint64 T = loop->seq->len / W;
      if (T > lm->config.n_ctx)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "prompt and generated tokens take %" G_GINT64_FORMAT " positions; the LM has %" G_GINT64_FORMAT,
                       T, lm->config.n_ctx);
          return FALSE;
        }
      /* the whole sequence again: no KV cache, as the reference */
      gill_opt_state_reset (state);
      GillOptInput in = { .batch = 1, .seq = T, .inputs_embeds = (const float *) loop->seq->data };
      GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = logits, .hidden_states = hs };
      if (!gill_opt_forward (lm, state, &in, &out, error))
        return FALSE;
      loop->T_last = T;
      gint64 tok
          = choose_token (logits, lm->n_vocab, args->gen_token_idx, args->num_tokens, step, p, &loop->step_max[step]);
      /* [IMG0] brings all of [IMG0..IMG7] at once */
      const gint64 *added = tok == args->gen_token_idx[0] ? args->gen_token_idx : &tok;
      gint64 n_added = tok == args->gen_token_idx[0] ? args->num_tokens : 1;
      g_array_append_vals (loop->ids, added, n_added);
      if (!append_ids (lm, added, n_added, loop->seq, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ after the loop (§4.4–§7) */

static GillTensor *
f32_tensor (gint n_dims, const gint64 *shape, const float *data)
{
  GillTensor *t = gill_tensor_new_f32 (n_dims, shape);
  gsize n = 1;
  for (gint i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];
  memcpy (gill_tensor_data_f32 (t), data, n * sizeof (float));
  return t;
}

/* torch.topk (scores [N], k).indices, largest first (first index wins ties) */
static GillTensor *
top_k (const float *scores, gint64 n, gint64 k)
{
  GillTensor *top = gill_tensor_new_i64 (1, &k);
  gint64 *idx = gill_tensor_data_i64 (top);
  g_autofree gboolean *taken = g_new0 (gboolean, n);
  for (gint64 r = 0; r < k; r++)
    {
      gint64 best = -1;
      for (gint64 i = 0; i < n; i++)
        if (!taken[i] && (best < 0 || scores[i] > scores[best]))
          best = i;
      taken[best] = TRUE;
      idx[r] = best;
    }
  return top;
}

/* retrieval scores, top 3 and the decision for raw_emb (the [IMG] hidden states) */
static gboolean
retrieve_and_decide (const GillModel *gill, const float *raw, GillGeneration *g, GError **error)
{
  const gint64 R = gill->args.ret_emb_dim, D = gill->lm_dim;
  g->ret_emb = gill_tensor_new_f32 (2, (gint64[]){ 1, R });
  gill_model_retrieval_embed (gill, raw, 1, gill->args.num_tokens, gill_tensor_data_f32 (g->ret_emb));
  if (gill->emb_matrix == NULL)
    {
      g->decision = "gen"; /* without retrieval GILL always generates */
      return TRUE;
    }
  const gint64 N = gill->emb_matrix->shape[0];
  g_autofree float *normalized = g_new (float, R);
  g->retrieval_scores = gill_tensor_new_f32 (2, (gint64[]){ N, 1 });
  float *scores = gill_tensor_data_f32 (g->retrieval_scores);
  if (!gill_model_retrieval_scores (gill, gill_tensor_data_f32 (g->ret_emb), 1, normalized, scores, error))
    return FALSE;
  g->retrieval_top3 = top_k (scores, N, MIN (N, N_TOP));
  if (gill->decision == NULL)
    return TRUE;
  /* the decision head's input: the [IMG0] state, plus the max score in the 4097-wide release */
  const gint64 in_dim = gill->decision->in_dim;
  if (in_dim != D && in_dim != D + 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "the decision head takes %" G_GINT64_FORMAT " inputs; the LM's width is %" G_GINT64_FORMAT, in_dim,
                   D);
      return FALSE;
    }
  g_autofree float *x = g_new (float, in_dim);
  memcpy (x, raw, D * sizeof (float));
  if (in_dim == D + 1)
    x[D] = scores[gill_tensor_data_i64 (g->retrieval_top3)[0]];
  g->decision_logits = gill_tensor_new_f32 (2, (gint64[]){ 1, 2 });
  float *logits = gill_tensor_data_f32 (g->decision_logits);
  gill_decision_forward (gill->decision, x, 1, logits, NULL);
  g->decision = logits[1] > logits[0] ? "ret" : "gen"; /* idx2dec[argmax] */
  return TRUE;
}

/* GILLMapper (raw_emb + the [IMG] input embeddings) -> SD's prompt embeddings */
static gboolean
map_to_prompt (const GillGenerateModels *m, const float *raw, GillGeneration *g, GError **error)
{
  const GillModel *gill = m->gill;
  const gint64 n = gill->args.num_tokens, D = gill->lm_dim;
  const GillMapperConfig *config = &gill->mapper->config;
  g->gen_prefix_embs = gill_tensor_new_f32 (3, (gint64[]){ 1, n, D });
  g->mapper_output = gill_tensor_new_f32 (3, (gint64[]){ 1, config->n_output_tokens, config->out_dim });
  return gill_opt_embed (m->lm, gill->args.gen_token_idx, n, gill_tensor_data_f32 (g->gen_prefix_embs), error)
         && gill_mapper_forward (gill->mapper, raw, gill_tensor_data_f32 (g->gen_prefix_embs), 1, n,
                                 gill_tensor_data_f32 (g->mapper_output), error);
}

static gboolean
generate_image (const GillGenerateModels *m, const GillGenerateParams *p, GillGeneration *g, GError **error)
{
  GillSdRunParams sd;
  gill_sd_run_params_default (&sd);
  sd.n_steps = p->n_inference_steps;
  sd.guidance_scale = p->guidance_scale;
  sd.latents = p->sd_latents;
  sd.seed = p->sd_seed;
  gint64 H, W;
  gill_sd_run_image_size (m->sd, &sd, &H, &W);
  g->sd_image = gill_tensor_new_f32 (4, (gint64[]){ 1, H, W, 3 });
  return gill_sd_run_from_embeddings (m->sd, &sd, gill_tensor_data_f32 (g->mapper_output), g->mapper_output->shape[1],
                                      gill_tensor_data_f32 (g->sd_image), error);
}

/* the generated image as GILL scores it: numpy_to_pil (round (x 255)), resize ((224, 224)) bicubic,
 * CLIP -> visual_fc, normalised, against normalize (ret_emb) */
static gboolean
rank_generated (const GillGenerateModels *m, GillGeneration *g, GError **error)
{
  const GillModel *gill = m->gill;
  const gint64 H = g->sd_image->shape[1], W = g->sd_image->shape[2], R = gill->args.ret_emb_dim;
  g_autoptr (GillImage) image = gill_image_new ((gint) W, (gint) H, 3);
  const float *x = gill_tensor_data_f32 (g->sd_image);
  for (gint64 i = 0; i < H * W * 3; i++)
    image->pixels[i] = (guint8) rintf (CLAMP (x[i], 0.0f, 1.0f) * 255.0f);
  g_autoptr (GillImage) resized = gill_image_resize (image, 224, 224, GILL_RESAMPLE_BICUBIC, error);
  g_autofree float *pooled = g_new (float, gill->clip_dim);
  g_autofree float *img_emb = g_new (float, R);
  if (resized == NULL || !clip_pooled (m->clip, resized, pooled, error))
    return FALSE;
  gill_model_visual_embs (gill, pooled, 1, GILL_VISUAL_RETRIEVAL, img_emb);
  const float *ret = gill_tensor_data_f32 (g->ret_emb);
  double dot = 0, img_norm = 0, ret_norm = 0;
  for (gint64 k = 0; k < R; k++)
    {
      dot += (double) img_emb[k] * ret[k];
      img_norm += (double) img_emb[k] * img_emb[k];
      ret_norm += (double) ret[k] * ret[k];
    }
  g->gen_rank_score = dot / sqrt (img_norm * ret_norm);
  g->has_gen_rank_score = TRUE;
  return TRUE;
}

/* decode (ids, skip_special_tokens) */
static gchar *
decode (const GillGenerateModels *m, const gint64 *ids, gint64 n, GError **error)
{
  g_autofree gint32 *ids32 = g_new (gint32, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    ids32[i] = (gint32) ids[i];
  return gill_opt_tokenizer_decode (m->tokenizer, ids32, n, TRUE, NULL, error);
}

/* caption: the text before [IMG0] (or all of it) truncated, then "[IMG0]...[IMG7]" */
static gboolean
make_caption (const GillGenerateModels *m, const gint64 *ids, gint64 n, GillGeneration *g, GError **error)
{
  const gint64 end = g->img0_position >= 0 ? g->img0_position : n;
  g_autofree gchar *text = decode (m, ids, end, error);
  if (text == NULL)
    return FALSE;
  g_autofree gchar *truncated = gill_generate_truncate_caption (text);
  if (g->img0_position < 0)
    {
      g->caption = g_steal_pointer (&truncated);
      return TRUE;
    }
  GString *caption = g_string_new (truncated);
  g_string_append_c (caption, ' ');
  for (gint64 k = 0; k < m->gill->args.num_tokens; k++)
    g_string_append (caption, gill_opt_tokenizer_id_to_token (m->tokenizer, (gint32) m->gill->args.gen_token_idx[k]));
  g->caption = g_string_free (caption, FALSE);
  return TRUE;
}

/* the generated ids up to the first '\n' (if it is not the first), as GILL cuts them */
static gint64
kept_length (const GillGenerateModels *m, const gint64 *ids, gint64 n)
{
  g_autoptr (GArray) nl = gill_opt_tokenizer_encode (m->tokenizer, "\n", -1, FALSE, NULL);
  if (nl == NULL || nl->len == 0)
    return n;
  for (gint64 j = 1; j < n; j++)
    if (ids[j] == g_array_index (nl, gint32, 0))
      return j;
  return n;
}

/* the [IMG] outputs for the first [IMG0] at img0_position */
static gboolean
image_outputs (
    const GillGenerateModels *m, const GillGenerateParams *p, const Loop *loop, GillGeneration *g, GError **error)
{
  const GillModel *gill = m->gill;
  const gint64 n = gill->args.num_tokens, D = gill->lm_dim;
  const gint64 T_in = g->input_embs->shape[1], first = T_in + g->img0_position;
  if (first + n > loop->T_last)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "[IMG0] came at the last step: its hidden states need one more (num_words %" G_GINT64_FORMAT ")",
                   p->num_words);
      return FALSE;
    }
  const float *raw = loop->hidden + first * D;
  g->img_hidden_states = f32_tensor (3, (gint64[]){ 1, n, D }, raw);
  if (!retrieve_and_decide (gill, raw, g, error) || !map_to_prompt (m, raw, g, error))
    return FALSE;
  if (m->sd == NULL)
    return TRUE;
  if (!generate_image (m, p, g, error))
    return FALSE;
  /* GILL scores the image only with its retrieval matrix loaded */
  return !clip_usable (m) || gill->emb_matrix == NULL || rank_generated (m, g, error);
}

static gboolean
check_call (const GillGenerateModels *m, const GillGenerateParams *p, GError **error)
{
  const GillModelArgs *args = &m->gill->args;
  if (p->num_words < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT, "num_words is %" G_GINT64_FORMAT "; at least 1",
                   p->num_words);
      return FALSE;
    }
  if (p->temperature != 0.0f || p->top_p != 1.0f)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "temperature %g, top_p %g: only greedy decoding (temperature 0, top_p 1) is implemented",
                   p->temperature, p->top_p);
      return FALSE;
    }
  if (m->lm->config.n_word_embd != m->gill->lm_dim || args->num_tokens < 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "the LM's embeddings are %" G_GINT64_FORMAT " wide; GILL's heads take %" G_GINT64_FORMAT,
                   m->lm->config.n_word_embd, m->gill->lm_dim);
      return FALSE;
    }
  for (gint64 k = 0; k < args->num_tokens; k++)
    if (args->gen_token_idx[k] < 0 || args->gen_token_idx[k] >= m->lm->n_vocab)
      {
        g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                     "[IMG%" G_GINT64_FORMAT "] is id %" G_GINT64_FORMAT "; the LM has %" G_GINT64_FORMAT " tokens", k,
                     args->gen_token_idx[k], m->lm->n_vocab);
        return FALSE;
      }
  return TRUE;
}

GillGeneration *
gill_generate (const GillGenerateModels *m,
               const GillGeneratePart *parts,
               gsize n_parts,
               const GillGenerateParams *p,
               GError **error)
{
  g_return_val_if_fail (m != NULL && m->gill != NULL && m->lm != NULL && m->tokenizer != NULL, NULL);
  g_return_val_if_fail (parts != NULL || n_parts == 0, NULL);
  g_return_val_if_fail (p != NULL, NULL);
  if (!check_call (m, p, error) || !check_parts (parts, n_parts, error))
    return NULL;
  const gint64 D = m->gill->lm_dim;
  Loop loop = { .ids = g_array_new (FALSE, FALSE, sizeof (gint64)), .step_max = g_new (float, p->num_words) };
  g_autoptr (GillGeneration) g = g_new0 (GillGeneration, 1);
  g->img0_position = -1;
  gboolean ok = (loop.seq = input_embeddings (m, parts, n_parts, error)) != NULL;
  if (ok)
    {
      g->input_embs = f32_tensor (3, (gint64[]){ 1, loop.seq->len / D, D }, (const float *) loop.seq->data);
      ok = decode_loop (m, p, &loop, error);
    }
  if (ok)
    {
      const gint64 *ids = (const gint64 *) loop.ids->data, n = loop.ids->len;
      g->generated_ids = gill_tensor_new_i64 (2, (gint64[]){ 1, n });
      memcpy (gill_tensor_data_i64 (g->generated_ids), ids, n * sizeof (gint64));
      g->step_max_logit = f32_tensor (2, (gint64[]){ 1, p->num_words }, loop.step_max);
      g->last_hidden_states = f32_tensor (3, (gint64[]){ 1, loop.T_last, D }, loop.hidden);
      const gint64 kept = kept_length (m, ids, n);
      for (gint64 j = 0; j < kept && g->img0_position < 0; j++)
        if (ids[j] == m->gill->args.gen_token_idx[0])
          g->img0_position = j;
      ok = make_caption (m, ids, kept, g, error) && (g->img0_position < 0 || image_outputs (m, p, &loop, g, error));
    }
  if (loop.seq)
    g_array_unref (loop.seq);
  g_array_unref (loop.ids);
  g_free (loop.step_max);
  g_free (loop.hidden);
  return ok ? g_steal_pointer (&g) : NULL;
}
