/* opt-decode.c — the OPT decode loop: logits rules and hook, greedy / top-p choice, KV cache.
 *
 * References: transformers 4.30.2 generation/utils.py (GenerationMixin.greedy_search) and GILL's
 * GILLModel.generate (kohjingyu/gill gill/models.py), summarised in reference/gill.md §4.3. */
#include "core/models/opt-decode.h"

#include <math.h>
#include <string.h>

#include "core/base/error.h"

/* ------------------------------------------------------------------ the generator */

/* splitmix64 (Steele, Lea, Flood 2014): spreads a seed over the xoshiro state */
static guint64
random_splitmix (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline guint64
random_rotl (guint64 x,
             gint    k)
{
  return (x << k) | (x >> (64 - k));
}

void
gill_opt_random_init (GillOptRandom *random,
                      guint64        seed)
{
  for (gint i = 0; i < 4; i++)
    random->s[i] = random_splitmix (&seed);
}

/* xoshiro256** (Blackman, Vigna 2018) */
static guint64
random_next (GillOptRandom *r)
{
  guint64 result = random_rotl (r->s[1] * 5, 7) * 9;
  guint64 t = r->s[1] << 17;
  r->s[2] ^= r->s[0];
  r->s[3] ^= r->s[1];
  r->s[1] ^= r->s[2];
  r->s[0] ^= r->s[3];
  r->s[2] ^= t;
  r->s[3] = random_rotl (r->s[3], 45);
  return result;
}

double
gill_opt_random_uniform (GillOptRandom *random)
{
  return (double) (random_next (random) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------------ logits processing */

void
gill_opt_generate_params_init (GillOptGenerateParams *params)
{
  *params = (GillOptGenerateParams) {
    .max_new_tokens = 20, .temperature = 0.0f, .top_p = 1.0f, .seed = 0, .eos_token_id = -1,
  };
}

gboolean
gill_opt_process_logits (const GillOptGenerateParams *params,
                         float                       *logits,
                         gint64                       n_vocab,
                         gint64                       step,
                         const gint64                *generated,
                         gint64                       n_generated,
                         GError                     **error)
{
  for (gsize i = 0; i < params->n_rules; i++)
    {
      const GillOptLogitRule *rule = &params->rules[i];
      if (step < rule->from_step || (rule->to_step >= 0 && step >= rule->to_step))
        continue;
      if (rule->token < 0 || rule->token >= n_vocab)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "logits rule %" G_GSIZE_FORMAT ": token %" G_GINT64_FORMAT " is outside the vocabulary (0..%" G_GINT64_FORMAT ")",
                       i, rule->token, n_vocab - 1);
          return FALSE;
        }
      if (rule->kind == GILL_OPT_RULE_BAN)
        logits[rule->token] = -INFINITY;
      else
        logits[rule->token] = fabsf (logits[rule->token]) * rule->factor;
    }
  if (params->logits_func)
    return params->logits_func (logits, n_vocab, step, generated, n_generated, params->logits_data, error);
  return TRUE;
}

static gint
compare_desc (gconstpointer a,
              gconstpointer b,
              gpointer      data)
{
  const float *p = data;
  float x = p[*(const gint64 *) a], y = p[*(const gint64 *) b];
  return x > y ? -1 : x < y ? 1 : 0;
}

static gint64
argmax (const float *x,
        gint64       n)
{
  gint64 best = 0;
  for (gint64 i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

gint64
gill_opt_choose_token (const float   *logits,
                       gint64         n_vocab,
                       float          temperature,
                       float          top_p,
                       GillOptRandom *random,
                       float         *probs,
                       gint64        *order)
{
  /* greedy: the first index of the largest logit (torch.argmax) */
  if (temperature <= 0.0f)
    return argmax (logits, n_vocab);

  /* p ~ exp (logits / temperature), shifted by the max (same distribution, no overflow) */
  float max = logits[argmax (logits, n_vocab)];
  double sum = 0;
  for (gint64 i = 0; i < n_vocab; i++)
    {
      probs[i] = expf ((logits[i] - max) / temperature);
      sum += probs[i];
    }
  gint64 kept = n_vocab;
  for (gint64 i = 0; i < n_vocab; i++)
    order[i] = i;
  if (top_p < 1.0f)
    {
      /* GILL's nucleus: sorted descending, drop a token when the cumulative probability
       * *before* it already exceeds top_p (so the first token always stays) */
      g_qsort_with_data (order, n_vocab, sizeof (gint64), compare_desc, probs);
      double cum = 0;
      for (kept = 0; kept < n_vocab && (kept == 0 || cum <= top_p); kept++)
        cum += probs[order[kept]] / sum;
    }
  /* torch.multinomial over the unnormalised weights of the kept tokens */
  double total = 0;
  for (gint64 i = 0; i < kept; i++)
    total += probs[order[i]];
  double u = gill_opt_random_uniform (random) * total, acc = 0;
  for (gint64 i = 0; i < kept; i++)
    {
      acc += probs[order[i]];
      if (u < acc && probs[order[i]] > 0)
        return order[i];
    }
  /* rounding at the very end of the range: the last token with any weight */
  for (gint64 i = kept - 1; i > 0; i--)
    if (probs[order[i]] > 0)
      return order[i];
  return order[0];
}

/* ------------------------------------------------------------------ the loop */

void
gill_opt_generation_free (GillOptGeneration *generation)
{
  if (generation == NULL)
    return;
  g_array_unref (generation->tokens);
  g_array_unref (generation->step_max_logit);
  g_array_unref (generation->hidden);
  g_free (generation);
}

static const GillOptForcedRun *
forced_run (const GillOptGenerateParams *params,
            gint64                       token)
{
  for (gsize i = 0; i < params->n_forced; i++)
    if (params->forced[i].trigger == token)
      return &params->forced[i];
  return NULL;
}

/* one forward of n new positions (ids, or the prompt's input) with the last logits, and the
 * lm_head inputs appended to hidden when asked */
static gboolean
generate_feed (const GillOptWeights *w,
               GillOptState         *state,
               GillOptInput         *input,
               float                *logits,
               GArray               *hidden,
               float               **hidden_states,
               GError              **error)
{
  GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = logits };
  if (hidden)
    {
      guint at = hidden->len;
      g_array_set_size (hidden, at + input->seq * w->config.n_word_embd);
      hidden_states[w->config.n_layer] = &g_array_index (hidden, float, at);
      out.hidden_states = hidden_states;
    }
  return gill_opt_forward (w, state, input, &out, error);
}

GillOptGeneration *
gill_opt_generate (const GillOptWeights        *w,
                   GillOptState                *state,
                   const GillOptInput          *prompt,
                   const GillOptGenerateParams *params,
                   GError                     **error)
{
  g_return_val_if_fail (w != NULL && state != NULL && prompt != NULL && params != NULL, NULL);
  if (prompt->batch != 1 || prompt->attention_mask != NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "OPT generate: the prompt must be one sequence without padding");
      return NULL;
    }
  const gint64 V = w->n_vocab;
  g_autoptr (GillOptGeneration) g = g_new0 (GillOptGeneration, 1);
  g->tokens = g_array_new (FALSE, FALSE, sizeof (gint64));
  g->step_max_logit = g_array_new (FALSE, FALSE, sizeof (float));
  g->hidden = g_array_new (FALSE, FALSE, sizeof (float));
  g_autofree float *logits = g_new (float, V);
  g_autofree float *probs = params->temperature > 0 ? g_new (float, V) : NULL;
  g_autofree gint64 *order = params->temperature > 0 ? g_new (gint64, V) : NULL;
  g_autofree float **hidden_states = g_new0 (float *, w->config.n_layer + 1);
  GArray *hidden = params->keep_hidden ? g->hidden : NULL;
  GillOptRandom random;
  gill_opt_random_init (&random, params->seed);

  /* the prompt fills the cache and gives the first logits */
  gill_opt_state_reset (state);
  GillOptInput input = *prompt;
  input.progress = NULL;
  if (!generate_feed (w, state, &input, logits, hidden, hidden_states, error))
    return NULL;

  for (gint64 step = 0; step < params->max_new_tokens; step++)
    {
      /* rules and hook, then the choice */
      if (!gill_opt_process_logits (params, logits, V, step, (const gint64 *) (void *) g->tokens->data,
                                    g->tokens->len, error))
        return NULL;
      float max = logits[argmax (logits, V)];
      g_array_append_val (g->step_max_logit, max);
      gint64 token = gill_opt_choose_token (logits, V, params->temperature, params->top_p, &random, probs, order);
      /* the token, or the run it triggers */
      const GillOptForcedRun *run = forced_run (params, token);
      const gint64 *fed = run ? run->tokens : &token;
      gint64 n_fed = run ? (gint64) run->n_tokens : 1;
      g_array_append_vals (g->tokens, fed, n_fed);
      if ((params->eos_token_id >= 0 && token == params->eos_token_id) || step + 1 == params->max_new_tokens)
        break;
      /* feed them through the cache for the next step's logits */
      input = (GillOptInput) { .batch = 1, .seq = n_fed, .input_ids = fed };
      if (!generate_feed (w, state, &input, logits, hidden, hidden_states, error))
        return NULL;
      if (!gill_progress_report (params->progress, params->progress_data,
                                 (double) (step + 1) / params->max_new_tokens, "decode", error))
        return NULL;
    }
  return g_steal_pointer (&g);
}
