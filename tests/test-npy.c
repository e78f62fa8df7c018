/* test-npy.c — the .npy reader (core/io/npy.c, models.md §4.5).
 *
 * Files are written here byte for byte as numpy's format.py writes them (magic, version, header
 * length, a space-padded dict literal ended by '\n', data), plus the variants older or other
 * writers produce and one file for each way a header can be wrong. */
#include "core/io/npy.h"

#include <glib/gstdio.h>
#include <string.h>

#include "core/base/error.h"

static gchar *tmp_dir;

/* ---- writing small npy files ---- */

/* The whole file: magic, version major.0, header length (u16 LE for 1, u32 LE otherwise), the
 * dict padded with spaces and a '\n' so the data starts at a multiple of align (align 0: the
 * dict as given, no padding, no newline), then the data. */
static GBytes *
npy_bytes (guint         major,
           const gchar  *dict,
           gsize         align,
           gconstpointer data,
           gsize         len)
{
  gsize prefix = major == 1 ? 10 : 12;
  g_autoptr (GString) text = g_string_new (dict);
  if (align > 0)
    {
      while ((prefix + text->len + 1) % align != 0)
        g_string_append_c (text, ' ');
      g_string_append_c (text, '\n');
    }
  GByteArray *file = g_byte_array_new ();
  g_byte_array_append (file, (const guint8 *) "\x93NUMPY", 6);
  guint8 version[2] = { (guint8) major, 0 };
  g_byte_array_append (file, version, 2);
  guint32 n = GUINT32_TO_LE ((guint32) text->len);
  g_byte_array_append (file, (const guint8 *) &n, major == 1 ? 2 : 4);
  g_byte_array_append (file, (const guint8 *) text->str, text->len);
  if (len > 0)
    g_byte_array_append (file, data, (guint) len);
  return g_byte_array_free_to_bytes (file);
}

static gchar *
write_file (const gchar *name,
            GBytes      *bytes)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  return path;
}

/* {'descr': D, 'fortran_order': F, 'shape': S, } as numpy writes it */
static gchar *
npy_dict (const gchar *descr,
          gboolean     fortran,
          const gchar *shape)
{
  return g_strdup_printf ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                          fortran ? "True" : "False", shape);
}

/* Write and open a well-formed file; the array is the list's only tensor, named "". */
static GillTensorList *
open_ok (const gchar  *name,
         guint         major,
         const gchar  *dict,
         gsize         align,
         gconstpointer data,
         gsize         len)
{
  g_autoptr (GBytes) bytes = npy_bytes (major, dict, align, data, len);
  g_autofree gchar *path = write_file (name, bytes);
  g_autoptr (GError) error = NULL;
  GillTensorList *list = gill_npy_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (list);
  g_assert_cmpstr (list->format, ==, "npy");
  g_assert_cmpstr (list->path, ==, path);
  g_assert_cmpuint (list->names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (list->names, 0), ==, "");
  g_assert_nonnull (gill_tensor_list_find (list, ""));
  return list;
}

static GillTensor *
only (const GillTensorList *list)
{
  return g_ptr_array_index (list->tensors, 0);
}

/* ---- well-formed files ---- */

static void
test_v1_f32 (void)
{
  const float v[] = { 0, 1.5f, -2, 3, 4, 5 };
  g_autofree gchar *dict = npy_dict ("<f4", FALSE, "(2, 3)");
  g_autoptr (GillTensorList) list = open_ok ("v1.npy", 1, dict, 64, v, sizeof v);
  GillTensor *t = only (list);
  const gint64 shape[] = { 2, 3 };
  g_assert_cmpint (t->dtype, ==, GILL_DTYPE_F32);
  g_assert_true (gill_tensor_has_shape (t, 2, shape));
  g_assert_true (gill_tensor_is_contiguous (t));
  float got[6];
  gill_tensor_copy_f32 (t, got);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpfloat (got[i], ==, v[i]);
}

/* 2.0 and 3.0 differ from 1.0 only in the u32 header length (and 3.0's UTF-8). */
static void
test_versions (void)
{
  const gint32 v[] = { -1, 2, 7 };
  g_autofree gchar *dict = npy_dict ("<i4", FALSE, "(3,)");
  for (guint major = 1; major <= 3; major++)
    {
      g_autofree gchar *name = g_strdup_printf ("version-%u.npy", major);
      g_autoptr (GillTensorList) list = open_ok (name, major, dict, 64, v, sizeof v);
      gint64 got[3];
      gill_tensor_copy_i64 (only (list), got);
      g_assert_cmpint (got[0], ==, -1);
      g_assert_cmpint (got[2], ==, 7);
    }
}

/* Every descr gill reads, with values at the edges of each range. */
static void
test_all_dtypes (void)
{
  const guint16 f2[] = { GUINT16_TO_LE (0x3c00), GUINT16_TO_LE (0xc000) }; /* 1, -2 */
  const float f4[] = { 1.5f, -2.25f };
  const double f8[] = { 0.1, -1e300 };
  const gint8 i1[] = { -128, 127 };
  const gint16 i2[] = { -300, G_MAXINT16 };
  const gint32 i4[] = { G_MININT32, 5 };
  const gint64 i8[] = { G_MININT64, G_MAXINT64 };
  const guint8 u1[] = { 0, 255 };
  const guint16 u2[] = { G_MAXUINT16, 2 };
  const guint32 u4[] = { G_MAXUINT32, 3 };
  const guint64 u8[] = { G_GUINT64_CONSTANT (1) << 50, 4 };
  const guint8 b1[] = { 1, 0 };
  const struct
  {
    const gchar *descr;
    GillDType dtype;
    gconstpointer data;
    gsize len;
    gint64 i0, i1; /* for the integer types */
    float f0, f1;  /* for f2 and f4 */
  } cases[] = {
    { "<f2", GILL_DTYPE_F16, f2, sizeof f2, 0, 0, 1, -2 },
    { "<f4", GILL_DTYPE_F32, f4, sizeof f4, 0, 0, 1.5f, -2.25f },
    { "<f8", GILL_DTYPE_F64, f8, sizeof f8, 0, 0, 0, 0 },
    { "|i1", GILL_DTYPE_I8, i1, sizeof i1, -128, 127 },
    { "<i2", GILL_DTYPE_I16, i2, sizeof i2, -300, G_MAXINT16 },
    { "<i4", GILL_DTYPE_I32, i4, sizeof i4, G_MININT32, 5 },
    { "<i8", GILL_DTYPE_I64, i8, sizeof i8, G_MININT64, G_MAXINT64 },
    { "|u1", GILL_DTYPE_U8, u1, sizeof u1, 0, 255 },
    { "<u2", GILL_DTYPE_U16, u2, sizeof u2, G_MAXUINT16, 2 },
    { "<u4", GILL_DTYPE_U32, u4, sizeof u4, G_MAXUINT32, 3 },
    { "<u8", GILL_DTYPE_U64, u8, sizeof u8, G_GINT64_CONSTANT (1) << 50, 4 },
    { "|b1", GILL_DTYPE_BOOL, b1, sizeof b1, 1, 0 },
    { "=f4", GILL_DTYPE_F32, f4, sizeof f4, 0, 0, 1.5f, -2.25f },
    { "=i8", GILL_DTYPE_I64, i8, sizeof i8, G_MININT64, G_MAXINT64 },
    { ">u1", GILL_DTYPE_U8, u1, sizeof u1, 0, 255 }, /* byte order means nothing for one byte */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *dict = npy_dict (cases[i].descr, FALSE, "(2,)");
      g_autofree gchar *name = g_strdup_printf ("dtype-%u.npy", i);
      g_autoptr (GillTensorList) list = open_ok (name, 1, dict, 64, cases[i].data, cases[i].len);
      GillTensor *t = only (list);
      g_assert_cmpint (t->dtype, ==, cases[i].dtype);
      g_assert_cmpint (gill_tensor_numel (t), ==, 2);
      g_assert_cmpmem (t->data, cases[i].len, cases[i].data, cases[i].len);
      if (t->dtype == GILL_DTYPE_F64)
        continue; /* compared bytewise above */
      if (gill_dtype_is_float (t->dtype))
        {
          float got[2];
          gill_tensor_copy_f32 (t, got);
          g_assert_cmpfloat (got[0], ==, cases[i].f0);
          g_assert_cmpfloat (got[1], ==, cases[i].f1);
        }
      else
        {
          gint64 got[2];
          gill_tensor_copy_i64 (t, got);
          g_assert_cmpint (got[0], ==, cases[i].i0);
          g_assert_cmpint (got[1], ==, cases[i].i1);
        }
    }
}

/* fortran_order: True stores column-major; the tensor is a strided view that reads in C order. */
static void
test_fortran_order (void)
{
  /* the 2x3 array [[1, 2, 3], [4, 5, 6]] column by column */
  const gint64 v[] = { 1, 4, 2, 5, 3, 6 };
  g_autofree gchar *dict = npy_dict ("<i8", TRUE, "(2, 3)");
  g_autoptr (GillTensorList) list = open_ok ("fortran.npy", 1, dict, 64, v, sizeof v);
  GillTensor *t = only (list);
  g_assert_cmpint (t->strides[0], ==, 1);
  g_assert_cmpint (t->strides[1], ==, 2);
  g_assert_false (gill_tensor_is_contiguous (t));
  gint64 got[6];
  gill_tensor_copy_i64 (t, got);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpint (got[i], ==, i + 1);
}

static void
test_fortran_order_3d (void)
{
  /* a[i][j][k] = 100 i + 10 j + k for shape (2, 3, 2), stored with i fastest, then j, then k */
  gint32 v[12];
  guint n = 0;
  for (gint k = 0; k < 2; k++)
    for (gint j = 0; j < 3; j++)
      for (gint i = 0; i < 2; i++)
        v[n++] = 100 * i + 10 * j + k;
  g_autofree gchar *dict = npy_dict ("<i4", TRUE, "(2, 3, 2)");
  g_autoptr (GillTensorList) list = open_ok ("fortran-3d.npy", 1, dict, 64, v, sizeof v);
  gint64 got[12];
  gill_tensor_copy_i64 (only (list), got);
  n = 0;
  for (gint i = 0; i < 2; i++)
    for (gint j = 0; j < 3; j++)
      for (gint k = 0; k < 2; k++)
        g_assert_cmpint (got[n++], ==, 100 * i + 10 * j + k);
}

static void
test_scalar_and_empty (void)
{
  const double v = 2.5;
  g_autofree gchar *scalar_dict = npy_dict ("<f8", FALSE, "()");
  g_autoptr (GillTensorList) scalar = open_ok ("scalar.npy", 1, scalar_dict, 64, &v, sizeof v);
  g_assert_cmpint (only (scalar)->n_dims, ==, 0);
  g_assert_cmpint (gill_tensor_numel (only (scalar)), ==, 1);
  float got;
  gill_tensor_copy_f32 (only (scalar), &got);
  g_assert_cmpfloat (got, ==, 2.5f);

  g_autofree gchar *empty_dict = npy_dict ("<f4", FALSE, "(0, 5)");
  g_autoptr (GillTensorList) empty = open_ok ("empty.npy", 1, empty_dict, 64, NULL, 0);
  const gint64 shape[] = { 0, 5 };
  g_assert_true (gill_tensor_has_shape (only (empty), 2, shape));
  g_assert_cmpint (gill_tensor_numel (only (empty)), ==, 0);

  g_autofree gchar *fortran_dict = npy_dict ("|u1", TRUE, "(3, 0)");
  g_autoptr (GillTensorList) fortran = open_ok ("empty-fortran.npy", 1, fortran_dict, 64, NULL, 0);
  g_assert_cmpint (gill_tensor_numel (only (fortran)), ==, 0);
}

/* What other writers produce: other quotes, key order, spacing, no trailing comma, Python 2's
 * 'L' suffix, 16-byte alignment (old numpy), no padding at all. */
static void
test_header_variants (void)
{
  const guint16 v[] = { 1, 2, 3, 4 };
  static const struct
  {
    const gchar *dict;
    gsize align;
  } variants[] = {
    { "{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }", 16 },
    { "{\"descr\": \"<u2\", \"fortran_order\": False, \"shape\": (4,)}", 64 },
    { "{'shape': (4,), 'fortran_order': False, 'descr': '<u2'}", 64 },
    { "{ 'descr' : '<u2' ,\t'fortran_order' : False , 'shape' : ( 4 , ) , }", 64 },
    { "{'descr': '<u2', 'fortran_order': False, 'shape': (4L,), }", 64 },
    { "{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 2L), }", 64 },
    { "{'descr':'<u2','fortran_order':False,'shape':(4,)}", 0 },
    { "{'descr': 'u2', 'fortran_order': False, 'shape': (4,)}", 64 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree gchar *name = g_strdup_printf ("variant-%u.npy", i);
      g_autoptr (GillTensorList) list = open_ok (name, 1, variants[i].dict, variants[i].align, v, sizeof v);
      GillTensor *t = only (list);
      g_assert_cmpint (t->dtype, ==, GILL_DTYPE_U16);
      g_assert_cmpint (gill_tensor_numel (t), ==, 4);
      gint64 got[4];
      gill_tensor_copy_i64 (t, got);
      g_assert_cmpint (got[3], ==, 4);
    }
}

/* An unpadded header puts the data anywhere: read in place, unaligned. */
static void
test_unaligned (void)
{
  const float v[] = { 0.25f, -8 };
  const gchar *dict = "{'descr':'<f4','fortran_order':False,'shape':(2,)} ";
  g_autoptr (GillTensorList) list = open_ok ("unaligned.npy", 1, dict, 0, v, sizeof v);
  GillTensor *t = only (list);
  g_assert_cmpuint ((10 + strlen (dict)) % 4, !=, 0);
  g_assert_cmpuint ((guintptr) t->data % 4, !=, 0);
  float got[2];
  gill_tensor_copy_f32 (t, got);
  g_assert_cmpfloat (got[0], ==, 0.25f);
  g_assert_cmpfloat (got[1], ==, -8);
}

/* The tensor points into the bytes given and keeps them alive. */
static void
test_views_in_place (void)
{
  const gint16 v[] = { 9, -9 };
  g_autofree gchar *dict = npy_dict ("<i2", FALSE, "(2,)");
  GBytes *bytes = npy_bytes (1, dict, 64, v, sizeof v);
  gsize size;
  const guint8 *base = g_bytes_get_data (bytes, &size);
  g_autoptr (GError) error = NULL;
  GillTensorList *list = gill_npy_open_bytes (bytes, "in-memory.npy", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (list->path, ==, "in-memory.npy");
  g_autoptr (GillTensor) t = gill_tensor_ref (only (list));
  g_assert_true (t->owner == bytes);
  g_assert_true (t->data == base + size - sizeof v);
  g_assert_cmpuint ((gsize) (t->data - base) % 64, ==, 0); /* numpy's alignment, kept */
  gill_tensor_list_free (list);
  g_bytes_unref (bytes);
  gint64 got[2];
  gill_tensor_copy_i64 (t, got);
  g_assert_cmpint (got[1], ==, -9);
}

static void
test_sniff (void)
{
  g_assert_true (gill_npy_sniff ((const guint8 *) "\x93NUMPY\x01\x00", 8));
  g_assert_true (gill_npy_sniff ((const guint8 *) "\x93NUMPY", 6));
  g_assert_false (gill_npy_sniff ((const guint8 *) "\x93NUMP", 5));
  g_assert_false (gill_npy_sniff ((const guint8 *) "\x92NUMPY\x01\x00", 8));
  g_assert_false (gill_npy_sniff ((const guint8 *) "PK\x03\x04\0\0\0\0", 8));
}

static void
test_missing_file (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "no-such.npy", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_npy_open (path, &error);
  g_assert_null (list);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, path));
}

/* ---- every error path: one file each, a code and words the message must contain ---- */

typedef struct
{
  const gchar *path;   /* /npy/<behaviour> */
  const gchar *dict;   /* NULL: raw is the whole file */
  guint major;
  gsize data_len;      /* zero bytes after the header */
  const gchar *raw;
  gsize raw_len;
  GillError code;
  const gchar *says;
} BadCase;

#define DICT(descr, fortran, shape) "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

static const BadCase bad_cases[] = {
  { "/npy/empty-file", NULL, 0, 0, "", 0, GILL_ERROR_FORMAT, "no \\x93NUMPY magic" },
  { "/npy/bad-magic", NULL, 0, 0, "\x93NUMPZ\x01\x00\x00\x00", 10, GILL_ERROR_FORMAT, "no \\x93NUMPY magic" },
  { "/npy/truncated-magic", NULL, 0, 0, "\x93NUM", 4, GILL_ERROR_FORMAT, "no \\x93NUMPY magic" },
  { "/npy/truncated-version", NULL, 0, 0, "\x93NUMPY\x01", 7, GILL_ERROR_FORMAT, "ends inside the version" },
  { "/npy/truncated-length", NULL, 0, 0, "\x93NUMPY\x02\x00\x10\x00", 10, GILL_ERROR_FORMAT,
    "ends inside the header length" },
  { "/npy/bad-version", NULL, 0, 0, "\x93NUMPY\x04\x00\x00\x00", 10, GILL_ERROR_UNSUPPORTED, "version 4.0" },
  { "/npy/bad-minor-version", NULL, 0, 0, "\x93NUMPY\x01\x01\x00\x00", 10, GILL_ERROR_UNSUPPORTED, "version 1.1" },
  { "/npy/header-past-end", NULL, 0, 0, "\x93NUMPY\x01\x00\x00\x01{}", 12, GILL_ERROR_FORMAT,
    "header length 256 runs past the end of the file (12 bytes)" },
  { "/npy/not-a-dict", "['<f4', False, (2,)]", 1, 8, NULL, 0, GILL_ERROR_FORMAT, "expected '{'" },
  { "/npy/missing-comma", "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", 1, 8, NULL, 0,
    GILL_ERROR_FORMAT, "expected ',' or '}'" },
  { "/npy/missing-colon", "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", 1, 8, NULL, 0,
    GILL_ERROR_FORMAT, "expected ':'" },
  { "/npy/unquoted-key", "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}", 1, 8, NULL, 0,
    GILL_ERROR_FORMAT, "expected a quoted string" },
  { "/npy/unterminated-string", "{'descr': '<f4", 1, 8, NULL, 0, GILL_ERROR_FORMAT, "end of a quoted string" },
  { "/npy/unclosed-dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 1, 8, NULL, 0,
    GILL_ERROR_FORMAT, "expected ',' or '}'" },
  { "/npy/trailing-junk", DICT ("<f4", "False", "(2,)") " x", 1, 8, NULL, 0, GILL_ERROR_FORMAT,
    "only spaces and a newline after" },
  { "/npy/missing-key", "{'descr': '<f4', 'shape': (2,), }", 1, 8, NULL, 0, GILL_ERROR_FORMAT,
    "all of 'descr', 'fortran_order' and 'shape'" },
  { "/npy/extra-key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 1, 8, NULL, 0,
    GILL_ERROR_FORMAT, "only the keys" },
  { "/npy/duplicate-key", "{'descr': '<f4', 'shape': (2,), 'fortran_order': False, 'shape': (2,)}", 1, 8, NULL,
    0, GILL_ERROR_FORMAT, "each once" },
  { "/npy/bad-bool", DICT ("<f4", "false", "(2,)"), 1, 8, NULL, 0, GILL_ERROR_FORMAT, "True or False" },
  { "/npy/object", DICT ("|O", "False", "(1,)"), 1, 8, NULL, 0, GILL_ERROR_UNSUPPORTED, "object array" },
  { "/npy/big-endian", DICT (">f4", "False", "(2,)"), 1, 8, NULL, 0, GILL_ERROR_UNSUPPORTED,
    "descr '>f4' is big-endian" },
  { "/npy/big-endian-v3", DICT (">i8", "False", "(1,)"), 3, 8, NULL, 0, GILL_ERROR_UNSUPPORTED, "big-endian" },
  { "/npy/complex", DICT ("<c8", "False", "(1,)"), 1, 8, NULL, 0, GILL_ERROR_UNSUPPORTED, "descr '<c8'" },
  { "/npy/float128", DICT ("<f16", "False", "(1,)"), 1, 16, NULL, 0, GILL_ERROR_UNSUPPORTED, "descr '<f16'" },
  { "/npy/unicode", DICT ("<U3", "False", "(1,)"), 1, 12, NULL, 0, GILL_ERROR_UNSUPPORTED, "descr '<U3'" },
  { "/npy/empty-descr", DICT ("", "False", "(1,)"), 1, 4, NULL, 0, GILL_ERROR_UNSUPPORTED, "descr ''" },
  { "/npy/structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 1, 8, NULL, 0,
    GILL_ERROR_UNSUPPORTED, "structured dtype" },
  { "/npy/negative-shape", DICT ("<f4", "False", "(-2,)"), 1, 8, NULL, 0, GILL_ERROR_FORMAT,
    "non-negative integer dimension" },
  { "/npy/float-shape", DICT ("<f4", "False", "(2.0,)"), 1, 8, NULL, 0, GILL_ERROR_FORMAT, "',' or ')'" },
  { "/npy/shape-not-tuple", DICT ("<f4", "False", "(2)"), 1, 8, NULL, 0, GILL_ERROR_FORMAT, "a tuple for 'shape'" },
  { "/npy/shape-list", DICT ("<f4", "False", "[2]"), 1, 8, NULL, 0, GILL_ERROR_FORMAT, "'(' opening" },
  { "/npy/shape-huge", DICT ("<f4", "False", "(9223372036854775808,)"), 1, 0, NULL, 0, GILL_ERROR_FORMAT,
    "below 2^63" },
  { "/npy/shape-overflow", DICT ("<f4", "False", "(4294967296, 4294967296)"), 1, 0, NULL, 0, GILL_ERROR_FORMAT,
    "too large to address" },
  { "/npy/too-many-dims", DICT ("|u1", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 1, 1, NULL, 0,
    GILL_ERROR_UNSUPPORTED, "more than 8 dimensions" },
  { "/npy/truncated-data", DICT ("<f4", "False", "(2, 3)"), 1, 20, NULL, 0, GILL_ERROR_FORMAT,
    "shape [2, 3] '<f4' needs 24 data bytes but the file has 20 after the header; the file is truncated" },
  { "/npy/trailing-data", DICT ("<f4", "False", "(2, 3)"), 1, 28, NULL, 0, GILL_ERROR_FORMAT,
    "needs 24 data bytes but the file has 28" },
  { "/npy/non-ascii-header", DICT ("<f4", "False", "(2,)") "\xc3\xa9", 1, 8, NULL, 0, GILL_ERROR_FORMAT,
    "not ASCII" },
  { "/npy/non-utf8-header-v3", DICT ("<f4", "False", "(2,)") "\xc3", 3, 8, NULL, 0, GILL_ERROR_FORMAT,
    "not UTF-8" },
  { "/npy/nul-in-header", NULL, 0, 0, "\x93NUMPY\x01\x00\x02\x00{\0", 12, GILL_ERROR_FORMAT, "not ASCII" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree gchar *name = g_strconcat (strrchr (c->path, '/') + 1, ".npy", NULL);
  g_autoptr (GBytes) bytes = NULL;
  if (c->dict != NULL)
    {
      g_autofree guint8 *zeros = g_malloc0 (c->data_len + 1);
      bytes = npy_bytes (c->major, c->dict, 64, zeros, c->data_len);
    }
  else
    bytes = g_bytes_new (c->raw, c->raw_len);
  g_autofree gchar *path = write_file (name, bytes);

  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_npy_open (path, &error);
  g_assert_null (list);
  g_assert_error (error, GILL_ERROR, (gint) c->code);
  g_autofree gchar *prefix = g_strconcat (path, ": ", NULL);
  if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, c->says) == NULL)
    g_error ("message \"%s\" should start with \"%s\" and contain \"%s\"", error->message, prefix, c->says);
}

static void
remove_tmp_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const gchar *entry;
  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (tmp_dir, entry, NULL);
      g_unlink (path);
    }
  g_rmdir (tmp_dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmp_dir = g_dir_make_tmp ("gill-test-npy-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/npy/v1-f32", test_v1_f32);
  g_test_add_func ("/npy/versions", test_versions);
  g_test_add_func ("/npy/all-dtypes", test_all_dtypes);
  g_test_add_func ("/npy/fortran-order", test_fortran_order);
  g_test_add_func ("/npy/fortran-order-3d", test_fortran_order_3d);
  g_test_add_func ("/npy/scalar-and-empty", test_scalar_and_empty);
  g_test_add_func ("/npy/header-variants", test_header_variants);
  g_test_add_func ("/npy/unaligned", test_unaligned);
  g_test_add_func ("/npy/views-in-place", test_views_in_place);
  g_test_add_func ("/npy/sniff", test_sniff);
  g_test_add_func ("/npy/missing-file", test_missing_file);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_test_add_data_func (bad_cases[i].path, &bad_cases[i], test_bad);

  int status = g_test_run ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return status;
}
