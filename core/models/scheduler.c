/* scheduler.c — the Stable Diffusion schedulers of diffusers 0.17.1, in float32 as torch runs them.
 *
 * Mirrors, in huggingface/diffusers v0.17.1, src/diffusers/schedulers/:
 *   scheduling_pndm.py                      PNDMScheduler (skip_prk_steps: PLMS)
 *   scheduling_ddim.py                      DDIMScheduler (eta 0)
 *   scheduling_euler_discrete.py            EulerDiscreteScheduler
 *   scheduling_euler_ancestral_discrete.py  EulerAncestralDiscreteScheduler
 *   scheduling_dpmsolver_multistep.py       DPMSolverMultistepScheduler (orders 1–2)
 * and each class's __init__ defaults for members a config leaves out (ConfigMixin.from_config).
 *
 * Where float32 versus float64 matters, the reference's choice is replicated:
 *   - betas: torch.linspace float32 (torch 1.13's CPU kernel: start + step i for the first half,
 *     end - step (n - 1 - i) for the second, 8-wide vector blocks whose lanes add k step to the
 *     block's base, FMA-contracted as torch's AVX2 build is; see sched_linspace_f32), then squared
 *     in float32;
 *   - alphas_cumprod: torch.cumprod on float32, which accumulates in double on the CPU
 *     (aten/src/ATen/native/cpu/ReduceOpsKernel.cpp, acc_type<float> = double) and rounds each
 *     partial product to float32;
 *   - Euler sigmas: sqrt ((1 - ᾱ) / ᾱ) as float32 tensor ops, np.interp in float64 at the float64
 *     np.linspace timesteps, cast to float32;
 *   - DPM-Solver timesteps: np.linspace (float64) then np.round (half to even);
 *   - every step: float32 tensor ops, one rounding per torch op, in the reference's order.
 * The schedulers never read files: they take a parsed scheduler_config.json. */
#include "core/models/scheduler.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"

#define SCHED_MAX_ETS 4          /* PLMS uses the last four model outputs */

typedef enum
{
  SCHED_PREDICT_EPSILON,
  SCHED_PREDICT_V,
  SCHED_PREDICT_SAMPLE,
} SchedPrediction;

typedef enum
{
  SCHED_SPACING_LEADING,
  SCHED_SPACING_TRAILING,
} SchedSpacing;

typedef struct
{
  const gchar *class_name;
  const gchar *name;             /* the CLI's name */
  const gchar *alias;            /* the fixtures' name, or NULL */
} SchedKindInfo;

static const SchedKindInfo sched_kinds[GILL_SCHEDULER_N_KINDS] = {
  [GILL_SCHEDULER_PNDM] = { "PNDMScheduler", "pndm", NULL },
  [GILL_SCHEDULER_DDIM] = { "DDIMScheduler", "ddim", NULL },
  [GILL_SCHEDULER_EULER] = { "EulerDiscreteScheduler", "euler", NULL },
  [GILL_SCHEDULER_EULER_ANCESTRAL] = { "EulerAncestralDiscreteScheduler", "euler-a", "euler_ancestral" },
  [GILL_SCHEDULER_DPMPP_2M] = { "DPMSolverMultistepScheduler", "dpmpp-2m", "dpmsolver_multistep" },
};

/* the config, with each class's defaults filled in */
typedef struct
{
  gint num_train_timesteps;      /* T */
  gint steps_offset;             /* PNDM, DDIM "leading" */
  gboolean set_alpha_to_one;     /* PNDM, DDIM: final ᾱ = 1 instead of ᾱ_0 */
  SchedPrediction prediction_type;
  gboolean clip_sample;          /* DDIM */
  float clip_sample_range;       /* DDIM */
  SchedSpacing timestep_spacing; /* DDIM (the only one with the option in 0.17.1) */
  gint solver_order;             /* DPM: 1 or 2 */
  gboolean dpmsolver_plus_plus;  /* DPM algorithm_type: "dpmsolver++" (data prediction) or "dpmsolver" */
  gboolean solver_heun;          /* DPM solver_type: "heun" or "midpoint" */
  gboolean lower_order_final;    /* DPM */
  double lambda_min_clipped;     /* DPM; -inf = no clipping */
} SchedConfig;

struct _GillScheduler
{
  GillSchedulerKind kind;
  SchedConfig config;

  /* training schedule, [T] each */
  float *alphas_cumprod;         /* ᾱ_t */
  float final_alpha_cumprod;     /* ᾱ for "t < 0" (PNDM, DDIM) */
  float *train_sigmas;           /* Euler: sqrt ((1 - ᾱ_t) / ᾱ_t) */
  float *dpm_alpha;              /* DPM: α_t = sqrt ᾱ_t */
  float *dpm_sigma;              /* DPM: σ_t = sqrt (1 - ᾱ_t) */
  float *dpm_lambda;             /* DPM: λ_t = log α_t - log σ_t */
  float init_noise_sigma;

  /* inference schedule (set_timesteps) */
  gint num_inference_steps;      /* 0 until set_timesteps */
  gint n_timesteps;
  float *timesteps;              /* [n_timesteps], what the UNet gets */
  gint64 *int_timesteps;         /* [n_timesteps], PNDM / DDIM / DPM */
  float *sigmas;                 /* Euler: [n_timesteps + 1], last 0 */

  /* running state */
  gint next_step;                /* the i step () expects */
  gsize n;                       /* elements per sample, fixed by the first step */
  float *ets[SCHED_MAX_ETS];     /* PNDM: model outputs, ets[0] newest */
  gint n_ets;
  float *cur_sample;             /* PNDM: x saved at counter 0 */
  float *x0_prev;                /* DPM: the previous converted model output */
  float *x0_cur;                 /* DPM: this step's */
  gint lower_order_nums;         /* DPM */
  float *scratch;                /* [n] drawn noise / combined eps */
};

/* ------------------------------------------------------------------ names */

const gchar *
gill_scheduler_kind_name (GillSchedulerKind kind)
{
  g_return_val_if_fail (kind < GILL_SCHEDULER_N_KINDS, NULL);
  return sched_kinds[kind].name;
}

const gchar *
gill_scheduler_kind_class_name (GillSchedulerKind kind)
{
  g_return_val_if_fail (kind < GILL_SCHEDULER_N_KINDS, NULL);
  return sched_kinds[kind].class_name;
}

gboolean
gill_scheduler_kind_from_name (const gchar       *name,
                               GillSchedulerKind *kind,
                               GError           **error)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  for (guint k = 0; k < GILL_SCHEDULER_N_KINDS; k++)
    {
      const SchedKindInfo *info = &sched_kinds[k];
      if (g_str_equal (name, info->name) || g_str_equal (name, info->class_name)
          || (info->alias != NULL && g_str_equal (name, info->alias)))
        {
          *kind = (GillSchedulerKind) k;
          return TRUE;
        }
    }
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "scheduler '%s' is not supported; supported: pndm (PNDMScheduler), ddim (DDIMScheduler), "
               "euler (EulerDiscreteScheduler), euler-a (EulerAncestralDiscreteScheduler), "
               "dpmpp-2m (DPMSolverMultistepScheduler)", name);
  return FALSE;
}

/* ------------------------------------------------------------------ config members */

static gboolean
config_type_error (const gchar *key,
                   const gchar *expected,
                   GError     **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
               "scheduler_config: \"%s\" is not %s", key, expected);
  return FALSE;
}

/* the member, or NULL when absent or null (the class default applies) */
static JsonNode *
config_member (JsonObject  *config,
               const gchar *key)
{
  JsonNode *node = json_object_get_member (config, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static gboolean
config_double (JsonObject  *config,
               const gchar *key,
               double       fallback,
               double      *out,
               GError     **error)
{
  JsonNode *node = config_member (config, key);
  *out = fallback;
  if (node == NULL)
    return TRUE;
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return config_type_error (key, "a number", error);
  return TRUE;
}

static gboolean
config_int (JsonObject  *config,
            const gchar *key,
            gint         fallback,
            gint        *out,
            GError     **error)
{
  JsonNode *node = config_member (config, key);
  *out = fallback;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return config_type_error (key, "an integer", error);
  gint64 v = json_node_get_int (node);
  if (v < G_MININT || v > G_MAXINT)
    return config_type_error (key, "an integer in range", error);
  *out = (gint) v;
  return TRUE;
}

static gboolean
config_bool (JsonObject  *config,
             const gchar *key,
             gboolean     fallback,
             gboolean    *out,
             GError     **error)
{
  JsonNode *node = config_member (config, key);
  *out = fallback;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return config_type_error (key, "true or false", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
config_string (JsonObject   *config,
               const gchar  *key,
               const gchar  *fallback,
               const gchar **out,
               GError      **error)
{
  JsonNode *node = config_member (config, key);
  *out = fallback;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return config_type_error (key, "a string", error);
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
config_unsupported (GillSchedulerKind kind,
                    const gchar      *key,
                    const gchar      *value,
                    const gchar      *supported,
                    GError          **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
               "scheduler_config: %s with %s = %s is not supported (supported: %s)",
               sched_kinds[kind].class_name, key, value, supported);
  return FALSE;
}

/* ------------------------------------------------------------------ training schedule */

/* torch.linspace (start, end, steps, dtype=float32) as torch 1.13's AVX2 CPU kernel computes it
 * (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp linspace_kernel, run by
 * cpu_serial_kernel_vec in blocks of two 8-wide vectors, the tail scalar): the first half
 * is start + step i, the second end - step (steps - 1 - i); a vector block takes that base at its
 * first index and adds k step per lane (Vectorized<float>::arange). GCC contracts each of these
 * multiply-adds into an FMA in that build. */
static void
sched_linspace_f32 (double start_d,
                    double end_d,
                    gint   steps,
                    float *out)
{
  const gint vec = 8;
  float start = (float) start_d;
  float end = (float) end_d;
  if (steps == 1)
    {
      out[0] = start;
      return;
    }
  float step = (end - start) / (float) (steps - 1);
  gint halfway = steps / 2;
  gint vector_end = steps / (2 * vec) * (2 * vec);
  for (gint b = 0; b < vector_end; b += vec)
    {
      float base = b < halfway ? fmaf (step, (float) b, start)
                               : fmaf (-step, (float) (steps - b - 1), end);
      out[b] = base;
      out[b + 1] = base + step;
      for (gint k = 2; k < vec; k++)
        out[b + k] = fmaf ((float) k, step, base);
    }
  for (gint i = vector_end; i < steps; i++)
    out[i] = i < halfway ? fmaf (step, (float) i, start)
                         : fmaf (-step, (float) (steps - i - 1), end);
}

/* betas_for_alpha_bar (T) with the squared cosine of Nichol & Dhariwal, in float64, max 0.999 */
static double
sched_alpha_bar (double t)
{
  double c = cos ((t + 0.008) / 1.008 * G_PI / 2.0);
  return c * c;
}

/* the betas a config asks for, float32 [T] */
static gboolean
sched_betas (GillSchedulerKind kind,
             JsonObject       *config,
             gint              T,
             float            *betas,
             GError          **error)
{
  JsonNode *trained = config_member (config, "trained_betas");
  if (trained != NULL)
    {
      /* torch.tensor (trained_betas, dtype=torch.float32) */
      if (!JSON_NODE_HOLDS_ARRAY (trained))
        return config_type_error ("trained_betas", "a list of numbers", error);
      JsonArray *list = json_node_get_array (trained);
      if ((gint) json_array_get_length (list) != T)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "scheduler_config: \"trained_betas\" has %u values, num_train_timesteps is %d",
                       json_array_get_length (list), T);
          return FALSE;
        }
      for (gint t = 0; t < T; t++)
        {
          JsonNode *v = json_array_get_element (list, t);
          if (!JSON_NODE_HOLDS_VALUE (v) || (json_node_get_value_type (v) != G_TYPE_DOUBLE
                                             && json_node_get_value_type (v) != G_TYPE_INT64))
            return config_type_error ("trained_betas", "a list of numbers", error);
          betas[t] = (float) json_node_get_double (v);
        }
      return TRUE;
    }

  const gchar *schedule;
  double beta_start, beta_end;
  if (!config_string (config, "beta_schedule", "linear", &schedule, error)
      || !config_double (config, "beta_start", 0.0001, &beta_start, error)
      || !config_double (config, "beta_end", 0.02, &beta_end, error))
    return FALSE;
  if (g_str_equal (schedule, "linear"))
    {
      sched_linspace_f32 (beta_start, beta_end, T, betas);
    }
  else if (g_str_equal (schedule, "scaled_linear"))
    {
      /* torch.linspace (beta_start**0.5, beta_end**0.5, T, float32) ** 2 */
      sched_linspace_f32 (sqrt (beta_start), sqrt (beta_end), T, betas);
      for (gint t = 0; t < T; t++)
        betas[t] = betas[t] * betas[t];
    }
  else if (g_str_equal (schedule, "squaredcos_cap_v2"))
    {
      for (gint t = 0; t < T; t++)
        {
          double ratio = sched_alpha_bar ((double) (t + 1) / T) / sched_alpha_bar ((double) t / T);
          betas[t] = (float) MIN (1.0 - ratio, 0.999);
        }
    }
  else
    return config_unsupported (kind, "beta_schedule", schedule,
                               "linear, scaled_linear, squaredcos_cap_v2", error);
  return TRUE;
}

/* ᾱ = torch.cumprod (1 - betas): float32 factors, a double running product, float32 outputs */
static void
sched_cumprod (const float *betas,
               gint         T,
               float       *alphas_cumprod)
{
  double product = 1.0;
  for (gint t = 0; t < T; t++)
    {
      float alpha = 1.0f - betas[t];
      product *= alpha;
      alphas_cumprod[t] = (float) product;
    }
}

/* rescale_zero_terminal_snr (betas) of scheduling_ddim.py, float32 tensor ops: shift and scale
 * sqrt ᾱ so that its last value is 0 and its first unchanged, then back to betas */
static void
sched_rescale_zero_terminal_snr (float *betas,
                                 gint   T)
{
  g_autofree float *bar_sqrt = g_new (float, T);
  sched_cumprod (betas, T, bar_sqrt);
  for (gint t = 0; t < T; t++)
    bar_sqrt[t] = sqrtf (bar_sqrt[t]);
  float first = bar_sqrt[0];
  float last = bar_sqrt[T - 1];
  float scale = first / (first - last);
  for (gint t = 0; t < T; t++)
    {
      float shifted = bar_sqrt[t] - last;
      float scaled = shifted * scale;
      bar_sqrt[t] = scaled * scaled;   /* now ᾱ */
    }
  for (gint t = T - 1; t >= 1; t--)
    betas[t] = 1.0f - bar_sqrt[t] / bar_sqrt[t - 1];
  betas[0] = 1.0f - bar_sqrt[0];
}

/* ------------------------------------------------------------------ construction */

static gboolean
sched_read_prediction (GillSchedulerKind kind,
                       JsonObject       *config,
                       SchedPrediction  *out,
                       GError          **error)
{
  const gchar *prediction;
  if (!config_string (config, "prediction_type", "epsilon", &prediction, error))
    return FALSE;
  if (g_str_equal (prediction, "epsilon"))
    *out = SCHED_PREDICT_EPSILON;
  else if (g_str_equal (prediction, "v_prediction"))
    *out = SCHED_PREDICT_V;
  else if (g_str_equal (prediction, "sample")
           && (kind == GILL_SCHEDULER_DDIM || kind == GILL_SCHEDULER_EULER || kind == GILL_SCHEDULER_DPMPP_2M))
    *out = SCHED_PREDICT_SAMPLE;
  else if (g_str_equal (prediction, "original_sample") && kind == GILL_SCHEDULER_EULER)
    *out = SCHED_PREDICT_SAMPLE;
  else
    return config_unsupported (kind, "prediction_type", prediction,
                               kind == GILL_SCHEDULER_PNDM || kind == GILL_SCHEDULER_EULER_ANCESTRAL
                               ? "epsilon, v_prediction" : "epsilon, v_prediction, sample", error);
  return TRUE;
}

/* a boolean option this port only runs with one value */
static gboolean
sched_require_bool (GillSchedulerKind kind,
                    JsonObject       *config,
                    const gchar      *key,
                    gboolean          fallback,
                    gboolean          required,
                    GError          **error)
{
  gboolean value;
  if (!config_bool (config, key, fallback, &value, error))
    return FALSE;
  if (value != required)
    return config_unsupported (kind, key, value ? "true" : "false", required ? "true" : "false", error);
  return TRUE;
}

/* each class's __init__ signature and defaults (diffusers 0.17.1) */
static gboolean
sched_read_config (GillSchedulerKind kind,
                   JsonObject       *config,
                   SchedConfig      *c,
                   GError          **error)
{
  memset (c, 0, sizeof *c);
  c->lambda_min_clipped = -INFINITY;
  if (!config_int (config, "num_train_timesteps", 1000, &c->num_train_timesteps, error)
      || !sched_read_prediction (kind, config, &c->prediction_type, error))
    return FALSE;
  if (c->num_train_timesteps < 2)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "scheduler_config: num_train_timesteps = %d; expected at least 2", c->num_train_timesteps);
      return FALSE;
    }

  switch (kind)
    {
    case GILL_SCHEDULER_PNDM:
      return config_int (config, "steps_offset", 0, &c->steps_offset, error)
             && config_bool (config, "set_alpha_to_one", FALSE, &c->set_alpha_to_one, error)
             && sched_require_bool (kind, config, "skip_prk_steps", FALSE, TRUE, error);

    case GILL_SCHEDULER_DDIM:
      {
        double range;
        const gchar *spacing;
        if (!config_int (config, "steps_offset", 0, &c->steps_offset, error)
            || !config_bool (config, "set_alpha_to_one", TRUE, &c->set_alpha_to_one, error)
            || !config_bool (config, "clip_sample", TRUE, &c->clip_sample, error)
            || !config_double (config, "clip_sample_range", 1.0, &range, error)
            || !sched_require_bool (kind, config, "thresholding", FALSE, FALSE, error)
            || !config_string (config, "timestep_spacing", "leading", &spacing, error))
          return FALSE;
        c->clip_sample_range = (float) range;
        if (g_str_equal (spacing, "leading"))
          c->timestep_spacing = SCHED_SPACING_LEADING;
        else if (g_str_equal (spacing, "trailing"))
          c->timestep_spacing = SCHED_SPACING_TRAILING;
        else
          return config_unsupported (kind, "timestep_spacing", spacing, "leading, trailing", error);
        return TRUE;
      }

    case GILL_SCHEDULER_EULER:
      {
        const gchar *interpolation;
        if (!config_string (config, "interpolation_type", "linear", &interpolation, error)
            || !sched_require_bool (kind, config, "use_karras_sigmas", FALSE, FALSE, error))
          return FALSE;
        if (!g_str_equal (interpolation, "linear"))
          return config_unsupported (kind, "interpolation_type", interpolation, "linear", error);
        return TRUE;
      }

    case GILL_SCHEDULER_EULER_ANCESTRAL:
      return TRUE;

    case GILL_SCHEDULER_DPMPP_2M:
      {
        const gchar *algorithm, *solver, *variance;
        if (!config_int (config, "solver_order", 2, &c->solver_order, error)
            || !config_string (config, "algorithm_type", "dpmsolver++", &algorithm, error)
            || !config_string (config, "solver_type", "midpoint", &solver, error)
            || !config_bool (config, "lower_order_final", TRUE, &c->lower_order_final, error)
            || !config_double (config, "lambda_min_clipped", -INFINITY, &c->lambda_min_clipped, error)
            || !config_string (config, "variance_type", NULL, &variance, error)
            || !sched_require_bool (kind, config, "thresholding", FALSE, FALSE, error)
            || !sched_require_bool (kind, config, "use_karras_sigmas", FALSE, FALSE, error))
          return FALSE;
        if (c->solver_order != 1 && c->solver_order != 2)
          {
            g_autofree gchar *order = g_strdup_printf ("%d", c->solver_order);
            return config_unsupported (kind, "solver_order", order, "1, 2", error);
          }
        /* __init__ maps "deis" to dpmsolver++ and the UniPC solver types to midpoint */
        if (g_str_equal (algorithm, "dpmsolver++") || g_str_equal (algorithm, "deis"))
          c->dpmsolver_plus_plus = TRUE;
        else if (!g_str_equal (algorithm, "dpmsolver"))
          return config_unsupported (kind, "algorithm_type", algorithm, "dpmsolver++, dpmsolver", error);
        if (g_str_equal (solver, "heun"))
          c->solver_heun = TRUE;
        else if (!g_str_equal (solver, "midpoint") && !g_str_equal (solver, "logrho")
                 && !g_str_equal (solver, "bh1") && !g_str_equal (solver, "bh2"))
          return config_unsupported (kind, "solver_type", solver, "midpoint, heun", error);
        if (variance != NULL)
          return config_unsupported (kind, "variance_type", variance, "null", error);
        return TRUE;
      }

    case GILL_SCHEDULER_N_KINDS:
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* the tables each kind derives from ᾱ */
static void
sched_build_tables (GillScheduler *s)
{
  gint T = s->config.num_train_timesteps;
  s->final_alpha_cumprod = s->config.set_alpha_to_one ? 1.0f : s->alphas_cumprod[0];
  s->init_noise_sigma = 1.0f;

  if (s->kind == GILL_SCHEDULER_EULER || s->kind == GILL_SCHEDULER_EULER_ANCESTRAL)
    {
      /* sigmas = ((1 - ᾱ) / ᾱ) ** 0.5 as float32 tensor ops; init_noise_sigma = their max */
      s->train_sigmas = g_new (float, T);
      s->init_noise_sigma = 0.0f;
      for (gint t = 0; t < T; t++)
        {
          float ratio = (1.0f - s->alphas_cumprod[t]) / s->alphas_cumprod[t];
          s->train_sigmas[t] = sqrtf (ratio);
          s->init_noise_sigma = MAX (s->init_noise_sigma, s->train_sigmas[t]);
        }
    }

  if (s->kind == GILL_SCHEDULER_DPMPP_2M)
    {
      /* alpha_t = sqrt (ᾱ), sigma_t = sqrt (1 - ᾱ), lambda_t = log alpha_t - log sigma_t */
      s->dpm_alpha = g_new (float, T);
      s->dpm_sigma = g_new (float, T);
      s->dpm_lambda = g_new (float, T);
      for (gint t = 0; t < T; t++)
        {
          s->dpm_alpha[t] = sqrtf (s->alphas_cumprod[t]);
          s->dpm_sigma[t] = sqrtf (1.0f - s->alphas_cumprod[t]);
          s->dpm_lambda[t] = logf (s->dpm_alpha[t]) - logf (s->dpm_sigma[t]);
        }
    }
}

GillScheduler *
gill_scheduler_new_from_json (JsonObject  *config,
                              const gchar *kind_or_name,
                              GError     **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  const gchar *name = kind_or_name;
  if (name == NULL && !config_string (config, "_class_name", NULL, &name, error))
    return NULL;
  if (name == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "scheduler_config: no \"_class_name\" and no scheduler named; "
                   "name one of pndm, ddim, euler, euler-a, dpmpp-2m");
      return NULL;
    }
  GillSchedulerKind kind;
  if (!gill_scheduler_kind_from_name (name, &kind, error))
    return NULL;

  g_autoptr (GillScheduler) s = g_new0 (GillScheduler, 1);
  s->kind = kind;
  if (!sched_read_config (kind, config, &s->config, error))
    return NULL;

  gint T = s->config.num_train_timesteps;
  g_autofree float *betas = g_new (float, T);
  gboolean rescale = FALSE;
  if (!sched_betas (kind, config, T, betas, error)
      || (kind == GILL_SCHEDULER_DDIM && !config_bool (config, "rescale_betas_zero_snr", FALSE, &rescale, error)))
    return NULL;
  if (rescale)
    sched_rescale_zero_terminal_snr (betas, T);
  s->alphas_cumprod = g_new (float, T);
  sched_cumprod (betas, T, s->alphas_cumprod);
  sched_build_tables (s);
  return g_steal_pointer (&s);
}

static void
sched_free_buffers (GillScheduler *s)
{
  for (guint k = 0; k < SCHED_MAX_ETS; k++)
    g_clear_pointer (&s->ets[k], g_free);
  g_clear_pointer (&s->cur_sample, g_free);
  g_clear_pointer (&s->x0_prev, g_free);
  g_clear_pointer (&s->x0_cur, g_free);
  g_clear_pointer (&s->scratch, g_free);
  s->n = 0;
}

void
gill_scheduler_free (GillScheduler *s)
{
  if (s == NULL)
    return;
  sched_free_buffers (s);
  g_free (s->alphas_cumprod);
  g_free (s->train_sigmas);
  g_free (s->dpm_alpha);
  g_free (s->dpm_sigma);
  g_free (s->dpm_lambda);
  g_free (s->timesteps);
  g_free (s->int_timesteps);
  g_free (s->sigmas);
  g_free (s);
}

GillSchedulerKind
gill_scheduler_get_kind (const GillScheduler *s)
{
  g_return_val_if_fail (s != NULL, GILL_SCHEDULER_PNDM);
  return s->kind;
}

/* ------------------------------------------------------------------ set_timesteps */

/* PNDMScheduler.set_timesteps, skip_prk_steps: base = round (arange (N) (T // N)) + offset, then
 * base[:-1] ++ base[-2:-1] ++ base[-1:], reversed: the second-highest step is repeated */
static gint
sched_timesteps_pndm (const GillScheduler *s,
                      gint                 N,
                      gint64              *out)
{
  gint64 ratio = s->config.num_train_timesteps / N;
  g_autofree gint64 *base = g_new (gint64, N);
  for (gint k = 0; k < N; k++)
    base[k] = k * ratio + s->config.steps_offset;
  gint n = 0;
  g_autofree gint64 *plms = g_new (gint64, N + 1);
  for (gint k = 0; k < N - 1; k++)
    plms[n++] = base[k];
  if (N >= 2)
    plms[n++] = base[N - 2];
  plms[n++] = base[N - 1];
  for (gint k = 0; k < n; k++)
    out[k] = plms[n - 1 - k];
  return n;
}

/* DDIMScheduler.set_timesteps: "leading" = round (arange (N) (T // N))[::-1] + offset;
 * "trailing" = round (arange (T, 0, -T / N)) - 1 */
static gint
sched_timesteps_ddim (const GillScheduler *s,
                      gint                 N,
                      gint64              *out)
{
  gint T = s->config.num_train_timesteps;
  if (s->config.timestep_spacing == SCHED_SPACING_LEADING)
    {
      gint64 ratio = T / N;
      for (gint k = 0; k < N; k++)
        out[k] = (gint64) (N - 1 - k) * ratio + s->config.steps_offset;
      return N;
    }
  /* np.arange (T, 0, -ratio) with a float step: ceil (T / ratio) values T - k ratio. Where
   * T / ratio rounds above N (N = 3, T = 1000), numpy makes one more, whose timestep is -1
   * (python then wraps the index to the end); that stray value is left out here. */
  double ratio = (double) T / N;
  gint n = MIN ((gint) ceil ((double) T / ratio), N);
  for (gint k = 0; k < n; k++)
    out[k] = (gint64) nearbyint ((double) T - k * ratio) - 1;
  return n;
}

/* DPMSolverMultistepScheduler.set_timesteps: clipped_idx = searchsorted (flip (λ), λ_min);
 * round (np.linspace (0, T - 1 - clipped_idx, N + 1))[::-1][:-1], duplicates dropped */
static gint
sched_timesteps_dpm (const GillScheduler *s,
                     gint                 N,
                     gint64              *out)
{
  gint T = s->config.num_train_timesteps;
  gint clipped = 0;
  while (clipped < T && s->dpm_lambda[T - 1 - clipped] < s->config.lambda_min_clipped)
    clipped++;
  double stop = (double) (T - 1 - clipped);
  double step = stop / N;                   /* np.linspace: i * (stop / N), the last = stop */
  gint n = 0;
  for (gint k = N; k >= 1; k--)
    {
      double value = k == N ? stop : k * step;
      gint64 t = (gint64) nearbyint (value);
      gboolean seen = FALSE;
      for (gint j = 0; j < n; j++)
        seen = seen || out[j] == t;
      if (!seen)
        out[n++] = t;
    }
  return n;
}

/* np.interp (x, arange (T), table) in float64: fp[j] + slope (x - j) inside, ends exact */
static double
sched_interp (const float *table,
              gint         T,
              double       x)
{
  if (x <= 0.0)
    return table[0];
  if (x >= T - 1)
    return table[T - 1];
  gint j = (gint) floor (x);
  if ((double) j == x)
    return table[j];
  double slope = (double) table[j + 1] - (double) table[j];   /* over xp[j + 1] - xp[j] = 1 */
  return slope * (x - j) + table[j];
}

/* EulerDiscreteScheduler / EulerAncestralDiscreteScheduler.set_timesteps:
 * t = np.linspace (0, T - 1, N)[::-1] (float64); σ (t) by np.interp over the training sigmas
 * (float32 values, interpolated in float64, cast to float32), then 0 appended */
static void
sched_timesteps_euler (GillScheduler *s,
                       gint           N)
{
  gint T = s->config.num_train_timesteps;
  double step = N > 1 ? (double) (T - 1) / (N - 1) : 0.0;
  for (gint k = 0; k < N; k++)
    {
      gint i = N - 1 - k;                      /* index into the ascending linspace */
      double t = (N > 1 && i == N - 1) ? (double) (T - 1) : i * step;
      s->timesteps[k] = (float) t;
      s->sigmas[k] = (float) sched_interp (s->train_sigmas, T, t);
    }
  s->sigmas[N] = 0.0f;
}

gboolean
gill_scheduler_set_timesteps (GillScheduler *s,
                              gint           n_steps,
                              GError       **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  gint T = s->config.num_train_timesteps;
  if (n_steps < 1 || n_steps > T)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "%s: %d inference steps requested; expected 1 to num_train_timesteps (%d)",
                   sched_kinds[s->kind].class_name, n_steps, T);
      return FALSE;
    }
  g_clear_pointer (&s->timesteps, g_free);
  g_clear_pointer (&s->int_timesteps, g_free);
  g_clear_pointer (&s->sigmas, g_free);
  sched_free_buffers (s);
  s->next_step = 0;
  s->n_ets = 0;
  s->lower_order_nums = 0;
  s->num_inference_steps = n_steps;

  /* the trailing DDIM spacing can give at most T values; PNDM N + 1 */
  gint capacity = MAX (n_steps + 1, T);
  s->timesteps = g_new0 (float, capacity);
  s->int_timesteps = g_new0 (gint64, capacity);
  switch (s->kind)
    {
    case GILL_SCHEDULER_PNDM:
      s->n_timesteps = sched_timesteps_pndm (s, n_steps, s->int_timesteps);
      break;
    case GILL_SCHEDULER_DDIM:
      s->n_timesteps = sched_timesteps_ddim (s, n_steps, s->int_timesteps);
      break;
    case GILL_SCHEDULER_DPMPP_2M:
      s->n_timesteps = sched_timesteps_dpm (s, n_steps, s->int_timesteps);
      break;
    case GILL_SCHEDULER_EULER:
    case GILL_SCHEDULER_EULER_ANCESTRAL:
      s->n_timesteps = n_steps;
      s->sigmas = g_new0 (float, n_steps + 1);
      sched_timesteps_euler (s, n_steps);
      break;
    case GILL_SCHEDULER_N_KINDS:
    default:
      g_assert_not_reached ();
    }
  if (s->kind != GILL_SCHEDULER_EULER && s->kind != GILL_SCHEDULER_EULER_ANCESTRAL)
    for (gint k = 0; k < s->n_timesteps; k++)
      {
        /* a large steps_offset can push a timestep past the table (diffusers: IndexError) */
        if (s->int_timesteps[k] < 0 || s->int_timesteps[k] >= T)
          {
            g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                         "%s: %d steps with steps_offset %d give timestep %" G_GINT64_FORMAT
                         ", outside 0..%d", sched_kinds[s->kind].class_name, n_steps,
                         s->config.steps_offset, s->int_timesteps[k], T - 1);
            s->num_inference_steps = 0;
            s->n_timesteps = 0;
            return FALSE;
          }
        s->timesteps[k] = (float) s->int_timesteps[k];
      }
  return TRUE;
}

gint
gill_scheduler_n_timesteps (const GillScheduler *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->num_inference_steps > 0 ? s->n_timesteps : 0;
}

float
gill_scheduler_timestep (const GillScheduler *s,
                         gint                 i)
{
  g_return_val_if_fail (s != NULL && s->timesteps != NULL, 0.0f);
  g_return_val_if_fail (i >= 0 && i < s->n_timesteps, 0.0f);
  return s->timesteps[i];
}

gboolean
gill_scheduler_timesteps_are_float (const GillScheduler *s)
{
  g_return_val_if_fail (s != NULL, FALSE);
  return s->kind == GILL_SCHEDULER_EULER || s->kind == GILL_SCHEDULER_EULER_ANCESTRAL;
}

float
gill_scheduler_init_noise_sigma (const GillScheduler *s)
{
  g_return_val_if_fail (s != NULL, 1.0f);
  return s->init_noise_sigma;
}

const float *
gill_scheduler_sigmas (const GillScheduler *s,
                       gint                *n_sigmas)
{
  g_return_val_if_fail (s != NULL, NULL);
  if (n_sigmas != NULL)
    *n_sigmas = s->sigmas != NULL ? s->n_timesteps + 1 : 0;
  return s->sigmas;
}

/* ------------------------------------------------------------------ scale_model_input */

/* Euler / Euler ancestral: x / ((σ² + 1) ** 0.5), float32; the others: the identity */
void
gill_scheduler_scale_model_input (const GillScheduler *s,
                                  gint                 i,
                                  const float         *sample,
                                  float               *out,
                                  gsize                n)
{
  g_return_if_fail (s != NULL && s->timesteps != NULL);
  g_return_if_fail (i >= 0 && i < s->n_timesteps);
  if (s->sigmas == NULL)
    {
      if (out != sample)
        memmove (out, sample, n * sizeof (float));
      return;
    }
  float sigma = s->sigmas[i];
  float denom = sqrtf (sigma * sigma + 1.0f);
  for (gsize k = 0; k < n; k++)
    out[k] = sample[k] / denom;
}

/* ------------------------------------------------------------------ step: PNDM (PLMS) */

/* PNDMScheduler._get_prev_sample, formula (9) of the PNDM paper, float32:
 *   x' = (ᾱ'/ᾱ)^½ x - (ᾱ' - ᾱ) e / (ᾱ (1 - ᾱ')^½ + (ᾱ (1 - ᾱ) ᾱ')^½) */
static void
pndm_prev_sample (const GillScheduler *s,
                  gint64               t,
                  gint64               t_prev,
                  const float         *x,
                  const float         *e,
                  float               *out,
                  gsize                n)
{
  float alpha = s->alphas_cumprod[t];
  float alpha_prev = t_prev >= 0 ? s->alphas_cumprod[t_prev] : s->final_alpha_cumprod;
  float beta = 1.0f - alpha;
  float beta_prev = 1.0f - alpha_prev;
  float sample_coeff = sqrtf (alpha_prev / alpha);
  float denom = alpha * sqrtf (beta_prev) + sqrtf (alpha * beta * alpha_prev);
  float diff = alpha_prev - alpha;
  for (gsize k = 0; k < n; k++)
    {
      float eps = e[k];
      if (s->config.prediction_type == SCHED_PREDICT_V)
        eps = sqrtf (alpha) * e[k] + sqrtf (beta) * x[k];   /* v -> epsilon */
      out[k] = sample_coeff * x[k] - diff * eps / denom;
    }
}

/* push a model output onto the history (ets[0] = newest) */
static void
pndm_push_ets (GillScheduler *s,
               const float   *model_output)
{
  float *oldest = s->ets[SCHED_MAX_ETS - 1];
  memmove (&s->ets[1], &s->ets[0], (SCHED_MAX_ETS - 1) * sizeof (float *));
  s->ets[0] = oldest;
  memcpy (s->ets[0], model_output, s->n * sizeof (float));
  s->n_ets = MIN (s->n_ets + 1, SCHED_MAX_ETS);
}

/* PNDMScheduler.step_plms: the counter is the step index */
static void
pndm_step (GillScheduler *s,
           gint           i,
           const float   *model_output,
           float         *sample)
{
  gsize n = s->n;
  gint64 ratio = s->config.num_train_timesteps / s->num_inference_steps;
  gint64 t = s->int_timesteps[i];
  gint64 t_prev = t - ratio;
  float *e = s->scratch;

  if (i != 1)
    pndm_push_ets (s, model_output);
  else
    {
      t_prev = t;               /* redo the first step from the saved sample */
      t = t + ratio;
    }

  const float *x = sample;
  if (s->n_ets == 1 && i == 0)
    {
      memcpy (e, model_output, n * sizeof (float));
      memcpy (s->cur_sample, sample, n * sizeof (float));
    }
  else if (s->n_ets == 1 && i == 1)
    {
      for (gsize k = 0; k < n; k++)
        e[k] = (model_output[k] + s->ets[0][k]) / 2.0f;
      x = s->cur_sample;
    }
  else if (s->n_ets == 2)
    {
      for (gsize k = 0; k < n; k++)
        e[k] = (3.0f * s->ets[0][k] - s->ets[1][k]) / 2.0f;
    }
  else if (s->n_ets == 3)
    {
      for (gsize k = 0; k < n; k++)
        e[k] = (23.0f * s->ets[0][k] - 16.0f * s->ets[1][k] + 5.0f * s->ets[2][k]) / 12.0f;
    }
  else
    {
      const float inv24 = (float) (1.0 / 24.0);
      for (gsize k = 0; k < n; k++)
        e[k] = inv24 * (55.0f * s->ets[0][k] - 59.0f * s->ets[1][k] + 37.0f * s->ets[2][k]
                        - 9.0f * s->ets[3][k]);
    }
  pndm_prev_sample (s, t, t_prev, x, e, sample, n);
}

/* ------------------------------------------------------------------ step: DDIM */

/* DDIMScheduler.step, eta = 0: x̂0 from the prediction, optional clip, then
 * x' = ᾱ_prev^½ x̂0 + (1 - ᾱ_prev)^½ ε̂ */
static void
ddim_step (GillScheduler *s,
           gint           i,
           const float   *model_output,
           float         *sample)
{
  gint64 t = s->int_timesteps[i];
  gint64 t_prev = t - s->config.num_train_timesteps / s->num_inference_steps;
  float alpha = s->alphas_cumprod[t];
  float alpha_prev = t_prev >= 0 ? s->alphas_cumprod[t_prev] : s->final_alpha_cumprod;
  float beta = 1.0f - alpha;
  float sqrt_alpha = sqrtf (alpha);
  float sqrt_beta = sqrtf (beta);
  float sqrt_alpha_prev = sqrtf (alpha_prev);
  float direction_coeff = sqrtf (1.0f - alpha_prev - 0.0f);   /* std_dev_t = eta σ = 0 */
  float range = s->config.clip_sample_range;
  for (gsize k = 0; k < s->n; k++)
    {
      float x = sample[k];
      float m = model_output[k];
      float x0, eps;
      switch (s->config.prediction_type)
        {
        case SCHED_PREDICT_V:
          x0 = sqrt_alpha * x - sqrt_beta * m;
          eps = sqrt_alpha * m + sqrt_beta * x;
          break;
        case SCHED_PREDICT_SAMPLE:
          x0 = m;
          eps = (x - sqrt_alpha * x0) / sqrt_beta;
          break;
        case SCHED_PREDICT_EPSILON:
        default:
          x0 = (x - sqrt_beta * m) / sqrt_alpha;
          eps = m;
          break;
        }
      if (s->config.clip_sample)
        x0 = CLAMP (x0, -range, range);
      sample[k] = sqrt_alpha_prev * x0 + direction_coeff * eps;
    }
}

/* ------------------------------------------------------------------ step: Euler, Euler ancestral */

/* EulerDiscreteScheduler.step with s_churn = 0 (γ = 0, σ̂ = σ):
 * x̂0 = x - σ̂ ε; d = (x - x̂0) / σ̂; x' = x + d (σ_next - σ̂) */
static void
euler_step (GillScheduler *s,
            gint           i,
            const float   *model_output,
            float         *sample)
{
  float sigma_hat = s->sigmas[i];             /* σ̂ = σ (γ + 1), γ = 0 */
  float dt = s->sigmas[i + 1] - sigma_hat;
  float v_scale = -sigma_hat / sqrtf (sigma_hat * sigma_hat + 1.0f);
  float v_denom = sigma_hat * sigma_hat + 1.0f;
  for (gsize k = 0; k < s->n; k++)
    {
      float x = sample[k];
      float x0;
      switch (s->config.prediction_type)
        {
        case SCHED_PREDICT_V:
          x0 = model_output[k] * v_scale + x / v_denom;
          break;
        case SCHED_PREDICT_SAMPLE:
          x0 = model_output[k];
          break;
        case SCHED_PREDICT_EPSILON:
        default:
          x0 = x - sigma_hat * model_output[k];
          break;
        }
      float derivative = (x - x0) / sigma_hat;
      sample[k] = x + derivative * dt;
    }
}

/* EulerAncestralDiscreteScheduler.step:
 * σ_up = (σ_to² (σ_from² - σ_to²) / σ_from²)^½, σ_down = (σ_to² - σ_up²)^½,
 * x' = x + (x - x̂0) / σ (σ_down - σ) + noise σ_up */
static void
euler_ancestral_step (GillScheduler *s,
                      gint           i,
                      const float   *model_output,
                      float         *sample,
                      const float   *noise)
{
  float sigma = s->sigmas[i];
  float sigma_from = sigma;
  float sigma_to = s->sigmas[i + 1];
  float to2 = sigma_to * sigma_to;
  float from2 = sigma_from * sigma_from;
  float sigma_up = sqrtf (to2 * (from2 - to2) / from2);
  float sigma_down = sqrtf (to2 - sigma_up * sigma_up);
  float dt = sigma_down - sigma;
  float v_scale = -sigma / sqrtf (sigma * sigma + 1.0f);
  float v_denom = sigma * sigma + 1.0f;
  for (gsize k = 0; k < s->n; k++)
    {
      float x = sample[k];
      float x0 = s->config.prediction_type == SCHED_PREDICT_V
                 ? model_output[k] * v_scale + x / v_denom
                 : x - sigma * model_output[k];
      float derivative = (x - x0) / sigma;
      float prev = x + derivative * dt;
      sample[k] = prev + noise[k] * sigma_up;
    }
}

/* ------------------------------------------------------------------ step: DPM-Solver multistep */

/* torch.exp on a float32 tensor (even 0-d) runs vml::vexp -> Vectorized<float>::exp () ->
 * Sleef_expf8_u10 on AVX2, which can differ from libm's expf by an ulp. This is SLEEF's xexpf
 * (sleefsimdsp.c) lane by lane: q = rint (d / ln 2), s = d - q ln 2 in two parts, a degree-6
 * polynomial by FMAs, u = 1 + (s² u + s), scaled by 2^q in two halves. */
static float
sched_torch_expf (float d)
{
  if (d < -104.0f)
    return 0.0f;
  if (d > 100.0f)
    return INFINITY;
  gint q = (gint) nearbyintf (d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
  float s = fmaf ((float) q, -0.693145751953125f, d);
  s = fmaf ((float) q, -1.428606765330187045e-06f, s);
  float u = 0.000198527617612853646278381f;
  u = fmaf (u, s, 0.00139304355252534151077271f);
  u = fmaf (u, s, 0.00833336077630519866943359f);
  u = fmaf (u, s, 0.0416664853692054748535156f);
  u = fmaf (u, s, 0.166666671633720397949219f);
  u = fmaf (u, s, 0.5f);
  u = 1.0f + fmaf (s * s, u, s);
  gint q_half = (gint) floor (q / 2.0);                     /* q >> 1 */
  return u * ldexpf (1.0f, q_half) * ldexpf (1.0f, q - q_half);
}

/* DPMSolverMultistepScheduler.convert_model_output: x̂0 for dpmsolver++, ε for dpmsolver */
static void
dpm_convert_model_output (const GillScheduler *s,
                          gint64               t,
                          const float         *model_output,
                          const float         *sample,
                          float               *out)
{
  float alpha = s->dpm_alpha[t];
  float sigma = s->dpm_sigma[t];
  for (gsize k = 0; k < s->n; k++)
    {
      float x = sample[k];
      float m = model_output[k];
      switch (s->config.prediction_type)
        {
        case SCHED_PREDICT_V:
          out[k] = s->config.dpmsolver_plus_plus ? alpha * x - sigma * m : alpha * m + sigma * x;
          break;
        case SCHED_PREDICT_SAMPLE:
          out[k] = s->config.dpmsolver_plus_plus ? m : (x - alpha * m) / sigma;
          break;
        case SCHED_PREDICT_EPSILON:
        default:
          out[k] = s->config.dpmsolver_plus_plus ? (x - sigma * m) / alpha : m;
          break;
        }
    }
}

/* dpm_solver_first_order_update, h = λ_t - λ_s:
 *   ++: x' = (σ_t/σ_s) x - α_t (e^{-h} - 1) x̂0;   plain: x' = (α_t/α_s) x - σ_t (e^{h} - 1) ε */
static void
dpm_first_order (GillScheduler *s,
                 gint64         t,
                 gint64         t_s,
                 const float   *m0,
                 float         *sample)
{
  float h = s->dpm_lambda[t] - s->dpm_lambda[t_s];
  float sample_coeff, m_coeff;
  if (s->config.dpmsolver_plus_plus)
    {
      sample_coeff = s->dpm_sigma[t] / s->dpm_sigma[t_s];
      m_coeff = s->dpm_alpha[t] * (sched_torch_expf (-h) - 1.0f);
    }
  else
    {
      sample_coeff = s->dpm_alpha[t] / s->dpm_alpha[t_s];
      m_coeff = s->dpm_sigma[t] * (sched_torch_expf (h) - 1.0f);
    }
  for (gsize k = 0; k < s->n; k++)
    sample[k] = sample_coeff * sample[k] - m_coeff * m0[k];
}

/* multistep_dpm_solver_second_order_update from s1 -> s0 -> t, r0 = h_0 / h,
 * D0 = m0, D1 = (1 / r0) (m0 - m1); the midpoint or Heun combination of D0 and D1 */
static void
dpm_second_order (GillScheduler *s,
                  gint64         t,
                  gint64         s0,
                  gint64         s1,
                  const float   *m0,
                  const float   *m1,
                  float         *sample)
{
  float h = s->dpm_lambda[t] - s->dpm_lambda[s0];
  float h_0 = s->dpm_lambda[s0] - s->dpm_lambda[s1];
  float r0 = h_0 / h;
  float inv_r0 = 1.0f / r0;
  float sample_coeff, d0_coeff, d1_coeff;
  if (s->config.dpmsolver_plus_plus)
    {
      float phi = s->dpm_alpha[t] * (sched_torch_expf (-h) - 1.0f);
      sample_coeff = s->dpm_sigma[t] / s->dpm_sigma[s0];
      d0_coeff = phi;
      /* midpoint: - 0.5 phi D1; heun: + α_t ((e^{-h} - 1) / h + 1) D1 */
      d1_coeff = s->config.solver_heun ? -(s->dpm_alpha[t] * ((sched_torch_expf (-h) - 1.0f) / h + 1.0f)) : 0.5f * phi;
    }
  else
    {
      float phi = s->dpm_sigma[t] * (sched_torch_expf (h) - 1.0f);
      sample_coeff = s->dpm_alpha[t] / s->dpm_alpha[s0];
      d0_coeff = phi;
      /* midpoint: - 0.5 phi D1; heun: - σ_t ((e^{h} - 1) / h - 1) D1 */
      d1_coeff = s->config.solver_heun ? s->dpm_sigma[t] * ((sched_torch_expf (h) - 1.0f) / h - 1.0f) : 0.5f * phi;
    }
  for (gsize k = 0; k < s->n; k++)
    {
      float d1 = inv_r0 * (m0[k] - m1[k]);
      sample[k] = sample_coeff * sample[k] - d0_coeff * m0[k] - d1_coeff * d1;
    }
}

/* DPMSolverMultistepScheduler.step: convert, shift the history, first order at the start (and
 * at the end when lower_order_final and fewer than 15 steps), second order otherwise. In 0.17.1
 * the last step goes to t = 0, not to a clean sample. */
static void
dpm_step (GillScheduler *s,
          gint           i,
          const float   *model_output,
          float         *sample)
{
  gint last = s->n_timesteps - 1;
  gint64 t = s->int_timesteps[i];
  gint64 t_prev = i == last ? 0 : s->int_timesteps[i + 1];
  gboolean lower_order_final = i == last && s->config.lower_order_final && s->n_timesteps < 15;

  dpm_convert_model_output (s, t, model_output, sample, s->x0_cur);
  if (s->config.solver_order == 1 || s->lower_order_nums < 1 || lower_order_final)
    dpm_first_order (s, t_prev, t, s->x0_cur, sample);
  else
    dpm_second_order (s, t_prev, t, s->int_timesteps[i - 1], s->x0_cur, s->x0_prev, sample);
  if (s->lower_order_nums < s->config.solver_order)
    s->lower_order_nums++;

  float *swap = s->x0_prev;      /* model_outputs[-2] <- model_outputs[-1] */
  s->x0_prev = s->x0_cur;
  s->x0_cur = swap;
}

/* ------------------------------------------------------------------ step */

/* the running buffers for samples of n elements, made at the first step */
static void
sched_ensure_buffers (GillScheduler *s,
                      gsize          n)
{
  if (s->n == n)
    return;
  sched_free_buffers (s);
  s->n = n;
  s->scratch = g_new0 (float, n);
  if (s->kind == GILL_SCHEDULER_PNDM)
    {
      for (guint k = 0; k < SCHED_MAX_ETS; k++)
        s->ets[k] = g_new0 (float, n);
      s->cur_sample = g_new0 (float, n);
    }
  if (s->kind == GILL_SCHEDULER_DPMPP_2M)
    {
      s->x0_prev = g_new0 (float, n);
      s->x0_cur = g_new0 (float, n);
    }
}

gboolean
gill_scheduler_step (GillScheduler *s,
                     gint           i,
                     const float   *model_output,
                     float         *sample,
                     gsize          n,
                     GillRng       *rng,
                     const float   *noise,
                     GError       **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (model_output != NULL && sample != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  const gchar *class_name = sched_kinds[s->kind].class_name;

  if (s->num_inference_steps == 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "%s: step before set_timesteps", class_name);
      return FALSE;
    }
  if (i != s->next_step || i >= s->n_timesteps)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "%s: step %d requested, expected step %d of %d (steps run in order after set_timesteps)",
                   class_name, i, s->next_step, s->n_timesteps);
      return FALSE;
    }
  if (n == 0 || (i > 0 && n != s->n))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "%s: step %d on %" G_GSIZE_FORMAT " elements; the run started with %" G_GSIZE_FORMAT,
                   class_name, i, n, s->n);
      return FALSE;
    }
  if (s->kind == GILL_SCHEDULER_EULER_ANCESTRAL && noise == NULL && rng == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "%s: step %d needs noise: pass a generator or a noise buffer", class_name, i);
      return FALSE;
    }
  sched_ensure_buffers (s, n);

  switch (s->kind)
    {
    case GILL_SCHEDULER_PNDM:
      pndm_step (s, i, model_output, sample);
      break;
    case GILL_SCHEDULER_DDIM:
      ddim_step (s, i, model_output, sample);
      break;
    case GILL_SCHEDULER_EULER:
      /* 0.17.1 draws randn_tensor every step even with s_churn = 0 (then unused) */
      if (rng != NULL)
        gill_rng_randn (rng, s->scratch, n);
      euler_step (s, i, model_output, sample);
      break;
    case GILL_SCHEDULER_EULER_ANCESTRAL:
      if (noise == NULL)
        {
          gill_rng_randn (rng, s->scratch, n);
          noise = s->scratch;
        }
      euler_ancestral_step (s, i, model_output, sample, noise);
      break;
    case GILL_SCHEDULER_DPMPP_2M:
      dpm_step (s, i, model_output, sample);
      break;
    case GILL_SCHEDULER_N_KINDS:
    default:
      g_assert_not_reached ();
    }
  s->next_step++;
  return TRUE;
}
