/* conv.c — Conv2d as im2col + GEMM (reference: torch.nn.functional.conv2d, zero padding) and
 * F.interpolate (mode="nearest"). */
#include "core/ops/conv.h"

#include <string.h>

#include "core/ops/gemm.h"
#include "core/ops/parallel.h"

/* output pixels from which an image's conv runs as its own GEMM rather than batched */
#define CONV_MERGE_PIXELS 2048
/* col floats from which building the band is split among threads (~4 MB) */
#define IM2COL_PARALLEL_FLOATS (1 << 20)

gint64
gill_conv2d_out_dim (gint64 in,
                     gint64 kernel,
                     gint64 stride,
                     gint64 pad)
{
  return (in + 2 * pad - kernel) / stride + 1;
}

gsize
gill_conv2d_row_floats (gint64 batch,
                        gint64 c_in,
                        gint64 c_out,
                        gint64 kernel,
                        gint64 w_out)
{
  return (gsize) (batch * w_out * (c_in * kernel * kernel + (batch > 1 ? c_out : 0)));
}

/* col[(ci, ky, kx) · ld + r · Wo + ox] = x[ci, (row0 + r)·stride + ky − pad, ox·stride + kx − pad]
 * or 0, for output rows row0 .. row0 + n_rows of one image */
static void
conv_im2col (const float *x,
             gint64       c_in,
             gint64       h,
             gint64       w,
             gint64       kernel,
             gint64       stride,
             gint64       pad,
             gint64       w_out,
             gint64       row0,
             gint64       n_rows,
             float       *col,
             gint64       ld)
{
  for (gint64 ci = 0; ci < c_in; ci++)
    for (gint64 ky = 0; ky < kernel; ky++)
      for (gint64 kx = 0; kx < kernel; kx++)
        {
          float *dst = col + ((ci * kernel + ky) * kernel + kx) * ld;
          for (gint64 r = 0; r < n_rows; r++, dst += w_out)
            {
              gint64 iy = (row0 + r) * stride + ky - pad;
              if (iy < 0 || iy >= h)
                {
                  memset (dst, 0, sizeof (float) * w_out);
                  continue;
                }
              const float *src = x + (ci * h + iy) * w;
              if (stride == 1)
                {
                  /* ix = ox + kx - pad: a shifted copy with zeros at the two borders */
                  gint64 lo = MAX (0, pad - kx), hi = MIN (w_out, w + pad - kx);
                  if (lo > 0)
                    memset (dst, 0, sizeof (float) * MIN (lo, w_out));
                  if (hi > lo)
                    memcpy (dst + lo, src + lo + kx - pad, sizeof (float) * (hi - lo));
                  if (hi < w_out)
                    memset (dst + MAX (hi, lo), 0, sizeof (float) * (w_out - MAX (hi, lo)));
                }
              else
                for (gint64 ox = 0; ox < w_out; ox++)
                  {
                    gint64 ix = ox * stride + kx - pad;
                    dst[ox] = ix >= 0 && ix < w ? src[ix] : 0.0f;
                  }
            }
        }
}

/* im2col of a band for every image, its channels split among the pool's threads */
typedef struct
{
  const float *x;
  gint64 batch, c_in, h, w, kernel, stride, pad, w_out, row0, n_rows;
  float *col;
  gint64 cols;
} Im2colJob;

static void
im2col_task (gint     task,
             gint     n_tasks,
             gpointer data)
{
  const Im2colJob *j = data;
  gint64 c0 = j->c_in * task / n_tasks, c1 = j->c_in * (task + 1) / n_tasks;
  gint64 per_image = j->n_rows * j->w_out, k2 = j->kernel * j->kernel;
  for (gint64 b = 0; b < j->batch; b++)
    conv_im2col (j->x + (b * j->c_in + c0) * j->h * j->w, c1 - c0, j->h, j->w, j->kernel, j->stride, j->pad,
                 j->w_out, j->row0, j->n_rows, j->col + c0 * k2 * j->cols + b * per_image, j->cols);
}

void
gill_conv2d (const float *x,
             gint64       batch,
             gint64       c_in,
             gint64       h,
             gint64       w,
             const float *weight,
             const float *bias,
             gint64       c_out,
             gint64       kernel,
             gint64       stride,
             gint64       pad,
             float       *y,
             float       *scratch,
             gsize        scratch_floats)
{
  const gint64 h_out = gill_conv2d_out_dim (h, kernel, stride, pad);
  const gint64 w_out = gill_conv2d_out_dim (w, kernel, stride, pad);
  const gint64 hw_out = h_out * w_out, k_dim = c_in * kernel * kernel;

  /* images of many pixels give GEMMs of enough columns on their own: one at a time, straight
   * into y; small ones (the UNet's 8×8 … 32×32 levels) share each GEMM, so that the weight is
   * packed once for all of them */
  if (batch > 1 && hw_out >= CONV_MERGE_PIXELS)
    {
      for (gint64 b = 0; b < batch; b++)
        gill_conv2d (x + b * c_in * h * w, 1, c_in, h, w, weight, bias, c_out, kernel, stride, pad,
                     y + b * c_out * hw_out, scratch, scratch_floats);
      return;
    }

  /* one image: y = bias broadcast over each channel's plane, then the GEMM accumulates (beta 1) */
  float beta = 0.0f;
  if (batch == 1 && bias)
    {
      for (gint64 co = 0; co < c_out; co++)
        for (gint64 i = 0; i < hw_out; i++)
          y[co * hw_out + i] = bias[co];
      beta = 1.0f;
    }

  /* one image, 1×1, stride 1, no padding: y[c_out, hw] = W[c_out, c_in] · x[c_in, hw] */
  if (batch == 1 && kernel == 1 && stride == 1 && pad == 0)
    {
      gill_gemm (FALSE, FALSE, c_out, hw_out, c_in, 1.0f, weight, c_in, x, h * w, beta, y, hw_out);
      return;
    }

  /* bands of output rows over all images: col[k_dim, cols], cols = batch · rows · Wo */
  gsize row_floats = gill_conv2d_row_floats (batch, c_in, c_out, kernel, w_out);
  g_return_if_fail (scratch_floats >= row_floats);
  gint64 band = MAX (1, (gint64) (scratch_floats / row_floats));
  for (gint64 row0 = 0; row0 < h_out; row0 += band)
    {
      gint64 n_rows = MIN (band, h_out - row0), per_image = n_rows * w_out, cols = batch * per_image;
      float *col = scratch;                    /* [k_dim, cols] */
      Im2colJob job = { x, batch, c_in, h, w, kernel, stride, pad, w_out, row0, n_rows, col, cols };
      gill_parallel_run (k_dim * cols >= IM2COL_PARALLEL_FLOATS ? gill_parallel_threads () : 1,
                         im2col_task, &job);
      if (batch == 1)
        {
          /* y[:, band] (+)= W · col, straight into the image */
          gill_gemm (FALSE, FALSE, c_out, cols, k_dim, 1.0f, weight, k_dim, col, cols, beta, y + row0 * w_out, hw_out);
          continue;
        }
      /* t[c_out, cols] = W · col, then each image's columns (+ bias) to its planes */
      float *t = col + k_dim * cols;
      gill_gemm (FALSE, FALSE, c_out, cols, k_dim, 1.0f, weight, k_dim, col, cols, 0.0f, t, cols);
      for (gint64 b = 0; b < batch; b++)
        for (gint64 co = 0; co < c_out; co++)
          {
            const float *src = t + co * cols + b * per_image;
            float *dst = y + (b * c_out + co) * hw_out + row0 * w_out;
            float add = bias ? bias[co] : 0.0f;
            for (gint64 i = 0; i < per_image; i++)
              dst[i] = src[i] + add;
          }
    }
}

/* torch's nearest_idx (aten/src/ATen/native/UpSample.h): same size -> i, double -> i >> 1,
 * else min (floor (i · (float) in / out), in - 1) */
static gint64
nearest_index (gint64 i,
               gint64 in,
               gint64 out)
{
  if (out == in)
    return i;
  if (out == 2 * in)
    return i >> 1;
  float scale = (float) in / (float) out;
  return MIN ((gint64) (i * scale), in - 1);
}

void
gill_upsample_nearest (const float *x,
                       gint64       channels,
                       gint64       h,
                       gint64       w,
                       float       *y,
                       gint64       h_out,
                       gint64       w_out)
{
  for (gint64 c = 0; c < channels; c++)
    for (gint64 i = 0; i < h_out; i++)
      {
        const float *src = x + (c * h + nearest_index (i, h, h_out)) * w;
        float *dst = y + (c * h_out + i) * w_out;
        for (gint64 j = 0; j < w_out; j++)
          dst[j] = src[nearest_index (j, w, w_out)];
      }
}
