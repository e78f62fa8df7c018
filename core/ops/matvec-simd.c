/* matvec-simd.c — the x86 row kernels, written once for both families (AVX2, AVX-512) and
 * included by matvec.c once per family; not compiled on its own. Before each inclusion matvec.c
 * defines
 *
 *   SIMD(name)   the family's prefix on every name (avx2_rows, avx512_rows, …)
 *   SIMD_TARGET  its target attribute
 *   SIMD_VEC     its f32 vector type (__m256, __m512); the lane count is its size
 *   SIMD_ROWS_4  rows interleaved against 4 vectors, and SIMD_ROWS_2 against 2 or 1: what the
 *                register file holds (nr x nv accumulators + nv activation slices + 1 weight slice)
 *
 * and the family's primitives: SIMD(zero), SIMD(loadu) (f32 activations), SIMD(fma),
 * SIMD(load) (a weight slice widened to f32) and SIMD(sum) (the horizontal sum). Every family
 * therefore adds up in the same shape: lane l of an accumulator takes the columns = l mod lanes
 * in order, then the reduction, then the scalar tail. The parameters are undefined at the end. */
#ifndef SIMD
#error "matvec-simd.c is a template included by matvec.c"
#endif

/* one row's sum finished: reduction, scalar tail, int8 scale, bias */
__attribute__ ((target (SIMD_TARGET), always_inline))
static inline void
SIMD (finish) (const Product *p,
               gint64         r,
               gint64         j,
               SIMD_VEC       acc,
               gint64         body,
               GillDType      dtype)
{
  const GillMatrix *w = p->w;
  const guint8 *row = matrix_row (w, r);
  const float *x = p->x + j * w->cols;
  float sum = SIMD (sum) (acc);
  for (gint64 c = body; c < w->cols; c++)
    sum += scalar_load (row, c, dtype) * x[c];
  if (dtype == GILL_DTYPE_I8)
    sum *= w->scale[r];
  p->y[j * p->ldy + r] = sum + (p->bias ? p->bias[r] : 0.0f);
}

/* rows [r0, r1) against vectors [j0, j0 + nv), nr rows interleaved: nr independent weight
 * streams in flight (what lets one core pull its share of the memory bandwidth) and nr x nv
 * accumulator chains; each step of one vector's lanes loads the nv activation slices once */
__attribute__ ((target (SIMD_TARGET), always_inline))
static inline void
SIMD (rows_group) (const Product *p,
                   gint64         r0,
                   gint64         r1,
                   gint64         j0,
                   gint           nv,
                   gint           nr,
                   GillDType      dtype)
{
  const GillMatrix *w = p->w;
  const gint64 lanes = (gint64) (sizeof (SIMD_VEC) / sizeof (float));
  const gint64 cols = w->cols, body = cols / lanes * lanes;
  gint64 r = r0;
  for (; r + nr <= r1; r += nr)
    {
      const guint8 *rows[SIMD_ROWS_2];
      SIMD_VEC acc[SIMD_ROWS_2][4];
      for (gint i = 0; i < nr; i++)
        {
          rows[i] = matrix_row (w, r + i);
          for (gint j = 0; j < nv; j++)
            acc[i][j] = SIMD (zero) ();
        }
      /* one 64-byte line of each row per step; for int8 the same line of the next group's rows
       * is prefetched to L2 meanwhile, so no row starts cold (an int8 row is a single 4 KiB page,
       * which the hardware prefetcher has to discover anew for every row; measured: 1.3 -> 1.1 x
       * the read time; 16-bit rows span two pages and do better without) */
      const gint64 line = 64 / (gint64) matrix_elem_size (dtype), lines = cols / line * line;
      const gsize ahead = (gsize) nr * (gsize) cols * matrix_elem_size (dtype);
      gint64 c = 0;
      for (; c < lines; c += line)
        {
          for (gint i = 0; dtype == GILL_DTYPE_I8 && i < nr; i++)
            _mm_prefetch ((const char *) rows[i] + ahead + c * matrix_elem_size (dtype), _MM_HINT_T1);
          for (gint64 u = c; u < c + line; u += lanes)
            {
              SIMD_VEC xv[4];
              for (gint j = 0; j < nv; j++)
                xv[j] = SIMD (loadu) (p->x + (j0 + j) * cols + u);
              for (gint i = 0; i < nr; i++)
                {
                  SIMD_VEC wv = SIMD (load) (rows[i], u, dtype);
                  for (gint j = 0; j < nv; j++)
                    acc[i][j] = SIMD (fma) (wv, xv[j], acc[i][j]);
                }
            }
        }
      for (; c < body; c += lanes)
        {
          SIMD_VEC xv[4];
          for (gint j = 0; j < nv; j++)
            xv[j] = SIMD (loadu) (p->x + (j0 + j) * cols + c);
          for (gint i = 0; i < nr; i++)
            {
              SIMD_VEC wv = SIMD (load) (rows[i], c, dtype);
              for (gint j = 0; j < nv; j++)
                acc[i][j] = SIMD (fma) (wv, xv[j], acc[i][j]);
            }
        }
      for (gint i = 0; i < nr; i++)
        for (gint j = 0; j < nv; j++)
          SIMD (finish) (p, r + i, j0 + j, acc[i][j], body, dtype);
    }
  /* the rows left over, one at a time */
  for (; r < r1; r++)
    {
      const guint8 *row = matrix_row (w, r);
      SIMD_VEC acc[4];
      for (gint j = 0; j < nv; j++)
        acc[j] = SIMD (zero) ();
      for (gint64 c = 0; c < body; c += lanes)
        {
          SIMD_VEC wv = SIMD (load) (row, c, dtype);
          for (gint j = 0; j < nv; j++)
            acc[j] = SIMD (fma) (wv, SIMD (loadu) (p->x + (j0 + j) * cols + c), acc[j]);
        }
      for (gint j = 0; j < nv; j++)
        SIMD (finish) (p, r, j0 + j, acc[j], body, dtype);
    }
}

/* blocks of rows, each against every vector in groups of 4, 2, 1 */
__attribute__ ((target (SIMD_TARGET), always_inline))
static inline void
SIMD (rows_dtype) (const Product *p,
                   gint64         r0,
                   gint64         r1,
                   GillDType      dtype)
{
  for (gint64 b = r0; b < r1; b += MATVEC_BLOCK_ROWS)
    {
      gint64 e = MIN (b + MATVEC_BLOCK_ROWS, r1);
      for (gint64 j = 0; j < p->n;)
        {
          gint64 left = p->n - j;
          gint nv = left >= 4 ? 4 : left >= 2 ? 2 : 1;
          if (nv == 4)
            SIMD (rows_group) (p, b, e, j, 4, SIMD_ROWS_4, dtype);
          else if (nv == 2)
            SIMD (rows_group) (p, b, e, j, 2, SIMD_ROWS_2, dtype);
          else
            SIMD (rows_group) (p, b, e, j, 1, SIMD_ROWS_2, dtype);
          j += nv;
        }
    }
}

/* the family's RowsFunc: one copy of the kernel per dtype, the dtype a constant in each */
__attribute__ ((target (SIMD_TARGET)))
static void
SIMD (rows) (const Product *p,
             gint64         r0,
             gint64         r1)
{
  switch (p->w->dtype)
    {
    case GILL_DTYPE_F16: SIMD (rows_dtype) (p, r0, r1, GILL_DTYPE_F16); break;
    case GILL_DTYPE_BF16: SIMD (rows_dtype) (p, r0, r1, GILL_DTYPE_BF16); break;
    case GILL_DTYPE_I8: SIMD (rows_dtype) (p, r0, r1, GILL_DTYPE_I8); break;
    default: SIMD (rows_dtype) (p, r0, r1, GILL_DTYPE_F32); break;
    }
}

#undef SIMD
#undef SIMD_TARGET
#undef SIMD_VEC
#undef SIMD_ROWS_4
#undef SIMD_ROWS_2
