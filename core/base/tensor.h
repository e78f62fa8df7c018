/* tensor.h — GillTensor: a typed, shaped, strided view of bytes that something else owns.
 *
 * A tensor never copies weights: it points into a memory-mapped file (or a heap buffer) and holds
 * a reference on the GBytes that keeps that memory alive. Views (transposes, slices, tied weights)
 * are just other shapes/strides/offsets over the same owner.
 *
 *   shape[0] is the outermost (slowest) dimension, as in PyTorch; strides are in elements.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GILL_TENSOR_MAX_DIMS 8

typedef enum
{
  GILL_DTYPE_F32,
  GILL_DTYPE_F16,
  GILL_DTYPE_BF16,
  GILL_DTYPE_F64,
  GILL_DTYPE_I64,
  GILL_DTYPE_I32,
  GILL_DTYPE_I16,
  GILL_DTYPE_I8,
  GILL_DTYPE_U8,
  GILL_DTYPE_BOOL,
  GILL_DTYPE_U16,
  GILL_DTYPE_U32,
  GILL_DTYPE_U64,
  GILL_DTYPE_COUNT
} GillDType;

typedef struct _GillTensor GillTensor;

struct _GillTensor
{
  gint ref_count;
  GillDType dtype;
  gint n_dims;
  gint64 shape[GILL_TENSOR_MAX_DIMS];   /* elements per dimension */
  gint64 strides[GILL_TENSOR_MAX_DIMS]; /* elements to step per dimension */
  const guint8 *data;                   /* the first element (may be unaligned) */
  GBytes *owner;                        /* keeps data alive; NULL for a borrowed view */
};

/* dtypes */
gsize        gill_dtype_size           (GillDType dtype);
const gchar *gill_dtype_name           (GillDType dtype);   /* "f32", "bf16", ... */
gboolean     gill_dtype_from_safetensors (const gchar *name,
                                        GillDType   *dtype); /* "F32", "BF16", ... */
const gchar *gill_dtype_to_safetensors (GillDType dtype);
gboolean     gill_dtype_is_float       (GillDType dtype);

/* construction */
GillTensor  *gill_tensor_new_view      (GillDType      dtype,
                                        gint           n_dims,
                                        const gint64  *shape,
                                        const gint64  *strides, /* NULL = contiguous */
                                        const guint8  *data,
                                        GBytes        *owner);  /* ref taken; may be NULL */
GillTensor  *gill_tensor_new_f32       (gint           n_dims,
                                        const gint64  *shape);  /* zeroed heap tensor */
GillTensor  *gill_tensor_new_i64       (gint           n_dims,
                                        const gint64  *shape);
GillTensor  *gill_tensor_ref           (GillTensor    *tensor);
void         gill_tensor_unref         (GillTensor    *tensor);

/* queries */
gint64       gill_tensor_numel         (const GillTensor *tensor);
gsize        gill_tensor_nbytes        (const GillTensor *tensor); /* numel x dtype size */
gboolean     gill_tensor_is_contiguous (const GillTensor *tensor);
gboolean     gill_tensor_has_shape     (const GillTensor *tensor,
                                        gint              n_dims,
                                        const gint64     *shape);
gchar       *gill_tensor_shape_string  (const GillTensor *tensor); /* "[4096, 50272]" */
gchar       *gill_shape_string         (gint              n_dims,
                                        const gint64     *shape);

/* element access in C order, whatever the strides; floats widen to f32, integers/bool to i64 */
void         gill_tensor_copy_f32      (const GillTensor *tensor,
                                        float            *out);   /* numel floats */
void         gill_tensor_copy_i64      (const GillTensor *tensor,
                                        gint64           *out);   /* numel ints */
float       *gill_tensor_data_f32      (GillTensor       *tensor); /* mutable heap f32 data */
gint64      *gill_tensor_data_i64      (GillTensor       *tensor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillTensor, gill_tensor_unref)

G_END_DECLS
