/* scheduler.h — the Stable Diffusion noise schedulers of diffusers 0.17.1.
 *
 * PNDM (PLMS, SD1.5's own), DDIM (eta 0), Euler, Euler ancestral and DPM-Solver++ 2M, each built
 * from a parsed scheduler_config.json. Usage, as StableDiffusionPipeline.__call__ does:
 *
 *   g_autoptr (GillScheduler) s = gill_scheduler_new_from_json (config, NULL, &error); // _class_name
 *   gill_scheduler_set_timesteps (s, 50, &error);
 *   gill_rng_randn (rng, latents, n);
 *   for (gsize k = 0; k < n; k++) latents[k] *= gill_scheduler_init_noise_sigma (s);
 *   for (gint i = 0; i < gill_scheduler_n_timesteps (s); i++)
 *     {
 *       float t = gill_scheduler_timestep (s, i);                       // what the UNet gets
 *       gill_scheduler_scale_model_input (s, i, x_in, x_in, 2 * n);      // both CFG halves
 *       ... eps = unet (x_in, t); eps = u + 7.5 (c - u) ...
 *       gill_scheduler_step (s, i, eps, latents, n, rng, NULL, &error);  // latents in place
 *     }
 *
 * Steps must run in order i = 0, 1, … after set_timesteps (PNDM and DPM-Solver keep a history of
 * model outputs); set_timesteps starts over. All arrays are float32, any layout (elementwise). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/rng.h"

G_BEGIN_DECLS

typedef enum
{
  GILL_SCHEDULER_PNDM,            /* PNDMScheduler, skip_prk_steps (PLMS) */
  GILL_SCHEDULER_DDIM,            /* DDIMScheduler, eta 0 */
  GILL_SCHEDULER_EULER,           /* EulerDiscreteScheduler */
  GILL_SCHEDULER_EULER_ANCESTRAL, /* EulerAncestralDiscreteScheduler */
  GILL_SCHEDULER_DPMPP_2M,        /* DPMSolverMultistepScheduler, dpmsolver++ order 2 */
  GILL_SCHEDULER_N_KINDS
} GillSchedulerKind;

typedef struct _GillScheduler GillScheduler;

/* "pndm", "ddim", "euler", "euler-a" / "euler_ancestral", "dpmpp-2m" / "dpmsolver_multistep",
 * or a diffusers class name ("PNDMScheduler", …); unknown -> GILL_ERROR_UNSUPPORTED listing them */
gboolean      gill_scheduler_kind_from_name    (const gchar       *name,
                                                GillSchedulerKind *kind,
                                                GError           **error);
const gchar  *gill_scheduler_kind_name         (GillSchedulerKind  kind);  /* "pndm", "euler-a", … */
const gchar  *gill_scheduler_kind_class_name   (GillSchedulerKind  kind);  /* "PNDMScheduler", … */

/* config = scheduler_config.json (borrowed); kind_or_name NULL = the config's _class_name.
 * (transfer full), or NULL with GILL_ERROR_UNSUPPORTED (unknown class, unsupported option value)
 * or GILL_ERROR_FORMAT (a member of the wrong type) */
GillScheduler *gill_scheduler_new_from_json    (JsonObject        *config,
                                                const gchar       *kind_or_name,
                                                GError           **error);
void          gill_scheduler_free              (GillScheduler     *s);
GillSchedulerKind gill_scheduler_get_kind      (const GillScheduler *s);

/* the inference schedule; n_steps >= 1 (0 -> GILL_ERROR_INVALID_ARGUMENT); resets the history */
gboolean      gill_scheduler_set_timesteps     (GillScheduler     *s,
                                                gint               n_steps,
                                                GError           **error);
/* UNet evaluations: n_steps, or n_steps + 1 for PNDM (the second timestep repeats) */
gint          gill_scheduler_n_timesteps       (const GillScheduler *s);
/* the UNet's t for evaluation i: an integer for PNDM/DDIM/DPM, fractional for the Euler ones */
float         gill_scheduler_timestep          (const GillScheduler *s,
                                                gint               i);
gboolean      gill_scheduler_timesteps_are_float (const GillScheduler *s); /* TRUE for Euler, Euler-a */
float         gill_scheduler_init_noise_sigma  (const GillScheduler *s);
/* the Euler ones' sigma table (n_timesteps + 1 values, the last 0); NULL for the others */
const float  *gill_scheduler_sigmas            (const GillScheduler *s,
                                                gint              *n_sigmas);

/* out = scale_model_input (sample, t_i); out may equal sample */
void          gill_scheduler_scale_model_input (const GillScheduler *s,
                                                gint               i,
                                                const float       *sample,
                                                float             *out,
                                                gsize              n);
/* sample <- step (model_output, t_i, sample).prev_sample. Euler ancestral's noise comes from
 * `noise` when given (n values), else from `rng` (randn of n, as diffusers' generator draw);
 * one of them is required (GILL_ERROR_INVALID_ARGUMENT). Euler draws and discards n values
 * from `rng` when one is given, as diffusers 0.17.1 does. Out of order i or a changed n ->
 * GILL_ERROR_INVALID_ARGUMENT. */
gboolean      gill_scheduler_step              (GillScheduler     *s,
                                                gint               i,
                                                const float       *model_output,
                                                float             *sample,
                                                gsize              n,
                                                GillRng           *rng,
                                                const float       *noise,
                                                GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillScheduler, gill_scheduler_free)

G_END_DECLS
