/* bench-writer.c — random-content safetensors and torch.save zip files for benchmarks.
 *
 * Formats: models.md §4.1 (safetensors) and §4.2 (torch zip: archive/data.pkl, archive/data/<k>,
 * archive/version; stored entries whose data is 64-byte aligned by an "FB" extra field; ZIP64
 * extra fields, EOCD64 and locator), with real CRC-32s so any zip tool accepts the files. */
#include "core/cli/bench-writer.h"

#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "core/base/error.h"

guint64
gill_bench_tensor_bytes (const GillBenchTensor *t)
{
  return 2 * (guint64) t->rows * (guint64) MAX (t->cols, 1);
}

/* ------------------------------------------------------------------ shared */

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), slicing by one byte; table built on first use */
static guint32
crc32_update (guint32       crc,
              const guint8 *data,
              gsize         n)
{
  static guint32 table[256];
  static gsize table_ready = 0;
  if (g_once_init_enter (&table_ready))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;
          for (gint k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&table_ready, 1);
    }
  crc = ~crc;
  for (gsize i = 0; i < n; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* random f16 bits of magnitude in [0.5, 1): xorshift64, fast enough to stay disk-bound */
static void
fill_random_f16 (guint16 *out,
                 gsize    n,
                 guint64 *state)
{
  for (gsize i = 0; i < n; i++)
    {
      *state ^= *state << 13;
      *state ^= *state >> 7;
      *state ^= *state << 17;
      out[i] = (guint16) ((*state & 0x83ff) | 0x3800);
    }
}

static gboolean
write_random (FILE    *f,
              guint64  bytes,
              guint64 *state,
              guint32 *crc)     /* updated when not NULL */
{
  const gsize chunk = 1 << 22;
  g_autofree guint16 *buf = g_new (guint16, chunk);
  for (guint64 left = bytes; left > 0;)
    {
      gsize n16 = MIN (chunk, left / 2);
      fill_random_f16 (buf, n16, state);
      if (crc)
        *crc = crc32_update (*crc, (const guint8 *) buf, 2 * n16);
      if (fwrite (buf, 2, n16, f) != n16)
        return FALSE;
      left -= 2 * n16;
    }
  return TRUE;
}

static FILE *
create_file (const gchar *path,
             GError     **error)
{
  FILE *f = fopen (path, "wb");
  if (f == NULL)
    g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot create: %s", path, g_strerror (errno));
  return f;
}

static gboolean
close_file (FILE        *f,
            gboolean     ok,
            const gchar *path,
            GError     **error)
{
  if (fclose (f) != 0 || !ok)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: write failed (disk full?)", path);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ safetensors */

static gchar *
safetensors_header (GillBenchTensor *const *tensors,
                    guint                  n,
                    guint64               *data_bytes)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  guint64 offset = 0;
  for (guint i = 0; i < n; i++)
    {
      const GillBenchTensor *t = tensors[i];
      json_builder_set_member_name (b, t->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "F16");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, t->rows);
      if (t->cols)
        json_builder_add_int_value (b, t->cols);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      offset += gill_bench_tensor_bytes (t);
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  *data_bytes = offset;
  return json_to_string (root, FALSE);
}

gboolean
gill_bench_write_safetensors (const gchar           *path,
                              GillBenchTensor *const *tensors,
                              guint                  n,
                              GError               **error)
{
  guint64 data_bytes;
  g_autofree gchar *header = safetensors_header (tensors, n, &data_bytes);
  gsize hlen = strlen (header);
  gsize padded = (hlen + 7) / 8 * 8; /* data 8-aligned, header space-padded */
  FILE *f = create_file (path, error);
  if (f == NULL)
    return FALSE;
  guint64 le = GUINT64_TO_LE (padded);
  gboolean ok = fwrite (&le, 8, 1, f) == 1 && fwrite (header, 1, hlen, f) == hlen;
  for (gsize i = hlen; ok && i < padded; i++)
    ok = fputc (' ', f) != EOF;
  guint64 state = 0x9e3779b97f4a7c15ull;
  ok = ok && write_random (f, data_bytes, &state, NULL);
  return close_file (f, ok, path, error);
}

/* ------------------------------------------------------------------ pickle (protocol 2) */

static void
pk_byte (GByteArray *p,
         guint8      b)
{
  g_byte_array_append (p, &b, 1);
}

static void
pk_raw (GByteArray  *p,
        const gchar *s)
{
  g_byte_array_append (p, (const guint8 *) s, strlen (s));
}

static void
pk_u32 (GByteArray *p,
        guint32     v)
{
  guint32 le = GUINT32_TO_LE (v);
  g_byte_array_append (p, (const guint8 *) &le, 4);
}

/* BINUNICODE: 'X' + u32 length + UTF-8 */
static void
pk_string (GByteArray  *p,
           const gchar *s)
{
  pk_byte (p, 'X');
  pk_u32 (p, (guint32) strlen (s));
  pk_raw (p, s);
}

/* BININT (signed 32-bit) or LONG1 for larger values */
static void
pk_int (GByteArray *p,
        gint64      v)
{
  if (v >= G_MININT32 && v <= G_MAXINT32)
    {
      pk_byte (p, 'J');
      pk_u32 (p, (guint32) (gint32) v);
      return;
    }
  pk_byte (p, 0x8a); /* LONG1: 8 little-endian two's complement bytes */
  pk_byte (p, 8);
  guint64 le = GUINT64_TO_LE ((guint64) v);
  g_byte_array_append (p, (const guint8 *) &le, 8);
}

/* OrderedDict(name -> _rebuild_tensor_v2(storage k, 0, shape, stride, False, OrderedDict())) */
static GByteArray *
torch_pickle (GillBenchTensor *const *tensors,
              guint                  n)
{
  GByteArray *p = g_byte_array_new ();
  pk_raw (p, "\x80\x02");                         /* PROTO 2 */
  pk_raw (p, "ccollections\nOrderedDict\n)R");     /* GLOBAL, EMPTY_TUPLE, REDUCE */
  pk_byte (p, '(');                                /* MARK for SETITEMS */
  for (guint i = 0; i < n; i++)
    {
      const GillBenchTensor *t = tensors[i];
      g_autofree gchar *key = g_strdup_printf ("%u", i);
      pk_string (p, t->name);
      pk_raw (p, "ctorch._utils\n_rebuild_tensor_v2\n(");
      /* persistent id ('storage', HalfStorage, key, 'cpu', numel) */
      pk_byte (p, '(');
      pk_string (p, "storage");
      pk_raw (p, "ctorch\nHalfStorage\n");
      pk_string (p, key);
      pk_string (p, "cpu");
      pk_int (p, t->rows * MAX (t->cols, 1));
      pk_raw (p, "tQ");                            /* TUPLE, BINPERSID */
      pk_int (p, 0);                               /* storage offset */
      pk_byte (p, '(');                            /* shape */
      pk_int (p, t->rows);
      if (t->cols)
        pk_int (p, t->cols);
      pk_byte (p, 't');
      pk_byte (p, '(');                            /* stride */
      if (t->cols)
        pk_int (p, t->cols);
      pk_int (p, 1);
      pk_byte (p, 't');
      pk_byte (p, 0x89);                           /* requires_grad False */
      pk_raw (p, "ccollections\nOrderedDict\n)R"); /* backward hooks */
      pk_raw (p, "tR");                            /* TUPLE, REDUCE */
    }
  pk_raw (p, "u.");                                /* SETITEMS, STOP */
  return p;
}

/* ------------------------------------------------------------------ zip (stored, ZIP64) */

typedef struct
{
  gchar *name;
  guint64 size;
  guint64 header_offset;
  guint32 crc;
} ZipEntry;

static void
zip_entry_free (ZipEntry *e)
{
  g_free (e->name);
  g_free (e);
}

static gboolean
put (FILE       *f,
     const void *data,
     gsize       n)
{
  return fwrite (data, 1, n, f) == n;
}

static gboolean
put16 (FILE   *f,
       guint16 v)
{
  guint16 le = GUINT16_TO_LE (v);
  return put (f, &le, 2);
}

static gboolean
put32 (FILE   *f,
       guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  return put (f, &le, 4);
}

static gboolean
put64 (FILE   *f,
       guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);
  return put (f, &le, 8);
}

/* a local header whose data starts 64-byte aligned (torch's "FB" padding extra field), with a
 * ZIP64 extra (sizes) in front when the entry is 4 GiB or more */
static gboolean
zip_local_header (FILE     *f,
                  ZipEntry *e)
{
  e->header_offset = (guint64) ftello (f);
  gboolean big = e->size >= 0xffffffffu;
  gsize name_len = strlen (e->name);
  gsize zip64_len = big ? 4 + 16 : 0;
  guint64 data_at = e->header_offset + 30 + name_len + zip64_len + 4; /* + FB header */
  gsize pad = (gsize) ((64 - data_at % 64) % 64);
  gboolean ok = put32 (f, 0x04034b50) && put16 (f, 45) && put16 (f, 0) && put16 (f, 0) && put16 (f, 0)
                && put16 (f, 0x21) && put32 (f, e->crc) && put32 (f, big ? 0xffffffffu : (guint32) e->size)
                && put32 (f, big ? 0xffffffffu : (guint32) e->size) && put16 (f, (guint16) name_len)
                && put16 (f, (guint16) (zip64_len + 4 + pad)) && put (f, e->name, name_len);
  if (ok && big)
    ok = put16 (f, 0x0001) && put16 (f, 16) && put64 (f, e->size) && put64 (f, e->size);
  ok = ok && put16 (f, 0x4246) && put16 (f, (guint16) pad); /* "FB" */
  for (gsize i = 0; ok && i < pad; i++)
    ok = fputc ('Z', f) != EOF;
  return ok;
}

static gboolean
zip_central_entry (FILE           *f,
                   const ZipEntry *e)
{
  gboolean big_size = e->size >= 0xffffffffu;
  gboolean big_offset = e->header_offset >= 0xffffffffu;
  gsize name_len = strlen (e->name);
  gsize zip64_len = (big_size ? 16 : 0) + (big_offset ? 8 : 0);
  gboolean ok = put32 (f, 0x02014b50) && put16 (f, 45) && put16 (f, 45) && put16 (f, 0) && put16 (f, 0)
                && put16 (f, 0) && put16 (f, 0x21) && put32 (f, e->crc)
                && put32 (f, big_size ? 0xffffffffu : (guint32) e->size)
                && put32 (f, big_size ? 0xffffffffu : (guint32) e->size) && put16 (f, (guint16) name_len)
                && put16 (f, (guint16) (zip64_len ? zip64_len + 4 : 0)) && put16 (f, 0) && put16 (f, 0)
                && put16 (f, 0) && put32 (f, 0)
                && put32 (f, big_offset ? 0xffffffffu : (guint32) e->header_offset) && put (f, e->name, name_len);
  if (ok && zip64_len)
    {
      ok = put16 (f, 0x0001) && put16 (f, (guint16) zip64_len);
      if (ok && big_size)
        ok = put64 (f, e->size) && put64 (f, e->size);
      if (ok && big_offset)
        ok = put64 (f, e->header_offset);
    }
  return ok;
}

/* the data's CRC is known only once it is written: patch it into the local header */
static gboolean
zip_patch_crc (FILE           *f,
               const ZipEntry *e)
{
  off_t end = ftello (f);
  return fseeko (f, (off_t) e->header_offset + 14, SEEK_SET) == 0 && put32 (f, e->crc)
         && fseeko (f, end, SEEK_SET) == 0;
}

/* EOCD64, its locator and the classic EOCD with every field saturated */
static gboolean
zip_end (FILE   *f,
         guint64 n_entries,
         guint64 cd_offset,
         guint64 cd_size)
{
  guint64 eocd64 = (guint64) ftello (f);
  return put32 (f, 0x06064b50) && put64 (f, 44) && put16 (f, 45) && put16 (f, 45) && put32 (f, 0)
         && put32 (f, 0) && put64 (f, n_entries) && put64 (f, n_entries) && put64 (f, cd_size)
         && put64 (f, cd_offset) && put32 (f, 0x07064b50) && put32 (f, 0) && put64 (f, eocd64)
         && put32 (f, 1) && put32 (f, 0x06054b50) && put16 (f, 0) && put16 (f, 0) && put16 (f, 0xffff)
         && put16 (f, 0xffff) && put32 (f, 0xffffffffu) && put32 (f, 0xffffffffu) && put16 (f, 0);
}

gboolean
gill_bench_write_torch_zip (const gchar           *path,
                            GillBenchTensor *const *tensors,
                            guint                  n,
                            GError               **error)
{
  g_autoptr (GByteArray) pickle = torch_pickle (tensors, n);
  g_autofree gchar *stem = g_path_get_basename (path);
  gchar *dot = strchr (stem, '.');
  if (dot)
    *dot = '\0';
  FILE *f = create_file (path, error);
  if (f == NULL)
    return FALSE;
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) zip_entry_free);
  guint64 state = 0x9e3779b97f4a7c15ull;

  ZipEntry *pkl = g_new0 (ZipEntry, 1);
  pkl->name = g_strdup_printf ("%s/data.pkl", stem);
  pkl->size = pickle->len;
  pkl->crc = crc32_update (0, pickle->data, pickle->len);
  g_ptr_array_add (entries, pkl);
  gboolean ok = zip_local_header (f, pkl) && put (f, pickle->data, pickle->len);
  for (guint i = 0; ok && i < n; i++)
    {
      ZipEntry *e = g_new0 (ZipEntry, 1);
      e->name = g_strdup_printf ("%s/data/%u", stem, i);
      e->size = gill_bench_tensor_bytes (tensors[i]);
      g_ptr_array_add (entries, e);
      ok = zip_local_header (f, e) && write_random (f, e->size, &state, &e->crc) && zip_patch_crc (f, e);
    }
  ZipEntry *version = g_new0 (ZipEntry, 1);
  version->name = g_strdup_printf ("%s/version", stem);
  version->size = 2;
  version->crc = crc32_update (0, (const guint8 *) "3\n", 2);
  g_ptr_array_add (entries, version);
  ok = ok && zip_local_header (f, version) && put (f, "3\n", 2);

  guint64 cd_offset = (guint64) ftello (f);
  for (guint i = 0; ok && i < entries->len; i++)
    ok = zip_central_entry (f, g_ptr_array_index (entries, i));
  ok = ok && zip_end (f, entries->len, cd_offset, (guint64) ftello (f) - cd_offset);
  return close_file (f, ok, path, error);
}
