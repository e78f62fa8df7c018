/* tensor.c — GillTensor views, dtype tables and strided element access. */
#include "core/base/tensor.h"

#include <string.h>

#include "core/base/half.h"

typedef struct
{
  const gchar *name;        /* our short name */
  const gchar *safetensors; /* the safetensors header name */
  gsize size;
  gboolean is_float;
} DTypeInfo;

static const DTypeInfo dtype_table[GILL_DTYPE_COUNT] = {
  [GILL_DTYPE_F32] = { "f32", "F32", 4, TRUE },
  [GILL_DTYPE_F16] = { "f16", "F16", 2, TRUE },
  [GILL_DTYPE_BF16] = { "bf16", "BF16", 2, TRUE },
  [GILL_DTYPE_F64] = { "f64", "F64", 8, TRUE },
  [GILL_DTYPE_I64] = { "i64", "I64", 8, FALSE },
  [GILL_DTYPE_I32] = { "i32", "I32", 4, FALSE },
  [GILL_DTYPE_I16] = { "i16", "I16", 2, FALSE },
  [GILL_DTYPE_I8] = { "i8", "I8", 1, FALSE },
  [GILL_DTYPE_U8] = { "u8", "U8", 1, FALSE },
  [GILL_DTYPE_BOOL] = { "bool", "BOOL", 1, FALSE },
  [GILL_DTYPE_U16] = { "u16", "U16", 2, FALSE },
  [GILL_DTYPE_U32] = { "u32", "U32", 4, FALSE },
  [GILL_DTYPE_U64] = { "u64", "U64", 8, FALSE },
};

gsize
gill_dtype_size (GillDType dtype)
{
  g_return_val_if_fail (dtype < GILL_DTYPE_COUNT, 0);
  return dtype_table[dtype].size;
}

const gchar *
gill_dtype_name (GillDType dtype)
{
  g_return_val_if_fail (dtype < GILL_DTYPE_COUNT, "?");
  return dtype_table[dtype].name;
}

const gchar *
gill_dtype_to_safetensors (GillDType dtype)
{
  g_return_val_if_fail (dtype < GILL_DTYPE_COUNT, "?");
  return dtype_table[dtype].safetensors;
}

gboolean
gill_dtype_is_float (GillDType dtype)
{
  g_return_val_if_fail (dtype < GILL_DTYPE_COUNT, FALSE);
  return dtype_table[dtype].is_float;
}

gboolean
gill_dtype_from_safetensors (const gchar *name,
                             GillDType   *dtype)
{
  for (gint i = 0; i < GILL_DTYPE_COUNT; i++)
    if (g_strcmp0 (name, dtype_table[i].safetensors) == 0)
      {
        *dtype = (GillDType) i;
        return TRUE;
      }
  return FALSE;
}

static void
contiguous_strides (gint          n_dims,
                    const gint64 *shape,
                    gint64       *strides)
{
  gint64 step = 1;
  for (gint d = n_dims - 1; d >= 0; d--)
    {
      strides[d] = step;
      step *= shape[d] > 0 ? shape[d] : 1;
    }
}

GillTensor *
gill_tensor_new_view (GillDType     dtype,
                      gint          n_dims,
                      const gint64 *shape,
                      const gint64 *strides,
                      const guint8 *data,
                      GBytes       *owner)
{
  g_return_val_if_fail (dtype < GILL_DTYPE_COUNT, NULL);
  g_return_val_if_fail (n_dims >= 0 && n_dims <= GILL_TENSOR_MAX_DIMS, NULL);

  GillTensor *t = g_new0 (GillTensor, 1);
  t->ref_count = 1;
  t->dtype = dtype;
  t->n_dims = n_dims;
  for (gint d = 0; d < n_dims; d++)
    t->shape[d] = shape[d];
  if (strides)
    memcpy (t->strides, strides, sizeof (gint64) * n_dims);
  else
    contiguous_strides (n_dims, shape, t->strides);
  t->data = data;
  t->owner = owner ? g_bytes_ref (owner) : NULL;
  return t;
}

static GillTensor *
tensor_new_heap (GillDType     dtype,
                 gint          n_dims,
                 const gint64 *shape)
{
  gint64 numel = 1;
  for (gint d = 0; d < n_dims; d++)
    numel *= shape[d];
  gsize nbytes = (gsize) numel * gill_dtype_size (dtype);
  g_autoptr (GBytes) owner = g_bytes_new_take (g_malloc0 (MAX (nbytes, 1)), nbytes);
  return gill_tensor_new_view (dtype, n_dims, shape, NULL, g_bytes_get_data (owner, NULL) ?: (const guint8 *) "", owner);
}

GillTensor *
gill_tensor_new_f32 (gint          n_dims,
                     const gint64 *shape)
{
  return tensor_new_heap (GILL_DTYPE_F32, n_dims, shape);
}

GillTensor *
gill_tensor_new_i64 (gint          n_dims,
                     const gint64 *shape)
{
  return tensor_new_heap (GILL_DTYPE_I64, n_dims, shape);
}

GillTensor *
gill_tensor_ref (GillTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_atomic_int_inc (&tensor->ref_count);
  return tensor;
}

void
gill_tensor_unref (GillTensor *tensor)
{
  if (tensor == NULL)
    return;
  if (g_atomic_int_dec_and_test (&tensor->ref_count))
    {
      g_clear_pointer (&tensor->owner, g_bytes_unref);
      g_free (tensor);
    }
}

gint64
gill_tensor_numel (const GillTensor *tensor)
{
  gint64 n = 1;
  for (gint d = 0; d < tensor->n_dims; d++)
    n *= tensor->shape[d];
  return n;
}

gsize
gill_tensor_nbytes (const GillTensor *tensor)
{
  return (gsize) gill_tensor_numel (tensor) * gill_dtype_size (tensor->dtype);
}

gboolean
gill_tensor_is_contiguous (const GillTensor *tensor)
{
  gint64 step = 1;
  for (gint d = tensor->n_dims - 1; d >= 0; d--)
    {
      if (tensor->shape[d] != 1 && tensor->strides[d] != step)
        return FALSE;
      step *= tensor->shape[d];
    }
  return TRUE;
}

gboolean
gill_tensor_has_shape (const GillTensor *tensor,
                       gint              n_dims,
                       const gint64     *shape)
{
  if (tensor->n_dims != n_dims)
    return FALSE;
  for (gint d = 0; d < n_dims; d++)
    if (tensor->shape[d] != shape[d])
      return FALSE;
  return TRUE;
}

gchar *
gill_shape_string (gint          n_dims,
                   const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (gint d = 0; d < n_dims; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gchar *
gill_tensor_shape_string (const GillTensor *tensor)
{
  return gill_shape_string (tensor->n_dims, tensor->shape);
}

/* One element as double (exact for every dtype but i64/u64 beyond 2^53). */
static double
element_f64 (GillDType     dtype,
             const guint8 *p)
{
  switch (dtype)
    {
    case GILL_DTYPE_F32: { float v; memcpy (&v, p, 4); return v; }
    case GILL_DTYPE_F16: { guint16 v; memcpy (&v, p, 2); return gill_f16_to_f32 (v); }
    case GILL_DTYPE_BF16: { guint16 v; memcpy (&v, p, 2); return gill_bf16_to_f32 (v); }
    case GILL_DTYPE_F64: { double v; memcpy (&v, p, 8); return v; }
    default: g_assert_not_reached ();
    }
}

static gint64
element_i64 (GillDType     dtype,
             const guint8 *p)
{
  switch (dtype)
    {
    case GILL_DTYPE_I64: { gint64 v; memcpy (&v, p, 8); return v; }
    case GILL_DTYPE_I32: { gint32 v; memcpy (&v, p, 4); return v; }
    case GILL_DTYPE_I16: { gint16 v; memcpy (&v, p, 2); return v; }
    case GILL_DTYPE_I8: return (gint8) p[0];
    case GILL_DTYPE_U8: return p[0];
    case GILL_DTYPE_BOOL: return p[0] != 0;
    case GILL_DTYPE_U16: { guint16 v; memcpy (&v, p, 2); return v; }
    case GILL_DTYPE_U32: { guint32 v; memcpy (&v, p, 4); return v; }
    case GILL_DTYPE_U64: { guint64 v; memcpy (&v, p, 8); return (gint64) v; }
    default:
      {
        /* a float read as an integer: truncate toward zero, saturate, NaN -> 0 */
        double v = element_f64 (dtype, p);
        if (!(v == v))
          return 0;
        if (v >= 9223372036854775807.0)
          return G_MAXINT64;
        if (v <= -9223372036854775808.0)
          return G_MININT64;
        return (gint64) v;
      }
    }
}

/* Walk every element in C order, calling visit with its address. */
static void
tensor_walk (const GillTensor *t,
             void (*visit) (const guint8 *p, gint64 i, gpointer data),
             gpointer data)
{
  gint64 numel = gill_tensor_numel (t);
  if (numel == 0)
    return;
  gsize esize = gill_dtype_size (t->dtype);
  gint64 index[GILL_TENSOR_MAX_DIMS] = { 0 };
  const guint8 *p = t->data;
  for (gint64 i = 0; i < numel; i++)
    {
      visit (p, i, data);
      /* odometer increment, last dimension fastest */
      for (gint d = t->n_dims - 1; d >= 0; d--)
        {
          index[d]++;
          p += t->strides[d] * (gint64) esize;
          if (index[d] < t->shape[d])
            break;
          p -= t->strides[d] * (gint64) esize * t->shape[d];
          index[d] = 0;
        }
    }
}

typedef struct
{
  GillDType dtype;
  gpointer out;
} WalkCopy;

static void
visit_f32 (const guint8 *p, gint64 i, gpointer data)
{
  WalkCopy *w = data;
  ((float *) w->out)[i] = gill_dtype_is_float (w->dtype) ? (float) element_f64 (w->dtype, p)
                                                         : (float) element_i64 (w->dtype, p);
}

static void
visit_i64 (const guint8 *p, gint64 i, gpointer data)
{
  WalkCopy *w = data;
  ((gint64 *) w->out)[i] = element_i64 (w->dtype, p);
}

void
gill_tensor_copy_f32 (const GillTensor *tensor,
                      float            *out)
{
  if (tensor->dtype == GILL_DTYPE_F32 && gill_tensor_is_contiguous (tensor))
    {
      memcpy (out, tensor->data, gill_tensor_nbytes (tensor));
      return;
    }
  WalkCopy w = { tensor->dtype, out };
  tensor_walk (tensor, visit_f32, &w);
}

void
gill_tensor_copy_i64 (const GillTensor *tensor,
                      gint64           *out)
{
  WalkCopy w = { tensor->dtype, out };
  tensor_walk (tensor, visit_i64, &w);
}

float *
gill_tensor_data_f32 (GillTensor *tensor)
{
  g_return_val_if_fail (tensor->dtype == GILL_DTYPE_F32, NULL);
  return (float *) tensor->data;
}

gint64 *
gill_tensor_data_i64 (GillTensor *tensor)
{
  g_return_val_if_fail (tensor->dtype == GILL_DTYPE_I64, NULL);
  return (gint64 *) tensor->data;
}
