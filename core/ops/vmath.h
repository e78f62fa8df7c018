/* vmath.h — branch-free float exp and erf that GCC vectorises inside plain loops.
 *
 * libm's expf/erff are calls the vectoriser cannot see through; the softmax of SD's 64×64
 * self-attention alone takes 2·10⁸ exponentials per UNet evaluation. These are inline and
 * straight-line, so a loop `for (i…) y[i] = gill_vmath_exp (x[i])` in a function compiled for
 * AVX2/AVX-512 (target_clones) runs 8–16 lanes at a time.
 *
 *   gill_vmath_exp: Cephes expf's range reduction and degree-6 polynomial; relative error
 *     < 2e-7 on [-87, 88]; inputs are clamped to that range (exp (-87) ≈ 1.6e-38 stands in for 0).
 *   gill_vmath_erf: Abramowitz & Stegun 7.1.26; absolute error < 1.5e-7. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline float
gill_vmath_exp (float x)
{
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  /* n = round (x / ln 2): adding and removing 1.5·2^23 rounds to nearest in the default mode */
  float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  /* r = x − n ln 2, ln 2 = 0.693359375 − 2.12194440e-4 (the first part exact in float) */
  float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  /* · 2^n through the exponent bits */
  union { gint32 i; float f; } scale = { .i = ((gint32) fn + 127) << 23 };
  return p * scale.f;
}

static inline float
gill_vmath_erf (float x)
{
  float a = x < 0.0f ? -x : x;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  float y = 1.0f - p * t * gill_vmath_exp (-a * a);
  return x < 0.0f ? -y : y;
}

G_END_DECLS
