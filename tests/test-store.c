/* test-store.c — the weight store: formats by magic, shard indexes, prefix aliases, checked
 * lookups, and that .bin and .safetensors of the same model agree. */
#include <string.h>

#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/io/folder.h"
#include "core/io/store.h"
#include "fixture.h"

static void
test_fp16_bin_shards (void)
{
  g_autofree gchar *folder = fixture ("io/opt-fp16-bin-shards");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_true (gill_store_add_path (store, folder, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gill_store_files (store)->len, ==, 2);
  GillTensor *t = gill_store_lookup (store, "decoder.embed_tokens.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, GILL_DTYPE_F16);
  g_assert_cmpint (t->shape[0], ==, 50272);
  /* the alias makes the transformers name find the fairseq-style key */
  g_assert_null (gill_store_lookup (store, "model.decoder.embed_tokens.weight"));
  gill_store_alias_prefix (store, "model.decoder.", "decoder.");
  g_assert_true (gill_store_lookup (store, "model.decoder.embed_tokens.weight") == t);
}

static void
test_bf16_safetensors_shards (void)
{
  g_autofree gchar *folder = fixture ("io/opt-bf16-safetensors-shards");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_true (gill_store_add_path (store, folder, &error));
  g_assert_no_error (error);
  gill_store_alias_prefix (store, "model.decoder.", "decoder.");
  GillTensor *t = gill_store_lookup (store, "decoder.final_layer_norm.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, GILL_DTYPE_BF16);
}

static void
test_get_checks_shape (void)
{
  g_autofree gchar *file = fixture ("tiny-opt/opt6.7b_style/model.safetensors");
  if (file == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_true (gill_store_add_file (store, file, &error));
  gint64 wrong[2] = { 48, 50272 };
  g_assert_null (gill_store_get (store, "model.decoder.embed_tokens.weight", 2, wrong, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "expected [48, 50272]"));
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_clear_error (&error);
  g_assert_null (gill_store_get (store, "model.decoder.no_such.weight", -1, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "no_such"));
}

static void
test_tied_lm_head_is_a_view (void)
{
  g_autofree gchar *file = fixture ("tiny-opt/opt350m_style/pytorch_model.bin");
  if (file == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_true (gill_store_add_file (store, file, &error));
  g_assert_no_error (error);
  GillTensor *head = gill_store_lookup (store, "lm_head.weight");
  GillTensor *embed = gill_store_lookup (store, "model.decoder.embed_tokens.weight");
  g_assert_nonnull (head);
  g_assert_nonnull (embed);
  g_assert_true (head->data == embed->data); /* shared storage, not a copy */
}

static void
test_missing_shard (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gill-store-XXXXXX", NULL);
  g_autofree gchar *index = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_assert_true (g_file_set_contents (index, "{\"metadata\":{},\"weight_map\":{\"a\":\"model-1.safetensors\"}}", -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_false (gill_store_add_path (store, dir, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "model-1.safetensors"));
  g_unlink (index);
  g_rmdir (dir);
}

static void
test_unknown_format (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gill-store-XXXXXX", NULL);
  g_autofree gchar *file = g_build_filename (dir, "weights.bin", NULL);
  g_assert_true (g_file_set_contents (file, "GGUF not ours", -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GillStore) store = gill_store_new ();
  g_assert_false (gill_store_add_file (store, file, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "weights.bin"));
  g_unlink (file);
  g_rmdir (dir);
}

static void
test_layouts (void)
{
  g_autofree gchar *root = fixture ("");
  if (root == NULL)
    return;
  static const struct
  {
    const gchar *path;
    GillLayout layout;
  } cases[] = {
    { "tiny-opt/opt6.7b_style", GILL_LAYOUT_HF },
    { "tiny-sd/diffusers", GILL_LAYOUT_DIFFUSERS },
    { "tiny-sd/compvis", GILL_LAYOUT_SD_SINGLE_FILE },
    { "tiny-gill", GILL_LAYOUT_GILL },
    { "io/tensors.pth", GILL_LAYOUT_FILE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *p = g_build_filename (root, cases[i].path, NULL);
      GillLayout layout;
      g_autoptr (GError) error = NULL;
      g_assert_true (gill_layout_detect (p, &layout, &error));
      g_assert_cmpint (layout, ==, cases[i].layout);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/fp16-bin-shards", test_fp16_bin_shards);
  g_test_add_func ("/store/bf16-safetensors-shards", test_bf16_safetensors_shards);
  g_test_add_func ("/store/get-checks-shape", test_get_checks_shape);
  g_test_add_func ("/store/tied-lm-head-is-a-view", test_tied_lm_head_is_a_view);
  g_test_add_func ("/store/missing-shard", test_missing_shard);
  g_test_add_func ("/store/unknown-format", test_unknown_format);
  g_test_add_func ("/store/layouts", test_layouts);
  return g_test_run ();
}
