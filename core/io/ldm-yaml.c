/* ldm-yaml.c — a line parser for the YAML subset of LDM configs (see ldm-yaml.h).
 *
 * The files: CompVis stable-diffusion configs/stable-diffusion/v1-inference.yaml and the
 * single-file loaders' copies of it (models.md §3.6). Each line is "key: value", "key:" (a
 * mapping follows, more indented) or "- item"; a stack of open keys tracks the nesting. */
#include "core/io/ldm-yaml.h"

#include <errno.h>
#include <string.h>

#include "core/base/error.h"

/* files larger than this are not LDM configs (v1-inference.yaml is 2 KB) */
#define LDM_YAML_MAX_BYTES (4 << 20)
#define LDM_YAML_MAX_DEPTH 64

typedef struct
{
  gint indent;     /* the column of the line that opened it (-1: the document) */
  gchar *path;     /* dotted key, "" for the document */
  gboolean item;   /* a block sequence item ("- ...") */
} Frame;

typedef struct
{
  const gchar *name;
  gint line;
  GillLdmYaml *yaml;
  GArray *stack;          /* Frame */
  GHashTable *counters;   /* path -> next item index (GINT_TO_POINTER) */
} Parser;

static gboolean
parse_error (Parser      *p,
             GError     **error,
             const gchar *format,
             ...) G_GNUC_PRINTF (3, 4);

static gboolean
parse_error (Parser      *p,
             GError     **error,
             const gchar *format,
             ...)
{
  va_list args;
  va_start (args, format);
  g_autofree gchar *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s:%d: %s; is this an LDM config (v1-inference.yaml)?",
               p->name, p->line, what);
  return FALSE;
}

static Frame *
stack_top (Parser *p)
{
  return &g_array_index (p->stack, Frame, p->stack->len - 1);
}

static void
stack_pop (Parser *p)
{
  g_free (stack_top (p)->path);
  g_array_set_size (p->stack, p->stack->len - 1);
}

static gboolean
stack_push (Parser      *p,
            gint         indent,
            const gchar *path,
            gboolean     item,
            GError     **error)
{
  if (p->stack->len > LDM_YAML_MAX_DEPTH)
    return parse_error (p, error, "nested more than %d levels deep", LDM_YAML_MAX_DEPTH);
  Frame f = { indent, g_strdup (path), item };
  g_array_append_val (p->stack, f);
  return TRUE;
}

static gchar *
path_join (const gchar *parent,
           const gchar *key)
{
  return *parent ? g_strconcat (parent, ".", key, NULL) : g_strdup (key);
}

/* the end of the text outside quotes, cutting a comment: '#' at the start or after a space */
static gsize
content_length (const gchar *s)
{
  gchar quote = 0;
  gsize i = 0;
  for (; s[i]; i++)
    {
      if (quote)
        {
          if (s[i] == '\\' && quote == '"' && s[i + 1])
            i++;
          else if (s[i] == quote)
            quote = 0;
        }
      else if (s[i] == '"' || s[i] == '\'')
        quote = s[i];
      else if (s[i] == '#' && (i == 0 || s[i - 1] == ' '))
        break;
    }
  while (i > 0 && s[i - 1] == ' ')
    i--;
  return i;
}

/* a scalar's text: quotes removed and escapes resolved; *quoted says whether it had quotes */
static gboolean
parse_scalar (Parser      *p,
              const gchar *s,
              gchar      **out,
              gboolean    *quoted,
              GError     **error)
{
  gsize n = strlen (s);
  *quoted = FALSE;
  if (s[0] == '&' || s[0] == '*' || s[0] == '!' || s[0] == '|' || s[0] == '>' || s[0] == '%' || s[0] == '@'
      || s[0] == '`')
    return parse_error (p, error, "'%c' (anchors, aliases, tags, block scalars) is not supported", s[0]);
  if (s[0] == '"' || s[0] == '\'')
    {
      GString *v = g_string_new (NULL);
      gsize i = 1;
      for (; i < n; i++)
        {
          if (s[0] == '"' && s[i] == '\\' && i + 1 < n)
            {
              gchar c = s[++i];
              g_string_append_c (v, c == 'n' ? '\n' : c == 't' ? '\t' : c);
            }
          else if (s[0] == '\'' && s[i] == '\'' && i + 1 < n && s[i + 1] == '\'')
            {
              g_string_append_c (v, '\'');
              i++;
            }
          else if (s[i] == s[0])
            break;
          else
            g_string_append_c (v, s[i]);
        }
      if (i != n - 1)
        {
          g_string_free (v, TRUE);
          return parse_error (p, error, "unterminated quoted string or text after it");
        }
      *quoted = TRUE;
      *out = g_string_free (v, FALSE);
      return TRUE;
    }
  if ((s[0] == '[' && s[n - 1] != ']') || (s[0] == '{' && s[n - 1] != '}'))
    return parse_error (p, error, "a flow collection must end on its line");
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
store (Parser      *p,
       const gchar *path,
       const gchar *text,
       GError     **error)
{
  g_autofree gchar *value = NULL;
  gboolean quoted;
  if (!parse_scalar (p, text, &value, &quoted, error))
    return FALSE;
  if (g_hash_table_contains (p->yaml->values, path))
    return parse_error (p, error, "duplicate key '%s'", path);
  if (quoted)
    g_hash_table_add (p->yaml->quoted, g_strdup (path));
  g_hash_table_insert (p->yaml->values, g_strdup (path), g_steal_pointer (&value));
  return TRUE;
}

/* "key: value" or "key:" at column `indent`, under the stack's top */
static gboolean
parse_key (Parser      *p,
           gint         indent,
           const gchar *s,
           GError     **error)
{
  /* the key ends at the first ':' followed by a space or the end, outside quotes */
  gchar quote = 0;
  gsize i = 0;
  for (; s[i]; i++)
    {
      if (quote)
        quote = s[i] == quote ? 0 : quote;
      else if (s[i] == '"' || s[i] == '\'')
        quote = s[i];
      else if (s[i] == ':' && (s[i + 1] == ' ' || s[i + 1] == '\0'))
        break;
    }
  if (s[i] != ':' || i == 0)
    return parse_error (p, error, "expected 'key: value', found '%s'", s);
  g_autofree gchar *raw = g_strstrip (g_strndup (s, i));
  g_autofree gchar *key = NULL;
  gboolean quoted;
  if (!parse_scalar (p, raw, &key, &quoted, error))
    return FALSE;
  if (*key == '\0' || strchr (key, '.') != NULL)
    return parse_error (p, error, "key '%s' is empty or contains '.'", key);
  g_autofree gchar *path = path_join (stack_top (p)->path, key);
  const gchar *value = s + i + 1;
  while (*value == ' ')
    value++;
  if (*value == '\0')
    return stack_push (p, indent, path, FALSE, error); /* a mapping or list follows */
  return store (p, path, value, error);
}

/* "- ..." at column `indent` */
static gboolean
parse_item (Parser      *p,
            gint         indent,
            const gchar *s,
            GError     **error)
{
  while (stack_top (p)->indent > indent || (stack_top (p)->indent == indent && stack_top (p)->item))
    stack_pop (p);
  Frame *parent = stack_top (p);
  if (parent->indent < 0)
    return parse_error (p, error, "a list at the top level");
  gint index = GPOINTER_TO_INT (g_hash_table_lookup (p->counters, parent->path));
  g_hash_table_insert (p->counters, g_strdup (parent->path), GINT_TO_POINTER (index + 1));
  g_autofree gchar *n = g_strdup_printf ("%d", index);
  g_autofree gchar *path = path_join (parent->path, n);
  const gchar *rest = s + 1;
  while (*rest == ' ')
    rest++;
  if (!stack_push (p, indent + 1, path, TRUE, error))
    return FALSE;
  if (*rest == '\0')
    return TRUE; /* the item's content follows, more indented */
  /* "- key: value" opens a mapping item whose keys line up with `key` */
  gboolean is_mapping = FALSE;
  if (*rest != '"' && *rest != '\'' && *rest != '[' && *rest != '{')
    for (const gchar *c = rest; *c; c++)
      if (*c == ':' && (c[1] == ' ' || c[1] == '\0'))
        is_mapping = TRUE;
  if (is_mapping)
    return parse_key (p, indent + (gint) (rest - s), rest, error);
  return store (p, path, rest, error);
}

GillLdmYaml *
gill_ldm_yaml_parse (const gchar *text,
                     gssize       length,
                     const gchar *name,
                     GError     **error)
{
  g_return_val_if_fail (text != NULL || length == 0, NULL);
  gsize n = length < 0 ? strlen (text) : (gsize) length;
  if (memchr (text, '\0', n) != NULL || !g_utf8_validate (text, n, NULL))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not UTF-8 text; is this an LDM config (.yaml)?", name);
      return NULL;
    }
  g_autoptr (GillLdmYaml) yaml = g_new0 (GillLdmYaml, 1);
  yaml->path = g_strdup (name);
  yaml->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  yaml->quoted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Parser p = { .name = name, .yaml = yaml };
  p.stack = g_array_new (FALSE, FALSE, sizeof (Frame));
  p.counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stack_push (&p, -1, "", FALSE, NULL);

  g_autofree gchar *copy = g_strndup (text, n);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);
  gboolean ok = TRUE;
  for (gint l = 0; ok && lines[l]; l++)
    {
      p.line = l + 1;
      gchar *line = lines[l];
      gsize len = strlen (line);
      if (len && line[len - 1] == '\r')
        line[--len] = '\0';
      gint indent = 0;
      while (line[indent] == ' ')
        indent++;
      gchar *s = line + indent;
      s[content_length (s)] = '\0';
      if (*s == '\0')
        continue;
      if (*s == '\t')
        ok = parse_error (&p, error, "a tab in the indentation (YAML allows spaces only)");
      else if (indent == 0 && (g_str_equal (s, "---") || g_str_equal (s, "...")))
        continue;
      else if (s[0] == '-' && (s[1] == ' ' || s[1] == '\0'))
        ok = parse_item (&p, indent, s, error);
      else
        {
          while (stack_top (&p)->indent >= indent)
            stack_pop (&p);
          ok = parse_key (&p, indent, s, error);
        }
    }
  while (p.stack->len > 0)
    stack_pop (&p);
  g_array_unref (p.stack);
  g_hash_table_unref (p.counters);
  return ok ? g_steal_pointer (&yaml) : NULL;
}

GillLdmYaml *
gill_ldm_yaml_load (const gchar *path,
                    GError     **error)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, GILL_ERROR, local->code == G_FILE_ERROR_NOENT ? GILL_ERROR_MODEL_MISSING : GILL_ERROR_IO,
                   "%s: cannot read the LDM config: %s", path, local->message);
      return NULL;
    }
  if (len > LDM_YAML_MAX_BYTES)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %" G_GSIZE_FORMAT " bytes is too large for an LDM config",
                   path, len);
      return NULL;
    }
  return gill_ldm_yaml_parse (text, (gssize) len, path, error);
}

void
gill_ldm_yaml_free (GillLdmYaml *yaml)
{
  if (yaml == NULL)
    return;
  g_free (yaml->path);
  g_clear_pointer (&yaml->values, g_hash_table_unref);
  g_clear_pointer (&yaml->quoted, g_hash_table_unref);
  g_free (yaml);
}

/* ------------------------------------------------------------------ typed reads */

const gchar *
gill_ldm_yaml_get (const GillLdmYaml *yaml,
                   const gchar       *key)
{
  return g_hash_table_lookup (yaml->values, key);
}

static gboolean
text_to_int (const gchar *s,
             gint64      *out)
{
  if (*s == '\0')
    return FALSE;
  gchar *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (s, &end, 10);
  if (errno != 0 || *end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
text_to_double (const gchar *s,
                double      *out)
{
  if (*s == '\0' || g_ascii_isalpha (*s))
    return FALSE;
  gchar *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (s, &end);
  if (errno != 0 || *end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

/* YAML 1.1 booleans, as PyYAML (and so OmegaConf and the LDM code) reads them */
static gboolean
text_to_bool (const gchar *s,
              gboolean    *out)
{
  static const gchar *const yes[] = { "true", "yes", "on" };
  static const gchar *const no[] = { "false", "no", "off" };
  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (s, yes[i]) == 0)
        {
          *out = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (s, no[i]) == 0)
        {
          *out = FALSE;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
typed_error (const GillLdmYaml *yaml,
             const gchar       *key,
             const gchar       *value,
             const gchar       *what,
             GError           **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s is '%s', not %s", yaml->path, key, value, what);
  return FALSE;
}

gboolean
gill_ldm_yaml_get_int (const GillLdmYaml *yaml,
                       const gchar       *key,
                       gint64             fallback,
                       gint64            *out,
                       GError           **error)
{
  const gchar *v = gill_ldm_yaml_get (yaml, key);
  *out = fallback;
  if (v == NULL)
    return TRUE;
  return text_to_int (v, out) || typed_error (yaml, key, v, "an integer", error);
}

gboolean
gill_ldm_yaml_get_double (const GillLdmYaml *yaml,
                          const gchar       *key,
                          double             fallback,
                          double            *out,
                          GError           **error)
{
  const gchar *v = gill_ldm_yaml_get (yaml, key);
  *out = fallback;
  if (v == NULL)
    return TRUE;
  return text_to_double (v, out) || typed_error (yaml, key, v, "a number", error);
}

gboolean
gill_ldm_yaml_get_bool (const GillLdmYaml *yaml,
                        const gchar       *key,
                        gboolean           fallback,
                        gboolean          *out,
                        GError           **error)
{
  const gchar *v = gill_ldm_yaml_get (yaml, key);
  *out = fallback;
  if (v == NULL)
    return TRUE;
  return text_to_bool (v, out) || typed_error (yaml, key, v, "true or false", error);
}

/* the elements of a flow list "[a, b, c]" (transfer full), or NULL when not one */
static GStrv
flow_list_items (const gchar *s)
{
  gsize n = strlen (s);
  if (n < 2 || s[0] != '[' || s[n - 1] != ']')
    return NULL;
  g_autofree gchar *inner = g_strndup (s + 1, n - 2);
  if (strchr (inner, '[') || strchr (inner, '{') || strchr (inner, '"') || strchr (inner, '\''))
    return NULL; /* nested or quoted: kept as text */
  if (*g_strstrip (inner) == '\0')
    return g_new0 (gchar *, 1);
  GStrv items = g_strsplit (inner, ",", -1);
  for (gsize i = 0; items[i]; i++)
    g_strstrip (items[i]);
  return items;
}

GArray *
gill_ldm_yaml_get_int_list (const GillLdmYaml *yaml,
                            const gchar       *key,
                            GError           **error)
{
  const gchar *v = gill_ldm_yaml_get (yaml, key);
  if (v == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: no key %s", yaml->path, key);
      return NULL;
    }
  g_auto (GStrv) items = flow_list_items (v);
  if (items == NULL)
    {
      typed_error (yaml, key, v, "a list of integers [a, b, ...]", error);
      return NULL;
    }
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (gsize i = 0; items[i]; i++)
    {
      gint64 x;
      if (!text_to_int (items[i], &x))
        {
          g_array_unref (out);
          typed_error (yaml, key, v, "a list of integers [a, b, ...]", error);
          return NULL;
        }
      g_array_append_val (out, x);
    }
  return out;
}

/* ------------------------------------------------------------------ JSON */

static JsonNode *
scalar_to_json (const gchar *s,
                gboolean     quoted)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);
  gint64 i;
  double d;
  gboolean b;
  if (quoted)
    json_node_set_string (node, s);
  else if (*s == '\0' || g_str_equal (s, "~") || g_ascii_strcasecmp (s, "null") == 0)
    json_node_init_null (node);
  else if (text_to_int (s, &i))
    json_node_set_int (node, i);
  else if (text_to_double (s, &d))
    json_node_set_double (node, d);
  else if (text_to_bool (s, &b))
    json_node_set_boolean (node, b);
  else
    {
      g_auto (GStrv) items = flow_list_items (s);
      if (items == NULL)
        json_node_set_string (node, s);
      else
        {
          JsonArray *array = json_array_new ();
          for (gsize k = 0; items[k]; k++)
            json_array_add_element (array, scalar_to_json (items[k], FALSE));
          json_node_init_array (node, array);
          json_array_unref (array);
        }
    }
  return node;
}

/* the object at the dotted path below root, created as needed */
static JsonObject *
json_child (JsonObject  *root,
            gchar      **parts,
            gsize        n)
{
  JsonObject *o = root;
  for (gsize i = 0; i < n; i++)
    {
      JsonNode *child = json_object_get_member (o, parts[i]);
      if (child == NULL || !JSON_NODE_HOLDS_OBJECT (child))
        {
          JsonObject *fresh = json_object_new ();
          json_object_set_object_member (o, parts[i], fresh);
          o = fresh;
        }
      else
        o = json_node_get_object (child);
    }
  return o;
}

JsonObject *
gill_ldm_yaml_to_json (const GillLdmYaml *yaml,
                       const gchar       *prefix)
{
  g_autofree gchar *dotted = prefix && *prefix ? g_strconcat (prefix, ".", NULL) : g_strdup ("");
  g_autoptr (JsonObject) root = json_object_new ();
  gboolean any = FALSE;
  g_autoptr (GList) keys = g_hash_table_get_keys (yaml->values);
  keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    {
      const gchar *key = l->data;
      if (!g_str_has_prefix (key, dotted))
        continue;
      g_auto (GStrv) parts = g_strsplit (key + strlen (dotted), ".", -1);
      gsize n = g_strv_length (parts);
      JsonObject *parent = json_child (root, parts, n - 1);
      json_object_set_member (parent, parts[n - 1],
                              scalar_to_json (g_hash_table_lookup (yaml->values, key),
                                              g_hash_table_contains (yaml->quoted, key)));
      any = TRUE;
    }
  return any ? g_steal_pointer (&root) : NULL;
}
