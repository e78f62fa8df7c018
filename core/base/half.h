/* half.h — scalar conversions between IEEE half, bfloat16 and float.
 *
 * These are the exact (round-to-nearest-even) conversions; vectorised kernels live in core/ops. */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* f16 bits -> float, exact for normals, subnormals, infinities and NaN */
static inline float
gill_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);      /* inf / nan */
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13); /* normal: rebias 15 -> 127 */
  else if (mant == 0)
    bits = sign;                                    /* +-0 */
  else
    {
      /* subnormal: value = mant * 2^-24; normalise */
      gint e = -1;
      do
        {
          e++;
          mant <<= 1;
        }
      while ((mant & 0x400) == 0);
      bits = sign | ((guint32) (112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

/* float -> f16 bits, round to nearest even, overflow to inf, NaN kept quiet */
static inline guint16
gill_f32_to_f16 (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000;
  guint32 absx = x & 0x7fffffff;
  if (absx >= 0x7f800000u)
    return (guint16) (sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) /* rounds to >= 65520 -> inf */
    return (guint16) (sign | 0x7c00);
  if (absx < 0x38800000u) /* below the smallest normal half: subnormal or zero */
    {
      if (absx < 0x33000000u) /* < 2^-25: rounds to zero */
        return (guint16) sign;
      guint32 e = absx >> 23;
      guint32 m = (absx & 0x7fffff) | 0x800000;
      guint32 shift = 126 - e; /* 14..24 */
      guint32 half = m >> shift;
      guint32 rem = m & ((1u << shift) - 1);
      guint32 mid = 1u << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1)))
        half++;
      return (guint16) (sign | half);
    }
  guint32 h = ((absx >> 13) - (112u << 10));
  guint32 rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    h++;
  return (guint16) (sign | h);
}

/* bf16 bits -> float: the upper half of a float */
static inline float
gill_bf16_to_f32 (guint16 b)
{
  guint32 bits = (guint32) b << 16;
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

/* float -> bf16 bits, round to nearest even, NaN kept quiet */
static inline guint16
gill_f32_to_bf16 (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000u)
    return (guint16) ((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (guint16) (x >> 16);
}

G_END_DECLS
