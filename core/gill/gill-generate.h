/* gill-generate.h — GILL.generate_for_images_and_texts (internal to libgill): interleaved text
 * and images in, greedy text out, and at the first [IMG0] the retrieval scores, the
 * retrieve-or-generate decision and the generated image.
 *
 * Reference: kohjingyu/gill, gill/models.py (GILL.generate_for_images_and_texts, GILLModel.generate);
 * shared/reference/gill.md §3.2 (input sequence, BOS rule), §4.3 (decoding loop), §4.4 (which hidden
 * states feed what), §4.6 (SD stage), §5 (retrieval), §6 (decision), §7 (caption).
 *
 *   GillGenerateModels models = { .gill = gill, .lm = lm, .tokenizer = tok, .clip = clip, .sd = sd };
 *   GillGenerateParams params;
 *   gill_generate_params_default (&params);
 *   params.num_words = 10;
 *   GillGeneratePart parts[] = { { .image = img }, { .text = "Show me something similar" } };
 *   g_autoptr (GillGeneration) g = gill_generate (&models, parts, 2, &params, &error);
 *
 * The loop is the reference's: every step runs the LM over the whole sequence (no KV cache), so
 * last_hidden_states is exactly the final call's. Only greedy decoding (temperature 0, top_p 1). */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"
#include "core/gill/clip-model.h"
#include "core/gill/gill-model.h"
#include "core/image/image.h"
#include "core/io/sd-names.h"
#include "core/models/opt.h"
#include "core/text/opt-tokenizer.h"

G_BEGIN_DECLS

/* what one call uses (all borrowed) */
typedef struct
{
  const GillModel *gill;             /* the GILL folder: heads, mapper, emb_matrix, decision */
  const GillOptWeights *lm;          /* OPT with the [IMG] rows (gill_opt_weights_set_extra_tokens) */
  const GillOptTokenizer *tokenizer; /* OPT's tokenizer with GILL's added tokens */
  GillClipModel *clip;               /* CLIP's vision tower; NULL: no image parts, no gen_rank_score */
  GillSdFiles *sd;                   /* Stable Diffusion; NULL: no image is generated */
} GillGenerateModels;

/* one item of the prompt: exactly one of text and image */
typedef struct
{
  const gchar *text;      /* tokenized on its own; BOS only on the first text part */
  const GillImage *image; /* RGB: CLIP pooled -> visual_embeddings -> n_visual_tokens rows */
} GillGeneratePart;

typedef struct
{
  gint64 num_words;        /* LM steps (>= 1), no EOS stop */
  gint64 min_word_tokens;  /* steps before [IMG0] may be chosen */
  float ret_scale_factor;  /* > 1: logit[IMG0] = |logit[IMG0]| * it */
  float gen_scale_factor;  /* > 1: then again by this one */
  float temperature;       /* 0 only */
  float top_p;             /* 1 only */
  float guidance_scale;    /* SD: 7.5 */
  gint n_inference_steps;  /* SD: 50 */
  const float *sd_latents; /* SD's initial latents, or NULL: drawn from sd_seed */
  guint64 sd_seed;
} GillGenerateParams;

/* the outputs, named as in GILL (fields after img0_position are NULL / unset without an [IMG0]) */
typedef struct
{
  GillTensor *input_embs;         /* [1, T_in, D] what the LM receives first */
  GillTensor *generated_ids;      /* [1, n] i64: every appended id ([IMG0] brings all 8) */
  GillTensor *step_max_logit;     /* [1, num_words] the largest logit of each step after the edits */
  GillTensor *last_hidden_states; /* [1, T_in + n - last step's, D] the final LM call's last layer */
  gint64 img0_position;           /* index in generated_ids of the first kept [IMG0], or -1 */
  GillTensor *img_hidden_states;  /* [1, num_tokens, D] raw_emb */
  GillTensor *ret_emb;            /* [1, ret_emb_dim] ret fc of raw_emb[0] */
  GillTensor *retrieval_scores;   /* [N, 1] emb_matrix normalize (ret_emb)^T, or NULL without emb_matrix */
  GillTensor *retrieval_top3;     /* [min (3, N)] i64 */
  GillTensor *decision_logits;    /* [1, 2] (gen, ret), or NULL without decision head or emb_matrix */
  const gchar *decision;          /* "gen" or "ret"; "gen" without retrieval; NULL without a head */
  GillTensor *gen_prefix_embs;    /* [1, num_tokens, D] input embeddings of [IMG0..] */
  GillTensor *mapper_output;      /* [1, num_clip_tokens, gen_emb_dim] SD's prompt_embeds */
  GillTensor *sd_image;           /* [1, H, W, 3] in [0, 1], or NULL without SD */
  double gen_rank_score;          /* cos (visual_fc of the uint8 image at 224x224, ret_emb) */
  gboolean has_gen_rank_score;    /* with SD, CLIP and emb_matrix */
  gchar *caption;                 /* truncate_caption (text before [IMG0]) + " [IMG0]...[IMG7]" */
} GillGeneration;

void gill_generate_params_default (GillGenerateParams *params);
/* INVALID_ARGUMENT for num_words < 1, no text part, a part with neither or both of text and image,
 * an image without CLIP, too long a sequence; UNSUPPORTED for sampling (temperature != 0 or
 * top_p != 1); errors of the models otherwise */
GillGeneration *gill_generate (const GillGenerateModels *models,
                               const GillGeneratePart *parts,
                               gsize n_parts,
                               const GillGenerateParams *params,
                               GError **error);
void gill_generation_free (GillGeneration *generation);

/* truncate_caption: strip '\n' at both ends, then cut after the first '\n', else the first '.' */
gchar *gill_generate_truncate_caption (const gchar *caption);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillGeneration, gill_generation_free)

G_END_DECLS
