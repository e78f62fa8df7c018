/* pickle-private.h — what the unpickler's machine (pickle.c: opcodes, stack, marks, memo) and
 * the builders of the objects it may construct (pickle-objects.c: the allow-list of globals,
 * torch storages and tensors, numpy arrays and dtypes, OrderedDict and friends) share. */
#pragma once

#include <glib.h>

#include "core/base/error.h"
#include "core/io/pickle.h"

G_BEGIN_DECLS

/* The machine. The builders read options, op, op_offset and storages, and fail through
 * pickle_fail, which writes to error. */
typedef struct
{
  const GillPickleOptions *options;
  const gchar *name;
  const guint8 *data;
  gsize len;
  gsize pos;              /* next byte */
  gsize op_offset;        /* the current opcode's offset */
  guint8 op;
  GBytes *owner;          /* when set, bytes values are views into it */
  GPtrArray *stack;       /* GillValue*, owned */
  GArray *marks;          /* guint stack positions */
  GPtrArray *memo;        /* GillValue* or NULL, owned */
  guint memo_count;       /* set entries: MEMOIZE's index, as len(memo) in Python */
  GHashTable *storages;   /* key -> GBytes, one load_storage call per key */
  GHashTable *shared;     /* containers pushed again by GET or DUP */
  guint64 graph_budget;   /* for cycle checks */
  GError **error;
} Unpickler;

/* pickle.c */
/* sets the error, prefixed with the file name; FALSE */
gboolean     pickle_fail            (Unpickler       *u,
                                     GillError        code,
                                     const gchar     *format,
                                     ...) G_GNUC_PRINTF (3, 4);
/* the value's kind, or the object's type ("numpy.dtype"), for messages */
const gchar *pickle_type_name       (const GillValue *value);

/* pickle-objects.c; each returns NULL (FALSE) exactly when it has set the error */
/* GLOBAL, STACK_GLOBAL: module.name if the allow-list has it (numpy only with allow_numpy) */
GillValue   *pickle_global_new      (Unpickler       *u,
                                     const gchar     *module,
                                     gsize            module_len,
                                     const gchar     *name,
                                     gsize            name_len);
/* REDUCE, INST, OBJ: callable(*args), for the allow-listed callables */
GillValue   *pickle_call            (Unpickler       *u,
                                     const GillValue *callable,
                                     const GillValue *args);
/* NEWOBJ, NEWOBJ_EX: cls.__new__(cls, ...); OrderedDict and set are the classes gill builds */
GillValue   *pickle_new_object      (Unpickler       *u,
                                     const GillValue *cls);
/* BUILD: sets inst's state in place (numpy arrays become tensors; dict and tensor state is dropped) */
gboolean     pickle_build           (Unpickler       *u,
                                     GillValue       *inst,
                                     const GillValue *state);
/* BINPERSID: ('storage', torch.XStorage, key, location, numel), bytes from options->load_storage */
GillValue   *pickle_persistent_load (Unpickler       *u,
                                     const GillValue *pid);

G_END_DECLS
