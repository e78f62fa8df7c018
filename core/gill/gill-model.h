/* gill-model.h — a GILL folder opened (internal to libgill): model_args.json, the learned parts of
 * pretrained_ckpt.pth.tar, the retrieval matrix from cc3m*.npy and the decision head.
 *
 * Reference: kohjingyu/gill, gill/models.py (load_gill, GILLModel.get_visual_embs, GILL.generate_
 * for_images_and_texts); shared/reference/gill.md §2 (files and keys), §4.4–4.5, §5, §6.
 *
 *   g_autoptr (GillModel) gill = gill_model_open ("/models/gill", &error);
 *   gill_model_visual_embs (gill, pooled, batch, GILL_VISUAL_CAPTIONING, embs, &error);
 *   gill_model_retrieval_embed (gill, img_hidden, batch, n_tokens, ret_emb);
 *
 * The base models (OPT, CLIP, SD) are opened by their own code from the folders the hub names in
 * args name; the LM takes input_embeddings through gill_opt_weights_set_extra_tokens. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"
#include "core/io/store.h"
#include "core/models/gill-mapper.h"

G_BEGIN_DECLS

/* model_args.json (the keys GILL's inference reads) */
typedef struct
{
  gchar *opt_version;       /* hub name of the LM ("facebook/opt-6.7b") */
  gchar *visual_encoder;    /* hub name of CLIP ("openai/clip-vit-large-patch14") */
  gint64 n_visual_tokens;   /* LM input tokens per image (4) */
  gint64 ret_emb_dim;       /* retrieval embedding width (256) */
  gint64 gen_emb_dim;       /* SD's cross-attention width (768) */
  gint64 num_tokens;        /* [IMG] tokens (8) */
  gint64 num_clip_tokens;   /* SD prompt length (77) */
  gint64 gen_token_idx[64]; /* [num_tokens] ids of [IMG0..] (50266..50273) */
} GillModelArgs;

/* (nn.Sequential (Dropout, Linear (D, 2))): logits [n, 2], index 0 = "gen", 1 = "ret" */
typedef struct
{
  GillStore *store;
  GillTensor *weight; /* 1.weight [2, D] (D = 4096, or 4097 in the first release) */
  GillTensor *bias;   /* 1.bias [2] */
  gint64 in_dim;      /* D */
} GillDecision;

typedef struct
{
  gchar *folder;
  GillModelArgs args;
  GillStore *store;                /* pretrained_ckpt.pth.tar */
  gint64 lm_dim;                   /* D: the LM's hidden size */
  gint64 clip_dim;                 /* C: CLIP's pooled width */
  GillTensor *input_embeddings;    /* model.input_embeddings.weight [num_tokens, D]: [IMG] rows */
  float logit_scale;               /* model.logit_scale []: retrieval uses exp of it */
  GillTensor *visual_embeddings_w; /* model.visual_embeddings.weight [n_visual_tokens D, C] */
  GillTensor *visual_embeddings_b; /* model.visual_embeddings.bias [n_visual_tokens D] */
  GillTensor *visual_fc_w;         /* model.visual_fc.weight [ret_emb_dim, C] */
  GillTensor *visual_fc_b;         /* model.visual_fc.bias [ret_emb_dim] */
  GillTensor *ret_fc_w;            /* model.ret_text_hidden_fcs.0.model.weight [ret_emb_dim, D] */
  GillTensor *ret_fc_b;            /* model.ret_text_hidden_fcs.0.model.bias [ret_emb_dim] */
  GillMapperWeights *mapper;       /* model.gen_text_hidden_fcs.0.* */
  GillTensor *emb_matrix;          /* [N, ret_emb_dim] f32: exp (logit_scale) e / |e|, or NULL */
  GPtrArray *ret_paths;            /* [N] gchar*: the image of each emb_matrix row */
  GillDecision *decision;          /* decision_model.pth.tar, or NULL */
} GillModel;

typedef enum
{
  GILL_VISUAL_CAPTIONING, /* visual_embeddings: [B, n_visual_tokens, D] LM input */
  GILL_VISUAL_RETRIEVAL,  /* visual_fc: [B, 1, ret_emb_dim], not normalised */
} GillVisualMode;

/* model_args.json: FORMAT naming the file and key for a missing or wrong value */
gboolean gill_model_args_load (const gchar *path, GillModelArgs *args, GError **error);
void gill_model_args_clear (GillModelArgs *args);

/* The folder: model_args.json and pretrained_ckpt.pth.tar are required (MODEL_MISSING / FORMAT /
 * SHAPE naming the file and tensor); cc3m*.npy (retrieval) and decision_model.pth.tar are used
 * when present. Keys may carry DDP's "module." prefix. */
GillModel *gill_model_open (const gchar *folder, GError **error);
void gill_model_free (GillModel *model);

/* pooled [batch, C] (CLIP pooler_output) -> out: captioning [batch, n_visual_tokens, D] or
 * retrieval [batch, 1, ret_emb_dim] */
void
gill_model_visual_embs (const GillModel *model, const float *pooled, gint64 batch, GillVisualMode mode, float *out);
/* ret_text_hidden_fcs[0] (h, None)[:, 0]: the Linear on each sequence's first row of
 * hidden [batch, n_tokens, D] -> ret_emb [batch, ret_emb_dim] */
void
gill_model_retrieval_embed (const GillModel *model, const float *hidden, gint64 batch, gint64 n_tokens, float *ret_emb);
/* ret_emb [batch, R] -> normalized [batch, R] and scores = emb_matrix normalized^T [N, batch];
 * MODEL_MISSING when the folder had no cc3m*.npy */
gboolean gill_model_retrieval_scores (
    const GillModel *model, const float *ret_emb, gint64 batch, float *normalized, float *scores, GError **error);

/* a decision_model.pth.tar ({"state_dict": {"1.weight", "1.bias"}}; storages on any device) */
GillDecision *gill_decision_open (const gchar *path, GError **error);
void gill_decision_free (GillDecision *decision);
/* x [n, D] -> logits [n, 2] and probs [n, 2] (softmax; may be NULL) */
void gill_decision_forward (const GillDecision *decision, const float *x, gint64 n, float *logits, float *probs);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillModel, gill_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillDecision, gill_decision_free)

G_END_DECLS
