/* test-safetensors.c — the safetensors reader (core/io/safetensors.c, models.md §4.1).
 *
 * The fixture file io/tensors.safetensors (written by the fixtures' Python safetensors writer) is
 * read and every value compared with the float32/int64 goldens the fixtures carry for it; small
 * files written here cover every dtype, unaligned data, unpadded headers and each way a header can
 * be wrong. */
#include "core/io/safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

#include "core/base/error.h"

static gchar *tmp_dir;

/* ---- writing small safetensors files ---- */

typedef struct
{
  GString *header;  /* members so far, without the braces */
  GByteArray *data;
} StBuilder;

static StBuilder *
st_builder_new (void)
{
  StBuilder *b = g_new0 (StBuilder, 1);
  b->header = g_string_new (NULL);
  b->data = g_byte_array_new ();
  return b;
}

static void
st_builder_free (StBuilder *b)
{
  g_string_free (b->header, TRUE);
  g_byte_array_unref (b->data);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StBuilder, st_builder_free)

/* name -> {"dtype", "shape", "data_offsets"} over the next len bytes of data */
static void
st_builder_add (StBuilder    *b,
                const gchar  *name,
                const gchar  *dtype,
                const gchar  *shape_json,
                gconstpointer bytes,
                gsize         len)
{
  g_string_append_printf (b->header, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%u,%u]}",
                          b->header->len ? "," : "", name, dtype, shape_json, b->data->len,
                          (guint) (b->data->len + len));
  g_byte_array_append (b->data, bytes, (guint) len);
}

static gchar *
write_file (const gchar  *name,
            gconstpointer bytes,
            gsize         len)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, bytes, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

/* The whole file: u64 LE N, the JSON header, then the data. The header gets trailing spaces
 * until (8 + N) % 8 == residue; residue < 0 writes it unpadded. */
static GBytes *
st_bytes (const gchar  *header,
          gint          residue,
          gconstpointer data,
          gsize         len)
{
  g_autoptr (GString) text = g_string_new (header);
  while (residue >= 0 && (8 + text->len) % 8 != (gsize) residue)
    g_string_append_c (text, ' ');
  guint64 n = GUINT64_TO_LE ((guint64) text->len);
  GByteArray *file = g_byte_array_new ();
  g_byte_array_append (file, (const guint8 *) &n, 8);
  g_byte_array_append (file, (const guint8 *) text->str, text->len);
  if (len > 0)
    g_byte_array_append (file, data, (guint) len);
  return g_byte_array_free_to_bytes (file);
}

static gchar *
st_builder_write (StBuilder   *b,
                  const gchar *name,
                  gint         residue)
{
  g_autofree gchar *header = g_strdup_printf ("{%s}", b->header->str);
  g_autoptr (GBytes) bytes = st_bytes (header, residue, b->data->data, b->data->len);
  return write_file (name, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static GillTensorList *
open_ok (const gchar *path)
{
  g_autoptr (GError) error = NULL;
  GillTensorList *list = gill_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (list);
  return list;
}

static GillTensor *
find (const GillTensorList *list,
      const gchar          *name)
{
  GillTensor *t = gill_tensor_list_find (list, name);
  if (t == NULL)
    g_error ("tensor '%s' not in %s", name, list->path);
  return t;
}

/* ---- the fixture file ---- */

static gchar *
fixture_path (const gchar *name)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  if (root == NULL)
    return NULL;
  gchar *path = g_build_filename (root, "io", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&path, g_free);
  return path;
}

/* Tensors of io/tensors.safetensors in file (offset) order, with dtype and shape. */
static const struct
{
  const gchar *name;
  GillDType dtype;
  gint n_dims;
  gint64 shape[2];
} fixture_tensors[] = {
  { "f64", GILL_DTYPE_F64, 2, { 2, 2 } },   { "i64", GILL_DTYPE_I64, 2, { 3, 4 } },
  { "empty", GILL_DTYPE_F32, 2, { 0, 4 } }, { "f32", GILL_DTYPE_F32, 2, { 3, 4 } },
  { "i32", GILL_DTYPE_I32, 1, { 5 } },      { "scalar", GILL_DTYPE_F32, 0, { 0 } },
  { "view_offset", GILL_DTYPE_F32, 2, { 4, 3 } }, { "bf16", GILL_DTYPE_BF16, 2, { 2, 3 } },
  { "f16", GILL_DTYPE_F16, 1, { 7 } },      { "bool", GILL_DTYPE_BOOL, 1, { 3 } },
  { "i8", GILL_DTYPE_I8, 1, { 5 } },        { "u8", GILL_DTYPE_U8, 1, { 6 } },
};

static void
test_fixture_layout (void)
{
  g_autofree gchar *path = fixture_path ("tensors.safetensors");
  if (path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/io/tensors.safetensors not found");
      return;
    }
  g_autoptr (GillTensorList) list = open_ok (path);
  g_assert_cmpstr (list->format, ==, "safetensors");
  g_assert_cmpstr (list->path, ==, path);
  g_assert_cmpuint (list->names->len, ==, G_N_ELEMENTS (fixture_tensors));
  for (guint i = 0; i < G_N_ELEMENTS (fixture_tensors); i++)
    {
      GillTensor *t = g_ptr_array_index (list->tensors, i);
      g_assert_cmpstr (g_ptr_array_index (list->names, i), ==, fixture_tensors[i].name);
      g_assert_cmpint (t->dtype, ==, fixture_tensors[i].dtype);
      g_assert_true (gill_tensor_has_shape (t, fixture_tensors[i].n_dims, fixture_tensors[i].shape));
      g_assert_true (gill_tensor_is_contiguous (t));
      g_assert_nonnull (t->owner);
    }
  g_assert_cmpuint (g_hash_table_size (list->metadata), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (list->metadata, "format"), ==, "pt");
  g_assert_cmpstr (g_hash_table_lookup (list->metadata, "note"), ==, "shared");
}

/* Every tensor equals the golden "st.<name>" (float32 for floats, int64 otherwise), exactly. */
static void
test_fixture_values (void)
{
  g_autofree gchar *path = fixture_path ("tensors.safetensors");
  g_autofree gchar *golden_path = fixture_path ("golden.safetensors");
  if (path == NULL || golden_path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/io fixtures not found");
      return;
    }
  g_autoptr (GillTensorList) list = open_ok (path);
  g_autoptr (GillTensorList) golden = open_ok (golden_path);
  for (guint i = 0; i < list->names->len; i++)
    {
      const gchar *name = g_ptr_array_index (list->names, i);
      GillTensor *t = g_ptr_array_index (list->tensors, i);
      g_autofree gchar *key = g_strconcat ("st.", name, NULL);
      GillTensor *g = find (golden, key);
      gint64 n = gill_tensor_numel (t);
      g_assert_cmpint (n, ==, gill_tensor_numel (g));
      g_assert_true (gill_tensor_has_shape (g, t->n_dims, t->shape));
      if (gill_dtype_is_float (t->dtype))
        {
          g_assert_cmpint (g->dtype, ==, GILL_DTYPE_F32);
          g_autofree float *got = g_new0 (float, MAX (n, 1));
          g_autofree float *want = g_new0 (float, MAX (n, 1));
          gill_tensor_copy_f32 (t, got);
          gill_tensor_copy_f32 (g, want);
          for (gint64 k = 0; k < n; k++)
            g_assert_cmpfloat (got[k], ==, want[k]);
        }
      else
        {
          g_assert_cmpint (g->dtype, ==, GILL_DTYPE_I64);
          g_autofree gint64 *got = g_new0 (gint64, MAX (n, 1));
          g_autofree gint64 *want = g_new0 (gint64, MAX (n, 1));
          gill_tensor_copy_i64 (t, got);
          gill_tensor_copy_i64 (g, want);
          for (gint64 k = 0; k < n; k++)
            g_assert_cmpint (got[k], ==, want[k]);
        }
    }
}

/* A few values spelled out, so the test does not only compare the reader with itself. */
static void
test_fixture_spot_values (void)
{
  g_autofree gchar *path = fixture_path ("tensors.safetensors");
  if (path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/io/tensors.safetensors not found");
      return;
    }
  g_autoptr (GillTensorList) list = open_ok (path);
  gint64 i8[5], u8[6], b[3], i64[12], i32[5];
  float scalar, bf16[6], f16[7], f32[12];
  double f64[4];

  gill_tensor_copy_i64 (find (list, "i8"), i8);
  gill_tensor_copy_i64 (find (list, "u8"), u8);
  gill_tensor_copy_i64 (find (list, "bool"), b);
  gill_tensor_copy_i64 (find (list, "i64"), i64);
  gill_tensor_copy_i64 (find (list, "i32"), i32);
  gill_tensor_copy_f32 (find (list, "scalar"), &scalar);
  gill_tensor_copy_f32 (find (list, "bf16"), bf16);
  gill_tensor_copy_f32 (find (list, "f16"), f16);
  gill_tensor_copy_f32 (find (list, "f32"), f32);
  memcpy (f64, find (list, "f64")->data, sizeof f64);

  const gint64 want_i8[] = { -128, -1, 0, 1, 127 };
  for (guint k = 0; k < 5; k++)
    g_assert_cmpint (i8[k], ==, want_i8[k]);
  for (guint k = 0; k < 6; k++)
    g_assert_cmpint (u8[k], ==, 250 + k);
  g_assert_cmpint (b[0], ==, 1);
  g_assert_cmpint (b[1], ==, 0);
  g_assert_cmpint (b[2], ==, 1);
  for (guint k = 0; k < 12; k++)
    g_assert_cmpint (i64[k], ==, (gint64) k - 3);
  for (guint k = 0; k < 5; k++)
    g_assert_cmpint (i32[k], ==, 7 * k);
  g_assert_cmpfloat (scalar, ==, 3.25f);
  g_assert_cmpfloat (bf16[0], ==, 0.2109375f);
  g_assert_cmpfloat (bf16[5], ==, -0.75390625f);
  g_assert_cmpfloat (f16[2], ==, 1.431640625f);
  g_assert_cmpfloat (f16[0], ==, -0.02606201171875f);
  g_assert_cmpfloat (f32[0], ==, -1.4096933603286743f);
  g_assert_cmpfloat (f64[0], ==, 0.14268267154693604);
  g_assert_cmpfloat (f64[2], ==, -1.9925967454910278);
}

static void
test_fixture_zero_dims (void)
{
  g_autofree gchar *path = fixture_path ("tensors.safetensors");
  if (path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/io/tensors.safetensors not found");
      return;
    }
  g_autoptr (GillTensorList) list = open_ok (path);
  GillTensor *scalar = find (list, "scalar");
  GillTensor *empty = find (list, "empty");
  g_assert_cmpint (scalar->n_dims, ==, 0);
  g_assert_cmpint (gill_tensor_numel (scalar), ==, 1);
  g_assert_cmpuint (gill_tensor_nbytes (scalar), ==, 4);
  g_assert_cmpint (empty->n_dims, ==, 2);
  g_assert_cmpint (gill_tensor_numel (empty), ==, 0);
  g_assert_cmpuint (gill_tensor_nbytes (empty), ==, 0);
}

/* ---- synthetic files ---- */

/* One tensor of every dtype, values at the edges of each range. */
static gchar *
write_all_dtypes (const gchar *name,
                  gint         residue)
{
  g_autoptr (StBuilder) b = st_builder_new ();
  const float f32[] = { 1.5f, -2.25f };
  const guint16 f16[] = { GUINT16_TO_LE (0x3c00), GUINT16_TO_LE (0xc000) };   /* 1, -2 */
  const guint16 bf16[] = { GUINT16_TO_LE (0x3fc0), GUINT16_TO_LE (0xc080) };  /* 1.5, -4 */
  const double f64[] = { 0.1, -1e300 };
  const gint64 i64[] = { -5, G_MAXINT64 };
  const gint32 i32[] = { -7, G_MAXINT32 };
  const gint16 i16[] = { -300, G_MAXINT16 };
  const gint8 i8[] = { -128, 127 };
  const guint8 u8[] = { 0, 255 };
  const guint8 bools[] = { 1, 0 };
  const guint16 u16[] = { G_MAXUINT16, 1 };
  const guint32 u32[] = { G_MAXUINT32, 2 };
  const guint64 u64[] = { G_GUINT64_CONSTANT (1) << 40, 3 };
  st_builder_add (b, "f32", "F32", "[2]", f32, sizeof f32);
  st_builder_add (b, "f16", "F16", "[2]", f16, sizeof f16);
  st_builder_add (b, "bf16", "BF16", "[2]", bf16, sizeof bf16);
  st_builder_add (b, "f64", "F64", "[2]", f64, sizeof f64);
  st_builder_add (b, "i64", "I64", "[2]", i64, sizeof i64);
  st_builder_add (b, "i32", "I32", "[2]", i32, sizeof i32);
  st_builder_add (b, "i16", "I16", "[2]", i16, sizeof i16);
  st_builder_add (b, "i8", "I8", "[2]", i8, sizeof i8);
  st_builder_add (b, "u8", "U8", "[2]", u8, sizeof u8);
  st_builder_add (b, "bool", "BOOL", "[2]", bools, sizeof bools);
  st_builder_add (b, "u16", "U16", "[1, 2]", u16, sizeof u16);
  st_builder_add (b, "u32", "U32", "[2, 1]", u32, sizeof u32);
  st_builder_add (b, "u64", "U64", "[2]", u64, sizeof u64);
  return st_builder_write (b, name, residue);
}

static void
check_all_dtypes (const GillTensorList *list)
{
  static const struct
  {
    const gchar *name;
    GillDType dtype;
    double v0, v1; /* as f32 for floats, i64 for the rest */
  } want[] = {
    { "f32", GILL_DTYPE_F32, 1.5, -2.25 },     { "f16", GILL_DTYPE_F16, 1, -2 },
    { "bf16", GILL_DTYPE_BF16, 1.5, -4 },      { "f64", GILL_DTYPE_F64, 0.1, -1e300 },
    { "i64", GILL_DTYPE_I64, -5, 0 },          { "i32", GILL_DTYPE_I32, -7, G_MAXINT32 },
    { "i16", GILL_DTYPE_I16, -300, G_MAXINT16 }, { "i8", GILL_DTYPE_I8, -128, 127 },
    { "u8", GILL_DTYPE_U8, 0, 255 },           { "bool", GILL_DTYPE_BOOL, 1, 0 },
    { "u16", GILL_DTYPE_U16, G_MAXUINT16, 1 }, { "u32", GILL_DTYPE_U32, G_MAXUINT32, 2 },
    { "u64", GILL_DTYPE_U64, 1099511627776.0, 3 },
  };
  g_assert_cmpuint (list->names->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      GillTensor *t = g_ptr_array_index (list->tensors, i);
      g_assert_cmpstr (g_ptr_array_index (list->names, i), ==, want[i].name);
      g_assert_cmpint (t->dtype, ==, want[i].dtype);
      g_assert_cmpint (gill_tensor_numel (t), ==, 2);
      if (t->dtype == GILL_DTYPE_F64)
        {
          double v[2];
          memcpy (v, t->data, sizeof v);
          g_assert_cmpfloat (v[0], ==, want[i].v0);
          g_assert_cmpfloat (v[1], ==, want[i].v1);
        }
      else if (gill_dtype_is_float (t->dtype))
        {
          float v[2];
          gill_tensor_copy_f32 (t, v);
          g_assert_cmpfloat (v[0], ==, (float) want[i].v0);
          g_assert_cmpfloat (v[1], ==, (float) want[i].v1);
        }
      else
        {
          gint64 v[2];
          gill_tensor_copy_i64 (t, v);
          g_assert_cmpint (v[0], ==, (gint64) want[i].v0);
          if (t->dtype == GILL_DTYPE_I64)
            g_assert_cmpint (v[1], ==, G_MAXINT64);
          else
            g_assert_cmpint (v[1], ==, (gint64) want[i].v1);
        }
    }
}

static void
test_all_dtypes (void)
{
  g_autofree gchar *path = write_all_dtypes ("all-dtypes.safetensors", 0);
  g_autoptr (GillTensorList) list = open_ok (path);
  check_all_dtypes (list);
}

/* Old writers did not pad the header: data starts anywhere, and is read in place. */
static void
test_unaligned (void)
{
  g_autofree gchar *path = write_all_dtypes ("unaligned.safetensors", 3);
  g_autoptr (GillTensorList) list = open_ok (path);
  check_all_dtypes (list);
  GillTensor *t = find (list, "f32");
  g_assert_cmpuint ((guintptr) t->data % 4, !=, 0);
}

static void
test_unpadded_header (void)
{
  g_autoptr (StBuilder) b = st_builder_new ();
  const gint32 v[] = { 10, 20, 30 };
  st_builder_add (b, "abc", "I32", "[3]", v, sizeof v);
  g_autofree gchar *path = st_builder_write (b, "unpadded.safetensors", -1);
  g_autoptr (GillTensorList) list = open_ok (path);
  gint64 got[3];
  gill_tensor_copy_i64 (find (list, "abc"), got);
  g_assert_cmpint (got[0], ==, 10);
  g_assert_cmpint (got[2], ==, 30);
  g_assert_cmpuint (g_hash_table_size (list->metadata), ==, 0);
}

/* Entries listed out of order in the header come back in file (offset) order. */
static void
test_offset_order (void)
{
  const gchar *header = "{\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
                        "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                        "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                        "\"__metadata__\":{\"k\":\"v\"},"
                        "\"b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[3,4]}}";
  const guint8 data[] = { 1, 2, 3, 4 };
  g_autoptr (GBytes) bytes = st_bytes (header, 0, data, sizeof data);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_safetensors_open_bytes (bytes, "order.safetensors", &error);
  g_assert_no_error (error);
  const gchar *order[] = { "z", "a", "c", "b" };
  g_assert_cmpuint (list->names->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpstr (g_ptr_array_index (list->names, i), ==, order[i]);
  g_assert_cmpstr (g_hash_table_lookup (list->metadata, "k"), ==, "v");
  g_assert_cmpstr (list->path, ==, "order.safetensors");
}

/* Tensors point into the bytes given (no copy) and keep them alive. */
static void
test_views_in_place (void)
{
  const gchar *header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  const float data[] = { 0.5f, 4.0f };
  GBytes *bytes = st_bytes (header, 0, data, sizeof data);
  gsize size;
  const guint8 *base = g_bytes_get_data (bytes, &size);
  g_autoptr (GError) error = NULL;
  GillTensorList *list = gill_safetensors_open_bytes (bytes, "views.safetensors", &error);
  g_assert_no_error (error);
  g_autoptr (GillTensor) t = gill_tensor_ref (find (list, "x"));
  g_assert_true (t->owner == bytes);
  g_assert_true (t->data == base + size - sizeof data);
  gill_tensor_list_free (list);
  g_bytes_unref (bytes);
  float got[2];
  gill_tensor_copy_f32 (t, got); /* still alive through the tensor's reference */
  g_assert_cmpfloat (got[1], ==, 4.0f);
}

/* A file on disk is mapped: the owner is the mapping, the data lies inside it. */
static void
test_mapped (void)
{
  g_autofree gchar *path = write_all_dtypes ("mapped.safetensors", 0);
  GillTensorList *list = open_ok (path);
  g_autoptr (GillTensor) t = gill_tensor_ref (find (list, "u64"));
  gsize size;
  const guint8 *base = g_bytes_get_data (t->owner, &size);
  g_assert_true (t->data >= base && t->data + 16 == base + size);
  gill_tensor_list_free (list);
  gint64 got[2];
  gill_tensor_copy_i64 (t, got);
  g_assert_cmpint (got[0], ==, G_GINT64_CONSTANT (1) << 40);
}

static void
test_empty_header (void)
{
  g_autoptr (GBytes) bytes = st_bytes ("{}", 0, NULL, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_safetensors_open_bytes (bytes, "empty.safetensors", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->names->len, ==, 0);
}

static void
test_sniff (void)
{
  g_autoptr (GBytes) good = st_bytes ("{}", 0, NULL, 0);
  gsize len;
  const guint8 *head = g_bytes_get_data (good, &len);
  g_assert_true (gill_safetensors_sniff (head, len));
  g_assert_false (gill_safetensors_sniff (head, 8));
  g_assert_false (gill_safetensors_sniff ((const guint8 *) "\x10\0\0\0\0\0\0\0[", 9));
  g_assert_false (gill_safetensors_sniff ((const guint8 *) "\0\0\0\0\0\0\0\x80{", 9));
  g_assert_false (gill_safetensors_sniff ((const guint8 *) "PK\x03\x04\0\0\0\0\0", 9));
  g_assert_false (gill_safetensors_sniff ((const guint8 *) "\x93NUMPY\1\0v\0{", 12));
}

static void
test_missing_file (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "no-such.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_safetensors_open (path, &error);
  g_assert_null (list);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, path));
}

/* ---- every error path: one file each, a code and words the message must contain ---- */

typedef struct
{
  const gchar *path;     /* /safetensors/<behaviour> */
  const gchar *header;   /* JSON, padded to 8; NULL: raw is the whole file */
  gsize data_len;        /* zero bytes after the header */
  const gchar *raw;
  gsize raw_len;
  GillError code;
  const gchar *says;     /* a substring of the message after the file name */
} BadCase;

#define ENTRY(name, dtype, shape, begin, end) \
  "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #begin "," #end "]}"

static const BadCase bad_cases[] = {
  { "/safetensors/empty-file", NULL, 0, "", 0, GILL_ERROR_FORMAT, "0 bytes" },
  { "/safetensors/truncated-length", NULL, 0, "\x08\0\0\0", 4, GILL_ERROR_FORMAT, "shorter than the 8-byte" },
  { "/safetensors/header-past-end", NULL, 0, "\x40\0\0\0\0\0\0\0{}      ", 16, GILL_ERROR_FORMAT,
    "header length 64 runs past the end of the file (16 bytes)" },
  { "/safetensors/header-too-large", NULL, 0, "\x01\xe1\xf5\x05\0\0\0\0{}      ", 16, GILL_ERROR_FORMAT,
    "header length 100000001 exceeds the limit" },
  { "/safetensors/header-absurd", NULL, 0, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, GILL_ERROR_FORMAT,
    "exceeds the limit" },
  { "/safetensors/no-brace", " {}", 0, NULL, 0, GILL_ERROR_FORMAT, "does not start with '{'" },
  { "/safetensors/header-array", "[]", 0, NULL, 0, GILL_ERROR_FORMAT, "does not start with '{'" },
  { "/safetensors/invalid-json", "{\"x\":{\"dtype\":}", 0, NULL, 0, GILL_ERROR_FORMAT, "not valid JSON" },
  { "/safetensors/trailing-json", "{} {\"a\":{}}", 0, NULL, 0, GILL_ERROR_FORMAT, "after its JSON object" },
  { "/safetensors/single-quotes", "{'x':{}}", 0, NULL, 0, GILL_ERROR_FORMAT, "single quote" },
  { "/safetensors/nul-in-header", NULL, 0, "\x08\0\0\0\0\0\0\0{}\0     ", 16, GILL_ERROR_FORMAT, "NUL byte" },
  { "/safetensors/nul-escape", "{" ENTRY ("a\\u0000b", "U8", "[]", 0, 1) "}", 1, NULL, 0, GILL_ERROR_FORMAT,
    "\\u0000 escape" },
  { "/safetensors/not-utf8", "{\"\xc3\":{}}", 0, NULL, 0, GILL_ERROR_FORMAT, "not UTF-8" },
  { "/safetensors/deep-nesting", "{\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}", 0, NULL, 0, GILL_ERROR_FORMAT,
    "nests 21 levels" },
  { "/safetensors/entry-not-object", "{\"x\":[1]}", 0, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': the entry is not an object" },
  { "/safetensors/missing-dtype", "{\"x\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': 'dtype' is missing" },
  { "/safetensors/unknown-dtype", "{" ENTRY ("x", "F31", "[1]", 0, 4) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': unknown dtype 'F31'" },
  { "/safetensors/unsupported-dtype", "{" ENTRY ("x", "F8_E5M2", "[4]", 0, 4) "}", 4, NULL, 0,
    GILL_ERROR_UNSUPPORTED, "tensor 'x': dtype F8_E5M2 is not supported" },
  { "/safetensors/negative-shape", "{" ENTRY ("x", "F32", "[2,-1]", 0, 4) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': shape [2,-1] is not a list of non-negative integers" },
  { "/safetensors/float-shape", "{" ENTRY ("x", "F32", "[1.0]", 0, 4) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': shape [1.0] is not a list" },
  { "/safetensors/string-shape", "{" ENTRY ("x", "F32", "[\"1\"]", 0, 4) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "is not a list of non-negative integers" },
  { "/safetensors/shape-not-list", "{" ENTRY ("x", "F32", "4", 0, 4) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "'shape' is missing or not a list" },
  { "/safetensors/too-many-dims", "{" ENTRY ("x", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1, NULL, 0,
    GILL_ERROR_UNSUPPORTED, "9 dimensions" },
  { "/safetensors/shape-overflow", "{" ENTRY ("x", "F32", "[4294967296,4294967296,0]", 0, 0) "}", 0, NULL, 0,
    GILL_ERROR_FORMAT, "too large" },
  { "/safetensors/huge-number", "{" ENTRY ("x", "U8", "[1]", 0, 18446744073709551617) "}", 1, NULL, 0,
    GILL_ERROR_FORMAT, "more than 19 digits" },
  { "/safetensors/missing-offsets", "{\"x\":{\"dtype\":\"U8\",\"shape\":[]}}", 1, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': 'data_offsets' is missing" },
  { "/safetensors/offsets-not-pair", "{\"x\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0]}}", 1, NULL, 0,
    GILL_ERROR_FORMAT, "not a pair" },
  { "/safetensors/negative-offset", "{" ENTRY ("x", "U8", "[0]", -1, -1) "}", 0, NULL, 0, GILL_ERROR_FORMAT,
    "not a pair of non-negative integers" },
  { "/safetensors/begin-after-end", "{" ENTRY ("x", "U8", "[0]", 4, 0) "}", 4, NULL, 0, GILL_ERROR_FORMAT,
    "data_offsets [4, 0] end before they begin" },
  { "/safetensors/size-mismatch", "{" ENTRY ("x", "F32", "[2,3]", 0, 12) "}", 12, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': data_offsets [0, 12] hold 12 bytes but shape [2, 3] F32 needs 24; the file is damaged or not "
    "safetensors" },
  { "/safetensors/offsets-past-end", "{" ENTRY ("x", "F32", "[4]", 0, 16) "}", 12, NULL, 0, GILL_ERROR_FORMAT,
    "tensor 'x': data_offsets [0, 16] run past the end of the data (12 bytes)" },
  { "/safetensors/overlap", "{" ENTRY ("a", "F32", "[3]", 0, 12) "," ENTRY ("b", "F32", "[2]", 8, 16) "}", 16,
    NULL, 0, GILL_ERROR_FORMAT, "tensor 'b': data_offsets [8, 16] overlap tensor 'a' [0, 12]" },
  { "/safetensors/overlap-empty", "{" ENTRY ("a", "F32", "[3]", 0, 12) "," ENTRY ("b", "F32", "[0]", 4, 4) "}",
    12, NULL, 0, GILL_ERROR_FORMAT, "tensor 'b': data_offsets [4, 4] overlap tensor 'a'" },
  { "/safetensors/hole", "{" ENTRY ("a", "F32", "[1]", 0, 4) "," ENTRY ("b", "F32", "[1]", 8, 12) "}", 12, NULL, 0,
    GILL_ERROR_FORMAT, "tensor 'b': data_offsets [8, 12] leave a hole: bytes [4, 8)" },
  { "/safetensors/hole-at-start", "{" ENTRY ("a", "F32", "[1]", 4, 8) "}", 8, NULL, 0, GILL_ERROR_FORMAT,
    "leave a hole: bytes [0, 4)" },
  { "/safetensors/trailing-bytes", "{" ENTRY ("a", "F32", "[1]", 0, 4) "}", 5, NULL, 0, GILL_ERROR_FORMAT,
    "the tensors end at byte 4 of the data but the file has 5 data bytes" },
  { "/safetensors/duplicate-name", "{" ENTRY ("a", "F32", "[1]", 0, 4) "," ENTRY ("a", "F32", "[1]", 4, 8) "}", 8,
    NULL, 0, GILL_ERROR_FORMAT, "tensor 'a': the name appears more than once" },
  { "/safetensors/duplicate-escaped-name", "{" ENTRY ("a", "F32", "[1]", 0, 4) "," ENTRY ("\\u0061", "F32", "[1]", 4,
    8) "}", 8, NULL, 0, GILL_ERROR_FORMAT, "tensor 'a': the name appears more than once" },
  { "/safetensors/metadata-not-object", "{\"__metadata__\":[]}", 0, NULL, 0, GILL_ERROR_FORMAT,
    "__metadata__ is not an object" },
  { "/safetensors/metadata-not-string", "{\"__metadata__\":{\"n\":1}}", 0, NULL, 0, GILL_ERROR_FORMAT,
    "__metadata__ value of 'n' is not a string" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree gchar *name = g_strconcat (strrchr (c->path, '/') + 1, ".safetensors", NULL);
  g_autofree gchar *path = NULL;
  if (c->header != NULL)
    {
      g_autofree guint8 *zeros = g_malloc0 (c->data_len + 1);
      g_autoptr (GBytes) bytes = st_bytes (c->header, 0, zeros, c->data_len);
      path = write_file (name, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  else
    path = write_file (name, c->raw, c->raw_len);

  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_safetensors_open (path, &error);
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
  tmp_dir = g_dir_make_tmp ("gill-test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/safetensors/fixture-layout", test_fixture_layout);
  g_test_add_func ("/safetensors/fixture-values", test_fixture_values);
  g_test_add_func ("/safetensors/fixture-spot-values", test_fixture_spot_values);
  g_test_add_func ("/safetensors/fixture-zero-dims", test_fixture_zero_dims);
  g_test_add_func ("/safetensors/all-dtypes", test_all_dtypes);
  g_test_add_func ("/safetensors/unaligned", test_unaligned);
  g_test_add_func ("/safetensors/unpadded-header", test_unpadded_header);
  g_test_add_func ("/safetensors/offset-order", test_offset_order);
  g_test_add_func ("/safetensors/views-in-place", test_views_in_place);
  g_test_add_func ("/safetensors/mapped", test_mapped);
  g_test_add_func ("/safetensors/empty-header", test_empty_header);
  g_test_add_func ("/safetensors/sniff", test_sniff);
  g_test_add_func ("/safetensors/missing-file", test_missing_file);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_test_add_data_func (bad_cases[i].path, &bad_cases[i], test_bad);

  int status = g_test_run ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return status;
}
