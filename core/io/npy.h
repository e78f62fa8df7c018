/* npy.h — reader for numpy .npy files (models.md §4.5): versions 1.0/2.0/3.0, little- and
 * big-endian descr (big-endian refused as UNSUPPORTED), C and Fortran order (Fortran as a strided
 * view), object arrays refused. The array is one tensor named "" in the list. */
#pragma once

#include <glib.h>

#include "core/io/tensors.h"

G_BEGIN_DECLS

gboolean        gill_npy_sniff      (const guint8 *head,
                                     gsize         len);   /* "\x93NUMPY" */
GillTensorList *gill_npy_open       (const gchar  *path,
                                     GError      **error);
GillTensorList *gill_npy_open_bytes (GBytes       *bytes,
                                     const gchar  *name,
                                     GError      **error);

G_END_DECLS
