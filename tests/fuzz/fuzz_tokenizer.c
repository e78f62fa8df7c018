/* fuzz_tokenizer.c — libFuzzer target for the tokenizers: any bytes, taken as text, through
 * GILL's OPT tokenizer and SD's CLIP tokenizer (encode, tokenize, SD's padded encode), ftfy,
 * and the same bytes read as token ids through both decoders. Each call gives a result or a
 * GError (invalid UTF-8, ids out of range), never a crash, a leak or undefined behaviour.
 *
 * The tokenizer files are loaded once: from $GILL_FIXTURES/tokenizers when it is set, else a
 * small tokenizer of each kind written here (so the corpus runs as a plain meson test). The two
 * loaded tokenizers are the harness's only state, as libFuzzer targets keep it. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "core/text/bpe.h"
#include "core/text/clip-tokenizer.h"
#include "core/text/ftfy.h"
#include "core/text/opt-tokenizer.h"
#include "core/text/unicode.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

typedef struct
{
  GillOptTokenizer *opt;
  GillClipTokenizer *clip;
} Tokenizers;

static void
write_json (const gchar *dir,
            const gchar *name,
            JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree gchar *text = json_to_string (root, FALSE);
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, text, -1, NULL);
}

static void
write_text (const gchar *dir,
            const gchar *name,
            const gchar *text)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, text, -1, NULL);
}

static void
remove_files (const gchar *dir)
{
  static const gchar *const names[] = { "vocab.json", "merges.txt", "tokenizer_config.json" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = g_build_filename (dir, names[i], NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

/* a byte-level vocabulary (with "</w>" variants when suffix), a few merges and the specials */
static gchar *
write_small_tokenizer (const gchar        *suffix,
                       const gchar *const *merges,
                       const gchar *const *specials)
{
  gchar *dir = g_dir_make_tmp ("gill-fuzz-tok-XXXXXX", NULL);
  if (dir == NULL)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gint64 id = 0;
  json_builder_begin_object (b);
  for (guint pass = 0; pass < (suffix ? 2u : 1u); pass++)
    for (guint byte = 0; byte < 256; byte++)
      {
        gchar ch[8] = { 0 };
        g_unichar_to_utf8 (gill_bpe_byte_to_char ((guint8) byte), ch);
        g_autofree gchar *token = g_strconcat (ch, pass ? suffix : "", NULL);
        json_builder_set_member_name (b, token);
        json_builder_add_int_value (b, id++);
      }
  GString *text = g_string_new ("#version: 0.2\n");
  for (gsize i = 0; merges[i]; i++)
    {
      g_auto (GStrv) pair = g_strsplit (merges[i], " ", 2);
      g_autofree gchar *merged = g_strconcat (pair[0], pair[1], NULL);
      json_builder_set_member_name (b, merged);
      json_builder_add_int_value (b, id++);
      g_string_append_printf (text, "%s\n", merges[i]);
    }
  for (gsize i = 0; specials[i]; i++)
    {
      json_builder_set_member_name (b, specials[i]);
      json_builder_add_int_value (b, id++);
    }
  json_builder_end_object (b);
  write_json (dir, "vocab.json", b);
  write_text (dir, "merges.txt", text->str);
  g_string_free (text, TRUE);
  return dir;
}

static Tokenizers *
load_tokenizers (void)
{
  Tokenizers *t = g_new0 (Tokenizers, 1);
  const gchar *fixtures = g_getenv ("GILL_FIXTURES");
  if (fixtures)
    {
      g_autofree gchar *opt = g_build_filename (fixtures, "tokenizers", "opt", NULL);
      g_autofree gchar *clip = g_build_filename (fixtures, "tokenizers", "clip", NULL);
      t->opt = gill_opt_tokenizer_load (opt, NULL);
      t->clip = gill_clip_tokenizer_load (clip, NULL);
    }
  if (t->opt == NULL)
    {
      static const gchar *const merges[] = { "\xc4\xa0 t", "h e", "\xc4\xa0t he", "i n", "a a",
                                             "aa aa", "\xc4\xa0 \xc4\xa0", NULL };
      static const gchar *const specials[] = { "</s>", "<pad>", NULL };
      g_autofree gchar *dir = write_small_tokenizer (NULL, merges, specials);
      write_text (dir, "tokenizer_config.json",
                  "{\"add_bos_token\": true, \"bos_token\": \"</s>\", \"eos_token\": \"</s>\", "
                  "\"unk_token\": \"</s>\", \"pad_token\": \"<pad>\"}");
      t->opt = gill_opt_tokenizer_load (dir, NULL);
      remove_files (dir);
    }
  if (t->clip == NULL)
    {
      static const gchar *const merges[] = { "t h", "th e</w>", "a </w>", "i n", "in g</w>",
                                             "c a", "ca t</w>", NULL };
      static const gchar *const specials[] = { "<|startoftext|>", "<|endoftext|>", NULL };
      g_autofree gchar *dir = write_small_tokenizer ("</w>", merges, specials);
      t->clip = gill_clip_tokenizer_load (dir, NULL);
      remove_files (dir);
    }
  g_assert (t->opt != NULL && t->clip != NULL);
  gill_opt_tokenizer_add_gill_tokens (t->opt);
  return t;
}

static const Tokenizers *
tokenizers (void)
{
  static gsize once = 0;
  static Tokenizers *t;
  if (g_once_init_enter (&once))
    {
      t = load_tokenizers ();
      g_once_init_leave (&once, 1);
    }
  return t;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const Tokenizers *t = tokenizers ();
  const gchar *text = (const gchar *) data;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GArray) ids = gill_opt_tokenizer_encode (t->opt, text, (gssize) size, TRUE, &e1);
  g_assert ((ids == NULL) != (e1 == NULL));
  if (ids != NULL)
    {
      g_autoptr (GError) e = NULL;
      gsize len;
      g_autofree gchar *back = gill_opt_tokenizer_decode (t->opt, (const gint32 *) ids->data,
                                                          ids->len, FALSE, &len, &e);
      g_assert_no_error (e);
      g_assert_nonnull (back);
      g_autoptr (GPtrArray) tokens = gill_opt_tokenizer_tokenize (t->opt, text, (gssize) size, &e);
      g_assert_no_error (e);
      g_assert_nonnull (tokens);
    }

  g_autoptr (GError) e2 = NULL;
  g_autoptr (GArray) clip_ids = gill_clip_tokenizer_encode_padded (t->clip, text, (gssize) size,
                                                                   GILL_CLIP_MAX_LENGTH, &e2);
  g_assert ((clip_ids == NULL) != (e2 == NULL));
  g_assert ((e1 == NULL) == (e2 == NULL));
  if (clip_ids != NULL)
    {
      g_assert_cmpuint (clip_ids->len, ==, GILL_CLIP_MAX_LENGTH);
      g_autoptr (GError) e = NULL;
      g_autoptr (GArray) basic = gill_clip_tokenizer_encode (t->clip, text, (gssize) size,
                                                             GILL_CLIP_ENCODE_BASIC_NORMALIZER, &e);
      g_assert_no_error (e);
      g_assert_nonnull (basic);
      gsize n;
      g_autofree gchar *fixed = gill_ftfy_fix_text (text, size, &n);
      g_assert_true (gill_utf8_check (fixed, n, NULL));
    }

  /* the same bytes as ids: decoded, or refused when one is out of range */
  gsize n_ids = size / sizeof (gint32);
  g_autofree gint32 *as_ids = g_new0 (gint32, n_ids + 1);
  memcpy (as_ids, data, n_ids * sizeof (gint32));
  for (gsize i = 0; i < n_ids; i++)
    as_ids[i] = (gint32) ((guint32) as_ids[i] % 60000u);
  g_autoptr (GError) e3 = NULL;
  g_autoptr (GError) e4 = NULL;
  g_autofree gchar *d1 = gill_opt_tokenizer_decode (t->opt, as_ids, n_ids, TRUE, NULL, &e3);
  g_autofree gchar *d2 = gill_clip_tokenizer_decode (t->clip, as_ids, n_ids, FALSE, NULL, &e4);
  g_assert ((d1 == NULL) != (e3 == NULL));
  g_assert ((d2 == NULL) != (e4 == NULL));
  return 0;
}
