/* torch.h — PyTorch checkpoints: the torch.save zip (`.bin`, `.pth`, `.pth.tar`, `.ckpt`) and
 * plain pickles (GILL's `cc3m_embeddings_urls.npy`). Told apart by magic bytes, never by name.
 *
 * The zip's `<prefix>/data.pkl` is unpickled with storages resolved to `<prefix>/data/<key>`
 * entries used in place; `<prefix>/byteorder` other than "little" is refused. Shared storages
 * give views of the same bytes. */
#pragma once

#include <glib.h>

#include "core/io/tensors.h"
#include "core/io/value.h"

G_BEGIN_DECLS

gboolean        gill_pickle_sniff        (const guint8 *head,
                                          gsize         len); /* "\x80" + protocol 2..5 */
/* the whole object of a torch.save zip (mapping kept alive by the tensors) */
GillValue      *gill_torch_load_zip      (GBytes       *bytes,
                                          const gchar  *name,
                                          GError      **error);
/* a plain pickle; numpy arrays allowed, torch tensors refused as UNSUPPORTED */
GillValue      *gill_torch_load_pickle   (GBytes       *bytes,
                                          const gchar  *name,
                                          GError      **error);
/* open a file of either kind and return its tensors (state-dict style collection) */
GillTensorList *gill_torch_open          (const gchar  *path,
                                          GError      **error);
/* open a file of either kind and return its object tree */
GillValue      *gill_torch_load          (const gchar  *path,
                                          GError      **error);

G_END_DECLS
