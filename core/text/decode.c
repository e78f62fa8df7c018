/* decode.c — shared pieces of decoding (see decode.h). */
#include "core/text/decode.h"

#include <string.h>

#include "core/text/bpe.h"
#include "core/text/unicode.h"

void
gill_decode_append_token_bytes (GByteArray  *out,
                                const gchar *token)
{
  const guint8 *s = (const guint8 *) token;
  gsize len = strlen (token);
  gsize i = 0;
  while (i < len)
    {
      gunichar c;
      gsize n = gill_utf8_decode_char (s + i, len - i, &c);
      if (n == 0)
        n = 1, c = 0xfffd;
      gint b = gill_bpe_char_to_byte (c);
      if (b >= 0)
        {
          guint8 byte = (guint8) b;
          g_byte_array_append (out, &byte, 1);
        }
      else
        g_byte_array_append (out, s + i, (guint) n);
      i += n;
    }
}

/* replaces every non-overlapping occurrence of from, left to right */
static void
replace_all (GString     *text,
             const gchar *from,
             const gchar *to)
{
  gsize from_len = strlen (from), to_len = strlen (to);
  if (text->len < from_len || memmem (text->str, text->len, from, from_len) == NULL)
    return;
  GString *out = g_string_sized_new (text->len);
  gsize i = 0;
  while (i < text->len)
    {
      const gchar *hit = memmem (text->str + i, text->len - i, from, from_len);
      if (hit == NULL)
        break;
      g_string_append_len (out, text->str + i, hit - (text->str + i));
      g_string_append_len (out, to, to_len);
      i = hit - text->str + from_len;
    }
  g_string_append_len (out, text->str + i, text->len - i);
  g_string_truncate (text, 0);
  g_string_append_len (text, out->str, out->len);
  g_string_free (out, TRUE);
}

void
gill_decode_clean_up_tokenization (GString *text)
{
  static const gchar *const rules[][2] = {
    { " .", "." }, { " ?", "?" }, { " !", "!" }, { " ,", "," }, { " ' ", "'" },
    { " n't", "n't" }, { " 'm", "'m" }, { " 's", "'s" }, { " 've", "'ve" }, { " 're", "'re" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    replace_all (text, rules[i][0], rules[i][1]);
}
