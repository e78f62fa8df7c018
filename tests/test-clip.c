/* test-clip.c — core/models/clip and core/gill/clip-model: configs, binding (vision part alone,
 * missing and misshapen tensors, 16-bit weights), the forwards against tiny-clip's goldens, the
 * folder layouts (HF folder or one of its files, SD text_encoder/, CompVis single file) and
 * embedding image files end to end. */
#include <math.h>
#include <string.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/gill/clip-model.h"
#include "core/io/safetensors.h"
#include "core/io/store.h"
#include "core/models/clip.h"
#include "fixture.h"

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* a golden tensor of tiny-clip as contiguous floats (or int64) */
static GillTensorList *
golden (const gchar *folder)
{
  g_autofree gchar *path = fixture (folder);
  if (path == NULL)
    return NULL;
  g_autofree gchar *file = g_build_filename (path, "golden.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  GillTensorList *list = gill_safetensors_open (file, &error);
  g_assert_no_error (error);
  return list;
}

static float *
golden_f32 (GillTensorList *list,
            const gchar    *name,
            gint64         *numel)
{
  GillTensor *t = gill_tensor_list_find (list, name);
  g_assert_nonnull (t);
  *numel = gill_tensor_numel (t);
  float *v = g_new (float, *numel);
  gill_tensor_copy_f32 (t, v);
  return v;
}

static void
assert_close (const float *got,
              const float *want,
              gint64       n,
              double       atol,
              double       rtol,
              const gchar *what)
{
  for (gint64 i = 0; i < n; i++)
    if (!(fabs (got[i] - want[i]) <= atol + rtol * fabs (want[i])))
      g_error ("%s: element %" G_GINT64_FORMAT ": %.7g, expected %.7g", what, i, got[i], want[i]);
}

/* ------------------------------------------------------------------ configs */

static void
test_config_clip_model (void)
{
  /* text_config_dict replaces text_config (transformers 4.30.2), projection_dim from the top */
  g_autoptr (JsonObject) json = parse_object (
    "{\"model_type\": \"clip\", \"projection_dim\": 768,"
    " \"text_config\": {\"hidden_size\": 100, \"num_hidden_layers\": 3},"
    " \"text_config_dict\": {\"hidden_size\": 768, \"intermediate_size\": 3072, \"num_attention_heads\": 12},"
    " \"vision_config\": {\"hidden_size\": 1024, \"intermediate_size\": 4096, \"num_hidden_layers\": 24,"
    "   \"num_attention_heads\": 16, \"patch_size\": 14, \"projection_dim\": 512}}");
  GillClipVisionConfig v;
  GillClipTextConfig t;
  g_autoptr (GError) error = NULL;
  gill_clip_vision_config_default (&v);
  gill_clip_text_config_default (&t);
  g_assert_true (gill_clip_vision_config_from_json (json, "config.json", &v, &error));
  g_assert_true (gill_clip_text_config_from_json (json, "config.json", &t, &error));
  g_assert_no_error (error);
  g_assert_cmpint (v.encoder.hidden_size, ==, 1024);
  g_assert_cmpint (v.patch_size, ==, 14);
  g_assert_cmpint (v.projection_dim, ==, 768);
  g_assert_cmpint (t.encoder.hidden_size, ==, 768);
  g_assert_cmpint (t.encoder.num_hidden_layers, ==, 12); /* the default, not text_config's 3 */
  g_assert_cmpint (t.projection_dim, ==, 768);

  /* the preset is the same model */
  GillClipVisionConfig preset;
  g_assert_true (gill_clip_vision_config_preset ("vit-l-14", &preset, &error));
  g_assert_cmpmem (&preset, sizeof preset, &v, sizeof v);
  /* models.md §5.2: 1.62e11 FLOPs per image */
  g_assert_cmpfloat (fabs (gill_clip_vision_flops (&preset) / 1.62e11 - 1), <, 0.01);
  GillClipTextConfig text_preset;
  g_assert_true (gill_clip_text_config_preset ("vit-l-14", &text_preset, &error));
  g_assert_cmpfloat (fabs (gill_clip_text_flops (&text_preset, 77) / 1.33e10 - 1), <, 0.01);
  g_assert_false (gill_clip_text_config_preset ("vit-h-14", &text_preset, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
}

static void
test_config_tower_and_errors (void)
{
  g_autoptr (GError) error = NULL;
  GillClipTextConfig t;
  GillClipVisionConfig v;
  /* SD's text_encoder/config.json: keys at the top */
  g_autoptr (JsonObject) text = parse_object ("{\"model_type\": \"clip_text_model\", \"hidden_size\": 32,"
                                              " \"intermediate_size\": 37, \"hidden_act\": \"gelu\"}");
  gill_clip_text_config_default (&t);
  g_assert_true (gill_clip_text_config_from_json (text, "config.json", &t, &error));
  g_assert_cmpint (t.encoder.intermediate_size, ==, 37);
  g_assert_cmpint (t.encoder.hidden_act, ==, GILL_CLIP_ACTIVATION_GELU);
  gill_clip_vision_config_default (&v);
  g_assert_false (gill_clip_vision_config_from_json (text, "config.json", &v, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_clear_error (&error);

  static const gchar *const bad[][2] = {
    { "{\"hidden_size\": \"768\"}", "F" },
    { "{\"hidden_size\": 0}", "F" },
    { "{\"hidden_size\": 770, \"num_attention_heads\": 12}", "F" },
    { "{\"layer_norm_eps\": -1}", "F" },
    { "{\"hidden_act\": \"swish\"}", "U" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonObject) json = parse_object (bad[i][0]);
      gill_clip_text_config_default (&t);
      g_assert_false (gill_clip_text_config_from_json (json, "config.json", &t, &error));
      gint code = bad[i][1][0] == 'U' ? GILL_ERROR_UNSUPPORTED : GILL_ERROR_FORMAT;
      g_assert_error (error, GILL_ERROR, code);
      g_assert_nonnull (strstr (error->message, "config.json"));
      g_clear_error (&error);
    }
  g_autoptr (JsonObject) odd = parse_object ("{\"vision_config\": {\"image_size\": 225, \"patch_size\": 14}}");
  gill_clip_vision_config_default (&v);
  g_assert_false (gill_clip_vision_config_from_json (odd, "config.json", &v, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
}

/* ------------------------------------------------------------------ lookups */

/* a lookup over a store that can hide names, rename a prefix or hand out 16-bit copies */
typedef struct
{
  GillStore *store;
  const gchar *only_prefix;  /* answer only names starting with this (NULL: all) */
  const gchar *hide;         /* never answer this name */
  GillDType dtype;           /* F32: the store's tensors; F16 / BF16: rounded copies */
  GHashTable *copies;        /* name -> GillTensor */
} Filter;

static GillTensor *
filter_lookup (gconstpointer source,
               const gchar  *name)
{
  Filter *f = (Filter *) source;
  if ((f->only_prefix && !g_str_has_prefix (name, f->only_prefix)) || g_strcmp0 (name, f->hide) == 0)
    return NULL;
  GillTensor *t = gill_store_lookup (f->store, name);
  if (t == NULL || f->dtype == GILL_DTYPE_F32 || !gill_dtype_is_float (t->dtype))
    return t;
  GillTensor *copy = g_hash_table_lookup (f->copies, name);
  if (copy)
    return copy;
  gint64 n = gill_tensor_numel (t);
  g_autofree float *v = g_new (float, MAX (n, 1));
  gill_tensor_copy_f32 (t, v);
  guint16 *bits = g_new (guint16, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    bits[i] = f->dtype == GILL_DTYPE_F16 ? gill_f32_to_f16 (v[i]) : gill_f32_to_bf16 (v[i]);
  g_autoptr (GBytes) owner = g_bytes_new_take (bits, 2 * MAX (n, 1));
  copy = gill_tensor_new_view (f->dtype, t->n_dims, t->shape, NULL, (const guint8 *) bits, owner);
  g_hash_table_insert (f->copies, g_strdup (name), copy);
  return copy;
}

static const gchar *
filter_origin (gconstpointer source,
               const gchar  *name)
{
  return gill_store_file_of (((const Filter *) source)->store, name);
}

static GillStore *
tiny_store (void)
{
  g_autofree gchar *file = fixture ("tiny-clip/model/model.safetensors");
  if (file == NULL)
    return NULL;
  g_autoptr (GError) error = NULL;
  GillStore *store = gill_store_new ();
  g_assert_true (gill_store_add_file (store, file, &error));
  return store;
}

static void
tiny_config (GillClipVisionConfig *v,
             GillClipTextConfig   *t)
{
  g_autofree gchar *path = fixture ("tiny-clip/model/config.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  JsonObject *json = json_node_get_object (json_parser_get_root (parser));
  gill_clip_vision_config_default (v);
  gill_clip_text_config_default (t);
  g_assert_true (gill_clip_vision_config_from_json (json, path, v, NULL));
  g_assert_true (gill_clip_text_config_from_json (json, path, t, NULL));
}

/* the vision tower on tiny-clip's batch of 3 through `lookup`, against the goldens */
static void
check_vision (const GillWeights *lookup,
              double             tolerance)
{
  GillClipVisionConfig v;
  GillClipTextConfig t;
  tiny_config (&v, &t);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClipVisionWeights) w = gill_clip_vision_weights_bind (&v, lookup, &error);
  g_assert_no_error (error);
  g_autoptr (GillTensorList) list = golden ("tiny-clip");
  gint64 n, n_pooled, n_embeds, n_last;
  g_autofree float *pixels = golden_f32 (list, "vision/batch.pixel_values", &n);
  g_autofree float *want_pooled = golden_f32 (list, "vision/batch.pooler_output", &n_pooled);
  g_autofree float *want_embeds = golden_f32 (list, "vision/batch.image_embeds", &n_embeds);
  g_autofree float *want_last = golden_f32 (list, "vision/batch.last_hidden_state", &n_last);
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (&v, 3, &error);
  g_autofree float *pooled = g_new (float, n_pooled);
  g_autofree float *embeds = g_new (float, n_embeds);
  g_autofree float *last = g_new (float, n_last);
  GillClipOutput out = { .pooler_output = pooled, .embeds = embeds, .last_hidden_state = last };
  g_assert_true (gill_clip_vision_forward (w, state, pixels, 3, &out, &error));
  g_assert_no_error (error);
  assert_close (pooled, want_pooled, n_pooled, tolerance, tolerance, "pooler_output");
  assert_close (embeds, want_embeds, n_embeds, tolerance, tolerance, "image_embeds");
  assert_close (last, want_last, n_last, tolerance, tolerance, "last_hidden_state");

  /* one image alone gives its row of the batch */
  g_autoptr (GillClipState) one = gill_clip_state_new_vision (&v, 1, &error);
  gint64 d = v.encoder.hidden_size, per_image = 3 * 224 * 224;
  GillClipOutput single = { .pooler_output = pooled };
  g_assert_true (gill_clip_vision_forward (w, one, pixels + 2 * per_image, 1, &single, &error));
  assert_close (pooled, want_pooled + 2 * d, d, tolerance, tolerance, "pooler_output of image 2 alone");
  /* a batch larger than the state is refused */
  g_assert_false (gill_clip_vision_forward (w, one, pixels, 2, &single, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* a CLIPVisionModel checkpoint: only vision_model.* (and no projection) */
static void
test_vision_part_alone (void)
{
  g_autoptr (GillStore) store = tiny_store ();
  if (store == NULL)
    return;
  Filter f = { store, "vision_model.", NULL, GILL_DTYPE_F32, NULL };
  GillWeights lookup = { filter_lookup, filter_origin, &f, NULL };
  GillClipVisionConfig v;
  GillClipTextConfig t;
  tiny_config (&v, &t);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClipVisionWeights) w = gill_clip_vision_weights_bind (&v, &lookup, &error);
  g_assert_no_error (error);
  g_assert_null (w->visual_projection);
  /* asking for image_embeds without the projection is an error, not garbage */
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (&v, 1, &error);
  g_autofree float *pixels = g_new0 (float, 3 * 224 * 224);
  float embeds[16];
  GillClipOutput out = { .embeds = embeds };
  g_assert_false (gill_clip_vision_forward (w, state, pixels, 1, &out, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* and it has no text tower */
  g_assert_null (gill_clip_text_weights_bind (&t, &lookup, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  /* the vision + projection checkpoint (CLIPVisionModelWithProjection) matches the goldens */
  f.only_prefix = NULL;
  check_vision (&lookup, 1e-4);
}

static void
test_missing_tensor (void)
{
  g_autoptr (GillStore) store = tiny_store ();
  if (store == NULL)
    return;
  Filter f = { store, NULL, "vision_model.encoder.layers.1.mlp.fc2.bias", GILL_DTYPE_F32, NULL };
  GillWeights lookup = { filter_lookup, filter_origin, &f, NULL };
  GillClipVisionConfig v;
  GillClipTextConfig t;
  tiny_config (&v, &t);
  g_autoptr (GError) error = NULL;
  g_assert_null (gill_clip_vision_weights_bind (&v, &lookup, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_assert_nonnull (strstr (error->message, "vision_model.encoder.layers.1.mlp.fc2.bias"));
  g_clear_error (&error);
  /* a config that does not belong to the weights: SHAPE with expected and found */
  f.hide = NULL;
  t.encoder.intermediate_size = 128;
  g_assert_null (gill_clip_text_weights_bind (&t, &lookup, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "expected [128, 32]"));
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_clear_error (&error);
  /* a projection of the wrong width is an error too, not "absent" */
  v.projection_dim = 15;
  g_assert_null (gill_clip_vision_weights_bind (&v, &lookup, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_clear_error (&error);
  /* no logit_scale: a CLIPVisionModel or CLIPTextModel checkpoint */
  Filter vision_only = { store, "vision_model.", NULL, GILL_DTYPE_F32, NULL };
  GillWeights partial = { filter_lookup, filter_origin, &vision_only, NULL };
  float scale;
  g_assert_false (gill_clip_logit_scale (&partial, &scale, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
}

/* f16 / bf16 checkpoints: matrices widened one at a time, vectors at bind time */
static void
test_16bit_weights (void)
{
  g_autoptr (GillStore) store = tiny_store ();
  if (store == NULL)
    return;
  for (gint k = 0; k < 2; k++)
    {
      g_autoptr (GHashTable) copies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                             (GDestroyNotify) gill_tensor_unref);
      Filter f = { store, NULL, NULL, k == 0 ? GILL_DTYPE_F16 : GILL_DTYPE_BF16, copies };
      GillWeights lookup = { filter_lookup, filter_origin, &f, NULL };
      /* the rounded weights change the result by about their own precision */
      check_vision (&lookup, k == 0 ? 5e-3 : 5e-2);
      g_assert_cmpuint (g_hash_table_size (copies), >, 30);
    }
}

/* ------------------------------------------------------------------ text */

static void
test_text_golden_and_errors (void)
{
  g_autoptr (GillStore) store = tiny_store ();
  if (store == NULL)
    return;
  GillWeights lookup = gill_store_weights (store);
  GillClipVisionConfig v;
  GillClipTextConfig t;
  tiny_config (&v, &t);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClipTextWeights) w = gill_clip_text_weights_bind (&t, &lookup, &error);
  g_assert_no_error (error);
  g_autoptr (GillTensorList) list = golden ("tiny-clip");
  GillTensor *ids_t = gill_tensor_list_find (list, "text/pad77.input_ids");
  g_autofree gint64 *ids = g_new (gint64, gill_tensor_numel (ids_t));
  gill_tensor_copy_i64 (ids_t, ids);
  gint64 n_pooled, n_hidden;
  g_autofree float *want_pooled = golden_f32 (list, "text/pad77.pooler_output", &n_pooled);
  g_autofree float *want_h1 = golden_f32 (list, "text/pad77.hidden_state_1", &n_hidden);
  g_autoptr (GillClipState) state = gill_clip_state_new_text (&t, 3, &error);
  g_autofree float *pooled = g_new (float, n_pooled);
  g_autofree float *h1 = g_new (float, n_hidden);
  float *hidden[3] = { NULL, h1, NULL };
  GillClipOutput out = { .pooler_output = pooled, .hidden_states = hidden };
  g_assert_true (gill_clip_text_forward (w, state, ids, 3, 77, &out, &error));
  g_assert_no_error (error);
  assert_close (pooled, want_pooled, n_pooled, 1e-4, 1e-4, "pooler_output");
  assert_close (h1, want_h1, n_hidden, 1e-4, 1e-4, "hidden_state_1");

  /* ids outside the vocabulary, too many tokens */
  ids[5] = 49408;
  g_assert_false (gill_clip_text_forward (w, state, ids, 1, 77, &out, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "49408"));
  g_clear_error (&error);
  g_assert_false (gill_clip_text_forward (w, state, ids, 1, 78, &out, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ folders */

static void
test_open_layouts (void)
{
  g_autofree gchar *folder = fixture ("tiny-clip/model");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClipModel) both = gill_clip_model_open (folder, GILL_CLIP_TOWER_VISION | GILL_CLIP_TOWER_TEXT, &error);
  g_assert_no_error (error);
  g_assert_true (both->has_logit_scale);
  g_assert_cmpfloat (fabsf (both->logit_scale - 2.6592f), <, 1e-4);
  g_assert_cmpint (both->preprocess.shortest_edge, ==, 224);
  g_autofree gchar *file = g_build_filename (folder, "model.safetensors", NULL);
  g_autoptr (GillClipModel) from_file = gill_clip_model_open (file, GILL_CLIP_TOWER_VISION, &error);
  g_assert_no_error (error);
  g_assert_null (from_file->text);

  /* SD's text encoder has no vision tower; a CompVis file neither */
  g_autofree gchar *text_encoder = fixture ("tiny-sd/diffusers/text_encoder");
  g_assert_null (gill_clip_model_open (text_encoder, GILL_CLIP_TOWER_VISION, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_clear_error (&error);
  g_autofree gchar *compvis = fixture ("tiny-sd/compvis/tiny-sd.safetensors");
  g_assert_null (gill_clip_model_open (compvis, GILL_CLIP_TOWER_VISION, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_clear_error (&error);
  /* the CompVis file with its yaml (found beside it under another name: give it) */
  g_autofree gchar *yaml = fixture ("tiny-sd/compvis/tiny-sd-inference.yaml");
  g_autoptr (GillClipModel) sd = gill_clip_model_open_compvis (compvis, yaml, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sd->text_config.encoder.intermediate_size, ==, 37);
  g_assert_null (sd->text->text_projection);
  /* without the yaml the text tower is ViT-L/14's, which these weights are not */
  g_assert_null (gill_clip_model_open_compvis (compvis, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "768"));
  g_clear_error (&error);
  /* a folder that does not exist */
  g_assert_null (gill_clip_model_open ("/nonexistent/clip", GILL_CLIP_TOWER_VISION, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
}

/* tests/clip/vision-bin: a CLIPVisionModel saved as pytorch_model.bin (make-clip-cases.py) */
static void
test_vision_only_bin (void)
{
  g_autoptr (GillTensorList) list = golden ("tiny-clip");
  if (list == NULL)
    return;
  g_autofree gchar *folder = g_test_build_filename (G_TEST_DIST, "clip", "vision-bin", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (gill_clip_model_open (folder, GILL_CLIP_TOWER_TEXT, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
  g_clear_error (&error);
  g_autoptr (GillClipModel) clip = gill_clip_model_open (folder, GILL_CLIP_TOWER_VISION, &error);
  g_assert_no_error (error);
  g_assert_null (clip->vision->visual_projection);
  g_assert_false (clip->has_logit_scale);
  gint64 n, n_pooled;
  g_autofree float *pixels = golden_f32 (list, "vision/batch.pixel_values", &n);
  g_autofree float *want = golden_f32 (list, "vision/batch.pooler_output", &n_pooled);
  g_autoptr (GillClipState) state = gill_clip_state_new_vision (&clip->vision_config, 3, &error);
  g_autofree float *pooled = g_new (float, n_pooled);
  GillClipOutput out = { .pooler_output = pooled };
  g_assert_true (gill_clip_vision_forward (clip->vision, state, pixels, 3, &out, &error));
  g_assert_no_error (error);
  assert_close (pooled, want, n_pooled, 1e-4, 1e-4, "pooler_output from pytorch_model.bin");
}

/* image files -> pooler_output: the preprocessing and the tower end to end */
static void
test_embed_files (void)
{
  g_autofree gchar *folder = fixture ("tiny-clip/model");
  if (folder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillClipModel) clip = gill_clip_model_open (folder, GILL_CLIP_TOWER_VISION, &error);
  g_assert_no_error (error);
  g_autofree gchar *a = fixture ("tiny-clip/images/landscape_rgb.png");
  g_autofree gchar *b = fixture ("tiny-clip/images/portrait_rgba.png");
  g_autofree gchar *c = fixture ("tiny-clip/images/small_noise_rgb.png");
  const gchar *files[] = { a, b, c };
  g_autoptr (GillTensorList) list = golden ("tiny-clip");
  gint64 n;
  g_autofree float *want = golden_f32 (list, "vision/batch.pooler_output", &n);
  g_autofree float *pooled = g_new (float, n);
  g_autofree float *embeds = g_new (float, 3 * 16);
  /* batches of 2: one full, one partial */
  g_assert_true (gill_clip_model_embed_files (clip, files, 3, 2, pooled, embeds, &error));
  g_assert_no_error (error);
  assert_close (pooled, want, n, 1e-4, 1e-4, "pooler_output from files");
  const gchar *bad[] = { a, "/nonexistent/x.png" };
  g_assert_false (gill_clip_model_embed_files (clip, bad, 2, 2, pooled, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.png"));
}

static void
test_similarity (void)
{
  const float image[2][2] = { { 1, 0 }, { 1, 1 } };
  const float text[1][2] = { { 2, 0 } };
  float logits[2];
  gill_clip_similarity (&image[0][0], 2, &text[0][0], 1, 2, logf (100.0f), logits);
  g_assert_cmpfloat (fabsf (logits[0] - 100.0f), <, 1e-3);
  g_assert_cmpfloat (fabsf (logits[1] - 100.0f * (float) M_SQRT1_2), <, 1e-3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip/config-clip-model", test_config_clip_model);
  g_test_add_func ("/clip/config-tower-and-errors", test_config_tower_and_errors);
  g_test_add_func ("/clip/vision-part-alone", test_vision_part_alone);
  g_test_add_func ("/clip/missing-tensor", test_missing_tensor);
  g_test_add_func ("/clip/16bit-weights", test_16bit_weights);
  g_test_add_func ("/clip/text-golden-and-errors", test_text_golden_and_errors);
  g_test_add_func ("/clip/open-layouts", test_open_layouts);
  g_test_add_func ("/clip/vision-only-bin", test_vision_only_bin);
  g_test_add_func ("/clip/embed-files", test_embed_files);
  g_test_add_func ("/clip/similarity", test_similarity);
  return g_test_run ();
}
