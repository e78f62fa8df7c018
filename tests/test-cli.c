/* test-cli.c — the `gill` program through its command line: exit statuses, messages, `info`
 * on every fixture model, `check` verdicts on a schema folder made here. */
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "fixture.h"

typedef struct
{
  gint status;
  gchar *out;
  gchar *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* run gill with the given arguments (NULL-terminated) and capture everything */
static void
run_gill (Run *r, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) GILL_CLI);
  va_list args;
  va_start (args, r);
  const gchar *a;
  while ((a = va_arg (args, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  gint wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err,
                               &wait_status, &error));
  g_assert_no_error (error);
  r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128;
}

static void
test_usage (void)
{
  g_auto (Run) r = { 0 };
  run_gill (&r, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_auto (Run) h = { 0 };
  run_gill (&h, "--help", NULL);
  g_assert_cmpint (h.status, ==, 0);
  g_assert_nonnull (strstr (h.out, "info"));
  g_auto (Run) u = { 0 };
  run_gill (&u, "frobnicate", NULL);
  g_assert_cmpint (u.status, ==, 2);
  g_auto (Run) o = { 0 };
  run_gill (&o, "info", "--no-such-option", NULL);
  g_assert_cmpint (o.status, ==, 2);
  g_auto (Run) ih = { 0 };
  run_gill (&ih, "info", "--help", NULL);
  g_assert_cmpint (ih.status, ==, 0);
  g_assert_nonnull (strstr (ih.out, "--models"));
}

/* `gill info` lists every fixture model: each named tensor with dtype and shape */
static void
test_info_fixtures (void)
{
  static const struct
  {
    const gchar *path;
    const gchar *layout;
    const gchar *line; /* a tensor line that must be there */
  } cases[] = {
    { "tiny-opt/opt6.7b_style", "Hugging Face", "model.decoder.layers.0.fc1.weight" },
    { "tiny-opt/opt350m_style", "Hugging Face", "model.decoder.project_in.weight" },
    { "tiny-opt/opt350m_style/pytorch_model.bin", "weight file", "lm_head.weight" },
    { "io/opt-fp16-bin-shards", "Hugging Face", "decoder.embed_tokens.weight" },
    { "io/opt-bf16-safetensors-shards", "Hugging Face", "bf16" },
    { "io/tensors.pth", "weight file", "view_transposed" },
    { "io/tensors.safetensors", "weight file", "view_offset" },
    { "tiny-clip/model", "Hugging Face", "vision_model.embeddings.patch_embedding.weight" },
    { "tiny-sd/diffusers", "diffusers", "conv_in.weight" },
    { "tiny-sd/compvis", "single-file", "model.diffusion_model.input_blocks.0.0.weight" },
    { "tiny-sd/compvis/tiny-sd.safetensors", "weight file", "first_stage_model.decoder.conv_in.weight" },
    { "tiny-gill", "GILL", "model.gen_text_hidden_fcs.0.query_embs" },
    { "tiny-gill/decision_model.pth.tar", "weight file", "1.weight" },
    { "tiny-gill/real_gill_decision_model/decision_model.pth.tar", "weight file", "[2, 4096]" },
    { "tiny-gill/cc3m_embeddings_urls.npy", "weight file", "embeddings" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *p = fixture (cases[i].path);
      if (p == NULL)
        return;
      g_auto (Run) r = { 0 };
      run_gill (&r, "info", p, NULL);
      g_test_message ("gill info %s -> %d %s", cases[i].path, r.status, r.err);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, cases[i].layout));
      g_assert_nonnull (strstr (r.out, cases[i].line));
      g_assert_nonnull (strstr (r.out, "tensors"));
    }
}

static void
test_info_missing (void)
{
  g_auto (Run) r = { 0 };
  run_gill (&r, "info", "/no/such/model", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "gill: /no/such/model: "));
}

/* a fixture folder written here: passing and failing cases, a GILL kind outside a GILL folder
 * and an unknown kind (every documented kind is implemented now: nothing SKIPs) */
static void
test_check_verdicts (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gill-check-XXXXXX", NULL);
  g_autofree gchar *cases = g_build_filename (dir, "cases.json", NULL);
  g_autofree gchar *data = g_build_filename (dir, "data.safetensors", NULL);
  /* one F32 tensor "x" = [1, 2] */
  static const char header[] = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  GString *st = g_string_new (NULL);
  guint64 n = GUINT64_TO_LE (sizeof header - 1);
  g_string_append_len (st, (const gchar *) &n, 8);
  g_string_append_len (st, header, sizeof header - 1);
  float v[2] = { 1.0f, 2.0f };
  g_string_append_len (st, (const gchar *) v, 8);
  g_assert_true (g_file_set_contents (data, st->str, st->len, NULL));
  g_string_free (st, TRUE);
  g_assert_true (g_file_set_contents (cases,
    "[{\"name\":\"ok\",\"kind\":\"io.tensor\",\"inputs\":{\"file\":{\"str\":\"data.safetensors\"},\"key\":{\"str\":\"x\"}},"
    "\"expected\":{\"value\":[1.0,2.0]},\"atol\":0,\"rtol\":0},"
    "{\"name\":\"wrong\",\"kind\":\"io.tensor\",\"inputs\":{\"file\":{\"str\":\"data.safetensors\"},\"key\":{\"str\":\"x\"}},"
    "\"expected\":{\"value\":[1.0,2.5]},\"atol\":0.1,\"rtol\":0},"
    "{\"name\":\"loose\",\"kind\":\"io.tensor\",\"inputs\":{\"file\":{\"str\":\"data.safetensors\"},\"key\":{\"str\":\"x\"}},"
    "\"expected\":{\"value\":[1.0,2.5]},\"atol\":0.1,\"rtol\":0,\"tolerances\":{\"value\":{\"atol\":0.5,\"rtol\":0}}},"
    "{\"name\":\"missing-key\",\"kind\":\"io.tensor\",\"inputs\":{\"file\":{\"str\":\"data.safetensors\"},\"key\":{\"str\":\"x\"}},"
    "\"expected\":{\"value\":[1.0,2.0],\"other\":1},\"atol\":0,\"rtol\":0},"
    "{\"name\":\"info-key\",\"kind\":\"io.tensor\",\"inputs\":{\"file\":{\"str\":\"data.safetensors\"},\"key\":{\"str\":\"x\"}},"
    "\"expected\":{\"value\":[1.0,2.0],\"other\":1},\"informational\":[\"other\"],\"atol\":0,\"rtol\":0},"
    "{\"name\":\"later\",\"kind\":\"gill.generate\",\"inputs\":{},\"expected\":{}},"
    "{\"name\":\"bogus\",\"kind\":\"no.such.kind\",\"inputs\":{},\"expected\":{}}]", -1, NULL));
  g_auto (Run) r = { 0 };
  run_gill (&r, "check", dir, NULL);
  g_test_message ("%s", r.out);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "PASS io.tensor"));
  g_assert_nonnull (strstr (r.out, "/ok"));
  g_assert_nonnull (strstr (r.out, "FAIL io.tensor"));
  g_assert_nonnull (strstr (r.out, "not produced"));
  g_assert_nonnull (strstr (r.out, "FAIL gill.generate"));
  g_assert_nonnull (strstr (r.out, "model_args.json"));
  g_assert_nonnull (strstr (r.out, "kind not documented"));
  g_assert_nonnull (strstr (r.out, "3 passed, 4 failed, 0 skipped"));

  /* --kind keeps only matching kinds */
  g_auto (Run) k = { 0 };
  run_gill (&k, "check", "--kind", "gill.gen", dir, NULL);
  g_assert_cmpint (k.status, ==, 1);
  g_assert_nonnull (strstr (k.out, "0 passed, 1 failed, 0 skipped"));

  g_unlink (cases);
  g_unlink (data);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/usage", test_usage);
  g_test_add_func ("/cli/info-fixtures", test_info_fixtures);
  g_test_add_func ("/cli/info-missing", test_info_missing);
  g_test_add_func ("/cli/check-verdicts", test_check_verdicts);
  return g_test_run ();
}
