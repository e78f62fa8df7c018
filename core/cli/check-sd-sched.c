/* check-sd-sched.c — fixture kinds rng.* and scheduler.step (fixtures README, "Kinds").
 *
 * rng.torch_cpu_randn / rng.torch_generator_randn: torch.manual_seed (seed) (or a Generator
 * seeded the same way: the same engine) then randn (shape) -> expected.sample.
 * rng.torch_cpu_randn_seq: one seed, then randn of each inputs.shapes[k] -> sample_k.
 * scheduler.step: the case's scheduler_config and scheduler name; set_timesteps (N); sample =
 * initial_sample * init_noise_sigma; per timestep scale_model_input then step with
 * model_outputs[i] (Euler ancestral adds inputs.step_noises[i] σ_up) -> timesteps (int64, float32
 * for the Euler ones), init_noise_sigma, sigmas (Euler ones), scaled_model_inputs, prev_samples. */
#include "core/cli/check.h"

#include <string.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/models/scheduler.h"

/* ------------------------------------------------------------------ rng */

/* inputs.seed: any integer torch accepts, up to 2^64 - 1 (json-glib reads it as int64) */
static gboolean
rng_seed (const GillCheckCase *c,
          guint64             *seed,
          GError             **error)
{
  gint64 value;
  if (!gill_check_input_int (c, "seed", &value, error))
    return FALSE;
  *seed = (guint64) value;
  return TRUE;
}

/* a JSON list of non-negative integers -> shape */
static gboolean
rng_shape (const GillCheckCase *c,
           JsonNode            *node,
           const gchar         *what,
           gint                *n_dims,
           gint64              *shape,
           GError             **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (json_node_get_array (node)) > GILL_TENSOR_MAX_DIMS)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s/cases.json: case '%s': %s is not a shape",
                   c->folder, c->name, what);
      return FALSE;
    }
  JsonArray *a = json_node_get_array (node);
  *n_dims = (gint) json_array_get_length (a);
  for (gint d = 0; d < *n_dims; d++)
    {
      JsonNode *e = json_array_get_element (a, d);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
          || json_node_get_int (e) < 0)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s/cases.json: case '%s': %s[%d] is not a size", c->folder, c->name, what, d);
          return FALSE;
        }
      shape[d] = json_node_get_int (e);
    }
  return TRUE;
}

/* randn (shape) on rng as a new tensor */
static GillTensor *
rng_draw (GillRng      *rng,
          gint          n_dims,
          const gint64 *shape)
{
  GillTensor *t = gill_tensor_new_f32 (n_dims, shape);
  gill_rng_randn (rng, gill_tensor_data_f32 (t), (gsize) gill_tensor_numel (t));
  return t;
}

static gboolean
run_randn (const GillCheckCase *c,
           GillCheckResults    *out,
           GError             **error)
{
  guint64 seed;
  gint n_dims;
  gint64 shape[GILL_TENSOR_MAX_DIMS];
  if (!rng_seed (c, &seed, error)
      || !rng_shape (c, gill_check_input (c, "shape"), "inputs.shape", &n_dims, shape, error))
    return FALSE;
  g_autoptr (GillRng) rng = gill_rng_new (seed);
  g_autoptr (GillTensor) sample = rng_draw (rng, n_dims, shape);
  gill_check_results_set_tensor (out, "sample", sample);
  return TRUE;
}

static gboolean
run_randn_seq (const GillCheckCase *c,
               GillCheckResults    *out,
               GError             **error)
{
  guint64 seed;
  if (!rng_seed (c, &seed, error))
    return FALSE;
  JsonNode *shapes = gill_check_input (c, "shapes");
  if (shapes == NULL || !JSON_NODE_HOLDS_ARRAY (shapes))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s/cases.json: case '%s': inputs.shapes is not a list",
                   c->folder, c->name);
      return FALSE;
    }
  g_autoptr (GillRng) rng = gill_rng_new (seed);
  JsonArray *list = json_node_get_array (shapes);
  for (guint k = 0; k < json_array_get_length (list); k++)
    {
      g_autofree gchar *what = g_strdup_printf ("inputs.shapes[%u]", k);
      g_autofree gchar *key = g_strdup_printf ("sample_%u", k);
      gint n_dims;
      gint64 shape[GILL_TENSOR_MAX_DIMS];
      if (!rng_shape (c, json_array_get_element (list, k), what, &n_dims, shape, error))
        return FALSE;
      g_autoptr (GillTensor) sample = rng_draw (rng, n_dims, shape);
      gill_check_results_set_tensor (out, key, sample);
    }
  return TRUE;
}

const GillCheckKind gill_check_kinds_rng[] = {
  { "rng.torch_cpu_randn", run_randn, NULL },
  { "rng.torch_generator_randn", run_randn, NULL },
  { "rng.torch_cpu_randn_seq", run_randn_seq, NULL },
  { NULL },
};

/* ------------------------------------------------------------------ scheduler.step */

/* a float32 copy of a golden input tensor */
static float *
sched_input_floats (const GillCheckCase *c,
                    const gchar         *key,
                    GillTensor         **tensor,
                    GError             **error)
{
  *tensor = gill_check_input_tensor (c, key, error);
  if (*tensor == NULL)
    return NULL;
  float *v = g_new (float, MAX (gill_tensor_numel (*tensor), 1));
  gill_tensor_copy_f32 (*tensor, v);
  return v;
}

/* [count, shape of one sample] */
static GillTensor *
sched_stack_new (gint64            count,
                 const GillTensor *sample)
{
  gint64 shape[GILL_TENSOR_MAX_DIMS];
  gint n_dims = MIN (sample->n_dims + 1, GILL_TENSOR_MAX_DIMS);
  shape[0] = count;
  for (gint d = 1; d < n_dims; d++)
    shape[d] = sample->shape[d - 1];
  return gill_tensor_new_f32 (n_dims, shape);
}

static void
sched_set_timesteps_output (const GillScheduler *s,
                            GillCheckResults    *out)
{
  gint n = gill_scheduler_n_timesteps (s);
  if (gill_scheduler_timesteps_are_float (s))
    {
      gint64 shape[1] = { n };
      g_autoptr (GillTensor) t = gill_tensor_new_f32 (1, shape);
      for (gint i = 0; i < n; i++)
        gill_tensor_data_f32 (t)[i] = gill_scheduler_timestep (s, i);
      gill_check_results_set_tensor (out, "timesteps", t);
      return;
    }
  g_autofree gint64 *ints = g_new (gint64, MAX (n, 1));
  for (gint i = 0; i < n; i++)
    ints[i] = (gint64) gill_scheduler_timestep (s, i);
  gill_check_results_set_ints (out, "timesteps", ints, n);
}

static gboolean
run_scheduler_step (const GillCheckCase *c,
                    GillCheckResults    *out,
                    GError             **error)
{
  JsonNode *config = json_object_get_member (c->object, "scheduler_config");
  const gchar *name = gill_check_case_string (c, "scheduler");
  if (config == NULL || !JSON_NODE_HOLDS_OBJECT (config))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s/cases.json: case '%s' has no scheduler_config object",
                   c->folder, c->name);
      return FALSE;
    }
  gint64 n_steps;
  if (!gill_check_input_int (c, "num_inference_steps", &n_steps, error))
    return FALSE;
  g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (json_node_get_object (config), name, error);
  if (s == NULL || !gill_scheduler_set_timesteps (s, (gint) CLAMP (n_steps, 0, G_MAXINT), error))
    return FALSE;

  g_autoptr (GillTensor) x0 = NULL;
  g_autoptr (GillTensor) eps = NULL;
  g_autoptr (GillTensor) noises = NULL;
  g_autofree float *sample = sched_input_floats (c, "initial_sample", &x0, error);
  g_autofree float *model_outputs = sample ? sched_input_floats (c, "model_outputs", &eps, error) : NULL;
  if (model_outputs == NULL)
    return FALSE;
  g_autofree float *step_noises = NULL;
  if (gill_check_input (c, "step_noises") != NULL
      && (step_noises = sched_input_floats (c, "step_noises", &noises, error)) == NULL)
    return FALSE;

  gsize n = (gsize) gill_tensor_numel (x0);
  gint n_t = gill_scheduler_n_timesteps (s);
  if ((gsize) gill_tensor_numel (eps) < n * n_t
      || (noises != NULL && (gsize) gill_tensor_numel (noises) < n * n_t))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_SHAPE,
                   "%s: case '%s': model_outputs/step_noises hold fewer than %d timesteps of %" G_GSIZE_FORMAT " values",
                   c->folder, c->name, n_t, n);
      return FALSE;
    }

  g_autoptr (GillTensor) scaled = sched_stack_new (n_t, x0);
  g_autoptr (GillTensor) prev = sched_stack_new (n_t, x0);
  float sigma0 = gill_scheduler_init_noise_sigma (s);
  for (gsize k = 0; k < n; k++)
    sample[k] = sample[k] * sigma0;
  for (gint i = 0; i < n_t; i++)
    {
      gill_scheduler_scale_model_input (s, i, sample, gill_tensor_data_f32 (scaled) + (gsize) i * n, n);
      if (!gill_scheduler_step (s, i, model_outputs + (gsize) i * n, sample, n, NULL,
                                step_noises ? step_noises + (gsize) i * n : NULL, error))
        return FALSE;
      memcpy (gill_tensor_data_f32 (prev) + (gsize) i * n, sample, n * sizeof (float));
    }

  sched_set_timesteps_output (s, out);
  gill_check_results_set_double (out, "init_noise_sigma", sigma0);
  gint n_sigmas;
  const float *sigmas = gill_scheduler_sigmas (s, &n_sigmas);
  if (sigmas != NULL)
    {
      gint64 shape[1] = { n_sigmas };
      g_autoptr (GillTensor) t = gill_tensor_new_f32 (1, shape);
      memcpy (gill_tensor_data_f32 (t), sigmas, (gsize) n_sigmas * sizeof (float));
      gill_check_results_set_tensor (out, "sigmas", t);
    }
  gill_check_results_set_tensor (out, "scaled_model_inputs", scaled);
  gill_check_results_set_tensor (out, "prev_samples", prev);
  return TRUE;
}

const GillCheckKind gill_check_kinds_sched[] = {
  { "scheduler.step", run_scheduler_step, NULL },
  { NULL },
};
