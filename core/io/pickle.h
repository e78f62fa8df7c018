/* pickle.h — a restricted unpickler (protocols 0-5) that rebuilds state dicts, never code.
 *
 * It knows exactly these globals and refuses every other with GILL_ERROR_UNSUPPORTED naming it:
 *   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor,
 *   torch._utils._rebuild_parameter(_with_state), torch.Size, builtins.set/frozenset,
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage (persistent ids
 *   ('storage', cls, key, location, numel); any location), torch.storage._load_from_bytes (only
 *   to refuse it with advice), _codecs.encode(str, 'latin1') (bytes in protocols 0-2), and —
 *   only when allow_numpy — numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype and
 *   numpy.core.multiarray.scalar (numpy 2 spells numpy._core).
 * Nesting depth, stack size, memo indexes and the object graph are bounded; every failure is a
 * GError naming the file. Nothing recurses on input-controlled depth. */
#pragma once

#include <glib.h>

#include "core/io/value.h"

G_BEGIN_DECLS

/* resolves a persistent id's storage key to its bytes (e.g. "data/0" in the zip) */
typedef GBytes *(*GillPickleStorageFunc) (const gchar *key,
                                          gpointer     user_data,
                                          GError     **error);

typedef struct
{
  const gchar *name;                  /* the file, for messages */
  GillPickleStorageFunc load_storage; /* NULL: persistent ids are an error */
  gpointer user_data;
  gboolean allow_numpy;               /* plain pickles of numpy arrays */
} GillPickleOptions;

/* bytes objects and numpy arrays in the result are copies of data */
GillValue *gill_pickle_load       (const guint8            *data,
                                   gsize                    len,
                                   const GillPickleOptions *options,
                                   GError                 **error);
/* the same, but bytes objects and numpy arrays are views into bytes (ref taken as needed) */
GillValue *gill_pickle_load_bytes (GBytes                  *bytes,
                                   const GillPickleOptions *options,
                                   GError                 **error);

G_END_DECLS
