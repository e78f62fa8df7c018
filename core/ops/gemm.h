/* gemm.h — the one entry point for matrix products in gill (fp32 OpenBLAS today, threaded by
 * gill's pool).
 *
 * Orientation: row-major everywhere. A PyTorch Linear weight is [out, in]; y = x W^T + b is
 * gill_gemm_linear with W used where it lies (CblasTrans), no transposed copy. Call sites never
 * include cblas.h: a bf16/int8 path can slot in behind these functions. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"

G_BEGIN_DECLS

/* C[m,n] = alpha * op(A) op(B) + beta * C, op = transpose when trans_* is TRUE;
 * lda/ldb/ldc are row strides in elements */
void gill_gemm           (gboolean     trans_a,
                          gboolean     trans_b,
                          gint64       m,
                          gint64       n,
                          gint64       k,
                          float        alpha,
                          const float *a,
                          gint64       lda,
                          const float *b,
                          gint64       ldb,
                          float        beta,
                          float       *c,
                          gint64       ldc);

/* y[rows, out] = x[rows, in] W[out, in]^T (+ bias[out]); weight f32 */
void gill_gemm_linear    (const float *x,
                          gint64       rows,
                          gint64       in,
                          const float *weight,
                          const float *bias,   /* may be NULL */
                          gint64       out,
                          float       *y);

/* the same with a weight tensor of any float dtype: f16/bf16 are widened into scratch
 * (out x in + out floats), f32 used in place; bias tensor may be NULL */
void gill_linear         (const float      *x,
                          gint64            rows,
                          const GillTensor *weight,  /* [out, in] */
                          const GillTensor *bias,    /* [out] or NULL */
                          float            *y,
                          float            *scratch);

/* threads of the process's one pool (core/ops/parallel.h): OpenBLAS's thread count when first
 * asked (OPENBLAS_NUM_THREADS, else the cores), after which OpenBLAS itself runs single-threaded
 * and large products are cut into one band per thread */
gint gill_gemm_threads   (void);

G_END_DECLS
