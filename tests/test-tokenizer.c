/* test-tokenizer.c — the OPT and CLIP tokenizers (core/text, models.md §1.6 and §2.6).
 *
 * Cases derived from the fixtures (tokenizers/cases.json) with the fixture tokenizer files
 * ($GILL_FIXTURES/tokenizers), the reference's test vectors, ftfy's fixes one by one, decode
 * round trips, and bad input: invalid UTF-8, NUL bytes, a 10 MB word and 10 MB of emoji (which
 * must simply finish; timing is `gill bench tokenize`'s business, not a test's). */
#include "core/text/clip-tokenizer.h"
#include "core/text/ftfy.h"
#include "core/text/opt-tokenizer.h"

#include <glib/gstdio.h>
#include <string.h>

#include "core/base/error.h"

#define BIG (10u * 1000u * 1000u)

static gchar *
fixture (const gchar *name)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  if (root == NULL)
    return NULL;
  g_autofree gchar *path = g_build_filename (root, "tokenizers", name, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS) ? g_steal_pointer (&path) : NULL;
}

static GillOptTokenizer *
load_opt (gboolean gill_tokens)
{
  g_autofree gchar *path = fixture ("opt");
  if (path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/tokenizers/opt not found");
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  GillOptTokenizer *tok = gill_opt_tokenizer_load (path, &error);
  g_assert_no_error (error);
  if (gill_tokens)
    gill_opt_tokenizer_add_gill_tokens (tok);
  return tok;
}

static GillClipTokenizer *
load_clip (const gchar *name)
{
  g_autofree gchar *path = fixture (name);
  if (path == NULL)
    {
      g_test_skip ("GILL_FIXTURES/tokenizers/clip not found");
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  GillClipTokenizer *tok = gill_clip_tokenizer_load (path, &error);
  g_assert_no_error (error);
  return tok;
}

static void
assert_ids (const GArray *ids,
            const gint32 *expected,
            gsize         n)
{
  g_assert_nonnull (ids);
  g_assert_cmpuint (ids->len, ==, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (ids, gint32, i), ==, expected[i]);
}

static void
assert_tokens (GPtrArray          *tokens,
               const gchar *const *expected)
{
  g_assert_nonnull (tokens);
  g_assert_cmpuint (tokens->len, ==, g_strv_length ((gchar **) expected));
  for (guint i = 0; i < tokens->len; i++)
    g_assert_cmpstr (g_ptr_array_index (tokens, i), ==, expected[i]);
}

static gchar *
opt_round_trip (const GillOptTokenizer *tok,
                const gchar            *text,
                gsize                   len,
                gsize                  *out_len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = gill_opt_tokenizer_encode (tok, text, (gssize) len, FALSE, &error);
  g_assert_no_error (error);
  gchar *back = gill_opt_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE,
                                           out_len, &error);
  g_assert_no_error (error);
  return back;
}

/* ---- OPT -------------------------------------------------------------------------------------- */

static void
test_opt_hello (void)
{
  g_autoptr (GillOptTokenizer) tok = load_opt (TRUE);
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = gill_opt_tokenizer_encode (tok, "Hello world", -1, TRUE, &error);
  g_assert_no_error (error);
  assert_ids (ids, (const gint32[]) { 2, 31414, 232 }, 3);
  g_autoptr (GArray) plain = gill_opt_tokenizer_encode (tok, "Hello world", -1, FALSE, &error);
  assert_ids (plain, (const gint32[]) { 31414, 232 }, 2);
  g_assert_cmpuint (gill_opt_tokenizer_n_tokens (tok), ==, 50274);
  g_assert_cmpint (gill_opt_tokenizer_bos_id (tok), ==, 2);
  g_assert_cmpint (gill_opt_tokenizer_pad_id (tok), ==, 1);
}

/* models.md §1.6's pre-tokenizer vectors, seen through the token strings */
static void
test_opt_pretokenize (void)
{
  g_autoptr (GillOptTokenizer) tok = load_opt (TRUE);
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) a = gill_opt_tokenizer_tokenize (tok, "don't DON'T", -1, &error);
  assert_tokens (a, (const gchar *const[]) { "don", "'t", "\xc4\xa0" "DON", "'", "T", NULL });
  g_autoptr (GPtrArray) b = gill_opt_tokenizer_tokenize (tok, "multiple   spaces", -1, &error);
  assert_tokens (b, (const gchar *const[]) { "multiple", "\xc4\xa0", "\xc4\xa0", "\xc4\xa0" "spaces", NULL });
  g_autoptr (GPtrArray) c = gill_opt_tokenizer_tokenize (tok, "line one\nline two\n\nline", -1, &error);
  assert_tokens (c, (const gchar *const[]) { "line", "\xc4\xa0" "one", "\xc4\x8a", "line",
                                             "\xc4\xa0" "two", "\xc4\x8a", "\xc4\x8a", "line", NULL });
  g_assert_no_error (error);
}

/* GILL's tokens are atomic and strip the text around them; </s> and <pad> do not */
static void
test_opt_gill_tokens (void)
{
  g_autoptr (GillOptTokenizer) tok = load_opt (TRUE);
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = gill_opt_tokenizer_encode (tok, "a dog. [IMG0] [IMG1] and", -1, TRUE, &error);
  g_assert_no_error (error);
  assert_ids (ids, (const gint32[]) { 2, 102, 2335, 4, 50266, 50267, 463 }, 7);
  g_autoptr (GArray) cls = gill_opt_tokenizer_encode (tok, "caption <|image|> here", -1, FALSE, &error);
  assert_ids (cls, (const gint32[]) { 3245, 24802, 50265, 10859 }, 4);
  g_autoptr (GPtrArray) specials = gill_opt_tokenizer_tokenize (tok, "</s>Hello</s> world <pad>", -1, &error);
  assert_tokens (specials, (const gchar *const[]) { "</s>", "Hello", "</s>", "\xc4\xa0" "world",
                                                    "\xc4\xa0", "<pad>", NULL });
  g_autoptr (GPtrArray) fake = gill_opt_tokenizer_tokenize (tok, "[IMG8] <s>", -1, &error);
  assert_tokens (fake, (const gchar *const[]) { "[", "IM", "G", "8", "]", "\xc4\xa0<", "s", ">", NULL });

  /* the tokenizer without GILL's tokens splits them like any text */
  g_autoptr (GillOptTokenizer) plain = load_opt (FALSE);
  g_autoptr (GArray) plain_ids = gill_opt_tokenizer_encode (plain, "[IMG0]", -1, TRUE, &error);
  assert_ids (plain_ids, (const gint32[]) { 2, 10975, 3755, 534, 288, 742 }, 6);
}

static void
test_opt_decode (void)
{
  g_autoptr (GillOptTokenizer) tok = load_opt (TRUE);
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  const gint32 ids[] = { 2, 3245, 24802, 50265, 10859 };
  g_autofree gchar *keep = gill_opt_tokenizer_decode (tok, ids, G_N_ELEMENTS (ids), FALSE, NULL, &error);
  g_autofree gchar *skip = gill_opt_tokenizer_decode (tok, ids, G_N_ELEMENTS (ids), TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (keep, ==, "</s>caption <|image|> here");
  g_assert_cmpstr (skip, ==, "captionhere");

  /* clean_up_tokenization_spaces */
  g_autoptr (GArray) c = gill_opt_tokenizer_encode (tok, "'s 't 're 've 'm 'll 'd", -1, TRUE, &error);
  g_autofree gchar *cleaned = gill_opt_tokenizer_decode (tok, (const gint32 *) c->data, c->len, TRUE, NULL, &error);
  g_assert_cmpstr (cleaned, ==, "'s 't're've'm 'll 'd");

  /* bytes that are not UTF-8 on their own: one U+FFFD per maximal ill-formed part */
  const gint32 partial[] = { 17, 4 };      /* "âĢ" = E2 80, then "." */
  g_autofree gchar *replaced = gill_opt_tokenizer_decode (tok, partial, 2, FALSE, NULL, &error);
  g_assert_cmpstr (replaced, ==, "\xef\xbf\xbd.");

  const gint32 bad[] = { 2, 99999 };
  g_autofree gchar *none = gill_opt_tokenizer_decode (tok, bad, 2, FALSE, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

static void
test_opt_round_trip (void)
{
  g_autoptr (GillOptTokenizer) tok = load_opt (TRUE);
  if (tok == NULL)
    return;
  static const gchar *const texts[] = {
    "Hello world", "  leading and trailing  ", "line one\nline two\r\n\ttab",
    "Café naïve Straße Ελληνικά Русский 日本語のテキスト 한국어 مرحبا",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇯🇵", "∑∫√∞ ≤ ≥ ≠ ± × ÷",
    "A picture of a cat [IMG0] [IMG1] [IMG7]",   /* decode puts one space around added tokens */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      gsize n;
      g_autofree gchar *back = opt_round_trip (tok, texts[i], strlen (texts[i]), &n);
      g_assert_cmpstr (back, ==, texts[i]);
    }
}

/* ---- CLIP ------------------------------------------------------------------------------------- */

/* models.md §2.6's test vectors */
static void
test_clip_vectors (void)
{
  g_autoptr (GillClipTokenizer) tok = load_clip ("clip");
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) a = gill_clip_tokenizer_encode (tok, "a photo of a cat", -1, 0, &error);
  assert_ids (a, (const gint32[]) { 49406, 320, 1125, 539, 320, 2368, 49407 }, 7);
  g_autoptr (GArray) b = gill_clip_tokenizer_encode (tok, "Hello, World!", -1, 0, &error);
  assert_ids (b, (const gint32[]) { 49406, 3306, 267, 1002, 256, 49407 }, 6);
  g_autoptr (GArray) c = gill_clip_tokenizer_encode (tok, "don't stop  2023", -1, 0, &error);
  assert_ids (c, (const gint32[]) { 49406, 847, 713, 1691, 273, 271, 273, 274, 49407 }, 9);
  g_autoptr (GArray) e = gill_clip_tokenizer_encode (tok, "", -1, 0, &error);
  assert_ids (e, (const gint32[]) { 49406, 49407 }, 2);
  g_assert_no_error (error);
}

static void
test_clip_pad_truncate (void)
{
  g_autoptr (GillClipTokenizer) tok = load_clip ("clip");
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) short_ids = gill_clip_tokenizer_encode_padded (tok, "a cat", -1, GILL_CLIP_MAX_LENGTH, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (short_ids->len, ==, 77);
  g_assert_cmpint (g_array_index (short_ids, gint32, 3), ==, 49407);
  g_assert_cmpint (g_array_index (short_ids, gint32, 76), ==, 49407);

  GString *text = g_string_new (NULL);
  for (guint i = 0; i < 100; i++)
    g_string_append_printf (text, "word%u ", i);
  g_autoptr (GArray) full = gill_clip_tokenizer_encode (tok, text->str, -1, 0, &error);
  g_autoptr (GArray) cut = gill_clip_tokenizer_encode_padded (tok, text->str, -1, GILL_CLIP_MAX_LENGTH, &error);
  g_string_free (text, TRUE);
  g_assert_cmpuint (full->len, >, 77);
  g_assert_cmpuint (cut->len, ==, 77);
  for (guint i = 0; i < 76; i++)
    g_assert_cmpint (g_array_index (cut, gint32, i), ==, g_array_index (full, gint32, i));
  g_assert_cmpint (g_array_index (cut, gint32, 76), ==, 49407);
}

/* OpenAI's gzip file builds the same vocabulary as the Hugging Face folder */
static void
test_clip_openai_file (void)
{
  g_autoptr (GillClipTokenizer) hf = load_clip ("clip");
  g_autoptr (GillClipTokenizer) openai = load_clip ("clip/bpe_simple_vocab_16e6.txt.gz");
  if (hf == NULL || openai == NULL)
    return;
  g_assert_cmpuint (gill_clip_tokenizer_n_tokens (openai), ==, gill_clip_tokenizer_n_tokens (hf));
  static const gchar *const texts[] = { "A painting of a dog wearing a hat, 4k", "supercalifragilistic",
                                        "Straße, 東京, Москва 😀" };
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) x = gill_clip_tokenizer_encode (hf, texts[i], -1, 0, &error);
      g_autoptr (GArray) y = gill_clip_tokenizer_encode (openai, texts[i], -1, 0, &error);
      g_assert_no_error (error);
      assert_ids (y, (const gint32 *) x->data, x->len);
    }
}

static void
test_clip_decode (void)
{
  g_autoptr (GillClipTokenizer) tok = load_clip ("clip");
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = gill_clip_tokenizer_encode_padded (tok, "A photo of a Cat, 4k!", -1, 77, &error);
  g_autofree gchar *text = gill_clip_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "a photo of a cat, 4 k!");
}

static void
assert_fixed (const gchar *in,
              const gchar *expected)
{
  gsize n;
  g_autofree gchar *out = gill_ftfy_fix_text (in, strlen (in), &n);
  g_assert_cmpstr (out, ==, expected);
}

/* each ftfy fix the CLIP cases rely on, on its own */
static void
test_clip_ftfy (void)
{
  assert_fixed ("caf\xc3\x83\xc2\xa9 and \xc3\x83\xc2\xbc" "ber", "café and über");   /* mojibake */
  assert_fixed ("The Mona Lisa doesn\xc3\xa2\xe2\x82\xac\xe2\x84\xa2t have eyebrows.",
                "The Mona Lisa doesn't have eyebrows.");                             /* 1252 + quotes */
  assert_fixed ("Tom &amp; Jerry &lt;3 &quot;x&quot; &#x2019;&#233;&EACUTE;", "Tom & Jerry <3 \"x\" 'éÉ");
  assert_fixed ("<b>Tom &amp; Jerry</b>", "<b>Tom &amp; Jerry</b>");                  /* '<': kept */
  assert_fixed ("\xe2\x80\x9c" "curly\xe2\x80\x9d \xe2\x80\x98single\xe2\x80\x99", "\"curly\" 'single'");
  assert_fixed ("\xef\xac\x81nance \xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\xef\xbc\x91", "finance ABC1");
  assert_fixed ("bell\x07 and escape\x1b[0m done\xef\xbb\xbf", "bell and escape done");
  assert_fixed ("a\r\nb\rc\xe2\x80\xa8" "d", "a\nb\nc\nd");
  assert_fixed ("e\xcc\x81", "\xc3\xa9");                                            /* NFC */
  assert_fixed ("Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9", "Café naïve résumé");  /* left alone */
  assert_fixed ("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xe6\x9d\xb1\xe4\xba\xac", "Москва 東京");
}

static void
test_clip_whitespace_case (void)
{
  g_autoptr (GillClipTokenizer) tok = load_clip ("clip");
  if (tok == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) a = gill_clip_tokenizer_encode (tok, "  Hello\u00a0\t\nWORLD  ", -1, 0, &error);
  assert_ids (a, (const gint32[]) { 49406, 3306, 1002, 49407 }, 4);
  g_autoptr (GPtrArray) t = gill_clip_tokenizer_tokenize (tok, "<|startoftext|>a photo<|endoftext|> of", -1, 0, &error);
  assert_tokens (t, (const gchar *const[]) { "<|startoftext|>", "a</w>", "photo</w>", "<|endoftext|>", "of</w>", NULL });
  g_assert_no_error (error);
}

/* ---- bad input -------------------------------------------------------------------------------- */

static void
test_bad_invalid_utf8 (void)
{
  g_autoptr (GillOptTokenizer) opt = load_opt (TRUE);
  g_autoptr (GillClipTokenizer) clip = load_clip ("clip");
  if (opt == NULL || clip == NULL)
    return;
  static const gchar *const bad[] = {
    "ab\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", "ok\x80",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (GArray) x = gill_opt_tokenizer_encode (opt, bad[i], -1, TRUE, &e1);
      g_autoptr (GArray) y = gill_clip_tokenizer_encode (clip, bad[i], -1, 0, &e2);
      g_assert_null (x);
      g_assert_null (y);
      g_assert_error (e1, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
      g_assert_error (e2, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
    }
}

/* U+0000 is a character: OPT encodes byte 0 ("Ā"), ftfy removes it for CLIP */
static void
test_bad_nul_bytes (void)
{
  g_autoptr (GillOptTokenizer) opt = load_opt (TRUE);
  g_autoptr (GillClipTokenizer) clip = load_clip ("clip");
  if (opt == NULL || clip == NULL)
    return;
  static const gchar text[] = "a\0b c";
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) x = gill_opt_tokenizer_encode (opt, text, sizeof text - 1, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (x, gint32, 1), ==, gill_opt_tokenizer_token_to_id (opt, "\xc4\x80"));
  gsize n;
  g_autofree gchar *back = opt_round_trip (opt, text, sizeof text - 1, &n);
  g_assert_cmpuint (n, ==, sizeof text - 1);
  g_assert_true (memcmp (back, text, n) == 0);
  g_autoptr (GArray) y = gill_clip_tokenizer_encode (clip, text, sizeof text - 1, 0, &error);
  g_autoptr (GArray) z = gill_clip_tokenizer_encode (clip, "ab c", -1, 0, &error);
  g_assert_no_error (error);
  assert_ids (y, (const gint32 *) z->data, z->len);
}

static gchar *
repeat (const gchar *unit,
        gsize        bytes,
        gsize       *len)
{
  GString *s = g_string_sized_new (bytes + 16);
  while (s->len < bytes)
    g_string_append (s, unit);
  *len = s->len;
  return g_string_free (s, FALSE);
}

/* one "word" of 10 MB: BPE merges in O(n log n), so this finishes */
static void
test_bad_long_word (void)
{
  g_autoptr (GillOptTokenizer) opt = load_opt (TRUE);
  g_autoptr (GillClipTokenizer) clip = load_clip ("clip");
  if (opt == NULL || clip == NULL)
    return;
  gsize len;
  g_autofree gchar *word = repeat ("a", BIG, &len);
  g_autoptr (GError) error = NULL;
  gsize n;
  g_autofree gchar *back = opt_round_trip (opt, word, len, &n);
  g_assert_cmpuint (n, ==, len);
  g_assert_true (memcmp (back, word, len) == 0);
  g_autoptr (GArray) ids = gill_clip_tokenizer_encode (clip, word, (gssize) len, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, >, 2);

  g_autofree gchar *mixed = repeat ("xqzvk", BIG, &len);
  g_autoptr (GArray) more = gill_opt_tokenizer_encode (opt, mixed, (gssize) len, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (more->len, >, 1);
}

static void
test_bad_emoji (void)
{
  g_autoptr (GillOptTokenizer) opt = load_opt (TRUE);
  g_autoptr (GillClipTokenizer) clip = load_clip ("clip");
  if (opt == NULL || clip == NULL)
    return;
  gsize len;
  g_autofree gchar *emoji = repeat ("😀🎉👍🏽🇯🇵👨‍👩‍👧", BIG, &len);
  g_autoptr (GError) error = NULL;
  gsize n;
  g_autofree gchar *back = opt_round_trip (opt, emoji, len, &n);
  g_assert_cmpuint (n, ==, len);
  g_assert_true (memcmp (back, emoji, len) == 0);
  g_autoptr (GArray) ids = gill_clip_tokenizer_encode (clip, emoji, (gssize) len, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, >, 2);
}

/* ---- loading ---------------------------------------------------------------------------------- */

static gchar *
make_folder (const gchar *vocab,
             const gchar *merges)
{
  g_autoptr (GError) error = NULL;
  gchar *dir = g_dir_make_tmp ("gill-tok-XXXXXX", &error);
  g_assert_no_error (error);
  if (vocab)
    {
      g_autofree gchar *p = g_build_filename (dir, "vocab.json", NULL);
      g_file_set_contents (p, vocab, -1, &error);
    }
  if (merges)
    {
      g_autofree gchar *p = g_build_filename (dir, "merges.txt", NULL);
      g_file_set_contents (p, merges, -1, &error);
    }
  g_assert_no_error (error);
  return dir;
}

static void
remove_folder (const gchar *dir)
{
  static const gchar *const names[] = { "vocab.json", "merges.txt" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *p = g_build_filename (dir, names[i], NULL);
      g_remove (p);
    }
  g_rmdir (dir);
}

static void
test_load_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *empty = make_folder (NULL, NULL);
  g_autoptr (GillOptTokenizer) a = gill_opt_tokenizer_load (empty, &error);
  g_assert_null (a);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_clear_error (&error);
  g_autoptr (GillClipTokenizer) b = gill_clip_tokenizer_load (empty, &error);
  g_assert_null (b);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_clear_error (&error);
  remove_folder (empty);

  g_autofree gchar *bad_json = make_folder ("[1, 2]", "#version: 0.2\na b\n");
  g_autoptr (GillOptTokenizer) c = gill_opt_tokenizer_load (bad_json, &error);
  g_assert_null (c);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_clear_error (&error);
  remove_folder (bad_json);

  g_autofree gchar *bad_merges = make_folder ("{\"a\": 0, \"b\": 1, \"ab\": 2}", "#version: 0.2\na b c\n");
  g_autoptr (GillOptTokenizer) d = gill_opt_tokenizer_load (bad_merges, &error);
  g_assert_null (d);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_clear_error (&error);
  remove_folder (bad_merges);

  /* a file that is not gzip where OpenAI's vocabulary is expected */
  g_autofree gchar *not_gz = make_folder ("{}", NULL);
  g_autofree gchar *path = g_build_filename (not_gz, "vocab.json", NULL);
  g_autoptr (GillClipTokenizer) e = gill_clip_tokenizer_load (path, &error);
  g_assert_null (e);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  remove_folder (not_gz);
}

/* a tiny vocabulary: ranks decide, and every occurrence of a pair merges before the next rank */
static void
test_merge_order (void)
{
  GString *vocab = g_string_new ("{");
  for (guint b = 33; b <= 126; b++)      /* the printable ASCII bytes stand for themselves */
    g_string_append_printf (vocab, "%s\"%s%c\": %u", b > 33 ? ", " : "",
                            (b == '"' || b == '\\') ? "\\" : "", b, b);
  g_string_append (vocab, ", \"aa\": 300, \"aaaa\": 301, \"ab\": 302, \"<unk>\": 303}");
  g_autofree gchar *dir = make_folder (vocab->str, "#version: 0.2\na a\naa aa\na b\n");
  g_string_free (vocab, TRUE);
  g_autofree gchar *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_file_set_contents (config_path, "{\"unk_token\": \"<unk>\", \"bos_token\": \"<unk>\"}", -1, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillOptTokenizer) tok = gill_opt_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) t = gill_opt_tokenizer_tokenize (tok, "aaaaaaab", -1, &error);
  assert_tokens (t, (const gchar *const[]) { "aaaa", "aa", "ab", NULL });
  g_autoptr (GPtrArray) u = gill_opt_tokenizer_tokenize (tok, "aaa", -1, &error);
  assert_tokens (u, (const gchar *const[]) { "aa", "a", NULL });
  g_remove (config_path);
  remove_folder (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/opt/hello", test_opt_hello);
  g_test_add_func ("/tokenizer/opt/pretokenize", test_opt_pretokenize);
  g_test_add_func ("/tokenizer/opt/gill-tokens", test_opt_gill_tokens);
  g_test_add_func ("/tokenizer/opt/decode", test_opt_decode);
  g_test_add_func ("/tokenizer/opt/round-trip", test_opt_round_trip);
  g_test_add_func ("/tokenizer/opt/merge-order", test_merge_order);
  g_test_add_func ("/tokenizer/opt/load-errors", test_load_errors);
  g_test_add_func ("/tokenizer/clip/vectors", test_clip_vectors);
  g_test_add_func ("/tokenizer/clip/pad-truncate", test_clip_pad_truncate);
  g_test_add_func ("/tokenizer/clip/openai-file", test_clip_openai_file);
  g_test_add_func ("/tokenizer/clip/decode", test_clip_decode);
  g_test_add_func ("/tokenizer/clip/ftfy", test_clip_ftfy);
  g_test_add_func ("/tokenizer/clip/whitespace-case", test_clip_whitespace_case);
  g_test_add_func ("/tokenizer/bad-input/invalid-utf8", test_bad_invalid_utf8);
  g_test_add_func ("/tokenizer/bad-input/nul-bytes", test_bad_nul_bytes);
  g_test_add_func ("/tokenizer/bad-input/long-word", test_bad_long_word);
  g_test_add_func ("/tokenizer/bad-input/emoji", test_bad_emoji);
  return g_test_run ();
}
