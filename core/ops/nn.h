/* nn.h — the small pure kernels every model shares: norms, activations, softmax.
 * All in place or out-of-place over row-major float32; accumulation in float (double where the
 * reference's float32 result depends on it is not needed: PyTorch accumulates these in float). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* y = (x - mean) / sqrt(var + eps) * gamma + beta, per row of `dim` (biased variance) */
void gill_nn_layer_norm  (const float *x,
                          float       *y,
                          gint64       rows,
                          gint64       dim,
                          const float *gamma,  /* [dim] or NULL */
                          const float *beta,   /* [dim] or NULL */
                          float        eps);
/* GroupNorm over [channels, spatial] for one image: groups of channels/groups channels */
void gill_nn_group_norm  (const float *x,
                          float       *y,
                          gint64       channels,
                          gint64       spatial,
                          gint64       groups,
                          const float *gamma,  /* [channels] or NULL */
                          const float *beta,
                          float        eps);
void gill_nn_relu        (float *x, gint64 n);
void gill_nn_gelu        (float *x, gint64 n);   /* exact: x/2 (1 + erf(x / sqrt 2)) */
void gill_nn_quick_gelu  (float *x, gint64 n);   /* x sigmoid(1.702 x) */
void gill_nn_silu        (float *x, gint64 n);   /* x sigmoid(x) */
/* softmax over each row of `dim`, in place, max-subtracted */
void gill_nn_softmax     (float *x, gint64 rows, gint64 dim);
void gill_nn_add         (float *y, const float *x, gint64 n);          /* y += x */
void gill_nn_add_bias    (float *y, const float *bias, gint64 rows, gint64 dim);

G_END_DECLS
