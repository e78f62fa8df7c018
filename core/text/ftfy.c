/* ftfy.c — python-ftfy 6.1.1 fix_text (see ftfy.h for what is and is not implemented).
 *
 * Reference: python-ftfy 6.1 ftfy/__init__.py (fix_text, fix_and_explain,
 * fix_encoding_and_explain, _fix_encoding_one_step_and_explain), ftfy/fixes.py,
 * ftfy/chardata.py and ftfy/bad_codecs (sloppy codecs, utf-8-variants). Text is handled as
 * arrays of code points, as Python strings. The two "repeat until nothing changes" loops are
 * bounded (FTFY_MAX_ROUNDS), so adversarial input cannot make them run forever; ftfy's fixes
 * settle in two or three rounds on any real text. */
#include "core/text/ftfy.h"

#include <string.h>

#include "core/text/ftfy-private.h"
#include "core/text/unicode.h"

#define FTFY_MAX_ROUNDS 16
#define FTFY_MAX_SEGMENT 1000000    /* TextFixerConfig.max_decode_length */
#define FTFY_LATIN_1 (-1)           /* the encoding index of Latin-1, tried first */

/* ---- code point strings ----------------------------------------------------------------------- */

typedef struct
{
  gunichar *c;
  gsize n;
  gsize cap;
} UStr;

static void
ustr_reserve (UStr *s,
              gsize extra)
{
  if (s->n + extra <= s->cap)
    return;
  s->cap = MAX (s->n + extra, s->cap * 2 + 16);
  s->c = g_renew (gunichar, s->c, s->cap);
}

static inline void
ustr_push (UStr    *s,
           gunichar c)
{
  if (s->n == s->cap)
    ustr_reserve (s, 1);
  s->c[s->n++] = c;
}

static void
ustr_append (UStr           *s,
             const gunichar *c,
             gsize           n)
{
  if (n == 0)
    return;
  ustr_reserve (s, n);
  memcpy (s->c + s->n, c, n * sizeof (gunichar));
  s->n += n;
}

static void
ustr_append_utf8 (UStr        *s,
                  const gchar *utf8)
{
  const guint8 *p = (const guint8 *) utf8;
  gsize len = strlen (utf8), i = 0;
  while (i < len)
    {
      gunichar c;
      gsize k = gill_utf8_decode_char (p + i, len - i, &c);
      if (k == 0)
        k = 1, c = 0xfffd;
      ustr_push (s, c);
      i += k;
    }
}

static void
ustr_clear (UStr *s)
{
  g_clear_pointer (&s->c, g_free);
  s->n = s->cap = 0;
}

/* replaces *s by *with (which is emptied) */
static void
ustr_take (UStr *s,
           UStr *with)
{
  g_free (s->c);
  *s = *with;
  *with = (UStr) { 0 };
}

static gboolean
ustr_equal (const UStr *a,
            const UStr *b)
{
  return a->n == b->n && (a->n == 0 || memcmp (a->c, b->c, a->n * sizeof (gunichar)) == 0);
}

/* ---- single-byte encodings -------------------------------------------------------------------- */

static gboolean
encoding_is_sloppy (gint enc)
{
  return enc >= FTFY_SLOPPY_WINDOWS_1252 && enc <= FTFY_SLOPPY_WINDOWS_1254;
}

/* the byte c encodes to in enc, or -1 (the sloppy codecs use byte 0x1A for U+FFFD) */
static gint
encode_char (gint     enc,
             gunichar c)
{
  if (c < 0x80)
    return (c == 0x1a && encoding_is_sloppy (enc)) ? -1 : (gint) c;
  if (enc == FTFY_LATIN_1)
    return c <= 0xff ? (gint) c : -1;
  if (c == 0xfffd && encoding_is_sloppy (enc))
    return 0x1a;
  const FtfyCharByte *t = ftfy_charmap_reverse[enc];
  gsize lo = 0, hi = 128;
  while (lo < hi)
    {
      gsize mid = (lo + hi) / 2;
      if (t[mid].c < c)
        lo = mid + 1;
      else if (t[mid].c > c)
        hi = mid;
      else
        return t[mid].byte;
    }
  return -1;
}

/* chardata.possible_encoding + str.encode: FALSE if a character is outside the encoding */
static gboolean
encode_text (const UStr *s,
             gint        enc,
             GByteArray *out)
{
  g_byte_array_set_size (out, s->n);
  for (gsize i = 0; i < s->n; i++)
    {
      gint b = encode_char (enc, s->c[i]);
      if (b < 0)
        return FALSE;
      out->data[i] = (guint8) b;
    }
  return TRUE;
}

/* ---- byte-level repairs (fixes.py) ------------------------------------------------------------ */

static inline gboolean
byte_in (guint8 b,
         guint8 lo,
         guint8 hi)
{
  return b >= lo && b <= hi;
}

/* a continuation byte other than 0x85 and 0xA0 */
static inline gboolean
altered_cont (guint8 b)
{
  return byte_in (b, 0x80, 0x84) || byte_in (b, 0x86, 0x9f) || byte_in (b, 0xa1, 0xbf);
}

/* ALTERED_UTF8_RE at b[i]: the length of the match, or 0 — UTF-8 sequences that would be valid
 * if a space had not replaced byte 0xA0 */
static gsize
altered_utf8_at (const guint8 *b,
                 gsize         n,
                 gsize         i)
{
  guint8 c0 = b[i];
  if (i + 1 >= n)
    return 0;
  guint8 c1 = b[i + 1];
  if ((c0 == 0xc2 || c0 == 0xc3 || c0 == 0xc5 || c0 == 0xce || c0 == 0xd0 || c0 == 0xd9) && c1 == ' ')
    return 2;
  if (i + 2 >= n)
    return 0;
  guint8 c2 = b[i + 2];
  if ((c0 == 0xe2 || c0 == 0xe3) && c1 == ' ' && altered_cont (c2))
    return 3;
  if (byte_in (c0, 0xe0, 0xe3) && altered_cont (c1) && c2 == ' ')
    return 3;
  if (i + 3 >= n || c0 != 0xf0)
    return 0;
  guint8 c3 = b[i + 3];
  gboolean k1 = byte_in (c1, 0x80, 0xbf), k2 = byte_in (c2, 0x80, 0xbf), k3 = byte_in (c3, 0x80, 0xbf);
  if ((c1 == ' ' && k2 && k3) || (k1 && c2 == ' ' && k3) || (k1 && k2 && c3 == ' '))
    return 4;
  return 0;
}

static gboolean
altered_utf8_search (const GByteArray *b)
{
  for (gsize i = 0; i < b->len; i++)
    if (b->data[i] >= 0xc2 && altered_utf8_at (b->data, b->len, i))
      return TRUE;
  return FALSE;
}

static gboolean
bytes_start_with (const guint8 *b,
                  gsize         n,
                  gsize         i,
                  const gchar  *s)
{
  gsize k = strlen (s);
  return i + k <= n && memcmp (b + i, s, k) == 0;
}

/* fixes.restore_byte_a0: "Ã " as a word is "à " (A_GRAVE_WORD_RE, except before the
 * Portuguese "s ", "quele", "quela", "quilo" or a second space), then spaces inside
 * ALTERED_UTF8_RE matches become 0xA0 */
static void
restore_byte_a0 (GByteArray *bytes)
{
  GByteArray *out = g_byte_array_sized_new (bytes->len + 16);
  const guint8 *b = bytes->data;
  gsize n = bytes->len;
  for (gsize i = 0; i < n; i++)
    {
      if (b[i] == 0xc3 && i + 1 < n && b[i + 1] == ' '
          && !bytes_start_with (b, n, i + 2, " ") && !bytes_start_with (b, n, i + 2, "quele")
          && !bytes_start_with (b, n, i + 2, "quela") && !bytes_start_with (b, n, i + 2, "quilo")
          && !bytes_start_with (b, n, i + 2, "s "))
        {
          static const guint8 a_grave[3] = { 0xc3, 0xa0, ' ' };
          g_byte_array_append (out, a_grave, 3);
          i++;
          continue;
        }
      g_byte_array_append (out, &b[i], 1);
    }
  b = out->data;
  n = out->len;
  g_byte_array_set_size (bytes, 0);
  for (gsize i = 0; i < n;)
    {
      gsize k = b[i] >= 0xc2 ? altered_utf8_at (b, n, i) : 0;
      if (k == 0)
        {
          g_byte_array_append (bytes, &b[i], 1);
          i++;
          continue;
        }
      for (gsize j = i; j < i + k; j++)
        {
          guint8 c = b[j] == ' ' ? 0xa0 : b[j];
          g_byte_array_append (bytes, &c, 1);
        }
      i += k;
    }
  g_byte_array_unref (out);
}

/* LOSSY_UTF8_RE at b[i]: UTF-8 (or CESU-8) sequences some of whose bytes a sloppy codec lost
 * (0x1A stands for them; '?' in some positions) */
static gsize
lossy_utf8_at (const guint8 *b,
               gsize         n,
               gsize         i)
{
#define AT(k) (i + (k) < n ? b[i + (k)] : 0x00)
#define LOST(x) ((x) == 0x1a)
#define LOSTQ(x) ((x) == 0x1a || (x) == '?')
#define CONTL(x) (LOST (x) || byte_in ((x), 0x80, 0xbf))
#define CONTLQ(x) (LOSTQ (x) || byte_in ((x), 0x80, 0xbf))
  guint8 c0 = b[i];
  if (i + 1 < n)
    {
      guint8 c1 = AT (1);
      if (byte_in (c0, 0xc2, 0xdf) && LOST (c1))
        return 2;
      if (byte_in (c0, 0xc2, 0xc3) && c1 == '?')
        return 2;
    }
  if (i + 5 < n && c0 == 0xed && byte_in (AT (1), 0xa0, 0xaf) && AT (3) == 0xed
      && byte_in (AT (4), 0xb0, 0xbf))
    {
      if (LOSTQ (AT (2)) && CONTLQ (AT (5)))
        return 6;
      if (CONTLQ (AT (2)) && LOSTQ (AT (5)))
        return 6;
    }
  if (i + 2 < n && byte_in (c0, 0xe0, 0xef))
    {
      if (LOSTQ (AT (1)) && CONTL (AT (2)))
        return 3;
      if (CONTL (AT (1)) && LOSTQ (AT (2)))
        return 3;
    }
  if (i + 3 < n && byte_in (c0, 0xf0, 0xf4))
    {
      if (LOSTQ (AT (1)) && CONTL (AT (2)) && CONTL (AT (3)))
        return 4;
      if (CONTL (AT (1)) && LOSTQ (AT (2)) && CONTL (AT (3)))
        return 4;
      if (CONTL (AT (1)) && CONTL (AT (2)) && LOSTQ (AT (3)))
        return 4;
    }
  if (c0 == 0x1a)                          /* a lone lost byte, the last alternative */
    return 1;
  return 0;
#undef AT
#undef LOST
#undef LOSTQ
#undef CONTL
#undef CONTLQ
}

/* fixes.replace_lossy_sequences: each lossy sequence becomes the UTF-8 of U+FFFD */
static void
replace_lossy_sequences (GByteArray *bytes)
{
  static const guint8 replacement[3] = { 0xef, 0xbf, 0xbd };
  GByteArray *out = g_byte_array_sized_new (bytes->len + 8);
  for (gsize i = 0; i < bytes->len;)
    {
      gsize k = lossy_utf8_at (bytes->data, bytes->len, i);
      if (k == 0)
        {
          g_byte_array_append (out, &bytes->data[i], 1);
          i++;
        }
      else
        {
          g_byte_array_append (out, replacement, 3);
          i += k;
        }
    }
  g_byte_array_set_size (bytes, 0);
  g_byte_array_append (bytes, out->data, out->len);
  g_byte_array_unref (out);
}

/* strict UTF-8, or ftfy's "utf-8-variants" which also reads CESU-8 surrogate pairs and Java's
 * C0 80 for U+0000; FALSE where Python would raise UnicodeDecodeError */
static gboolean
decode_utf8_strict (const GByteArray *bytes,
                    gboolean          variants,
                    UStr             *out)
{
  const guint8 *b = bytes->data;
  gsize n = bytes->len;
  for (gsize i = 0; i < n;)
    {
      if (variants && b[i] == 0xc0 && i + 1 < n && b[i + 1] == 0x80)
        {
          ustr_push (out, 0);
          i += 2;
          continue;
        }
      if (variants && b[i] == 0xed && i + 5 < n && byte_in (b[i + 1], 0xa0, 0xaf)
          && byte_in (b[i + 2], 0x80, 0xbf) && b[i + 3] == 0xed && byte_in (b[i + 4], 0xb0, 0xbf)
          && byte_in (b[i + 5], 0x80, 0xbf))
        {
          gunichar hi = 0xd000 | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
          gunichar lo = 0xd000 | ((b[i + 4] & 0x3f) << 6) | (b[i + 5] & 0x3f);
          ustr_push (out, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
          i += 6;
          continue;
        }
      gunichar c;
      gsize k = gill_utf8_decode_char (b + i, n - i, &c);
      if (k == 0)
        return FALSE;
      ustr_push (out, c);
      i += k;
    }
  return TRUE;
}

/* ---- text fixes (fixes.py) -------------------------------------------------------------------- */

static gint
entity_compare (const void *key,
                const void *item)
{
  return strcmp (key, ((const FtfyEntity *) item)->name);
}

/* html.unescape of one "&#...;" reference, as _unescape_fixup calls it: FALSE if it does not
 * decode completely (ftfy then keeps the text) */
static gboolean
unescape_numeric (const gunichar *body,
                  gsize           len,
                  UStr           *out)
{
  gboolean hex = len > 0 && (body[0] == 'x' || body[0] == 'X');
  gsize start = hex ? 1 : 0;
  if (len <= start)
    return FALSE;
  guint64 value = 0;
  for (gsize i = start; i < len; i++)
    {
      gint d = hex ? g_ascii_xdigit_value ((gchar) body[i]) : g_ascii_digit_value ((gchar) body[i]);
      if (body[i] >= 0x80 || d < 0)
        return FALSE;
      value = MIN (value * (hex ? 16 : 10) + (guint64) d, G_GUINT64_CONSTANT (0x7fffffff));
    }
  /* html._replace_charref */
  if (value == 0x00)
    ustr_push (out, 0xfffd);
  else if (value == 0x0d)
    ustr_push (out, '\r');
  else if (value >= 0x80 && value <= 0x9f)
    ustr_push (out, ftfy_charmap_high[FTFY_SLOPPY_WINDOWS_1252][value - 0x80]);
  else if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff)
    ustr_push (out, 0xfffd);
  else if ((value >= 0x01 && value <= 0x08) || value == 0x0b || (value >= 0x0e && value <= 0x1f)
           || value == 0x7f || (value >= 0xfdd0 && value <= 0xfdef) || (value & 0xfffe) == 0xfffe)
    ;                                                   /* _invalid_codepoints: removed */
  else if (value == ';')
    return FALSE;                                       /* ";" in the result: ftfy keeps the text */
  else
    ustr_push (out, (gunichar) value);
  return TRUE;
}

/* fixes.unescape_html: HTML_ENTITY_RE "&#?[0-9A-Za-z]{1,24};" — HTML5 names ending in ';'
 * (and all-caps spellings of lowercase ones), numeric references */
static gboolean
unescape_html (UStr *s)
{
  gboolean any = FALSE;
  for (gsize i = 0; i < s->n && !any; i++)
    any = s->c[i] == '&';
  if (!any)
    return FALSE;
  UStr out = { 0 };
  gboolean changed = FALSE;
  for (gsize i = 0; i < s->n;)
    {
      if (s->c[i] != '&')
        {
          ustr_push (&out, s->c[i++]);
          continue;
        }
      gsize j = i + 1;
      gboolean numeric = j < s->n && s->c[j] == '#';
      if (numeric)
        j++;
      gsize body = j;
      while (j < s->n && j - body < 25 && s->c[j] < 0x80 && g_ascii_isalnum ((gchar) s->c[j]))
        j++;
      if (j == body || j - body > 24 || j >= s->n || s->c[j] != ';')
        {
          ustr_push (&out, s->c[i++]);
          continue;
        }
      /* s[i..j] is the reference, ASCII */
      gchar key[32];
      gsize k = 0;
      for (gsize p = i; p <= j; p++)
        key[k++] = (gchar) s->c[p];
      key[k] = '\0';
      const FtfyEntity *e = bsearch (key, ftfy_html_entities, ftfy_n_html_entities,
                                     sizeof (FtfyEntity), entity_compare);
      gsize before = out.n;
      if (e != NULL)
        ustr_append_utf8 (&out, e->value);
      else if (!numeric || !unescape_numeric (s->c + body, j - body, &out))
        {
          out.n = before;
          ustr_append (&out, s->c + i, j + 1 - i);
          i = j + 1;
          continue;
        }
      changed = TRUE;
      i = j + 1;
    }
  if (changed)
    ustr_take (s, &out);
  ustr_clear (&out);
  return changed;
}

/* fixes.fix_c1_controls: C1 controls read as windows-1252 (sloppy: 0x81 etc. stay) */
static gboolean
fix_c1_controls (UStr *s)
{
  gboolean changed = FALSE;
  for (gsize i = 0; i < s->n; i++)
    if (s->c[i] >= 0x80 && s->c[i] <= 0x9f)
      {
        gunichar c = ftfy_charmap_high[FTFY_SLOPPY_WINDOWS_1252][s->c[i] - 0x80];
        changed |= c != s->c[i];
        s->c[i] = c;
      }
  return changed;
}

/* chardata.LIGATURES: Latin ligatures and legacy digraphs -> their letters */
static const gchar *
ligature (gunichar c)
{
  switch (c)
    {
    case 0x0132: return "IJ";
    case 0x0133: return "ij";
    case 0x0149: return "\u02bcn";
    case 0x01c4: return "D\u017d";
    case 0x01c5: return "D\u017e";
    case 0x01c6: return "d\u017e";
    case 0x01c7: return "LJ";
    case 0x01c8: return "Lj";
    case 0x01c9: return "lj";
    case 0x01ca: return "NJ";
    case 0x01cb: return "Nj";
    case 0x01cc: return "nj";
    case 0x01f1: return "DZ";
    case 0x01f2: return "Dz";
    case 0x01f3: return "dz";
    case 0xfb00: return "ff";
    case 0xfb01: return "fi";
    case 0xfb02: return "fl";
    case 0xfb03: return "ffi";
    case 0xfb04: return "ffl";
    case 0xfb05: return "\u017ft";
    case 0xfb06: return "st";
    default: return NULL;
    }
}

/* chardata.WIDTH_MAP: U+3000 -> space, U+FF01..U+FFEF -> their NFKC form where it differs */
static const gchar *
width_form (gunichar c,
            gchar    buf[16])
{
  if (c == 0x3000)
    return " ";
  if (c < 0xff01 || c > 0xffef)
    return NULL;
  if (c <= 0xff5e)                     /* fullwidth ASCII: NFKC is the ASCII character */
    {
      buf[0] = (gchar) (c - 0xfee0);
      buf[1] = '\0';
      return buf;
    }
  gchar in[8] = { 0 };
  gint n = g_unichar_to_utf8 (c, in);
  g_autofree gchar *nfkc = g_utf8_normalize (in, n, G_NORMALIZE_NFKC);
  if (nfkc == NULL || strcmp (nfkc, in) == 0 || strlen (nfkc) >= 16)
    return NULL;
  strcpy (buf, nfkc);
  return buf;
}

/* fix_latin_ligatures and fix_character_width: str.translate with a table */
static gboolean
translate (UStr *s,
           gboolean (*applies) (gunichar),
           const gchar *(*map) (gunichar, gchar *))
{
  gsize first = 0;
  while (first < s->n && !applies (s->c[first]))
    first++;
  if (first == s->n)
    return FALSE;
  UStr out = { 0 };
  ustr_append (&out, s->c, first);
  gboolean changed = FALSE;
  for (gsize i = first; i < s->n; i++)
    {
      gchar buf[16];
      const gchar *to = applies (s->c[i]) ? map (s->c[i], buf) : NULL;
      if (to == NULL)
        ustr_push (&out, s->c[i]);
      else
        {
          ustr_append_utf8 (&out, to);
          changed = TRUE;
        }
    }
  if (changed)
    ustr_take (s, &out);
  ustr_clear (&out);
  return changed;
}

static gboolean
is_ligature (gunichar c)
{
  return (c >= 0x0132 && c <= 0x01f3) || (c >= 0xfb00 && c <= 0xfb06);
}

static const gchar *
map_ligature (gunichar c,
              gchar   *buf)
{
  (void) buf;
  return ligature (c);
}

static gboolean
is_wide (gunichar c)
{
  return c == 0x3000 || (c >= 0xff01 && c <= 0xffef);
}

/* fixes.uncurl_quotes */
static gboolean
uncurl_quotes (UStr *s)
{
  gboolean changed = FALSE;
  for (gsize i = 0; i < s->n; i++)
    {
      gunichar c = s->c[i];
      if (c == 0x02bc || (c >= 0x2018 && c <= 0x201b))
        s->c[i] = '\'', changed = TRUE;
      else if (c >= 0x201c && c <= 0x201f)
        s->c[i] = '"', changed = TRUE;
    }
  return changed;
}

/* fixes.fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 -> LF */
static gboolean
fix_line_breaks (UStr *s)
{
  gboolean changed = FALSE;
  gsize k = 0;
  for (gsize i = 0; i < s->n; i++)
    {
      gunichar c = s->c[i];
      if (c == '\r' && i + 1 < s->n && s->c[i + 1] == '\n')
        {
          changed = TRUE;
          continue;
        }
      if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x0085)
        c = '\n', changed = TRUE;
      s->c[k++] = c;
    }
  s->n = k;
  return changed;
}

/* fixes.remove_terminal_escapes: ANSI_RE "\033\[((?:\d|;)*)([a-zA-Z])" */
static gboolean
remove_terminal_escapes (UStr *s)
{
  gboolean changed = FALSE;
  gsize k = 0;
  for (gsize i = 0; i < s->n;)
    {
      if (s->c[i] == 0x1b && i + 1 < s->n && s->c[i + 1] == '[')
        {
          gsize j = i + 2;
          while (j < s->n && (s->c[j] == ';' || g_unichar_isdigit (s->c[j])))
            j++;
          if (j < s->n && s->c[j] < 0x80 && g_ascii_isalpha ((gchar) s->c[j]))
            {
              i = j + 1;
              changed = TRUE;
              continue;
            }
        }
      s->c[k++] = s->c[i++];
    }
  s->n = k;
  return changed;
}

/* fixes.remove_control_chars: chardata.CONTROL_CHARS */
static gboolean
is_removed_control (gunichar c)
{
  return c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f
         || (c >= 0x206a && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc);
}

static gboolean
remove_control_chars (UStr *s)
{
  gsize k = 0;
  for (gsize i = 0; i < s->n; i++)
    if (!is_removed_control (s->c[i]))
      s->c[k++] = s->c[i];
  gboolean changed = k != s->n;
  s->n = k;
  return changed;
}

/* is s already NFC? TRUE only when every character is a starter that is its own NFC form and
 * does not compose with the one before it (else normalisation decides) */
static gboolean
nfc_quick_yes (const UStr *s)
{
  for (gsize i = 0; i < s->n; i++)
    {
      gunichar c = s->c[i], a, b, r;
      if (c < 0x300)
        continue;                      /* nothing below U+0300 composes or decomposes */
      if (g_unichar_combining_class (c) != 0)
        return FALSE;
      if (g_unichar_decompose (c, &a, &b) && (b == 0 || !g_unichar_compose (a, b, &r) || r != c))
        return FALSE;
      if (i > 0 && g_unichar_compose (s->c[i - 1], c, &r))
        return FALSE;
    }
  return TRUE;
}

/* unicodedata.normalize("NFC") */
static gboolean
normalize_nfc (UStr *s)
{
  if (nfc_quick_yes (s))
    return FALSE;
  GString *utf8 = g_string_sized_new (s->n * 3);
  gill_ucs4_append_utf8 (utf8, s->c, s->n);
  /* GLib stops at U+0000: normalize the runs between NULs */
  UStr out = { 0 };
  gsize start = 0;
  for (gsize p = 0; p <= utf8->len; p++)
    {
      if (p < utf8->len && utf8->str[p] != '\0')
        continue;
      g_autofree gchar *nfc = g_utf8_normalize (utf8->str + start, p - start, G_NORMALIZE_NFC);
      if (nfc != NULL)
        ustr_append_utf8 (&out, nfc);
      if (p < utf8->len)
        ustr_push (&out, 0);
      start = p + 1;
    }
  g_string_free (utf8, TRUE);
  gboolean changed = !ustr_equal (s, &out);
  if (changed)
    ustr_take (s, &out);
  ustr_clear (&out);
  return changed;
}

/* ---- fix_encoding ----------------------------------------------------------------------------- */

static void fix_encoding (UStr *s);

/* fixes.decode_inconsistent_utf8: fix each UTF8_DETECTOR_RE match that is bad on its own */
static gboolean
decode_inconsistent_utf8 (UStr *s)
{
  UStr out = { 0 };
  gboolean changed = FALSE;
  gsize pos = 0, start, end;
  while (ftfy_utf8_detector_find (s->c, s->n, pos, &start, &end))
    {
      ustr_append (&out, s->c + pos, start - pos);
      UStr sub = { 0 };
      ustr_append (&sub, s->c + start, end - start);
      if (sub.n < s->n && ftfy_is_bad (sub.c, sub.n))
        fix_encoding (&sub);
      ustr_append (&out, sub.c, sub.n);
      ustr_clear (&sub);
      pos = end;
    }
  ustr_append (&out, s->c + pos, s->n - pos);
  changed = !ustr_equal (s, &out);
  if (changed)
    ustr_take (s, &out);
  ustr_clear (&out);
  return changed;
}

/* _fix_encoding_one_step_and_explain: TRUE if s was replaced (possibly by equal text) */
static gboolean
fix_encoding_one_step (UStr *s)
{
  if (s->n == 0)
    return FALSE;
  gboolean ascii = TRUE;
  for (gsize i = 0; i < s->n && ascii; i++)
    ascii = s->c[i] < 0x80;
  if (ascii || !ftfy_is_bad (s->c, s->n))
    return FALSE;

  /* UTF-8 that was decoded in a single-byte encoding */
  static const gint encodings[] = {
    FTFY_LATIN_1, FTFY_SLOPPY_WINDOWS_1252, FTFY_SLOPPY_WINDOWS_1251, FTFY_SLOPPY_WINDOWS_1250,
    FTFY_SLOPPY_WINDOWS_1253, FTFY_SLOPPY_WINDOWS_1254, FTFY_ISO_8859_2, FTFY_MACROMAN, FTFY_CP437,
  };
  gboolean latin_1_possible = FALSE;
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  for (gsize e = 0; e < G_N_ELEMENTS (encodings); e++)
    {
      gint enc = encodings[e];
      if (!encode_text (s, enc, bytes))
        continue;
      if (enc == FTFY_LATIN_1)
        latin_1_possible = TRUE;
      if (altered_utf8_search (bytes))
        restore_byte_a0 (bytes);
      if (encoding_is_sloppy (enc))
        replace_lossy_sequences (bytes);
      gboolean variants = memchr (bytes->data, 0xed, bytes->len) != NULL
                          || memchr (bytes->data, 0xc0, bytes->len) != NULL;
      UStr fixed = { 0 };
      if (decode_utf8_strict (bytes, variants, &fixed))
        {
          ustr_take (s, &fixed);
          return TRUE;
        }
      ustr_clear (&fixed);
    }

  /* a-hat-euro sequences that remain, fixed in isolation */
  gsize start, end;
  if (ftfy_utf8_detector_find (s->c, s->n, 0, &start, &end) && decode_inconsistent_utf8 (s))
    return TRUE;

  /* Latin-1 that was meant as windows-1252 (strict: its five unassigned bytes fail) */
  if (latin_1_possible)
    {
      gboolean ok = TRUE, changed = FALSE;
      for (gsize i = 0; i < s->n && ok; i++)
        if (s->c[i] >= 0x80 && s->c[i] <= 0x9f)
          {
            gunichar c = ftfy_charmap_high[FTFY_SLOPPY_WINDOWS_1252][s->c[i] - 0x80];
            ok = c != s->c[i];
            changed = TRUE;
          }
      if (ok && changed)
        {
          fix_c1_controls (s);
          return TRUE;
        }
    }

  /* single C1 characters */
  for (gsize i = 0; i < s->n; i++)
    if (s->c[i] >= 0x80 && s->c[i] <= 0x9f)
      {
        fix_c1_controls (s);
        return TRUE;
      }
  return FALSE;
}

/* fix_encoding_and_explain: one step at a time until the text stops changing */
static void
fix_encoding (UStr *s)
{
  UStr before = { 0 };
  for (guint round = 0; round < FTFY_MAX_ROUNDS; round++)
    {
      before.n = 0;
      ustr_append (&before, s->c, s->n);
      if (!fix_encoding_one_step (s) || ustr_equal (&before, s))
        break;
    }
  ustr_clear (&before);
}

/* ---- fix_text --------------------------------------------------------------------------------- */

/* fix_and_explain on one segment */
static void
fix_segment (UStr    *s,
             gboolean unescape)
{
  UStr before = { 0 };
  for (guint round = 0; round < FTFY_MAX_ROUNDS; round++)
    {
      before.n = 0;
      ustr_append (&before, s->c, s->n);
      if (unescape)
        unescape_html (s);
      fix_encoding (s);
      fix_c1_controls (s);
      translate (s, is_ligature, map_ligature);
      translate (s, is_wide, width_form);
      uncurl_quotes (s);
      fix_line_breaks (s);
      remove_terminal_escapes (s);
      remove_control_chars (s);
      normalize_nfc (s);
      if (ustr_equal (&before, s))
        break;
    }
  ustr_clear (&before);
}

gchar *
gill_ftfy_fix_text (const gchar *text,
                    gsize        len,
                    gsize       *out_len)
{
  gsize n;
  g_autofree gunichar *chars = gill_utf8_to_ucs4 (text, len, &n);
  GString *out = g_string_sized_new (len + 1);
  gboolean unescape = TRUE;            /* "auto": until a segment holds '<' */
  for (gsize pos = 0; pos < n;)
    {
      gsize end = pos;
      while (end < n && chars[end] != '\n' && end - pos < FTFY_MAX_SEGMENT)
        end++;
      if (end < n && chars[end] == '\n' && end - pos < FTFY_MAX_SEGMENT)
        end++;                         /* the line break belongs to its line */
      UStr seg = { 0 };
      ustr_append (&seg, chars + pos, end - pos);
      for (gsize i = 0; i < seg.n && unescape; i++)
        unescape = seg.c[i] != '<';
      fix_segment (&seg, unescape);
      gill_ucs4_append_utf8 (out, seg.c, seg.n);
      ustr_clear (&seg);
      pos = end;
    }
  *out_len = out->len;
  return g_string_free (out, FALSE);
}
