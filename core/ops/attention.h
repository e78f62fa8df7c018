/* attention.h — scaled dot-product attention, tiled with an online softmax.
 *
 * Per head h (the channel slice [h·d, (h+1)·d) of every row, as in PyTorch's multi-head split):
 *
 *   out_i = Σ_j softmax_j (scale · q_i · k_j) v_j
 *
 * computed a block of queries at a time against blocks of keys, keeping per query the running
 * maximum m and denominator l (Milakov & Gimelshein 2018, "Online normalizer calculation for
 * softmax"; FlashAttention's schedule): for each key block S = scale · Q Kᵀ, m' = max (m, max S),
 * P = exp (S − m'), l = l·exp (m − m') + Σ P, O = O·exp (m − m') + P V; at the end O / l.
 * At most BLOCK_Q × BLOCK_KV scores exist at once, whatever the sequence lengths: SD's 64×64
 * self-attention (4096² scores per head) or the VAE's at 1024 px (16384²) stay in a few MB.
 * Two kernels compute it. Where the CPU has AVX-512 and the head dim is at most 160 (SD's UNet:
 * 40, 80, 160), a fused kernel keeps a block's scores, softmax and P V in registers and L1, each
 * thread of gill's pool (core/ops/parallel.h) taking blocks of queries; elsewhere (the VAE's single
 * 512-wide head, other CPUs) both products go through the one GEMM entry point, with the softmax
 * rows of a large tile split among the pool. No mask (SD needs none). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GILL_ATTENTION_BLOCK_Q  256   /* queries per tile (more when there are few keys) */
#define GILL_ATTENTION_BLOCK_KV 2048  /* keys per tile */

/* floats of scratch gill_attention needs for any call with at most n_q queries and n_kv keys */
gsize gill_attention_scratch_floats (gint64 n_q,
                                     gint64 n_kv,
                                     gint64 head_dim);

/* out[n_q, n_head·d] (row stride ldo) from q[n_q, ·] (ldq), k[n_kv, ·] (ldk), v[n_kv, ·] (ldv);
 * out must not overlap q, k or v */
void  gill_attention                (const float *q,
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
                                     float       *scratch);

/* which kernel gill_attention takes: TRUE (the default) the fused AVX-512 kernel where the CPU has
 * it, FALSE the GEMM path everywhere; returns whether this machine runs the fused kernel. For
 * tests and benchmarks, which compare the two; not thread-safe against running attention. */
gboolean gill_attention_set_fused   (gboolean     fused);

/* x[i] = exp (x[i] − shift), returning Σ x[i]: the softmax kernel (vectorised polynomial exp,
 * relative error < 2e-7); values below e^-64 come out as 0, so that no denormal reaches the GEMMs
 * that follow. Exported for the other softmax users. */
float gill_attention_exp_sum        (float       *x,
                                     gint64       n,
                                     float        shift);

G_END_DECLS
