/* value.h — GillValue: the object tree a restricted unpickler rebuilds.
 *
 * Only what state dicts and checkpoints hold: None, bools, ints (64-bit), floats, strings, bytes,
 * lists, tuples, dicts (any hashable keys, insertion order kept; OrderedDict is a dict), tensors
 * (views into storages) and numpy arrays (tensors too). Python sets become lists. Anything else
 * the unpickler met on the way (a storage, a numpy dtype) is an OBJECT that only names its type.
 *
 * Trees are acyclic and at most GILL_VALUE_MAX_DEPTH deep when they come from the unpickler;
 * freeing one never recurses, whatever its depth. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/tensor.h"
#include "core/io/tensors.h"

G_BEGIN_DECLS

/* deepest container nesting the unpickler accepts (real checkpoints nest about 5 deep) */
#define GILL_VALUE_MAX_DEPTH 1000

typedef enum
{
  GILL_VALUE_NONE,
  GILL_VALUE_BOOL,
  GILL_VALUE_INT,
  GILL_VALUE_FLOAT,
  GILL_VALUE_STRING,
  GILL_VALUE_BYTES,
  GILL_VALUE_LIST,
  GILL_VALUE_TUPLE,
  GILL_VALUE_DICT,
  GILL_VALUE_TENSOR,
  GILL_VALUE_OBJECT,
} GillValueKind;

typedef struct _GillValue GillValue;

struct _GillValue
{
  gint ref_count;
  GillValueKind kind;
  union
  {
    gboolean boolean;
    gint64 integer;
    double real;
    GBytes *bytes;      /* STRING (UTF-8, not NUL-terminated inside) and BYTES */
    GPtrArray *items;   /* LIST, TUPLE: GillValue*; DICT: key, value, key, value, ... */
    GillTensor *tensor; /* TENSOR */
    struct
    {
      const gchar *type;      /* static: "torch.FloatStorage", "numpy.dtype", ... */
      gpointer data;          /* the unpickler's own payload */
      GDestroyNotify destroy; /* frees data; may be NULL */
    } object;               /* OBJECT */
  };
  GHashTable *index;    /* DICT with many keys: key -> position of the pair; else NULL */
};

GillValue   *gill_value_new_none     (void);
GillValue   *gill_value_new_bool     (gboolean        b);
GillValue   *gill_value_new_int      (gint64          i);
GillValue   *gill_value_new_float    (double          f);
GillValue   *gill_value_new_string   (const gchar    *s,
                                      gssize          len);
GillValue   *gill_value_new_bytes    (GBytes         *bytes);
GillValue   *gill_value_new_list     (void);
GillValue   *gill_value_new_tuple    (void);
GillValue   *gill_value_new_dict     (void);
GillValue   *gill_value_new_tensor   (GillTensor     *tensor);   /* ref taken */
/* type must outlive the value (a string literal); destroy frees data */
GillValue   *gill_value_new_object   (const gchar    *type,
                                      gpointer        data,
                                      GDestroyNotify  destroy);
GillValue   *gill_value_ref          (GillValue      *value);
void         gill_value_unref        (GillValue      *value);

gboolean     gill_value_is_container (const GillValue *value);   /* LIST, TUPLE or DICT */
void         gill_value_append       (GillValue      *seq,       /* LIST or TUPLE; ref taken */
                                      GillValue      *item);
void         gill_value_dict_set     (GillValue      *dict,      /* refs taken; replaces equal key */
                                      GillValue      *key,
                                      GillValue      *value);
/* value under an equal key (None, numbers, strings, bytes by value; others by identity),
 * (transfer none) or NULL */
GillValue   *gill_value_dict_find    (const GillValue *dict,
                                      const GillValue *key);
/* string-keyed lookup (transfer none) or NULL */
GillValue   *gill_value_dict_get     (const GillValue *dict,
                                      const gchar    *key);
/* "/"-separated path through dicts (string keys, or int keys where the component is a decimal
 * number) and lists/tuples (indices); "" is the root. (transfer none) or NULL */
GillValue   *gill_value_lookup_path  (const GillValue *root,
                                      const gchar    *path);
gchar       *gill_value_string_dup   (const GillValue *value);  /* STRING -> NUL-terminated copy */
const gchar *gill_value_kind_name    (GillValueKind  kind);
/* JSON form: tuples as lists, None as null, bytes as a list of ints, non-finite floats as null;
 * tensors as {"tensor": dtype, "shape": [...]}, objects as {"object": type}; dict keys that are
 * not strings are written as Python's str() of them ("3", "True", "None") */
JsonNode    *gill_value_to_json      (const GillValue *value);
/* Guards for trees built from untrusted input; both walks are iterative and visit each
 * container once. gill_value_reaches: is target inside from (or from itself)? Each container
 * visited costs its item count + 1 from *budget; OVER_BUDGET when that runs out. */
typedef enum
{
  GILL_VALUE_WALK_NOT_FOUND,
  GILL_VALUE_WALK_FOUND,
  GILL_VALUE_WALK_OVER_BUDGET,
} GillValueWalk;

GillValueWalk gill_value_reaches     (const GillValue *from,
                                      const GillValue *target,
                                      guint64         *budget);
/* gill_value_check_tree: acyclic, containers nested at most max_depth deep, and at most
 * max_values values when shared ones are counted at every use and strings and bytes count one
 * per byte (what JSON or a walk costs) */
typedef enum
{
  GILL_VALUE_TREE_OK,
  GILL_VALUE_TREE_CYCLE,
  GILL_VALUE_TREE_TOO_DEEP,
  GILL_VALUE_TREE_TOO_BIG,
} GillValueTree;

GillValueTree gill_value_check_tree  (const GillValue *root,
                                      guint            max_depth,
                                      guint64          max_values);
/* every tensor reachable through dicts whose keys are strings, named by its innermost key, in
 * order (state_dict style: {"state_dict": {name: tensor}} gives name); first name wins; a
 * root that is itself a tensor is named "" */
void         gill_value_collect_tensors (const GillValue *root,
                                         GillTensorList  *list);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillValue, gill_value_unref)

G_END_DECLS
