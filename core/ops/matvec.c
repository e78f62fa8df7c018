/* matvec.c — fused matrix–vector kernels over f32/f16/bf16/int8 weights, and the widening GEMM
 * path for longer inputs.
 *
 * The decode step of a 6.7B model is a walk over 13 GB of f16 weights with one activation
 * vector: memory-bound. Each kernel streams four or eight weight rows at once (that many streams
 * in flight per core: one stream alone reaches about half the read bandwidth), widens 8 or 16 elements in
 * registers (vcvtph2ps; bf16 << 16; int8 sign-extend + cvt) and FMAs them into f32 accumulators
 * against up to four activation vectors at a time. With more than four vectors, a block of 16
 * rows is revisited from L1/L2 for the next group, so memory sees each weight once. The pool's
 * threads take chunks of 64 rows until none are left.
 *
 * Families are chosen at run time (__builtin_cpu_supports) and compiled with target attributes,
 * so the binary runs on any x86-64 (and elsewhere with the scalar family). The two x86 families
 * are one kernel, matvec-simd.c, included once per family after its vector primitives. */
#include "core/ops/matvec.h"

#include <math.h>
#include <string.h>

#include "core/base/half.h"
#include "core/ops/convert.h"
#include "core/ops/cpu.h"
#include "core/ops/gemm.h"
#include "core/ops/parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MATVEC_HAVE_X86 1
#endif

#define MATVEC_BLOCK_ROWS 16          /* rows revisited per vector group */
#define MATVEC_CHUNK_ROWS 64          /* rows a thread takes at a time (a multiple of the block) */
#define MATVEC_SERIAL_ELEMENTS 65536  /* below this many weights one thread does it all */

/* what every kernel gets: the product and its row range */
typedef struct
{
  const GillMatrix *w;
  const float *x;     /* [n, cols] */
  gint64 n;
  const float *bias;  /* [rows] or NULL */
  float *y;           /* [n, ldy] */
  gint64 ldy;
} Product;

typedef void (*RowsFunc) (const Product *p,
                          gint64         r0,
                          gint64         r1);

/* ------------------------------------------------------------------ matrices */

gboolean
gill_matrix_from_tensor (const GillTensor *tensor,
                         GillMatrix       *matrix)
{
  if (tensor->n_dims != 2 || !gill_tensor_is_contiguous (tensor)
      || !(tensor->dtype == GILL_DTYPE_F32 || tensor->dtype == GILL_DTYPE_F16 || tensor->dtype == GILL_DTYPE_BF16))
    return FALSE;
  *matrix = (GillMatrix) { tensor->dtype, tensor->shape[0], tensor->shape[1], tensor->data, NULL };
  return TRUE;
}

static inline gsize
matrix_elem_size (GillDType dtype)
{
  switch (dtype)
    {
    case GILL_DTYPE_I8: return 1;
    case GILL_DTYPE_F16:
    case GILL_DTYPE_BF16: return 2;
    default: return 4;
    }
}

guint64
gill_matrix_bytes (const GillMatrix *matrix)
{
  guint64 bytes = (guint64) matrix->rows * (guint64) matrix->cols * matrix_elem_size (matrix->dtype);
  if (matrix->dtype == GILL_DTYPE_I8)
    bytes += (guint64) matrix->rows * sizeof (float);
  return bytes;
}

static const guint8 *
matrix_row (const GillMatrix *w,
            gint64            r)
{
  return (const guint8 *) w->data + (gsize) r * (gsize) w->cols * matrix_elem_size (w->dtype);
}

/* ------------------------------------------------------------------ scalar family */

static inline float
scalar_load (const guint8 *row,
             gint64        c,
             GillDType     dtype)
{
  guint16 h;
  float f;
  switch (dtype)
    {
    case GILL_DTYPE_F16:
      memcpy (&h, row + 2 * c, 2);
      return gill_f16_to_f32 (h);
    case GILL_DTYPE_BF16:
      memcpy (&h, row + 2 * c, 2);
      return gill_bf16_to_f32 (h);
    case GILL_DTYPE_I8:
      return (float) ((const gint8 *) row)[c];
    default:
      memcpy (&f, row + 4 * c, 4);
      return f;
    }
}

/* y[j, r] = scale_r * sum_c W[r, c] x[j, c] + bias[r] */
static void
scalar_rows (const Product *p,
             gint64         r0,
             gint64         r1)
{
  const GillMatrix *w = p->w;
  for (gint64 r = r0; r < r1; r++)
    {
      const guint8 *row = matrix_row (w, r);
      for (gint64 j = 0; j < p->n; j++)
        {
          const float *x = p->x + j * w->cols;
          float acc = 0;
          for (gint64 c = 0; c < w->cols; c++)
            acc += scalar_load (row, c, w->dtype) * x[c];
          if (w->dtype == GILL_DTYPE_I8)
            acc *= w->scale[r];
          p->y[j * p->ldy + r] = acc + (p->bias ? p->bias[r] : 0.0f);
        }
    }
}

#ifdef MATVEC_HAVE_X86
/* ------------------------------------------------------------------ AVX2 family (8 lanes) */

#define AVX2_TARGET "avx2,fma,f16c"

__attribute__ ((target (AVX2_TARGET), always_inline))
static inline __m256
avx2_zero (void)
{
  return _mm256_setzero_ps ();
}

__attribute__ ((target (AVX2_TARGET), always_inline))
static inline __m256
avx2_loadu (const float *x)
{
  return _mm256_loadu_ps (x);
}

__attribute__ ((target (AVX2_TARGET), always_inline))
static inline __m256
avx2_fma (__m256 a,
          __m256 b,
          __m256 c)
{
  return _mm256_fmadd_ps (a, b, c);
}

/* 8 weights from column c, widened: vcvtph2ps; bf16 << 16; int8 sign-extend + cvt */
__attribute__ ((target (AVX2_TARGET), always_inline))
static inline __m256
avx2_load (const guint8 *row,
           gint64        c,
           GillDType     dtype)
{
  switch (dtype)
    {
    case GILL_DTYPE_F16:
      return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (row + 2 * c)));
    case GILL_DTYPE_BF16:
      return _mm256_castsi256_ps (
        _mm256_slli_epi32 (_mm256_cvtepu16_epi32 (_mm_loadu_si128 ((const __m128i *) (row + 2 * c))), 16));
    case GILL_DTYPE_I8:
      return _mm256_cvtepi32_ps (_mm256_cvtepi8_epi32 (_mm_loadl_epi64 ((const __m128i *) (row + c))));
    default:
      return _mm256_loadu_ps ((const float *) (row + 4 * c));
    }
}

__attribute__ ((target (AVX2_TARGET), always_inline))
static inline float
avx2_sum (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

/* avx2_finish, avx2_rows_group, avx2_rows_dtype, avx2_rows; 16 ymm registers */
#define SIMD(name) avx2_##name
#define SIMD_TARGET AVX2_TARGET
#define SIMD_VEC __m256
#define SIMD_ROWS_4 2 /* 8 accumulators + 4 activations + 1 weight */
#define SIMD_ROWS_2 4 /* 8 + 2 + 1 */
#include "core/ops/matvec-simd.c"

/* ------------------------------------------------------------------ AVX-512 family (16 lanes) */

#define AVX512_TARGET "avx512f,avx512bw,avx512vl,avx2,fma,f16c"

__attribute__ ((target (AVX512_TARGET), always_inline))
static inline __m512
avx512_zero (void)
{
  return _mm512_setzero_ps ();
}

__attribute__ ((target (AVX512_TARGET), always_inline))
static inline __m512
avx512_loadu (const float *x)
{
  return _mm512_loadu_ps (x);
}

__attribute__ ((target (AVX512_TARGET), always_inline))
static inline __m512
avx512_fma (__m512 a,
            __m512 b,
            __m512 c)
{
  return _mm512_fmadd_ps (a, b, c);
}

/* 16 weights from column c, widened */
__attribute__ ((target (AVX512_TARGET), always_inline))
static inline __m512
avx512_load (const guint8 *row,
             gint64        c,
             GillDType     dtype)
{
  switch (dtype)
    {
    case GILL_DTYPE_F16:
      return _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (row + 2 * c)));
    case GILL_DTYPE_BF16:
      return _mm512_castsi512_ps (
        _mm512_slli_epi32 (_mm512_cvtepu16_epi32 (_mm256_loadu_si256 ((const __m256i *) (row + 2 * c))), 16));
    case GILL_DTYPE_I8:
      return _mm512_cvtepi32_ps (_mm512_cvtepi8_epi32 (_mm_loadu_si128 ((const __m128i *) (row + c))));
    default:
      return _mm512_loadu_ps ((const float *) (row + 4 * c));
    }
}

__attribute__ ((target (AVX512_TARGET), always_inline))
static inline float
avx512_sum (__m512 v)
{
  return _mm512_reduce_add_ps (v);
}

/* avx512_finish, avx512_rows_group, avx512_rows_dtype, avx512_rows; 32 zmm registers */
#define SIMD(name) avx512_##name
#define SIMD_TARGET AVX512_TARGET
#define SIMD_VEC __m512
#define SIMD_ROWS_4 4 /* 16 accumulators + 4 activations + 1 weight */
#define SIMD_ROWS_2 8 /* 16 + 2 + 1 */
#include "core/ops/matvec-simd.c"
#endif /* MATVEC_HAVE_X86 */

/* ------------------------------------------------------------------ dispatch */

gboolean
gill_matvec_isa_supported (GillMatvecIsa isa)
{
  switch (isa)
    {
    case GILL_MATVEC_ISA_AUTO:
    case GILL_MATVEC_ISA_SCALAR:
      return TRUE;
#ifdef MATVEC_HAVE_X86
    case GILL_MATVEC_ISA_AVX2:
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma") && gill_cpu_has_f16c ();
    case GILL_MATVEC_ISA_AVX512:
      return gill_matvec_isa_supported (GILL_MATVEC_ISA_AVX2) && __builtin_cpu_supports ("avx512f")
             && __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl");
#endif
    default:
      return FALSE;
    }
}

GillMatvecIsa
gill_matvec_isa (void)
{
  if (gill_matvec_isa_supported (GILL_MATVEC_ISA_AVX512))
    return GILL_MATVEC_ISA_AVX512;
  if (gill_matvec_isa_supported (GILL_MATVEC_ISA_AVX2))
    return GILL_MATVEC_ISA_AVX2;
  return GILL_MATVEC_ISA_SCALAR;
}

const gchar *
gill_matvec_isa_name (GillMatvecIsa isa)
{
  switch (isa)
    {
    case GILL_MATVEC_ISA_SCALAR: return "scalar";
    case GILL_MATVEC_ISA_AVX2: return "avx2+f16c+fma";
    case GILL_MATVEC_ISA_AVX512: return "avx512";
    default: return gill_matvec_isa_name (gill_matvec_isa ());
    }
}

static RowsFunc
matvec_rows_func (GillMatvecIsa isa)
{
  if (isa == GILL_MATVEC_ISA_AUTO || !gill_matvec_isa_supported (isa))
    isa = gill_matvec_isa ();
#ifdef MATVEC_HAVE_X86
  if (isa == GILL_MATVEC_ISA_AVX512)
    return avx512_rows;
  if (isa == GILL_MATVEC_ISA_AVX2)
    return avx2_rows;
#endif
  return scalar_rows;
}

typedef struct
{
  const Product *product;
  RowsFunc rows;
  gint next;   /* the next chunk of MATVEC_CHUNK_ROWS rows to take (atomic) */
} MatvecJob;

/* each task takes chunks of rows until none are left: a thread slowed down by another process
 * (GIMP beside us, a shared machine) then costs its chunk, not half the product */
static void
matvec_task (gint     task,
             gint     n_tasks,
             gpointer data)
{
  MatvecJob *job = data;
  const gint64 rows = job->product->w->rows;
  (void) task;
  (void) n_tasks;
  for (;;)
    {
      gint64 r0 = (gint64) g_atomic_int_add (&job->next, 1) * MATVEC_CHUNK_ROWS;
      if (r0 >= rows)
        break;
      job->rows (job->product, r0, MIN (r0 + MATVEC_CHUNK_ROWS, rows));
    }
}

void
gill_matvec_isa_run (GillMatvecIsa     isa,
                     const GillMatrix *w,
                     const float      *x,
                     gint64            n,
                     const float      *bias,
                     float            *y,
                     gint64            ldy)
{
  g_return_if_fail (n >= 1 && n <= GILL_MATVEC_MAX_N);
  g_return_if_fail (w->dtype != GILL_DTYPE_I8 || w->scale != NULL);
  Product product = { w, x, n, bias, y, ldy };
  MatvecJob job = { &product, matvec_rows_func (isa), 0 };
  gint tasks = w->rows * w->cols < MATVEC_SERIAL_ELEMENTS ? 1 : gill_parallel_threads ();
  gill_parallel_run (tasks, matvec_task, &job);
}

void
gill_matvec (const GillMatrix *w,
             const float      *x,
             gint64            n,
             const float      *bias,
             float            *y,
             gint64            ldy)
{
  gill_matvec_isa_run (GILL_MATVEC_ISA_AUTO, w, x, n, bias, y, ldy);
}

/* ------------------------------------------------------------------ widening and the GEMM path */

typedef struct
{
  const GillMatrix *w;
  gint64 row0, n_rows;
  float *out;
} WidenJob;

static void
widen_row (const GillMatrix *w,
           gint64            r,
           float            *out)
{
  const guint8 *row = matrix_row (w, r);
  switch (w->dtype)
    {
    case GILL_DTYPE_F16:
      gill_convert_f16_to_f32 (row, out, w->cols);
      break;
    case GILL_DTYPE_BF16:
      gill_convert_bf16_to_f32 (row, out, w->cols);
      break;
    case GILL_DTYPE_I8:
      for (gint64 c = 0; c < w->cols; c++)
        out[c] = w->scale[r] * (float) ((const gint8 *) row)[c];
      break;
    default:
      memcpy (out, row, sizeof (float) * w->cols);
      break;
    }
}

static void
widen_task (gint     task,
            gint     n_tasks,
            gpointer data)
{
  const WidenJob *job = data;
  gint64 a = job->n_rows * task / n_tasks, b = job->n_rows * (task + 1) / n_tasks;
  for (gint64 r = a; r < b; r++)
    widen_row (job->w, job->row0 + r, job->out + r * job->w->cols);
}

void
gill_matrix_widen_rows (const GillMatrix *w,
                        gint64            row0,
                        gint64            n_rows,
                        float            *out)
{
  g_return_if_fail (row0 >= 0 && row0 + n_rows <= w->rows);
  WidenJob job = { w, row0, n_rows, out };
  gint tasks = n_rows * w->cols < MATVEC_SERIAL_ELEMENTS ? 1 : gill_parallel_threads ();
  gill_parallel_run (tasks, widen_task, &job);
}

/* y[:, 0:out) = bias broadcast, so that the GEMM can accumulate onto it (beta = 1) */
static void
fill_bias (float       *y,
           gint64       n,
           gint64       ldy,
           const float *bias,
           gint64       out)
{
  for (gint64 i = 0; i < n; i++)
    memcpy (y + i * ldy, bias, sizeof (float) * out);
}

void
gill_matrix_linear (const GillMatrix *w,
                    const float      *x,
                    gint64            n,
                    const float      *bias,
                    float            *y,
                    gint64            ldy,
                    float            *scratch,
                    gsize             scratch_floats)
{
  if (n <= 0)
    return;
  if (n <= GILL_MATVEC_MAX_N)
    {
      gill_matvec (w, x, n, bias, y, ldy);
      return;
    }
  /* an aligned f32 weight is its own widened form */
  if (w->dtype == GILL_DTYPE_F32 && (guintptr) w->data % sizeof (float) == 0)
    {
      if (bias)
        fill_bias (y, n, ldy, bias, w->rows);
      gill_gemm (FALSE, TRUE, n, w->rows, w->cols, 1.0f, x, w->cols, w->data, w->cols, bias ? 1.0f : 0.0f,
                 y, ldy);
      return;
    }
  /* panels of rows widened into scratch, each multiplied into its columns of y */
  gint64 panel = MIN (w->rows, (gint64) (scratch_floats / (gsize) w->cols));
  g_return_if_fail (panel > 0);
  for (gint64 r0 = 0; r0 < w->rows; r0 += panel)
    {
      gint64 rows = MIN (panel, w->rows - r0);
      gill_matrix_widen_rows (w, r0, rows, scratch);
      if (bias)
        fill_bias (y + r0, n, ldy, bias + r0, rows);
      gill_gemm (FALSE, TRUE, n, rows, w->cols, 1.0f, x, w->cols, scratch, w->cols, bias ? 1.0f : 0.0f,
                 y + r0, ldy);
    }
}

/* ------------------------------------------------------------------ int8 quantisation */

typedef struct
{
  const GillMatrix *w;
  gint8 *q;
  float *scale;
} QuantizeJob;

static void
quantize_task (gint     task,
               gint     n_tasks,
               gpointer data)
{
  const QuantizeJob *job = data;
  const GillMatrix *w = job->w;
  g_autofree float *row = g_new (float, w->cols);
  gint64 a = w->rows * task / n_tasks, b = w->rows * (task + 1) / n_tasks;
  for (gint64 r = a; r < b; r++)
    {
      widen_row (w, r, row);
      float amax = 0;
      for (gint64 c = 0; c < w->cols; c++)
        amax = fmaxf (amax, fabsf (row[c]));
      float scale = amax / 127.0f;
      float inv = scale > 0 ? 1.0f / scale : 0.0f;
      gint8 *q = job->q + r * w->cols;
      for (gint64 c = 0; c < w->cols; c++)
        q[c] = (gint8) CLAMP (nearbyintf (row[c] * inv), -127.0f, 127.0f);
      job->scale[r] = scale;
    }
}

void
gill_matrix_quantize_i8 (const GillMatrix *w,
                         gint8            *q,
                         float            *scale)
{
  QuantizeJob job = { w, q, scale };
  gill_parallel_run (gill_parallel_threads (), quantize_task, &job);
}
