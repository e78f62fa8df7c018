/* unicode.c — character classes and UTF-8 helpers shared by the tokenizers (see unicode.h).
 *
 * The classes follow the reference implementations exactly where they differ from each other:
 * the `regex` module's \s is the White_Space property (models.md §1.6), Python's str.isspace()
 * and `re`'s \s add U+001C..U+001F. */
#include "core/text/unicode.h"

#include "core/base/error.h"

gboolean
gill_unicode_is_letter (gunichar c)
{
  if (c < 0x80)
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  switch (g_unichar_type (c))
    {
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
gill_unicode_is_number (gunichar c)
{
  if (c < 0x80)
    return c >= '0' && c <= '9';
  switch (g_unichar_type (c))
    {
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
gill_unicode_is_white_space (gunichar c)
{
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0d);
  switch (c)
    {
    case 0x0085: case 0x00a0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return TRUE;
    default:
      return c >= 0x2000 && c <= 0x200a;
    }
}

gboolean
gill_unicode_is_python_space (gunichar c)
{
  return gill_unicode_is_white_space (c) || (c >= 0x1c && c <= 0x1f);
}

gboolean
gill_unicode_is_python_alnum (gunichar c)
{
  return gill_unicode_is_letter (c) || gill_unicode_is_number (c);
}

gsize
gill_utf8_decode_char (const guint8 *s,
                       gsize         len,
                       gunichar     *c)
{
  guint8 b0 = s[0];
  if (b0 < 0x80)
    {
      *c = b0;
      return 1;
    }
  gsize n;
  guint8 lo = 0x80, hi = 0xbf;    /* the range of the second byte */
  gunichar v;
  if (b0 >= 0xc2 && b0 <= 0xdf)
    n = 2, v = b0 & 0x1f;
  else if (b0 >= 0xe0 && b0 <= 0xef)
    {
      n = 3, v = b0 & 0x0f;
      if (b0 == 0xe0)
        lo = 0xa0;
      else if (b0 == 0xed)
        hi = 0x9f;
    }
  else if (b0 >= 0xf0 && b0 <= 0xf4)
    {
      n = 4, v = b0 & 0x07;
      if (b0 == 0xf0)
        lo = 0x90;
      else if (b0 == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;
  if (len < n || s[1] < lo || s[1] > hi)
    return 0;
  v = (v << 6) | (s[1] & 0x3f);
  for (gsize i = 2; i < n; i++)
    {
      if (s[i] < 0x80 || s[i] > 0xbf)
        return 0;
      v = (v << 6) | (s[i] & 0x3f);
    }
  *c = v;
  return n;
}

void
gill_utf8_append_char (GString *out,
                       gunichar c)
{
  gchar buf[6];
  gint n = g_unichar_to_utf8 (c, buf);
  g_string_append_len (out, buf, n);
}

gboolean
gill_utf8_check (const gchar *text,
                 gsize        len,
                 GError     **error)
{
  const guint8 *s = (const guint8 *) text;
  gsize i = 0;
  while (i < len)
    {
      if (s[i] < 0x80)
        {
          i++;
          continue;
        }
      gunichar c;
      gsize n = gill_utf8_decode_char (s + i, len - i, &c);
      if (n == 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "input text: invalid UTF-8 at byte %" G_GSIZE_FORMAT " (0x%02X); "
                       "pass UTF-8 text (convert it first, e.g. with iconv)", i, s[i]);
          return FALSE;
        }
      i += n;
    }
  return TRUE;
}

gunichar *
gill_utf8_to_ucs4 (const gchar *text,
                   gsize        len,
                   gsize       *n_out)
{
  const guint8 *s = (const guint8 *) text;
  gunichar *out = g_new (gunichar, len + 1);
  gsize n = 0, i = 0;
  while (i < len)
    {
      gunichar c;
      gsize k = gill_utf8_decode_char (s + i, len - i, &c);
      if (k == 0)       /* not reached for checked text; keep going rather than loop */
        {
          c = 0xfffd;
          k = 1;
        }
      out[n++] = c;
      i += k;
    }
  out[n] = 0;
  *n_out = n;
  return out;
}

void
gill_ucs4_append_utf8 (GString        *out,
                       const gunichar *s,
                       gsize           n)
{
  gsize at = out->len;
  g_string_set_size (out, at + 4 * n);        /* room for the longest form */
  guint8 *p = (guint8 *) out->str + at;
  for (gsize i = 0; i < n; i++)
    {
      gunichar c = s[i];
      if (c < 0x80)
        *p++ = (guint8) c;
      else if (c < 0x800)
        {
          *p++ = (guint8) (0xc0 | (c >> 6));
          *p++ = (guint8) (0x80 | (c & 0x3f));
        }
      else if (c < 0x10000)
        {
          *p++ = (guint8) (0xe0 | (c >> 12));
          *p++ = (guint8) (0x80 | ((c >> 6) & 0x3f));
          *p++ = (guint8) (0x80 | (c & 0x3f));
        }
      else
        {
          *p++ = (guint8) (0xf0 | (c >> 18));
          *p++ = (guint8) (0x80 | ((c >> 12) & 0x3f));
          *p++ = (guint8) (0x80 | ((c >> 6) & 0x3f));
          *p++ = (guint8) (0x80 | (c & 0x3f));
        }
    }
  g_string_truncate (out, (gsize) (p - (guint8 *) out->str));
}

/* how many bytes from s[0] form the longest prefix of a well-formed sequence (at least 1) */
static gsize
utf8_maximal_subpart (const guint8 *s,
                      gsize         len)
{
  guint8 b0 = s[0];
  gsize need;
  guint8 lo = 0x80, hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf)
    need = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef)
    {
      need = 3;
      lo = b0 == 0xe0 ? 0xa0 : 0x80;
      hi = b0 == 0xed ? 0x9f : 0xbf;
    }
  else if (b0 >= 0xf0 && b0 <= 0xf4)
    {
      need = 4;
      lo = b0 == 0xf0 ? 0x90 : 0x80;
      hi = b0 == 0xf4 ? 0x8f : 0xbf;
    }
  else
    return 1;
  gsize k = 1;
  if (k < len && k < need && s[k] >= lo && s[k] <= hi)
    {
      k++;
      while (k < len && k < need && s[k] >= 0x80 && s[k] <= 0xbf)
        k++;
    }
  return k;
}

void
gill_utf8_append_replacing (GString      *out,
                            const guint8 *bytes,
                            gsize         len)
{
  gsize i = 0;
  while (i < len)
    {
      gsize start = i;
      while (i < len && bytes[i] < 0x80)
        i++;
      g_string_append_len (out, (const gchar *) bytes + start, i - start);
      if (i >= len)
        break;
      gunichar c;
      gsize n = gill_utf8_decode_char (bytes + i, len - i, &c);
      if (n > 0)
        {
          g_string_append_len (out, (const gchar *) bytes + i, n);
          i += n;
        }
      else
        {
          g_string_append (out, "\xef\xbf\xbd");
          i += utf8_maximal_subpart (bytes + i, len - i);
        }
    }
}

/* ---- Python's str.lower() ------------------------------------------------------------------ */

/* DerivedCoreProperties "Cased": Lu, Ll, Lt, Other_Lowercase, Other_Uppercase */
static gboolean
unicode_is_cased (gunichar c)
{
  static const gunichar other[][2] = {
    { 0x00aa, 0x00aa }, { 0x00ba, 0x00ba }, { 0x02b0, 0x02b8 }, { 0x02c0, 0x02c1 },
    { 0x02e0, 0x02e4 }, { 0x0345, 0x0345 }, { 0x037a, 0x037a }, { 0x10fc, 0x10fc },
    { 0x1d2c, 0x1d6a }, { 0x1d78, 0x1d78 }, { 0x1d9b, 0x1dbf }, { 0x2071, 0x2071 },
    { 0x207f, 0x207f }, { 0x2090, 0x209c }, { 0x2160, 0x217f }, { 0x24b6, 0x24e9 },
    { 0x2c7c, 0x2c7d }, { 0xa69c, 0xa69d }, { 0xa770, 0xa770 }, { 0xa7f2, 0xa7f4 },
    { 0xa7f8, 0xa7f9 }, { 0xab5c, 0xab5f }, { 0x10780, 0x107ba }, { 0x1e030, 0x1e06d },
    { 0x1f130, 0x1f149 }, { 0x1f150, 0x1f169 }, { 0x1f170, 0x1f189 },
  };
  switch (g_unichar_type (c))
    {
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
      return TRUE;
    default:
      break;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (other); i++)
    if (c >= other[i][0] && c <= other[i][1])
      return TRUE;
  return FALSE;
}

/* DerivedCoreProperties "Case_Ignorable": Mn, Me, Cf, Lm, Sk and the word-break classes
 * MidLetter, MidNumLet and Single_Quote */
static gboolean
unicode_is_case_ignorable (gunichar c)
{
  switch (c)
    {
    case 0x0027: case 0x002e: case 0x003a: case 0x00b7: case 0x0387: case 0x055f:
    case 0x05f4: case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xfe13:
    case 0xfe52: case 0xfe55: case 0xff07: case 0xff0e: case 0xff1a:
      return TRUE;
    default:
      break;
    }
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      return FALSE;
    }
}

/* U+03A3 lowercases to final sigma when a cased letter precedes it and none follows it, case
 * ignorable characters skipped on both sides (Unicode's Final_Sigma condition, as Python) */
static gboolean
unicode_is_final_sigma (const gunichar *s,
                        gsize           n,
                        gsize           i)
{
  gsize j = i;
  while (j > 0 && unicode_is_case_ignorable (s[j - 1]))
    j--;
  if (j == 0 || !unicode_is_cased (s[j - 1]))
    return FALSE;
  j = i + 1;
  while (j < n && unicode_is_case_ignorable (s[j]))
    j++;
  return j == n || !unicode_is_cased (s[j]);
}

gunichar *
gill_unicode_lower_python (const gunichar *s,
                           gsize           n,
                           gsize          *n_out)
{
  gsize extra = 0;
  for (gsize i = 0; i < n; i++)
    extra += s[i] == 0x0130;
  gunichar *out = g_new (gunichar, n + extra + 1);
  gsize k = 0;
  for (gsize i = 0; i < n; i++)
    {
      gunichar c = s[i];
      if (c < 0x80)
        out[k++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
      else if (c == 0x0130)          /* SpecialCasing: LATIN CAPITAL LETTER I WITH DOT ABOVE */
        {
          out[k++] = 'i';
          out[k++] = 0x0307;
        }
      else if (c == 0x03a3)
        out[k++] = unicode_is_final_sigma (s, n, i) ? 0x03c2 : 0x03c3;
      else if (c >= 0x2160 && c <= 0x216f)  /* Roman numerals (Nl) have case; GLib maps letters */
        out[k++] = c + 0x10;
      else if (c >= 0x24b6 && c <= 0x24cf)  /* so do the circled capitals (So) */
        out[k++] = c + 0x1a;
      else
        out[k++] = g_unichar_tolower (c);
    }
  out[k] = 0;
  *n_out = k;
  return out;
}
