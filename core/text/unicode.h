/* unicode.h — the character classes the reference tokenizers' regular expressions and Python's
 * string methods use, over all of Unicode (GLib's tables), and a strict UTF-8 reader.
 *
 * Text inside core/text is UTF-8 with an explicit length: U+0000 is an ordinary character (Python
 * strings may hold it), anything that is not well-formed UTF-8 (overlong forms, surrogates,
 * values above U+10FFFF, truncated sequences) is refused by gill_utf8_check(). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* \p{L}: Lu, Ll, Lt, Lm, Lo */
gboolean  gill_unicode_is_letter        (gunichar c);
/* \p{N}: Nd, Nl, No */
gboolean  gill_unicode_is_number        (gunichar c);
/* \s of the `regex` module (the reference's pre-tokenizer): the White_Space property */
gboolean  gill_unicode_is_white_space   (gunichar c);
/* str.isspace() and \s of Python's `re`: White_Space plus U+001C..U+001F */
gboolean  gill_unicode_is_python_space  (gunichar c);
/* Python's str.isalnum() (the \w of `re`, less '_'): letters and numbers */
gboolean  gill_unicode_is_python_alnum  (gunichar c);

/* decodes one well-formed UTF-8 sequence at s (len > 0 bytes available); returns its length in
 * bytes and the character in *c, or 0 if the bytes there are not well-formed UTF-8 */
gsize     gill_utf8_decode_char         (const guint8 *s,
                                         gsize         len,
                                         gunichar     *c);
/* appends the UTF-8 form of c (c <= U+10FFFF) to out */
void      gill_utf8_append_char         (GString      *out,
                                         gunichar      c);
/* FALSE + GILL_ERROR_INVALID_ARGUMENT naming the byte offset if text is not UTF-8 */
gboolean  gill_utf8_check               (const gchar  *text,
                                         gsize         len,
                                         GError      **error);
/* well-formed UTF-8 -> code points (transfer full, n_out set) */
gunichar *gill_utf8_to_ucs4             (const gchar  *text,
                                         gsize         len,
                                         gsize        *n_out);
/* code points -> UTF-8 appended to out */
void      gill_ucs4_append_utf8         (GString        *out,
                                         const gunichar *s,
                                         gsize           n);
/* any bytes -> UTF-8 as Python's bytes.decode("utf-8", errors="replace"): each maximal
 * ill-formed subpart becomes one U+FFFD; appended to out */
void      gill_utf8_append_replacing    (GString      *out,
                                         const guint8 *bytes,
                                         gsize         len);
/* Python's str.lower(): full lowercase mapping (U+0130 -> "i̇") and the Final_Sigma rule;
 * returns a new array (transfer full) with its length in *n_out */
gunichar *gill_unicode_lower_python     (const gunichar *s,
                                         gsize           n,
                                         gsize          *n_out);

G_END_DECLS
