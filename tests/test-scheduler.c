/* test-scheduler.c — the diffusers schedulers (core/models/scheduler.c).
 *
 * Construction from scheduler_config.json (class names, defaults, rejected options), the SD1.5
 * inference schedules of models.md §3.5 for 50 steps, the errors of set_timesteps and step, and
 * the noise paths of the Euler schedulers. Step numerics run against diffusers' goldens through
 * `gill check` (fixtures/tiny-sd, kind scheduler.step). */
#include "core/models/scheduler.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"

/* runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json */
static const gchar sd15_config[] =
  "{\"_class_name\": \"PNDMScheduler\", \"_diffusers_version\": \"0.6.0\", \"beta_end\": 0.012,"
  " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"num_train_timesteps\": 1000,"
  " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1,"
  " \"trained_betas\": null, \"clip_sample\": false}";

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static GillScheduler *
sd15 (const gchar *name)
{
  g_autoptr (JsonObject) config = parse_object (sd15_config);
  g_autoptr (GError) error = NULL;
  GillScheduler *s = gill_scheduler_new_from_json (config, name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

static void
test_kind_names (void)
{
  const struct { const gchar *name; GillSchedulerKind kind; } names[] = {
    { "pndm", GILL_SCHEDULER_PNDM }, { "PNDMScheduler", GILL_SCHEDULER_PNDM },
    { "ddim", GILL_SCHEDULER_DDIM }, { "DDIMScheduler", GILL_SCHEDULER_DDIM },
    { "euler", GILL_SCHEDULER_EULER }, { "EulerDiscreteScheduler", GILL_SCHEDULER_EULER },
    { "euler-a", GILL_SCHEDULER_EULER_ANCESTRAL }, { "euler_ancestral", GILL_SCHEDULER_EULER_ANCESTRAL },
    { "EulerAncestralDiscreteScheduler", GILL_SCHEDULER_EULER_ANCESTRAL },
    { "dpmpp-2m", GILL_SCHEDULER_DPMPP_2M }, { "dpmsolver_multistep", GILL_SCHEDULER_DPMPP_2M },
    { "DPMSolverMultistepScheduler", GILL_SCHEDULER_DPMPP_2M },
  };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      GillSchedulerKind kind = GILL_SCHEDULER_N_KINDS;
      g_assert_true (gill_scheduler_kind_from_name (names[k].name, &kind, NULL));
      g_assert_cmpint (kind, ==, names[k].kind);
    }
  g_assert_cmpstr (gill_scheduler_kind_name (GILL_SCHEDULER_EULER_ANCESTRAL), ==, "euler-a");
  g_assert_cmpstr (gill_scheduler_kind_class_name (GILL_SCHEDULER_DPMPP_2M), ==, "DPMSolverMultistepScheduler");

  g_autoptr (GError) error = NULL;
  GillSchedulerKind kind;
  g_assert_false (gill_scheduler_kind_from_name ("lms", &kind, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "dpmpp-2m"));
}

/* a config whose _class_name is not one of the five: UNSUPPORTED naming it and the supported */
static void
test_unknown_class (void)
{
  g_autoptr (JsonObject) config = parse_object ("{\"_class_name\": \"LMSDiscreteScheduler\", \"beta_schedule\": \"scaled_linear\"}");
  g_autoptr (GError) error = NULL;
  g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (config, NULL, &error);
  g_assert_null (s);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "LMSDiscreteScheduler"));
  g_assert_nonnull (strstr (error->message, "PNDMScheduler"));
  g_assert_nonnull (strstr (error->message, "EulerAncestralDiscreteScheduler"));

  g_autoptr (JsonObject) nameless = parse_object ("{\"beta_schedule\": \"scaled_linear\"}");
  g_autoptr (GError) error2 = NULL;
  g_assert_null (gill_scheduler_new_from_json (nameless, NULL, &error2));
  g_assert_error (error2, GILL_ERROR, GILL_ERROR_FORMAT);
}

/* options this port does not run, and members of the wrong type */
static void
test_bad_config (void)
{
  const struct { const gchar *json; const gchar *name; gint code; } cases[] = {
    { "{\"beta_schedule\": \"cosine\"}", "ddim", GILL_ERROR_UNSUPPORTED },
    { "{\"num_train_timesteps\": \"1000\"}", "ddim", GILL_ERROR_FORMAT },
    { "{\"skip_prk_steps\": false}", "pndm", GILL_ERROR_UNSUPPORTED },
    { "{}", "pndm", GILL_ERROR_UNSUPPORTED },                      /* PNDM's default is PRK */
    { "{\"prediction_type\": \"sample\"}", "pndm", GILL_ERROR_UNSUPPORTED },
    { "{\"thresholding\": true}", "ddim", GILL_ERROR_UNSUPPORTED },
    { "{\"timestep_spacing\": \"linspace\"}", "ddim", GILL_ERROR_UNSUPPORTED },
    { "{\"use_karras_sigmas\": true}", "euler", GILL_ERROR_UNSUPPORTED },
    { "{\"solver_order\": 3}", "dpmpp-2m", GILL_ERROR_UNSUPPORTED },
    { "{\"algorithm_type\": \"sde-dpmsolver++\"}", "dpmpp-2m", GILL_ERROR_UNSUPPORTED },
    { "{\"trained_betas\": [0.1, 0.2]}", "ddim", GILL_ERROR_FORMAT },
    { "{\"clip_sample\": 1}", "ddim", GILL_ERROR_FORMAT },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr (JsonObject) config = parse_object (cases[k].json);
      g_autoptr (GError) error = NULL;
      g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (config, cases[k].name, &error);
      g_assert_null (s);
      g_assert_error (error, GILL_ERROR, cases[k].code);
    }
}

/* set_timesteps (0) and more steps than training steps are refused; a new count starts over */
static void
test_zero_steps (void)
{
  for (guint k = 0; k < GILL_SCHEDULER_N_KINDS; k++)
    {
      g_autoptr (GillScheduler) s = sd15 (gill_scheduler_kind_name (k));
      g_autoptr (GError) error = NULL;
      g_assert_false (gill_scheduler_set_timesteps (s, 0, &error));
      g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (gill_scheduler_set_timesteps (s, 1001, &error));
      g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
      g_assert_cmpint (gill_scheduler_n_timesteps (s), ==, 0);
    }
}

/* models.md §3.5 for N = 50 */
static void
test_sd15_timesteps (void)
{
  g_autoptr (GillScheduler) pndm = sd15 (NULL);
  g_assert_cmpint (gill_scheduler_get_kind (pndm), ==, GILL_SCHEDULER_PNDM);
  g_assert_true (gill_scheduler_set_timesteps (pndm, 50, NULL));
  g_assert_cmpint (gill_scheduler_n_timesteps (pndm), ==, 51);
  const float head[4] = { 981, 961, 961, 941 };
  for (gint i = 0; i < 4; i++)
    g_assert_cmpfloat (gill_scheduler_timestep (pndm, i), ==, head[i]);
  g_assert_cmpfloat (gill_scheduler_timestep (pndm, 50), ==, 1);
  g_assert_cmpfloat (gill_scheduler_init_noise_sigma (pndm), ==, 1.0f);
  g_assert_false (gill_scheduler_timesteps_are_float (pndm));
  g_assert_null (gill_scheduler_sigmas (pndm, NULL));

  g_autoptr (GillScheduler) ddim = sd15 ("ddim");
  g_assert_true (gill_scheduler_set_timesteps (ddim, 50, NULL));
  g_assert_cmpint (gill_scheduler_n_timesteps (ddim), ==, 50);
  g_assert_cmpfloat (gill_scheduler_timestep (ddim, 0), ==, 981);
  g_assert_cmpfloat (gill_scheduler_timestep (ddim, 49), ==, 1);

  g_autoptr (GillScheduler) euler = sd15 ("euler");
  g_assert_true (gill_scheduler_set_timesteps (euler, 50, NULL));
  g_assert_true (gill_scheduler_timesteps_are_float (euler));
  g_assert_cmpfloat (gill_scheduler_timestep (euler, 0), ==, 999);
  g_assert_cmpfloat_with_epsilon (gill_scheduler_timestep (euler, 1), 978.6122f, 1e-3);
  g_assert_cmpfloat (gill_scheduler_timestep (euler, 49), ==, 0);
  g_assert_cmpfloat_with_epsilon (gill_scheduler_init_noise_sigma (euler), 14.6146f, 1e-3);
  gint n_sigmas;
  const float *sigmas = gill_scheduler_sigmas (euler, &n_sigmas);
  g_assert_cmpint (n_sigmas, ==, 51);
  g_assert_cmpfloat (sigmas[0], ==, gill_scheduler_init_noise_sigma (euler));
  g_assert_cmpfloat_with_epsilon (sigmas[49], 0.0291675f, 1e-6);   /* σ_0 */
  g_assert_cmpfloat (sigmas[50], ==, 0.0f);

  g_autoptr (GillScheduler) dpm = sd15 ("dpmpp-2m");
  g_assert_true (gill_scheduler_set_timesteps (dpm, 50, NULL));
  g_assert_cmpint (gill_scheduler_n_timesteps (dpm), ==, 50);
  const float dpm_head[3] = { 999, 979, 959 };
  for (gint i = 0; i < 3; i++)
    g_assert_cmpfloat (gill_scheduler_timestep (dpm, i), ==, dpm_head[i]);
  g_assert_cmpfloat (gill_scheduler_timestep (dpm, 48), ==, 40);
  g_assert_cmpfloat (gill_scheduler_timestep (dpm, 49), ==, 20);
}

/* DDIM "trailing" spacing; a steps_offset that leaves the table is refused */
static void
test_ddim_spacing (void)
{
  g_autoptr (JsonObject) trailing = parse_object ("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
                                                  " \"beta_end\": 0.012, \"timestep_spacing\": \"trailing\"}");
  g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (trailing, "ddim", NULL);
  g_assert_nonnull (s);
  g_assert_true (gill_scheduler_set_timesteps (s, 10, NULL));
  g_assert_cmpint (gill_scheduler_n_timesteps (s), ==, 10);
  g_assert_cmpfloat (gill_scheduler_timestep (s, 0), ==, 999);
  g_assert_cmpfloat (gill_scheduler_timestep (s, 9), ==, 99);
  g_assert_true (gill_scheduler_set_timesteps (s, 3, NULL));
  g_assert_cmpint (gill_scheduler_n_timesteps (s), ==, 3);
  g_assert_cmpfloat (gill_scheduler_timestep (s, 2), ==, 332);

  g_autoptr (JsonObject) offset = parse_object ("{\"steps_offset\": 100}");
  g_autoptr (GillScheduler) d = gill_scheduler_new_from_json (offset, "ddim", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (gill_scheduler_set_timesteps (d, 10, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (gill_scheduler_n_timesteps (d), ==, 0);
}

/* step before set_timesteps, out of order, with a changed size, Euler-a without noise */
static void
test_step_errors (void)
{
  float x[4] = { 0 }, e[4] = { 0 };
  g_autoptr (GillScheduler) s = sd15 ("pndm");
  g_autoptr (GError) error = NULL;
  g_assert_false (gill_scheduler_step (s, 0, e, x, 4, NULL, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (gill_scheduler_set_timesteps (s, 10, NULL));
  g_assert_false (gill_scheduler_step (s, 1, e, x, 4, NULL, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (gill_scheduler_step (s, 0, e, x, 4, NULL, NULL, &error));
  g_assert_false (gill_scheduler_step (s, 1, e, x, 3, NULL, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* set_timesteps starts over */
  g_assert_true (gill_scheduler_set_timesteps (s, 10, NULL));
  g_assert_true (gill_scheduler_step (s, 0, e, x, 3, NULL, NULL, &error));

  g_autoptr (GillScheduler) a = sd15 ("euler-a");
  g_assert_true (gill_scheduler_set_timesteps (a, 10, NULL));
  g_assert_false (gill_scheduler_step (a, 0, e, x, 4, NULL, NULL, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* run a whole schedule on a fixed start and fixed epsilons */
static void
run_schedule (GillScheduler *s,
              gint           n_steps,
              GillRng       *rng,
              float         *x,
              gsize          n)
{
  g_assert_true (gill_scheduler_set_timesteps (s, n_steps, NULL));
  g_autofree float *eps = g_new (float, n);
  g_autofree float *scaled = g_new (float, n);
  for (gsize k = 0; k < n; k++)
    x[k] = (float) sin (k * 0.37) * gill_scheduler_init_noise_sigma (s);
  for (gint i = 0; i < gill_scheduler_n_timesteps (s); i++)
    {
      gill_scheduler_scale_model_input (s, i, x, scaled, n);
      for (gsize k = 0; k < n; k++)
        eps[k] = 0.9f * scaled[k] + 0.1f * (float) cos (k * 0.11 + i);
      g_autoptr (GError) error = NULL;
      g_assert_true (gill_scheduler_step (s, i, eps, x, n, rng, NULL, &error));
      g_assert_no_error (error);
    }
  for (gsize k = 0; k < n; k++)
    g_assert_true (isfinite (x[k]));
}

/* same inputs and seed -> the same bits, for every scheduler; Euler-a differs by seed */
static void
test_determinism (void)
{
  const gsize n = 4 * 8 * 8;
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  for (guint k = 0; k < GILL_SCHEDULER_N_KINDS; k++)
    {
      g_autoptr (GillScheduler) s = sd15 (gill_scheduler_kind_name (k));
      g_autoptr (GillRng) r1 = gill_rng_new (42);
      g_autoptr (GillRng) r2 = gill_rng_new (42);
      run_schedule (s, 12, r1, a, n);
      run_schedule (s, 12, r2, b, n);     /* reused after set_timesteps */
      g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
    }
  g_autoptr (GillScheduler) s = sd15 ("euler-a");
  g_autoptr (GillRng) r0 = gill_rng_new (42);
  g_autoptr (GillRng) r3 = gill_rng_new ((G_GUINT64_CONSTANT (1) << 32) + 42);  /* = seed 42 */
  g_autoptr (GillRng) r4 = gill_rng_new (43);
  run_schedule (s, 12, r0, a, n);
  run_schedule (s, 12, r3, b, n);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  run_schedule (s, 12, r4, b, n);
  g_assert_true (memcmp (a, b, n * sizeof (float)) != 0);
}

/* Euler-a: noise from the generator = randn of the latent size per step, as a given buffer;
 * Euler (0.17.1) draws the same amount and discards it */
static void
test_noise_sources (void)
{
  const gsize n = 64;
  float x1[64], x2[64], eps[64], noise[64];
  for (gsize k = 0; k < n; k++)
    eps[k] = (float) cos (k * 0.3);
  g_autoptr (GillScheduler) a = sd15 ("euler-a");
  g_autoptr (GillScheduler) b = sd15 ("euler-a");
  g_assert_true (gill_scheduler_set_timesteps (a, 4, NULL));
  g_assert_true (gill_scheduler_set_timesteps (b, 4, NULL));
  g_autoptr (GillRng) drawn = gill_rng_new (5);
  g_autoptr (GillRng) given = gill_rng_new (5);
  for (gsize k = 0; k < n; k++)
    x1[k] = x2[k] = (float) sin (k * 1.0);
  for (gint i = 0; i < 4; i++)
    {
      g_assert_true (gill_scheduler_step (a, i, eps, x1, n, drawn, NULL, NULL));
      gill_rng_randn (given, noise, n);
      g_assert_true (gill_scheduler_step (b, i, eps, x2, n, NULL, noise, NULL));
    }
  g_assert_cmpmem (x1, sizeof x1, x2, sizeof x2);

  g_autoptr (GillScheduler) e = sd15 ("euler");
  g_assert_true (gill_scheduler_set_timesteps (e, 4, NULL));
  g_autoptr (GillRng) r = gill_rng_new (5);
  g_autoptr (GillRng) ref = gill_rng_new (5);
  g_assert_true (gill_scheduler_step (e, 0, eps, x1, n, r, NULL, NULL));
  gill_rng_randn (ref, noise, n);
  g_assert_cmpuint (gill_rng_random (r), ==, gill_rng_random (ref));
}

/* scale_model_input: identity for PNDM, x / sqrt (σ² + 1) for Euler, in place allowed */
static void
test_scale_model_input (void)
{
  float x[3] = { 1.0f, -2.0f, 3.0f }, y[3];
  g_autoptr (GillScheduler) p = sd15 ("pndm");
  g_assert_true (gill_scheduler_set_timesteps (p, 10, NULL));
  gill_scheduler_scale_model_input (p, 0, x, y, 3);
  g_assert_cmpmem (x, sizeof x, y, sizeof y);

  g_autoptr (GillScheduler) e = sd15 ("euler");
  g_assert_true (gill_scheduler_set_timesteps (e, 10, NULL));
  float sigma = gill_scheduler_sigmas (e, NULL)[0];
  gill_scheduler_scale_model_input (e, 0, x, x, 3);
  g_assert_cmpfloat_with_epsilon (x[1], -2.0f / sqrtf (sigma * sigma + 1.0f), 1e-7);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheduler/kind-names", test_kind_names);
  g_test_add_func ("/scheduler/unknown-class", test_unknown_class);
  g_test_add_func ("/scheduler/bad-config", test_bad_config);
  g_test_add_func ("/scheduler/zero-steps", test_zero_steps);
  g_test_add_func ("/scheduler/sd15-timesteps", test_sd15_timesteps);
  g_test_add_func ("/scheduler/ddim-spacing", test_ddim_spacing);
  g_test_add_func ("/scheduler/step-errors", test_step_errors);
  g_test_add_func ("/scheduler/determinism", test_determinism);
  g_test_add_func ("/scheduler/noise-sources", test_noise_sources);
  g_test_add_func ("/scheduler/scale-model-input", test_scale_model_input);
  return g_test_run ();
}
