/* matvec.h — linear layers on weights kept in their storage dtype (f32, f16, bf16, int8).
 *
 * A GillMatrix is a PyTorch Linear weight W [rows = out, cols = in], row-major, rows contiguous,
 * in f32, f16, bf16 (as mapped from the file) or int8 with one float scale per output row
 * (W[r, c] = scale[r] * q[r, c], symmetric, from gill_matrix_quantize_i8).
 *
 *   gill_matvec         y[n, rows] = x[n, cols] W^T (+ bias), n <= GILL_MATVEC_MAX_N: the fused
 *                       kernels read each weight once, widen it in registers (F16C/AVX2 or
 *                       AVX-512, chosen at run time) and accumulate in f32 — single-token decode,
 *                       where widening a layer first would move ~3x the bytes.
 *   gill_matrix_linear  any n: the fused kernels up to GILL_MATVEC_MAX_N rows, otherwise the
 *                       weight widened (dequantised) panel by panel into scratch for the one GEMM
 *                       entry point (gill_gemm).
 *
 * Rows are split across the worker pool (parallel.h). Accumulation is fp32 everywhere. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"

G_BEGIN_DECLS

/* the most input vectors the fused kernels take at once (a decode step of a small batch) */
#define GILL_MATVEC_MAX_N 8

typedef struct
{
  GillDType dtype;    /* F32, F16, BF16 or I8 */
  gint64 rows;        /* out features */
  gint64 cols;        /* in features */
  const void *data;   /* [rows, cols], row stride cols elements; any alignment */
  const float *scale; /* I8 only: [rows] per-output-channel scales */
} GillMatrix;

/* the matrix view of a 2-D contiguous float tensor (borrowed); FALSE when it is not one */
gboolean     gill_matrix_from_tensor   (const GillTensor *tensor,
                                        GillMatrix       *matrix);
/* bytes of weight data (scales included) */
guint64      gill_matrix_bytes         (const GillMatrix *matrix);

/* y[n, rows] (row stride ldy) = x[n, cols] W^T + bias[rows] (bias may be NULL);
 * 1 <= n <= GILL_MATVEC_MAX_N */
void         gill_matvec               (const GillMatrix *w,
                                        const float      *x,
                                        gint64            n,
                                        const float      *bias,
                                        float            *y,
                                        gint64            ldy);

/* rows [row0, row0 + n_rows) of W as f32 into out ([n_rows, cols]), in parallel */
void         gill_matrix_widen_rows    (const GillMatrix *w,
                                        gint64            row0,
                                        gint64            n_rows,
                                        float            *out);

/* y[n, rows] (row stride ldy) = x[n, cols] W^T + bias for any n: fused kernels for
 * n <= GILL_MATVEC_MAX_N, else panels of W widened into scratch (scratch_floats >= cols) and
 * multiplied by gill_gemm. f32 weights are used in place when aligned. */
void         gill_matrix_linear        (const GillMatrix *w,
                                        const float      *x,
                                        gint64            n,
                                        const float      *bias,
                                        float            *y,
                                        gint64            ldy,
                                        float            *scratch,
                                        gsize             scratch_floats);

/* symmetric per-row int8: scale[r] = max |W[r, :]| / 127, q = round (W / scale);
 * q holds rows x cols bytes, scale rows floats. Runs on the pool. */
void         gill_matrix_quantize_i8   (const GillMatrix *w,
                                        gint8            *q,
                                        float            *scale);

/* the kernel families; gill_matvec picks the best one the CPU has (AUTO) */
typedef enum
{
  GILL_MATVEC_ISA_AUTO,
  GILL_MATVEC_ISA_SCALAR,
  GILL_MATVEC_ISA_AVX2,   /* AVX2 + FMA + F16C, 8 lanes */
  GILL_MATVEC_ISA_AVX512, /* AVX-512 F/BW/VL, 16 lanes */
} GillMatvecIsa;

/* the family AUTO resolves to on this CPU */
GillMatvecIsa gill_matvec_isa          (void);
const gchar *gill_matvec_isa_name      (GillMatvecIsa isa);
gboolean     gill_matvec_isa_supported (GillMatvecIsa isa);
/* gill_matvec with a chosen family (tests compare the families) */
void         gill_matvec_isa_run       (GillMatvecIsa     isa,
                                        const GillMatrix *w,
                                        const float      *x,
                                        gint64            n,
                                        const float      *bias,
                                        float            *y,
                                        gint64            ldy);

G_END_DECLS
