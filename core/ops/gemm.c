/* gemm.c — matrix products on OpenBLAS (cblas_sgemm, row-major). */
#include "core/ops/gemm.h"

#include <cblas.h>
#include <string.h>

#include "core/ops/convert.h"

void
gill_gemm (gboolean     trans_a,
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
           gint64       ldc)
{
  if (m == 0 || n == 0)
    return;
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
               (blasint) m, (blasint) n, (blasint) k, alpha, a, (blasint) lda, b, (blasint) ldb, beta, c,
               (blasint) ldc);
}

void
gill_gemm_linear (const float *x,
                  gint64       rows,
                  gint64       in,
                  const float *weight,
                  const float *bias,
                  gint64       out,
                  float       *y)
{
  /* y = bias broadcast over rows, then y += x W^T */
  float beta = 0.0f;
  if (bias)
    {
      for (gint64 r = 0; r < rows; r++)
        memcpy (y + r * out, bias, sizeof (float) * out);
      beta = 1.0f;
    }
  gill_gemm (FALSE, TRUE, rows, out, in, 1.0f, x, in, weight, in, beta, y, out);
}

void
gill_linear (const float      *x,
             gint64            rows,
             const GillTensor *weight,
             const GillTensor *bias,
             float            *y,
             float            *scratch)
{
  g_return_if_fail (weight->n_dims == 2);
  gint64 out = weight->shape[0], in = weight->shape[1];
  const float *w = gill_tensor_as_f32 (weight, scratch);
  /* a bias is small: widen it behind the weight in the same scratch */
  const float *b = NULL;
  if (bias)
    b = gill_tensor_as_f32 (bias, scratch + (w == scratch ? out * in : 0));
  gill_gemm_linear (x, rows, in, w, b, out, y);
}

gint
gill_gemm_threads (void)
{
  return openblas_get_num_threads ();
}
