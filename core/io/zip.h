/* zip.h — read-only ZIP directory reader for PyTorch's zip format (models.md §4.2).
 *
 * Reads the central directory (ZIP64 records and extra fields included), takes sizes and
 * offsets from it (local headers may hold zero sizes: flag bit 3), and hands out stored
 * (method 0) entries as sub-GBytes of the mapping — no copy. Compressed entries are listed but
 * refused with GILL_ERROR_UNSUPPORTED when their data is asked for. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GillZip GillZip;

gboolean     gill_zip_sniff       (const guint8 *head,
                                   gsize         len);        /* "PK\x03\x04" */
GillZip     *gill_zip_open_bytes  (GBytes       *bytes,        /* ref taken */
                                   const gchar  *name,
                                   GError      **error);
guint        gill_zip_n_entries   (const GillZip *zip);
const gchar *gill_zip_entry_name  (const GillZip *zip,
                                   guint          i);
gboolean     gill_zip_contains    (const GillZip *zip,
                                   const gchar   *entry_name);
/* the entry's data as a view into the mapping (transfer full), or NULL + error */
GBytes      *gill_zip_read        (const GillZip *zip,
                                   const gchar   *entry_name,
                                   GError       **error);
void         gill_zip_free        (GillZip       *zip);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillZip, gill_zip_free)

G_END_DECLS
