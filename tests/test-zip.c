/* test-zip.c — the zip directory reader (core/io/zip.c) and the torch.save container around it
 * (core/io/torch.c). Archives are written here byte by byte, ZIP64 records included, laid out
 * as torch.save lays them out (flags 0x0808, zero sizes in local headers, 64-byte alignment). */
#include "core/io/zip.h"

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/io/torch.h"

/* ------------------------------------------------------------------------------------------ */
/* a small zip writer */

enum
{
  ZIP64_SIZE = 1 << 0,       /* uncompressed size in the ZIP64 extra field */
  ZIP64_COMPRESSED = 1 << 1, /* compressed size there */
  ZIP64_OFFSET = 1 << 2,     /* local header offset there */
  ZIP64_EOCD = 1 << 3,       /* saturated EOCD + ZIP64 locator + ZIP64 EOCD */
};

typedef struct
{
  const gchar *name;
  const void *data;
  gsize len;
  guint16 method;
} TestEntry;

typedef struct
{
  guint zip64;             /* ZIP64_* bits */
  const gchar *comment;
} TestLayout;

static void
put16 (GByteArray *out,
       guint       v)
{
  guint8 b[2] = { v & 0xff, (v >> 8) & 0xff };
  g_byte_array_append (out, b, 2);
}

static void
put32 (GByteArray *out,
       guint32     v)
{
  put16 (out, v & 0xffff);
  put16 (out, v >> 16);
}

static void
put64 (GByteArray *out,
       guint64     v)
{
  put32 (out, (guint32) v);
  put32 (out, (guint32) (v >> 32));
}

static void
put_bytes (GByteArray *out,
           const void *data,
           gsize       len)
{
  g_byte_array_append (out, data, len);
}

/* local header with torch.save's "FB" padding extra field so that data starts at 64 bytes */
static void
put_local (GByteArray      *out,
           const TestEntry *entry)
{
  gsize name_len = strlen (entry->name);
  gsize end = out->len + 30 + name_len + 4;
  gsize pad = (64 - end % 64) % 64;
  put32 (out, 0x04034b50);
  put16 (out, 20);
  put16 (out, 0x0808);
  put16 (out, entry->method);
  put32 (out, 0);  /* time, date */
  put32 (out, 0);  /* crc: zero, as with flag bit 3 */
  put32 (out, 0);  /* compressed size */
  put32 (out, 0);  /* size */
  put16 (out, name_len);
  put16 (out, 4 + pad);
  put_bytes (out, entry->name, name_len);
  put16 (out, 0x4246); /* "FB" */
  put16 (out, pad);
  for (gsize i = 0; i < pad; i++)
    put_bytes (out, "Z", 1);
  put_bytes (out, entry->data, entry->len);
}

static void
put_central (GByteArray      *out,
             const TestEntry *entry,
             guint64          offset,
             guint            zip64)
{
  gsize name_len = strlen (entry->name);
  guint n64 = !!(zip64 & ZIP64_SIZE) + !!(zip64 & ZIP64_COMPRESSED) + !!(zip64 & ZIP64_OFFSET);
  put32 (out, 0x02014b50);
  put16 (out, 45);
  put16 (out, 45);
  put16 (out, 0x0808);
  put16 (out, entry->method);
  put32 (out, 0);
  put32 (out, 0);
  put32 (out, zip64 & ZIP64_COMPRESSED ? 0xffffffffu : entry->len);
  put32 (out, zip64 & ZIP64_SIZE ? 0xffffffffu : entry->len);
  put16 (out, name_len);
  put16 (out, n64 ? 4 + 8 * n64 : 0);
  put16 (out, 0); /* comment */
  put16 (out, 0); /* disk */
  put16 (out, 0);
  put32 (out, 0);
  put32 (out, zip64 & ZIP64_OFFSET ? 0xffffffffu : offset);
  put_bytes (out, entry->name, name_len);
  if (n64)
    {
      put16 (out, 0x0001);
      put16 (out, 8 * n64);
      if (zip64 & ZIP64_SIZE)
        put64 (out, entry->len);
      if (zip64 & ZIP64_COMPRESSED)
        put64 (out, entry->len);
      if (zip64 & ZIP64_OFFSET)
        put64 (out, offset);
    }
}

static GBytes *
zip_build (const TestEntry  *entries,
           guint             n,
           const TestLayout *layout)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autofree guint64 *offsets = g_new (guint64, MAX (n, 1));
  guint zip64 = layout ? layout->zip64 : 0;
  const gchar *comment = layout && layout->comment ? layout->comment : "";

  for (guint i = 0; i < n; i++)
    {
      offsets[i] = out->len;
      put_local (out, &entries[i]);
    }
  guint64 directory = out->len;
  for (guint i = 0; i < n; i++)
    put_central (out, &entries[i], offsets[i], zip64);
  guint64 directory_size = out->len - directory;
  if (zip64 & ZIP64_EOCD)
    {
      guint64 record = out->len;
      put32 (out, 0x06064b50);
      put64 (out, 44);
      put16 (out, 45);
      put16 (out, 45);
      put32 (out, 0);
      put32 (out, 0);
      put64 (out, n);
      put64 (out, n);
      put64 (out, directory_size);
      put64 (out, directory);
      put32 (out, 0x07064b50);
      put32 (out, 0);
      put64 (out, record);
      put32 (out, 1);
    }
  gboolean saturate = (zip64 & ZIP64_EOCD) != 0;
  put32 (out, 0x06054b50);
  put16 (out, 0);
  put16 (out, 0);
  put16 (out, saturate ? 0xffff : n);
  put16 (out, saturate ? 0xffff : n);
  put32 (out, saturate ? 0xffffffffu : directory_size);
  put32 (out, saturate ? 0xffffffffu : directory);
  put16 (out, strlen (comment));
  put_bytes (out, comment, strlen (comment));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static const TestEntry two_entries[] = {
  { "archive/data.pkl", "\x80\x02}q\x00.", 6, 0 },
  { "archive/data/0", "\x00\x00\x80\x3f\x00\x00\x00\x40", 8, 0 },
};

static void
assert_entry (const GillZip *zip,
              const gchar   *name,
              const void    *data,
              gsize          len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = gill_zip_read (zip, name, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), data, len);
}

static GillZip *
open_ok (GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  GillZip *zip = gill_zip_open_bytes (bytes, "test.zip", &error);
  g_assert_no_error (error);
  return zip;
}

static void
assert_open_fails (GBytes      *bytes,
                   GillError    code,
                   const gchar *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillZip) zip = gill_zip_open_bytes (bytes, "test.zip", &error);
  g_assert_null (zip);
  g_assert_error (error, GILL_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "test.zip: "));
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' does not contain '%s'", error->message, needle);
}

/* a copy of bytes with a 32-bit little-endian field overwritten */
static GBytes *
patch32 (GBytes *bytes,
         gsize   at,
         guint32 v)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  guint8 *copy = g_memdup2 (data, len);
  for (gint i = 0; i < 4; i++)
    copy[at + i] = (v >> (8 * i)) & 0xff;
  return g_bytes_new_take (copy, len);
}

/* offset of the EOCD of an archive without comment */
static gsize
eocd_of (GBytes *bytes)
{
  return g_bytes_get_size (bytes) - 22;
}

/* ------------------------------------------------------------------------------------------ */
/* zip */

static void
test_zip_plain (void)
{
  g_autoptr (GBytes) bytes = zip_build (two_entries, 2, NULL);
  g_autoptr (GillZip) zip = open_ok (bytes);
  g_assert_cmpuint (gill_zip_n_entries (zip), ==, 2);
  g_assert_cmpstr (gill_zip_entry_name (zip, 1), ==, "archive/data/0");
  g_assert_true (gill_zip_contains (zip, "archive/data.pkl"));
  g_assert_false (gill_zip_contains (zip, "archive/data/1"));
  assert_entry (zip, "archive/data/0", two_entries[1].data, 8);

  /* a view into the buffer, aligned as torch.save aligns it */
  g_autoptr (GBytes) entry = gill_zip_read (zip, "archive/data/0", NULL);
  const guint8 *base = g_bytes_get_data (bytes, NULL), *p = g_bytes_get_data (entry, NULL);
  g_assert_true (p > base && p < base + g_bytes_get_size (bytes));
  g_assert_cmpuint ((p - base) % 64, ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) missing = gill_zip_read (zip, "archive/data/1", &error);
  g_assert_null (missing);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_cmpstr (error->message, ==, "test.zip: the zip archive has no entry 'archive/data/1'");
}

static void
test_zip64 (void)
{
  static const guint variants[] = {
    ZIP64_SIZE | ZIP64_COMPRESSED | ZIP64_OFFSET | ZIP64_EOCD,
    ZIP64_OFFSET,               /* only the offset in the extra field */
    ZIP64_COMPRESSED | ZIP64_EOCD,
    ZIP64_EOCD,
  };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      TestLayout layout = { variants[v], NULL };
      g_autoptr (GBytes) bytes = zip_build (two_entries, 2, &layout);
      g_autoptr (GillZip) zip = open_ok (bytes);
      g_assert_cmpuint (gill_zip_n_entries (zip), ==, 2);
      assert_entry (zip, "archive/data.pkl", two_entries[0].data, 6);
      assert_entry (zip, "archive/data/0", two_entries[1].data, 8);
    }
}

static void
test_zip64_broken (void)
{
  TestLayout layout = { ZIP64_SIZE | ZIP64_COMPRESSED | ZIP64_OFFSET | ZIP64_EOCD, NULL };
  g_autoptr (GBytes) bytes = zip_build (two_entries, 2, &layout);
  gsize eocd = eocd_of (bytes);

  /* locator signature gone */
  g_autoptr (GBytes) no_locator = patch32 (bytes, eocd - 20, 0x12345678);
  assert_open_fails (no_locator, GILL_ERROR_FORMAT, "no ZIP64 locator");
  /* locator pointing past the end */
  g_autoptr (GBytes) far = patch32 (bytes, eocd - 20 + 8, 0x7fffffff);
  assert_open_fails (far, GILL_ERROR_FORMAT, "no ZIP64 end-of-directory record");
  /* ZIP64 EOCD claiming a directory past the end (offset field at +48) */
  gsize record = eocd - 20 - 56;
  g_autoptr (GBytes) directory = patch32 (bytes, record + 48, 0x7fffffff);
  assert_open_fails (directory, GILL_ERROR_FORMAT, "truncated or corrupt");
  /* absurd entry count for the directory size (field at +32) */
  g_autoptr (GBytes) count = patch32 (bytes, record + 32, 0x7fffffff);
  assert_open_fails (count, GILL_ERROR_FORMAT, "claims 2147483647 entries");
  /* extra field missing: saturated central fields without the 0x0001 record */
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  const guint8 *first = memmem (data, len, "PK\x01\x02", 4);
  g_assert_nonnull (first);
  gsize extra_id = (first - data) + 46 + strlen (two_entries[0].name);
  g_autoptr (GBytes) no_extra = patch32 (bytes, extra_id, 0x00180099);
  assert_open_fails (no_extra, GILL_ERROR_FORMAT, "no complete ZIP64 extra field");
}

static void
test_zip_comment (void)
{
  TestLayout layout = { 0, "saved by a tool that adds comments PK\x05\x06 inside them" };
  g_autoptr (GBytes) bytes = zip_build (two_entries, 2, &layout);
  g_autoptr (GillZip) zip = open_ok (bytes);
  assert_entry (zip, "archive/data/0", two_entries[1].data, 8);
}

static void
test_zip_truncated (void)
{
  g_autoptr (GBytes) bytes = zip_build (two_entries, 2, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  for (gsize n = 0; n < len; n++)
    {
      g_autoptr (GBytes) prefix = g_bytes_new (data, n);
      g_autoptr (GError) error = NULL;
      g_autoptr (GillZip) zip = gill_zip_open_bytes (prefix, "test.zip", &error);
      g_assert_null (zip);
      g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
    }
  g_autoptr (GBytes) text = g_bytes_new_static ("not a zip at all", 16);
  assert_open_fails (text, GILL_ERROR_FORMAT, "no zip end-of-central-directory record");
}

static void
test_zip_out_of_range (void)
{
  g_autoptr (GBytes) bytes = zip_build (two_entries, 2, NULL);
  gsize eocd = eocd_of (bytes), len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gsize central = (const guint8 *) memmem (data, len, "PK\x01\x02", 4) - data;

  /* EOCD: directory offset past the end, directory size past the end */
  g_autoptr (GBytes) offset = patch32 (bytes, eocd + 16, 0x10000000);
  assert_open_fails (offset, GILL_ERROR_FORMAT, "lies outside the file");
  g_autoptr (GBytes) size = patch32 (bytes, eocd + 12, 0xfffffff0u);
  assert_open_fails (size, GILL_ERROR_FORMAT, "lies outside the file");
  /* entry: local header offset past the end; size past the end; stored sizes disagreeing */
  g_autoptr (GBytes) header = patch32 (bytes, central + 42, 0x7ffffff0);
  assert_open_fails (header, GILL_ERROR_FORMAT, "no local header at offset 2147483632");
  g_autoptr (GBytes) data_size = patch32 (bytes, central + 20, 0xfffffff0u);
  assert_open_fails (data_size, GILL_ERROR_FORMAT, "run past the end of the file");
  g_autoptr (GBytes) mismatch = patch32 (bytes, central + 24, 7);
  assert_open_fails (mismatch, GILL_ERROR_FORMAT, "has size 7 but 6 bytes");
  /* central record signature broken */
  g_autoptr (GBytes) signature = patch32 (bytes, central, 0);
  assert_open_fails (signature, GILL_ERROR_FORMAT, "entry 0 is missing or damaged");
  /* multi-disk */
  g_autoptr (GBytes) disk = patch32 (bytes, eocd + 4, 0x00010001);
  assert_open_fails (disk, GILL_ERROR_UNSUPPORTED, "spans several disks");
}

static void
test_zip_duplicate (void)
{
  static const TestEntry twice[] = {
    { "a/data.pkl", "x", 1, 0 },
    { "a/data.pkl", "y", 1, 0 },
  };
  g_autoptr (GBytes) bytes = zip_build (twice, 2, NULL);
  assert_open_fails (bytes, GILL_ERROR_FORMAT, "lists entry 'a/data.pkl' twice");
}

static void
test_zip_compressed (void)
{
  static const TestEntry deflated[] = {
    { "archive/data.pkl", "\x4b\x04\x00", 3, 8 },
  };
  g_autoptr (GBytes) bytes = zip_build (deflated, 1, NULL);
  g_autoptr (GillZip) zip = open_ok (bytes);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) entry = gill_zip_read (zip, "archive/data.pkl", &error);
  g_assert_null (entry);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "test.zip: entry 'archive/data.pkl' is compressed (method 8); gill reads only "
                   "stored entries as torch.save writes them; re-save with torch.save");
}

static void
test_zip_fixture (void)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  g_autofree gchar *path = root ? g_build_filename (root, "io", "tensors.pth", NULL) : NULL;
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("GILL_FIXTURES not set");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = gill_file_map (path, &error);
  g_assert_no_error (error);
  g_autoptr (GillZip) zip = gill_zip_open_bytes (bytes, path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gill_zip_n_entries (zip), ==, 17);
  g_assert_cmpstr (gill_zip_entry_name (zip, 0), ==, "tensors/data.pkl");
  g_autoptr (GBytes) pickle = gill_zip_read (zip, "tensors/data.pkl", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (pickle), ==, 1569);
  g_autoptr (GBytes) empty = gill_zip_read (zip, "tensors/data/10", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_autoptr (GBytes) version = gill_zip_read (zip, "tensors/version", &error);
  g_assert_cmpmem (g_bytes_get_data (version, NULL), 2, "3\n", 2);
}

/* ------------------------------------------------------------------------------------------ */
/* the torch.save container */

/* {'w': tensor over storage '0' (2 floats)} */
static const char tensor_pickle[] =
  "\x80\x02}X\x01\x00\x00\x00w" "ctorch._utils\n_rebuild_tensor_v2\n"
  "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0"
  "X\x06\x00\x00\x00" "cuda:0" "K\x02tQK\x00K\x02\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)R"
  "tRs.";

static GillValue *
torch_from_entries (const TestEntry *entries,
                    guint            n,
                    GError         **error)
{
  g_autoptr (GBytes) bytes = zip_build (entries, n, NULL);
  return gill_torch_load_zip (bytes, "model.pth", error);
}

static void
test_torch_prefix (void)
{
  const TestEntry entries[] = {
    { "my model/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
    { "my model/data/0", "\x00\x00\x80\x3f\x00\x00\x00\x40", 8, 0 },
    { "my model/byteorder", "little", 6, 0 },
    { "my model/.data/serialization_id", "1234", 4, 0 },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) root = torch_from_entries (entries, G_N_ELEMENTS (entries), &error);
  g_assert_no_error (error);
  float w[2];
  gill_tensor_copy_f32 (gill_value_dict_get (root, "w")->tensor, w);
  g_assert_cmpfloat (w[0], ==, 1.0);
  g_assert_cmpfloat (w[1], ==, 2.0);
}

static void
assert_torch_fails (const TestEntry *entries,
                    guint            n,
                    GillError        code,
                    const gchar     *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) root = torch_from_entries (entries, n, &error);
  g_assert_null (root);
  g_assert_error (error, GILL_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "model.pth: "));
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' does not contain '%s'", error->message, needle);
}

static void
test_torch_container_errors (void)
{
  const TestEntry big_endian[] = {
    { "m/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
    { "m/data/0", "\x3f\x80\x00\x00\x40\x00\x00\x00", 8, 0 },
    { "m/byteorder", "big", 3, 0 },
  };
  assert_torch_fails (big_endian, 3, GILL_ERROR_UNSUPPORTED, "big-endian");
  const TestEntry two[] = {
    { "a/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
    { "b/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
  };
  assert_torch_fails (two, 2, GILL_ERROR_FORMAT, "two pickles");
  const TestEntry none[] = {
    { "a/b/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
  };
  assert_torch_fails (none, 1, GILL_ERROR_FORMAT, "not a torch.save checkpoint");
  const TestEntry no_storage[] = {
    { "m/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
  };
  assert_torch_fails (no_storage, 1, GILL_ERROR_FORMAT, "no entry 'm/data/0'");
  const TestEntry short_storage[] = {
    { "m/data.pkl", tensor_pickle, sizeof tensor_pickle - 1, 0 },
    { "m/data/0", "\x00\x00\x80\x3f", 4, 0 },
  };
  assert_torch_fails (short_storage, 2, GILL_ERROR_FORMAT, "storage '0' should hold 2 f32 elements");
  const TestEntry deflated[] = {
    { "m/data.pkl", "\x4b\x04\x00", 3, 8 },
  };
  assert_torch_fails (deflated, 1, GILL_ERROR_UNSUPPORTED, "is compressed (method 8)");
}

static gchar *
write_temp (const void *data,
            gsize       len)
{
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;
  gint fd = g_file_open_tmp ("gill-test-XXXXXX.pth", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
test_torch_sniff (void)
{
  static const guint8 legacy[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                   0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e };
  g_autofree gchar *legacy_path = write_temp (legacy, sizeof legacy);
  g_autofree gchar *text_path = write_temp ("hello", 5);
  g_autoptr (GError) error = NULL;

  g_autoptr (GillValue) v1 = gill_torch_load (legacy_path, &error);
  g_assert_null (v1);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, legacy_path));
  g_assert_nonnull (strstr (error->message, "legacy format"));
  g_clear_error (&error);

  g_autoptr (GillTensorList) v2 = gill_torch_open (text_path, &error);
  g_assert_null (v2);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "is this a PyTorch checkpoint?"));
  g_clear_error (&error);

  g_autoptr (GillValue) v3 = gill_torch_load ("/nonexistent/model.bin", &error);
  g_assert_null (v3);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
  g_clear_error (&error);

  g_assert_true (gill_pickle_sniff ((const guint8 *) "\x80\x04", 2));
  g_assert_false (gill_pickle_sniff ((const guint8 *) "\x80\x06", 2));
  g_assert_true (gill_zip_sniff ((const guint8 *) "PK\x03\x04", 4));
  g_assert_false (gill_zip_sniff ((const guint8 *) "PK", 2));
  g_unlink (legacy_path);
  g_unlink (text_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/zip/plain", test_zip_plain);
  g_test_add_func ("/zip/zip64", test_zip64);
  g_test_add_func ("/zip/zip64-broken", test_zip64_broken);
  g_test_add_func ("/zip/comment", test_zip_comment);
  g_test_add_func ("/zip/truncated", test_zip_truncated);
  g_test_add_func ("/zip/out-of-range", test_zip_out_of_range);
  g_test_add_func ("/zip/duplicate", test_zip_duplicate);
  g_test_add_func ("/zip/compressed", test_zip_compressed);
  g_test_add_func ("/zip/fixture", test_zip_fixture);
  g_test_add_func ("/torch/prefix", test_torch_prefix);
  g_test_add_func ("/torch/container-errors", test_torch_container_errors);
  g_test_add_func ("/torch/sniff", test_torch_sniff);
  return g_test_run ();
}
