/* attention.c — tiled online-softmax attention (see attention.h). Reference semantics:
 * diffusers 0.17.1 AttnProcessor (attention_processor.py): baddbmm (q, kᵀ, scale) → softmax over
 * keys → bmm with v, per head. */
#include "core/ops/attention.h"

#include <math.h>
#include <string.h>

#include "core/ops/gemm.h"
#include "core/ops/parallel.h"
#include "core/ops/vmath.h"

/* scores in a tile from which its softmax is split among threads */
#define SOFTMAX_PARALLEL_SCORES (1 << 17)

/* ------------------------------------------------------------------ exp */

#define EXP_LANES 16

/* target_clones only on static functions: clang 14 does not emit the resolver of an exported
 * clone for calls from other files */
__attribute__ ((target_clones ("avx512f", "avx2", "default")))
static float
exp_sum (float *x,
         gint64 n,
         float  shift)
{
  /* below e^-64 of the row's largest a probability cannot change the (≥ 1) float sum, and its
   * products with V would be denormal — a microcode assist of ~100 cycles per multiply on x86,
   * which made the VAE's and the 64×64 level's attention several times slower: flush to 0 */
  for (gint64 i = 0; i < n; i++)
    {
      float d = x[i] - shift;
      float e = gill_vmath_exp (d);
      x[i] = d < -64.0f ? 0.0f : e;
    }
  /* sixteen partial sums so that the reduction vectorises */
  float part[EXP_LANES] = { 0 };
  gint64 i = 0;
  for (; i + EXP_LANES <= n; i += EXP_LANES)
    for (gint l = 0; l < EXP_LANES; l++)
      part[l] += x[i + l];
  float sum = 0.0f;
  for (; i < n; i++)
    sum += x[i];
  for (gint l = 0; l < EXP_LANES; l++)
    sum += part[l];
  return sum;
}

float
gill_attention_exp_sum (float *x,
                        gint64 n,
                        float  shift)
{
  return exp_sum (x, n, shift);
}

__attribute__ ((target_clones ("avx512f", "avx2", "default")))
static float
row_max (const float *x,
         gint64       n)
{
  float part[EXP_LANES];
  for (gint l = 0; l < EXP_LANES; l++)
    part[l] = -INFINITY;
  gint64 i = 0;
  for (; i + EXP_LANES <= n; i += EXP_LANES)
    for (gint l = 0; l < EXP_LANES; l++)
      part[l] = x[i + l] > part[l] ? x[i + l] : part[l];
  float m = -INFINITY;
  for (; i < n; i++)
    m = x[i] > m ? x[i] : m;
  for (gint l = 0; l < EXP_LANES; l++)
    m = part[l] > m ? part[l] : m;
  return m;
}

/* ------------------------------------------------------------------ attention */

/* the online-softmax update of a tile's rows [i0, i1) (see attention.h) */
typedef struct
{
  float *s, *acc, *m, *l;
  gint64 bq, bk, d;
  gboolean first;      /* the first key block: no running values yet */
} SoftmaxJob;

static void
softmax_task (gint     task,
              gint     n_tasks,
              gpointer data)
{
  const SoftmaxJob *j = data;
  gint64 i0 = j->bq * task / n_tasks, i1 = j->bq * (task + 1) / n_tasks;
  for (gint64 i = i0; i < i1; i++)
    {
      float *si = j->s + i * j->bk;
      float m_old = j->first ? -INFINITY : j->m[i];
      float m_new = MAX (m_old, row_max (si, j->bk));
      float sum = gill_attention_exp_sum (si, j->bk, m_new);
      if (j->first)
        j->l[i] = sum;
      else
        {
          float c = expf (m_old - m_new);
          j->l[i] = j->l[i] * c + sum;
          for (gint64 e = 0; e < j->d; e++)
            j->acc[i * j->d + e] *= c;
        }
      j->m[i] = m_new;
    }
}

/* the tile: up to BLOCK_KV keys, and as many queries as keep the scores at BLOCK_Q × BLOCK_KV
 * (few keys, as in cross-attention on 77 tokens, make tall tiles and fewer, larger GEMMs) */
static void
attention_tile (gint64  n_q,
                gint64  n_kv,
                gint64 *bq,
                gint64 *bk)
{
  *bk = MIN (n_kv, GILL_ATTENTION_BLOCK_KV);
  *bq = MIN (n_q, MAX (GILL_ATTENTION_BLOCK_Q, GILL_ATTENTION_BLOCK_Q * GILL_ATTENTION_BLOCK_KV / *bk));
}

static gsize
attention_gemm_scratch_floats (gint64 n_q,
                               gint64 n_kv,
                               gint64 head_dim)
{
  /* scores [bq, bk], accumulator [bq, d], running max and denominator [bq] each — bounded for
   * every call with at most n_q queries and n_kv keys: fewer keys make taller tiles */
  const gint64 area = (gint64) GILL_ATTENTION_BLOCK_Q * GILL_ATTENTION_BLOCK_KV;
  gint64 rows = MIN (n_q, area);
  return (gsize) (MIN (n_q * n_kv, area) + rows * (head_dim + 2));
}

/* one call's operands, as gill_attention takes them */
typedef struct
{
  const float *q, *k, *v;
  float *out;
  gint64 ldq, ldk, ldv, ldo;   /* row strides */
  gint64 n_q, n_kv, n_head, d; /* d: the head dim */
  float scale;
  float *scratch;
} Attention;

/* the portable path: both products through the GEMM entry point, tile by tile */
static void
attention_gemm (const Attention *a)
{
  const gint64 d = a->d, n_q = a->n_q, n_kv = a->n_kv;
  gint64 bq_max, bk_max;
  attention_tile (n_q, n_kv, &bq_max, &bk_max);
  float *s = a->scratch;                 /* [bq, bk] scores, then probabilities */
  float *acc = s + bq_max * bk_max;      /* [bq, d]  unnormalised output */
  float *m = acc + bq_max * d;           /* [bq]     running max */
  float *l = m + bq_max;                 /* [bq]     running denominator */

  for (gint64 h = 0; h < a->n_head; h++)
    for (gint64 i0 = 0; i0 < n_q; i0 += bq_max)
      {
        gint64 bq = MIN (bq_max, n_q - i0);
        const float *qh = a->q + i0 * a->ldq + h * d;     /* [bq, d] */
        for (gint64 j0 = 0; j0 < n_kv; j0 += bk_max)
          {
            gint64 bk = MIN (bk_max, n_kv - j0);
            const float *kh = a->k + j0 * a->ldk + h * d; /* [bk, d] */
            const float *vh = a->v + j0 * a->ldv + h * d; /* [bk, d] */

            /* S[bq, bk] = scale · Q Kᵀ */
            gill_gemm (FALSE, TRUE, bq, bk, d, a->scale, qh, a->ldq, kh, a->ldk, 0.0f, s, bk);

            /* per query: m' = max (m, max S), P = exp (S − m'), l = l·c + Σ P, O *= c, c = exp (m − m');
             * rows split among the pool's threads when the tile is large */
            SoftmaxJob job = { s, acc, m, l, bq, bk, d, j0 == 0 };
            gill_parallel_run (bq * bk >= SOFTMAX_PARALLEL_SCORES ? gill_parallel_threads () : 1, softmax_task, &job);

            /* O[bq, d] (+)= P V */
            gill_gemm (FALSE, FALSE, bq, d, bk, 1.0f, s, bk, vh, a->ldv, j0 == 0 ? 0.0f : 1.0f, acc, d);
          }

        /* out = O / l */
        for (gint64 i = 0; i < bq; i++)
          {
            float inv = 1.0f / l[i];
            float *o = a->out + (i0 + i) * a->ldo + h * d;
            for (gint64 e = 0; e < d; e++)
              o[e] = acc[i * d + e] * inv;
          }
      }
}

/* ------------------------------------------------------------------ fused kernel (AVX-512) */

/* FlashAttention's schedule with the products in registers instead of GEMM calls: per head, Kᵀ
 * and V are packed once (zero-padded), then each thread takes blocks of QUERY_ROWS queries and
 * streams the keys through them KEY_BLOCK at a time — scores, online softmax and P V for a
 * block all stay in L1, and no thread waits on another until the head is done. SD's 64×64
 * self-attention (head dim 40) is a K = 40 product that a general GEMM packs and synchronises
 * around far more than it computes; here the 8-row × 32-key score tile and the 8-row × 48-column
 * output tile live in 16 and 24 of the 32 vector registers. */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_FUSED 1

#include <immintrin.h>

#define LANES       16   /* floats in a 512-bit vector */
#define TILE_ROWS   8    /* query rows of a register tile */
#define QUERY_ROWS  32   /* query rows a task holds: four register tiles share each key block */
#define KEY_BLOCK   128  /* keys per block: Kᵀ and V blocks of head dim 40 fit L1 beside the scores */
#define VALUE_VECS  3    /* output vectors per register tile row (48 columns) */
#define MAX_HEAD_DIM 160 /* SD's largest; above it (the VAE's 512) the products are GEMM-sized */

#define AVX512 __attribute__ ((target ("avx512f")))
#define INLINE_AVX512 __attribute__ ((target ("avx512f"), always_inline)) static inline

typedef float Vec __attribute__ ((vector_size (LANES * sizeof (float))));
typedef float VecU __attribute__ ((vector_size (LANES * sizeof (float)), aligned (4)));

/* x in every lane (x − 0 is x for every x, −0 included, so no add survives) */
INLINE_AVX512 Vec
splat (float x)
{
  return x - (Vec) { 0 };
}

/* one head of a call: its queries and output columns, its packed keys and values, and the
 * padded sizes: dp = head dim up to whole vectors, nkp = keys up to LANES */
typedef struct
{
  const Attention *a;
  const float *q;    /* this head's first query column */
  float *out;        /* this head's first output column */
  const float *kt;   /* this head's keys, transposed block by block: [nkp / KEY_BLOCK][d, KEY_BLOCK] */
  const float *vp;   /* [nkp, dp] this head's values */
  gint64 nkp, dp;
  float *thread_scratch;
  gsize thread_floats;
} FusedHead;

static gint64
round_up (gint64 x,
          gint64 to)
{
  return (x + to - 1) / to * to;
}

static gsize
fused_thread_floats (gint64 dp)
{
  /* queries [QUERY_ROWS, dp], scores [QUERY_ROWS, KEY_BLOCK], output [QUERY_ROWS, dp], m, l */
  return (gsize) (QUERY_ROWS * (2 * dp + KEY_BLOCK + 2));
}

static gsize
fused_scratch_floats (gint64 n_kv,
                      gint64 head_dim)
{
  gint64 dp = round_up (head_dim, LANES), nkp = round_up (n_kv, LANES);
  return (gsize) (head_dim * nkp + nkp * dp) + (gsize) gill_parallel_threads () * fused_thread_floats (dp);
}

/* S[8, 16·nk] = Q[8, d] Kᵀ[d, 16·nk]: queries already scaled, Kᵀ rows ldk apart */
INLINE_AVX512 void
score_tile (const float *q,
            gint64       ldq,
            const float *kt,
            gint64       ldk,
            gint64       d,
            float       *s,
            gint64       lds,
            const gint   nk)
{
  Vec acc[TILE_ROWS][2] = { { { 0 } } };
  for (gint64 e = 0; e < d; e++)
    {
      Vec k0 = *(const VecU *) (kt + e * ldk);
      Vec k1 = nk > 1 ? *(const VecU *) (kt + e * ldk + LANES) : (Vec) { 0 };
#pragma GCC unroll 8
      for (gint r = 0; r < TILE_ROWS; r++)
        {
          Vec qr = splat (q[r * ldq + e]);
          acc[r][0] += qr * k0;
          if (nk > 1)
            acc[r][1] += qr * k1;
        }
    }
#pragma GCC unroll 8
  for (gint r = 0; r < TILE_ROWS; r++)
    {
      *(VecU *) (s + r * lds) = acc[r][0];
      if (nk > 1)
        *(VecU *) (s + r * lds + LANES) = acc[r][1];
    }
}

/* O[8, 16·nv] += P[8, bk] V[bk, 16·nv]: P rows lds apart, V and O rows dp apart */
INLINE_AVX512 void
value_tile (const float *p,
            gint64       lds,
            const float *v,
            gint64       bk,
            gint64       dp,
            float       *o,
            const gint   nv)
{
  Vec acc[TILE_ROWS][VALUE_VECS];
#pragma GCC unroll 8
  for (gint r = 0; r < TILE_ROWS; r++)
    for (gint c = 0; c < nv; c++)
      acc[r][c] = *(const VecU *) (o + r * dp + c * LANES);
  for (gint64 j = 0; j < bk; j++)
    {
      Vec vj[VALUE_VECS];
      for (gint c = 0; c < nv; c++)
        vj[c] = *(const VecU *) (v + j * dp + c * LANES);
#pragma GCC unroll 8
      for (gint r = 0; r < TILE_ROWS; r++)
        {
          Vec pr = splat (p[r * lds + j]);
          for (gint c = 0; c < nv; c++)
            acc[r][c] += pr * vj[c];
        }
    }
#pragma GCC unroll 8
  for (gint r = 0; r < TILE_ROWS; r++)
    for (gint c = 0; c < nv; c++)
      *(VecU *) (o + r * dp + c * LANES) = acc[r][c];
}

/* the scores of QUERY_ROWS queries against keys [0, bk) of the block (bk a multiple of LANES) */
AVX512 static void
block_scores (const float *qs,
              gint64       dp,
              const float *kt,
              gint64       ldk,
              gint64       d,
              gint64       bk,
              float       *s)
{
  for (gint64 r = 0; r < QUERY_ROWS; r += TILE_ROWS)
    {
      gint64 j = 0;
      for (; j + 2 * LANES <= bk; j += 2 * LANES)
        score_tile (qs + r * dp, dp, kt + j, ldk, d, s + r * KEY_BLOCK + j, KEY_BLOCK, 2);
      if (j < bk)
        score_tile (qs + r * dp, dp, kt + j, ldk, d, s + r * KEY_BLOCK + j, KEY_BLOCK, 1);
    }
}

/* O += P V over the block's bk keys, output columns three vectors at a time */
AVX512 static void
block_values (const float *p,
              const float *v,
              gint64       bk,
              gint64       dp,
              float       *o)
{
  for (gint64 r = 0; r < QUERY_ROWS; r += TILE_ROWS)
    for (gint64 c = 0; c < dp; c += VALUE_VECS * LANES)
      {
        const float *pr = p + r * KEY_BLOCK;
        float *orow = o + r * dp + c;
        switch (MIN (VALUE_VECS, (dp - c) / LANES))
          {
          case 3: value_tile (pr, KEY_BLOCK, v + c, bk, dp, orow, 3); break;
          case 2: value_tile (pr, KEY_BLOCK, v + c, bk, dp, orow, 2); break;
          default: value_tile (pr, KEY_BLOCK, v + c, bk, dp, orow, 1); break;
          }
      }
}

/* e^x in each lane, as gill_vmath_exp computes it (Cephes' range reduction and polynomial; the
 * power of two applied by VSCALEFPS), and 0 below e^-64 as exp_sum flushes */
INLINE_AVX512 __m512
exp_lanes (__m512 x)
{
  __m512 xc = _mm512_max_ps (x, _mm512_set1_ps (-87.0f));
  __m512 n = _mm512_roundscale_ps (_mm512_mul_ps (xc, _mm512_set1_ps (1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps (n, _mm512_set1_ps (0.693359375f), xc);
  r = _mm512_fmadd_ps (n, _mm512_set1_ps (2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps (1.9875691500e-4f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.3981999507e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (8.3334519073e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.1665795894e-2f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.6666665459e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (5.0000001201e-1f));
  p = _mm512_fmadd_ps (_mm512_mul_ps (p, r), r, _mm512_add_ps (r, _mm512_set1_ps (1.0f)));
  __mmask16 kept = _mm512_cmp_ps_mask (x, _mm512_set1_ps (-64.0f), _CMP_GE_OQ);
  return _mm512_maskz_scalef_ps (kept, p, n);
}

/* the online-softmax update of every row for a block of bk scores (see attention.h); padding
 * keys hold −∞ and get probability 0 */
AVX512 static void
block_softmax (float  *s,
               gint64  bk,
               float  *o,
               gint64  dp,
               float  *m,
               float  *l)
{
  for (gint64 r = 0; r < QUERY_ROWS; r++)
    {
      float *sr = s + r * KEY_BLOCK;
      __m512 mx = _mm512_set1_ps (m[r]);
      for (gint64 j = 0; j < bk; j += LANES)
        mx = _mm512_max_ps (mx, _mm512_loadu_ps (sr + j));
      float m_new = _mm512_reduce_max_ps (mx);
      __m512 shift = _mm512_set1_ps (m_new), sum = _mm512_setzero_ps ();
      for (gint64 j = 0; j < bk; j += LANES)
        {
          __m512 e = exp_lanes (_mm512_sub_ps (_mm512_loadu_ps (sr + j), shift));
          _mm512_storeu_ps (sr + j, e);
          sum = _mm512_add_ps (sum, e);
        }
      float c = expf (m[r] - m_new);   /* 0 on the first block, where m = −∞ */
      l[r] = l[r] * c + _mm512_reduce_add_ps (sum);
      m[r] = m_new;
      if (c != 1.0f)
        for (gint64 e = 0; e < dp; e += LANES)
          _mm512_storeu_ps (o + r * dp + e, _mm512_mul_ps (_mm512_loadu_ps (o + r * dp + e), _mm512_set1_ps (c)));
    }
}

/* queries [i0, i0 + QUERY_ROWS) of one head against all its keys */
static void
fused_query_block (const FusedHead *h,
                   gint64           i0,
                   float           *scratch)
{
  const gint64 dp = h->dp, rows = MIN (QUERY_ROWS, h->a->n_q - i0);
  float *qs = scratch;                    /* [QUERY_ROWS, dp] scaled queries, zero-padded */
  float *s = qs + QUERY_ROWS * dp;        /* [QUERY_ROWS, KEY_BLOCK] scores, then probabilities */
  float *o = s + QUERY_ROWS * KEY_BLOCK;  /* [QUERY_ROWS, dp] unnormalised output */
  float *m = o + QUERY_ROWS * dp;         /* [QUERY_ROWS] running max */
  float *l = m + QUERY_ROWS;              /* [QUERY_ROWS] running denominator */

  memset (qs, 0, sizeof (float) * QUERY_ROWS * dp);
  for (gint64 r = 0; r < rows; r++)
    for (gint64 e = 0; e < h->a->d; e++)
      qs[r * dp + e] = h->q[(i0 + r) * h->a->ldq + e] * h->a->scale;
  memset (o, 0, sizeof (float) * QUERY_ROWS * dp);
  for (gint64 r = 0; r < QUERY_ROWS; r++)
    {
      m[r] = -INFINITY;
      l[r] = 0.0f;
    }

  for (gint64 j0 = 0; j0 < h->nkp; j0 += KEY_BLOCK)
    {
      gint64 bk = MIN (KEY_BLOCK, h->nkp - j0), valid = MIN (bk, h->a->n_kv - j0);
      block_scores (qs, dp, h->kt + j0 * h->a->d, bk, h->a->d, bk, s);
      for (gint64 r = 0; valid < bk && r < QUERY_ROWS; r++)
        for (gint64 j = valid; j < bk; j++)
          s[r * KEY_BLOCK + j] = -INFINITY;
      block_softmax (s, bk, o, dp, m, l);
      block_values (s, h->vp + j0 * dp, bk, dp, o);
    }

  /* out = O / l */
  for (gint64 r = 0; r < rows; r++)
    {
      float inv = 1.0f / l[r];
      float *out = h->out + (i0 + r) * h->a->ldo;
      for (gint64 e = 0; e < h->a->d; e++)
        out[e] = o[r * dp + e] * inv;
    }
}

static void
fused_task (gint     task,
            gint     n_tasks,
            gpointer data)
{
  const FusedHead *h = data;
  gint64 blocks = (h->a->n_q + QUERY_ROWS - 1) / QUERY_ROWS;
  float *scratch = h->thread_scratch + (gsize) task * h->thread_floats;
  for (gint64 b = blocks * task / n_tasks; b < blocks * (task + 1) / n_tasks; b++)
    fused_query_block (h, b * QUERY_ROWS, scratch);
}

static void
attention_fused (const Attention *a)
{
  const gint64 d = a->d, n_kv = a->n_kv, dp = round_up (d, LANES), nkp = round_up (n_kv, LANES);
  float *kt = a->scratch, *vp = kt + d * nkp;
  gint threads = gill_parallel_threads ();
  FusedHead h = { .a = a, .kt = kt, .vp = vp, .nkp = nkp, .dp = dp, .thread_scratch = vp + nkp * dp,
                  .thread_floats = fused_thread_floats (dp) };
  for (gint64 hd = 0; hd < a->n_head; hd++)
    {
      /* Kᵀ of each key block [d, bk] (rows bk apart: a block's Kᵀ is one piece of memory) and
       * V [nkp, dp] of this head, zero-padded */
      memset (kt, 0, sizeof (float) * (d * nkp + nkp * dp));
      for (gint64 j = 0; j < n_kv; j++)
        {
          const float *kj = a->k + j * a->ldk + hd * d, *vj = a->v + j * a->ldv + hd * d;
          gint64 j0 = j / KEY_BLOCK * KEY_BLOCK, bk = MIN (KEY_BLOCK, nkp - j0);
          float *ktj = kt + j0 * d + (j - j0);
          for (gint64 e = 0; e < d; e++)
            ktj[e * bk] = kj[e];
          memcpy (vp + j * dp, vj, sizeof (float) * d);
        }
      h.q = a->q + hd * d;
      h.out = a->out + hd * d;
      gint64 blocks = (a->n_q + QUERY_ROWS - 1) / QUERY_ROWS;
      gill_parallel_run ((gint) MIN (threads, blocks), fused_task, &h);
    }
}

#else
#define HAVE_FUSED 0
#endif

/* ------------------------------------------------------------------ entry points */

static gboolean fused_wanted = TRUE;

/* the fused kernel where it is compiled in and the CPU has AVX-512 */
static gboolean
fused_available (void)
{
#if HAVE_FUSED
  return __builtin_cpu_supports ("avx512f");
#else
  return FALSE;
#endif
}

gboolean
gill_attention_set_fused (gboolean fused)
{
  fused_wanted = fused;
  return fused_available ();
}

gsize
gill_attention_scratch_floats (gint64 n_q,
                               gint64 n_kv,
                               gint64 head_dim)
{
  gsize floats = attention_gemm_scratch_floats (n_q, n_kv, head_dim);
#if HAVE_FUSED
  floats = MAX (floats, fused_scratch_floats (n_kv, head_dim));
#endif
  return floats;
}

void
gill_attention (const float *q,
                gint64       ldq,
                const float *k,
                gint64       ldk,
                const float *v,
                gint64       ldv,
                float       *out,
                gint64       ldo,
                gint64       n_q,
                gint64       n_kv,
                gint64       n_head,
                gint64       head_dim,
                float        scale,
                float       *scratch)
{
  const Attention a = { q, k, v, out, ldq, ldk, ldv, ldo, n_q, n_kv, n_head, head_dim, scale, scratch };
#if HAVE_FUSED
  if (fused_wanted && fused_available () && head_dim <= MAX_HEAD_DIM)
    {
      attention_fused (&a);
      return;
    }
#endif
  attention_gemm (&a);
}
