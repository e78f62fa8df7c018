/* convert.h — widening weights to float32 for GEMMs, one tensor (a layer's) at a time.
 *
 * Weights stay in their file dtype in the mapping; a model widens a weight into a scratch buffer
 * it owns (reused layer after layer) just before its GEMM. f32 weights that are contiguous and
 * 4-byte aligned are used in place with no copy. */
#pragma once

#include <glib.h>

#include "core/base/tensor.h"

G_BEGIN_DECLS

void         gill_convert_f16_to_f32  (const void    *in,
                                       float         *out,
                                       gsize          n);
void         gill_convert_bf16_to_f32 (const void    *in,
                                       float         *out,
                                       gsize          n);
/* the tensor's elements as contiguous f32: in place when possible, else widened into scratch
 * (which must hold numel floats). The tensor must be a float dtype. */
const float *gill_tensor_as_f32       (const GillTensor *tensor,
                                       float            *scratch);
/* whether gill_tensor_as_f32 would need scratch */
gboolean     gill_tensor_needs_widening (const GillTensor *tensor);

G_END_DECLS
