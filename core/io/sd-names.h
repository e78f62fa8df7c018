/* sd-names.h — Stable Diffusion checkpoints as users have them, under one set of names.
 *
 * Two layouts, one canonical naming (diffusers', which the model files use):
 *
 *   diffusers folder   model_index.json, unet/ vae/ text_encoder/ tokenizer/ scheduler/, each with
 *                      config.json and diffusion_pytorch_model.{safetensors,bin} (or .fp16.*
 *                      variants, or a shard index); text_encoder/model.safetensors | pytorch_model.bin
 *   single file        one .safetensors / .ckpt with CompVis (LDM) names — model.diffusion_model.*,
 *                      first_stage_model.*, cond_stage_model.transformer.* — plus its LDM yaml
 *                      (architecture); EMA-only or full (model_ema.* beside the training weights)
 *
 * Translation happens once, when a part is mapped: every file name is turned into its canonical
 * name through the tables in sd-names.c, which mirror diffusers'
 * scripts/convert_diffusers_to_original_stable_diffusion.py and
 * pipelines/stable_diffusion/convert_from_ckpt.py (and leejet/stable-diffusion.cpp's
 * src/name_conversion.cpp): CompVis UNet, CompVis VAE (decoder blocks reversed, 1×1-conv
 * attention weights [C, C, 1, 1] seen as Linear [C, C]), the legacy diffusers VAE attention
 * names (query/key/value/proj_attn), the CLIP text encoder's prefix. Unknown names (the encoder,
 * schedule buffers, loss weights) are ignored. No file is converted or copied: tensors are views
 * into the mappings.
 *
 * Configs come back in diffusers' config.json form whatever the layout, so a model parses one
 * format: for a single file they are built from the yaml as convert_from_ckpt.py's
 * create_unet_diffusers_config / create_vae_diffusers_config do (SD 1.x's v1-inference.yaml
 * values where there is no yaml).
 *
 * Parts are mapped on demand and unmapped after their phase (gill_sd_files_unmap), so a 512×512
 * generation holds one model's pages at a time. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/weights.h"

G_BEGIN_DECLS

typedef enum
{
  GILL_SD_PART_TEXT_ENCODER,   /* CLIPTextModel: "text_model.*" */
  GILL_SD_PART_UNET,           /* UNet2DConditionModel: "conv_in.*", "down_blocks.*", … */
  GILL_SD_PART_VAE,            /* AutoencoderKL's decoder: "post_quant_conv.*", "decoder.*" */
  GILL_SD_N_PARTS
} GillSdPart;

typedef struct
{
  gboolean use_ema;      /* full single files: the EMA UNet (model_ema.*); FALSE takes
                          * model.diffusion_model.* as v1-inference.yaml (use_ema: False) and
                          * diffusers' from_ckpt do. EMA-only files hold the EMA weights there. */
  const gchar *variant;  /* diffusers: "fp16" prefers the *.fp16.* files; NULL prefers the plain
                          * ones and falls back to fp16 where only those exist */
  const gchar *yaml;     /* single file: its LDM yaml; NULL = <stem>.yaml beside it, else the one
                          * .yaml in its folder, else SD 1.x's v1-inference.yaml values */
} GillSdFilesOptions;

typedef struct _GillSdFiles GillSdFiles;

const gchar *gill_sd_part_name          (GillSdPart          part);  /* "unet", "vae", "text_encoder" */

/* a diffusers folder, a single checkpoint file, or a folder holding one checkpoint (+ yaml);
 * reads the configs only. MODEL_MISSING / FORMAT naming the file. */
GillSdFiles *gill_sd_files_open         (const gchar              *path,
                                         const GillSdFilesOptions *options,  /* NULL: defaults */
                                         GError                  **error);
void         gill_sd_files_free         (GillSdFiles              *files);
/* "diffusers" or "compvis" */
const gchar *gill_sd_files_layout       (const GillSdFiles        *files);
/* the part's config in diffusers form (unet/config.json, vae/config.json, the text encoder's
 * CLIPTextConfig — NULL for a single file whose yaml has no text-encoder parameters: real SD 1.x
 * files always use CLIP ViT-L/14's); (transfer none) */
JsonObject  *gill_sd_files_config       (const GillSdFiles        *files,
                                         GillSdPart                part);
/* scheduler/scheduler_config.json, or for a single file the PNDM config convert_from_ckpt.py
 * builds from the yaml's linear_start/linear_end/timesteps; (transfer none) */
JsonObject  *gill_sd_files_scheduler_config (const GillSdFiles    *files);
/* the diffusers tokenizer/ folder, or NULL (single files carry no tokenizer); (transfer none) */
const gchar *gill_sd_files_tokenizer_dir (const GillSdFiles       *files);

/* map the part's weights and name them canonically (a second call is a no-op) */
gboolean     gill_sd_files_map          (GillSdFiles              *files,
                                         GillSdPart                part,
                                         GError                  **error);
/* the part's canonical-name lookup, valid until the part is unmapped (borrows files) */
GillWeights  gill_sd_files_weights      (const GillSdFiles        *files,
                                         GillSdPart                part);
/* tensors and bytes of a mapped part (0 when unmapped) */
guint        gill_sd_files_n_tensors    (const GillSdFiles        *files,
                                         GillSdPart                part);
/* drop the part's mapping: its pages leave the resident set. Weights bound from it dangle. */
void         gill_sd_files_unmap        (GillSdFiles              *files,
                                         GillSdPart                part);

/* the name tables on their own (tests, `gill info`): the canonical name of a single-file key,
 * or NULL when gill does not use it; *part says whose it is. layers_per_block and vae_blocks
 * come from the configs (2 and 4 for SD 1.x). */
gchar       *gill_sd_name_from_compvis  (const gchar              *name,
                                         gint64                    layers_per_block,
                                         gint64                    vae_blocks,
                                         GillSdPart               *part);
/* a diffusers VAE name with the legacy attention names (query, key, value, proj_attn) renamed;
 * other names unchanged (transfer full) */
gchar       *gill_sd_name_from_legacy_vae (const gchar            *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillSdFiles, gill_sd_files_free)

G_END_DECLS
