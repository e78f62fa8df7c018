/* clip-model.h — CLIP as users have it on disk, opened in one call: the folder's configs, the
 * memory-mapped weights bound to the towers asked for, and the image preprocessing.
 *
 *   openai/clip-vit-large-patch14/   config.json (CLIPModel), preprocessor_config.json,
 *                                    model.safetensors or pytorch_model.bin: the full model, or a
 *                                    CLIPVisionModel[WithProjection] / CLIPTextModel save
 *   <SD folder>/text_encoder/        config.json (CLIPTextModel) + weights
 *   <SD single file>.safetensors     cond_stage_model.transformer.text_model.* beside its LDM yaml
 *                                    (the text tower's shape from cond_stage_config.params, or
 *                                    ViT-L/14's when absent, as in every real SD 1.x yaml); the
 *                                    names are mapped by core/io/sd-names.c, as for SD itself
 *
 *   g_autoptr (GillClipModel) clip = gill_clip_model_open (folder, GILL_CLIP_TOWER_VISION, &error);
 *   gill_clip_model_embed_files (clip, files, n, pooled, embeds, &error);
 *
 * This is where io meets the model (core/models never reads files). */
#pragma once

#include <glib.h>

#include "core/image/preprocess.h"
#include "core/io/sd-names.h"
#include "core/io/store.h"
#include "core/models/clip.h"

G_BEGIN_DECLS

typedef enum
{
  GILL_CLIP_TOWER_VISION = 1 << 0,
  GILL_CLIP_TOWER_TEXT = 1 << 1,
} GillClipTowers;

typedef struct
{
  gchar *path;                        /* what was opened, for messages */
  GillStore *store;                   /* the mapped weights everything borrows from … */
  GillSdFiles *sd_files;              /* … or, for a CompVis single file, its text-encoder part */
  GillClipVisionConfig vision_config;
  GillClipTextConfig text_config;
  GillClipVisionWeights *vision;      /* bound when asked for, else NULL */
  GillClipTextWeights *text;
  GillPreprocessConfig preprocess;    /* preprocessor_config.json, or CLIPImageProcessor's defaults */
  gboolean has_logit_scale;
  float logit_scale;                  /* CLIPModel's (ln 100 after training) */
} GillClipModel;

/* A Hugging Face folder (or a weight file inside one: its config.json is beside it, e.g.
 * model/pytorch_model.bin to pick the .bin), or a CompVis single file (its yaml: <stem>.yaml
 * beside it, else ViT-L/14's text shape). Errors: MODEL_MISSING (no such path, a tower the
 * checkpoint lacks, a missing tensor), FORMAT / SHAPE naming the file and tensor. */
GillClipModel *gill_clip_model_open         (const gchar          *path,
                                             GillClipTowers        towers,
                                             GError              **error);
/* a CompVis single-file SD checkpoint's text encoder; yaml_path may be NULL (see above) */
GillClipModel *gill_clip_model_open_compvis (const gchar          *file,
                                             const gchar          *yaml_path,
                                             GError              **error);
void           gill_clip_model_free         (GillClipModel        *model);

/* Image.open (f).convert ("RGB"), CLIPImageProcessor and the vision tower for each file, `batch`
 * images per forward: pooled [n, D] (pooler_output: what GILL uses) and embeds [n, projection_dim]
 * (image_embeds; needs visual_projection), either may be NULL. Errors name the file. */
gboolean       gill_clip_model_embed_files  (GillClipModel        *model,
                                             const gchar * const  *files,
                                             gsize                 n,
                                             gint                  batch,
                                             float                *pooled,
                                             float                *embeds,
                                             GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClipModel, gill_clip_model_free)

G_END_DECLS
