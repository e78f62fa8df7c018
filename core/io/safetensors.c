/* safetensors.c — reader for Hugging Face safetensors files (models.md §4.1).
 *
 * Format facts (huggingface/safetensors README.md and safetensors/src/tensor.rs):
 * - the file is an 8-byte little-endian u64 N, N bytes of UTF-8 JSON, then the data buffer;
 * - the JSON starts with '{' and may be padded at the end with spaces (writers since 0.3.1 pad to
 *   a multiple of 8, older files are not padded, so tensor data may be unaligned);
 * - readers reject N > 100,000,000;
 * - each member is name -> {"dtype": S, "shape": [..], "data_offsets": [begin, end]}, offsets
 *   relative to the buffer (file offset 8 + N), end exclusive, end - begin = numel x dtype size;
 * - sorted by offset, the entries tile the buffer with no holes or overlaps and 8 + N + last end
 *   is the file size; shape [] is a scalar, a 0 dimension holds no bytes;
 * - the optional "__metadata__" member is a string -> string map; duplicate names are invalid;
 * - data is little-endian, C order, without strides.
 *
 * The JSON is parsed by json-glib after checks of our own (header_check_*) for what json-glib
 * accepts or cannot report: NUL bytes and invalid UTF-8, duplicate names (json-glib silently keeps
 * the last of repeated members, so we count the top-level members in a byte scan), \u0000 escapes
 * (it cuts the string there), deep nesting (its parser recurses), single-quoted strings and values
 * after the root object (it accepts both) and integers of more than 19 digits (it wraps them
 * modulo 2^64 instead of failing).
 */
#include "core/io/safetensors.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

#include "core/base/error.h"

#define HEADER_MAX_BYTES    G_GUINT64_CONSTANT (100000000) /* tensor.rs MAX_HEADER_SIZE */
#define HEADER_MIN_BYTES    2                              /* "{}" */
#define HEADER_MAX_DEPTH    16   /* real headers nest 3 deep: root, entry, shape/offsets */
#define HEADER_MAX_DIGITS   19   /* every gint64 fits; longer integers wrap in json-glib */
#define METADATA_KEY        "__metadata__"
#define DAMAGED             "the file is damaged or not safetensors"

/* One header entry, validated. */
typedef struct
{
  const gchar *name;                  /* borrowed from the JSON object */
  GillDType dtype;
  gint n_dims;
  gint64 shape[GILL_TENSOR_MAX_DIMS];
  guint64 begin;                      /* byte offsets into the data buffer, end exclusive */
  guint64 end;
  guint index;                        /* position in the header: a stable tie-break */
} Entry;

/* The file being read: everything messages and checks need. */
typedef struct
{
  const gchar *name;                  /* the file, first in every message */
  const guint8 *data;                 /* the whole file */
  gsize size;
  guint64 header_len;                 /* N */
  const guint8 *buffer;               /* data + 8 + N */
  guint64 buffer_len;                 /* size - 8 - N */
} StFile;

/* The byte scan's findings (see the file comment). */
typedef struct
{
  guint n_members;                    /* ':' at depth 1 outside strings */
  gint max_depth;
  gsize long_number_at;               /* offset of an over-long integer, or G_MAXSIZE */
  gsize single_quote_at;              /* offset of a ' outside strings, or G_MAXSIZE */
  gsize root_end;                     /* offset just after the root's '}', or G_MAXSIZE */
  gsize nul_escape_at;                /* offset of a \u0000 in a string, or G_MAXSIZE */
} HeaderScan;

/* "FILE: [tensor 'T': ]MESSAGE" */
G_GNUC_PRINTF (5, 6)
static void
st_set_error (GError      **error,
              const StFile *file,
              const gchar  *tensor,
              gint          code,
              const gchar  *format,
              ...)
{
  va_list args;
  va_start (args, format);
  g_autofree gchar *message = g_strdup_vprintf (format, args);
  va_end (args);
  if (tensor != NULL)
    g_set_error (error, GILL_ERROR, code, "%s: tensor '%s': %s", file->name, tensor, message);
  else
    g_set_error (error, GILL_ERROR, code, "%s: %s", file->name, message);
}

static guint64
read_u64_le (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

gboolean
gill_safetensors_sniff (const guint8 *head,
                        gsize         len)
{
  if (head == NULL || len < 9)
    return FALSE;
  guint64 n = read_u64_le (head);
  return n >= HEADER_MIN_BYTES && n <= HEADER_MAX_BYTES && head[8] == '{';
}

/* The 8-byte prefix: N within the file and the limit, JSON that opens with '{'. */
static gboolean
st_check_prefix (StFile  *file,
                 GError **error)
{
  if (file->size < 8)
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "the file is %" G_GSIZE_FORMAT " bytes, shorter than the 8-byte header length; %s",
                    file->size, DAMAGED);
      return FALSE;
    }
  file->header_len = read_u64_le (file->data);
  if (file->header_len > HEADER_MAX_BYTES)
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "header length %" G_GUINT64_FORMAT " exceeds the limit of %" G_GUINT64_FORMAT
                    " bytes; %s", file->header_len, HEADER_MAX_BYTES, DAMAGED);
      return FALSE;
    }
  if (file->header_len > file->size - 8)
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "header length %" G_GUINT64_FORMAT " runs past the end of the file (%"
                    G_GSIZE_FORMAT " bytes); the file is truncated or not safetensors",
                    file->header_len, file->size);
      return FALSE;
    }
  if (file->header_len < HEADER_MIN_BYTES || file->data[8] != '{')
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "the header does not start with '{'; %s", DAMAGED);
      return FALSE;
    }
  file->buffer = file->data + 8 + file->header_len;
  file->buffer_len = file->size - 8 - file->header_len;
  return TRUE;
}

/* One pass over the JSON text, tracking strings (with backslash escapes) and nesting. The text
 * was checked to start with '{', so a ':' at depth 1 separates a member of the root object, and
 * the string just before it is the member's name. When keys is not NULL, each such name is
 * appended to it as its JSON literal, quotes included. */
static void
header_scan (const gchar *text,
             gsize        len,
             HeaderScan  *scan,
             GPtrArray   *keys)
{
  gboolean in_string = FALSE;
  gint depth = 0;
  gsize digits = 0;
  gsize string_start = 0, string_end = 0; /* the last string literal seen at depth 1 */

  *scan = (HeaderScan) { 0, 0, G_MAXSIZE, G_MAXSIZE, G_MAXSIZE, G_MAXSIZE };
  for (gsize i = 0; i < len; i++)
    {
      gchar c = text[i];
      if (in_string)
        {
          if (c == '\\')
            {
              if (len - i > 5 && memcmp (text + i + 1, "u0000", 5) == 0 && scan->nul_escape_at == G_MAXSIZE)
                scan->nul_escape_at = i;
              i++;
            }
          else if (c == '"')
            {
              in_string = FALSE;
              string_end = i + 1;
            }
          continue;
        }
      digits = g_ascii_isdigit (c) ? digits + 1 : 0;
      if (digits > HEADER_MAX_DIGITS && scan->long_number_at == G_MAXSIZE)
        scan->long_number_at = i + 1 - digits;
      switch (c)
        {
        case '"':
          in_string = TRUE;
          string_start = i;
          break;
        case '\'':
          if (scan->single_quote_at == G_MAXSIZE)
            scan->single_quote_at = i;
          break;
        case '{':
        case '[':
          depth++;
          scan->max_depth = MAX (scan->max_depth, depth);
          break;
        case '}':
        case ']':
          if (--depth == 0)
            {
              scan->root_end = i + 1;
              return; /* json-glib would ignore further values: the caller checks the rest */
            }
          break;
        case ':':
          if (depth != 1)
            break;
          scan->n_members++;
          if (keys != NULL && string_end > string_start)
            g_ptr_array_add (keys, g_strndup (text + string_start, string_end - string_start));
          break;
        default:
          break;
        }
    }
}

/* The first repeated member name, decoded, for the message (json-glib keeps only the last). */
static gchar *
header_find_duplicate (const gchar *text,
                       gsize        len)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  HeaderScan scan;
  header_scan (text, len, &scan, keys);
  for (guint i = 0; i < keys->len; i++)
    {
      g_autoptr (JsonNode) node = json_from_string (g_ptr_array_index (keys, i), NULL);
      if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      const gchar *name = json_node_get_string (node);
      if (!g_hash_table_add (seen, g_strdup (name)))
        return g_strdup (name);
    }
  return g_strdup ("?");
}

/* The header's bytes: no NUL (json-glib would stop there), valid UTF-8. */
static gboolean
header_check_bytes (const StFile *file,
                    const gchar  *text,
                    GError      **error)
{
  gsize len = file->header_len;
  const gchar *nul = memchr (text, '\0', len);
  if (nul != NULL)
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "the header has a NUL byte at offset %" G_GSIZE_FORMAT "; %s",
                    (gsize) (nul - text), DAMAGED);
      return FALSE;
    }
  if (!g_utf8_validate_len (text, len, NULL))
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header is not UTF-8; %s", DAMAGED);
      return FALSE;
    }
  return TRUE;
}

/* What json-glib accepts beyond strict JSON or handles badly, from the byte scan. */
static gboolean
header_check_scan (const StFile     *file,
                   const gchar      *text,
                   const HeaderScan *scan,
                   GError          **error)
{
  gsize len = file->header_len;
  gsize rest = scan->root_end;
  while (rest < len && (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\r' || text[rest] == '\n'))
    rest++;

  if (scan->max_depth > HEADER_MAX_DEPTH)
    st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header nests %d levels deep (at most %d "
                  "expected); %s", scan->max_depth, HEADER_MAX_DEPTH, DAMAGED);
  else if (scan->single_quote_at != G_MAXSIZE)
    st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header is not JSON: a single quote at "
                  "offset %" G_GSIZE_FORMAT "; %s", scan->single_quote_at, DAMAGED);
  else if (scan->root_end != G_MAXSIZE && rest < len)
    st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header has more than spaces after its "
                  "JSON object (offset %" G_GSIZE_FORMAT "); %s", scan->root_end, DAMAGED);
  else if (scan->nul_escape_at != G_MAXSIZE)
    st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header has a \\u0000 escape at offset %"
                  G_GSIZE_FORMAT " (names and metadata cannot hold NUL); %s", scan->nul_escape_at, DAMAGED);
  else if (scan->long_number_at != G_MAXSIZE)
    st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header has a number with more than %d "
                  "digits at offset %" G_GSIZE_FORMAT "; %s", HEADER_MAX_DIGITS, scan->long_number_at,
                  DAMAGED);
  else
    return TRUE;
  return FALSE;
}

/* Parse the header into a JSON object; the parser owns the tree. */
static JsonObject *
header_parse (const StFile *file,
              JsonParser   *parser,
              GError      **error)
{
  const gchar *text = (const gchar *) file->data + 8;
  HeaderScan scan;
  g_autoptr (GError) local = NULL;

  if (!header_check_bytes (file, text, error))
    return NULL;
  header_scan (text, file->header_len, &scan, NULL);
  if (!header_check_scan (file, text, &scan, error))
    return NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) file->header_len, &local))
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header is not valid JSON (%s); %s",
                    local->message, DAMAGED);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "the header is JSON but not an object; %s",
                    DAMAGED);
      return NULL;
    }
  JsonObject *object = json_node_get_object (root);
  if (json_object_get_size (object) != scan.n_members)
    {
      g_autofree gchar *name = header_find_duplicate (text, file->header_len);
      st_set_error (error, file, name, GILL_ERROR_FORMAT, "the name appears more than once in the "
                    "header; %s", DAMAGED);
      return NULL;
    }
  return object;
}

/* "__metadata__": an optional string -> string map. */
static gboolean
metadata_parse (const StFile   *file,
                JsonNode       *node,
                GillTensorList *list,
                GError        **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT, "__metadata__ is not an object; %s",
                    DAMAGED);
      return FALSE;
    }
  JsonObject *object = json_node_get_object (node);
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *value;
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                        "__metadata__ value of '%s' is not a string; %s", key, DAMAGED);
          return FALSE;
        }
      g_hash_table_replace (list->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

/* dtypes the format defines but gill does not compute with (models.md §4.1 table). */
static gboolean
dtype_is_known_unsupported (const gchar *name)
{
  static const gchar *const names[] = {
    "C64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4", "F6_E2M3", "F6_E3M2",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i]))
      return TRUE;
  return FALSE;
}

static gboolean
entry_parse_dtype (const StFile *file,
                   JsonObject   *object,
                   Entry        *entry,
                   GError      **error)
{
  JsonNode *node = json_object_get_member (object, "dtype");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT, "'dtype' is missing or not a string; %s",
                    DAMAGED);
      return FALSE;
    }
  const gchar *name = json_node_get_string (node);
  if (gill_dtype_from_safetensors (name, &entry->dtype))
    return TRUE;
  if (dtype_is_known_unsupported (name))
    st_set_error (error, file, entry->name, GILL_ERROR_UNSUPPORTED,
                  "dtype %s is not supported (gill reads F64, F32, F16, BF16 and the integer "
                  "types); convert the file to F16 or F32", name);
  else
    st_set_error (error, file, entry->name, GILL_ERROR_FORMAT, "unknown dtype '%s'; %s", name, DAMAGED);
  return FALSE;
}

/* A JSON integer >= 0 (json-glib gives every integer literal as gint64). */
static gboolean
node_get_count (JsonNode *node,
                gint64   *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0;
}

static gboolean
entry_parse_shape (const StFile *file,
                   JsonObject   *object,
                   Entry        *entry,
                   GError      **error)
{
  JsonNode *node = json_object_get_member (object, "shape");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT, "'shape' is missing or not a list; %s",
                    DAMAGED);
      return FALSE;
    }
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  if (n > GILL_TENSOR_MAX_DIMS)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_UNSUPPORTED,
                    "shape has %u dimensions; gill supports at most %d", n, GILL_TENSOR_MAX_DIMS);
      return FALSE;
    }
  entry->n_dims = (gint) n;
  for (guint d = 0; d < n; d++)
    if (!node_get_count (json_array_get_element (array, d), &entry->shape[d]))
      {
        g_autofree gchar *text = json_to_string (node, FALSE);
        st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                      "shape %s is not a list of non-negative integers; %s", text, DAMAGED);
        return FALSE;
      }
  return TRUE;
}

static gboolean
entry_parse_offsets (const StFile *file,
                     JsonObject   *object,
                     Entry        *entry,
                     GError      **error)
{
  JsonNode *node = json_object_get_member (object, "data_offsets");
  if (node == NULL)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT, "'data_offsets' is missing; %s", DAMAGED);
      return FALSE;
    }
  JsonArray *array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  gint64 begin, end;
  if (array == NULL || json_array_get_length (array) != 2
      || !node_get_count (json_array_get_element (array, 0), &begin)
      || !node_get_count (json_array_get_element (array, 1), &end))
    {
      g_autofree gchar *text = json_to_string (node, FALSE);
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                    "'data_offsets' %s is not a pair of non-negative integers; %s", text, DAMAGED);
      return FALSE;
    }
  entry->begin = (guint64) begin;
  entry->end = (guint64) end;
  if (entry->begin > entry->end)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                    "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] end before they begin; %s",
                    entry->begin, entry->end, DAMAGED);
      return FALSE;
    }
  if (entry->end > file->buffer_len)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                    "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] run past the end of "
                    "the data (%" G_GUINT64_FORMAT " bytes); the file is truncated or damaged",
                    entry->begin, entry->end, file->buffer_len);
      return FALSE;
    }
  return TRUE;
}

/* end - begin must be numel x dtype size. gill_shape_nbytes's limit implies the format's own
 * rule (checked multiplication of the dimensions). */
static gboolean
entry_check_size (const StFile *file,
                  const Entry  *entry,
                  GError      **error)
{
  g_autofree gchar *shape = gill_shape_string (entry->n_dims, entry->shape);
  const gchar *dtype = gill_dtype_to_safetensors (entry->dtype);
  guint64 held = entry->end - entry->begin;
  guint64 needed;
  if (!gill_shape_nbytes (entry->n_dims, entry->shape, gill_dtype_size (entry->dtype), &needed))
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                    "shape %s %s is too large to address (2^63 bytes or more); %s", shape, dtype, DAMAGED);
      return FALSE;
    }
  if (needed != held)
    {
      st_set_error (error, file, entry->name, GILL_ERROR_FORMAT,
                    "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] hold %" G_GUINT64_FORMAT
                    " bytes but shape %s %s needs %" G_GUINT64_FORMAT "; %s",
                    entry->begin, entry->end, held, shape, dtype, needed, DAMAGED);
      return FALSE;
    }
  return TRUE;
}

static gboolean
entry_parse (const StFile *file,
             const gchar  *name,
             JsonNode     *node,
             Entry        *entry,
             GError      **error)
{
  entry->name = name;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      st_set_error (error, file, name, GILL_ERROR_FORMAT, "the entry is not an object; %s", DAMAGED);
      return FALSE;
    }
  JsonObject *object = json_node_get_object (node);
  return entry_parse_dtype (file, object, entry, error)
         && entry_parse_shape (file, object, entry, error)
         && entry_parse_offsets (file, object, entry, error)
         && entry_check_size (file, entry, error);
}

/* Parse every member but __metadata__ into entries (in header order). */
static GArray *
entries_parse (const StFile   *file,
               JsonObject     *root,
               GillTensorList *list,
               GError        **error)
{
  g_autoptr (GArray) entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;
  json_object_iter_init (&iter, root);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (g_str_equal (name, METADATA_KEY))
        {
          if (!metadata_parse (file, node, list, error))
            return NULL;
          continue;
        }
      Entry entry = { .index = entries->len };
      if (!entry_parse (file, name, node, &entry, error))
        return NULL;
      g_array_append_val (entries, entry);
    }
  return g_steal_pointer (&entries);
}

static gint
entry_compare (gconstpointer a,
               gconstpointer b)
{
  const Entry *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorted by offset, the entries must cover [0, buffer_len) exactly once. */
static gboolean
entries_check_tiling (const StFile *file,
                      GArray       *entries,
                      GError      **error)
{
  g_array_sort (entries, entry_compare);
  guint64 covered = 0;
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      if (e->begin > covered)
        {
          st_set_error (error, file, e->name, GILL_ERROR_FORMAT,
                        "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] leave a hole: bytes ["
                        "%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") belong to no tensor; %s",
                        e->begin, e->end, covered, e->begin, DAMAGED);
          return FALSE;
        }
      if (e->begin < covered)
        {
          const Entry *prev = &g_array_index (entries, Entry, i - 1);
          st_set_error (error, file, e->name, GILL_ERROR_FORMAT,
                        "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] overlap tensor '%s' ["
                        "%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "]; %s",
                        e->begin, e->end, prev->name, prev->begin, prev->end, DAMAGED);
          return FALSE;
        }
      covered = e->end;
    }
  if (covered != file->buffer_len)
    {
      st_set_error (error, file, NULL, GILL_ERROR_FORMAT,
                    "the tensors end at byte %" G_GUINT64_FORMAT " of the data but the file has %"
                    G_GUINT64_FORMAT " data bytes (8 + header + data must be the file size); %s",
                    covered, file->buffer_len, DAMAGED);
      return FALSE;
    }
  return TRUE;
}

/* Views into the mapping, in offset order; each holds a reference on the bytes. */
static void
entries_add_views (const StFile   *file,
                   GArray         *entries,
                   GBytes         *bytes,
                   GillTensorList *list)
{
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      g_autoptr (GillTensor) tensor = gill_tensor_new_view (e->dtype, e->n_dims, e->shape, NULL,
                                                            file->buffer + e->begin, bytes);
      gill_tensor_list_add (list, e->name, tensor);
    }
}

GillTensorList *
gill_safetensors_open_bytes (GBytes      *bytes,
                             const gchar *name,
                             GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  StFile file = { .name = name };
  file.data = g_bytes_get_data (bytes, &file.size);
  if (!st_check_prefix (&file, error))
    return NULL;

  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = header_parse (&file, parser, error);
  if (root == NULL)
    return NULL;

  g_autoptr (GillTensorList) list = gill_tensor_list_new (name, "safetensors");
  g_autoptr (GArray) entries = entries_parse (&file, root, list, error);
  if (entries == NULL || !entries_check_tiling (&file, entries, error))
    return NULL;
  entries_add_views (&file, entries, bytes, list);
  return g_steal_pointer (&list);
}

GillTensorList *
gill_safetensors_open (const gchar *path,
                       GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr (GBytes) bytes = gill_file_map (path, error);
  if (bytes == NULL)
    return NULL;
  return gill_safetensors_open_bytes (bytes, path, error);
}
