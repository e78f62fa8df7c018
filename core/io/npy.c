/* npy.c — reader for numpy .npy files (models.md §4.5; numpy/lib/format.py).
 *
 * Format facts:
 * - magic "\x93NUMPY", then the version as two bytes (major, minor): 1.0, 2.0 or 3.0;
 * - the header length: u16 LE for 1.0, u32 LE for 2.0 and 3.0;
 * - the header: a Python dict literal, ASCII (3.0: UTF-8), with exactly the keys 'descr' (a dtype
 *   string such as '<f4', '|u1', '|b1'; '>' is big-endian, '|O' an object array of pickles),
 *   'fortran_order' (True/False) and 'shape' (a tuple of ints, () for a scalar), padded with
 *   spaces and ended by '\n' so the data starts on a 64-byte (old numpy: 16-byte) boundary;
 * - the data: numel x itemsize raw bytes right after the header, C order, or Fortran order when
 *   fortran_order is True (read here as a view with reversed strides). numpy writes exactly that
 *   many bytes, so any other file size is refused.
 *
 * The header is parsed by hand (no Python): a small recursive-descent reader over the dict-literal
 * subset numpy writes, tolerant of key order, whitespace, trailing commas, either quote and the
 * Python 2 'L' suffix on shape integers.
 */
#include "core/io/npy.h"

#include <stdarg.h>
#include <string.h>

#include "core/base/error.h"

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define DAMAGED       "the file is damaged or not .npy"

/* A position in the header text, for the dict-literal reader. */
typedef struct
{
  const gchar *name;      /* the file, first in every message */
  const gchar *start;     /* the header text */
  const gchar *p;
  const gchar *end;
} Cursor;

/* What the header says. */
typedef struct
{
  gchar *descr;
  gboolean fortran_order;
  gint n_dims;
  gint64 shape[GILL_TENSOR_MAX_DIMS];
} NpyHeader;

static void
npy_header_clear (NpyHeader *header)
{
  g_clear_pointer (&header->descr, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NpyHeader, npy_header_clear)

/* "FILE: MESSAGE" */
G_GNUC_PRINTF (4, 5)
static void
npy_set_error (GError      **error,
               const gchar  *name,
               gint          code,
               const gchar  *format,
               ...)
{
  va_list args;
  va_start (args, format);
  g_autofree gchar *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, GILL_ERROR, code, "%s: %s", name, message);
}

/* "FILE: npy header, offset K: expected X; ..." */
static gboolean
cursor_fail (const Cursor *c,
             const gchar  *expected,
             GError      **error)
{
  npy_set_error (error, c->name, GILL_ERROR_FORMAT, "npy header, offset %" G_GSIZE_FORMAT ": expected %s; %s",
                 (gsize) (c->p - c->start), expected, DAMAGED);
  return FALSE;
}

gboolean
gill_npy_sniff (const guint8 *head,
                gsize         len)
{
  return head != NULL && len >= NPY_MAGIC_LEN && memcmp (head, NPY_MAGIC, NPY_MAGIC_LEN) == 0;
}

/* ---- the dict literal ---- */

static void
cursor_skip_space (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

/* Skip spaces, then consume ch if it is next. */
static gboolean
cursor_take (Cursor *c,
             gchar   ch)
{
  cursor_skip_space (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return TRUE;
    }
  return FALSE;
}

static gboolean
cursor_take_word (Cursor      *c,
                  const gchar *word)
{
  gsize len = strlen (word);
  cursor_skip_space (c);
  if ((gsize) (c->end - c->p) < len || memcmp (c->p, word, len) != 0)
    return FALSE;
  c->p += len;
  return TRUE;
}

/* A Python string literal in ' or "; a backslash takes the next character literally. */
static gchar *
cursor_read_string (Cursor  *c,
                    GError **error)
{
  cursor_skip_space (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    {
      cursor_fail (c, "a quoted string", error);
      return NULL;
    }
  gchar quote = *c->p++;
  g_autoptr (GString) s = g_string_new (NULL);
  while (c->p < c->end && *c->p != quote && *c->p != '\n')
    {
      if (*c->p == '\\' && c->p + 1 < c->end)
        c->p++;
      g_string_append_c (s, *c->p++);
    }
  if (c->p >= c->end || *c->p != quote)
    {
      cursor_fail (c, "the end of a quoted string", error);
      return NULL;
    }
  c->p++;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
cursor_read_bool (Cursor   *c,
                  gboolean *value,
                  GError  **error)
{
  if (cursor_take_word (c, "True"))
    *value = TRUE;
  else if (cursor_take_word (c, "False"))
    *value = FALSE;
  else
    return cursor_fail (c, "True or False for 'fortran_order'", error);
  return TRUE;
}

/* A non-negative decimal integer that fits a gint64, with an optional Python 2 'L' suffix. */
static gboolean
cursor_read_count (Cursor  *c,
                   gint64  *value,
                   GError **error)
{
  guint64 v = 0;
  const gchar *first = c->p;
  while (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      if (!g_uint64_checked_mul (&v, v, 10) || !g_uint64_checked_add (&v, v, (guint64) (*c->p - '0'))
          || v > G_MAXINT64)
        return cursor_fail (c, "a dimension below 2^63", error);
      c->p++;
    }
  if (c->p == first)
    return cursor_fail (c, "a non-negative integer dimension", error);
  if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
    c->p++;
  *value = (gint64) v;
  return TRUE;
}

/* A tuple of dimensions: () scalar, (n,) one dimension, (a, b[,]) more; (n) is an int, not a
 * tuple, in Python, so numpy would refuse it too. */
static gboolean
cursor_read_shape (Cursor    *c,
                   NpyHeader *header,
                   GError   **error)
{
  gboolean comma = FALSE;
  gint n = 0;
  if (!cursor_take (c, '('))
    return cursor_fail (c, "'(' opening the 'shape' tuple", error);
  while (!cursor_take (c, ')'))
    {
      if (n > 0 && !comma)
        return cursor_fail (c, "',' or ')' in the 'shape' tuple", error);
      if (n == GILL_TENSOR_MAX_DIMS)
        {
          npy_set_error (error, c->name, GILL_ERROR_UNSUPPORTED,
                         "the array has more than %d dimensions, which gill does not support",
                         GILL_TENSOR_MAX_DIMS);
          return FALSE;
        }
      if (!cursor_read_count (c, &header->shape[n++], error))
        return FALSE;
      comma = cursor_take (c, ',');
    }
  if (n == 1 && !comma)
    return cursor_fail (c, "a tuple for 'shape', such as (5,)", error);
  header->n_dims = n;
  return TRUE;
}

/* One "'key': value" member; each of the three keys exactly once. */
static gboolean
cursor_read_member (Cursor    *c,
                    NpyHeader *header,
                    guint     *seen,
                    GError   **error)
{
  static const gchar *const keys[] = { "descr", "fortran_order", "shape" };
  g_autofree gchar *key = cursor_read_string (c, error);
  if (key == NULL)
    return FALSE;
  guint k = 0;
  while (k < G_N_ELEMENTS (keys) && !g_str_equal (key, keys[k]))
    k++;
  if (k == G_N_ELEMENTS (keys) || (*seen & (1u << k)))
    return cursor_fail (c, "only the keys 'descr', 'fortran_order' and 'shape', each once", error);
  *seen |= 1u << k;
  if (!cursor_take (c, ':'))
    return cursor_fail (c, "':' after the key", error);
  switch (k)
    {
    case 0:
      cursor_skip_space (c);
      if (c->p < c->end && *c->p == '[')
        {
          npy_set_error (error, c->name, GILL_ERROR_UNSUPPORTED,
                         "the array has a structured dtype, which gill does not support");
          return FALSE;
        }
      return (header->descr = cursor_read_string (c, error)) != NULL;
    case 1:
      return cursor_read_bool (c, &header->fortran_order, error);
    default:
      return cursor_read_shape (c, header, error);
    }
}

/* {'descr': '<f4', 'fortran_order': False, 'shape': (768,), } then spaces and '\n'. */
static gboolean
cursor_read_dict (Cursor    *c,
                  NpyHeader *header,
                  GError   **error)
{
  guint seen = 0;
  if (!cursor_take (c, '{'))
    return cursor_fail (c, "'{' opening the header dict", error);
  gboolean closed = cursor_take (c, '}');
  while (!closed)
    {
      if (!cursor_read_member (c, header, &seen, error))
        return FALSE;
      if (cursor_take (c, ','))
        closed = cursor_take (c, '}'); /* a trailing comma, as numpy writes */
      else if (!(closed = cursor_take (c, '}')))
        return cursor_fail (c, "',' or '}' after a value", error);
    }
  cursor_skip_space (c);
  if (c->p != c->end)
    return cursor_fail (c, "only spaces and a newline after the header dict", error);
  if (seen != 0x7)
    return cursor_fail (c, "all of 'descr', 'fortran_order' and 'shape' in the header", error);
  return TRUE;
}

/* ---- the file ---- */

/* magic, version, header length: the header text is [*start, *start + *len). */
static gboolean
npy_read_prefix (const gchar  *name,
                 const guint8 *data,
                 gsize         size,
                 gsize        *start,
                 gsize        *len,
                 GError      **error)
{
  if (!gill_npy_sniff (data, size))
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT, "no \\x93NUMPY magic at the start; %s", DAMAGED);
      return FALSE;
    }
  if (size < NPY_MAGIC_LEN + 2)
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT, "the file ends inside the version; %s", DAMAGED);
      return FALSE;
    }
  guint major = data[6], minor = data[7];
  if (major < 1 || major > 3 || minor != 0)
    {
      npy_set_error (error, name, GILL_ERROR_UNSUPPORTED,
                     "npy format version %u.%u is not supported (1.0, 2.0 and 3.0 are)", major, minor);
      return FALSE;
    }
  gsize field = major == 1 ? 2 : 4; /* u16 LE in 1.0, u32 LE in 2.0 and 3.0 */
  if (size < 8 + field)
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT, "the file ends inside the header length; %s", DAMAGED);
      return FALSE;
    }
  guint64 n = data[8] | (guint64) data[9] << 8;
  if (field == 4)
    n |= (guint64) data[10] << 16 | (guint64) data[11] << 24;
  *start = 8 + field;
  if (n > size - *start)
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT,
                     "header length %" G_GUINT64_FORMAT " runs past the end of the file (%" G_GSIZE_FORMAT
                     " bytes); the file is truncated or not .npy", n, size);
      return FALSE;
    }
  *len = (gsize) n;
  return TRUE;
}

/* 1.0 and 2.0 headers are ASCII (numpy decodes latin-1 but writes ASCII), 3.0 UTF-8; no NULs. */
static gboolean
npy_check_header_text (const gchar *name,
                       const gchar *text,
                       gsize        len,
                       guint        major,
                       GError     **error)
{
  gboolean ok = memchr (text, '\0', len) == NULL;
  if (ok && major == 3)
    ok = g_utf8_validate_len (text, len, NULL);
  else
    for (gsize i = 0; ok && i < len; i++)
      ok = (guchar) text[i] < 0x80;
  if (!ok)
    npy_set_error (error, name, GILL_ERROR_FORMAT, "the header is not %s text; %s",
                   major == 3 ? "UTF-8" : "ASCII", DAMAGED);
  return ok;
}

/* descr -> dtype: byte order '<' or '=' (native: gill runs on little-endian hosts), or '|' (not
 * applicable) or nothing, then kind and item size. */
static gboolean
npy_parse_descr (const gchar *name,
                 const gchar *descr,
                 GillDType   *dtype,
                 GError     **error)
{
  gboolean has_order = descr[0] != '\0' && strchr ("<>=|", descr[0]) != NULL;
  gchar order = has_order ? descr[0] : '=';
  const gchar *code = has_order ? descr + 1 : descr;

  if (code[0] == 'O')
    {
      npy_set_error (error, name, GILL_ERROR_UNSUPPORTED,
                     "descr '%s' is an object array (pickled Python objects), which gill does not "
                     "load; save the array with a numeric dtype", descr);
      return FALSE;
    }
  GillDType found;
  if (!gill_dtype_from_numpy (code, &found))
    {
      npy_set_error (error, name, GILL_ERROR_UNSUPPORTED,
                     "descr '%s' is not a dtype gill reads (f2, f4, f8, i1-i8, u1-u8, b1)", descr);
      return FALSE;
    }
  if (order == '>' && gill_dtype_size (found) > 1)
    {
      npy_set_error (error, name, GILL_ERROR_UNSUPPORTED,
                     "descr '%s' is big-endian, which gill does not read; save the array "
                     "with arr.astype(arr.dtype.newbyteorder('<'))", descr);
      return FALSE;
    }
  *dtype = found;
  return TRUE;
}

/* The data must be exactly numel x itemsize bytes. */
static gboolean
npy_check_data_size (const gchar     *name,
                     const NpyHeader *header,
                     GillDType        dtype,
                     gsize            available,
                     GError         **error)
{
  g_autofree gchar *shape = gill_shape_string (header->n_dims, header->shape);
  guint64 needed;
  if (!gill_shape_nbytes (header->n_dims, header->shape, gill_dtype_size (dtype), &needed))
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT,
                     "shape %s '%s' is too large to address (2^63 bytes or more); %s",
                     shape, header->descr, DAMAGED);
      return FALSE;
    }
  if (needed != available)
    {
      npy_set_error (error, name, GILL_ERROR_FORMAT,
                     "shape %s '%s' needs %" G_GUINT64_FORMAT " data bytes but the file has %"
                     G_GSIZE_FORMAT " after the header; the file is %s",
                     shape, header->descr, needed, available,
                     needed > available ? "truncated" : "damaged (trailing bytes)");
      return FALSE;
    }
  return TRUE;
}

/* Fortran order: the first dimension varies fastest, so strides grow left to right. */
static void
fortran_strides (gint          n_dims,
                 const gint64 *shape,
                 gint64       *strides)
{
  gint64 step = 1;
  for (gint d = 0; d < n_dims; d++)
    {
      strides[d] = step;
      step *= shape[d] > 0 ? shape[d] : 1;
    }
}

GillTensorList *
gill_npy_open_bytes (GBytes      *bytes,
                     const gchar *name,
                     GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize size = 0, start = 0, len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  if (!npy_read_prefix (name, data, size, &start, &len, error))
    return NULL;
  const gchar *text = (const gchar *) data + start;
  if (!npy_check_header_text (name, text, len, data[6], error))
    return NULL;

  g_auto (NpyHeader) header = { 0 };
  Cursor cursor = { name, text, text, text + len };
  GillDType dtype;
  if (!cursor_read_dict (&cursor, &header, error)
      || !npy_parse_descr (name, header.descr, &dtype, error)
      || !npy_check_data_size (name, &header, dtype, size - start - len, error))
    return NULL;

  gint64 strides[GILL_TENSOR_MAX_DIMS];
  if (header.fortran_order)
    fortran_strides (header.n_dims, header.shape, strides);
  g_autoptr (GillTensor) tensor = gill_tensor_new_view (dtype, header.n_dims, header.shape,
                                                        header.fortran_order ? strides : NULL,
                                                        data + start + len, bytes);
  g_autoptr (GillTensorList) list = gill_tensor_list_new (name, "npy");
  gill_tensor_list_add (list, "", tensor);
  return g_steal_pointer (&list);
}

GillTensorList *
gill_npy_open (const gchar *path,
               GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr (GBytes) bytes = gill_file_map (path, error);
  if (bytes == NULL)
    return NULL;
  return gill_npy_open_bytes (bytes, path, error);
}
