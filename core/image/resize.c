/* resize.c — Pillow's two-pass fixed-point resampling (Pillow 9.4 libImaging/Resample.c:
 * precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc /
 * ImagingResampleVertical_8bpc, ImagingResampleInner). Rewritten from the algorithm; see resize.h. */
#include "core/image/resize.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"

/* 8 bits of result, 2 bits of headroom for kernels with negative lobes: 22 fraction bits */
#define RESIZE_PRECISION_BITS 22

typedef struct
{
  double (*kernel) (double x);
  double support; /* the kernel is 0 outside [-support, support] */
} ResizeFilter;

/* ------------------------------------------------------------------ kernels */

static double
kernel_box (double x)
{
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double
kernel_bilinear (double x)
{
  x = fabs (x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Hamming-windowed sinc; the window's constants are float literals in Pillow */
static double
kernel_hamming (double x)
{
  x = fabs (x);
  if (x == 0.0)
    return 1.0;
  if (x >= 1.0)
    return 0.0;
  x = x * M_PI;
  return sin (x) / x * (0.54f + 0.46f * cos (x));
}

/* Keys' cubic convolution with a = -0.5 */
static double
kernel_bicubic (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static double
sinc (double x)
{
  if (x == 0.0)
    return 1.0;
  x = x * M_PI;
  return sin (x) / x;
}

/* sinc windowed by a 3-lobe sinc */
static double
kernel_lanczos (double x)
{
  return -3.0 <= x && x < 3.0 ? sinc (x) * sinc (x / 3) : 0.0;
}

static const ResizeFilter *
resize_filter (GillResample filter)
{
  static const ResizeFilter box = { kernel_box, 0.5 };
  static const ResizeFilter bilinear = { kernel_bilinear, 1.0 };
  static const ResizeFilter hamming = { kernel_hamming, 1.0 };
  static const ResizeFilter bicubic = { kernel_bicubic, 2.0 };
  static const ResizeFilter lanczos = { kernel_lanczos, 3.0 };
  switch (filter)
    {
    case GILL_RESAMPLE_BOX:
      return &box;
    case GILL_RESAMPLE_BILINEAR:
      return &bilinear;
    case GILL_RESAMPLE_HAMMING:
      return &hamming;
    case GILL_RESAMPLE_BICUBIC:
      return &bicubic;
    case GILL_RESAMPLE_LANCZOS:
      return &lanczos;
    }
  return NULL;
}

const gchar *
gill_resample_name (GillResample filter)
{
  switch (filter)
    {
    case GILL_RESAMPLE_BOX:
      return "box";
    case GILL_RESAMPLE_BILINEAR:
      return "bilinear";
    case GILL_RESAMPLE_HAMMING:
      return "hamming";
    case GILL_RESAMPLE_BICUBIC:
      return "bicubic";
    case GILL_RESAMPLE_LANCZOS:
      return "lanczos";
    }
  return "?";
}

gboolean
gill_resample_from_pil (gint64        value,
                        GillResample *filter)
{
  if (value < GILL_RESAMPLE_LANCZOS || value > GILL_RESAMPLE_HAMMING)
    return FALSE;
  *filter = (GillResample) value;
  return TRUE;
}

/* ------------------------------------------------------------------ coefficients */

/* One axis: for each output index i, the source window bounds[2i] .. bounds[2i] + bounds[2i+1]
 * and its fixed-point weights kk[i * ksize ..]. */
typedef struct
{
  gint ksize;     /* weights per output index (the widest window) */
  gint *bounds;   /* [out, 2]: first source index, count */
  gint32 *kk;     /* [out, ksize]: weights x 2^22, rounded half away from zero */
} ResizeAxis;

static void
resize_axis_clear (ResizeAxis *axis)
{
  g_clear_pointer (&axis->bounds, g_free);
  g_clear_pointer (&axis->kk, g_free);
}

/* weights for in_size -> out_size over the whole axis (Pillow's box [0, in_size)) */
static void
resize_axis_init (ResizeAxis         *axis,
                  gint                in_size,
                  gint                out_size,
                  const ResizeFilter *filter)
{
  /* scale = in / out; the kernel stretches by max (scale, 1) */
  double scale = (double) ((float) in_size - 0.0f) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = filter->support * filterscale;
  axis->ksize = (gint) ceil (support) * 2 + 1;
  axis->bounds = g_new (gint, 2 * (gsize) out_size);
  axis->kk = g_new0 (gint32, (gsize) out_size * (gsize) axis->ksize);
  g_autofree double *k = g_new (double, axis->ksize);
  double ss = 1.0 / filterscale;

  for (gint i = 0; i < out_size; i++)
    {
      /* the source window around the output pixel's centre, truncated then clamped */
      double center = 0.0 + (i + 0.5) * scale;
      gint xmin = (gint) (center - support + 0.5);
      gint xmax = (gint) (center + support + 0.5);
      xmin = MAX (xmin, 0);
      xmax = MIN (xmax, in_size) - xmin;
      /* kernel weights, normalised to sum 1 */
      double ww = 0.0;
      for (gint x = 0; x < xmax; x++)
        {
          k[x] = filter->kernel ((x + xmin - center + 0.5) * ss);
          ww += k[x];
        }
      for (gint x = 0; x < xmax; x++)
        if (ww != 0.0)
          k[x] /= ww;
      /* fixed point, rounding half away from zero */
      gint32 *kk = axis->kk + (gsize) i * axis->ksize;
      for (gint x = 0; x < xmax; x++)
        kk[x] = k[x] < 0 ? (gint32) (-0.5 + k[x] * (1 << RESIZE_PRECISION_BITS))
                         : (gint32) (0.5 + k[x] * (1 << RESIZE_PRECISION_BITS));
      axis->bounds[2 * i] = xmin;
      axis->bounds[2 * i + 1] = xmax;
    }
}

/* the accumulator (weights x 2^22, plus 2^21 for rounding) as a pixel */
static inline guint8
resize_clip8 (gint32 acc)
{
  gint32 v = acc >> RESIZE_PRECISION_BITS;
  return (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* ------------------------------------------------------------------ passes */

/* out[y, i] = sum_x in[y + row0, bounds(i) + x] kk[i, x] for out->height rows */
static void
resize_horizontal (const GillImage  *in,
                   gint              row0,
                   const ResizeAxis *axis,
                   GillImage        *out)
{
  gint c = in->channels;
  for (gint y = 0; y < out->height; y++)
    {
      const guint8 *src = in->pixels + (gsize) (y + row0) * gill_image_rowstride (in);
      guint8 *dst = out->pixels + (gsize) y * gill_image_rowstride (out);
      for (gint i = 0; i < out->width; i++)
        {
          gint xmin = axis->bounds[2 * i], n = axis->bounds[2 * i + 1];
          const gint32 *k = axis->kk + (gsize) i * axis->ksize;
          for (gint ch = 0; ch < c; ch++)
            {
              gint32 acc = 1 << (RESIZE_PRECISION_BITS - 1);
              const guint8 *s = src + (gsize) xmin * c + ch;
              for (gint x = 0; x < n; x++)
                acc += s[(gsize) x * c] * k[x];
              dst[(gsize) i * c + ch] = resize_clip8 (acc);
            }
        }
    }
}

/* out[j, x] = sum_y in[bounds(j) + y, x] kk[j, y] */
static void
resize_vertical (const GillImage  *in,
                 const ResizeAxis *axis,
                 GillImage        *out)
{
  gsize row = gill_image_rowstride (in);
  for (gint j = 0; j < out->height; j++)
    {
      gint ymin = axis->bounds[2 * j], n = axis->bounds[2 * j + 1];
      const gint32 *k = axis->kk + (gsize) j * axis->ksize;
      const guint8 *src = in->pixels + (gsize) ymin * row;
      guint8 *dst = out->pixels + (gsize) j * row;
      for (gsize x = 0; x < row; x++)
        {
          gint32 acc = 1 << (RESIZE_PRECISION_BITS - 1);
          for (gint y = 0; y < n; y++)
            acc += src[(gsize) y * row + x] * k[y];
          dst[x] = resize_clip8 (acc);
        }
    }
}

GillImage *
gill_image_resize (const GillImage *image,
                   gint             width,
                   gint             height,
                   GillResample     filter,
                   GError         **error)
{
  g_return_val_if_fail (image != NULL && image->width > 0 && image->height > 0, NULL);
  const ResizeFilter *f = resize_filter (filter);
  g_return_val_if_fail (f != NULL, NULL);
  if (!gill_image_check_size (width, height, "resize", error))
    return NULL;

  /* the same size: Pillow returns a copy, unfiltered */
  gboolean need_horizontal = width != image->width;
  gboolean need_vertical = height != image->height;
  if (!need_horizontal && !need_vertical)
    return gill_image_copy (image);

  /* vertical weights first: they say which source rows the horizontal pass must produce */
  ResizeAxis vertical = { 0 };
  resize_axis_init (&vertical, image->height, height, f);
  gint row_first = vertical.bounds[0];
  gint row_last = vertical.bounds[2 * height - 2] + vertical.bounds[2 * height - 1];

  /* horizontal pass over rows [row_first, row_last), stored as 8-bit */
  g_autoptr (GillImage) temp = NULL;
  const GillImage *source = image;
  if (need_horizontal)
    {
      ResizeAxis horizontal = { 0 };
      resize_axis_init (&horizontal, image->width, width, f);
      temp = gill_image_new (width, row_last - row_first, image->channels);
      resize_horizontal (image, row_first, &horizontal, temp);
      resize_axis_clear (&horizontal);
      for (gint j = 0; j < height; j++)
        vertical.bounds[2 * j] -= row_first;
      source = temp;
    }

  /* vertical pass on the intermediate (or on the image when only the height changes) */
  GillImage *out;
  if (need_vertical)
    {
      out = gill_image_new (source->width, height, image->channels);
      resize_vertical (source, &vertical, out);
    }
  else
    out = gill_image_copy (source);
  resize_axis_clear (&vertical);
  return out;
}
