/* value.c — GillValue trees: construction, non-recursive freeing, dict keys, paths, JSON. */
#include "core/io/value.h"

#include <math.h>
#include <string.h>

/* a dict gets a hash index once it holds this many pairs; below, a linear scan is cheaper */
#define DICT_INDEX_MIN 16

/* ------------------------------------------------------------------------------------------ */
/* construction */

static GillValue *
value_new (GillValueKind kind)
{
  GillValue *value = g_new0 (GillValue, 1);
  value->ref_count = 1;
  value->kind = kind;
  return value;
}

GillValue *
gill_value_new_none (void)
{
  return value_new (GILL_VALUE_NONE);
}

GillValue *
gill_value_new_bool (gboolean b)
{
  GillValue *value = value_new (GILL_VALUE_BOOL);
  value->boolean = b ? TRUE : FALSE;
  return value;
}

GillValue *
gill_value_new_int (gint64 i)
{
  GillValue *value = value_new (GILL_VALUE_INT);
  value->integer = i;
  return value;
}

GillValue *
gill_value_new_float (double f)
{
  GillValue *value = value_new (GILL_VALUE_FLOAT);
  value->real = f;
  return value;
}

GillValue *
gill_value_new_string (const gchar *s,
                       gssize       len)
{
  GillValue *value = value_new (GILL_VALUE_STRING);
  value->bytes = g_bytes_new (s, len < 0 ? strlen (s) : (gsize) len);
  return value;
}

GillValue *
gill_value_new_bytes (GBytes *bytes)
{
  GillValue *value = value_new (GILL_VALUE_BYTES);
  value->bytes = g_bytes_ref (bytes);
  return value;
}

static GillValue *
value_new_container (GillValueKind kind)
{
  GillValue *value = value_new (kind);
  value->items = g_ptr_array_new ();
  return value;
}

GillValue *
gill_value_new_list (void)
{
  return value_new_container (GILL_VALUE_LIST);
}

GillValue *
gill_value_new_tuple (void)
{
  return value_new_container (GILL_VALUE_TUPLE);
}

GillValue *
gill_value_new_dict (void)
{
  return value_new_container (GILL_VALUE_DICT);
}

GillValue *
gill_value_new_tensor (GillTensor *tensor)
{
  GillValue *value = value_new (GILL_VALUE_TENSOR);
  value->tensor = gill_tensor_ref (tensor);
  return value;
}

GillValue *
gill_value_new_object (const gchar   *type,
                       gpointer       data,
                       GDestroyNotify destroy)
{
  GillValue *value = value_new (GILL_VALUE_OBJECT);
  value->object.type = type;
  value->object.data = data;
  value->object.destroy = destroy;
  return value;
}

GillValue *
gill_value_ref (GillValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_atomic_int_inc (&value->ref_count);
  return value;
}

gboolean
gill_value_is_container (const GillValue *value)
{
  return value->kind == GILL_VALUE_LIST || value->kind == GILL_VALUE_TUPLE
         || value->kind == GILL_VALUE_DICT;
}

/* Free one value whose count reached zero; children whose count reaches zero go to dead. */
static void
value_free_shallow (GillValue *value,
                    GPtrArray *dead)
{
  switch (value->kind)
    {
    case GILL_VALUE_STRING:
    case GILL_VALUE_BYTES:
      g_bytes_unref (value->bytes);
      break;
    case GILL_VALUE_LIST:
    case GILL_VALUE_TUPLE:
    case GILL_VALUE_DICT:
      for (guint i = 0; i < value->items->len; i++)
        {
          GillValue *item = g_ptr_array_index (value->items, i);
          if (g_atomic_int_dec_and_test (&item->ref_count))
            g_ptr_array_add (dead, item);
        }
      g_ptr_array_unref (value->items);
      break;
    case GILL_VALUE_TENSOR:
      gill_tensor_unref (value->tensor);
      break;
    case GILL_VALUE_OBJECT:
      if (value->object.destroy)
        value->object.destroy (value->object.data);
      break;
    default:
      break;
    }
  g_clear_pointer (&value->index, g_hash_table_unref);
  g_free (value);
}

/* Iterative, so that a deep tree cannot exhaust the C stack. */
void
gill_value_unref (GillValue *value)
{
  if (value == NULL || !g_atomic_int_dec_and_test (&value->ref_count))
    return;
  if (!gill_value_is_container (value))
    {
      value_free_shallow (value, NULL);
      return;
    }
  g_autoptr (GPtrArray) dead = g_ptr_array_new ();
  g_ptr_array_add (dead, value);
  while (dead->len > 0)
    value_free_shallow (g_ptr_array_steal_index_fast (dead, dead->len - 1), dead);
}

/* ------------------------------------------------------------------------------------------ */
/* dict keys: None, numbers (True == 1 == 1.0 as in Python), strings and bytes compare by value,
 * every other key by identity */

static gboolean
key_is_number (const GillValue *key)
{
  return key->kind == GILL_VALUE_BOOL || key->kind == GILL_VALUE_INT
         || key->kind == GILL_VALUE_FLOAT;
}

static gboolean
key_integral (const GillValue *key,
              gint64          *out)
{
  *out = 0;
  switch (key->kind)
    {
    case GILL_VALUE_BOOL:
      *out = key->boolean;
      return TRUE;
    case GILL_VALUE_INT:
      *out = key->integer;
      return TRUE;
    case GILL_VALUE_FLOAT:
      /* 2^63 itself is out of range, hence the strict bound */
      if (key->real >= -9223372036854775808.0 && key->real < 9223372036854775808.0
          && key->real == floor (key->real))
        {
          *out = (gint64) key->real;
          return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

static guint
key_hash (gconstpointer p)
{
  const GillValue *key = p;
  gint64 i;

  if (key_integral (key, &i))
    return g_int64_hash (&i);
  switch (key->kind)
    {
    case GILL_VALUE_NONE:
      return 0x4e6f6e65;
    case GILL_VALUE_FLOAT:
      return g_double_hash (&key->real);
    case GILL_VALUE_STRING:
    case GILL_VALUE_BYTES:
      return g_bytes_hash (key->bytes) ^ key->kind;
    default:
      return g_direct_hash (key);
    }
}

static gboolean
key_equal (gconstpointer pa,
           gconstpointer pb)
{
  const GillValue *a = pa, *b = pb;

  if (a == b)
    return TRUE;
  if (key_is_number (a) && key_is_number (b))
    {
      gint64 ia, ib;
      gboolean a_int = key_integral (a, &ia), b_int = key_integral (b, &ib);
      if (a_int && b_int)
        return ia == ib;
      if (a_int || b_int)
        return FALSE;
      return a->real == b->real;
    }
  if (a->kind != b->kind)
    return FALSE;
  switch (a->kind)
    {
    case GILL_VALUE_NONE:
      return TRUE;
    case GILL_VALUE_STRING:
    case GILL_VALUE_BYTES:
      return g_bytes_equal (a->bytes, b->bytes);
    default:
      return FALSE;
    }
}

static guint
dict_n_pairs (const GillValue *dict)
{
  return dict->items->len / 2;
}

static void
dict_build_index (GillValue *dict)
{
  dict->index = g_hash_table_new (key_hash, key_equal);
  for (guint p = dict_n_pairs (dict); p > 0; p--)
    g_hash_table_insert (dict->index, g_ptr_array_index (dict->items, 2 * (p - 1)),
                         GUINT_TO_POINTER (p - 1));
}

/* position of the pair whose key equals key, or -1 */
static gint64
dict_position (const GillValue *dict,
               const GillValue *key)
{
  if (dict->index)
    {
      gpointer pos;
      if (g_hash_table_lookup_extended (dict->index, key, NULL, &pos))
        return GPOINTER_TO_UINT (pos);
      return -1;
    }
  for (guint p = 0; p < dict_n_pairs (dict); p++)
    if (key_equal (g_ptr_array_index (dict->items, 2 * p), key))
      return p;
  return -1;
}

void
gill_value_append (GillValue *seq,
                   GillValue *item)
{
  g_return_if_fail (seq->kind == GILL_VALUE_LIST || seq->kind == GILL_VALUE_TUPLE);
  g_ptr_array_add (seq->items, gill_value_ref (item));
}

void
gill_value_dict_set (GillValue *dict,
                     GillValue *key,
                     GillValue *value)
{
  g_return_if_fail (dict->kind == GILL_VALUE_DICT);

  gint64 pos = dict_position (dict, key);
  if (pos >= 0)
    {
      /* Python keeps the first key object and replaces the value */
      GillValue *old = g_ptr_array_index (dict->items, 2 * pos + 1);
      g_ptr_array_index (dict->items, 2 * pos + 1) = gill_value_ref (value);
      gill_value_unref (old);
      return;
    }
  g_ptr_array_add (dict->items, gill_value_ref (key));
  g_ptr_array_add (dict->items, gill_value_ref (value));
  if (dict->index)
    g_hash_table_insert (dict->index, key, GUINT_TO_POINTER (dict_n_pairs (dict) - 1));
  else if (dict_n_pairs (dict) >= DICT_INDEX_MIN)
    dict_build_index (dict);
}

GillValue *
gill_value_dict_find (const GillValue *dict,
                      const GillValue *key)
{
  g_return_val_if_fail (dict->kind == GILL_VALUE_DICT, NULL);
  gint64 pos = dict_position (dict, key);
  return pos >= 0 ? g_ptr_array_index (dict->items, 2 * pos + 1) : NULL;
}

GillValue *
gill_value_dict_get (const GillValue *dict,
                     const gchar     *key)
{
  g_return_val_if_fail (dict->kind == GILL_VALUE_DICT, NULL);
  GillValue probe = { .ref_count = 1, .kind = GILL_VALUE_STRING };
  probe.bytes = g_bytes_new_static (key, strlen (key));
  GillValue *found = gill_value_dict_find (dict, &probe);
  g_bytes_unref (probe.bytes);
  return found;
}

/* ------------------------------------------------------------------------------------------ */
/* paths */

static gboolean
parse_index (const gchar *component,
             gint64      *out)
{
  return component[0] != '\0'
         && g_ascii_string_to_signed (component, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static GillValue *
lookup_component (const GillValue *node,
                  const gchar     *component)
{
  gint64 i;

  switch (node->kind)
    {
    case GILL_VALUE_DICT:
      {
        GillValue *found = gill_value_dict_get (node, component);
        if (found || !parse_index (component, &i))
          return found;
        GillValue probe = { .ref_count = 1, .kind = GILL_VALUE_INT, .integer = i };
        return gill_value_dict_find (node, &probe);
      }
    case GILL_VALUE_LIST:
    case GILL_VALUE_TUPLE:
      if (!parse_index (component, &i) || i < 0 || i >= node->items->len)
        return NULL;
      return g_ptr_array_index (node->items, i);
    default:
      return NULL;
    }
}

GillValue *
gill_value_lookup_path (const GillValue *root,
                        const gchar     *path)
{
  g_return_val_if_fail (root != NULL && path != NULL, NULL);
  if (path[0] == '\0')
    return (GillValue *) root;

  g_auto (GStrv) components = g_strsplit (path, "/", -1);
  const GillValue *node = root;
  for (guint c = 0; components[c] && node; c++)
    node = lookup_component (node, components[c]);
  return (GillValue *) node;
}

gchar *
gill_value_string_dup (const GillValue *value)
{
  g_return_val_if_fail (value->kind == GILL_VALUE_STRING, NULL);
  gsize len;
  const gchar *s = g_bytes_get_data (value->bytes, &len);
  return g_strndup (s ? s : "", len);
}

const gchar *
gill_value_kind_name (GillValueKind kind)
{
  static const gchar *const names[] = {
    [GILL_VALUE_NONE] = "None",   [GILL_VALUE_BOOL] = "bool",     [GILL_VALUE_INT] = "int",
    [GILL_VALUE_FLOAT] = "float", [GILL_VALUE_STRING] = "str",    [GILL_VALUE_BYTES] = "bytes",
    [GILL_VALUE_LIST] = "list",   [GILL_VALUE_TUPLE] = "tuple",   [GILL_VALUE_DICT] = "dict",
    [GILL_VALUE_TENSOR] = "tensor", [GILL_VALUE_OBJECT] = "object",
  };
  if ((guint) kind >= G_N_ELEMENTS (names))
    return "?";
  return names[kind];
}

/* ------------------------------------------------------------------------------------------ */
/* guards */

GillValueWalk
gill_value_reaches (const GillValue *from,
                    const GillValue *target,
                    guint64         *budget)
{
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);

  g_ptr_array_add (todo, (gpointer) from);
  while (todo->len > 0)
    {
      const GillValue *node = g_ptr_array_steal_index_fast (todo, todo->len - 1);
      if (node == target)
        return GILL_VALUE_WALK_FOUND;
      if (!gill_value_is_container (node) || !g_hash_table_add (seen, (gpointer) node))
        continue;
      if (*budget < (guint64) node->items->len + 1)
        return GILL_VALUE_WALK_OVER_BUDGET;
      *budget -= node->items->len + 1;
      for (guint i = 0; i < node->items->len; i++)
        g_ptr_array_add (todo, g_ptr_array_index (node->items, i));
    }
  return GILL_VALUE_WALK_NOT_FOUND;
}

typedef struct
{
  const GillValue *node;
  guint next;   /* the next item to visit */
  guint64 size; /* values in the expanded subtree so far */
} TreeFrame;

/* what a leaf costs a walk or its JSON: strings and bytes one per byte */
static guint64
value_weight (const GillValue *value)
{
  if (value->kind == GILL_VALUE_STRING || value->kind == GILL_VALUE_BYTES)
    return 1 + (guint64) g_bytes_get_size (value->bytes);
  return 1;
}

/* post-order over containers; done maps a finished container to its expanded size */
GillValueTree
gill_value_check_tree (const GillValue *root,
                       guint            max_depth,
                       guint64          max_values)
{
  g_autoptr (GArray) frames = g_array_new (FALSE, FALSE, sizeof (TreeFrame));
  g_autoptr (GHashTable) done = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr (GHashTable) open = g_hash_table_new (NULL, NULL);

  if (!gill_value_is_container (root))
    return GILL_VALUE_TREE_OK;
  TreeFrame first = { root, 0, 1 };
  g_array_append_val (frames, first);
  g_hash_table_add (open, (gpointer) root);
  while (frames->len > 0)
    {
      TreeFrame *top = &g_array_index (frames, TreeFrame, frames->len - 1);
      if (top->next == top->node->items->len)
        {
          guint64 *size = g_memdup2 (&top->size, sizeof top->size);
          g_hash_table_insert (done, (gpointer) top->node, size);
          g_hash_table_remove (open, top->node);
          g_array_set_size (frames, frames->len - 1);
          if (frames->len > 0 && (g_array_index (frames, TreeFrame, frames->len - 1).size += *size) > max_values)
            return GILL_VALUE_TREE_TOO_BIG;
          continue;
        }
      const GillValue *child = g_ptr_array_index (top->node->items, top->next++);
      guint64 *child_size = gill_value_is_container (child) ? g_hash_table_lookup (done, child) : NULL;
      if (gill_value_is_container (child) && child_size == NULL)
        {
          if (g_hash_table_contains (open, child))
            return GILL_VALUE_TREE_CYCLE;
          if (frames->len >= max_depth)
            return GILL_VALUE_TREE_TOO_DEEP;
          TreeFrame frame = { child, 0, 1 };
          g_array_append_val (frames, frame);
          g_hash_table_add (open, (gpointer) child);
          continue;
        }
      top->size += child_size ? *child_size : value_weight (child);
      if (top->size > max_values)
        return GILL_VALUE_TREE_TOO_BIG;
    }
  return GILL_VALUE_TREE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON */

static JsonNode *value_to_json (const GillValue *value, guint depth);

/* Python's str() of a key that is not a string; other keys as their JSON text */
static gchar *
key_to_string (const GillValue *key,
               guint            depth)
{
  switch (key->kind)
    {
    case GILL_VALUE_STRING:
      return gill_value_string_dup (key);
    case GILL_VALUE_NONE:
      return g_strdup ("None");
    case GILL_VALUE_BOOL:
      return g_strdup (key->boolean ? "True" : "False");
    case GILL_VALUE_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, key->integer);
    case GILL_VALUE_FLOAT:
      {
        gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup (g_ascii_dtostr (buf, sizeof buf, key->real));
      }
    default:
      {
        g_autoptr (JsonNode) node = value_to_json (key, depth + 1);
        return json_to_string (node, FALSE);
      }
    }
}

static JsonNode *
shape_to_json (const GillTensor *tensor)
{
  JsonArray *shape = json_array_new ();
  for (gint d = 0; d < tensor->n_dims; d++)
    json_array_add_int_element (shape, tensor->shape[d]);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, shape);
  return node;
}

static JsonNode *
container_to_json (const GillValue *value,
                   guint            depth)
{
  JsonNode *node;

  if (value->kind == GILL_VALUE_DICT)
    {
      JsonObject *object = json_object_new ();
      for (guint i = 0; i + 1 < value->items->len; i += 2)
        {
          g_autofree gchar *key = key_to_string (g_ptr_array_index (value->items, i), depth);
          json_object_set_member (object, key,
                                  value_to_json (g_ptr_array_index (value->items, i + 1), depth + 1));
        }
      node = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (node, object);
      return node;
    }
  JsonArray *array = json_array_new ();
  for (guint i = 0; i < value->items->len; i++)
    json_array_add_element (array, value_to_json (g_ptr_array_index (value->items, i), depth + 1));
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);
  return node;
}

static JsonNode *
value_to_json (const GillValue *value,
               guint            depth)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  /* deeper than any unpickled tree can be: cut off rather than exhaust the stack */
  if (depth > GILL_VALUE_MAX_DEPTH)
    return json_node_init_null (node);
  switch (value->kind)
    {
    case GILL_VALUE_NONE:
      return json_node_init_null (node);
    case GILL_VALUE_BOOL:
      return json_node_init_boolean (node, value->boolean);
    case GILL_VALUE_INT:
      return json_node_init_int (node, value->integer);
    case GILL_VALUE_FLOAT:
      /* strict JSON has no NaN or Infinity */
      return isfinite (value->real) ? json_node_init_double (node, value->real)
                                    : json_node_init_null (node);
    case GILL_VALUE_STRING:
      {
        g_autofree gchar *s = gill_value_string_dup (value);
        return json_node_init_string (node, s);
      }
    case GILL_VALUE_BYTES:
      {
        gsize len;
        const guint8 *p = g_bytes_get_data (value->bytes, &len);
        JsonArray *array = json_array_new ();
        for (gsize i = 0; i < len; i++)
          json_array_add_int_element (array, p[i]);
        json_node_init_array (node, array);
        json_array_unref (array);
        return node;
      }
    case GILL_VALUE_TENSOR:
      {
        JsonObject *object = json_object_new ();
        json_object_set_string_member (object, "tensor", gill_dtype_name (value->tensor->dtype));
        json_object_set_member (object, "shape", shape_to_json (value->tensor));
        json_node_init_object (node, object);
        json_object_unref (object);
        return node;
      }
    case GILL_VALUE_OBJECT:
      {
        JsonObject *object = json_object_new ();
        json_object_set_string_member (object, "object", value->object.type);
        json_node_init_object (node, object);
        json_object_unref (object);
        return node;
      }
    default:
      json_node_unref (node);
      return container_to_json (value, depth);
    }
}

JsonNode *
gill_value_to_json (const GillValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  return value_to_json (value, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* tensor collection */

static void
collect_dict (const GillValue *dict,
              GillTensorList  *list,
              GHashTable      *seen,
              guint            depth)
{
  if (depth > GILL_VALUE_MAX_DEPTH)
    return;
  for (guint i = 0; i + 1 < dict->items->len; i += 2)
    {
      const GillValue *key = g_ptr_array_index (dict->items, i);
      const GillValue *value = g_ptr_array_index (dict->items, i + 1);
      if (key->kind != GILL_VALUE_STRING)
        continue;
      if (value->kind == GILL_VALUE_DICT)
        {
          collect_dict (value, list, seen, depth + 1);
          continue;
        }
      if (value->kind != GILL_VALUE_TENSOR)
        continue;
      g_autofree gchar *name = gill_value_string_dup (key);
      if (g_hash_table_contains (seen, name))
        continue;
      gill_tensor_list_add (list, name, value->tensor);
      g_hash_table_add (seen, g_steal_pointer (&name));
    }
}

void
gill_value_collect_tensors (const GillValue *root,
                            GillTensorList  *list)
{
  g_return_if_fail (root != NULL && list != NULL);

  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < list->names->len; i++)
    g_hash_table_add (seen, g_strdup (g_ptr_array_index (list->names, i)));
  if (root->kind == GILL_VALUE_TENSOR && !g_hash_table_contains (seen, ""))
    gill_tensor_list_add (list, "", root->tensor);
  else if (root->kind == GILL_VALUE_DICT)
    collect_dict (root, list, seen, 0);
}
