/* clip-tokenizer.c — CLIP's tokenizer (see clip-tokenizer.h).
 *
 * Reference: transformers v4.30.2 models/clip/tokenization_clip.py (CLIPTokenizer: __init__,
 * whitespace_clean, _tokenize, bpe, build_inputs_with_special_tokens, convert_tokens_to_string),
 * models/bert/tokenization_bert.py (BasicTokenizer, the fallback without ftfy), openai/CLIP
 * simple_tokenizer.py for the vocabulary built from bpe_simple_vocab_16e6.txt.gz, diffusers
 * v0.17.1 StableDiffusionPipeline._encode_prompt; models.md §2.6. */
#include "core/text/clip-tokenizer.h"

#include <string.h>

#include <gio/gio.h>

#include "core/base/error.h"
#include "core/text/ftfy.h"
#include "core/text/unicode.h"
#include "core/text/vocab.h"

#define CLIP_BOS "<|startoftext|>"
#define CLIP_EOS "<|endoftext|>"
#define CLIP_MAX_GZIP_BYTES (256u << 20)   /* the real file inflates to 1.6 MB */

struct _GillClipTokenizer
{
  GillVocab vocab;
};

/* ---- tokens and ids ----------------------------------------------------------------------------- */

guint
gill_clip_tokenizer_n_tokens (const GillClipTokenizer *tok)
{
  return gill_vocab_n_tokens (&tok->vocab);
}

const gchar *
gill_clip_tokenizer_id_to_token (const GillClipTokenizer *tok,
                                 gint32                   id)
{
  g_return_val_if_fail (tok != NULL, NULL);
  return gill_vocab_id_to_token (&tok->vocab, id);
}

/* ---- loading ----------------------------------------------------------------------------------- */

void
gill_clip_tokenizer_free (GillClipTokenizer *tok)
{
  if (tok == NULL)
    return;
  gill_vocab_clear (&tok->vocab);
  g_free (tok);
}

/* the whole of a gzip file, inflated with GIO */
static GBytes *
clip_read_gzip (const gchar *path,
                GError     **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) raw = g_file_read (file, NULL, &local);
  if (raw == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s: %s; give the CLIP tokenizer "
                   "folder or OpenAI's bpe_simple_vocab_16e6.txt.gz", path, local->message);
      return NULL;
    }
  g_autoptr (GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) in = g_converter_input_stream_new (G_INPUT_STREAM (raw),
                                                              G_CONVERTER (gunzip));
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 buf[65536];
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &local);
      if (n < 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: cannot inflate: %s; "
                       "is this OpenAI's gzip-compressed bpe_simple_vocab_16e6.txt.gz?",
                       path, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      if (out->len + (gsize) n > CLIP_MAX_GZIP_BYTES)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: inflates to more than %u MiB; "
                       "is this OpenAI's bpe_simple_vocab_16e6.txt.gz?", path,
                       CLIP_MAX_GZIP_BYTES >> 20);
          return NULL;
        }
      g_byte_array_append (out, buf, (guint) n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* simple_tokenizer.SimpleTokenizer's vocabulary: the 256 byte characters in bytes_to_unicode's
 * order, the same with "</w>", one token per merge (lines 1..48894), then BOS and EOS */
static gboolean
clip_load_openai (GillVocab   *v,
                  const gchar *path,
                  GError     **error)
{
  g_autoptr (GBytes) bytes = clip_read_gzip (path, error);
  if (bytes == NULL)
    return FALSE;
  gsize len;
  const gchar *text = g_bytes_get_data (bytes, &len);
  if (!g_utf8_validate_len (text, len, NULL))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the merges are not UTF-8; is this bpe_simple_vocab_16e6.txt.gz?", path);
      return FALSE;
    }
  g_autoptr (GPtrArray) vocab = g_ptr_array_new_with_free_func (g_free);
  guint order[256], k = 0;
  for (guint b = 0; b < 256; b++)             /* printable bytes first, then the others */
    if (gill_bpe_byte_to_char (b) == b)
      order[k++] = b;
  for (guint b = 0; b < 256; b++)
    if (gill_bpe_byte_to_char (b) != b)
      order[k++] = b;
  for (guint i = 0; i < 256; i++)
    {
      gchar ch[8] = { 0 };
      g_unichar_to_utf8 (gill_bpe_byte_to_char (order[i]), ch);
      g_ptr_array_add (vocab, g_strdup (ch));
    }
  for (guint i = 0; i < 256; i++)
    g_ptr_array_add (vocab, g_strconcat (g_ptr_array_index (vocab, i), "</w>", NULL));

  /* merges = text.split("\n")[1:49152-256-2+1] */
  const gchar *p = text, *end = text + len;
  const gchar *nl = memchr (p, '\n', end - p);
  p = nl ? nl + 1 : end;
  for (guint line = 1; line <= 49152 - 256 - 2 && nl != NULL; line++)
    {
      nl = memchr (p, '\n', end - p);
      const gchar *e = nl ? nl : end;
      g_autofree gchar *line_text = g_strndup (p, e - p);
      g_auto (GStrv) fields = g_strsplit_set (line_text, " \t\r\v\f", -1);
      GString *joined = g_string_new (NULL);
      guint n = 0;
      for (guint f = 0; fields[f]; f++)
        if (fields[f][0] != '\0')
          {
            g_string_append (joined, fields[f]);
            n++;
          }
      if (n != 2 && n != 0)
        {
          g_string_free (joined, TRUE);
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: line %u: expected two symbols "
                       "separated by a space; is this bpe_simple_vocab_16e6.txt.gz?", path, line + 1);
          return FALSE;
        }
      g_ptr_array_add (vocab, g_string_free (joined, FALSE));
      if (nl != NULL)
        p = nl + 1;
    }
  g_ptr_array_add (vocab, g_strdup (CLIP_BOS));
  g_ptr_array_add (vocab, g_strdup (CLIP_EOS));
  for (guint i = 0; i < vocab->len; i++)
    gill_bpe_add_vocab_token (v->bpe, g_ptr_array_index (vocab, i), (gint32) i);
  return gill_bpe_load_merges (v->bpe, text, len, GILL_BPE_MERGES_OPENAI, path, error);
}

GillClipTokenizer *
gill_clip_tokenizer_load (const gchar *path,
                          GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GillClipTokenizer) tok = g_new0 (GillClipTokenizer, 1);
  gill_vocab_init (&tok->vocab, "</w>");
  GillVocab *v = &tok->vocab;

  /* CLIPTokenizer's defaults (SD v1.x pads with <|endoftext|>), then the folder's files */
  gill_tokenizer_config_set (&v->config, GILL_SPECIAL_BOS, CLIP_BOS, TRUE);
  gill_tokenizer_config_set (&v->config, GILL_SPECIAL_EOS, CLIP_EOS, TRUE);
  gill_tokenizer_config_set (&v->config, GILL_SPECIAL_UNK, CLIP_EOS, TRUE);
  gill_tokenizer_config_set (&v->config, GILL_SPECIAL_PAD, CLIP_EOS, TRUE);

  gboolean ok;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree gchar *vocab = g_build_filename (path, "vocab.json", NULL);
      g_autofree gchar *gz = g_build_filename (path, "bpe_simple_vocab_16e6.txt.gz", NULL);
      if (!gill_tokenizer_config_load (&v->config, path, error))
        return NULL;
      if (g_file_test (vocab, G_FILE_TEST_EXISTS))
        ok = gill_vocab_load_folder (v, path, GILL_BPE_MERGES_CLIP, "CLIP", error);
      else if (g_file_test (gz, G_FILE_TEST_EXISTS))
        ok = clip_load_openai (v, gz, error);
      else
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING,
                       "%s: neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz; "
                       "give SD's tokenizer folder", path);
          return NULL;
        }
    }
  else
    ok = clip_load_openai (v, path, error);
  if (!ok)
    return NULL;
  gill_vocab_add_special_tokens (v);
  return g_steal_pointer (&tok);
}

/* ---- normalisation ------------------------------------------------------------------------------- */

/* re.sub(r"\s+", " ", text).strip(), in place on s[0..n): the new length */
static gsize
clip_collapse_white_space (gunichar *s,
                           gsize     n)
{
  gsize k = 0;
  for (gsize i = 0; i < n; i++)
    {
      if (gill_unicode_is_python_space (s[i]))
        {
          if (k > 0 && s[k - 1] != ' ')
            s[k++] = ' ';
          continue;
        }
      s[k++] = s[i];
    }
  if (k > 0 && s[k - 1] == ' ')
    k--;
  return k;
}

/* whitespace_clean(ftfy.fix_text(text)).lower(): code points of the result */
static gunichar *
clip_normalize_ftfy (const gchar *text,
                     gsize        len,
                     gsize       *n_out)
{
  gsize fixed_len;
  g_autofree gchar *fixed = gill_ftfy_fix_text (text, len, &fixed_len);
  gsize n;
  g_autofree gunichar *chars = gill_utf8_to_ucs4 (fixed, fixed_len, &n);
  gsize k = clip_collapse_white_space (chars, n);
  return gill_unicode_lower_python (chars, k, n_out);
}

static gboolean
clip_is_cjk_ideograph (gunichar c)
{
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf)
         || (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f)
         || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf)
         || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

static gboolean
clip_is_bert_punctuation (gunichar c)
{
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
clip_is_bert_control (gunichar c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return FALSE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
      return TRUE;
    default:
      return FALSE;
    }
}

/* UTF-8 -> normalisation form -> code points appended to out */
static void
clip_append_normalized (GArray         *out,
                        const gunichar *s,
                        gsize           n,
                        GNormalizeMode  mode)
{
  GString *utf8 = g_string_new (NULL);
  gill_ucs4_append_utf8 (utf8, s, n);
  g_autofree gchar *norm = g_utf8_normalize (utf8->str, utf8->len, mode);
  g_string_free (utf8, TRUE);
  if (norm == NULL)
    return;
  gsize m;
  g_autofree gunichar *chars = gill_utf8_to_ucs4 (norm, strlen (norm), &m);
  g_array_append_vals (out, chars, (guint) m);
}

/* " ".join(BasicTokenizer(do_lower_case=True).tokenize(text)) */
static gunichar *
clip_normalize_basic (const gchar *text,
                      gsize        len,
                      gsize       *n_out)
{
  gsize n;
  g_autofree gunichar *chars = gill_utf8_to_ucs4 (text, len, &n);
  /* _clean_text and _tokenize_chinese_chars */
  g_autoptr (GArray) clean = g_array_new (FALSE, FALSE, sizeof (gunichar));
  for (gsize i = 0; i < n; i++)
    {
      gunichar c = chars[i], space = ' ';
      if (c == 0 || c == 0xfffd || clip_is_bert_control (c))
        continue;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r'
          || g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR)
        c = ' ';
      if (clip_is_cjk_ideograph (c))
        {
          g_array_append_val (clean, space);
          g_array_append_val (clean, c);
          g_array_append_val (clean, space);
        }
      else
        g_array_append_val (clean, c);
    }
  /* NFC, then each whitespace-separated token: lower, strip accents, split punctuation */
  g_autoptr (GArray) nfc = g_array_new (FALSE, FALSE, sizeof (gunichar));
  clip_append_normalized (nfc, (gunichar *) clean->data, clean->len, G_NORMALIZE_NFC);
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (gunichar));
  const gunichar *s = (const gunichar *) nfc->data;
  gsize i = 0;
  while (i < nfc->len)
    {
      while (i < nfc->len && gill_unicode_is_python_space (s[i]))
        i++;
      gsize start = i;
      while (i < nfc->len && !gill_unicode_is_python_space (s[i]))
        i++;
      if (i == start)
        break;
      gsize m;
      g_autofree gunichar *lower = gill_unicode_lower_python (s + start, i - start, &m);
      g_autoptr (GArray) nfd = g_array_new (FALSE, FALSE, sizeof (gunichar));
      clip_append_normalized (nfd, lower, m, G_NORMALIZE_NFD);
      gunichar space = ' ';
      for (guint j = 0; j < nfd->len; j++)
        {
          gunichar c = g_array_index (nfd, gunichar, j);
          if (g_unichar_type (c) == G_UNICODE_NON_SPACING_MARK)
            continue;
          if (clip_is_bert_punctuation (c))      /* _run_split_on_punc: punctuation stands alone */
            {
              g_array_append_val (out, space);
              g_array_append_val (out, c);
              g_array_append_val (out, space);
            }
          else
            g_array_append_val (out, c);
        }
      g_array_append_val (out, space);
    }
  /* whitespace_tokenize(" ".join(...)) joined by single spaces */
  gunichar *o = (gunichar *) out->data;
  gsize k = clip_collapse_white_space (o, out->len);
  *n_out = k;
  return g_memdup2 (o, (k + 1) * sizeof (gunichar));
}

/* ---- pre-tokenization: CLIP's pattern (case-insensitive) -----------------------------------------
 *
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *
 * With IGNORECASE a character is in a class when one of its case variants is, and a literal
 * matches every character that folds to it; whitespace matches nothing and is dropped. */

typedef enum
{
  CLIP_SPACE,
  CLIP_LETTER,
  CLIP_NUMBER,
  CLIP_OTHER,
} ClipClass;

static gboolean
clip_any_case (gunichar c,
               gboolean (*is) (gunichar))
{
  return is (c) || (c >= 0x80 && (is (g_unichar_toupper (c)) || is (g_unichar_tolower (c))
                                  || is (g_unichar_totitle (c))));
}

static ClipClass
clip_class (gunichar c)
{
  if (gill_unicode_is_white_space (c))
    return CLIP_SPACE;
  if (clip_any_case (c, gill_unicode_is_letter))
    return CLIP_LETTER;
  if (clip_any_case (c, gill_unicode_is_number))
    return CLIP_NUMBER;
  return CLIP_OTHER;
}

static inline gunichar
clip_fold (gunichar c)
{
  return c < 0x80 ? (gunichar) g_ascii_tolower ((gchar) c) : g_unichar_tolower (g_unichar_toupper (c));
}

/* does s[i..] start with the ASCII literal, ignoring case? its length in bytes, or 0 */
static gsize
clip_match_literal (const gchar *s,
                    gsize        len,
                    gsize        i,
                    const gchar *literal)
{
  gsize start = i;
  for (const gchar *p = literal; *p; p++)
    {
      if (i >= len)
        return 0;
      gunichar c;
      gsize n = gill_utf8_decode_char ((const guint8 *) s + i, len - i, &c);
      if (n == 0 || clip_fold (c) != (gunichar) g_ascii_tolower (*p))
        return 0;
      i += n;
    }
  return i - start;
}

static ClipClass
clip_class_at (const gchar *s,
               gsize        len,
               gsize        i,
               gsize       *n)
{
  gunichar c;
  *n = gill_utf8_decode_char ((const guint8 *) s + i, len - i, &c);
  if (*n == 0)
    {
      *n = 1;
      return CLIP_OTHER;
    }
  return clip_class (c);
}

/* the next piece at or after *pos: TRUE and [*start, *end), FALSE at the end */
static gboolean
clip_next_piece (const gchar *s,
                 gsize        len,
                 gsize       *pos,
                 gsize       *start,
                 gsize       *end)
{
  static const gchar *const literals[] = {
    CLIP_BOS, CLIP_EOS, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
  };
  gsize i = *pos;
  while (i < len)
    {
      for (gsize k = 0; k < G_N_ELEMENTS (literals); k++)
        {
          gsize m = (s[i] == '<' || s[i] == '\'') ? clip_match_literal (s, len, i, literals[k]) : 0;
          if (m > 0)
            {
              *start = i;
              *pos = *end = i + m;
              return TRUE;
            }
        }
      gsize n;
      ClipClass cls = clip_class_at (s, len, i, &n);
      if (cls == CLIP_SPACE)
        {
          i += n;
          continue;
        }
      *start = i;
      gsize j = i + n;
      if (cls != CLIP_NUMBER)     /* letters and others run; a digit stands alone */
        while (j < len)
          {
            gsize m;
            if (clip_class_at (s, len, j, &m) != cls)
              break;
            j += m;
          }
      *pos = *end = j;
      return TRUE;
    }
  *pos = len;
  return FALSE;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* _tokenize for the text between no-split tokens (data: the GillClipEncodeFlags):
 * normalised, split by CLIP's pattern, each piece through BPE */
static void
clip_encode_text (const GillVocab *vocab,
                  GillBpeWork     *work,
                  const gchar     *text,
                  gsize            len,
                  gconstpointer    data,
                  GArray          *items)
{
  GillClipEncodeFlags flags = *(const GillClipEncodeFlags *) data;
  gint32 specials[2] = { gill_bpe_token_to_id (vocab->bpe, CLIP_BOS), gill_bpe_token_to_id (vocab->bpe, CLIP_EOS) };
  gsize m;
  g_autofree gunichar *norm = (flags & GILL_CLIP_ENCODE_BASIC_NORMALIZER) ? clip_normalize_basic (text, len, &m)
                                                                         : clip_normalize_ftfy (text, len, &m);
  GString *utf8 = g_string_sized_new (m + 1);
  gill_ucs4_append_utf8 (utf8, norm, m);
  gsize pos = 0, start, end;
  while (clip_next_piece (utf8->str, utf8->len, &pos, &start, &end))
    {
      /* the BPE cache starts with the two special strings, which map to themselves */
      gint special = -1;
      if (end - start == strlen (CLIP_BOS) && memcmp (utf8->str + start, CLIP_BOS, end - start) == 0)
        special = 0;
      else if (end - start == strlen (CLIP_EOS) && memcmp (utf8->str + start, CLIP_EOS, end - start) == 0)
        special = 1;
      if (special >= 0 && specials[special] >= 0)
        {
          guint32 item = (guint32) specials[special];
          g_array_append_val (items, item);
          continue;
        }
      gill_bpe_encode_piece (vocab->bpe, work, (const guint8 *) utf8->str + start, end - start, items);
    }
  g_string_free (utf8, TRUE);
}

static GArray *
clip_encode (const GillClipTokenizer *tok,
             const gchar             *text,
             gssize                   len,
             GillClipEncodeFlags      flags,
             guint                    max_content,
             guint                    pad_to,
             GError                 **error)
{
  g_return_val_if_fail (tok != NULL && (text != NULL || len == 0), NULL);
  const GillVocab *v = &tok->vocab;
  g_autoptr (GArray) items = gill_vocab_tokenize (v, text, len, FALSE, clip_encode_text, &flags, error);
  if (items == NULL)
    return NULL;
  guint n = MIN (items->len, max_content);
  GArray *ids = g_array_sized_new (FALSE, FALSE, sizeof (gint32), MAX (n + 2, pad_to));
  gint32 bos = gill_vocab_special_id (v, GILL_SPECIAL_BOS), eos = gill_vocab_special_id (v, GILL_SPECIAL_EOS);
  g_array_append_val (ids, bos);
  gill_vocab_append_ids (v, items, n, ids);
  g_array_append_val (ids, eos);
  gint32 pad = gill_vocab_special_id (v, GILL_SPECIAL_PAD);
  while (ids->len < pad_to)
    g_array_append_val (ids, pad);
  return ids;
}

GArray *
gill_clip_tokenizer_encode (const GillClipTokenizer *tok,
                            const gchar             *text,
                            gssize                   len,
                            GillClipEncodeFlags      flags,
                            GError                 **error)
{
  return clip_encode (tok, text, len, flags, G_MAXUINT, 0, error);
}

GArray *
gill_clip_tokenizer_encode_padded (const GillClipTokenizer *tok,
                                   const gchar             *text,
                                   gssize                   len,
                                   guint                    max_length,
                                   GError                 **error)
{
  g_return_val_if_fail (max_length >= 2, NULL);
  return clip_encode (tok, text, len, GILL_CLIP_ENCODE_DEFAULT, max_length - 2, max_length, error);
}

GPtrArray *
gill_clip_tokenizer_tokenize (const GillClipTokenizer *tok,
                              const gchar             *text,
                              gssize                   len,
                              GillClipEncodeFlags      flags,
                              GError                 **error)
{
  g_return_val_if_fail (tok != NULL && (text != NULL || len == 0), NULL);
  g_autoptr (GArray) items = gill_vocab_tokenize (&tok->vocab, text, len, FALSE, clip_encode_text, &flags,
                                                  error);
  return items ? gill_vocab_item_strings (&tok->vocab, items) : NULL;
}

/* ---- decoding ---------------------------------------------------------------------------------- */

/* CLIPTokenizer.convert_tokens_to_string: UTF-8 with errors="replace", "</w>" -> " ", strip() */
static void
clip_bytes_to_text (const GByteArray *bytes,
                    GString          *out)
{
  GString *s = g_string_new (NULL);
  gill_utf8_append_replacing (s, bytes->data, bytes->len);
  gsize n;
  g_autofree gunichar *chars = gill_utf8_to_ucs4 (s->str, s->len, &n);
  g_string_free (s, TRUE);
  g_autoptr (GArray) replaced = g_array_new (FALSE, FALSE, sizeof (gunichar));
  static const gunichar eow[4] = { '<', '/', 'w', '>' };
  for (gsize i = 0; i < n;)
    {
      if (i + 4 <= n && memcmp (chars + i, eow, sizeof eow) == 0)
        {
          gunichar space = ' ';
          g_array_append_val (replaced, space);
          i += 4;
          continue;
        }
      g_array_append_val (replaced, chars[i]);
      i++;
    }
  const gunichar *r = (const gunichar *) replaced->data;
  gsize a = 0, b = replaced->len;
  while (a < b && gill_unicode_is_python_space (r[a]))
    a++;
  while (b > a && gill_unicode_is_python_space (r[b - 1]))
    b--;
  gill_ucs4_append_utf8 (out, r + a, b - a);
}

gchar *
gill_clip_tokenizer_decode (const GillClipTokenizer *tok,
                            const gint32            *ids,
                            gsize                    n_ids,
                            gboolean                 skip_special_tokens,
                            gsize                   *length,
                            GError                 **error)
{
  g_return_val_if_fail (tok != NULL && (ids != NULL || n_ids == 0), NULL);
  return gill_vocab_decode (&tok->vocab, ids, n_ids, skip_special_tokens, clip_bytes_to_text,
                            length, error);
}
