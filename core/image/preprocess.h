/* preprocess.h — CLIPImageProcessor (transformers 4.30.2 image_processing_clip.py with
 * image_transforms.py), the image half of CLIP's input (models.md §2.5):
 *
 *   rgb      = convert ("RGB")                                       (do_convert_rgb)
 *   resized  = PIL resize, shortest edge -> S, long edge int (S * long / short),
 *              the configured filter (BICUBIC, antialiased), uint8 result     (do_resize)
 *   cropped  = centre crop H x W, top = (h - H) // 2, left = (w - W) // 2;
 *              zero padding where the image is smaller (HF's rule)           (do_center_crop)
 *   x        = float32 (uint8 x rescale_factor computed in float64)          (do_rescale)
 *   x        = (x - mean) / std in float32, per channel                      (do_normalize)
 *   pixel_values [1, 3, H, W]  (HWC -> CHW)
 *
 * openai/clip-vit-large-patch14's preprocessor_config.json gives S = 224, crop 224 x 224,
 * resample 3 (BICUBIC) and OpenAI's mean/std; rescale and convert come from the defaults. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/tensor.h"
#include "core/image/image.h"
#include "core/image/resize.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean do_convert_rgb;  /* TRUE */
  gboolean do_resize;       /* TRUE */
  gint shortest_edge;       /* 224: size {"shortest_edge"} (or a bare int, the old format) */
  GillResample resample;    /* BICUBIC (3) */
  gboolean do_center_crop;  /* TRUE */
  gint crop_height;         /* 224: crop_size {"height", "width"} (or a bare int) */
  gint crop_width;          /* 224 */
  gboolean do_rescale;      /* TRUE */
  double rescale_factor;    /* 1/255 */
  gboolean do_normalize;    /* TRUE */
  float image_mean[3];      /* OPENAI_CLIP_MEAN (0.48145466, 0.4578275, 0.40821073) */
  float image_std[3];       /* OPENAI_CLIP_STD (0.26862954, 0.26130258, 0.27577711) */
} GillPreprocessConfig;

/* CLIPImageProcessor's defaults (= openai/clip-vit-large-patch14's preprocessor_config.json) */
void        gill_preprocess_config_clip      (GillPreprocessConfig       *config);
/* a preprocessor_config.json on top of `config` (start from gill_preprocess_config_clip);
 * FORMAT for a member of the wrong type, UNSUPPORTED for a size without "shortest_edge" or
 * resample 0 (NEAREST) */
gboolean    gill_preprocess_config_from_json (JsonObject                 *json,
                                              GillPreprocessConfig       *config,
                                              GError                    **error);
/* the pixel_values size an image of width x height gives (crop size when cropping) */
void        gill_preprocess_output_size      (const GillPreprocessConfig *config,
                                              gint                        width,
                                              gint                        height,
                                              gint                       *out_width,
                                              gint                       *out_height);
/* the resize target: shortest edge -> shortest_edge, long edge int (S * long / short) */
void        gill_preprocess_resize_size      (gint                        shortest_edge,
                                              gint                        width,
                                              gint                        height,
                                              gint                       *out_width,
                                              gint                       *out_height);
/* centre crop (with HF's zero padding when the image is smaller) of an 8-bit image */
GillImage  *gill_image_center_crop           (const GillImage            *image,
                                              gint                        width,
                                              gint                        height);
/* pixel_values [1, 3, H, W] float32 for one image of any channel count (transfer full) */
GillTensor *gill_preprocess_image            (const GillPreprocessConfig *config,
                                              const GillImage            *image,
                                              GError                    **error);
/* the same into a caller's buffer of 3 x H x W floats (H, W from gill_preprocess_output_size) */
gboolean    gill_preprocess_image_into       (const GillPreprocessConfig *config,
                                              const GillImage            *image,
                                              float                      *pixel_values,
                                              GError                    **error);

G_END_DECLS
