/* folder.h — model folders as users have them, recognised by their files:
 *
 *   Hugging Face folder   config.json + model.safetensors | pytorch_model.bin | a shard index
 *   diffusers folder      model_index.json + unet/ vae/ text_encoder/ tokenizer/ scheduler/
 *   single-file SD        one .safetensors/.ckpt with model.diffusion_model.* keys (+ LDM yaml)
 *   GILL folder           model_args.json + pretrained_ckpt.pth.tar (+ decision model, cc3m)
 *
 * and a plain-text description of any of them or of a single weight file (`gill info`). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  GILL_LAYOUT_FILE,         /* one weight file */
  GILL_LAYOUT_HF,
  GILL_LAYOUT_DIFFUSERS,
  GILL_LAYOUT_SD_SINGLE_FILE,
  GILL_LAYOUT_GILL,
} GillLayout;

const gchar *gill_layout_name     (GillLayout   layout);
/* what a path is; FALSE + MODEL_MISSING/FORMAT error when it is none of the above */
gboolean     gill_layout_detect   (const gchar *path,
                                   GillLayout  *layout,
                                   GError     **error);
/* format, tensor count, total bytes, config highlights and each tensor sorted by name */
gchar       *gill_model_describe  (const gchar *path,
                                   GError     **error);

G_END_DECLS
