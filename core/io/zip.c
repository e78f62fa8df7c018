/* zip.c — read-only ZIP directory reader for PyTorch's zip format (models.md §4.2).
 *
 * The archive is read from its end: end-of-central-directory record (EOCD), then, where a field
 * is saturated (0xFFFF / 0xFFFFFFFF), the ZIP64 locator and ZIP64 EOCD, then the central
 * directory. Sizes and offsets come from the central directory only: torch.save sets flag bit 3
 * and leaves zeros in the local headers. Every offset and size is checked against the buffer. */
#include "core/io/zip.h"

#include <string.h>

#include "core/base/error.h"

#define EOCD_SIGNATURE 0x06054b50u          /* "PK\5\6" */
#define EOCD_SIZE 22
#define EOCD_MAX_COMMENT 0xffffu
#define ZIP64_LOCATOR_SIGNATURE 0x07064b50u /* "PK\6\7" */
#define ZIP64_LOCATOR_SIZE 20
#define ZIP64_EOCD_SIGNATURE 0x06064b50u    /* "PK\6\6" */
#define ZIP64_EOCD_SIZE 56
#define CENTRAL_SIGNATURE 0x02014b50u       /* "PK\1\2" */
#define CENTRAL_SIZE 46
#define LOCAL_SIGNATURE 0x04034b50u         /* "PK\3\4" */
#define LOCAL_SIZE 30
#define ZIP64_EXTRA_ID 0x0001
#define FLAG_ENCRYPTED 0x0001
#define METHOD_STORED 0

typedef struct
{
  gchar *name;
  guint16 flags;
  guint16 method;
  guint64 compressed_size;
  guint64 size;
  guint64 header_offset; /* of the local header */
  guint64 data_offset;   /* header_offset + 30 + local name length + local extra length */
} ZipEntry;

struct _GillZip
{
  gchar *name;          /* the file, for messages */
  GBytes *bytes;
  const guint8 *data;
  gsize len;
  GArray *entries;      /* ZipEntry, in central-directory order */
  GHashTable *by_name;  /* entry name (borrowed) -> index + 1 */
};

/* the central directory's summary, from the EOCD or the ZIP64 EOCD */
typedef struct
{
  guint64 n_entries;
  guint64 size;
  guint64 offset;
} ZipDirectory;

static guint16
read_u16 (const guint8 *p)
{
  return (guint16) (p[0] | p[1] << 8);
}

static guint32
read_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static guint64
read_u64 (const guint8 *p)
{
  return (guint64) read_u32 (p) | (guint64) read_u32 (p + 4) << 32;
}

/* is [offset, offset + size) inside a buffer of len bytes? (no overflow) */
static gboolean
range_inside (guint64 offset,
              guint64 size,
              gsize   len)
{
  return offset <= len && size <= len - offset;
}

gboolean
gill_zip_sniff (const guint8 *head,
                gsize         len)
{
  return len >= 4 && memcmp (head, "PK\x03\x04", 4) == 0;
}

static void
zip_entry_clear (gpointer p)
{
  ZipEntry *entry = p;
  g_free (entry->name);
}

void
gill_zip_free (GillZip *zip)
{
  if (zip == NULL)
    return;
  g_clear_pointer (&zip->by_name, g_hash_table_unref);
  g_clear_pointer (&zip->entries, g_array_unref);
  g_clear_pointer (&zip->bytes, g_bytes_unref);
  g_free (zip->name);
  g_free (zip);
}

/* The EOCD is the last 22 bytes plus a comment of up to 64 KiB; scan back for a signature
 * whose comment length ends exactly at the end of the buffer. */
static gboolean
zip_find_eocd (const GillZip *zip,
               gsize         *eocd,
               GError       **error)
{
  if (zip->len >= EOCD_SIZE)
    {
      gsize lowest = zip->len - EOCD_SIZE > EOCD_MAX_COMMENT ? zip->len - EOCD_SIZE - EOCD_MAX_COMMENT : 0;
      for (gsize pos = zip->len - EOCD_SIZE + 1; pos-- > lowest;)
        if (read_u32 (zip->data + pos) == EOCD_SIGNATURE
            && pos + EOCD_SIZE + read_u16 (zip->data + pos + 20) == zip->len)
          {
            *eocd = pos;
            return TRUE;
          }
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "%s: no zip end-of-central-directory record in the last %u bytes; the file is "
               "truncated or not a zip archive", zip->name, EOCD_SIZE + EOCD_MAX_COMMENT);
  return FALSE;
}

/* ZIP64: locator (20 bytes, right before the EOCD) -> ZIP64 EOCD record (56 bytes fixed). */
static gboolean
zip_read_eocd64 (const GillZip *zip,
                 gsize          eocd,
                 ZipDirectory  *dir,
                 GError       **error)
{
  if (eocd < ZIP64_LOCATOR_SIZE
      || read_u32 (zip->data + eocd - ZIP64_LOCATOR_SIZE) != ZIP64_LOCATOR_SIGNATURE)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the zip directory needs ZIP64 records (saturated end-of-directory fields) "
                   "but has no ZIP64 locator; the file is corrupt", zip->name);
      return FALSE;
    }
  const guint8 *locator = zip->data + eocd - ZIP64_LOCATOR_SIZE;
  guint64 offset = read_u64 (locator + 8);
  if (read_u32 (locator + 4) != 0 || read_u32 (locator + 16) > 1)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: the zip archive spans several disks; gill reads single-file archives",
                   zip->name);
      return FALSE;
    }
  if (!range_inside (offset, ZIP64_EOCD_SIZE, eocd - ZIP64_LOCATOR_SIZE)
      || read_u32 (zip->data + offset) != ZIP64_EOCD_SIGNATURE)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the ZIP64 locator points at offset %" G_GUINT64_FORMAT ", where there is "
                   "no ZIP64 end-of-directory record; the file is corrupt", zip->name, offset);
      return FALSE;
    }
  const guint8 *record = zip->data + offset;
  if (read_u32 (record + 16) != 0 || read_u32 (record + 20) != 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: the zip archive spans several disks; gill reads single-file archives",
                   zip->name);
      return FALSE;
    }
  dir->n_entries = read_u64 (record + 32);
  dir->size = read_u64 (record + 40);
  dir->offset = read_u64 (record + 48);
  return TRUE;
}

static gboolean
zip_read_directory_end (const GillZip *zip,
                        ZipDirectory  *dir,
                        GError       **error)
{
  gsize eocd;

  if (!zip_find_eocd (zip, &eocd, error))
    return FALSE;
  const guint8 *p = zip->data + eocd;
  guint16 disk = read_u16 (p + 4), directory_disk = read_u16 (p + 6);
  dir->n_entries = read_u16 (p + 10);
  dir->size = read_u32 (p + 12);
  dir->offset = read_u32 (p + 16);
  if (dir->n_entries == 0xffff || dir->size == 0xffffffffu || dir->offset == 0xffffffffu
      || disk == 0xffff || directory_disk == 0xffff)
    return zip_read_eocd64 (zip, eocd, dir, error);
  if (disk != 0 || directory_disk != 0 || read_u16 (p + 8) != dir->n_entries)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: the zip archive spans several disks; gill reads single-file archives",
                   zip->name);
      return FALSE;
    }
  if (!range_inside (dir->offset, dir->size, eocd))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the zip central directory (offset %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   " bytes) lies outside the file (%" G_GSIZE_FORMAT " bytes); the file is "
                   "truncated or corrupt", zip->name, dir->offset, dir->size, zip->len);
      return FALSE;
    }
  return TRUE;
}

/* ZIP64 extra field 0x0001: 8-byte values present only for the central-directory fields that
 * are saturated, in this order: uncompressed size, compressed size, local header offset. */
static gboolean
zip_read_zip64_extra (const GillZip *zip,
                      ZipEntry      *entry,
                      const guint8  *extra,
                      gsize          extra_len,
                      GError       **error)
{
  gboolean need_size = entry->size == 0xffffffffu;
  gboolean need_compressed = entry->compressed_size == 0xffffffffu;
  gboolean need_offset = entry->header_offset == 0xffffffffu;

  if (!need_size && !need_compressed && !need_offset)
    return TRUE;
  for (gsize at = 0; at + 4 <= extra_len;)
    {
      guint16 id = read_u16 (extra + at), size = read_u16 (extra + at + 2);
      const guint8 *field = extra + at + 4;
      if (size > extra_len - at - 4)
        break;
      at += 4 + (gsize) size;
      if (id != ZIP64_EXTRA_ID)
        continue;
      gsize needed = 8 * ((gsize) need_size + need_compressed + need_offset);
      if (size < needed)
        break;
      if (need_size)
        entry->size = read_u64 (field), field += 8;
      if (need_compressed)
        entry->compressed_size = read_u64 (field), field += 8;
      if (need_offset)
        entry->header_offset = read_u64 (field);
      return TRUE;
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "%s: zip entry '%s' has saturated 32-bit fields but no complete ZIP64 extra "
               "field; the file is corrupt", zip->name, entry->name);
  return FALSE;
}

/* The data starts after the local header, whose name and extra lengths may differ from the
 * central directory's (torch.save pads the local extra to align data to 64 bytes). */
static gboolean
zip_locate_data (const GillZip *zip,
                 ZipEntry      *entry,
                 GError       **error)
{
  if (!range_inside (entry->header_offset, LOCAL_SIZE, zip->len)
      || read_u32 (zip->data + entry->header_offset) != LOCAL_SIGNATURE)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: zip entry '%s': no local header at offset %" G_GUINT64_FORMAT
                   " (file size %" G_GSIZE_FORMAT "); the file is truncated or corrupt",
                   zip->name, entry->name, entry->header_offset, zip->len);
      return FALSE;
    }
  const guint8 *local = zip->data + entry->header_offset;
  entry->data_offset = entry->header_offset + LOCAL_SIZE + read_u16 (local + 26) + read_u16 (local + 28);
  if (!range_inside (entry->data_offset, entry->compressed_size, zip->len))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: zip entry '%s': its %" G_GUINT64_FORMAT " bytes at offset %" G_GUINT64_FORMAT
                   " run past the end of the file (%" G_GSIZE_FORMAT " bytes); the file is "
                   "truncated", zip->name, entry->name, entry->compressed_size,
                   entry->data_offset, zip->len);
      return FALSE;
    }
  if (entry->method == METHOD_STORED && entry->size != entry->compressed_size)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: stored zip entry '%s' has size %" G_GUINT64_FORMAT " but %" G_GUINT64_FORMAT
                   " bytes of data; the file is corrupt", zip->name, entry->name, entry->size,
                   entry->compressed_size);
      return FALSE;
    }
  return TRUE;
}

/* One central-directory record (46 bytes + name + extra + comment) at *at, advancing *at. */
static gboolean
zip_read_entry (GillZip     *zip,
                gsize       *at,
                gsize        end,
                ZipEntry    *entry,
                GError     **error)
{
  const guint8 *p = zip->data + *at;

  if (!range_inside (*at, CENTRAL_SIZE, end) || read_u32 (p) != CENTRAL_SIGNATURE)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: zip central directory entry %u is missing or damaged (offset %" G_GSIZE_FORMAT
                   "); the file is corrupt", zip->name, zip->entries->len, *at);
      return FALSE;
    }
  gsize name_len = read_u16 (p + 28), extra_len = read_u16 (p + 30), comment_len = read_u16 (p + 32);
  if (!range_inside (*at + CENTRAL_SIZE, name_len + extra_len + comment_len, end))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: zip central directory entry %u runs past the directory's end; the file "
                   "is corrupt", zip->name, zip->entries->len);
      return FALSE;
    }
  const guint8 *name = p + CENTRAL_SIZE;
  if (memchr (name, '\0', name_len) != NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: zip central directory entry %u has a NUL byte in its name; the file is "
                   "corrupt", zip->name, zip->entries->len);
      return FALSE;
    }
  entry->name = g_strndup ((const gchar *) name, name_len);
  entry->flags = read_u16 (p + 8);
  entry->method = read_u16 (p + 10);
  entry->compressed_size = read_u32 (p + 20);
  entry->size = read_u32 (p + 24);
  entry->header_offset = read_u32 (p + 42);
  *at += CENTRAL_SIZE + name_len + extra_len + comment_len;
  return zip_read_zip64_extra (zip, entry, name + name_len, extra_len, error)
         && zip_locate_data (zip, entry, error);
}

static gboolean
zip_read_directory (GillZip            *zip,
                    const ZipDirectory *dir,
                    GError            **error)
{
  if (!range_inside (dir->offset, dir->size, zip->len) || dir->n_entries > dir->size / CENTRAL_SIZE)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the zip directory claims %" G_GUINT64_FORMAT " entries in %" G_GUINT64_FORMAT
                   " bytes at offset %" G_GUINT64_FORMAT " of a %" G_GSIZE_FORMAT "-byte file; the "
                   "file is truncated or corrupt", zip->name, dir->n_entries, dir->size,
                   dir->offset, zip->len);
      return FALSE;
    }
  gsize at = dir->offset, end = dir->offset + dir->size;
  for (guint64 i = 0; i < dir->n_entries; i++)
    {
      ZipEntry entry = { 0 };
      gboolean ok = zip_read_entry (zip, &at, end, &entry, error);
      if (entry.name == NULL)
        return FALSE;
      /* appended first so that the array frees the name on every path */
      g_array_append_val (zip->entries, entry);
      if (!ok)
        return FALSE;
      if (g_hash_table_contains (zip->by_name, entry.name))
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: the zip archive lists entry '%s' twice; the file is corrupt",
                       zip->name, entry.name);
          return FALSE;
        }
      g_hash_table_insert (zip->by_name, entry.name, GUINT_TO_POINTER (zip->entries->len));
    }
  return TRUE;
}

GillZip *
gill_zip_open_bytes (GBytes      *bytes,
                     const gchar *name,
                     GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GillZip) zip = g_new0 (GillZip, 1);
  zip->name = g_strdup (name ? name : "zip");
  zip->bytes = g_bytes_ref (bytes);
  zip->data = g_bytes_get_data (bytes, &zip->len);
  if (zip->data == NULL)
    zip->data = (const guint8 *) "";
  zip->entries = g_array_new (FALSE, TRUE, sizeof (ZipEntry));
  g_array_set_clear_func (zip->entries, zip_entry_clear);
  zip->by_name = g_hash_table_new (g_str_hash, g_str_equal);

  ZipDirectory dir;
  if (!zip_read_directory_end (zip, &dir, error) || !zip_read_directory (zip, &dir, error))
    return NULL;
  return g_steal_pointer (&zip);
}

guint
gill_zip_n_entries (const GillZip *zip)
{
  return zip->entries->len;
}

const gchar *
gill_zip_entry_name (const GillZip *zip,
                     guint          i)
{
  g_return_val_if_fail (i < zip->entries->len, NULL);
  return g_array_index (zip->entries, ZipEntry, i).name;
}

gboolean
gill_zip_contains (const GillZip *zip,
                   const gchar   *entry_name)
{
  return g_hash_table_contains (zip->by_name, entry_name);
}

GBytes *
gill_zip_read (const GillZip *zip,
               const gchar   *entry_name,
               GError       **error)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (zip->by_name, entry_name));
  if (index == 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the zip archive has no entry '%s'", zip->name, entry_name);
      return NULL;
    }
  const ZipEntry *entry = &g_array_index (zip->entries, ZipEntry, index - 1);
  if (entry->flags & FLAG_ENCRYPTED)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: entry '%s' is encrypted; gill reads only stored entries as torch.save "
                   "writes them", zip->name, entry_name);
      return NULL;
    }
  if (entry->method != METHOD_STORED)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: entry '%s' is compressed (method %u); gill reads only stored entries as "
                   "torch.save writes them; re-save with torch.save", zip->name, entry_name,
                   entry->method);
      return NULL;
    }
  return g_bytes_new_from_bytes (zip->bytes, entry->data_offset, entry->size);
}
