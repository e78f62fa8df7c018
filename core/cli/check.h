/* check.h — the fixture checker's kind registry (see ../shared/fixtures/README.md, "Schema").
 *
 * A kind handler reads its case through the accessors below and puts every output it computes
 * into a GillCheckResults under the expected key's name; the checker then compares each
 * non-informational expected key with the case's tolerances (integers and strings exactly). A
 * handler never compares anything itself, so no handler can pass a case by accident. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/tensor.h"
#include "core/io/tensors.h"
#include "core/models/opt.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *folder;      /* the fixture folder (absolute or as given) */
  JsonObject *manifest;     /* manifest.json */
  JsonObject *object;       /* the case itself */
  const gchar *name;
  const gchar *kind;
  const gchar *layout;      /* one of the kind's layouts for this case, or NULL */
  GillTensorList *golden;   /* golden.safetensors, or NULL for folders without one */
  GHashTable *cache;        /* per-folder: see gill_check_cache_lookup */
} GillCheckCase;

typedef struct _GillCheckResults GillCheckResults;

/* runs the case; FALSE + error = the case FAILs with that message */
typedef gboolean (*GillCheckRunFunc) (const GillCheckCase *c,
                                      GillCheckResults    *out,
                                      GError             **error);
/* the layouts this case runs in (NULL-terminated, transfer full); NULL = once, no layout */
typedef gchar **(*GillCheckLayoutsFunc) (const GillCheckCase *c);

typedef struct
{
  const gchar *kind;
  GillCheckRunFunc run;             /* NULL = documented but not implemented: SKIP */
  GillCheckLayoutsFunc layouts;     /* may be NULL */
} GillCheckKind;

/* inputs: each accessor resolves the value convention of the schema */
JsonNode   *gill_check_input        (const GillCheckCase *c,
                                     const gchar         *key);  /* raw node or NULL */
GillTensor *gill_check_input_tensor (const GillCheckCase *c,
                                     const gchar         *key,
                                     GError             **error); /* golden name -> tensor (transfer full) */
gchar      *gill_check_input_string (const GillCheckCase *c,
                                     const gchar         *key,
                                     GError             **error); /* {"str": s} -> s */
gboolean    gill_check_input_int    (const GillCheckCase *c,
                                     const gchar         *key,
                                     gint64              *out,
                                     GError             **error);
gboolean    gill_check_input_double (const GillCheckCase *c,
                                     const gchar         *key,
                                     double              *out,
                                     GError             **error);
/* a path relative to the fixture folder -> absolute/joined path (transfer full) */
gchar      *gill_check_path         (const GillCheckCase *c,
                                     const gchar         *relative);
/* a string member of the case object (e.g. "model", "scheduler") or of the manifest */
const gchar *gill_check_case_string (const GillCheckCase *c,
                                     const gchar         *member);
const gchar *gill_check_manifest_string (const GillCheckCase *c,
                                         const gchar         *member);

/* a per-folder cache for what several cases share (a loaded model, a tokenizer): what a handler
 * inserts under a key of its choosing lives until the folder's last case has run */
gpointer    gill_check_cache_lookup (const GillCheckCase *c,
                                     const gchar         *key);
void        gill_check_cache_insert (const GillCheckCase *c,
                                     const gchar         *key,
                                     gpointer             data,     /* taken */
                                     GDestroyNotify       destroy);

/* outputs, under the expected key's name */
void        gill_check_results_set_tensor (GillCheckResults *out,
                                           const gchar      *key,
                                           GillTensor       *tensor);   /* ref taken */
void        gill_check_results_set_string (GillCheckResults *out,
                                           const gchar      *key,
                                           const gchar      *value);
void        gill_check_results_set_json   (GillCheckResults *out,
                                           const gchar      *key,
                                           JsonNode         *value);    /* copied */
void        gill_check_results_set_ints   (GillCheckResults *out,
                                           const gchar      *key,
                                           const gint64     *values,
                                           gsize             n);        /* 1-D i64 tensor */
void        gill_check_results_set_double (GillCheckResults *out,
                                           const gchar      *key,
                                           double            value);
void        gill_check_results_set_strings (GillCheckResults *out,
                                            const gchar      *key,
                                            const gchar * const *values,
                                            gsize             n);       /* JSON list of strings */

/* check-opt.c, for other rooms: the case's OPT model (its `model` key, or in a GILL folder GILL's
 * LM after load_gill's embedding resize) */
typedef struct _GillCheckOptModel GillCheckOptModel;

GillCheckOptModel    *gill_check_opt_model_open    (const GillCheckCase     *c,
                                                    GError                 **error);
const GillOptWeights *gill_check_opt_model_weights (const GillCheckOptModel *model);
void                  gill_check_opt_model_free    (GillCheckOptModel       *model);

/* the registries of each room's kinds (check-<room>.c); each ends with { NULL } */
extern const GillCheckKind gill_check_kinds_io[];
extern const GillCheckKind gill_check_kinds_text[];
extern const GillCheckKind gill_check_kinds_rng[];
extern const GillCheckKind gill_check_kinds_sched[];
extern const GillCheckKind gill_check_kinds_opt[];
extern const GillCheckKind gill_check_kinds_clip[];
extern const GillCheckKind gill_check_kinds_sd[];
extern const GillCheckKind gill_check_kinds_gill[];

int gill_cmd_check (int argc, char **argv);

G_END_DECLS
