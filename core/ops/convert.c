/* convert.c — f16/bf16 → f32 widening (exact), vectorised with F16C/AVX2 where the CPU has it. */
#include "core/ops/convert.h"

#include <string.h>

#include "core/base/half.h"
#include "core/ops/cpu.h"

/* one 16-bit element at any alignment (safetensors data need not be aligned) */
static inline guint16
load_u16 (const void *in,
          gsize       i)
{
  guint16 v;
  memcpy (&v, (const guint8 *) in + 2 * i, 2);
  return v;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GILL_HAVE_X86 1
#endif

#ifdef GILL_HAVE_X86
__attribute__ ((target ("f16c,avx")))
static void
f16_to_f32_f16c (const void    *in,
                 float         *out,
                 gsize          n)
{
  gsize i = 0;
  for (; i + 8 <= n; i += 8)
    {
      __m128i h = _mm_loadu_si128 ((const __m128i *) ((const guint8 *) in + 2 * i));
      _mm256_storeu_ps (out + i, _mm256_cvtph_ps (h));
    }
  for (; i < n; i++)
    out[i] = gill_f16_to_f32 (load_u16 (in, i));
}

__attribute__ ((target ("avx2")))
static void
bf16_to_f32_avx2 (const void    *in,
                  float         *out,
                  gsize          n)
{
  gsize i = 0;
  for (; i + 8 <= n; i += 8)
    {
      __m128i h = _mm_loadu_si128 ((const __m128i *) ((const guint8 *) in + 2 * i));
      __m256i w = _mm256_slli_epi32 (_mm256_cvtepu16_epi32 (h), 16);
      _mm256_storeu_ps (out + i, _mm256_castsi256_ps (w));
    }
  for (; i < n; i++)
    out[i] = gill_bf16_to_f32 (load_u16 (in, i));
}
#endif

void
gill_convert_f16_to_f32 (const void    *in,
                         float         *out,
                         gsize          n)
{
#ifdef GILL_HAVE_X86
  if (gill_cpu_has_f16c ())
    {
      f16_to_f32_f16c (in, out, n);
      return;
    }
#endif
  for (gsize i = 0; i < n; i++)
    out[i] = gill_f16_to_f32 (load_u16 (in, i));
}

void
gill_convert_bf16_to_f32 (const void    *in,
                          float         *out,
                          gsize          n)
{
#ifdef GILL_HAVE_X86
  if (__builtin_cpu_supports ("avx2"))
    {
      bf16_to_f32_avx2 (in, out, n);
      return;
    }
#endif
  for (gsize i = 0; i < n; i++)
    out[i] = gill_bf16_to_f32 (load_u16 (in, i));
}

gboolean
gill_tensor_needs_widening (const GillTensor *tensor)
{
  return !(tensor->dtype == GILL_DTYPE_F32 && gill_tensor_is_contiguous (tensor)
           && ((guintptr) tensor->data % sizeof (float)) == 0);
}

const float *
gill_tensor_as_f32 (const GillTensor *tensor,
                    float            *scratch)
{
  g_return_val_if_fail (gill_dtype_is_float (tensor->dtype), NULL);
  if (!gill_tensor_needs_widening (tensor))
    return (const float *) tensor->data;
  gsize n = (gsize) gill_tensor_numel (tensor);
  if (gill_tensor_is_contiguous (tensor) && tensor->dtype == GILL_DTYPE_F16)
    gill_convert_f16_to_f32 (tensor->data, scratch, n); /* loads are unaligned-safe */
  else if (gill_tensor_is_contiguous (tensor) && tensor->dtype == GILL_DTYPE_BF16)
    gill_convert_bf16_to_f32 (tensor->data, scratch, n);
  else
    gill_tensor_copy_f32 (tensor, scratch);
  return scratch;
}
