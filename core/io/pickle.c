/* pickle.c — a restricted unpickler (models.md §4.2, §4.4): rebuilds containers, numbers,
 * strings, torch tensors and numpy arrays; resolves only the globals of pickle.h.
 *
 * The machine is CPython's: a value stack split into frames by MARKs, and a memo. Marks are kept
 * as stack positions. Mutation of a memoised container could close a cycle; that is refused,
 * so every value tree is acyclic and can be freed by reference counting. This file is the
 * machine (opcodes, stack, memo); the allow-list and the objects its globals build (tensors,
 * storages, numpy arrays, OrderedDict, ...) are in pickle-objects.c. */
#include "core/io/pickle.h"

#include <stdarg.h>
#include <string.h>

#include "core/base/error.h"
#include "core/io/pickle-private.h"

#define MAX_STACK 50000           /* values on the stack (Python batches 1,000 items a MARK) */
#define MAX_MARKS 10000           /* open MARKs */
#define MAX_PROTOCOL 5
#define GRAPH_BUDGET_BASE 1000000 /* node visits for cycle checks, plus 16 per input byte */

/* ------------------------------------------------------------------------------------------ */
/* the machine */

gboolean
pickle_fail (Unpickler   *u,
             GillError    code,
             const gchar *format,
             ...)
{
  va_list args;
  va_start (args, format);
  g_autofree gchar *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (u->error, GILL_ERROR, code, "%s: %s", u->name, message);
  return FALSE;
}

const gchar *
pickle_type_name (const GillValue *value)
{
  return value->kind == GILL_VALUE_OBJECT ? value->object.type : gill_value_kind_name (value->kind);
}

static gboolean
fail_truncated (Unpickler *u,
                guint64    needed)
{
  return pickle_fail (u, GILL_ERROR_FORMAT,
                      "the pickle is truncated: opcode 0x%02x at offset %" G_GSIZE_FORMAT " needs %"
                      G_GUINT64_FORMAT " bytes, %" G_GSIZE_FORMAT " are left", u->op, u->op_offset,
                      needed, u->len - u->pos);
}

/* the next n argument bytes */
static gboolean
take (Unpickler     *u,
      guint64        n,
      const guint8 **p)
{
  *p = NULL;
  if (n > u->len - u->pos)
    return fail_truncated (u, n);
  *p = u->data + u->pos;
  u->pos += n;
  return TRUE;
}

/* a little-endian unsigned argument of width bytes */
static gboolean
take_uint (Unpickler *u,
           guint      width,
           guint64   *out)
{
  const guint8 *p;
  *out = 0;
  if (!take (u, width, &p))
    return FALSE;
  for (guint i = width; i > 0; i--)
    *out = *out << 8 | p[i - 1];
  return TRUE;
}

/* a text argument up to '\n' (protocol 0 opcodes); the newline is consumed, not returned */
static gboolean
take_line (Unpickler    *u,
           const gchar **line,
           gsize        *len)
{
  const guint8 *nl = memchr (u->data + u->pos, '\n', u->len - u->pos);
  *line = NULL;
  *len = 0;
  if (nl == NULL)
    return pickle_fail (u, GILL_ERROR_FORMAT, "the pickle is truncated: opcode 0x%02x at offset %"
                        G_GSIZE_FORMAT " has no end of line", u->op, u->op_offset);
  *line = (const gchar *) u->data + u->pos;
  *len = nl - (u->data + u->pos);
  u->pos += *len + 1;
  return TRUE;
}

static guint
frame_base (const Unpickler *u)
{
  return u->marks->len ? g_array_index (u->marks, guint, u->marks->len - 1) : 0;
}

/* takes value (NULL after a failure, which is passed on) */
static gboolean
push (Unpickler *u,
      GillValue *value)
{
  if (value == NULL)
    return FALSE;
  g_ptr_array_add (u->stack, value);
  return TRUE;
}

static gboolean
need_items (Unpickler *u,
            guint      n)
{
  if (u->stack->len - frame_base (u) >= n)
    return TRUE;
  return pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " needs %u values "
                      "on the stack; the pickle is corrupt", u->op, u->op_offset, n);
}

/* (transfer full) the top value, or NULL + error on an empty frame */
static GillValue *
pop (Unpickler *u)
{
  return need_items (u, 1) ? g_ptr_array_steal_index (u->stack, u->stack->len - 1) : NULL;
}

/* (transfer none) the top value */
static GillValue *
peek (Unpickler *u)
{
  return need_items (u, 1) ? g_ptr_array_index (u->stack, u->stack->len - 1) : NULL;
}

static gboolean
pop_mark (Unpickler *u,
          guint     *base)
{
  *base = 0;
  if (u->marks->len == 0)
    return pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " has no MARK to "
                        "close; the pickle is corrupt", u->op, u->op_offset);
  *base = g_array_index (u->marks, guint, u->marks->len - 1);
  g_array_set_size (u->marks, u->marks->len - 1);
  return TRUE;
}

/* the stack from position from on, moved into a new LIST or TUPLE */
static GillValue *
pop_sequence (Unpickler    *u,
              GillValueKind kind,
              guint         from)
{
  GillValue *seq = kind == GILL_VALUE_TUPLE ? gill_value_new_tuple () : gill_value_new_list ();
  for (guint i = from; i < u->stack->len; i++)
    gill_value_append (seq, g_ptr_array_index (u->stack, i));
  g_ptr_array_set_size (u->stack, from); /* drops the stack's references */
  return seq;
}

/* the values since the last MARK */
static GillValue *
pop_marked (Unpickler    *u,
            GillValueKind kind)
{
  guint base;
  return pop_mark (u, &base) ? pop_sequence (u, kind, base) : NULL;
}

static GillValue *
pop_tuple (Unpickler *u,
           guint      n)
{
  return need_items (u, n) ? pop_sequence (u, GILL_VALUE_TUPLE, u->stack->len - n) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* guards */

/* Python allows a list to hold itself; gill refuses, so that trees stay acyclic. Only a
 * container pushed again by GET or DUP can already be inside the item. */
static gboolean
check_insert (Unpickler       *u,
              const GillValue *container,
              const GillValue *item)
{
  if (!gill_value_is_container (item) || !g_hash_table_contains (u->shared, container))
    return TRUE;
  switch (gill_value_reaches (item, container, &u->graph_budget))
    {
    case GILL_VALUE_WALK_FOUND:
      return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle builds a %s that contains itself (offset %"
                          G_GSIZE_FORMAT "); gill loads only acyclic data", pickle_type_name (container), u->op_offset);
    case GILL_VALUE_WALK_OVER_BUDGET:
      return pickle_fail (u, GILL_ERROR_FORMAT, "the pickle's object graph is too tangled to check (at offset %"
                          G_GSIZE_FORMAT "); the file is corrupt or hostile", u->op_offset);
    default:
      return TRUE;
    }
}

/* The result must be an acyclic tree of at most GILL_VALUE_MAX_DEPTH nesting whose expansion
 * (shared values counted at every use, strings by their length) stays near the input size, so
 * that JSON stays cheap. A pickle without shared containers expands to less than its length. */
static gboolean
validate_tree (Unpickler       *u,
               const GillValue *root)
{
  guint64 limit = 2 * (guint64) u->len + 65536;
  switch (gill_value_check_tree (root, GILL_VALUE_MAX_DEPTH, limit))
    {
    case GILL_VALUE_TREE_CYCLE:
      return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle builds a container that contains itself; "
                          "gill loads only acyclic data");
    case GILL_VALUE_TREE_TOO_DEEP:
      return pickle_fail (u, GILL_ERROR_FORMAT, "the pickle nests containers more than %d deep; the file is "
                          "corrupt or hostile", GILL_VALUE_MAX_DEPTH);
    case GILL_VALUE_TREE_TOO_BIG:
      return pickle_fail (u, GILL_ERROR_FORMAT, "the pickle's shared containers expand to more than %"
                          G_GUINT64_FORMAT " values; the file is corrupt or hostile", limit);
    default:
      return TRUE;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* scalar opcodes */

static gboolean
utf8_valid (const guint8 *p,
            gsize         n)
{
  /* g_utf8_validate_len stops at NUL bytes, which Python strings may hold */
  while (n > 0)
    {
      const gchar *end;
      if (g_utf8_validate_len ((const gchar *) p, n, &end))
        return TRUE;
      if (*end != '\0')
        return FALSE;
      gsize k = (const guint8 *) end - p + 1;
      p += k;
      n -= k;
    }
  return TRUE;
}

static GillValue *
new_string (Unpickler    *u,
            const guint8 *p,
            gsize         n)
{
  if (!utf8_valid (p, n))
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "the string at offset %" G_GSIZE_FORMAT " is not valid "
                   "UTF-8", u->op_offset);
      return NULL;
    }
  return gill_value_new_string ((const gchar *) p, n);
}

static GillValue *
new_bytes (Unpickler    *u,
           const guint8 *p,
           gsize         n)
{
  g_autoptr (GBytes) bytes = u->owner ? g_bytes_new_from_bytes (u->owner, p - u->data, n) : g_bytes_new (p, n);
  return gill_value_new_bytes (bytes);
}

/* Python 2 str (BINSTRING, STRING): text when it is UTF-8, bytes otherwise */
static GillValue *
new_py2_string (Unpickler    *u,
                const guint8 *p,
                gsize         n)
{
  return utf8_valid (p, n) ? gill_value_new_string ((const gchar *) p, n) : new_bytes (u, p, n);
}

static gpointer
fail_wide_int (Unpickler *u)
{
  pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the integer at offset %" G_GSIZE_FORMAT " is wider than "
               "64 bits; gill loads 64-bit integers only", u->op_offset);
  return NULL;
}

/* LONG1/LONG4: little-endian two's complement of n bytes */
static GillValue *
new_long (Unpickler    *u,
          const guint8 *p,
          gsize         n)
{
  if (n == 0)
    return gill_value_new_int (0);
  /* bytes beyond the eighth may only repeat the sign */
  guint8 sign = p[n - 1] & 0x80 ? 0xff : 0x00;
  for (gsize i = 8; i < n; i++)
    if (p[i] != sign)
      return fail_wide_int (u);
  if (n > 8 && (p[7] & 0x80 ? 0xff : 0x00) != sign)
    return fail_wide_int (u);
  guint64 v = sign ? G_MAXUINT64 : 0;
  for (gsize i = MIN (n, 8); i > 0; i--)
    v = v << 8 | p[i - 1];
  return gill_value_new_int ((gint64) v);
}

/* a decimal line (INT, LONG, GET, PUT); LONG's trailing 'L' allowed */
static gboolean
parse_decimal (Unpickler   *u,
               const gchar *line,
               gsize        len,
               gint64      *out)
{
  g_autofree gchar *text = g_strndup (line, len);
  g_autoptr (GError) local = NULL;
  if (len > 0 && text[len - 1] == 'L')
    text[len - 1] = '\0';
  if (g_ascii_string_to_signed (g_strstrip (text), 10, G_MININT64, G_MAXINT64, out, &local))
    return TRUE;
  if (!g_error_matches (local, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
    return pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " has a malformed "
                        "number", u->op, u->op_offset);
  fail_wide_int (u);
  return FALSE;
}

static GillValue *
new_text_int (Unpickler   *u,
              const gchar *line,
              gsize        len)
{
  gint64 v;
  /* protocol 0 spells booleans "I01" and "I00" */
  if (len == 2 && line[0] == '0' && (line[1] == '0' || line[1] == '1'))
    return gill_value_new_bool (line[1] == '1');
  return parse_decimal (u, line, len, &v) ? gill_value_new_int (v) : NULL;
}

static GillValue *
new_text_float (Unpickler   *u,
                const gchar *line,
                gsize        len)
{
  g_autofree gchar *text = g_strndup (line, len);
  gchar *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (len == 0 || end != text + len)
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "FLOAT at offset %" G_GSIZE_FORMAT " is malformed",
                   u->op_offset);
      return NULL;
    }
  return gill_value_new_float (v);
}

static gint
hex_value (gchar c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* STRING: a quoted Python 2 repr with \\ \' \" \n \r \t \0 \xHH escapes */
static GillValue *
new_text_string (Unpickler   *u,
                 const gchar *line,
                 gsize        len)
{
  if (len < 2 || (line[0] != '\'' && line[0] != '"') || line[len - 1] != line[0])
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "STRING at offset %" G_GSIZE_FORMAT " is not quoted",
                   u->op_offset);
      return NULL;
    }
  g_autoptr (GByteArray) out = g_byte_array_new ();
  for (gsize i = 1; i + 1 < len; i++)
    {
      guint8 c = line[i];
      if (c == '\\' && i + 2 < len)
        {
          gchar e = line[++i];
          c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == '0' ? '\0' : (guint8) e;
          if (e == 'x' && i + 3 < len && hex_value (line[i + 1]) >= 0 && hex_value (line[i + 2]) >= 0)
            {
              c = (guint8) (hex_value (line[i + 1]) << 4 | hex_value (line[i + 2]));
              i += 2;
            }
        }
      g_byte_array_append (out, &c, 1);
    }
  return new_py2_string (u, out->data, out->len);
}

/* UNICODE: raw-unicode-escape, i.e. latin-1 bytes with \uXXXX and \UXXXXXXXX escapes */
static GillValue *
new_text_unicode (Unpickler   *u,
                  const gchar *line,
                  gsize        len)
{
  g_autoptr (GString) out = g_string_new (NULL);
  for (gsize i = 0; i < len; i++)
    {
      gunichar c = (guint8) line[i];
      gsize digits = c == '\\' && i + 1 < len ? (line[i + 1] == 'u' ? 4 : line[i + 1] == 'U' ? 8 : 0) : 0;
      if (digits && i + 2 + digits <= len)
        {
          c = 0;
          for (gsize k = 0; k < digits; k++)
            {
              gint h = hex_value (line[i + 2 + k]);
              if (h < 0)
                {
                  pickle_fail (u, GILL_ERROR_FORMAT, "UNICODE at offset %" G_GSIZE_FORMAT " has a "
                               "malformed escape", u->op_offset);
                  return NULL;
                }
              c = c << 4 | (guint) h;
            }
          i += 1 + digits;
        }
      if (!g_unichar_validate (c))
        {
          pickle_fail (u, GILL_ERROR_FORMAT, "UNICODE at offset %" G_GSIZE_FORMAT " holds an invalid "
                       "code point", u->op_offset);
          return NULL;
        }
      g_string_append_unichar (out, c);
    }
  return gill_value_new_string (out->str, out->len);
}

static gboolean
op_number (Unpickler *u)
{
  guint64 v, n;
  gint64 i;
  const guint8 *p;
  const gchar *line;
  gsize len;

  switch (u->op)
    {
    case 'K': /* BININT1 */
      return take_uint (u, 1, &v) && push (u, gill_value_new_int ((gint64) v));
    case 'M': /* BININT2 */
      return take_uint (u, 2, &v) && push (u, gill_value_new_int ((gint64) v));
    case 'J': /* BININT: signed 32-bit */
      return take_uint (u, 4, &v) && push (u, gill_value_new_int ((gint32) (guint32) v));
    case 0x8a: /* LONG1 */
      return take_uint (u, 1, &n) && take (u, n, &p) && push (u, new_long (u, p, n));
    case 0x8b: /* LONG4: signed 32-bit length */
      if (!take_uint (u, 4, &n))
        return FALSE;
      if ((gint32) (guint32) n < 0)
        return pickle_fail (u, GILL_ERROR_FORMAT, "LONG4 at offset %" G_GSIZE_FORMAT " has a negative length",
                            u->op_offset);
      return take (u, n, &p) && push (u, new_long (u, p, n));
    case 'G': /* BINFLOAT: big-endian IEEE double */
      {
        guint64 bits = 0;
        double d;
        if (!take (u, 8, &p))
          return FALSE;
        for (guint k = 0; k < 8; k++)
          bits = bits << 8 | p[k];
        memcpy (&d, &bits, 8);
        return push (u, gill_value_new_float (d));
      }
    case 'I':
      return take_line (u, &line, &len) && push (u, new_text_int (u, line, len));
    case 'L':
      return take_line (u, &line, &len) && parse_decimal (u, line, len, &i) && push (u, gill_value_new_int (i));
    case 'F':
      return take_line (u, &line, &len) && push (u, new_text_float (u, line, len));
    case 'N':
      return push (u, gill_value_new_none ());
    case 0x88: /* NEWTRUE */
      return push (u, gill_value_new_bool (TRUE));
    case 0x89: /* NEWFALSE */
      return push (u, gill_value_new_bool (FALSE));
    default:
      g_assert_not_reached ();
    }
}

/* the length-prefixed string and bytes opcodes: width of the length, and what they make */
static gboolean
op_string (Unpickler *u)
{
  guint width = 0;
  guint64 n;
  const guint8 *p;
  const gchar *line;
  gsize len;

  switch (u->op)
    {
    case 0x8c: case 'U': case 'C': width = 1; break;   /* SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES */
    case 'X': case 'T': case 'B': width = 4; break;    /* BINUNICODE, BINSTRING, BINBYTES */
    case 0x8d: case 0x8e: case 0x96: width = 8; break; /* BINUNICODE8, BINBYTES8, BYTEARRAY8 */
    case 'S':
      return take_line (u, &line, &len) && push (u, new_text_string (u, line, len));
    case 'V':
      return take_line (u, &line, &len) && push (u, new_text_unicode (u, line, len));
    default:
      g_assert_not_reached ();
    }
  if (!take_uint (u, width, &n))
    return FALSE;
  if (u->op == 'T' && (gint32) (guint32) n < 0)
    return pickle_fail (u, GILL_ERROR_FORMAT, "BINSTRING at offset %" G_GSIZE_FORMAT " has a negative length",
                        u->op_offset);
  if (!take (u, n, &p))
    return FALSE;
  switch (u->op)
    {
    case 0x8c: case 'X': case 0x8d:
      return push (u, new_string (u, p, n));
    case 'U': case 'T':
      return push (u, new_py2_string (u, p, n));
    default:
      return push (u, new_bytes (u, p, n));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* memo */

static gboolean
memo_put (Unpickler *u,
          guint64    index)
{
  GillValue *top = peek (u);
  if (top == NULL)
    return FALSE;
  /* each memo entry needs at least one opcode byte before it */
  if (index >= u->len)
    return pickle_fail (u, GILL_ERROR_FORMAT, "memo index %" G_GUINT64_FORMAT " at offset %" G_GSIZE_FORMAT
                        " is out of range for a %" G_GSIZE_FORMAT "-byte pickle; the file is corrupt", index,
                        u->op_offset, u->len);
  if (index >= u->memo->len)
    g_ptr_array_set_size (u->memo, index + 1);
  GillValue *old = g_ptr_array_index (u->memo, index);
  if (old == NULL)
    u->memo_count++;
  g_ptr_array_index (u->memo, index) = gill_value_ref (top);
  gill_value_unref (old);
  return TRUE;
}

/* push another reference to value; a container pushed twice may be mutated through either */
static gboolean
push_again (Unpickler *u,
            GillValue *value)
{
  if (gill_value_is_container (value))
    g_hash_table_add (u->shared, value);
  return push (u, gill_value_ref (value));
}

static gboolean
memo_get (Unpickler *u,
          guint64    index)
{
  if (index >= u->memo->len || g_ptr_array_index (u->memo, index) == NULL)
    return pickle_fail (u, GILL_ERROR_FORMAT, "memo index %" G_GUINT64_FORMAT " at offset %" G_GSIZE_FORMAT
                        " is not set; the pickle is corrupt", index, u->op_offset);
  return push_again (u, g_ptr_array_index (u->memo, index));
}

static gboolean
op_memo (Unpickler *u)
{
  guint64 index;
  gint64 text_index;
  const gchar *line;
  gsize len;

  switch (u->op)
    {
    case 'q': return take_uint (u, 1, &index) && memo_put (u, index); /* BINPUT */
    case 'r': return take_uint (u, 4, &index) && memo_put (u, index); /* LONG_BINPUT */
    case 0x94: return memo_put (u, u->memo_count);                    /* MEMOIZE */
    case 'h': return take_uint (u, 1, &index) && memo_get (u, index); /* BINGET */
    case 'j': return take_uint (u, 4, &index) && memo_get (u, index); /* LONG_BINGET */
    case 'p': case 'g':                                               /* PUT, GET */
      if (!take_line (u, &line, &len) || !parse_decimal (u, line, len, &text_index))
        return FALSE;
      if (text_index < 0)
        return pickle_fail (u, GILL_ERROR_FORMAT, "negative memo index at offset %" G_GSIZE_FORMAT, u->op_offset);
      return u->op == 'p' ? memo_put (u, text_index) : memo_get (u, text_index);
    default:
      g_assert_not_reached ();
    }
}

/* ------------------------------------------------------------------------------------------ */
/* containers */

static gboolean
fail_target (Unpickler       *u,
             const GillValue *target,
             const gchar     *expected)
{
  return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " adds items to a "
                      "%s, where gill expects a %s", u->op, u->op_offset, pickle_type_name (target), expected);
}

/* SETITEM(S), DICT: the pairs on the stack from position from on, into dict */
static gboolean
dict_add_pairs (Unpickler *u,
                GillValue *dict,
                guint      from)
{
  if (dict->kind != GILL_VALUE_DICT)
    return fail_target (u, dict, "dict");
  if ((u->stack->len - from) % 2 != 0)
    return pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " has an odd number "
                        "of keys and values", u->op, u->op_offset);
  for (guint i = from; i < u->stack->len; i += 2)
    {
      GillValue *key = g_ptr_array_index (u->stack, i), *value = g_ptr_array_index (u->stack, i + 1);
      if (!check_insert (u, dict, key) || !check_insert (u, dict, value))
        return FALSE;
      gill_value_dict_set (dict, key, value);
    }
  g_ptr_array_set_size (u->stack, from);
  return TRUE;
}

/* APPEND(S), ADDITEMS: the stack from position from on, onto list */
static gboolean
list_add_items (Unpickler *u,
                GillValue *list,
                guint      from)
{
  if (list->kind != GILL_VALUE_LIST)
    return fail_target (u, list, "list");
  for (guint i = from; i < u->stack->len; i++)
    {
      if (!check_insert (u, list, g_ptr_array_index (u->stack, i)))
        return FALSE;
      gill_value_append (list, g_ptr_array_index (u->stack, i));
    }
  g_ptr_array_set_size (u->stack, from);
  return TRUE;
}

/* the container right below the last MARK (SETITEMS, APPENDS, ADDITEMS) */
static GillValue *
marked_target (Unpickler *u,
               guint     *base)
{
  if (!pop_mark (u, base))
    return NULL;
  if (*base == 0 || *base <= frame_base (u))
    {
      pickle_fail (u, GILL_ERROR_FORMAT, "opcode 0x%02x at offset %" G_GSIZE_FORMAT " has no "
                   "container below its MARK; the pickle is corrupt", u->op, u->op_offset);
      return NULL;
    }
  return g_ptr_array_index (u->stack, *base - 1);
}

static gboolean
op_container (Unpickler *u)
{
  GillValue *target;
  guint base;

  switch (u->op)
    {
    case '}': return push (u, gill_value_new_dict ());                     /* EMPTY_DICT */
    case ']': case 0x8f: return push (u, gill_value_new_list ());          /* EMPTY_LIST, EMPTY_SET */
    case ')': return push (u, gill_value_new_tuple ());                    /* EMPTY_TUPLE */
    case 0x85: return push (u, pop_tuple (u, 1));                          /* TUPLE1 */
    case 0x86: return push (u, pop_tuple (u, 2));                          /* TUPLE2 */
    case 0x87: return push (u, pop_tuple (u, 3));                          /* TUPLE3 */
    case 't': return push (u, pop_marked (u, GILL_VALUE_TUPLE));           /* TUPLE */
    case 'l': case 0x91: return push (u, pop_marked (u, GILL_VALUE_LIST)); /* LIST, FROZENSET */
    case 'd': /* DICT */
      {
        if (!pop_mark (u, &base))
          return FALSE;
        g_autoptr (GillValue) dict = gill_value_new_dict ();
        return dict_add_pairs (u, dict, base) && push (u, g_steal_pointer (&dict));
      }
    case 's': /* SETITEM */
      return need_items (u, 3)
             && dict_add_pairs (u, g_ptr_array_index (u->stack, u->stack->len - 3), u->stack->len - 2);
    case 'a': /* APPEND */
      return need_items (u, 2)
             && list_add_items (u, g_ptr_array_index (u->stack, u->stack->len - 2), u->stack->len - 1);
    case 'u': /* SETITEMS */
      return (target = marked_target (u, &base)) && dict_add_pairs (u, target, base);
    case 'e': case 0x90: /* APPENDS, ADDITEMS */
      return (target = marked_target (u, &base)) && list_add_items (u, target, base);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
op_stack (Unpickler *u)
{
  guint base;
  GillValue *top;

  switch (u->op)
    {
    case '(': /* MARK */
      if (u->marks->len >= MAX_MARKS)
        return pickle_fail (u, GILL_ERROR_FORMAT, "the pickle opens more than %d MARKs (offset %" G_GSIZE_FORMAT
                            "); the file is corrupt or hostile", MAX_MARKS, u->op_offset);
      g_array_append_val (u->marks, u->stack->len);
      return TRUE;
    case '1': /* POP_MARK */
      if (!pop_mark (u, &base))
        return FALSE;
      g_ptr_array_set_size (u->stack, base);
      return TRUE;
    case '0': /* POP: on an empty frame, CPython pops the MARK instead */
      if (u->stack->len == frame_base (u))
        return pop_mark (u, &base);
      g_ptr_array_set_size (u->stack, u->stack->len - 1);
      return TRUE;
    case '2': /* DUP */
      return (top = peek (u)) && push_again (u, top);
    default:
      g_assert_not_reached ();
    }
}

/* ------------------------------------------------------------------------------------------ */
/* globals and calls: the opcodes; what they build is in pickle-objects.c */

static gboolean
op_global (Unpickler *u)
{
  const gchar *module, *name;
  gsize module_len, name_len;

  if (u->op == 'c' || u->op == 'i') /* GLOBAL, INST: "module\nname\n" */
    return take_line (u, &module, &module_len) && take_line (u, &name, &name_len)
           && push (u, pickle_global_new (u, module, module_len, name, name_len));
  /* STACK_GLOBAL: module and name strings from the stack */
  g_autoptr (GillValue) name_value = pop (u);
  g_autoptr (GillValue) module_value = name_value ? pop (u) : NULL;
  if (module_value == NULL)
    return FALSE;
  if (module_value->kind != GILL_VALUE_STRING || name_value->kind != GILL_VALUE_STRING)
    return pickle_fail (u, GILL_ERROR_FORMAT, "STACK_GLOBAL at offset %" G_GSIZE_FORMAT " needs two strings",
                        u->op_offset);
  module = g_bytes_get_data (module_value->bytes, &module_len);
  name = g_bytes_get_data (name_value->bytes, &name_len);
  return push (u, pickle_global_new (u, module ? module : "", module_len, name ? name : "", name_len));
}

static gboolean
op_call (Unpickler *u)
{
  switch (u->op)
    {
    case 'R': /* REDUCE: callable, args */
      {
        g_autoptr (GillValue) args = pop (u);
        g_autoptr (GillValue) callable = args ? pop (u) : NULL;
        if (callable && args->kind != GILL_VALUE_TUPLE)
          return pickle_fail (u, GILL_ERROR_FORMAT, "REDUCE at offset %" G_GSIZE_FORMAT " gets a %s, not an "
                              "argument tuple", u->op_offset, pickle_type_name (args));
        return callable && push (u, pickle_call (u, callable, args));
      }
    case 'i': /* INST: "module\nname\n" after the MARKed args */
      {
        if (!op_global (u))
          return FALSE;
        g_autoptr (GillValue) callable = pop (u);
        g_autoptr (GillValue) args = pop_marked (u, GILL_VALUE_TUPLE);
        return args && push (u, pickle_call (u, callable, args));
      }
    case 'o': /* OBJ: MARK cls args... */
      {
        g_autoptr (GillValue) args = pop_marked (u, GILL_VALUE_TUPLE);
        if (args && args->items->len == 0)
          return pickle_fail (u, GILL_ERROR_FORMAT, "OBJ at offset %" G_GSIZE_FORMAT " has no class", u->op_offset);
        g_autoptr (GillValue) callable = args ? g_ptr_array_steal_index (args->items, 0) : NULL;
        return callable && push (u, pickle_call (u, callable, args));
      }
    case 0x81: case 0x92: /* NEWOBJ: cls args; NEWOBJ_EX: cls args kwargs */
      {
        g_autoptr (GillValue) kwargs = u->op == 0x92 ? pop (u) : NULL;
        g_autoptr (GillValue) args = u->op == 0x81 || kwargs ? pop (u) : NULL;
        g_autoptr (GillValue) cls = args ? pop (u) : NULL;
        return cls && push (u, pickle_new_object (u, cls));
      }
    case 'b': /* BUILD: inst state -> inst */
      {
        g_autoptr (GillValue) state = pop (u);
        GillValue *inst = state ? peek (u) : NULL;
        return inst && pickle_build (u, inst, state);
      }
    case 'Q': /* BINPERSID */
      {
        g_autoptr (GillValue) pid = pop (u);
        return pid && push (u, pickle_persistent_load (u, pid));
      }
    case 'P': /* PERSID: a text id, never torch's */
      return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle uses a text persistent id (offset %" G_GSIZE_FORMAT
                          "), which torch.save never writes", u->op_offset);
    default:
      g_assert_not_reached ();
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the loop */

static gboolean
step (Unpickler *u)
{
  guint64 v;
  const guint8 *p;

  switch (u->op)
    {
    case 0x80: /* PROTO */
      if (!take_uint (u, 1, &v))
        return FALSE;
      if (v > MAX_PROTOCOL)
        return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "pickle protocol %" G_GUINT64_FORMAT " is newer than gill "
                            "knows (up to %d)", v, MAX_PROTOCOL);
      return TRUE;
    case 0x95: /* FRAME: an 8-byte length; frames are only a hint for buffered readers */
      return take_uint (u, 8, &v) && (v <= u->len - u->pos || fail_truncated (u, v));
    case 'K': case 'M': case 'J': case 0x8a: case 0x8b: case 'G': case 'I': case 'L': case 'F':
    case 'N': case 0x88: case 0x89:
      return op_number (u);
    case 0x8c: case 'U': case 'C': case 'X': case 'T': case 'B': case 0x8d: case 0x8e: case 0x96:
    case 'S': case 'V':
      return op_string (u);
    case 'q': case 'r': case 0x94: case 'h': case 'j': case 'p': case 'g':
      return op_memo (u);
    case '}': case ']': case 0x8f: case ')': case 0x85: case 0x86: case 0x87: case 't': case 'l':
    case 0x91: case 'd': case 's': case 'a': case 'u': case 'e': case 0x90:
      return op_container (u);
    case '(': case '1': case '0': case '2':
      return op_stack (u);
    case 'c': case 0x93:
      return op_global (u);
    case 'R': case 'i': case 'o': case 0x81: case 0x92: case 'b': case 'Q': case 'P':
      return op_call (u);
    case 0x82: case 0x83: case 0x84: /* EXT1, EXT2, EXT4 */
      return take (u, u->op == 0x82 ? 1 : u->op == 0x83 ? 2 : 4, &p)
             && pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle uses the extension registry (offset %"
                             G_GSIZE_FORMAT "), which gill does not load", u->op_offset);
    case 0x97: case 0x98: /* NEXT_BUFFER, READONLY_BUFFER */
      return pickle_fail (u, GILL_ERROR_UNSUPPORTED, "the pickle uses out-of-band buffers (offset %" G_GSIZE_FORMAT
                          "), which gill does not load", u->op_offset);
    default:
      return pickle_fail (u, GILL_ERROR_FORMAT, "unknown pickle opcode 0x%02x at offset %" G_GSIZE_FORMAT, u->op,
                          u->op_offset);
    }
}

static GillValue *
unpickler_run (Unpickler *u)
{
  while (u->pos < u->len)
    {
      u->op_offset = u->pos;
      u->op = u->data[u->pos++];
      if (u->op == '.') /* STOP */
        {
          g_autoptr (GillValue) result = pop (u);
          return result && validate_tree (u, result) ? g_steal_pointer (&result) : NULL;
        }
      if (!step (u))
        return NULL;
      if (u->stack->len > MAX_STACK)
        {
          pickle_fail (u, GILL_ERROR_FORMAT, "the pickle stacks more than %d values (offset %"
                       G_GSIZE_FORMAT "); the file is corrupt or hostile", MAX_STACK, u->op_offset);
          return NULL;
        }
    }
  pickle_fail (u, GILL_ERROR_FORMAT, "the pickle ends at offset %" G_GSIZE_FORMAT " without a STOP "
               "opcode; the file is truncated", u->len);
  return NULL;
}

static GillValue *
pickle_load (const guint8            *data,
             gsize                    len,
             GBytes                  *owner,
             const GillPickleOptions *options,
             GError                 **error)
{
  static const GillPickleOptions defaults = { "pickle", NULL, NULL, FALSE };
  g_autoptr (GError) local = NULL;
  Unpickler u = {
    .options = options ? options : &defaults,
    .data = data ? data : (const guint8 *) "",
    .len = len,
    .owner = owner,
    .graph_budget = GRAPH_BUDGET_BASE + 16 * (guint64) len,
    .error = &local,
  };
  u.name = u.options->name ? u.options->name : "pickle";
  u.stack = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_value_unref);
  u.marks = g_array_new (FALSE, FALSE, sizeof (guint));
  u.memo = g_ptr_array_new_with_free_func ((GDestroyNotify) gill_value_unref);
  u.storages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  u.shared = g_hash_table_new (NULL, NULL);

  GillValue *result = unpickler_run (&u);
  g_ptr_array_unref (u.stack);
  g_array_unref (u.marks);
  g_ptr_array_unref (u.memo);
  g_hash_table_unref (u.storages);
  g_hash_table_unref (u.shared);
  if (result == NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return result;
}

GillValue *
gill_pickle_load (const guint8            *data,
                  gsize                    len,
                  const GillPickleOptions *options,
                  GError                 **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return pickle_load (data, len, NULL, options, error);
}

GillValue *
gill_pickle_load_bytes (GBytes                  *bytes,
                        const GillPickleOptions *options,
                        GError                 **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  return pickle_load (data, len, bytes, options, error);
}
