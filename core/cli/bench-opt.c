/* bench-opt.c — `gill bench opt`: OPT prefill and decode against what this machine can do.
 *
 * Random weights with a preset's real shapes are made in memory (no files), in the chosen dtype
 * (f16 and bf16 as the published checkpoints; f32; int8 = per-channel quantised linear layers).
 * Measured in the same run, so every figure has its limit beside it:
 *   sgemm GFLOP/s      gill_gemm at 128 x 4096 x 4096 and 128 x 16384 x 4096 (the prefill shapes)
 *   read bandwidth     summing a 1 GiB buffer on the worker pool's threads
 *   prefill            T tokens, logits of the last: tokens/s, GFLOP/s, fraction of the sgemm rate
 *   decode             s/token after the prefill, against weight bytes / bandwidth
 *   peak RSS           VmHWM, checked beforehand against MemAvailable */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/cli/bench.h"
#include "core/cli/cli.h"
#include "core/models/opt.h"
#include "core/ops/gemm.h"
#include "core/ops/matvec.h"
#include "core/ops/parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BENCH_HAVE_X86 1
#endif

/* ------------------------------------------------------------------ random data */

typedef struct
{
  guint8 *data;
  gsize n;          /* elements */
  GillDType dtype;  /* F32, F16, BF16 or I64 (token ids below vocab) */
  guint64 seed;
  gint64 vocab;
} FillJob;

/* xorshift64: fast enough that filling 13 GB takes seconds */
static inline guint64
fill_next (guint64 *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* values of magnitude 2^-7 .. 2^-6 with random sign and mantissa: like trained weights, never
 * inf or NaN, so the forward runs on ordinary numbers */
static void
fill_task (gint     task,
           gint     n_tasks,
           gpointer data)
{
  const FillJob *job = data;
  gsize a = job->n * task / n_tasks, b = job->n * (task + 1) / n_tasks;
  guint64 s = job->seed * 0x9e3779b97f4a7c15ull + (guint64) task * 0xbf58476d1ce4e5b9ull + 1;
  for (gsize i = a; i < b; i++)
    {
      guint64 r = fill_next (&s);
      switch (job->dtype)
        {
        case GILL_DTYPE_F16:
          ((guint16 *) job->data)[i] = (guint16) ((r & 0x83ff) | 0x2000);
          break;
        case GILL_DTYPE_BF16:
          ((guint16 *) job->data)[i] = (guint16) ((r & 0x807f) | 0x3c00);
          break;
        case GILL_DTYPE_I64:
          ((gint64 *) job->data)[i] = (gint64) (r % (guint64) job->vocab);
          break;
        default:
          ((float *) job->data)[i] = gill_f16_to_f32 ((guint16) ((r & 0x83ff) | 0x2000));
          break;
        }
    }
}

static void
fill_random (void     *data,
             gsize     n,
             GillDType dtype,
             guint64   seed)
{
  FillJob job = { data, n, dtype, seed, 0 };
  gill_parallel_run (gill_parallel_threads (), fill_task, &job);
}

/* ------------------------------------------------------------------ random weights */

typedef struct
{
  GHashTable *tensors; /* name -> GillTensor (owned) */
  GHashTable *shared;  /* "rows x cols" -> GillTensor: int8 runs quantise one source per shape */
  GillDType dtype;
  gboolean share;
  guint64 seed;
} RandomWeights;

static void
random_weights_free (RandomWeights *r)
{
  g_hash_table_unref (r->tensors);
  g_hash_table_unref (r->shared);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RandomWeights, random_weights_free)

static GillTensor *
random_tensor (RandomWeights *r,
               GillDType      dtype,
               gint           n_dims,
               const gint64  *shape,
               GError       **error)
{
  gsize n = 1;
  for (gint i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];
  gsize bytes = n * gill_dtype_size (dtype);
  guint8 *data = g_try_malloc (MAX (bytes, 1));
  if (data == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_OUT_OF_MEMORY, "cannot allocate %.2f GB of random weights",
                   bytes / 1e9);
      return NULL;
    }
  fill_random (data, n, dtype, ++r->seed);
  g_autoptr (GBytes) owner = g_bytes_new_take (data, bytes);
  return gill_tensor_new_view (dtype, n_dims, shape, NULL, data, owner);
}

static gboolean
random_add (RandomWeights *r,
            const gchar   *name,
            gint64         rows,
            gint64         cols, /* 0: a vector */
            GError       **error)
{
  gint64 shape[2] = { rows, cols };
  gint n_dims = cols ? 2 : 1;
  /* vectors in f32 (they are widened at bind anyway); int8 runs share one matrix per shape */
  GillDType dtype = cols ? r->dtype : GILL_DTYPE_F32;
  g_autofree gchar *key = g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, rows, cols);
  GillTensor *t = cols && r->share ? g_hash_table_lookup (r->shared, key) : NULL;
  if (t)
    t = gill_tensor_ref (t);
  else if ((t = random_tensor (r, dtype, n_dims, shape, error)) == NULL)
    return FALSE;
  else if (cols && r->share)
    g_hash_table_insert (r->shared, g_strdup (key), gill_tensor_ref (t));
  g_hash_table_insert (r->tensors, g_strdup (name), t);
  return TRUE;
}

/* every decoder.* tensor of the config (models.md §1.5) */
static RandomWeights *
random_weights_new (const GillOptConfig *c,
                    GillDType            dtype,
                    GError             **error)
{
  g_autoptr (RandomWeights) r = g_new0 (RandomWeights, 1);
  r->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) gill_tensor_unref);
  r->shared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) gill_tensor_unref);
  r->dtype = dtype == GILL_DTYPE_I8 ? GILL_DTYPE_F16 : dtype;
  const gint64 E = c->n_embd, F = c->n_ffn, W = c->n_word_embd;
  /* embeddings are distinct even for int8 (the lm_head's copy is quantised from them) */
  if (!random_add (r, "decoder.embed_tokens.weight", c->vocab_size, W, error)
      || !random_add (r, "decoder.embed_positions.weight", c->n_ctx + GILL_OPT_POSITION_OFFSET, E, error))
    return NULL;
  r->share = dtype == GILL_DTYPE_I8;
  if (W != E && (!random_add (r, "decoder.project_in.weight", E, W, error)
                 || !random_add (r, "decoder.project_out.weight", W, E, error)))
    return NULL;
  if (!random_add (r, "decoder.final_layer_norm.weight", E, 0, error)
      || !random_add (r, "decoder.final_layer_norm.bias", E, 0, error))
    return NULL;
  static const gchar *const square[] = { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                         "self_attn.out_proj" };
  for (gint64 l = 0; l < c->n_layer; l++)
    {
      if (l % 8 == 0)
        gill_bench_progress ("random weights: layer %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT, l + 1, c->n_layer);
      for (gsize i = 0; i < G_N_ELEMENTS (square); i++)
        {
          g_autofree gchar *wn = g_strdup_printf ("decoder.layers.%" G_GINT64_FORMAT ".%s.weight", l, square[i]);
          g_autofree gchar *bn = g_strdup_printf ("decoder.layers.%" G_GINT64_FORMAT ".%s.bias", l, square[i]);
          if (!random_add (r, wn, E, E, error) || !random_add (r, bn, E, 0, error))
            return NULL;
        }
      const struct { const gchar *name; gint64 rows, cols; } rest[] = {
        { "fc1.weight", F, E }, { "fc1.bias", F, 0 }, { "fc2.weight", E, F }, { "fc2.bias", E, 0 },
        { "self_attn_layer_norm.weight", E, 0 }, { "self_attn_layer_norm.bias", E, 0 },
        { "final_layer_norm.weight", E, 0 }, { "final_layer_norm.bias", E, 0 },
      };
      for (gsize i = 0; i < G_N_ELEMENTS (rest); i++)
        {
          g_autofree gchar *n = g_strdup_printf ("decoder.layers.%" G_GINT64_FORMAT ".%s", l, rest[i].name);
          if (!random_add (r, n, rest[i].rows, rest[i].cols, error))
            return NULL;
        }
    }
  return g_steal_pointer (&r);
}

static GillTensor *
random_lookup (gconstpointer source,
               const gchar  *name)
{
  return g_hash_table_lookup (((const RandomWeights *) source)->tensors, name);
}

/* ------------------------------------------------------------------ limits */

/* the read-bandwidth buffer: twice the largest L3 we expect, so that it streams from memory
 * like the weights do */
#define BENCH_READ_BYTES ((gsize) 768 << 20)

typedef struct
{
  const guint8 *data;
  gsize bytes;
  double sums[64];
} ReadJob;

#ifdef BENCH_HAVE_X86
/* eight equal slices of [p, p + n) read side by side, 64 bytes of each per step (eight streams
 * per thread: one stream alone gets about half the bandwidth) */
__attribute__ ((target ("avx512f")))
static double
read_avx512 (const guint8 *p,
             gsize         n)
{
  gsize len = n / 8 / 64 * 64;
  __m512 acc[8];
  for (gint k = 0; k < 8; k++)
    acc[k] = _mm512_setzero_ps ();
  for (gsize i = 0; i < len; i += 64)
    for (gint k = 0; k < 8; k++)
      acc[k] = _mm512_add_ps (acc[k], _mm512_loadu_ps ((const float *) (p + k * len + i)));
  for (gint k = 1; k < 8; k++)
    acc[0] = _mm512_add_ps (acc[0], acc[k]);
  return _mm512_reduce_add_ps (acc[0]);
}

__attribute__ ((target ("avx2")))
static double
read_avx2 (const guint8 *p,
           gsize         n)
{
  gsize len = n / 8 / 64 * 64;
  __m256 acc[8];
  for (gint k = 0; k < 8; k++)
    acc[k] = _mm256_setzero_ps ();
  for (gsize i = 0; i < len; i += 64)
    for (gint k = 0; k < 8; k++)
      {
        const float *q = (const float *) (p + k * len + i);
        acc[k] = _mm256_add_ps (acc[k], _mm256_add_ps (_mm256_loadu_ps (q), _mm256_loadu_ps (q + 8)));
      }
  float out[8];
  for (gint k = 1; k < 8; k++)
    acc[0] = _mm256_add_ps (acc[0], acc[k]);
  _mm256_storeu_ps (out, acc[0]);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

static void
read_task (gint     task,
           gint     n_tasks,
           gpointer data)
{
  ReadJob *job = data;
  gsize a = job->bytes * task / n_tasks / 4096 * 4096, b = job->bytes * (task + 1) / n_tasks / 4096 * 4096;
#ifdef BENCH_HAVE_X86
  if (__builtin_cpu_supports ("avx512f"))
    {
      job->sums[task] = read_avx512 (job->data + a, b - a);
      return;
    }
  if (__builtin_cpu_supports ("avx2"))
    {
      job->sums[task] = read_avx2 (job->data + a, b - a);
      return;
    }
#endif
  double s = 0;
  for (gsize i = a; i + 4 <= b; i += 4)
    s += *(const float *) (job->data + i);
  job->sums[task] = s;
}

/* bytes per second reading `buf` on every pool thread: the best of `repetitions` */
static double
measure_bandwidth (const guint8 *buf,
                   gint          repetitions)
{
  ReadJob job = { buf, BENCH_READ_BYTES, { 0 } };
  double best = G_MAXDOUBLE;
  for (gint r = 0; r < repetitions; r++)
    {
      double t0 = gill_bench_now ();
      gill_parallel_run (gill_parallel_threads (), read_task, &job);
      best = MIN (best, gill_bench_now () - t0);
    }
  return BENCH_READ_BYTES / best;
}

/* GFLOP/s of gill_gemm for x [m, k] W^T with W [n, k], as a prefill linear layer: the best of
 * `repetitions` after one warm-up */
static double
measure_sgemm (gint64 m,
               gint64 n,
               gint64 k,
               gint   repetitions)
{
  g_autofree float *x = g_new (float, m * k);
  g_autofree float *w = g_new (float, n * k);
  g_autofree float *y = g_new (float, m * n);
  fill_random (x, m * k, GILL_DTYPE_F32, 11);
  fill_random (w, n * k, GILL_DTYPE_F32, 13);
  double best = G_MAXDOUBLE;
  for (gint r = -1; r < repetitions; r++)
    {
      double t0 = gill_bench_now ();
      gill_gemm (FALSE, TRUE, m, n, k, 1.0f, x, k, w, k, 0.0f, y, n);
      if (r >= 0)
        best = MIN (best, gill_bench_now () - t0);
    }
  return 2.0 * m * n * k / best / 1e9;
}

static guint64
mem_available (void)
{
  g_autofree gchar *meminfo = NULL;
  if (!g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL))
    return G_MAXUINT64;
  const gchar *line = strstr (meminfo, "MemAvailable:");
  return line ? (guint64) g_ascii_strtoull (line + 13, NULL, 10) * 1024 : G_MAXUINT64;
}

static gboolean
parse_dtype (const gchar *name,
             GillDType   *dtype)
{
  static const struct { const gchar *name; GillDType dtype; } names[] = {
    { "f16", GILL_DTYPE_F16 }, { "bf16", GILL_DTYPE_BF16 }, { "f32", GILL_DTYPE_F32 }, { "int8", GILL_DTYPE_I8 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i].name) == 0)
      {
        *dtype = names[i].dtype;
        return TRUE;
      }
  return FALSE;
}

/* ------------------------------------------------------------------ the benchmark */

/* Other processes come and go on a shared machine, so each timed run is paired with its limit
 * measured around it: the sgemm rate at the prefill's shapes just before and just after each
 * prefill, the read bandwidth just before and just after each decode token (the mean of the two).
 * Fractions are per run; the table gives their medians. */
typedef struct
{
  double *prefill;          /* seconds for T tokens, per run */
  double *prefill_fraction; /* achieved GFLOP/s / the sgemm rate measured around the run */
  double *sgemm;            /* that rate (GFLOP/s, FLOP-weighted over the two shapes) */
  double *sgemm_square;     /* at 128 x n_embd x n_embd */
  double *sgemm_ffn;        /* at 128 x n_ffn x n_embd */
  double *decode;           /* seconds per token */
  double *decode_ratio;     /* seconds / (weight bytes / bandwidth measured around the token) */
  double *bandwidth;        /* that bandwidth, bytes/s */
  double prefill_flops;     /* FLOPs of one prefill */
  guint64 decode_bytes;     /* weight bytes one decode token reads */
  gint64 model_rss;         /* resident bytes with the model loaded and run, no bench buffers */
} Timings;

static void
timings_free (Timings *t)
{
  g_free (t->prefill);
  g_free (t->prefill_fraction);
  g_free (t->sgemm);
  g_free (t->sgemm_square);
  g_free (t->sgemm_ffn);
  g_free (t->decode);
  g_free (t->decode_ratio);
  g_free (t->bandwidth);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Timings, timings_free)

static gboolean
run_model (const GillOptWeights *w,
           gint64                tokens,
           gint64                decode,
           gint                  repetitions,
           Timings              *t,
           GError              **error)
{
  const GillOptConfig *c = &w->config;
  g_autoptr (GillOptState) state = gill_opt_state_new (c, 1, tokens + decode + 1, error);
  if (state == NULL)
    return FALSE;
  g_autofree gint64 *ids = g_new (gint64, tokens + decode + 1);
  FillJob job = { (guint8 *) ids, tokens + decode + 1, GILL_DTYPE_I64, 5, c->vocab_size };
  fill_task (0, 1, &job);
  g_autofree float *logits = g_new (float, w->n_vocab);
  GillOptOutput out = { .logits_rows = GILL_OPT_LOGITS_LAST, .logits = logits };

  /* FLOPs: 2 per multiply-add of the linear layers, the attention (scores and weighted sum over
   * all T x T pairs, as computed) and the lm_head of the last position (models.md §5.2) */
  double T = tokens, E = c->n_embd, F = c->n_ffn;
  double flops_square = 2.0 * T * c->n_layer * 4 * E * E, flops_ffn = 2.0 * T * c->n_layer * 2 * E * F;
  double attention = 2.0 * 2 * T * T * E * c->n_layer;
  double head = 2.0 * w->n_vocab * c->n_word_embd + (c->n_word_embd != c->n_embd ? 2.0 * T * 2 * E * c->n_word_embd : 0);
  t->prefill_flops = flops_square + flops_ffn + attention + head;
  t->decode_bytes = gill_opt_weights_decode_bytes (w);

  /* prefill: a short warm-up (every code path, the scratch touched), then the timed runs, each
   * from an empty cache and each between two sgemm measurements */
  t->prefill = g_new (double, repetitions);
  t->prefill_fraction = g_new (double, repetitions);
  t->sgemm = g_new (double, repetitions);
  t->sgemm_square = g_new (double, repetitions);
  t->sgemm_ffn = g_new (double, repetitions);
  double square = 0, ffn = 0;
  for (gint r = -1; r < repetitions; r++)
    {
      gill_opt_state_reset (state);
      GillOptInput in = { .batch = 1, .seq = r < 0 ? MIN (tokens, 16) : tokens, .input_ids = ids };
      double t0 = gill_bench_now ();
      if (!gill_opt_forward (w, state, &in, &out, error))
        return FALSE;
      double s = gill_bench_now () - t0;
      /* the limit of run r: the mean of the measurements just before and just after it */
      double square_before = square, ffn_before = ffn;
      square = measure_sgemm (128, c->n_embd, c->n_embd, 2);
      ffn = measure_sgemm (128, c->n_ffn, c->n_embd, 2);
      if (r < 0)
        {
          gill_bench_progress ("prefill %" G_GINT64_FORMAT " tokens (warm-up): %.2f s", in.seq, s);
          continue;
        }
      t->sgemm_square[r] = 0.5 * (square_before + square);
      t->sgemm_ffn[r] = 0.5 * (ffn_before + ffn);
      t->sgemm[r] = (flops_square + flops_ffn) / (flops_square / t->sgemm_square[r] + flops_ffn / t->sgemm_ffn[r]);
      t->prefill[r] = s;
      t->prefill_fraction[r] = t->prefill_flops / s / 1e9 / t->sgemm[r];
      gill_bench_progress ("prefill %" G_GINT64_FORMAT " tokens: %.2f s, %.1f GFLOP/s; sgemm around it %.1f GFLOP/s: %.0f %%",
                           in.seq, s, t->prefill_flops / s / 1e9, t->sgemm[r], 100 * t->prefill_fraction[r]);
    }

  /* decode: one warm-up token, then `decode` timed tokens through the cache, each between two
   * bandwidth measurements (the buffer for them is the bench's, not the model's memory) */
  t->model_rss = gill_bench_current_rss ();
  g_autofree guint8 *buf = g_malloc (BENCH_READ_BYTES);
  fill_random (buf, BENCH_READ_BYTES / sizeof (float), GILL_DTYPE_F32, 7);
  t->decode = g_new (double, decode);
  t->decode_ratio = g_new (double, decode);
  t->bandwidth = g_new (double, decode);
  double bw = measure_bandwidth (buf, 2);
  for (gint64 i = -1; i < decode; i++)
    {
      GillOptInput in = { .batch = 1, .seq = 1, .input_ids = ids + tokens + i + 1 };
      double t0 = gill_bench_now ();
      if (!gill_opt_forward (w, state, &in, &out, error))
        return FALSE;
      double s = gill_bench_now () - t0;
      double bw_before = bw;
      bw = measure_bandwidth (buf, 2);
      if (i < 0)
        {
          gill_bench_progress ("decode token (warm-up): %.3f s", s);
          continue;
        }
      t->bandwidth[i] = 0.5 * (bw_before + bw);
      t->decode[i] = s;
      t->decode_ratio[i] = s / (t->decode_bytes / t->bandwidth[i]);
      gill_bench_progress ("decode token %" G_GINT64_FORMAT ": %.3f s; read bandwidth around it %.2f GB/s: %.2f x the limit",
                           i + 1, s, t->bandwidth[i] / 1e9, t->decode_ratio[i]);
    }
  return TRUE;
}

/* the median of n values, leaving them in place */
static double
median_of (const double *values,
           gsize         n)
{
  g_autofree double *copy = g_memdup2 (values, n * sizeof (double));
  return gill_bench_median (copy, n);
}

int
gill_bench_opt (int argc, char **argv)
{
  gboolean json = FALSE;
  gint repetitions = 2, layers = 0, tokens = 128, decode = 8;
  g_autofree gchar *preset = NULL;
  g_autofree gchar *dtype_name = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object on the last line of stdout", NULL },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, "OPT size: 125m, 350m, 1.3b, 2.7b, 6.7b (default), 13b", "NAME" },
    { "dtype", 'd', 0, G_OPTION_ARG_STRING, &dtype_name, "weights: f16 (default), bf16, f32 or int8", "DTYPE" },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &repetitions, "timed prefills after one warm-up (default 2)", "N" },
    { "tokens", 't', 0, G_OPTION_ARG_INT, &tokens, "prefill length (default 128)", "N" },
    { "decode", 0, 0, G_OPTION_ARG_INT, &decode, "timed decode tokens (default 8)", "N" },
    { "layers", 0, 0, G_OPTION_ARG_INT, &layers, "run only the first N layers (a quick check; default all)", "N" },
    { NULL }
  };
  if (!gill_cli_parse ("bench opt", "",
                       "OPT prefill and decode on random weights with a preset's real shapes, made in\n"
                       "memory, next to this machine's sgemm rate and memory read bandwidth measured\n"
                       "in the same run.",
                       entries, NULL, &argc, &argv))
    return GILL_EXIT_USAGE;
  GillDType dtype = GILL_DTYPE_F16;
  g_autoptr (GError) error = NULL;
  GillOptConfig config;
  if (dtype_name && !parse_dtype (dtype_name, &dtype))
    {
      fprintf (stderr, "gill bench opt: --dtype must be f16, bf16, f32 or int8, not '%s'\n", dtype_name);
      return GILL_EXIT_USAGE;
    }
  if (repetitions < 1 || tokens < 1 || decode < 1 || layers < 0 || tokens + decode + 1 > 2048)
    {
      fprintf (stderr, "gill bench opt: --repetitions, --tokens and --decode must be >= 1 (tokens + decode < 2048)\n");
      return GILL_EXIT_USAGE;
    }
  if (!gill_opt_config_preset (preset ? preset : "6.7b", &config, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_USAGE;
    }
  if (layers > 0)
    config.n_layer = MIN (config.n_layer, layers);
  const gchar *dname = dtype == GILL_DTYPE_I8 ? "int8" : gill_dtype_name (dtype);

  /* memory first: the weights are anonymous memory, so a shortfall must stop us here */
  guint64 extra = (guint64) 1 << 30; /* the read buffer or the sgemm operands, and slack */
  guint64 available = mem_available ();
  if (!gill_opt_check_memory (&config, dtype, 1, tokens + decode + 1, available > extra ? available - extra : 0, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }

  double t0 = gill_bench_now ();
  g_autoptr (RandomWeights) random = random_weights_new (&config, dtype, &error);
  if (random == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  GillWeights lookup = { random_lookup, NULL, random, NULL };
  g_autoptr (GillOptWeights) weights = gill_opt_weights_bind (&config, &lookup, &error);
  if (weights == NULL || (dtype == GILL_DTYPE_I8 && !gill_opt_weights_quantize_int8 (weights, &error)))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  if (dtype == GILL_DTYPE_I8)
    g_hash_table_remove_all (random->shared); /* the sources are no longer read */
  gill_bench_progress ("weights ready in %.1f s (%.2f GB read per decode token)", gill_bench_now () - t0,
                       gill_opt_weights_decode_bytes (weights) / 1e9);

  g_auto (Timings) t = { 0 };
  if (!run_model (weights, tokens, decode, repetitions, &t, &error))
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }

  /* medians of the runs and of their fractions of the paired limits */
  double prefill_median = median_of (t.prefill, repetitions), prefill_min = gill_bench_min (t.prefill, repetitions);
  double prefill_gflops = t.prefill_flops / prefill_median / 1e9;
  double sgemm_rate = median_of (t.sgemm, repetitions);
  double sgemm_square = median_of (t.sgemm_square, repetitions), sgemm_ffn = median_of (t.sgemm_ffn, repetitions);
  double prefill_fraction = median_of (t.prefill_fraction, repetitions);
  double decode_median = median_of (t.decode, decode), decode_min = gill_bench_min (t.decode, decode);
  double bandwidth = median_of (t.bandwidth, decode);
  double decode_limit = t.decode_bytes / bandwidth;
  double decode_ratio = median_of (t.decode_ratio, decode);
  gint64 peak = gill_bench_peak_rss ();
  gint64 model_rss = MAX (t.model_rss, gill_bench_current_rss ());
  g_autofree gchar *machine = gill_bench_machine ();
  g_autofree gchar *model = g_strdup_printf ("OPT-%s%s %s", preset ? preset : "6.7b",
                                             layers > 0 ? " (first layers only)" : "", dname);

  if (json)
    {
      JsonBuilder *b = gill_bench_json_begin ("opt");
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, model);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, dname);
      json_builder_set_member_name (b, "matvec_isa");
      json_builder_add_string_value (b, gill_matvec_isa_name (GILL_MATVEC_ISA_AUTO));
      const struct { const gchar *key; gint64 value; } counts[] = {
        { "n_layer", config.n_layer }, { "prefill_tokens", tokens }, { "decode_tokens", decode },
        { "prefill_repetitions", repetitions }, { "decode_weight_bytes", (gint64) t.decode_bytes },
        { "model_rss_bytes", model_rss },
      };
      for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
        {
          json_builder_set_member_name (b, counts[i].key);
          json_builder_add_int_value (b, counts[i].value);
        }
      const struct { const gchar *key; double value; } values[] = {
        { "prefill_seconds_median", prefill_median }, { "prefill_seconds_min", prefill_min },
        { "prefill_tokens_per_second", tokens / prefill_median }, { "prefill_gflops", prefill_gflops },
        { "sgemm_gflops_square", sgemm_square }, { "sgemm_gflops_ffn", sgemm_ffn },
        { "sgemm_gflops_prefill_mix", sgemm_rate }, { "prefill_fraction_of_sgemm", prefill_fraction },
        { "decode_seconds_per_token_median", decode_median }, { "decode_seconds_per_token_min", decode_min },
        { "read_bandwidth_bytes_per_second", bandwidth }, { "decode_limit_seconds", decode_limit },
        { "decode_over_limit", decode_ratio },
      };
      for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
        {
          json_builder_set_member_name (b, values[i].key);
          json_builder_add_double_value (b, values[i].value);
        }
      gill_bench_json_end (b);
      return GILL_EXIT_OK;
    }
  printf ("| %s | measured (median) | limit, measured around each run (median) | fraction of limit (median) |\n", model);
  printf ("|---|---|---|---|\n");
  printf ("| prefill %d tokens | %.2f s (min %.2f): %.1f tokens/s, %.1f GFLOP/s | sgemm %.1f GFLOP/s "
          "(%.1f at 128x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ", %.1f at 128x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ") | %.0f %% (target >= 60 %%) |\n",
          tokens, prefill_median, prefill_min, tokens / prefill_median, prefill_gflops, sgemm_rate,
          sgemm_square, config.n_embd, config.n_embd, sgemm_ffn, config.n_ffn, config.n_embd, 100 * prefill_fraction);
  printf ("| decode | %.3f s/token (min %.3f) | %.2f GB of weights / %.2f GB/s = %.3f s | %.2f x the limit (target <= 1.3) |\n",
          decode_median, decode_min, t.decode_bytes / 1e9, bandwidth / 1e9, decode_limit, decode_ratio);
  printf ("| peak RSS | %.2f GB (the model alone: %.2f GB; the rest is the bench's read buffer) | %.1f GB available "
          "before loading | %s |\n", peak / 1e9, model_rss / 1e9, available / 1e9,
          dtype == GILL_DTYPE_F16 ? (peak <= 15e9 ? "<= 15 GB target: met" : "> 15 GB target: missed") : "-");
  printf ("\n%s; threads %d (parallel mode %d), matvec %s; %d prefill runs and %d decode tokens after one "
          "warm-up each; the sgemm rate and the read bandwidth are measured just before and just after every timed run.\n",
          machine, gill_gemm_threads (), openblas_get_parallel (), gill_matvec_isa_name (GILL_MATVEC_ISA_AUTO),
          repetitions, decode);
  return GILL_EXIT_OK;
}
