/* gemm.c — matrix products on OpenBLAS (cblas_sgemm, row-major), threaded by gill's pool.
 *
 * OpenBLAS is told to run single-threaded the first time gill asks for threads; a large product
 * is cut into one band of rows (or columns) per thread of gill's pool (core/ops/parallel.h), each
 * band an independent single-threaded sgemm. So the process has one set of worker threads, which
 * sleep between jobs, instead of OpenBLAS's spinning ones beside gill's (DESIGN.md: two pools
 * must never fight over the cores). Every element is still one dot product over k in OpenBLAS's
 * order: the cut changes no result. */
#include "core/ops/gemm.h"

#include <cblas.h>
#include <string.h>

#include "core/ops/convert.h"
#include "core/ops/parallel.h"

/* below this many multiply-adds a product runs on the calling thread alone */
#define GEMM_PARALLEL_MACS (1 << 20)
/* bands start at multiples of this (OpenBLAS's register tiles are 16 wide on AVX-512) */
#define GEMM_BAND_ALIGN 16

static gpointer
gemm_threads_init (gpointer unused)
{
  (void) unused;
  gint threads = MAX (openblas_get_num_threads (), 1);
  openblas_set_num_threads (1);
  return GINT_TO_POINTER (threads);
}

gint
gill_gemm_threads (void)
{
  static GOnce once = G_ONCE_INIT;
  return GPOINTER_TO_INT (g_once (&once, gemm_threads_init, NULL));
}

/* one product, as gill_gemm takes it; by_rows: the bands cut C's rows (else its columns) */
typedef struct
{
  gboolean trans_a, trans_b, by_rows;
  gint64 m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
} Gemm;

/* the product on the calling thread (OpenBLAS single-threaded) */
static void
sgemm (const Gemm *g)
{
  cblas_sgemm (CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
               (blasint) g->m, (blasint) g->n, (blasint) g->k, g->alpha, g->a, (blasint) g->lda, g->b,
               (blasint) g->ldb, g->beta, g->c, (blasint) g->ldc);
}

/* [lo, hi) of `size` for task t of n, on GEMM_BAND_ALIGN boundaries */
static void
band (gint64  size,
      gint    task,
      gint    n_tasks,
      gint64 *lo,
      gint64 *hi)
{
  gint64 units = (size + GEMM_BAND_ALIGN - 1) / GEMM_BAND_ALIGN;
  *lo = MIN (size, units * task / n_tasks * GEMM_BAND_ALIGN);
  *hi = MIN (size, units * (task + 1) / n_tasks * GEMM_BAND_ALIGN);
}

static void
gemm_band (gint     task,
           gint     n_tasks,
           gpointer data)
{
  const Gemm *g = data;
  Gemm part = *g;
  gint64 lo, hi;
  if (g->by_rows)
    {
      /* rows [lo, hi) of C from rows of op(A): A's rows, or A's columns when transposed */
      band (g->m, task, n_tasks, &lo, &hi);
      part.m = hi - lo;
      part.a = g->trans_a ? g->a + lo : g->a + lo * g->lda;
      part.c = g->c + lo * g->ldc;
    }
  else
    {
      /* columns [lo, hi) of C from columns of op(B): B's columns, or B's rows when transposed */
      band (g->n, task, n_tasks, &lo, &hi);
      part.n = hi - lo;
      part.b = g->trans_b ? g->b + lo * g->ldb : g->b + lo;
      part.c = g->c + lo;
    }
  if (hi > lo)
    sgemm (&part);
}

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
  /* cut the longer side: each band then repacks only the shorter operand */
  const Gemm g = { trans_a, trans_b, m >= n, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c };
  gint threads = gill_gemm_threads ();
  gint64 widest = MAX (m, n);
  if (threads < 2 || m * n * k < GEMM_PARALLEL_MACS || widest < 2 * GEMM_BAND_ALIGN)
    sgemm (&g);
  else
    gill_parallel_run ((gint) MIN (threads, widest / GEMM_BAND_ALIGN), gemm_band, (gpointer) &g);
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
