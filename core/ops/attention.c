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

gsize
gill_attention_scratch_floats (gint64 n_q,
                               gint64 n_kv,
                               gint64 head_dim)
{
  /* scores [bq, bk], accumulator [bq, d], running max and denominator [bq] each — bounded for
   * every call with at most n_q queries and n_kv keys: fewer keys make taller tiles */
  const gint64 area = (gint64) GILL_ATTENTION_BLOCK_Q * GILL_ATTENTION_BLOCK_KV;
  gint64 rows = MIN (n_q, area);
  return (gsize) (MIN (n_q * n_kv, area) + rows * (head_dim + 2));
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
  const gint64 d = head_dim;
  gint64 bq_max, bk_max;
  attention_tile (n_q, n_kv, &bq_max, &bk_max);
  float *s = scratch;                    /* [bq, bk] scores, then probabilities */
  float *acc = s + bq_max * bk_max;      /* [bq, d]  unnormalised output */
  float *m = acc + bq_max * d;           /* [bq]     running max */
  float *l = m + bq_max;                 /* [bq]     running denominator */

  for (gint64 h = 0; h < n_head; h++)
    for (gint64 i0 = 0; i0 < n_q; i0 += bq_max)
      {
        gint64 bq = MIN (bq_max, n_q - i0);
        const float *qh = q + i0 * ldq + h * d;     /* [bq, d] */
        for (gint64 j0 = 0; j0 < n_kv; j0 += bk_max)
          {
            gint64 bk = MIN (bk_max, n_kv - j0);
            const float *kh = k + j0 * ldk + h * d; /* [bk, d] */
            const float *vh = v + j0 * ldv + h * d; /* [bk, d] */

            /* S[bq, bk] = scale · Q Kᵀ */
            gill_gemm (FALSE, TRUE, bq, bk, d, scale, qh, ldq, kh, ldk, 0.0f, s, bk);

            /* per query: m' = max (m, max S), P = exp (S − m'), l = l·c + Σ P, O *= c, c = exp (m − m');
             * rows split among the pool's threads when the tile is large */
            SoftmaxJob job = { s, acc, m, l, bq, bk, d, j0 == 0 };
            gill_parallel_run (bq * bk >= SOFTMAX_PARALLEL_SCORES ? gill_parallel_threads () : 1, softmax_task, &job);

            /* O[bq, d] (+)= P V */
            gill_gemm (FALSE, FALSE, bq, d, bk, 1.0f, s, bk, vh, ldv, j0 == 0 ? 0.0f : 1.0f, acc, d);
          }

        /* out = O / l */
        for (gint64 i = 0; i < bq; i++)
          {
            float inv = 1.0f / l[i];
            float *o = out + (i0 + i) * ldo + h * d;
            for (gint64 e = 0; e < d; e++)
              o[e] = acc[i * d + e] * inv;
          }
      }
}
