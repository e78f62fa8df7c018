/* rng.h — GillRng: PyTorch's default CPU generator, bit for bit.
 *
 * torch.manual_seed (s) then torch.randn (shape) float32 — and the same through a
 * torch.Generator ().manual_seed (s), which is the same engine — reproduced exactly:
 *
 *   g_autoptr (GillRng) rng = gill_rng_new (seed);
 *   gill_rng_randn (rng, latents, 1 * 4 * 64 * 64);   // = torch.randn ([1, 4, 64, 64])
 *   gill_rng_randn (rng, noise, 1 * 4 * 64 * 64);     // the next draw, as torch's next call
 *
 * The engine is mt19937 seeded from the low 32 bits of the seed (aten/src/ATen/core/MT19937RNGEngine.h);
 * randn of n >= 16 elements takes torch's 16-wide Box–Muller fill, fewer than 16 the scalar
 * normal_distribution<double> path with its cached second sample (CPUGeneratorImpl.cpp,
 * native/cpu/DistributionTemplates.h). State is kept between calls, so successive draws continue
 * as torch's do. Only a tensor's element count matters, never its shape. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GillRng GillRng;

GillRng *gill_rng_new         (guint64  seed);     /* (transfer full): torch.manual_seed (seed) */
void     gill_rng_free        (GillRng *rng);
void     gill_rng_manual_seed (GillRng *rng,
                               guint64  seed);     /* reseed and drop the cached normals */
guint64  gill_rng_initial_seed (const GillRng *rng);
guint32  gill_rng_random      (GillRng *rng);      /* next 32-bit mt19937 output */
guint64  gill_rng_random64    (GillRng *rng);      /* two outputs, the first in the high half */
/* torch.randn (n) float32 (mean 0, std 1) on this generator */
void     gill_rng_randn       (GillRng *rng,
                               float   *out,
                               gsize    n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillRng, gill_rng_free)

G_END_DECLS
