/* resize.h — Pillow's Image.resize for 8-bit images, reproduced to the last bit (models.md §2.5).
 *
 * Pillow 9.4 libImaging/Resample.c, per axis: scale = in / out, filterscale = max (scale, 1) (the
 * antialiasing: a downscale widens the kernel), support = filter support x filterscale; output
 * index i reads the source window [trunc (c - support + 0.5), trunc (c + support + 0.5)) around
 * c = (i + 0.5) scale, clamped to the image; weights K ((x - c + 0.5) / filterscale) normalised to
 * sum 1 in double, then fixed point: round-half-away (w x 2^22) in int32, accumulator starting at
 * 2^21, result (acc >> 22) clipped to 0..255. The horizontal pass runs first, over only the source
 * rows the vertical pass reads, and stores 8-bit pixels; the vertical pass runs on those. An axis
 * whose size does not change is not filtered; the same size both ways is a plain copy.
 *
 * Channels are filtered independently. That is Pillow's behaviour for L and RGB; for LA and RGBA
 * Pillow premultiplies by alpha first, which this does not: convert to RGB before resizing, as
 * CLIP's preprocessing does. */
#pragma once

#include <glib.h>

#include "core/image/image.h"

G_BEGIN_DECLS

/* the values are PIL.Image.Resampling's (preprocessor_config.json "resample": 3 = BICUBIC);
 * NEAREST (0) is a different algorithm and is not provided */
typedef enum
{
  GILL_RESAMPLE_LANCZOS = 1,
  GILL_RESAMPLE_BILINEAR = 2,
  GILL_RESAMPLE_BICUBIC = 3,
  GILL_RESAMPLE_BOX = 4,
  GILL_RESAMPLE_HAMMING = 5,
} GillResample;

const gchar *gill_resample_name      (GillResample     filter);
/* PIL's integer for a filter; FALSE for NEAREST and unknown values */
gboolean     gill_resample_from_pil  (gint64           value,
                                      GillResample    *filter);

/* Image.resize ((width, height), filter) of an 8-bit image with any channel count (transfer
 * full). Errors: the output size breaks gill_image_check_size. */
GillImage   *gill_image_resize       (const GillImage *image,
                                      gint             width,
                                      gint             height,
                                      GillResample     filter,
                                      GError         **error);

G_END_DECLS
