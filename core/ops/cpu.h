/* cpu.h — what the CPU offers, for kernels chosen at run time.
 *
 * __builtin_cpu_supports covers most features on GCC and clang alike, but clang 14 does not know
 * "f16c": that one bit is read with CPUID (leaf 1, ECX bit 29). AVX support includes the OS
 * saving the YMM state (what __builtin_cpu_supports ("avx") checks), which F16C needs too. */
#pragma once

#include <glib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

G_BEGIN_DECLS

static inline gboolean
gill_cpu_has_f16c (void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return FALSE;
  return (ecx & (1u << 29)) != 0 && __builtin_cpu_supports ("avx");
#else
  return FALSE;
#endif
}

G_END_DECLS
