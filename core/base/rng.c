/* rng.c — PyTorch's default CPU generator (torch 1.13.1), reproduced bit for bit.
 *
 * Mirrors, in pytorch/pytorch:
 *   aten/src/ATen/core/MT19937RNGEngine.h       the mt19937 engine and its 32-bit seeding;
 *   aten/src/ATen/CPUGeneratorImpl.cpp          random (), random64 (), the cached double normal;
 *   aten/src/ATen/core/TransformationHelper.h   uniform_real: (bits & (2^digits - 1)) * 2^-digits;
 *   aten/src/ATen/core/DistributionsHelper.h    normal_distribution<double> (scalar Box–Muller);
 *   aten/src/ATen/native/cpu/DistributionTemplates.h   normal_kernel: n >= 16 float32 contiguous
 *       -> normal_fill_AVX2 (16-wide Box–Muller over uniforms drawn first), else the scalar path;
 *   aten/src/ATen/native/cpu/avx_mathfun.h      log256_ps and sincos256_ps (Cephes polynomials).
 *
 * torch's x86-64 builds dispatch normal_fill_AVX2 on AVX2 CPUs, and the golden fixtures were
 * drawn that way. Its log/sin/cos are not libm's: they are avx_mathfun's polynomials, compiled by
 * GCC with -mfma, which fuses each multiply whose only use is an add into one FMA. The scalar
 * functions below follow that code lane by lane, with an explicit fmaf () exactly where the
 * compiled kernel has a vfmadd, so the result is the same on any CPU, with or without FMA.
 * Nothing else may be contracted, hence the pragma. */
#include "core/base/rng.h"

#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

#define MT_N 624
#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER_MASK 0x80000000u
#define MT_LOWER_MASK 0x7fffffffu

struct _GillRng
{
  guint64 seed;              /* as given; the engine uses its low 32 bits */
  guint32 state[MT_N];       /* mt19937 state */
  gint left;                 /* outputs left before the next twist (1 = twist on next call) */
  guint next;                /* index of the next state word */
  gboolean has_next_normal;  /* CPUGeneratorImpl::next_double_normal_sample_ is set */
  double next_normal;        /* its value: the sine half of the last scalar Box–Muller pair */
};

/* ------------------------------------------------------------------ mt19937 */

/* mt19937_engine::init_with_uint32: Knuth's multiplier on the low 32 bits of the seed */
static void
rng_seed_engine (GillRng *rng,
                 guint64  seed)
{
  rng->seed = seed;
  rng->state[0] = (guint32) (seed & 0xffffffffu);
  for (guint j = 1; j < MT_N; j++)
    rng->state[j] = 1812433253u * (rng->state[j - 1] ^ (rng->state[j - 1] >> 30)) + j;
  rng->left = 1;
  rng->next = 0;
}

/* mt19937_engine::twist: the top bit of u, the low 31 of v, shifted, xor A if v is odd */
static guint32
rng_twist (guint32 u,
           guint32 v)
{
  guint32 mixed = (u & MT_UPPER_MASK) | (v & MT_LOWER_MASK);
  return (mixed >> 1) ^ ((v & 1u) ? MT_MATRIX_A : 0u);
}

/* mt19937_engine::next_state: regenerate all 624 words */
static void
rng_next_state (GillRng *rng)
{
  guint32 *s = rng->state;
  rng->left = MT_N;
  rng->next = 0;
  for (guint k = 0; k < MT_N - MT_M; k++)
    s[k] = s[k + MT_M] ^ rng_twist (s[k], s[k + 1]);
  for (guint k = MT_N - MT_M; k < MT_N - 1; k++)
    s[k] = s[k + MT_M - MT_N] ^ rng_twist (s[k], s[k + 1]);
  s[MT_N - 1] = s[MT_M - 1] ^ rng_twist (s[MT_N - 1], s[0]);
}

/* mt19937_engine::operator(): next word, tempered */
guint32
gill_rng_random (GillRng *rng)
{
  g_return_val_if_fail (rng != NULL, 0);
  if (--rng->left == 0)
    rng_next_state (rng);
  guint32 y = rng->state[rng->next++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

/* CPUGeneratorImpl::random64: make64BitsFrom32Bits (first draw = high half, second = low) */
guint64
gill_rng_random64 (GillRng *rng)
{
  g_return_val_if_fail (rng != NULL, 0);
  guint64 hi = gill_rng_random (rng);
  guint64 lo = gill_rng_random (rng);
  return (hi << 32) | lo;
}

GillRng *
gill_rng_new (guint64 seed)
{
  GillRng *rng = g_new0 (GillRng, 1);
  gill_rng_manual_seed (rng, seed);
  return rng;
}

void
gill_rng_free (GillRng *rng)
{
  g_free (rng);
}

/* CPUGeneratorImpl::set_current_seed: drop the cached normals, new engine */
void
gill_rng_manual_seed (GillRng *rng,
                      guint64  seed)
{
  g_return_if_fail (rng != NULL);
  rng->has_next_normal = FALSE;
  rng->next_normal = 0.0;
  rng_seed_engine (rng, seed);
}

guint64
gill_rng_initial_seed (const GillRng *rng)
{
  g_return_val_if_fail (rng != NULL, 0);
  return rng->seed;
}

/* ------------------------------------------------------------------ uniforms */

/* uniform_real_distribution<float> (0, 1): 24 random bits of one 32-bit draw, times 2^-24 */
static float
rng_uniform_float (GillRng *rng)
{
  guint32 bits = gill_rng_random (rng) & ((1u << 24) - 1);
  return (float) bits * (1.0f / 16777216.0f);
}

/* uniform_real_distribution<double> (0, 1): 53 bits of random64, times 2^-53 */
static double
rng_uniform_double (GillRng *rng)
{
  guint64 bits = gill_rng_random64 (rng) & ((G_GUINT64_CONSTANT (1) << 53) - 1);
  return (double) bits * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------ scalar path (n < 16) */

/* normal_distribution<double>::operator() in torch 1.13: Box–Muller on (u1, u2),
 * r = sqrt (-2 log (1 - u2)), theta = 2 pi u1; returns r cos theta and caches r sin theta
 * (the cache survives between randn calls, until manual_seed) */
static double
rng_normal_double (GillRng *rng)
{
  if (rng->has_next_normal)
    {
      rng->has_next_normal = FALSE;
      return rng->next_normal;
    }
  double u1 = rng_uniform_double (rng);
  double u2 = rng_uniform_double (rng);
  double r = sqrt (-2.0 * log (1.0 - u2));
  double theta = 2.0 * G_PI * u1;
  rng->next_normal = r * sin (theta);
  rng->has_next_normal = TRUE;
  return r * cos (theta);
}

/* ------------------------------------------------------------------ 16-wide path (n >= 16) */

static guint32
float_bits (float x)
{
  guint32 u;
  memcpy (&u, &x, sizeof u);
  return u;
}

static float
bits_float (guint32 u)
{
  float x;
  memcpy (&x, &u, sizeof x);
  return x;
}

/* log256_ps, one lane: x = m 2^e with m in [0.5, 1) (folded to [sqrt 0.5, sqrt 2) - 1), a degree-8
 * Cephes polynomial, then e ln 2 added in two parts (q2 + q1). Arguments here are in (0, 1]. */
static float
rng_avx_logf (float x)
{
  x = fmaxf (x, bits_float (0x00800000u));                 /* cut off denormals */
  gint32 exponent = (gint32) (float_bits (x) >> 23) - 0x7f;
  x = bits_float ((float_bits (x) & ~0x7f800000u) | float_bits (0.5f));
  float e = (float) exponent + 1.0f;
  gboolean below = x < 0.707106781186547524f;              /* x < sqrt 1/2: e -= 1, x = 2x - 1 */
  float tmp = below ? x : 0.0f;
  x = x - 1.0f;
  e = e - (below ? 1.0f : 0.0f);
  x = x + tmp;
  float z = x * x;
  float y = 7.0376836292e-2f;
  y = fmaf (y, x, -1.1514610310e-1f);
  y = fmaf (y, x, 1.1676998740e-1f);
  y = fmaf (y, x, -1.2420140846e-1f);
  y = fmaf (y, x, 1.4249322787e-1f);
  y = fmaf (y, x, -1.6668057665e-1f);
  y = fmaf (y, x, 2.0000714765e-1f);
  y = fmaf (y, x, -2.4999993993e-1f);
  y = fmaf (y, x, 3.3333331174e-1f);
  y = y * x;
  y = fmaf (y, z, e * -2.12194440e-4f);                   /* y z + e q1 */
  y = fmaf (-z, 0.5f, y);                                  /* - z / 2 */
  x = x + y;
  return fmaf (e, 0.693359375f, x);                        /* + e q2 */
}

/* sincos256_ps, one lane: reduce by multiples of pi/4 (three-part Cody–Waite), evaluate both
 * Cephes polynomials, pick and sign them by the octant */
static void
rng_avx_sincosf (float  x,
                 float *sin_out,
                 float *cos_out)
{
  guint32 sign_sin = float_bits (x) & 0x80000000u;
  x = fabsf (x);
  gint32 j = (gint32) (x * 1.27323954473516f);             /* 4 / pi, truncated */
  j = (j + 1) & ~1;
  float y = (float) j;
  guint32 swap_sin = (guint32) (j & 4) << 29;
  gboolean low_poly = (j & 2) == 0;
  guint32 sign_cos = (guint32) (~(j - 2) & 4) << 29;
  x = fmaf (y, -0.78515625f, x);
  x = fmaf (y, -2.4187564849853515625e-4f, x);
  x = fmaf (y, -3.77489497744594108e-8f, x);
  sign_sin ^= swap_sin;

  float z = x * x;
  float yc = 2.443315711809948e-5f;                        /* cosine polynomial, 0 <= x <= pi/4 */
  yc = fmaf (yc, z, -1.388731625493765e-3f);
  yc = fmaf (yc, z, 4.166664568298827e-2f);
  yc = yc * z;
  yc = fmaf (yc, z, -(z * 0.5f));
  yc = yc + 1.0f;
  float ys = -1.9515295891e-4f;                            /* sine polynomial */
  ys = fmaf (ys, z, 8.3321608736e-3f);
  ys = fmaf (ys, z, -1.6666654611e-1f);
  ys = ys * z;
  ys = fmaf (ys, x, x);

  float sin_part_s = low_poly ? ys : 0.0f;
  float sin_part_c = low_poly ? 0.0f : yc;
  float s = sin_part_c + sin_part_s;
  float c = (yc - sin_part_c) + (ys - sin_part_s);
  *sin_out = bits_float (float_bits (s) ^ sign_sin);
  *cos_out = bits_float (float_bits (c) ^ sign_cos);
}

/* normal_fill_16_AVX2: data[0..8) and data[8..16) hold uniforms; becomes 16 normals
 * (mean 0, std 1: the final fmadd (n, 1, 0) is exact) */
static void
rng_normal_fill_16 (float *data)
{
  const float two_pi = (float) (2.0 * G_PI);
  for (guint j = 0; j < 8; j++)
    {
      float u1 = 1.0f - data[j];                           /* [0, 1) -> (0, 1] for the log */
      float u2 = data[j + 8];
      float radius = sqrtf (-2.0f * rng_avx_logf (u1));
      float theta = two_pi * u2;
      float s, c;
      rng_avx_sincosf (theta, &s, &c);
      data[j] = radius * c;
      data[j + 8] = radius * s;
    }
}

/* normal_fill_AVX2: n uniforms first, then Box–Muller per block of 16; a ragged tail redraws 16
 * fresh uniforms into the last 16 slots and transforms those (overwriting the overlap) */
static void
rng_normal_fill (GillRng *rng,
                 float   *out,
                 gsize    n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = rng_uniform_float (rng);
  for (gsize i = 0; i + 16 <= n; i += 16)
    rng_normal_fill_16 (out + i);
  if (n % 16 != 0)
    {
      float *tail = out + n - 16;
      for (guint i = 0; i < 16; i++)
        tail[i] = rng_uniform_float (rng);
      rng_normal_fill_16 (tail);
    }
}

/* ------------------------------------------------------------------ randn */

/* normal_kernel (mean 0, std 1) on a contiguous float32 tensor of n elements */
void
gill_rng_randn (GillRng *rng,
                float   *out,
                gsize    n)
{
  g_return_if_fail (rng != NULL);
  g_return_if_fail (out != NULL || n == 0);
  if (n >= 16)
    {
      rng_normal_fill (rng, out, n);
      return;
    }
  for (gsize i = 0; i < n; i++)
    out[i] = (float) rng_normal_double (rng);
}
