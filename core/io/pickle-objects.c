/* pickle-objects.c — what the restricted unpickler may construct (models.md §4.2, §4.4): the
 * allow-list of globals (pickle.h), and the builders behind it: torch storages (persistent ids),
 * torch tensors (_rebuild_tensor_v2 and friends), numpy arrays, dtypes and scalars, latin-1 bytes,
 * OrderedDict, set and torch.Size. The machine that calls them is in pickle.c.
 *
 * Builders check every argument they read and fail through pickle_fail; tensors are views into
 * the storage's or the pickle's bytes, checked to stay inside them. */
#include "core/io/pickle-private.h"

#include <string.h>

#include "core/base/error.h"
#include "core/io/tensors.h"

/* ------------------------------------------------------------------------------------------ */
/* the allow-list */

typedef enum
{
  CALL_ORDERED_DICT,
  CALL_SET,
  CALL_TORCH_SIZE,
  CALL_REBUILD_TENSOR_V2,
  CALL_REBUILD_TENSOR,
  CALL_REBUILD_PARAMETER,
  CALL_STORAGE,
  CALL_LOAD_FROM_BYTES,
  CALL_NP_RECONSTRUCT,
  CALL_NP_NDARRAY,
  CALL_NP_DTYPE,
  CALL_NP_SCALAR,
  CALL_CODECS_ENCODE,
} Callable;

typedef struct
{
  const gchar *qualname; /* module.name */
  Callable callable;
  GillDType dtype;       /* storages */
  gboolean numpy;        /* only with allow_numpy */
} GlobalInfo;

static const GlobalInfo global_table[] = {
  { "collections.OrderedDict", CALL_ORDERED_DICT, 0, FALSE },
  { "builtins.set", CALL_SET, 0, FALSE },
  { "builtins.frozenset", CALL_SET, 0, FALSE },
  { "__builtin__.set", CALL_SET, 0, FALSE },
  { "__builtin__.frozenset", CALL_SET, 0, FALSE },
  { "torch.Size", CALL_TORCH_SIZE, 0, FALSE },
  { "torch._utils._rebuild_tensor_v2", CALL_REBUILD_TENSOR_V2, 0, FALSE },
  { "torch._utils._rebuild_tensor", CALL_REBUILD_TENSOR, 0, FALSE },
  { "torch._utils._rebuild_parameter", CALL_REBUILD_PARAMETER, 0, FALSE },
  { "torch._utils._rebuild_parameter_with_state", CALL_REBUILD_PARAMETER, 0, FALSE },
  { "torch.FloatStorage", CALL_STORAGE, GILL_DTYPE_F32, FALSE },
  { "torch.HalfStorage", CALL_STORAGE, GILL_DTYPE_F16, FALSE },
  { "torch.BFloat16Storage", CALL_STORAGE, GILL_DTYPE_BF16, FALSE },
  { "torch.DoubleStorage", CALL_STORAGE, GILL_DTYPE_F64, FALSE },
  { "torch.LongStorage", CALL_STORAGE, GILL_DTYPE_I64, FALSE },
  { "torch.IntStorage", CALL_STORAGE, GILL_DTYPE_I32, FALSE },
  { "torch.ShortStorage", CALL_STORAGE, GILL_DTYPE_I16, FALSE },
  { "torch.CharStorage", CALL_STORAGE, GILL_DTYPE_I8, FALSE },
  { "torch.ByteStorage", CALL_STORAGE, GILL_DTYPE_U8, FALSE },
  { "torch.BoolStorage", CALL_STORAGE, GILL_DTYPE_BOOL, FALSE },
  { "torch.storage._load_from_bytes", CALL_LOAD_FROM_BYTES, 0, FALSE },
  { "_codecs.encode", CALL_CODECS_ENCODE, 0, FALSE },
  { "numpy.core.multiarray._reconstruct", CALL_NP_RECONSTRUCT, 0, TRUE },
  { "numpy._core.multiarray._reconstruct", CALL_NP_RECONSTRUCT, 0, TRUE },
  { "numpy.ndarray", CALL_NP_NDARRAY, 0, TRUE },
  { "numpy.dtype", CALL_NP_DTYPE, 0, TRUE },
  { "numpy.core.multiarray.scalar", CALL_NP_SCALAR, 0, TRUE },
  { "numpy._core.multiarray.scalar", CALL_NP_SCALAR, 0, TRUE },
};

#define TORCH_WITHOUT_ZIP_ADVICE \
  "the file holds torch tensors pickled without torch.save's zip container (as GILL's extract " \
  "script writes them); convert with torch.save or numpy"

/* ------------------------------------------------------------------------------------------ */
/* the unpickler's own objects, carried as GILL_VALUE_OBJECT */

typedef enum
{
  OBJ_GLOBAL,   /* a resolved allow-listed global */
  OBJ_STORAGE,  /* a torch storage: typed bytes */
  OBJ_NP_DTYPE, /* numpy.dtype(...) */
  OBJ_NP_ARRAY, /* numpy _reconstruct(...) before its BUILD */
} ObjTag;

typedef struct
{
  ObjTag tag;
  const GlobalInfo *global; /* GLOBAL */
  GillDType dtype;          /* STORAGE, NP_DTYPE */
  gboolean big_endian;      /* NP_DTYPE */
  GBytes *bytes;            /* STORAGE */
  guint64 numel;            /* STORAGE */
  gchar *key;               /* STORAGE */
} PickleObject;

static void
pickle_object_free (gpointer p)
{
  PickleObject *object = p;
  g_clear_pointer (&object->bytes, g_bytes_unref);
  g_free (object->key);
  g_free (object);
}

static GillValue *
object_new (ObjTag         tag,
            const gchar   *type,
            PickleObject **out)
{
  PickleObject *object = g_new0 (PickleObject, 1);
  object->tag = tag;
  *out = object;
  return gill_value_new_object (type, object, pickle_object_free);
}

/* the payload if value is one of ours with this tag, else NULL */
static PickleObject *
object_get (const GillValue *value,
            ObjTag           tag)
{
  if (value == NULL || value->kind != GILL_VALUE_OBJECT || value->object.destroy != pickle_object_free)
    return NULL;
  PickleObject *object = value->object.data;
  return object->tag == tag ? object : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* globals and calls */

GillValue *
pickle_global_new (Unpickler   *u,
                   const gchar *module,
                   gsize        module_len,
                   const gchar *name,
                   gsize        name_len)
{
  for (guint i = 0; i < G_N_ELEMENTS (global_table); i++)
    {
      const GlobalInfo *info = &global_table[i];
      if (strlen (info->qualname) != module_len + 1 + name_len
          || strncmp (info->qualname, module, module_len) != 0 || info->qualname[module_len] != '.'
          || strncmp (info->qualname + module_len + 1, name, name_len) != 0)
        continue;
      if (info->numpy && !u->options->allow_numpy)
        break;
      PickleObject *object;
      GillValue *value = object_new (OBJ_GLOBAL, info->qualname, &object);
      object->global = info;
      object->dtype = info->dtype;
      return value;
    }
  g_autofree gchar *qualname = g_strdup_printf ("%.*s.%.*s", (int) MIN (module_len, 200), module,
                                                (int) MIN (name_len, 200), name);
  g_autofree gchar *shown = g_utf8_make_valid (qualname, -1);
  pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle calls '%s', which gill refuses to run (only "
               "tensors, containers and numbers are loaded)", shown);
  return NULL;
}

static GillValue *
arg (const GillValue *args,
     guint            i)
{
  return i < args->items->len ? g_ptr_array_index (args->items, i) : NULL;
}

static gboolean
check_args (Unpickler       *u,
            const gchar     *what,
            const GillValue *args,
            guint            min,
            guint            max)
{
  if (args->kind == GILL_VALUE_TUPLE && args->items->len >= min && args->items->len <= max)
    return TRUE;
  return pickle_fail (u, GILL_ERROR_FORMAT, "%s at offset %" G_GSIZE_FORMAT " gets %u arguments%s, where it "
                      "takes %u to %u; the pickle is corrupt", what, u->op_offset,
                      args->kind == GILL_VALUE_TUPLE ? args->items->len : 0,
                      args->kind == GILL_VALUE_TUPLE ? "" : " (not a tuple)", min, max);
}

static gboolean
get_int (Unpickler       *u,
         const GillValue *value,
         const gchar     *what,
         gint64           min,
         gint64          *out)
{
  *out = 0;
  if (value && (value->kind == GILL_VALUE_INT || value->kind == GILL_VALUE_BOOL))
    {
      *out = value->kind == GILL_VALUE_INT ? value->integer : value->boolean;
      if (*out >= min)
        return TRUE;
    }
  return pickle_fail (u, GILL_ERROR_FORMAT, "%s at offset %" G_GSIZE_FORMAT " is not an integer >= %"
                      G_GINT64_FORMAT "; the pickle is corrupt", what, u->op_offset, min);
}

/* a tuple or list of non-negative ints, at most GILL_TENSOR_MAX_DIMS long */
static gboolean
get_dims (Unpickler       *u,
          const GillValue *value,
          const gchar     *what,
          gint64          *dims,
          gint            *n_dims)
{
  *n_dims = 0;
  if (value == NULL || (value->kind != GILL_VALUE_TUPLE && value->kind != GILL_VALUE_LIST))
    return pickle_fail (u, GILL_ERROR_FORMAT, "the tensor %s at offset %" G_GSIZE_FORMAT " is not a tuple",
                        what, u->op_offset);
  if (value->items->len > GILL_TENSOR_MAX_DIMS)
    return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "a tensor at offset %" G_GSIZE_FORMAT " has %u dimensions; "
                        "gill supports up to %d", u->op_offset, value->items->len, GILL_TENSOR_MAX_DIMS);
  *n_dims = value->items->len;
  for (gint d = 0; d < *n_dims; d++)
    if (!get_int (u, g_ptr_array_index (value->items, d), what, 0, &dims[d]))
      return FALSE;
  return TRUE;
}

/* The product of the sizes, zeros skipped, must fit in gint64, so that element counts and the
 * strides of contiguous layouts never overflow anywhere. */
static gboolean
shape_fits (Unpickler    *u,
            gint          n_dims,
            const gint64 *shape)
{
  guint64 product;
  if (gill_shape_nbytes (n_dims, shape, 1, &product))
    return TRUE;
  g_autofree gchar *text = gill_shape_string (n_dims, shape);
  return pickle_fail (u, GILL_ERROR_FORMAT, "a tensor at offset %" G_GSIZE_FORMAT " has the impossible "
                      "shape %s; the file is corrupt", u->op_offset, text);
}

/* _rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...): a view; offset and strides
 * in elements, checked to stay inside the storage */
static GillValue *
rebuild_tensor (Unpickler       *u,
                const GillValue *args)
{
  gint64 offset, shape[GILL_TENSOR_MAX_DIMS], strides[GILL_TENSOR_MAX_DIMS];
  gint n_dims, n_strides;
  PickleObject *storage = object_get (arg (args, 0), OBJ_STORAGE);

  if (storage == NULL)
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "a tensor at offset %" G_GSIZE_FORMAT " is built from "
                   "something that is not a storage; the pickle is corrupt", u->op_offset);
      return NULL;
    }
  if (!get_int (u, arg (args, 1), "the storage offset", 0, &offset)
      || !get_dims (u, arg (args, 2), "size", shape, &n_dims)
      || !get_dims (u, arg (args, 3), "stride", strides, &n_strides) || !shape_fits (u, n_dims, shape))
    return NULL;
  if (n_strides != n_dims)
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "a tensor at offset %" G_GSIZE_FORMAT " has %d sizes but "
                   "%d strides", u->op_offset, n_dims, n_strides);
      return NULL;
    }
  /* last element = offset + sum (size - 1) * stride; an empty tensor only needs its offset */
  guint64 last = offset, step, numel = 1;
  gboolean ok = TRUE;
  for (gint d = 0; d < n_dims; d++)
    numel *= shape[d]; /* cannot overflow: shape_fits */
  for (gint d = 0; d < n_dims && numel > 0; d++)
    ok = ok && g_uint64_checked_mul (&step, shape[d] - 1, strides[d]) && g_uint64_checked_add (&last, last, step);
  if (!ok || (numel > 0 ? last >= storage->numel : last > storage->numel))
    {
      g_autofree gchar *shape_text = gill_shape_string (n_dims, shape);
      g_autofree gchar *stride_text = gill_shape_string (n_dims, strides);
      pickle_fail (u, GILL_ERROR_FORMAT, "a tensor of shape %s, strides %s and storage offset %"
                   G_GINT64_FORMAT " reaches past the end of storage '%s' (%" G_GUINT64_FORMAT
                   " elements); the file is corrupt", shape_text, stride_text, offset, storage->key,
                   storage->numel);
      return NULL;
    }
  /* stride-0 (expanded) views may repeat elements, but not absurdly: consumers allocate numel */
  if (numel > storage->numel * 64 + 65536)
    {
      g_autofree gchar *shape_text = gill_shape_string (n_dims, shape);
      pickle_fail (u, GILL_ERROR_FORMAT, "a tensor of shape %s repeats the %" G_GUINT64_FORMAT
                   " elements of storage '%s' more than 64 times over; the file is corrupt or hostile",
                   shape_text, storage->numel, storage->key);
      return NULL;
    }
  /* strides of size-1 dimensions (and of empty tensors) address nothing; clamp them so that
   * stride arithmetic elsewhere cannot overflow */
  for (gint d = 0; d < n_dims; d++)
    if (shape[d] <= 1 || numel == 0)
      strides[d] = MIN ((guint64) strides[d], storage->numel);
  const guint8 *data = g_bytes_get_data (storage->bytes, NULL);
  data = (data ? data : (const guint8 *) "") + (gsize) offset * gill_dtype_size (storage->dtype);
  g_autoptr (GillTensor) tensor = gill_tensor_new_view (storage->dtype, n_dims, shape, strides, data,
                                                        storage->bytes);
  return gill_value_new_tensor (tensor);
}

/* numpy.dtype('f4', align, copy), as numpy.dtype's pickle spells it ('f4', False, True) */
static GillValue *
numpy_dtype (Unpickler       *u,
             const GillValue *args)
{
  const GillValue *spec = arg (args, 0);
  g_autofree gchar *code = spec && spec->kind == GILL_VALUE_STRING ? gill_value_string_dup (spec) : NULL;
  const gchar *bare = code && (code[0] == '<' || code[0] == '|' || code[0] == '=') ? code + 1 : code;
  GillDType dtype;

  if (bare && gill_dtype_from_numpy (bare, &dtype))
    {
      PickleObject *object;
      GillValue *value = object_new (OBJ_NP_DTYPE, "numpy.dtype", &object);
      object->dtype = dtype;
      return value;
    }
  g_autofree gchar *shown = code ? g_utf8_make_valid (code, -1) : g_strdup ("?");
  pickle_fail (u, GILL_ERROR_UNSUPPORTED, "numpy dtype '%s' at offset %" G_GSIZE_FORMAT " is not a "
               "plain number type; gill loads float, int, uint and bool arrays", shown, u->op_offset);
  return NULL;
}

/* numpy.core.multiarray.scalar(dtype, bytes) -> a Python number */
static GillValue *
numpy_scalar (Unpickler       *u,
              const GillValue *args)
{
  PickleObject *dtype = object_get (arg (args, 0), OBJ_NP_DTYPE);
  const GillValue *raw = arg (args, 1);
  gsize len = 0;
  const guint8 *p = raw->kind == GILL_VALUE_BYTES ? g_bytes_get_data (raw->bytes, &len) : NULL;

  if (dtype == NULL || p == NULL || dtype->big_endian || len != gill_dtype_size (dtype->dtype))
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "numpy scalar at offset %" G_GSIZE_FORMAT " is malformed",
                   u->op_offset);
      return NULL;
    }
  GillTensor view = { .dtype = dtype->dtype, .n_dims = 0, .data = p };
  if (dtype->dtype == GILL_DTYPE_BOOL)
    return gill_value_new_bool (p[0] != 0);
  if (dtype->dtype == GILL_DTYPE_F64)
    {
      double d;
      memcpy (&d, p, 8);
      return gill_value_new_float (d);
    }
  if (gill_dtype_is_float (dtype->dtype))
    {
      float f;
      gill_tensor_copy_f32 (&view, &f);
      return gill_value_new_float (f);
    }
  gint64 i;
  gill_tensor_copy_i64 (&view, &i);
  if (dtype->dtype == GILL_DTYPE_U64 && i < 0)
    {
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, "numpy uint64 scalar at offset %" G_GSIZE_FORMAT " is "
                   "beyond the 64-bit signed range", u->op_offset);
      return NULL;
    }
  return gill_value_new_int (i);
}

/* _codecs.encode(text, 'latin1'): how protocols 0-2 spell bytes */
static GillValue *
codecs_encode (Unpickler       *u,
               const GillValue *args)
{
  const GillValue *text = arg (args, 0), *encoding = arg (args, 1);
  g_autofree gchar *codec = encoding->kind == GILL_VALUE_STRING ? gill_value_string_dup (encoding) : NULL;

  if (text->kind != GILL_VALUE_STRING || !(g_strcmp0 (codec, "latin1") == 0 || g_strcmp0 (codec, "latin-1") == 0))
    {
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, "_codecs.encode at offset %" G_GSIZE_FORMAT " is not "
                   "(str, 'latin1'); gill decodes only that form", u->op_offset);
      return NULL;
    }
  gsize len;
  const gchar *s = g_bytes_get_data (text->bytes, &len), *end = s + len;
  g_autoptr (GByteArray) out = g_byte_array_sized_new (len);
  /* the string was validated as UTF-8 when it was read */
  for (const gchar *c = s; c && c < end; c = g_utf8_next_char (c))
    {
      gunichar ch = g_utf8_get_char (c);
      guint8 b = (guint8) ch;
      if (ch > 0xff)
        {
          pickle_fail (u, GILL_ERROR_FORMAT, "_codecs.encode at offset %" G_GSIZE_FORMAT " has a "
                       "character beyond latin-1", u->op_offset);
          return NULL;
        }
      g_byte_array_append (out, &b, 1);
    }
  g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  return gill_value_new_bytes (bytes);
}

/* OrderedDict(), OrderedDict([(k, v), ...]), set([...]), torch.Size((...)) */
static GillValue *
call_container (Unpickler        *u,
                const GlobalInfo *info,
                const GillValue  *args)
{
  const GillValue *items = arg (args, 0);
  if (!check_args (u, info->qualname, args, 0, 1))
    return NULL;
  if (items && items->kind != GILL_VALUE_LIST && items->kind != GILL_VALUE_TUPLE)
    {
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, "%s at offset %" G_GSIZE_FORMAT " gets a %s; gill "
                   "builds it only from a list or tuple", info->qualname, u->op_offset, pickle_type_name (items));
      return NULL;
    }
  g_autoptr (GillValue) result = info->callable == CALL_ORDERED_DICT ? gill_value_new_dict ()
                                 : info->callable == CALL_SET        ? gill_value_new_list ()
                                                                     : gill_value_new_tuple ();
  for (guint i = 0; items && i < items->items->len; i++)
    {
      GillValue *item = g_ptr_array_index (items->items, i);
      gboolean pair = (item->kind == GILL_VALUE_TUPLE || item->kind == GILL_VALUE_LIST) && item->items->len == 2;
      if (result->kind != GILL_VALUE_DICT)
        gill_value_append (result, item);
      else if (pair)
        gill_value_dict_set (result, arg (item, 0), arg (item, 1));
      else
        {
          pickle_fail (u, GILL_ERROR_FORMAT, "OrderedDict at offset %" G_GSIZE_FORMAT " gets an item "
                       "that is not a pair", u->op_offset);
          return NULL;
        }
    }
  return g_steal_pointer (&result);
}

/* REDUCE, INST, OBJ: callable(*args), for the allow-listed callables */
GillValue *
pickle_call (Unpickler       *u,
             const GillValue *callable,
             const GillValue *args)
{
  PickleObject *global = object_get (callable, OBJ_GLOBAL), *cls;
  if (global == NULL)
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " calls a %s, "
                   "which is not callable; the pickle is corrupt", u->op, u->op_offset, pickle_type_name (callable));
      return NULL;
    }
  const GlobalInfo *info = global->global;
  switch (info->callable)
    {
    case CALL_ORDERED_DICT:
    case CALL_SET:
    case CALL_TORCH_SIZE:
      return call_container (u, info, args);
    case CALL_REBUILD_TENSOR_V2:
      return check_args (u, info->qualname, args, 6, 7) ? rebuild_tensor (u, args) : NULL;
    case CALL_REBUILD_TENSOR:
      return check_args (u, info->qualname, args, 4, 4) ? rebuild_tensor (u, args) : NULL;
    case CALL_REBUILD_PARAMETER: /* (data, requires_grad, hooks[, state]) -> data */
      if (!check_args (u, info->qualname, args, 3, 4))
        return NULL;
      if (arg (args, 0)->kind != GILL_VALUE_TENSOR)
        {
          pickle_fail (u, GILL_ERROR_FORMAT, "a parameter at offset %" G_GSIZE_FORMAT " wraps a %s, "
                       "not a tensor", u->op_offset, pickle_type_name (arg (args, 0)));
          return NULL;
        }
      return gill_value_ref (arg (args, 0));
    case CALL_LOAD_FROM_BYTES:
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, TORCH_WITHOUT_ZIP_ADVICE);
      return NULL;
    case CALL_NP_RECONSTRUCT: /* (numpy.ndarray, (0,), b'b') -> an array to BUILD */
      if (!check_args (u, info->qualname, args, 3, 3))
        return NULL;
      cls = object_get (arg (args, 0), OBJ_GLOBAL);
      if (cls == NULL || cls->global->callable != CALL_NP_NDARRAY)
        {
          pickle_fail (u, GILL_ERROR_UNSUPPORTED, "numpy _reconstruct at offset %" G_GSIZE_FORMAT
                       " builds a subclass of ndarray; gill loads plain arrays", u->op_offset);
          return NULL;
        }
      return object_new (OBJ_NP_ARRAY, "numpy.ndarray", &cls);
    case CALL_NP_DTYPE:
      return check_args (u, info->qualname, args, 1, 3) ? numpy_dtype (u, args) : NULL;
    case CALL_NP_SCALAR:
      return check_args (u, info->qualname, args, 2, 2) ? numpy_scalar (u, args) : NULL;
    case CALL_CODECS_ENCODE:
      return check_args (u, info->qualname, args, 2, 2) ? codecs_encode (u, args) : NULL;
    default:
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle calls '%s' at offset %" G_GSIZE_FORMAT
                   ", which is not a function gill runs", info->qualname, u->op_offset);
      return NULL;
    }
}

/* NEWOBJ, NEWOBJ_EX: cls.__new__(cls, *args); OrderedDict and set are the classes gill builds */
GillValue *
pickle_new_object (Unpickler       *u,
                   const GillValue *cls)
{
  PickleObject *global = object_get (cls, OBJ_GLOBAL);
  if (global && global->global->callable == CALL_ORDERED_DICT)
    return gill_value_new_dict ();
  if (global && global->global->callable == CALL_SET)
    return gill_value_new_list ();
  pickle_fail (u, GILL_ERROR_UNSUPPORTED, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " creates a "
               "'%s' object, which gill does not build", u->op, u->op_offset, pickle_type_name (cls));
  return NULL;
}

/* BUILD on numpy _reconstruct's array: state ([version,] shape, dtype, fortran, raw bytes) */
static gboolean
build_numpy_array (Unpickler       *u,
                   GillValue       *array,
                   const GillValue *state)
{
  gint64 shape[GILL_TENSOR_MAX_DIMS], strides[GILL_TENSOR_MAX_DIMS];
  gint n_dims;
  guint skip = state->kind == GILL_VALUE_TUPLE && state->items->len == 5 ? 1 : 0;

  if (state->kind != GILL_VALUE_TUPLE || state->items->len != 4 + skip)
    return pickle_fail (u, GILL_ERROR_FORMAT, "numpy array state at offset %" G_GSIZE_FORMAT " is malformed",
                        u->op_offset);
  PickleObject *dtype = object_get (arg (state, skip + 1), OBJ_NP_DTYPE);
  const GillValue *fortran = arg (state, skip + 2), *raw = arg (state, skip + 3);
  if (!get_dims (u, arg (state, skip), "shape", shape, &n_dims) || !shape_fits (u, n_dims, shape))
    return FALSE;
  if (dtype == NULL || raw->kind != GILL_VALUE_BYTES)
    return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "numpy array at offset %" G_GSIZE_FORMAT " holds Python "
                        "objects or has no dtype; gill loads plain number arrays", u->op_offset);
  if (dtype->big_endian)
    return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "numpy array at offset %" G_GSIZE_FORMAT " is big-endian; "
                        "convert it with .astype('<%s')", u->op_offset, gill_dtype_name (dtype->dtype));
  guint64 nbytes = gill_dtype_size (dtype->dtype);
  for (gint d = 0; d < n_dims; d++)
    if (!g_uint64_checked_mul (&nbytes, nbytes, shape[d]))
      nbytes = G_MAXUINT64;
  if (nbytes != g_bytes_get_size (raw->bytes))
    return pickle_fail (u, GILL_ERROR_FORMAT, "numpy array at offset %" G_GSIZE_FORMAT " needs %" G_GUINT64_FORMAT
                        " bytes of data but has %" G_GSIZE_FORMAT, u->op_offset, nbytes, g_bytes_get_size (raw->bytes));
  /* C order: the last dimension is the fastest; Fortran order: the first */
  gboolean column_major = (fortran->kind == GILL_VALUE_BOOL && fortran->boolean)
                          || (fortran->kind == GILL_VALUE_INT && fortran->integer != 0);
  gint64 step = 1;
  for (gint k = 0; k < n_dims; k++)
    {
      gint d = column_major ? k : n_dims - 1 - k;
      strides[d] = step;
      step *= MAX (shape[d], 1); /* cannot overflow: shape_fits */
    }
  const guint8 *data = g_bytes_get_data (raw->bytes, NULL);
  g_autoptr (GillTensor) tensor = gill_tensor_new_view (dtype->dtype, n_dims, shape, strides,
                                                        data ? data : (const guint8 *) "", raw->bytes);
  /* BUILD mutates the memoised object in place: it becomes the tensor */
  array->object.destroy (array->object.data);
  array->kind = GILL_VALUE_TENSOR;
  array->tensor = g_steal_pointer (&tensor);
  return TRUE;
}

gboolean
pickle_build (Unpickler       *u,
              GillValue       *inst,
              const GillValue *state)
{
  PickleObject *dtype = object_get (inst, OBJ_NP_DTYPE);

  if (object_get (inst, OBJ_NP_ARRAY))
    return build_numpy_array (u, inst, state);
  if (dtype)
    {
      /* numpy dtype state: (version, byte order '<' '>' '|' '=', ...) */
      const GillValue *order = state->kind == GILL_VALUE_TUPLE ? arg (state, 1) : NULL;
      gsize len = 0;
      const gchar *c = order && order->kind == GILL_VALUE_STRING ? g_bytes_get_data (order->bytes, &len) : NULL;
      if (c == NULL || len != 1)
        return pickle_fail (u, GILL_ERROR_FORMAT, "numpy dtype state at offset %" G_GSIZE_FORMAT " is malformed",
                            u->op_offset);
      dtype->big_endian = c[0] == '>' || (c[0] == '=' && G_BYTE_ORDER == G_BIG_ENDIAN);
      return TRUE;
    }
  /* OrderedDict's {'_metadata': ...} and tensor/parameter attributes: not data, dropped */
  if (inst->kind == GILL_VALUE_DICT || inst->kind == GILL_VALUE_TENSOR)
    return TRUE;
  return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "BUILD at offset %" G_GSIZE_FORMAT " sets the state of a %s, "
                      "which gill does not do", u->op_offset, pickle_type_name (inst));
}

/* the bytes behind storage key, asked for once per key */
static GBytes *
storage_bytes (Unpickler   *u,
               const gchar *key)
{
  GBytes *bytes = g_hash_table_lookup (u->storages, key);
  if (bytes)
    return bytes;
  bytes = u->options->load_storage (key, u->options->user_data, u->error);
  if (bytes == NULL)
    {
      if (*u->error == NULL)
        pickle_fail (u, GILL_ERROR_FORMAT, "storage '%s' could not be loaded", key);
      return NULL;
    }
  g_hash_table_insert (u->storages, g_strdup (key), bytes);
  return bytes;
}

/* BINPERSID ('storage', StorageClass, key, location, numel[, view metadata]) */
GillValue *
pickle_persistent_load (Unpickler       *u,
                        const GillValue *pid)
{
  const GillValue *tag = pid->kind == GILL_VALUE_TUPLE ? arg (pid, 0) : NULL;
  g_autofree gchar *tag_text = tag && tag->kind == GILL_VALUE_STRING ? gill_value_string_dup (tag) : NULL;
  PickleObject *cls = tag_text ? object_get (arg (pid, 1), OBJ_GLOBAL) : NULL;
  const GillValue *key_value = cls ? arg (pid, 2) : NULL;
  gint64 numel;
  guint64 needed;

  if (u->options->load_storage == NULL)
    {
      pickle_fail (u, GILL_ERROR_UNSUPPORTED, TORCH_WITHOUT_ZIP_ADVICE);
      return NULL;
    }
  if (g_strcmp0 (tag_text, "storage") != 0 || pid->items->len < 5 || cls == NULL
      || cls->global->callable != CALL_STORAGE || key_value->kind != GILL_VALUE_STRING)
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "persistent id at offset %" G_GSIZE_FORMAT " is not "
                   "('storage', torch.XStorage, key, location, numel)", u->op_offset);
      return NULL;
    }
  if (!get_int (u, arg (pid, 4), "the storage size", 0, &numel))
    return NULL;
  g_autofree gchar *key = gill_value_string_dup (key_value);
  GBytes *bytes = storage_bytes (u, key);
  if (bytes == NULL)
    return NULL;
  if (!g_uint64_checked_mul (&needed, numel, gill_dtype_size (cls->dtype)) || needed > g_bytes_get_size (bytes))
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "storage '%s' should hold %" G_GINT64_FORMAT " %s elements "
                   "but has only %" G_GSIZE_FORMAT " bytes; the file is truncated or corrupt", key, numel,
                   gill_dtype_name (cls->dtype), g_bytes_get_size (bytes));
      return NULL;
    }
  PickleObject *storage;
  GillValue *value = object_new (OBJ_STORAGE, cls->global->qualname, &storage);
  storage->dtype = cls->dtype;
  storage->numel = numel;
  storage->bytes = g_bytes_ref (bytes);
  storage->key = g_steal_pointer (&key);
  return value;
}

