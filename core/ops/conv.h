/* conv.h — 2-D convolution as im2col + GEMM, and nearest-neighbour upsampling.
 *
 * Layout: one image is [channels, height, width] row-major (NCHW without the N); a weight is
 * PyTorch's Conv2d OIHW [c_out, c_in, k, k], which read as a [c_out, c_in·k·k] matrix is
 * already the left operand of the GEMM — the weight is used where it lies:
 *
 *   y[c_out, Ho·Wo] = W[c_out, c_in·k²] · col[c_in·k², Ho·Wo] (+ bias[c_out])
 *
 * col is built a band of output rows at a time into caller scratch, so a 3×3 conv over a
 * 512×512 image with 256 channels needs a few tens of MB, not the 2.4 GB a whole col would.
 * A 1×1 stride-1 conv of one image is a plain GEMM on the image. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the output size of one spatial dimension: (in + 2 pad - k) / stride + 1 */
gint64 gill_conv2d_out_dim         (gint64       in,
                                    gint64       kernel,
                                    gint64       stride,
                                    gint64       pad);

/* floats of scratch one output row of this conv needs for `batch` images: the col rows
 * batch·c_in·k²·Wo, plus the GEMM's output band batch·c_out·Wo when batch > 1; a conv runs with
 * any scratch holding one row, and is fastest with 8+ rows */
gsize  gill_conv2d_row_floats      (gint64       batch,
                                    gint64       c_in,
                                    gint64       c_out,
                                    gint64       kernel,
                                    gint64       w_out);

/* y[b, c_out, Ho, Wo] = conv (x[b, c_in, h, w], weight [c_out, c_in, k, k], stride, zero pad)
 * + bias for every image b. Small outputs (under 2048 pixels) take one GEMM per band of output
 * rows covering all images (their columns side by side), so each weight is packed once per
 * band, not once per image:
 *   col[c_in·k², (b, r, ox)] → t[c_out, (b, r, ox)] = W · col → y[b, :, band]
 * larger ones one image at a time, the GEMM writing straight into y.
 * y must not overlap x; scratch_floats >= gill_conv2d_row_floats (unused for one image 1×1) */
void   gill_conv2d                 (const float *x,
                                    gint64       batch,
                                    gint64       c_in,
                                    gint64       h,
                                    gint64       w,
                                    const float *weight,
                                    const float *bias,      /* [c_out] or NULL */
                                    gint64       c_out,
                                    gint64       kernel,
                                    gint64       stride,
                                    gint64       pad,
                                    float       *y,
                                    float       *scratch,
                                    gsize        scratch_floats);

/* y[c, h_out, w_out] = x[c, src(i), src(j)] with torch's "nearest" index rule
 * (F.interpolate (mode="nearest")): exact ×2 gives i / 2, other sizes floor (i · in/out) */
void   gill_upsample_nearest       (const float *x,
                                    gint64       channels,
                                    gint64       h,
                                    gint64       w,
                                    float       *y,
                                    gint64       h_out,
                                    gint64       w_out);

G_END_DECLS
