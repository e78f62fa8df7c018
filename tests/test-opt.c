/* test-opt.c — the OPT model: config and loading errors, the memory check, the fused kernels
 * against each other, KV cache = full forward, int8 error against the f32 path, and the decode
 * loop's logits rules, forced runs, hook, sampling and cancel. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/io/hf-folder.h"
#include "core/io/safetensors.h"
#include "core/models/opt-decode.h"
#include "core/models/opt.h"
#include "core/ops/matvec.h"
#include "fixture.h"

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* an OPT folder opened and bound the way the CLI does it */
typedef struct
{
  GillHfFolder *hf;
  GillOptWeights *weights;
} Model;

static void
model_free (Model *m)
{
  gill_opt_weights_free (m->weights);
  gill_hf_folder_free (m->hf);
  g_free (m);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Model, model_free)

static Model *
model_open (const gchar *folder,
            const gchar *file,
            GError     **error)
{
  g_autoptr (Model) m = g_new0 (Model, 1);
  if ((m->hf = gill_hf_folder_open (folder, file, error)) == NULL)
    return NULL;
  gill_store_alias_prefix (m->hf->store, "model.decoder.", "decoder.");
  GillOptConfig config;
  GillWeights lookup = gill_store_weights (m->hf->store);
  if (!gill_opt_config_from_json (m->hf->config, m->hf->config_path, &config, error)
      || (m->weights = gill_opt_weights_bind (&config, &lookup, error)) == NULL)
    return NULL;
  return g_steal_pointer (&m);
}

/* the ids of a golden tensor of tiny-opt, as int64 */
static gint64 *
golden_ids (const gchar *name,
            gint64      *n)
{
  g_autofree gchar *path = fixture ("tiny-opt/golden.safetensors");
  g_autoptr (GillTensorList) golden = gill_safetensors_open (path, NULL);
  g_assert_nonnull (golden);
  GillTensor *t = gill_tensor_list_find (golden, name);
  g_assert_nonnull (t);
  *n = gill_tensor_numel (t);
  gint64 *ids = g_new (gint64, *n);
  gill_tensor_copy_i64 (t, ids);
  return ids;
}

static double
max_abs_diff (const float *a,
              const float *b,
              gint64       n)
{
  double m = 0;
  for (gint64 i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

static double
max_abs (const float *a,
         gint64       n)
{
  double m = 0;
  for (gint64 i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i]));
  return m;
}

/* ------------------------------------------------------------------ config */

static void
test_config_from_json (void)
{
  g_autoptr (JsonObject) json = parse_object ("{\"model_type\": \"opt\", \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                                              " \"num_attention_heads\": 4, \"ffn_dim\": 256, \"word_embed_proj_dim\": 32,"
                                              " \"do_layer_norm_before\": false, \"torch_dtype\": \"float32\"}");
  GillOptConfig c;
  g_autoptr (GError) error = NULL;
  g_assert_true (gill_opt_config_from_json (json, "config.json", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.n_embd, ==, 64);
  g_assert_cmpint (c.n_word_embd, ==, 32);
  g_assert_cmpint (c.vocab_size, ==, 50272);      /* OPTConfig's default */
  g_assert_cmpint (c.n_ctx, ==, 2048);
  g_assert_false (c.layer_norm_before);
  g_assert_false (c.final_layer_norm);             /* post-LN models have none */
  g_assert_cmpint (c.activation, ==, GILL_OPT_ACTIVATION_RELU);

  g_assert_true (gill_opt_config_preset ("6.7b", &c, &error));
  g_assert_cmpuint (gill_opt_config_n_params (&c), ==, 6658473984u); /* models.md §1.5 */
  g_assert_false (gill_opt_config_preset ("7b", &c, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

static void
test_config_unsupported (void)
{
  static const struct
  {
    const gchar *json;
    gint code;
    const gchar *key;
  } cases[] = {
    { "{\"activation_function\": \"silu\"}", GILL_ERROR_UNSUPPORTED, "activation_function" },
    { "{\"model_type\": \"llama\"}", GILL_ERROR_UNSUPPORTED, "model_type" },
    { "{\"hidden_size\": \"big\"}", GILL_ERROR_FORMAT, "hidden_size" },
    { "{\"hidden_size\": 100, \"num_attention_heads\": 3}", GILL_ERROR_FORMAT, "hidden_size" },
    { "{\"ffn_dim\": 0}", GILL_ERROR_FORMAT, "ffn_dim" },
    { "{\"do_layer_norm_before\": 1}", GILL_ERROR_FORMAT, "do_layer_norm_before" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonObject) json = parse_object (cases[i].json);
      g_autoptr (GError) error = NULL;
      GillOptConfig c;
      g_assert_false (gill_opt_config_from_json (json, "/models/opt/config.json", &c, &error));
      g_assert_error (error, GILL_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, "/models/opt/config.json"));
      g_assert_nonnull (strstr (error->message, cases[i].key));
    }
}

/* ------------------------------------------------------------------ loading errors */

static gboolean
copy_file (const gchar *from,
           const gchar *to)
{
  g_autofree gchar *data = NULL;
  gsize len = 0;
  return g_file_get_contents (from, &data, &len, NULL) && g_file_set_contents (to, data, len, NULL);
}

static void
remove_folder (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static void
test_load_missing_shard (void)
{
  g_autofree gchar *src = fixture ("io/opt-fp16-bin-shards");
  if (src == NULL)
    return;
  g_autofree gchar *dir = g_dir_make_tmp ("gill-opt-XXXXXX", NULL);
  const gchar *keep[] = { "config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin" };
  for (gsize i = 0; i < G_N_ELEMENTS (keep); i++)
    {
      g_autofree gchar *a = g_build_filename (src, keep[i], NULL);
      g_autofree gchar *b = g_build_filename (dir, keep[i], NULL);
      g_assert_true (copy_file (a, b));
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (dir, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "pytorch_model-00002-of-00002.bin"));
  g_assert_nonnull (strstr (error->message, "pytorch_model.bin.index.json"));
  remove_folder (dir);
}

/* a temporary copy of the model folder src (model.safetensors and config.json) whose config has
 * `from` replaced by `to` (once) */
static gchar *
folder_with_edited_config (const gchar *src,
                           const gchar *from,
                           const gchar *to)
{
  gchar *dir = g_dir_make_tmp ("gill-opt-XXXXXX", NULL);
  g_autofree gchar *st_from = g_build_filename (src, "model.safetensors", NULL);
  g_autofree gchar *st_to = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree gchar *cfg_from = g_build_filename (src, "config.json", NULL);
  g_autofree gchar *cfg_to = g_build_filename (dir, "config.json", NULL);
  g_assert_true (copy_file (st_from, st_to));
  g_autofree gchar *cfg = NULL;
  g_assert_true (g_file_get_contents (cfg_from, &cfg, NULL, NULL));
  g_autoptr (GString) edited = g_string_new (cfg);
  g_assert_cmpint (g_string_replace (edited, from, to, 1), ==, 1);
  g_assert_true (g_file_set_contents (cfg_to, edited->str, -1, NULL));
  return dir;
}

static void
test_load_shape_disagrees (void)
{
  g_autofree gchar *src = fixture ("tiny-opt/opt6.7b_style");
  if (src == NULL)
    return;
  /* the weights say ffn_dim 192; this config says 100 */
  g_autofree gchar *dir = folder_with_edited_config (src, "\"ffn_dim\": 192", "\"ffn_dim\": 100");

  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (dir, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_assert_nonnull (strstr (error->message, "layers.0.fc1.weight"));
  g_assert_nonnull (strstr (error->message, "[100, 48]"));
  remove_folder (dir);
}

static void
test_load_unsupported_config (void)
{
  g_autofree gchar *src = fixture ("tiny-opt/opt6.7b_style");
  if (src == NULL)
    return;
  g_autofree gchar *dir = folder_with_edited_config (src, "\"relu\"", "\"gelu_new\"");
  g_autofree gchar *cfg_to = g_build_filename (dir, "config.json", NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (dir, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, cfg_to));
  g_assert_nonnull (strstr (error->message, "activation_function"));
  g_assert_nonnull (strstr (error->message, "gelu_new"));

  /* and a folder without config.json names the file it looked for */
  g_unlink (cfg_to);
  g_clear_error (&error);
  g_assert_null (model_open (dir, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "config.json"));
  remove_folder (dir);
}

/* ------------------------------------------------------------------ memory */

static void
test_memory_check (void)
{
  GillOptConfig c;
  g_assert_true (gill_opt_config_preset ("6.7b", &c, NULL));
  guint64 f16 = gill_opt_memory_needed (&c, GILL_DTYPE_F16, 1, 256);
  guint64 i8 = gill_opt_memory_needed (&c, GILL_DTYPE_I8, 1, 256);
  g_assert_cmpuint (f16, >, 13316947968u);          /* the f16 weights alone */
  g_assert_cmpuint (f16, <, 15000000000u);
  g_assert_cmpuint (i8, <, 8000000000u);
  g_assert_cmpuint (i8, >, 6500000000u);

  g_autoptr (GError) error = NULL;
  g_assert_true (gill_opt_check_memory (&c, GILL_DTYPE_F16, 1, 256, 24000000000u, &error));
  g_assert_false (gill_opt_check_memory (&c, GILL_DTYPE_F16, 1, 256, 10000000000u, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "int8")); /* what to do */
  g_assert_nonnull (strstr (error->message, "10.0 GB is available"));
  g_clear_error (&error);
  g_assert_true (gill_opt_check_memory (&c, GILL_DTYPE_I8, 1, 256, 10000000000u, &error));
  g_assert_false (gill_opt_check_memory (&c, GILL_DTYPE_I8, 1, 256, 2000000000u, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY);
  g_assert_null (strstr (error->message, "choose int8"));

  /* a state longer than the model's positions is refused */
  g_clear_error (&error);
  g_assert_null (gill_opt_state_new (&c, 1, 4096, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ kernels */

static void
test_matvec_families (void)
{
  const gint64 rows = 45, cols = 77; /* odd sizes: every tail path */
  g_autofree float *wf = g_new (float, rows * cols);
  g_autofree guint16 *wh = g_new (guint16, rows * cols);
  g_autofree guint16 *wb = g_new (guint16, rows * cols);
  g_autofree gint8 *wq = g_new (gint8, rows * cols);
  g_autofree float *scale = g_new (float, rows);
  g_autofree float *x = g_new (float, GILL_MATVEC_MAX_N * cols);
  g_autofree float *bias = g_new (float, rows);
  GRand *rand = g_rand_new_with_seed (3);
  for (gint64 i = 0; i < rows * cols; i++)
    {
      wf[i] = (float) g_rand_double_range (rand, -1, 1);
      wh[i] = gill_f32_to_f16 (wf[i]);
      wb[i] = gill_f32_to_bf16 (wf[i]);
    }
  for (gint64 i = 0; i < GILL_MATVEC_MAX_N * cols; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < rows; i++)
    bias[i] = (float) g_rand_double_range (rand, -1, 1);
  g_rand_free (rand);
  GillMatrix f32 = { GILL_DTYPE_F32, rows, cols, wf, NULL };
  GillMatrix mats[] = {
    f32, { GILL_DTYPE_F16, rows, cols, wh, NULL }, { GILL_DTYPE_BF16, rows, cols, wb, NULL },
    { GILL_DTYPE_I8, rows, cols, wq, scale },
  };
  gill_matrix_quantize_i8 (&f32, wq, scale);

  GillMatvecIsa isas[] = { GILL_MATVEC_ISA_AVX2, GILL_MATVEC_ISA_AVX512, GILL_MATVEC_ISA_AUTO };
  g_autofree float *want = g_new (float, GILL_MATVEC_MAX_N * rows);
  g_autofree float *got = g_new (float, GILL_MATVEC_MAX_N * rows);
  g_autofree float *scratch = g_new (float, rows * cols);
  for (gsize m = 0; m < G_N_ELEMENTS (mats); m++)
    for (gint64 n = 1; n <= GILL_MATVEC_MAX_N; n++)
      {
        gill_matvec_isa_run (GILL_MATVEC_ISA_SCALAR, &mats[m], x, n, bias, want, rows);
        for (gsize k = 0; k < G_N_ELEMENTS (isas); k++)
          {
            if (!gill_matvec_isa_supported (isas[k]))
              continue;
            gill_matvec_isa_run (isas[k], &mats[m], x, n, bias, got, rows);
            g_assert_cmpfloat (max_abs_diff (got, want, n * rows), <, 1e-4);
          }
        /* the widened GEMM path agrees with the fused one */
        if (n == GILL_MATVEC_MAX_N)
          {
            g_autofree float *xx = g_new (float, 2 * GILL_MATVEC_MAX_N * cols);
            g_autofree float *yy = g_new (float, 2 * GILL_MATVEC_MAX_N * rows);
            memcpy (xx, x, sizeof (float) * GILL_MATVEC_MAX_N * cols);
            memcpy (xx + GILL_MATVEC_MAX_N * cols, x, sizeof (float) * GILL_MATVEC_MAX_N * cols);
            gill_matrix_linear (&mats[m], xx, 2 * GILL_MATVEC_MAX_N, bias, yy, rows, scratch, 10 * cols);
            g_assert_cmpfloat (max_abs_diff (yy, want, n * rows), <, 1e-4);
            g_assert_cmpfloat (max_abs_diff (yy + n * rows, want, n * rows), <, 1e-4);
          }
      }
  /* int8 round trip: each weight within half a step of its row's scale */
  for (gint64 r = 0; r < rows; r++)
    for (gint64 c = 0; c < cols; c++)
      g_assert_cmpfloat (fabsf (wq[r * cols + c] * scale[r] - wf[r * cols + c]), <=, 0.5f * scale[r] + 1e-6f);
}

/* ------------------------------------------------------------------ forward */

static void
test_kv_cache_equals_full (void)
{
  g_autofree gchar *folder = fixture ("tiny-opt/opt6.7b_style");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (folder, "model.safetensors", &error);
  g_assert_no_error (error);
  const GillOptWeights *w = m->weights;
  const gint64 V = w->n_vocab, W = w->config.n_word_embd;
  gint64 n = 0;
  g_autofree gint64 *ids = golden_ids ("opt6.7b_style/seq1.input_ids", &n);

  /* one forward over everything */
  g_autoptr (GillOptState) full = gill_opt_state_new (&w->config, 1, n, &error);
  g_autofree float *logits = g_new (float, n * V);
  g_autofree float **hs = g_new0 (float *, w->config.n_layer + 1);
  g_autofree float *hidden = g_new (float, n * W);
  hs[w->config.n_layer] = hidden;
  GillOptInput in = { .batch = 1, .seq = n, .input_ids = ids };
  GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_ALL, .logits = logits, .hidden_states = hs };
  g_assert_true (gill_opt_forward (w, full, &in, &out, &error));
  g_assert_no_error (error);

  /* a 3-token prefix, then one token at a time, given as embeddings (GILL's way in) */
  g_autoptr (GillOptState) inc = gill_opt_state_new (&w->config, 1, n, &error);
  g_autofree float *step_logits = g_new (float, V);
  g_autofree float *embeds = g_new (float, n * W);
  g_assert_true (gill_opt_embed (w, ids, n, embeds, &error));
  for (gint64 at = 0; at < n;)
    {
      gint64 len = at == 0 ? 3 : 1;
      GillOptInput si = { .batch = 1, .seq = len, .inputs_embeds = embeds + at * W };
      GillOptOutput so = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = step_logits };
      g_assert_true (gill_opt_forward (w, inc, &si, &so, &error));
      at += len;
      g_assert_cmpfloat (max_abs_diff (step_logits, logits + (at - 1) * V, V), <, 1e-4);
    }
  g_assert_cmpint (inc->n_past, ==, n);

  /* past the cache: an error, and the cache is left as it was */
  GillOptInput more = { .batch = 1, .seq = 1, .input_ids = ids };
  g_assert_false (gill_opt_forward (w, inc, &more, &(GillOptOutput) { 0 }, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (inc->n_past, ==, n);
  g_clear_error (&error);

  /* a token outside the vocabulary */
  gill_opt_state_reset (inc);
  gint64 bad = V + 5;
  GillOptInput oov = { .batch = 1, .seq = 1, .input_ids = &bad };
  g_assert_false (gill_opt_forward (w, inc, &oov, &(GillOptOutput) { 0 }, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* a left-padded batch fed a few positions at a time (the decode attention path, with the mask
 * over past + new positions) gives the logits of one forward over all of it */
static void
test_padded_batch_incremental (void)
{
  g_autofree gchar *folder = fixture ("tiny-opt/opt6.7b_style");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (folder, "model.safetensors", &error);
  g_assert_no_error (error);
  const GillOptWeights *w = m->weights;
  const gint64 V = w->n_vocab;
  gint64 n = 0, n_mask = 0;
  g_autofree gint64 *ids = golden_ids ("opt6.7b_style/batch_leftpad.input_ids", &n);
  g_autofree gint64 *mask = golden_ids ("opt6.7b_style/batch_leftpad.attention_mask", &n_mask);
  const gint64 B = 2, T = n / B;
  g_assert_cmpint (n, ==, n_mask);

  g_autoptr (GillOptState) full = gill_opt_state_new (&w->config, B, T, &error);
  g_autofree float *want = g_new (float, B * V);
  GillOptInput in = { .batch = B, .seq = T, .input_ids = ids, .attention_mask = mask };
  GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = want };
  g_assert_true (gill_opt_forward (w, full, &in, &out, &error));

  /* 5 positions, then 4, then 3: each call sees the mask of everything so far */
  g_autoptr (GillOptState) inc = gill_opt_state_new (&w->config, B, T, &error);
  g_autofree float *got = g_new (float, B * V);
  g_autofree gint64 *step_ids = g_new (gint64, B * T);
  g_autofree gint64 *step_mask = g_new (gint64, B * T);
  const gint64 lens[] = { 5, 4, 3 };
  for (gint64 k = 0, at = 0; k < 3; at += lens[k], k++)
    {
      for (gint64 b = 0; b < B; b++)
        {
          memcpy (step_ids + b * lens[k], ids + b * T + at, sizeof (gint64) * lens[k]);
          memcpy (step_mask + b * (at + lens[k]), mask + b * T, sizeof (gint64) * (at + lens[k]));
        }
      GillOptInput si = { .batch = B, .seq = lens[k], .input_ids = step_ids, .attention_mask = step_mask };
      GillOptOutput so = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = got };
      g_assert_true (gill_opt_forward (w, inc, &si, &so, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpfloat (max_abs_diff (got, want, B * V), <, 1e-4);
}

static gboolean
cancel_after_first_layer (double       fraction,
                          const gchar *stage,
                          gpointer     data)
{
  g_assert_cmpstr (stage, ==, "opt");
  (*(gint *) data)++;
  return fraction <= 0;
}

static void
test_forward_cancel (void)
{
  g_autofree gchar *folder = fixture ("tiny-opt/opt350m_style");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (folder, "pytorch_model.bin", &error);
  g_assert_no_error (error);
  g_autoptr (GillOptState) s = gill_opt_state_new (&m->weights->config, 1, 8, &error);
  gint64 ids[4] = { 2, 100, 200, 300 };
  gint calls = 0;
  GillOptInput in = { .batch = 1, .seq = 4, .input_ids = ids, .progress = cancel_after_first_layer, .progress_data = &calls };
  g_assert_false (gill_opt_forward (m->weights, s, &in, &(GillOptOutput) { 0 }, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_CANCELLED);
  g_assert_cmpint (calls, ==, 1);
  g_assert_cmpint (s->n_past, ==, 0); /* nothing half-written counts */
}

/* int8 weight-only quantisation against the f32 path on the fixture prompts */
static void
test_int8_error_bound (void)
{
  static const struct
  {
    const gchar *model, *ids;
  } cases[] = {
    { "tiny-opt/opt6.7b_style", "opt6.7b_style/seq1.input_ids" },
    { "tiny-opt/opt6.7b_style", "opt6.7b_style/seq2.input_ids" },
    { "tiny-opt/opt350m_style", "opt350m_style/seq1.input_ids" },
    { "tiny-opt/opt350m_style", "opt350m_style/seq2.input_ids" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *folder = fixture (cases[i].model);
      if (folder == NULL)
        return;
      g_autoptr (GError) error = NULL;
      g_autoptr (Model) ref = model_open (folder, "model.safetensors", &error);
      g_autoptr (Model) q8 = model_open (folder, "model.safetensors", &error);
      g_assert_no_error (error);
      g_assert_true (gill_opt_weights_quantize_int8 (q8->weights, &error));
      g_assert_cmpint (q8->weights->layers[0].fc1.weight.dtype, ==, GILL_DTYPE_I8);
      g_assert_cmpint (q8->weights->lm_head.dtype, ==, GILL_DTYPE_I8);
      g_assert_cmpuint (gill_opt_weights_decode_bytes (q8->weights), <, gill_opt_weights_decode_bytes (ref->weights) / 3);

      gint64 n = 0;
      g_autofree gint64 *ids = golden_ids (cases[i].ids, &n);
      const gint64 V = ref->weights->n_vocab;
      g_autofree float *a = g_new (float, n * V);
      g_autofree float *b = g_new (float, n * V);
      Model *models[2] = { ref, q8 };
      float *outs[2] = { a, b };
      for (gint k = 0; k < 2; k++)
        {
          g_autoptr (GillOptState) s = gill_opt_state_new (&models[k]->weights->config, 1, n, &error);
          GillOptInput in = { .batch = 1, .seq = n, .input_ids = ids };
          GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_ALL, .logits = outs[k] };
          g_assert_true (gill_opt_forward (models[k]->weights, s, &in, &out, &error));
        }
      /* the bound: the largest logit error within 3 % of the largest logit and a normalised
       * mean squared error (ggml's test-backend-ops measure) below 1e-3; measured on these
       * 48/64-wide models: 1.3-1.6 % and 1.4e-4-1.9e-4 (wider models average more per output) */
      double err = max_abs_diff (a, b, n * V), range = max_abs (a, n * V), se = 0, ss = 0;
      for (gint64 k = 0; k < n * V; k++)
        {
          se += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
          ss += (double) a[k] * a[k];
        }
      g_test_message ("%s %s: int8 max |logit error| %.4g of max |logit| %.4g, nmse %.3g", cases[i].model,
                      cases[i].ids, err, range, se / ss);
      g_assert_cmpfloat (err, <=, 0.03 * range);
      g_assert_cmpfloat (se / ss, <, 1e-3);
    }
}

/* ------------------------------------------------------------------ decoding */

static void
test_logits_rules (void)
{
  float l[6] = { 1, -2, 3, -4, 5, 6 };
  GillOptLogitRule rules[] = {
    { GILL_OPT_RULE_BAN, 5, 0, -1, 0 },          /* always */
    { GILL_OPT_RULE_BAN, 1, 0, 2, 0 },           /* steps 0, 1 */
    { GILL_OPT_RULE_SCALE_ABS, 3, 2, -1, 10.0f }, /* from step 2: |l| x 10 */
  };
  GillOptGenerateParams p;
  gill_opt_generate_params_init (&p);
  p.rules = rules;
  p.n_rules = G_N_ELEMENTS (rules);
  g_assert_true (gill_opt_process_logits (&p, l, 6, 0, NULL, 0, NULL));
  g_assert_true (isinf (l[5]) && l[5] < 0);
  g_assert_true (isinf (l[1]) && l[1] < 0);
  g_assert_cmpfloat (l[3], ==, -4);
  float l2[6] = { 1, -2, 3, -4, 5, 6 };
  g_assert_true (gill_opt_process_logits (&p, l2, 6, 2, NULL, 0, NULL));
  g_assert_cmpfloat (l2[1], ==, -2);
  g_assert_cmpfloat (l2[3], ==, 40);
  g_assert_cmpint (gill_opt_choose_token (l2, 6, 0, 1, NULL, NULL, NULL), ==, 3);

  /* a rule naming a token outside the vocabulary is an error */
  GillOptLogitRule bad = { GILL_OPT_RULE_BAN, 60000, 0, -1, 0 };
  p.rules = &bad;
  p.n_rules = 1;
  g_autoptr (GError) error = NULL;
  g_assert_false (gill_opt_process_logits (&p, l, 6, 0, NULL, 0, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

static void
test_sampling (void)
{
  /* ties: the first index, as torch.argmax */
  float tie[4] = { 1, 7, 7, 2 };
  g_assert_cmpint (gill_opt_choose_token (tie, 4, 0, 1, NULL, NULL, NULL), ==, 1);

  float logits[4] = { 0.0f, logf (2.0f), logf (3.0f), logf (4.0f) }; /* p = 0.1 0.2 0.3 0.4 */
  float probs[4];
  gint64 order[4];
  GillOptRandom r1, r2;
  gill_opt_random_init (&r1, 42);
  gill_opt_random_init (&r2, 42);
  gint counts[4] = { 0 };
  for (gint i = 0; i < 20000; i++)
    {
      gint64 a = gill_opt_choose_token (logits, 4, 1.0f, 1.0f, &r1, probs, order);
      gint64 b = gill_opt_choose_token (logits, 4, 1.0f, 1.0f, &r2, probs, order);
      g_assert_cmpint (a, ==, b); /* same seed, same draws */
      counts[a]++;
    }
  for (gint k = 0; k < 4; k++)
    g_assert_cmpfloat (fabs (counts[k] / 20000.0 - (k + 1) / 10.0), <, 0.02);

  /* top_p 0.5: sorted 0.4, 0.3 (0.4 <= 0.5 so 0.3 stays), 0.2 dropped (0.7 > 0.5) */
  gint seen[4] = { 0 };
  for (gint i = 0; i < 2000; i++)
    seen[gill_opt_choose_token (logits, 4, 1.0f, 0.5f, &r1, probs, order)]++;
  g_assert_cmpint (seen[0] + seen[1], ==, 0);
  g_assert_cmpint (seen[2], >, 0);
  g_assert_cmpint (seen[3], >, 0);
  /* a tiny top_p keeps only the most likely token: greedy */
  for (gint i = 0; i < 100; i++)
    g_assert_cmpint (gill_opt_choose_token (logits, 4, 0.7f, 0.01f, &r1, probs, order), ==, 3);
}

typedef struct
{
  gint calls;
  gint64 last_step;
  gint64 last_n_generated;
} HookLog;

static gboolean
hook_log (float        *logits,
          gint64        n_vocab,
          gint64        step,
          const gint64 *generated,
          gint64        n_generated,
          gpointer      data,
          GError      **error)
{
  HookLog *log = data;
  (void) logits;
  (void) n_vocab;
  (void) generated;
  (void) error;
  log->calls++;
  log->last_step = step;
  log->last_n_generated = n_generated;
  return TRUE;
}

static void
test_generate_forced_run (void)
{
  g_autofree gchar *folder = fixture ("tiny-opt/opt6.7b_style");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (Model) m = model_open (folder, "model.safetensors", &error);
  g_assert_no_error (error);
  const GillOptWeights *w = m->weights;
  g_autoptr (GillOptState) s = gill_opt_state_new (&w->config, 1, 64, &error);
  gint64 prompt_ids[4] = { 2, 250, 1000, 9 };
  GillOptInput prompt = { .batch = 1, .seq = 4, .input_ids = prompt_ids };

  /* GILL's shape: token 500 banned except at step 2, where |l| x 1000 makes it win; choosing
   * it appends the run 500..507; tokens 501..507 are never chosen by themselves */
  gint64 run[8];
  for (gint i = 0; i < 8; i++)
    run[i] = 500 + i;
  GillOptLogitRule rules[10];
  for (gint i = 1; i < 8; i++)
    rules[i - 1] = (GillOptLogitRule) { GILL_OPT_RULE_BAN, 500 + i, 0, -1, 0 };
  rules[7] = (GillOptLogitRule) { GILL_OPT_RULE_BAN, 500, 0, 2, 0 };
  rules[8] = (GillOptLogitRule) { GILL_OPT_RULE_SCALE_ABS, 500, 2, 3, 1000.0f };
  rules[9] = (GillOptLogitRule) { GILL_OPT_RULE_BAN, 500, 3, -1, 0 };
  GillOptForcedRun forced = { 500, run, 8 };
  HookLog log = { 0 };
  GillOptGenerateParams p;
  gill_opt_generate_params_init (&p);
  p.max_new_tokens = 4;
  p.rules = rules;
  p.n_rules = G_N_ELEMENTS (rules);
  p.forced = &forced;
  p.n_forced = 1;
  p.logits_func = hook_log;
  p.logits_data = &log;
  p.keep_hidden = TRUE;
  g_autoptr (GillOptGeneration) g = gill_opt_generate (w, s, &prompt, &p, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  /* steps 0, 1: ordinary tokens; step 2: the run of 8; step 3: one more token */
  g_assert_cmpuint (g->tokens->len, ==, 2 + 8 + 1);
  g_assert_cmpuint (g->step_max_logit->len, ==, 4);
  const gint64 *t = (const gint64 *) (void *) g->tokens->data;
  g_assert_cmpint (t[0], !=, 500);
  g_assert_cmpint (t[1], !=, 500);
  for (gint i = 0; i < 8; i++)
    g_assert_cmpint (t[2 + i], ==, 500 + i);
  g_assert_cmpint (log.calls, ==, 4);
  g_assert_cmpint (log.last_step, ==, 3);
  g_assert_cmpint (log.last_n_generated, ==, 10);
  /* hidden states of everything fed: the prompt and all but the last step's token */
  const gint64 W = w->config.n_word_embd, fed = 4 + 10;
  g_assert_cmpuint (g->hidden->len, ==, fed * W);

  /* they equal one full forward over the same sequence (GILL's no-cache reference loop) */
  g_autofree gint64 *all = g_new (gint64, fed);
  memcpy (all, prompt_ids, sizeof prompt_ids);
  memcpy (all + 4, t, sizeof (gint64) * 10);
  g_autoptr (GillOptState) s2 = gill_opt_state_new (&w->config, 1, fed, &error);
  g_autofree float **hs = g_new0 (float *, w->config.n_layer + 1);
  g_autofree float *hidden = g_new (float, fed * W);
  hs[w->config.n_layer] = hidden;
  GillOptInput in = { .batch = 1, .seq = fed, .input_ids = all };
  GillOptOutput out = { .hidden_states = hs };
  g_assert_true (gill_opt_forward (w, s2, &in, &out, &error));
  g_assert_cmpfloat (max_abs_diff (hidden, (const float *) (void *) g->hidden->data, fed * W), <, 1e-4);

  /* same seed, same sample; eos stops early */
  p = (GillOptGenerateParams) { .max_new_tokens = 6, .temperature = 0.8f, .top_p = 0.9f, .seed = 7, .eos_token_id = -1 };
  g_autoptr (GillOptGeneration) s_a = gill_opt_generate (w, s, &prompt, &p, &error);
  g_autoptr (GillOptGeneration) s_b = gill_opt_generate (w, s, &prompt, &p, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (s_a->tokens->len, ==, 6);
  g_assert_cmpmem (s_a->tokens->data, 6 * sizeof (gint64), s_b->tokens->data, 6 * sizeof (gint64));
  p.eos_token_id = ((const gint64 *) (void *) s_a->tokens->data)[2];
  g_autoptr (GillOptGeneration) s_c = gill_opt_generate (w, s, &prompt, &p, &error);
  g_assert_cmpuint (s_c->tokens->len, <=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/opt/config/from-json", test_config_from_json);
  g_test_add_func ("/opt/config/unsupported", test_config_unsupported);
  g_test_add_func ("/opt/load/missing-shard", test_load_missing_shard);
  g_test_add_func ("/opt/load/shape-disagrees-with-config", test_load_shape_disagrees);
  g_test_add_func ("/opt/load/unsupported-config", test_load_unsupported_config);
  g_test_add_func ("/opt/memory/check", test_memory_check);
  g_test_add_func ("/opt/matvec/families-agree", test_matvec_families);
  g_test_add_func ("/opt/forward/kv-cache-equals-full", test_kv_cache_equals_full);
  g_test_add_func ("/opt/forward/padded-batch-incremental", test_padded_batch_incremental);
  g_test_add_func ("/opt/forward/cancel", test_forward_cancel);
  g_test_add_func ("/opt/int8/error-bound", test_int8_error_bound);
  g_test_add_func ("/opt/decode/logits-rules", test_logits_rules);
  g_test_add_func ("/opt/decode/sampling", test_sampling);
  g_test_add_func ("/opt/decode/forced-run-hook-hidden", test_generate_forced_run);
  return g_test_run ();
}
