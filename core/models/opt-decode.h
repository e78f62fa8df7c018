/* opt-decode.h — generating with OPT: the decode loop over the KV cache, greedy or temperature +
 * top-p sampling with a seeded generator, and the logits processing GILL needs.
 *
 * References: transformers 4.30.2 GenerationMixin.greedy_search (argmax, first index on ties,
 * stop after eos); GILL's GILLModel.generate (kohjingyu/gill, gill/models.py; reference/gill.md
 * §4.3): per step, ban the [IMG1..7] logits, replace the [IMG0] logit by |logit| x factor (or ban it
 * for the first min_word_tokens steps), logits / temperature, keep the smallest set of tokens whose
 * probability sum exceeds top_p, draw from exp (logits); when [IMG0] is chosen, all eight [IMG]
 * tokens are appended at once.
 *
 *   GillOptLogitRule rules[] = { { GILL_OPT_RULE_BAN, 50267, 0, -1 }, ...,
 *                                { GILL_OPT_RULE_SCALE_ABS, 50266, 16, -1, 1000.0f } };
 *   GillOptGenerateParams p;
 *   gill_opt_generate_params_init (&p);            // greedy, 20 steps, no eos stop
 *   p.rules = rules; p.n_rules = G_N_ELEMENTS (rules);
 *   g_autoptr (GillOptGeneration) g = gill_opt_generate (w, state, &prompt, &p, &error); */
#pragma once

#include <glib.h>

#include "core/models/opt.h"

G_BEGIN_DECLS

typedef enum
{
  GILL_OPT_RULE_BAN,       /* logit = -inf */
  GILL_OPT_RULE_SCALE_ABS, /* logit = |logit| x factor (GILL's ret/gen_scale_factor on [IMG0]) */
} GillOptRuleKind;

typedef struct
{
  GillOptRuleKind kind;
  gint64 token;      /* the logit it changes */
  gint64 from_step;  /* it applies at steps from_step <= step < to_step */
  gint64 to_step;    /* -1: to the end */
  float factor;      /* SCALE_ABS */
} GillOptLogitRule;

typedef struct
{
  gint64 trigger;        /* when this token is chosen ... */
  const gint64 *tokens;  /* ... these are appended instead, in one step (GILL: [IMG0] .. [IMG7]) */
  gsize n_tokens;
} GillOptForcedRun;

/* a further logits processor, run after the rules; FALSE + error stops the generation */
typedef gboolean (*GillOptLogitsFunc) (float        *logits,
                                       gint64        n_vocab,
                                       gint64        step,
                                       const gint64 *generated,
                                       gint64        n_generated,
                                       gpointer      user_data,
                                       GError      **error);

typedef struct
{
  gint64 max_new_tokens;        /* steps; a forced run counts as one (GILL's num_words) */
  float temperature;            /* 0 = greedy */
  float top_p;                  /* 1 = no nucleus filtering (sampling only) */
  guint64 seed;                 /* the sampler's generator */
  gint64 eos_token_id;          /* stop after generating it; -1 = never (GILL) */
  const GillOptLogitRule *rules;
  gsize n_rules;
  const GillOptForcedRun *forced;
  gsize n_forced;
  GillOptLogitsFunc logits_func;
  gpointer logits_data;
  gboolean keep_hidden;         /* collect every fed position's lm_head input */
  GillProgressFunc progress;    /* after each step ("decode"); FALSE cancels */
  gpointer progress_data;
} GillOptGenerateParams;

typedef struct
{
  GArray *tokens;               /* gint64: the new tokens, forced runs included */
  GArray *step_max_logit;       /* float: the largest processed logit of each step */
  GArray *hidden;               /* float [positions fed, n_word_embd] when keep_hidden: the prompt,
                                 * then each fed token (the last step's choice is never fed) */
} GillOptGeneration;

/* the sampler: xoshiro256** seeded through splitmix64 (not torch's generator) */
typedef struct
{
  guint64 s[4];
} GillOptRandom;

void               gill_opt_random_init          (GillOptRandom *random,
                                                  guint64        seed);
/* uniform in [0, 1) with 53 random bits */
double             gill_opt_random_uniform       (GillOptRandom *random);

void               gill_opt_generate_params_init (GillOptGenerateParams *params);
/* the rules, then the hook, over one step's logits in place */
gboolean           gill_opt_process_logits       (const GillOptGenerateParams *params,
                                                  float                       *logits,
                                                  gint64                       n_vocab,
                                                  gint64                       step,
                                                  const gint64                *generated,
                                                  gint64                       n_generated,
                                                  GError                     **error);
/* argmax (temperature 0; the first index on ties), else a draw after temperature and top-p;
 * scratch holds 2 x n_vocab floats/ints (see gill_opt_generate) */
gint64             gill_opt_choose_token         (const float   *logits,
                                                  gint64         n_vocab,
                                                  float          temperature,
                                                  float          top_p,
                                                  GillOptRandom *random,
                                                  float         *probs,
                                                  gint64        *order);
/* decode from a one-sequence prompt (ids or embeddings, no mask); resets the state first */
GillOptGeneration *gill_opt_generate             (const GillOptWeights        *weights,
                                                  GillOptState                *state,
                                                  const GillOptInput          *prompt,
                                                  const GillOptGenerateParams *params,
                                                  GError                     **error);
void               gill_opt_generation_free      (GillOptGeneration *generation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillOptGeneration, gill_opt_generation_free)

G_END_DECLS
