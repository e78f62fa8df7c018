/* test-ldm-yaml.c — core/io/ldm-yaml: the LDM config subset, typed reads, the JSON view, and
 * every construct it refuses with a FORMAT error naming the line. */
#include <string.h>

#include "core/base/error.h"
#include "core/io/ldm-yaml.h"

static const gchar *const inference_yaml =
  "model:\n"
  "  base_learning_rate: 1.0e-04\n"
  "  target: ldm.models.diffusion.ddpm.LatentDiffusion\n"
  "  params:\n"
  "    linear_start: 0.00085   # a comment\n"
  "    first_stage_key: \"jpg\"\n"
  "    cond_stage_key: 'txt # not a comment'\n"
  "    image_size: 64\n"
  "    use_ema: False\n"
  "    monitor: val/loss_simple_ema\n"
  "\n"
  "    unet_config:\n"
  "      target: ldm.modules.diffusionmodules.openaimodel.UNetModel\n"
  "      params:\n"
  "        attention_resolutions: [ 4, 2, 1 ]\n"
  "        channel_mult: [1, 2, 4, 4]\n"
  "        num_heads: 8\n"
  "        legacy: False\n"
  "    cond_stage_config:\n"
  "      target: ldm.modules.encoders.modules.FrozenCLIPEmbedder\n"
  "      params:  # for the tiny encoder\n"
  "        hidden_size: 32\n"
  "        layer_norm_eps: 1.0e-05\n"
  "        hidden_act: quick_gelu\n"
  "        version: \"1\"\n"
  "    scheduler_config:\n"
  "      warm_up_steps:\n"
  "      - 10000\n"
  "      - 20\n"
  "      stages:\n"
  "        - name: first\n"
  "          steps: 3\n"
  "        - name: second\n"
  "# trailing comment\n";

static void
test_parse_inference (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_parse (inference_yaml, -1, "v1-inference.yaml", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.target"), ==, "ldm.models.diffusion.ddpm.LatentDiffusion");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.first_stage_key"), ==, "jpg");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.cond_stage_key"), ==, "txt # not a comment");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.linear_start"), ==, "0.00085");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.scheduler_config.warm_up_steps.1"), ==, "20");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.scheduler_config.stages.0.steps"), ==, "3");
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.scheduler_config.stages.1.name"), ==, "second");
  g_assert_null (gill_ldm_yaml_get (yaml, "model.params"));

  gint64 heads, missing;
  double start;
  gboolean ema;
  g_assert_true (gill_ldm_yaml_get_int (yaml, "model.params.unet_config.params.num_heads", 0, &heads, &error));
  g_assert_cmpint (heads, ==, 8);
  g_assert_true (gill_ldm_yaml_get_int (yaml, "model.params.unet_config.params.nope", 77, &missing, &error));
  g_assert_cmpint (missing, ==, 77);
  g_assert_true (gill_ldm_yaml_get_double (yaml, "model.params.linear_start", 0, &start, &error));
  g_assert_cmpfloat (start, ==, 0.00085);
  g_assert_true (gill_ldm_yaml_get_bool (yaml, "model.params.use_ema", TRUE, &ema, &error));
  g_assert_false (ema);
  g_autoptr (GArray) mult = gill_ldm_yaml_get_int_list (yaml, "model.params.unet_config.params.channel_mult", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mult->len, ==, 4);
  g_assert_cmpint (g_array_index (mult, gint64, 2), ==, 4);
  g_autoptr (GArray) res = gill_ldm_yaml_get_int_list (yaml, "model.params.unet_config.params.attention_resolutions",
                                                       &error);
  g_assert_cmpint (g_array_index (res, gint64, 0), ==, 4);

  g_assert_false (gill_ldm_yaml_get_int (yaml, "model.target", 0, &heads, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "v1-inference.yaml"));
  g_clear_error (&error);
  g_assert_null (gill_ldm_yaml_get_int_list (yaml, "model.params.nope", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
}

static void
test_to_json (void)
{
  g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_parse (inference_yaml, -1, "v1-inference.yaml", NULL);
  g_autoptr (JsonObject) params = gill_ldm_yaml_to_json (yaml, "model.params.cond_stage_config.params");
  g_assert_nonnull (params);
  g_assert_cmpint (json_object_get_int_member (params, "hidden_size"), ==, 32);
  g_assert_cmpfloat (json_object_get_double_member (params, "layer_norm_eps"), ==, 1e-5);
  g_assert_cmpstr (json_object_get_string_member (params, "hidden_act"), ==, "quick_gelu");
  g_assert_cmpstr (json_object_get_string_member (params, "version"), ==, "1"); /* quoted: a string */
  g_autoptr (JsonObject) unet = gill_ldm_yaml_to_json (yaml, "model.params.unet_config");
  JsonObject *p = json_object_get_object_member (unet, "params");
  g_assert_false (json_object_get_boolean_member (p, "legacy"));
  JsonArray *mult = json_object_get_array_member (p, "channel_mult");
  g_assert_cmpuint (json_array_get_length (mult), ==, 4);
  g_assert_cmpint (json_array_get_int_element (mult, 3), ==, 4);
  g_assert_null (gill_ldm_yaml_to_json (yaml, "model.params.nothing_here"));
}

static void
test_refusals (void)
{
  static const gchar *const bad[][2] = {
    { "model:\n\ttarget: x\n", "tab" },
    { "model:\n  base: &anchor 1\n", "anchor" },
    { "model:\n  text: |\n    lines\n", "block" },
    { "a: 1\na: 2\n", "duplicate" },
    { "just a line\n", "key: value" },
    { "- top\n", "top level" },
    { "a: \"unterminated\n", "unterminated" },
    { "a: [1, 2\n", "flow" },
    { "a.b: 1\n", "'.'" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_parse (bad[i][0], -1, "bad.yaml", &error);
      g_assert_null (yaml);
      g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "bad.yaml:"));
      if (!strstr (error->message, bad[i][1]))
        g_error ("case %" G_GSIZE_FORMAT ": '%s' not in: %s", i, bad[i][1], error->message);
    }
  g_autoptr (GError) error = NULL;
  g_assert_null (gill_ldm_yaml_parse ("a: \xff\n", -1, "latin1.yaml", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_null (gill_ldm_yaml_load ("/nonexistent/v1-inference.yaml", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING);
}

static void
test_fixture_yaml (void)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  if (root == NULL)
    {
      g_test_skip ("GILL_FIXTURES is not set: run through meson test");
      return;
    }
  g_autofree gchar *path = g_build_filename (root, "tiny-sd", "compvis", "tiny-sd-inference.yaml", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillLdmYaml) yaml = gill_ldm_yaml_load (path, &error);
  g_assert_no_error (error);
  gint64 v;
  g_assert_true (gill_ldm_yaml_get_int (yaml, "model.params.cond_stage_config.params.intermediate_size", 0, &v, &error));
  g_assert_cmpint (v, ==, 37);
  g_assert_true (gill_ldm_yaml_get_int (yaml, "model.params.first_stage_config.params.ddconfig.ch", 0, &v, &error));
  g_assert_cmpint (v, ==, 32);
  g_assert_cmpstr (gill_ldm_yaml_get (yaml, "model.params.first_stage_config.params.lossconfig.target"), ==,
                   "torch.nn.Identity");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ldm-yaml/parse-inference", test_parse_inference);
  g_test_add_func ("/ldm-yaml/to-json", test_to_json);
  g_test_add_func ("/ldm-yaml/refusals", test_refusals);
  g_test_add_func ("/ldm-yaml/fixture", test_fixture_yaml);
  return g_test_run ();
}
