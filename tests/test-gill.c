/* test-gill.c — opening a GILL folder (core/gill/gill-model.h): what tiny-gill gives, and the
 * errors for a missing checkpoint, a tensor whose shape disagrees with model_args.json, a broken
 * model_args.json and a decision head of the wrong shape; gill_generate's refusals of bad calls
 * (core/gill/gill-generate.h) and GILL's truncate_caption. */
#include <string.h>

#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/gill/gill-generate.h"
#include "core/gill/gill-model.h"
#include "fixture.h"

/* a temporary GILL folder with these files copied from tiny-gill and model_args.json replaced
 * by args when args is not NULL */
static gchar *
folder_with (const gchar *const *files, const gchar *args)
{
  g_autofree gchar *src = fixture ("tiny-gill");
  if (src == NULL)
    return NULL;
  gchar *dir = g_dir_make_tmp ("gill-gill-XXXXXX", NULL);
  for (gsize i = 0; files[i]; i++)
    {
      g_autofree gchar *from = g_build_filename (src, files[i], NULL);
      g_autofree gchar *to = g_build_filename (dir, files[i], NULL);
      g_autofree gchar *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (from, &data, &len, NULL));
      g_assert_true (g_file_set_contents (to, data, len, NULL));
    }
  if (args)
    {
      g_autofree gchar *to = g_build_filename (dir, "model_args.json", NULL);
      g_assert_true (g_file_set_contents (to, args, -1, NULL));
    }
  return dir;
}

static void
remove_folder (gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const gchar *name; d && (name = g_dir_read_name (d)) != NULL;)
    {
      g_autofree gchar *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
  g_free (dir);
}

/* tiny-gill's model_args.json with one substring replaced */
static gchar *
args_edited (const gchar *from, const gchar *to)
{
  g_autofree gchar *path = fixture ("tiny-gill/model_args.json");
  g_autofree gchar *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  GString *s = g_string_new (text);
  g_assert_cmpint (g_string_replace (s, from, to, 0), >=, 1);
  return g_string_free (s, FALSE);
}

static void
test_open_tiny (void)
{
  g_autofree gchar *folder = fixture ("tiny-gill");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillModel) m = gill_model_open (folder, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->lm_dim, ==, 48);
  g_assert_cmpint (m->clip_dim, ==, 32);
  g_assert_cmpint (m->args.gen_token_idx[0], ==, 50266);
  g_assert_cmpint (m->mapper->config.n_encoder_layers, ==, 4);
  g_assert_cmpint (m->mapper->config.n_decoder_layers, ==, 4);
  g_assert_cmpint (m->mapper->config.n_output_tokens, ==, 77);
  g_assert_cmpint (m->emb_matrix->shape[0], ==, m->ret_paths->len);
  g_assert_cmpint (m->decision->in_dim, ==, 48);
}

static void
test_missing_checkpoint (void)
{
  const gchar *files[] = { "model_args.json", NULL };
  gchar *dir = folder_with (files, NULL);
  if (dir == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillModel) m = gill_model_open (dir, &error);
  g_assert_null (m);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "pretrained_ckpt.pth.tar"));
  remove_folder (dir);
}

static void
test_misshapen_tensor (void)
{
  const gchar *files[] = { "pretrained_ckpt.pth.tar", NULL };
  g_autofree gchar *src = fixture ("tiny-gill");
  if (src == NULL)
    return;
  g_autofree gchar *args = args_edited ("\"ret_emb_dim\": 24", "\"ret_emb_dim\": 25");
  gchar *dir = folder_with (files, args);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillModel) m = gill_model_open (dir, &error);
  g_assert_null (m);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "pretrained_ckpt.pth.tar"));
  g_assert_nonnull (strstr (error->message, "model.visual_fc.weight"));
  g_assert_nonnull (strstr (error->message, "[25, 32]"));
  remove_folder (dir);
}

static void
test_bad_model_args (void)
{
  const gchar *files[] = { "pretrained_ckpt.pth.tar", NULL };
  const gchar *cases[][2] = {
    { "[1, 2]", "not a JSON object" },
    { "{\"opt_version\": ", "model_args.json" },
    { NULL, "n_visual_tokens" }, /* "four" instead of 4 */
    { NULL, "gen_token_idx" },   /* seven ids for eight tokens */
  };
  g_autofree gchar *src = fixture ("tiny-gill");
  if (src == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *args = NULL;
      if (cases[i][0])
        args = g_strdup (cases[i][0]);
      else if (i == 2)
        args = args_edited ("\"n_visual_tokens\": 4", "\"n_visual_tokens\": \"four\"");
      else
        args = args_edited ("50266,\n    50267", "50267");
      gchar *dir = folder_with (files, args);
      g_autoptr (GError) error = NULL;
      g_autoptr (GillModel) m = gill_model_open (dir, &error);
      g_assert_null (m);
      g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "model_args.json"));
      g_assert_nonnull (strstr (error->message, cases[i][1]));
      remove_folder (dir);
    }
}

static void
test_decision_wrong_shape (void)
{
  /* the GILL checkpoint is no decision head: no "1.weight" */
  g_autofree gchar *path = fixture ("tiny-gill/pretrained_ckpt.pth.tar");
  if (path == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillDecision) d = gill_decision_open (path, &error);
  g_assert_null (d);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "1.weight"));
}

/* ------------------------------------------------------------------ gill_generate */

/* tiny-gill with OPT's tokenizer and a stand-in LM of the right width: enough for the checks
 * gill_generate makes before it runs anything */
typedef struct
{
  GillModel *gill;
  GillOptTokenizer *tok;
  GillOptWeights lm;
  GillGenerateModels models;
  GillGenerateParams params;
} Generate;

static gboolean
generate_setup (Generate *t)
{
  g_autofree gchar *folder = fixture ("tiny-gill");
  g_autofree gchar *tokenizer = fixture ("tokenizers/opt");
  if (folder == NULL)
    return FALSE;
  memset (t, 0, sizeof *t);
  g_assert_nonnull (t->gill = gill_model_open (folder, NULL));
  g_assert_nonnull (t->tok = gill_opt_tokenizer_load (tokenizer, NULL));
  gill_opt_tokenizer_add_gill_tokens (t->tok);
  t->lm.config.n_word_embd = t->gill->lm_dim;
  t->lm.n_vocab = 50274;
  t->models = (GillGenerateModels){ .gill = t->gill, .lm = &t->lm, .tokenizer = t->tok };
  gill_generate_params_default (&t->params);
  t->params.num_words = 4;
  return TRUE;
}

static void
generate_teardown (Generate *t)
{
  gill_model_free (t->gill);
  gill_opt_tokenizer_free (t->tok);
}

static void
assert_refused (Generate *t, const GillGeneratePart *parts, gsize n, gint code, const gchar *words)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillGeneration) g = gill_generate (&t->models, parts, n, &t->params, &error);
  g_assert_null (g);
  g_assert_error (error, GILL_ERROR, code);
  g_assert_nonnull (strstr (error->message, words));
}

static void
test_generate_bad_calls (void)
{
  Generate t;
  if (!generate_setup (&t))
    return;
  const GillGeneratePart text[] = { { .text = "a dog" } };
  t.params.num_words = 0;
  assert_refused (&t, text, 1, GILL_ERROR_INVALID_ARGUMENT, "num_words");
  t.params.num_words = 4;
  t.params.temperature = 0.7f;
  assert_refused (&t, text, 1, GILL_ERROR_UNSUPPORTED, "greedy");
  t.params.temperature = 0.0f;
  t.params.top_p = 0.95f;
  assert_refused (&t, text, 1, GILL_ERROR_UNSUPPORTED, "greedy");
  t.params.top_p = 1.0f;
  /* no text part (the reference crashes on an image-only prompt), an empty part, a double part */
  g_autoptr (GillImage) image = gill_image_new (8, 8, 3);
  const GillGeneratePart image_only[] = { { .image = image } };
  assert_refused (&t, image_only, 1, GILL_ERROR_INVALID_ARGUMENT, "no text part");
  assert_refused (&t, NULL, 0, GILL_ERROR_INVALID_ARGUMENT, "no text part");
  const GillGeneratePart empty[] = { { .text = "a" }, { 0 } };
  assert_refused (&t, empty, 2, GILL_ERROR_INVALID_ARGUMENT, "part 1");
  const GillGeneratePart both[] = { { .text = "a", .image = image } };
  assert_refused (&t, both, 1, GILL_ERROR_INVALID_ARGUMENT, "part 0");
  /* an image without CLIP */
  const GillGeneratePart image_text[] = { { .image = image }, { .text = "like this" } };
  assert_refused (&t, image_text, 2, GILL_ERROR_INVALID_ARGUMENT, "CLIP");
  /* an LM whose width is not GILL's */
  t.lm.config.n_word_embd = t.gill->lm_dim + 1;
  assert_refused (&t, text, 1, GILL_ERROR_SHAPE, "wide");
  t.lm.config.n_word_embd = t.gill->lm_dim;
  /* [IMG] ids beyond the LM's vocabulary (no resized embeddings) */
  t.lm.n_vocab = 50265;
  assert_refused (&t, text, 1, GILL_ERROR_SHAPE, "[IMG0]");
  generate_teardown (&t);
}

static void
test_truncate_caption (void)
{
  const gchar *cases[][2] = {
    { " a dog. And a cat.", " a dog." },
    { "\n\n a dog\n a cat.\n", " a dog\n" },
    { " no stop", " no stop" },
    { "\n\n", "" },
    { "", "" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *got = gill_generate_truncate_caption (cases[i][0]);
      g_assert_cmpstr (got, ==, cases[i][1]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gill/open/tiny", test_open_tiny);
  g_test_add_func ("/gill/open/missing-checkpoint", test_missing_checkpoint);
  g_test_add_func ("/gill/open/misshapen-tensor", test_misshapen_tensor);
  g_test_add_func ("/gill/open/bad-model-args", test_bad_model_args);
  g_test_add_func ("/gill/decision/missing-tensor", test_decision_wrong_shape);
  g_test_add_func ("/gill/generate/bad-calls", test_generate_bad_calls);
  g_test_add_func ("/gill/generate/truncate-caption", test_truncate_caption);
  return g_test_run ();
}
